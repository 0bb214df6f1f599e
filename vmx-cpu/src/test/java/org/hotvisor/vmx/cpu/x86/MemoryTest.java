package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.Guest.hex;
import static org.hotvisor.vmx.cpu.x86.X86Core.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Guest-physical accesses beyond RAM as EPT violations (SDM 3C 28.2.1 Table 28-7) with the
 * MMIO-completion protocol, and self-modifying code through every write path.
 */
class MemoryTest {
    static final int EXIT_EPT_VIOLATION = 48, EXIT_HLT = 12;
    static final long Q_READ = 1, Q_WRITE = 2, Q_FETCH = 4, Q_LINEAR = 0x80, Q_FINAL = 0x100;

    // MMIO_OPS (32-bit, org 0x100000): mov eax, [0xFEE00000] / mov dword [0xFEE00010], 0xABCD
    //   / add dword [0xFEE00020], 5 / mov esi, 0xFEE00100 / mov edi, 0x2000 / mov ecx, 2 / rep movsd
    //   / jmp 0xFEE01000
    static final byte[] MMIO_OPS = hex("a10000e0fec7051000e0fecdab000083052000e0fe05be0001e0febf00200000b9020000"
            + "00f3a5e9d40fd0fe");
    // SMC_PATCH_LATER: mov ecx, 100 / xor ebx, ebx / l: mov byte [p+2], cl / p: add ebx, byte 0 / dec ecx
    //   / jnz l / hlt
    static final byte[] SMC_PATCH_LATER = hex("b96400000031db880d0f00100083c3004975f4f4");
    // SMC_PATCH_SELF: mov ecx, 200 / xor ebx, ebx / l: mov eax, 1 / add ebx, eax / mov dword [l+1], 2
    //   / dec ecx / jnz l / hlt
    static final byte[] SMC_PATCH_SELF = hex("b9c800000031dbb80100000001c3c70508001000020000004975ecf4");
    // STRING_OVER_CODE: mov edi, t / mov al, 0x90 / mov ecx, 5 / rep stosb / t: mov eax, 0x11111111 / hlt
    static final byte[] STRING_OVER_CODE = hex("bf0e001000b090b905000000f3aab811111111f4");

    // MISALIGNED: mov eax, [0x2001] / mov [0x2ffe], eax / mov ebx, [0x2ffe] / mov cx, [0x2fff]
    //   / mov dword [0x4003], 0x11223344 / mov edx, [0x4003] / hlt
    static final byte[] MISALIGNED = hex("a101200000a3fe2f00008b1dfe2f0000668b0dff2f0000c705034000004433221"
            + "18b1503400000f4");

    private static Guest flat(byte[] code, boolean compiled) {
        return flatAt(0x100000, code, compiled);
    }

    /** {@code code} loaded at {@code eip} and started there, in flat 32-bit protected mode. */
    private static Guest flatAt(long eip, byte[] code, boolean compiled) {
        Guest g = new Guest(1 << 21).flat32(eip).load((int) eip, code);
        g.core.controls.procBased |= Guest.PROC_HLT_EXITING;
        g.core.compileBlocks = compiled;
        g.core.compileThreshold = 1;
        g.core.gpr[ESP] = 0x9000;
        return g;
    }

