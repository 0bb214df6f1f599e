package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.Guest.hex;
import static org.hotvisor.vmx.cpu.x86.X86Core.EAX;
import static org.hotvisor.vmx.cpu.x86.X86Core.EBX;
import static org.hotvisor.vmx.cpu.x86.X86Core.ECX;
import static org.hotvisor.vmx.cpu.x86.X86Core.ESI;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * A hot block that heads a loop is compiled with the loop's other blocks and steps from one to the
 * next in place ({@link BlockCompiler}, {@link X86Core#stepTo}). Each test runs the same program
 * interpreted and compiled (every block compiled on first sight) and expects the same state,
 * instruction count and exit; {@code loopRuns}, the compiled runs of loops, shows the rounds ran in
 * place: a loop that returned to the run loop every round would count one run per round.
 */
class CompiledLoopTest {
    // ONE_BLOCK (32-bit, org 0x100000): mov ecx, 1000 / xor eax, eax / l: add eax, ecx / dec ecx / jnz l / hlt
    static final byte[] ONE_BLOCK = hex("b9e803000031c001c84975fbf4");
    // TWO_BLOCKS: mov edi, 200 / xor eax, eax / l: mov edx, [0x20000 + edi*4] / cmp edx, 0 / je out
    //   / add eax, edx / dec edi / jnz l / out: hlt
    static final byte[] TWO_BLOCKS = hex("bfc800000031c08b14bd0000020083fa00740501d04f75eff4");
    // DIAMOND (a CRC's bit loop): mov eax, -1 / mov ecx, 3000 / l: shr eax, 1 / jnc skip
    //   / xor eax, 0xEDB88320 / skip: dec ecx / jnz l / hlt
    static final byte[] DIAMOND = hex("b8ffffffffb9b80b0000d1e87305352083b8ed4975f4f4");
    // STORE_UNTIL_RAM_ENDS: mov esi, 0x1F0000 / mov eax, 0x11223344 / l: mov [esi], eax / add esi, 4 / jmp l
    static final byte[] STORE_UNTIL_RAM_ENDS = hex("be00001f00b844332211890683c604ebf9");
    // TWO_BLOCKS_STORING: mov esi, 0x1F0000 / xor ebx, ebx / l: add ebx, 3 / cmp ebx, 0x7FFFFFFF / je out
    //   / mov [esi], ebx / add esi, 4 / jmp l / out: hlt  (the second block's store leaves RAM)
    static final byte[] TWO_BLOCKS_STORING = hex("be00001f0031db83c30381fbffffff7f7407891e83c604ebeef4");
    // SELF_MODIFYING: mov ecx, 10 / xor eax, eax / l: add eax, strict dword 1 / mov dword [l + 1], 100
    //   / dec ecx / jnz l / hlt  (the first round rewrites the ADD's immediate)
    static final byte[] SELF_MODIFYING = hex("b90a00000031c00501000000c70508001000640000004975eef4");

    // DATA_BESIDE_CODE: mov ecx, 1000 / xor eax, eax / l: add eax, ecx / mov [0x100040], eax
    //   / add dword [0x100044], 3 / dec ecx / jnz l / hlt; its variables 0x27 bytes after the HLT
    static final byte[] DATA_BESIDE_CODE = hex("b9e803000031c001c8a340001000830544001000034975eff4");
    // DATA_AMONG_CODE: mov ecx, 1000 / xor eax, eax / jmp l / var: dd 0 / l: add eax, ecx
    //   / mov [var], eax / dec ecx / jnz l / hlt  (the variable shares its 8-byte chunks with code)
    static final byte[] DATA_AMONG_CODE = hex("b9e803000031c0eb040000000001c8a3090010004975f6f4");

    // REP_MOVSB_BESIDE_CODE: mov ebx, 100 / l: mov esi, 0x20004 / mov edi, 0x100100 / mov ecx, 64
    //   / rep movsb / dec ebx / jnz l / hlt  (the copy lands on the code's page, past the code)
    static final byte[] REP_MOVSB_BESIDE_CODE = hex("bb64000000be04000200bf00011000b940000000f3a44b75ecf4");
    // REP_MOVSB_OVER_CODE: mov byte [0x20000], 0xB8 / mov ebx, 10 / xor edx, edx / l: mov [0x20001], ebx
    //   / mov esi, 0x20000 / mov edi, t / mov ecx, 5 / rep movsb / t: mov eax, 0 / add edx, eax
    //   / dec ebx / jnz l / hlt  (each round copies "mov eax, ebx's value" over the next instruction)
    static final byte[] REP_MOVSB_OVER_CODE = hex("c60500000200b8bb0a00000031d2891d01000200be00000200bf25001000b905000000f3a4"
            + "b80000000001c24b75dff4");

    // RECURSION: mov eax, 15 / call fib / hlt / fib: cmp eax, 2 / jb done / push eax / dec eax / call fib
    //   / mov ecx, eax / pop eax / push ecx / sub eax, 2 / call fib / pop ecx / add eax, ecx / done: ret
    static final byte[] RECURSION = hex("b80f000000e801000000f483f80272165048e8f4ffffff89c1585183e802e8e8ffffff5901c8c3");

    private static final int EXIT_CPUID = 10, EXIT_HLT = 12, EXIT_PREEMPTION = 52, EXIT_EPT_VIOLATION = 48;

    private static Guest guest(byte[] code, boolean compiled) {
        Guest g = new Guest(2 << 20).flat32(0x100000).load(0x100000, code);
        g.core.controls.procBased |= Guest.PROC_HLT_EXITING;
        g.core.gpr[X86Core.ESP] = 0x9000;
        g.core.compileBlocks = compiled;
        g.core.compileThreshold = 1;
        for (int i = 1; i <= 200; i++) {
            g.putInt(0x20000 + 4 * i, i * 7L);
        }
        return g;
    }

    /** Runs both to their exit and checks they agree; returns the compiled one. */
    private static Guest same(byte[] code, int exit) {
        Guest interpreted = guest(code, false);
        Guest compiled = guest(code, true);
        assertEquals(exit, interpreted.run());
        assertEquals(exit, compiled.run());
        assertArrayEquals(interpreted.core.gpr, compiled.core.gpr);
        assertEquals(interpreted.core.rip, compiled.core.rip);
        assertEquals(interpreted.core.rflags(), compiled.core.rflags());
        assertEquals(interpreted.core.instructionsRetired(), compiled.core.instructionsRetired());
        assertEquals(interpreted.core.tsc, compiled.core.tsc);
        assertEquals(0, interpreted.core.loopRuns);
        return compiled;
    }

    @Test
    void aOneBlockLoopRunsInPlace() {
        Guest g = same(ONE_BLOCK, EXIT_HLT);
        assertEquals(500_500, g.reg(EAX)); // 1000 + 999 + ... + 1
        assertEquals(1, g.core.compiler.loopingBlocks, "the add/dec/jnz block loops to its own start");
        assertTrue(g.core.loopRuns > 0 && g.core.loopRuns <= 3, "1000 rounds in " + g.core.loopRuns + " runs");
    }

    @Test
    void aLoopInstructionLoopRunsInPlace() {
        // mov ecx, 1000 / xor eax, eax / l: add eax, ecx / setc bl / movsx edx, bl / loop l / hlt
        Guest g = same(hex("b9e803000031c001c80f92c30fbed3e2f6f4"), EXIT_HLT);
        assertEquals(500_500, g.reg(EAX));
        assertEquals(1, g.core.compiler.loopingBlocks, "LOOP branches back to the block's start");
        assertTrue(g.core.loopRuns > 0 && g.core.loopRuns <= 3, "1000 rounds in " + g.core.loopRuns + " runs");
    }

    @Test
    void nopsThatEndABlockAtThePageEndLeaveRipAtTheNextPage() {
        // mov ecx, 100 / jmp l / ... / l (0x100FF0): mov [0x2000], ecx / nop dword [eax+0] / 6 x nop
        //   (to 0x101000, the page end cuts the block) / dec ecx / jnz l / hlt
        byte[] code = new byte[0x1004];
        System.arraycopy(hex("b964000000" + "e9e60f0000"), 0, code, 0, 10);
        System.arraycopy(hex("890d00200000" + "0f1f4000" + "909090909090" + "49" + "75ed" + "f4"), 0, code, 0xFF0, 20);
        Guest g = same(code, EXIT_HLT); // also: as many instructions retired as interpreted
        assertEquals(0, g.reg(ECX));
        assertEquals(1, g.getInt(0x2000), "the last store, ECX = 1");
        assertEquals(0x101003, g.core.rip, "RIP at the exiting HLT, on the second page");
    }

    @Test
    void memoryShiftsDoubleShiftsMulDivAndBitTestsOfMemoryRunInline() {
        // mov ecx, 200 / mov dword [0x3000], 0x12345678 / mov dword [0x3004], 7 / xor esi, esi
        //   / l: mov eax, ecx / mov edx, 0x9abcdef0 / shld edx, eax, 5 / shrd eax, edx, cl
        //   / shl dword [0x3000], 3 / rol dword [0x3000], cl / sar word [0x3002], 1 / mul dword [0x3004]
        //   / add esi, eax / xor edx, edx / lea eax, [ecx + 1000] / div dword [0x3004] / add esi, edx
        //   / bts dword [0x3100], ecx / shld dword [0x3010], esi, 3 / shrd dword [0x3014], eax, cl
        //   / bt dword [0x3100], eax / adc esi, 0 / dec ecx / jnz l / hlt
        byte[] code = hex("b9c8000000c7050030000078563412c705043000000700000031f689c8baf0debc9a0fa4c2050fadd0c125003000"
                + "0003d3050030000066d13d02300000f7250430000001c631d28d81e8030000f7350430000001d60fab0d003100000fa4"
                + "3510300000030fad05143000000fa3050031000083d6004975a3f4");
        Guest compiled = same(code, EXIT_HLT);
        Guest interpreted = guest(code, false);
        interpreted.run();
        assertArrayEquals(Arrays.copyOfRange(interpreted.ram, 0x3000, 0x3200), Arrays.copyOfRange(compiled.ram, 0x3000, 0x3200));
        assertEquals(1, compiled.core.compiler.loopingBlocks, "the loop body is one compiled block");
        assertEquals(0, compiled.core.generalPathRuns, "every instruction of the loop has an inline handler");
    }

    @Test
    void signExtensionsNegationsXlatBitScansAndLeaveRunInline() {
        // mov ecx, 200 / xor esi, esi / mov ebx, 0x3000 / l: mov eax, ecx / not eax / neg eax / cdq
        //   / add esi, edx / cbw / cwde / add esi, eax / mov eax, ecx / xlatb / add esi, eax / bsf edx, ecx
        //   / add esi, edx / bsr edx, ecx / add esi, edx / bsf edx, [0x3004] / add esi, edx / push ebp
        //   / mov ebp, esp / sub esp, 8 / leave / dec ecx / jnz l / hlt
        byte[] code = hex("b9c800000031f6bb0030000089c8f7d0f7d89901d666989801c689c8d701c60fbcd101d60fbdd101d60fbc15043000"
                + "0001d65589e583ec08c94975d0f4");
        Guest compiled = same(code, EXIT_HLT);
        assertEquals(0x9000, compiled.reg(X86Core.ESP), "LEAVE undid each round's frame");
        assertEquals(0, compiled.core.generalPathRuns, "every instruction of the loop has an inline handler");
    }

    @Test
    void realModeSegmentLoadsAndPushesOfAllRegistersRunInline() {
        // org 0x1000: mov sp, 0x9000 / mov cx, 200 / xor si, si / mov word [0x2000], 0x1234
        //   / mov word [0x2002], 0x0100 / l: push ds / push es / pop ds / pop ds / mov ax, 0x0200 / mov es, ax
        //   / les bx, [0x2000] / mov ax, es / add si, ax / add si, bx / mov ax, 0 / mov es, ax / pusha / popa
        //   / dec cx / jnz l / hlt
        byte[] code = hex("bc0090b9c80031f6c70600203412c706022000011e061f1fb800028ec0c41e00208cc001c601deb800008ec0606149"
                + "75e3f4");
        Guest[] runs = new Guest[2];
        for (int compiled = 0; compiled < 2; compiled++) {
            Guest g = new Guest(2 << 20).realMode(0x1000).load(0x1000, code);
            g.core.controls.procBased |= Guest.PROC_HLT_EXITING;
            g.core.compileBlocks = compiled == 1;
            g.core.compileThreshold = 1;
            assertEquals(EXIT_HLT, g.run());
            runs[compiled] = g;
        }
        assertArrayEquals(runs[0].core.gpr, runs[1].core.gpr);
        assertEquals(runs[0].core.instructionsRetired(), runs[1].core.instructionsRetired());
        assertEquals((200 * (0x0100 + 0x1234)) & 0xFFFF, runs[1].reg(ESI), "LES loaded ES:BX each round");
        assertEquals(0, runs[1].core.es.selector);
        assertEquals(0, runs[1].core.generalPathRuns, "every instruction of the loop has an inline handler");
    }

    @Test
    void movSsKeepsItsInterruptShadowInACompiledBlock() {
        // real mode, org 0x1000: mov ax, ss / mov ss, ax / cpuid / hlt: the CPUID exit comes in MOV SS's
        // shadow (SDM 3A 6.8.3), so the segment-load handlers must leave MOV SS to the executor
        byte[] code = hex("8cd08ed00fa2f4");
        for (boolean compiled : new boolean[] {false, true}) {
            Guest g = new Guest(2 << 20).realMode(0x1000).load(0x1000, code);
            g.core.compileBlocks = compiled;
            g.core.compileThreshold = 1;
            assertEquals(EXIT_CPUID, g.run());
            assertEquals(X86Core.BLOCKING_BY_MOV_SS, g.core.interruptibility & X86Core.BLOCKING_BY_MOV_SS,
                    (compiled ? "compiled" : "interpreted") + ": blocking by MOV SS at the CPUID exit");
        }
    }

    @Test
    void aSegmentLoadThatSetsTheAccessedBitInTheBlocksOwnBytesRunsTheNewBytes() {
        // mov ax, 0x18 / mov ds, ax / then GDT entry 3, whose 8 bytes are also code: nop
        //   / mov eax, 0x92000000 (access byte 92h: data, not yet accessed) / inc eax / nop / hlt.
        // Loading DS sets the accessed bit (SDM 3A 3.4.5.1): the immediate becomes 93000000h.
        byte[] code = hex("66b818008ed8" + "90b80000009240" + "90" + "f4");
        for (boolean compiled : new boolean[] {false, true}) {
            Guest g = guest(code, compiled);
            g.core.gdtrBase = 0x100006 - 0x18;
            g.core.gdtrLimit = 0x1F;
            assertEquals(EXIT_HLT, g.run());
            assertEquals(0x9300_0001L, g.reg(EAX), (compiled ? "compiled" : "interpreted") + ": the rewritten immediate");
        }
    }

    @Test
    void sseAndX87InstructionsGoStraightToTheirUnits() {
        // mov ecx, 100 / l: addsd xmm0, xmm1 / fld1 / fstp st0 / dec ecx / jnz l / hlt
        byte[] code = hex("b964000000f20f58c1d9e8ddd84975f5f4");
        Guest g = guest(code, true);
        g.core.cr4 |= X86Core.CR4_OSFXSR;
        g.core.fpu.xmm[2] = Double.doubleToRawLongBits(0.5); // xmm1
        assertEquals(EXIT_HLT, g.run());
        assertEquals(50.0, Double.longBitsToDouble(g.core.fpu.xmm[0]));
        assertEquals(0, g.core.generalPathRuns, "not through the executor's switch");
    }

    @Test
    void aTwoBlockLoopStepsBetweenItsBlocksInPlace() {
        Guest g = same(TWO_BLOCKS, EXIT_HLT);
        assertEquals(7L * 200 * 201 / 2, g.reg(EAX));
        assertTrue(g.core.compiler.loopingBlocks >= 1);
        assertTrue(g.core.loopRuns > 0 && g.core.loopRuns <= 4, "200 rounds in " + g.core.loopRuns + " runs");
    }

    @Test
    void aLoopWithAnIfInsideStepsInPlace() {
        Guest g = same(DIAMOND, EXIT_HLT);
        long crc = 0xFFFF_FFFFL;
        for (int i = 0; i < 3000; i++) {
            crc = (crc & 1) != 0 ? (crc >>> 1) ^ 0xEDB8_8320L : crc >>> 1;
        }
        assertEquals(crc, g.reg(EAX));
        assertTrue(g.core.loopRuns > 0 && g.core.loopRuns <= 6, "3000 rounds in " + g.core.loopRuns + " runs");
    }

    @Test
    void thePreemptionTimerStopsALoopAtTheSameInstruction() {
        for (byte[] code : new byte[][] {ONE_BLOCK, TWO_BLOCKS, DIAMOND}) {
            for (int value : new int[] {1, 2, 3, 7, 500, 1001, 2001, 4003}) {
                Guest interpreted = guest(code, false);
                Guest compiled = guest(code, true);
                int exit = EXIT_HLT;
                for (Guest g : new Guest[] {interpreted, compiled}) {
                    g.core.controls.pinBased |= X86Core.PIN_PREEMPTION_TIMER;
                    g.core.controls.preemptionTimerValue = value;
                    exit = g.run();
                }
                assertEquals(interpreted.core.exit.reason, compiled.core.exit.reason, "timer " + value);
                if (exit == EXIT_PREEMPTION) {
                    assertEquals(value, compiled.core.instructionsRetired(), "timer " + value);
                }
                assertEquals(interpreted.core.instructionsRetired(), compiled.core.instructionsRetired(), "timer " + value);
                assertEquals(interpreted.core.rip, compiled.core.rip, "timer " + value);
                assertArrayEquals(interpreted.core.gpr, compiled.core.gpr, "timer " + value);
            }
        }
    }

    @Test
    void aFaultInALaterRoundStopsAtTheFaultingInstruction() {
        Guest g = same(STORE_UNTIL_RAM_ENDS, EXIT_EPT_VIOLATION);
        assertEquals(0x200000, g.reg(ESI), "the store past the end of RAM");
        assertEquals(0x10000A, g.core.rip, "RIP at the MOV that faulted");
        assertEquals(0x200000, g.core.exit.guestPhysicalAddress);
        assertTrue(g.core.loopRuns <= 3, "16384 rounds in " + g.core.loopRuns + " runs");
    }

    @Test
    void aFaultInTheLoopsSecondBlockStopsThere() {
        Guest g = same(TWO_BLOCKS_STORING, EXIT_EPT_VIOLATION);
        assertEquals(0x200000, g.reg(ESI));
        assertEquals(0x100012, g.core.rip, "RIP at the MOV of the second block");
        assertEquals(3L * 16385, g.reg(EBX));
        assertEquals(1, g.core.loopMember, "the run ended in the loop's second block");
        assertTrue(g.core.loopRuns <= 4, "16385 rounds in " + g.core.loopRuns + " runs");
    }

    @Test
    void aLoopThatRewritesItsOwnCodeRunsTheNewCode() {
        Guest g = same(SELF_MODIFYING, EXIT_HLT);
        assertEquals(1 + 9 * 100, g.reg(EAX), "rounds 2-10 add the rewritten immediate");
    }

    @Test
    void storesToVariablesBesideTheCodeDropNoBlockAndWalkNoBlockList() {
        Guest g = same(DATA_BESIDE_CODE, EXIT_HLT);
        assertEquals(500_500, g.getInt(0x100040));
        assertEquals(3000, g.getInt(0x100044));
        assertEquals(0, g.core.code.rangesInvalidated, "no block overlaps the variables");
        assertEquals(0, g.core.code.pageWalks, "2000 stores to the code's page, none near an instruction");
        assertTrue(g.core.code.rangeChecks <= 2, g.core.code.rangeChecks + " stores took the slow path, not the TLB's");
        assertTrue(g.core.loopRuns <= 4, "1000 rounds in " + g.core.loopRuns + " runs");
    }

    @Test
    void storesBetweenInstructionsOfOneChunkAreCheckedBlockByBlockAndKeepTheBlocks() {
        Guest g = same(DATA_AMONG_CODE, EXIT_HLT);
        assertEquals(500_500, g.getInt(0x100009));
        assertEquals(0, g.core.code.rangesInvalidated, "the stores overlap no instruction");
        assertTrue(g.core.code.pageWalks >= 1000, "a chunk that holds code is checked block by block");
    }

    @Test
    void aRepMovsbBesideTheCodeCopiesInBulk() {
        Guest g = same(REP_MOVSB_BESIDE_CODE, EXIT_HLT);
        for (int k = 0; k < 64; k += 4) {
            assertEquals(g.getInt(0x20004 + k), g.getInt(0x100100 + k));
        }
        assertEquals(0, g.core.code.rangesInvalidated, "nothing of the code was overwritten");
        assertTrue(g.core.code.rangeChecks <= 2, 100 * 64 + " bytes, " + g.core.code.rangeChecks + " of them on the slow path");
        assertTrue(g.core.bulkStringRuns >= 100, "each REP MOVSB in one run, not byte by byte: " + g.core.bulkStringRuns);
    }

    @Test
    void aRepMovsbOverTheNextInstructionRunsTheCopiedOne() {
        Guest g = same(REP_MOVSB_OVER_CODE, EXIT_HLT);
        assertEquals(55, g.reg(X86Core.EDX), "10 + 9 + ... + 1: each round's copied immediate");
        assertTrue(g.core.code.rangesInvalidated >= 10);
    }

    @Test
    void aHostKickStopsALoopRunningInPlace() throws InterruptedException {
        // l: jmp l at 0x100000: only the kick ends it
        Guest g = guest(hex("ebfe"), true);
        Thread kicker = g.kickAfter(50);
        assertEquals(1, g.run(), "exit reason 1, external interrupt (the host kick)");
        kicker.join();
        assertEquals(0x100000, g.core.rip);
        assertTrue(g.core.instructionsRetired() > 1000);
        assertTrue(g.core.loopRuns <= 3, g.core.instructionsRetired() + " rounds in " + g.core.loopRuns + " runs");
    }

    /**
     * Random loops with an if inside, ALU and memory operations and a random condition, some
     * stopped by the preemption timer part-way: compiled and interpreted runs must agree on the
     * registers, flags, count, RIP and the memory the loop writes.
     */
    @Test
    void randomLoopsAgreeWithTheInterpreter() {
        java.util.Random random = new java.util.Random(0x5EED_1005L);
        int steppedInPlace = 0;
        for (int program = 0; program < 300; program++) {
            byte[] code = randomLoop(random);
            int timer = random.nextInt(3) == 0 ? 1 + random.nextInt(3000) : 0;
            Guest interpreted = guest(code, false);
            Guest compiled = guest(code, true);
            for (Guest g : new Guest[] {interpreted, compiled}) {
                if (timer > 0) {
                    g.core.controls.pinBased |= X86Core.PIN_PREEMPTION_TIMER;
                    g.core.controls.preemptionTimerValue = timer;
                }
                g.run();
            }
            String what = "program " + program + " (timer " + timer + "): " + java.util.HexFormat.of().formatHex(code);
            assertEquals(interpreted.core.exit.reason, compiled.core.exit.reason, what);
            assertArrayEquals(interpreted.core.gpr, compiled.core.gpr, what);
            assertEquals(interpreted.core.rflags(), compiled.core.rflags(), what);
            assertEquals(interpreted.core.rip, compiled.core.rip, what);
            assertEquals(interpreted.core.instructionsRetired(), compiled.core.instructionsRetired(), what);
            assertArrayEquals(java.util.Arrays.copyOfRange(interpreted.ram, DATA, DATA + 256),
                    java.util.Arrays.copyOfRange(compiled.ram, DATA, DATA + 256), what);
            if (compiled.core.loopRuns > 0) {
                steppedInPlace++;
            }
        }
        assertTrue(steppedInPlace > 200, "programs that ran as compiled loops: " + steppedInPlace);
    }

    private static final int DATA = 0x30000;
    /** EAX, EDX, EBX, ESI: the registers the random code works on (ECX counts, EDI points at DATA). */
    private static final int[] WORK = {0, 2, 3, 6};

    /**
     * mov ecx, rounds / mov edi, DATA / (random values in the work registers) / l: ops / cmp / jcc skip
     * / ops / skip: ops / dec ecx / jnz l / hlt
     */
    private static byte[] randomLoop(java.util.Random random) {
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        b.write(0xB9);
        le32(b, 1 + random.nextInt(300));
        b.write(0xBF);
        le32(b, DATA);
        for (int r : WORK) {
            b.write(0xB8 + r);
            le32(b, random.nextInt());
        }
        int loop = b.size();
        randomOps(b, random, 1 + random.nextInt(4));
        b.write(0x39); // cmp r/m32, r32
        b.write(0xC0 | WORK[random.nextInt(4)] << 3 | WORK[random.nextInt(4)]);
        byte[] middle = opsBytes(random, 1 + random.nextInt(4));
        b.write(0x70 + random.nextInt(16)); // jcc skip
        b.write(middle.length);
        b.writeBytes(middle);
        randomOps(b, random, random.nextInt(3));
        b.write(0x49); // dec ecx
        b.write(0x75); // jnz loop
        b.write(loop - (b.size() + 1));
        b.write(0xF4);
        return b.toByteArray();
    }

    private static byte[] opsBytes(java.util.Random random, int n) {
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        randomOps(b, random, n);
        return b.toByteArray();
    }

    private static void randomOps(java.io.ByteArrayOutputStream b, java.util.Random random, int n) {
        int[] alu = {0x01, 0x29, 0x31, 0x21, 0x09, 0x11, 0x19}; // add sub xor and or adc sbb (r/m32, r32)
        for (int i = 0; i < n; i++) {
            int dst = WORK[random.nextInt(4)];
            int src = WORK[random.nextInt(4)];
            switch (random.nextInt(6)) {
                case 0, 1 -> {
                    b.write(alu[random.nextInt(alu.length)]);
                    b.write(0xC0 | src << 3 | dst);
                }
                case 2 -> { // add/or/adc/sbb/and/sub/xor/cmp r/m32, imm32
                    b.write(0x81);
                    b.write(0xC0 | random.nextInt(8) << 3 | dst);
                    le32(b, random.nextInt());
                }
                case 3 -> { // rol/ror/shl/shr/sar r/m32, imm8
                    int[] shifts = {0, 1, 4, 5, 7};
                    b.write(0xC1);
                    b.write(0xC0 | shifts[random.nextInt(shifts.length)] << 3 | dst);
                    b.write(random.nextInt(32));
                }
                case 4 -> { // mov [edi + disp8], r32 (disp a multiple of 4 below 256)
                    b.write(0x89);
                    b.write(0x47 | src << 3);
                    b.write(4 * random.nextInt(32));
                }
                default -> { // mov r32, [edi + disp8]
                    b.write(0x8B);
                    b.write(0x47 | dst << 3);
                    b.write(4 * random.nextInt(32));
                }
            }
        }
    }

    private static void le32(java.io.ByteArrayOutputStream b, int v) {
        b.write(v);
        b.write(v >>> 8);
        b.write(v >>> 16);
        b.write(v >>> 24);
    }

    @Test
    void aRecursiveCallStepsIntoItsCalleeInPlace() {
        Guest g = same(RECURSION, EXIT_HLT);
        assertEquals(610, g.reg(EAX), "fib(15)");
        assertTrue(g.core.loopRuns > 0, "the call leads back to the function's first block: a loop");
    }

    @Test
    void onlyRelativeJumpsCallsAndCutBlocksHaveStaticSuccessors() {
        assertArrayEquals(new long[] {0, 5}, BlockCompiler.staticSuccessors(decodeAll("01c84975fb"), 5),
                "add eax, ecx / dec ecx / jnz -5: the start and the fall-through");
        assertArrayEquals(new long[] {100 + 3 - 3}, BlockCompiler.staticSuccessors(decodeAll("90ebfd"), 103), "nop / jmp -3");
        assertArrayEquals(new long[] {3}, BlockCompiler.staticSuccessors(decodeAll("01c849"), 3), "cut: falls through");
        assertArrayEquals(new long[0], BlockCompiler.staticSuccessors(decodeAll("01c8c3"), 3), "ret: no static successor");
        assertArrayEquals(new long[] {0}, BlockCompiler.staticSuccessors(decodeAll("01c8e8f9ffffff"), 7), "call -7: its target");
        assertArrayEquals(new long[] {0, 4}, BlockCompiler.staticSuccessors(decodeAll("01c8e2fc"), 4),
                "add eax, ecx / loop -4: the start and the fall-through");
        assertArrayEquals(new long[0], BlockCompiler.staticSuccessors(decodeAll("01c8ffe0"), 4), "jmp eax: none");
        assertArrayEquals(new long[] {-1, 5}, BlockCompiler.staticSuccessors(decodeAll("01c84975fa"), 5),
                "jnz -6: a byte before the start");
    }

    /** Decodes a straight run of 32-bit instructions. */
    private static Insn[] decodeAll(String bytes) {
        byte[] b = hex(bytes);
        Decoder d = new Decoder();
        java.util.List<Insn> insns = new java.util.ArrayList<>();
        for (int at = 0; at < b.length; ) {
            Insn in = d.decode(b, at, b.length, true);
            insns.add(in);
            at += in.len();
        }
        return insns.toArray(new Insn[0]);
    }
}