    private static ExitInfo ept(Guest g, long qualification, long gpa, int size) {
        assertEquals(EXIT_EPT_VIOLATION, g.run());
        ExitInfo e = g.core.exit;
        assertEquals(qualification, e.qualification, "qualification");
        assertEquals(gpa, e.guestPhysicalAddress, "guest-physical address");
        assertEquals(gpa, e.guestLinearAddress, "guest-linear address (paging off)");
        assertEquals(size, e.mmioSize, "access size");
        return e;
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void accessesBeyondRamExitAndCompleteOnReExecution(boolean compiled) {
        Guest g = flat(MMIO_OPS, compiled);
        X86Core c = g.core;
        ept(g, Q_READ | Q_LINEAR | Q_FINAL, 0xFEE0_0000L, 4);
        assertEquals(0x100000, c.rip, "the faulting MOV");
        c.completeMmioRead(0x1234_5678);
        ExitInfo e = ept(g, Q_WRITE | Q_LINEAR | Q_FINAL, 0xFEE0_0010L, 4);
        assertEquals(0x1234_5678, g.reg(EAX));
        assertEquals(0xABCD, e.mmioData);
        c.completeMmioWrite();
        ept(g, Q_READ | Q_LINEAR | Q_FINAL, 0xFEE0_0020L, 4);
        c.completeMmioRead(10);
        e = ept(g, Q_WRITE | Q_LINEAR | Q_FINAL, 0xFEE0_0020L, 4);
        assertEquals(15, e.mmioData, "read-modify-write: the completed read plus 5");
        c.completeMmioWrite();
        ept(g, Q_READ | Q_LINEAR | Q_FINAL, 0xFEE0_0100L, 4);
        c.completeMmioRead(0xAAAA);
        ept(g, Q_READ | Q_LINEAR | Q_FINAL, 0xFEE0_0104L, 4);
        c.completeMmioRead(0xBBBB);
        ept(g, Q_FETCH | Q_LINEAR | Q_FINAL, 0xFEE0_1000L, 0);
        assertEquals(0xAAAA, g.getInt(0x2000));
        assertEquals(0xBBBB, g.getInt(0x2004));
        assertEquals(0, g.reg(ECX));
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void storesIntoLaterInstructionsOfTheRunningBlockTakeEffect(boolean compiled) {
        Guest g = flat(SMC_PATCH_LATER, compiled);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(5050, g.reg(EBX), "each ADD used the immediate patched just before it");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void storesIntoTheCurrentLoopBodyTakeEffectNextIteration(boolean compiled) {
        Guest g = flat(SMC_PATCH_SELF, compiled);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(1 + 199 * 2, g.reg(EBX));
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void repStosOverTheFollowingInstructionsReplacesThem(boolean compiled) {
        Guest g = flat(STRING_OVER_CODE, compiled);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0x90, g.reg(EAX), "MOV EAX was overwritten with NOPs");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void storesToDataBesideCodeKeepTheDecodedBlocks(boolean compiled) {
        // mov ecx, 1000 / l: add [v], ecx / dec ecx / jnz l / hlt / v: dd 0 -- v shares the code's page
        Guest g = flat(hex("b9e803000001" + "0d0f001000" + "4975f7f4" + "00000000"), compiled);
        assertEquals(EXIT_HLT, g.run());
        int v = (g.ram[0x10000F] & 0xFF) | (g.ram[0x100010] & 0xFF) << 8 | (g.ram[0x100011] & 0xFF) << 16;
        assertEquals(500_500, v);
        assertTrue(g.core.code.blocksDecoded < 10, "decoded " + g.core.code.blocksDecoded
                + " blocks: a store beside the loop must not drop it");
    }

    // STRADDLING_LOOP (org 0x100FF9): mov ecx, 1000 / l: add ebx, 0x12345678 (0x100FFE-0x101003)
    //   / dec ecx / jnz l / hlt
    static final byte[] STRADDLING_LOOP = hex("b9e803000081c3785634124975f7f4");
    // STRADDLING_PATCHED (org 0x100FF1): mov ecx, 100 / xor ebx, ebx / l: mov [0x101000], cl
    //   / add ebx, strict dword 0 (0x100FFE-0x101003: its immediate is on the second page)
    //   / dec ecx / jnz l / hlt
    static final byte[] STRADDLING_PATCHED = hex("b96400000031db880d0010100081c3000000004975f1f4");

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void anInstructionStraddlingTwoPagesIsDecodedOnce(boolean compiled) {
        Guest g = flatAt(0x100FF9, STRADDLING_LOOP, compiled);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(1000L * 0x12345678 & 0xFFFF_FFFFL, g.reg(EBX));
        assertTrue(g.core.code.lookup(0x100FFE, g.core.modeKey) != null, "the straddling ADD is in the code cache");
        assertTrue(g.core.code.blocksDecoded < 10, "decoded " + g.core.code.blocksDecoded
                + " blocks: the straddling ADD must stay cached");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void storesToTheSecondPageOfAStraddlingInstructionTakeEffect(boolean compiled) {
        Guest g = flatAt(0x100FF1, STRADDLING_PATCHED, compiled);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(5050, g.reg(EBX), "each ADD used the immediate stored on its second page just before");
    }

    // SWITCH_PATCHED (org 0x100000): mov esi, 400 / xor ebx, ebx / xor ecx, ecx
    //   / top: mov eax, ecx / and eax, 3 / jmp [table + eax*4]
    //   / c0: add ebx, 1 / jmp next / c1: add ebx, byte 10 / jmp next / c2: add ebx, 100 / jmp next
    //   / c3: add ebx, 1000 / next: inc ecx / cmp ecx, 200 / jne skip / mov byte [c1 + 2], 20
    //   / skip: dec esi / jnz top / hlt / table: dd c0, c1, c2, c3
    static final byte[] SWITCH_PATCHED = hex("be9001000031db31c989c883e003ff24854000100083c301eb1083c30aeb0b83c364eb0681c3e8"
            + "0300004181f9c80000007507c6051c001000144e75ccf49090150010001a0010001f00100024001000");

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    @org.junit.jupiter.api.Timeout(30) // a wrong target can loop forever
    void anIndirectJumpReachesEachOfItsFourTargetsAndSeesOnePatched(boolean compiled) {
        // Four successors of one block: more than its own two entries hold (the jump cache's case).
        Guest g = flat(SWITCH_PATCHED, compiled);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(100 + 50 * 10 + 50 * 20 + 100 * 100 + 100 * 1000, g.reg(EBX),
                "each case 100 times; case 1 adds 20 once patched at round 200");
    }

    @Test
    void hostWritesNeedInvalidateCode() {
        Guest g = flat(hex("b801000000f4"), true);   // mov eax, 1 / hlt
        assertEquals(EXIT_HLT, g.run());
        assertEquals(1, g.reg(EAX));
        g.ram[0x100001] = 2;
        g.core.invalidateCode(0x100001, 1);
        g.core.rip = 0x100000;
        assertEquals(EXIT_HLT, g.run());
        assertEquals(2, g.reg(EAX));
    }

    @Test
    void a20GateWrapsAddressesAbove1M() {
        Guest g = new Guest(4 << 20).realMode(0x1000).load(0x1000, hex("b8ffff8ed8a11000f4"));   // mov ax,0xFFFF / mov ds,ax / mov ax,[0x10] / hlt
        g.core.controls.procBased |= Guest.PROC_HLT_EXITING;
        g.putShort(0x100000, 0x1111);
        g.putShort(0x0, 0x2222);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0x1111, g.reg(EAX) & 0xFFFF, "A20 enabled: FFFF:0010 is 100000h");
        g.core.setA20(false);
        g.core.rip = 0x1000;
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0x2222, g.reg(EAX) & 0xFFFF, "A20 masked: it wraps to 0");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void misalignedAccessesWithinAndAcrossPages(boolean compiled) {
        Guest g = flat(MISALIGNED, compiled);
        g.putInt(0x2000, 0x4433_2211L);
        g.putInt(0x2004, 0x8877_6655L);
        g.putInt(0x4000, 0);   // touch the page so the TLB maps it before the misaligned store
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0x5544_3322L, g.reg(EAX));
        assertEquals(0x5544_3322L, g.reg(EBX), "across the page boundary and back");
        assertEquals(0x4433, g.reg(ECX) & 0xFFFF, "word straddling 2FFFh/3000h");
        assertEquals(0x1122_3344L, g.reg(EDX));
        assertEquals(0x44, g.ram[0x4003]);
    }
}
