package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.Guest.hex;
import static org.hotvisor.vmx.cpu.x86.X86Core.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * 32-bit paging with 4-KByte and 4-MByte pages, PAE with execute-disable, accessed/dirty bits,
 * #PF error codes and CR2 (SDM 3A 4.3-4.7), and the TLB: stale until INVLPG or MOV CR3 (4.10).
 */
class PagingTest {
    static final int EXIT_EXCEPTION = 0, EXIT_HLT = 12;
    static final long P = 1, RW = 2, US = 4, A = 0x20, D = 0x40, PS = 0x80;
    static final int PD = 0x10000, PT0 = 0x11000, PT1 = 0x12000;

    // PG_WRITE_READ (32-bit, org 0x100000):
    //   mov dword [0x400010], 0x1234 / mov eax, [0x400010] / mov ebx, [0xC00020] / hlt
    static final byte[] PG_WRITE_READ = hex("c7051000400034120000a1100040008b1d2000c000f4");
    // PG_READ_UNMAPPED: mov eax, [0x800004] / hlt
    static final byte[] PG_READ_UNMAPPED = hex("a104008000f4");
    // PG_WRITE_RO: mov dword [0x401000], 7 / hlt
    static final byte[] PG_WRITE_RO = hex("c7050010400007000000f4");
    // PG_USER_READ_SUPER: mov eax, [0x402000] / hlt
    static final byte[] PG_USER_READ_SUPER = hex("a100204000f4");
    // PG_TLB (32-bit, org 0x100000):
    //   mov eax, [0x400000] / mov dword [0x12000], 0x300003 / mov ebx, [0x400000] / invlpg [0x400000]
    //   mov ecx, [0x400000] / mov dword [0x12000], 0x200003 / mov edx, [0x400000] / mov esi, cr3
    //   mov cr3, esi / mov edi, [0x400000] / hlt
    static final byte[] PG_TLB = hex("a100004000c70500200100030030008b1d000040000f013d000040008b0d00004000"
            + "c70500200100030020008b15000040000f20de0f22de8b3d00004000f4");
    // PG_FETCH_NX: jmp 0x403000
    static final byte[] PG_FETCH_NX = hex("e9fb2f3000");
    // KERNEL_GP: mov eax, [esp] / mov ecx, [esp+4] / hlt
    static final byte[] KERNEL_GP = hex("8b04248b4c2404f4");

    // PG_STRADDLE_REMAP (org 0x100000): call 0x400FFE / mov dword [PT1 + 4], 0x203001
    //   / invlpg [0x401000] / call 0x400FFE / hlt
    static final byte[] PG_STRADDLE_REMAP = hex("e8f90f3000c70504200100013020000f013d00104000e8e30f3000f4");

    /** Identity-maps 0-4 MB (user, writable); 4 MB-8 MB through PT1; a 4-MByte page at 12 MB. */
    private static Guest paged(byte[] code, boolean compiled) {
        Guest g = new Guest(8 << 20).protectedMode(0x100000).load(0x100000, code);
        g.putInt(PD, PT0 | P | RW | US);
        g.putInt(PD + 4, PT1 | P | RW | US);
        g.putInt(PD + 12, 0x400000 | PS | P | RW);              // 0xC00000: 4-MByte page at 4 MB
        for (int i = 0; i < 1024; i++) {
            g.putInt(PT0 + 4 * i, (long) i << 12 | P | RW | US);
        }
        g.putInt(PT1, 0x200000 | P | RW);                      // 0x400000: supervisor, writable
        g.putInt(PT1 + 4, 0x201000 | P);                       // 0x401000: read-only
        g.putInt(PT1 + 8, 0x202000 | P | RW);                  // 0x402000: supervisor only
        X86Core c = g.core;
        c.cr3 = PD;
        c.cr4 = CR4_PSE;
        c.cr0 |= CR0_PG | CR0_WP;
        c.controls.procBased |= Guest.PROC_HLT_EXITING;
        c.compileBlocks = compiled;
        c.compileThreshold = 1;
        c.stateLoaded();
        return g;
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void fourKAndFourMPagesTranslateAndSetAccessedAndDirty(boolean compiled) {
        Guest g = paged(PG_WRITE_READ, compiled);
        g.putInt(0x400020, 0xCAFE);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0x1234, g.getInt(0x200010), "written through the 4K mapping");
        assertEquals(0x1234, g.reg(EAX));
        assertEquals(0xCAFE, g.reg(EBX), "read through the 4M page");
        assertEquals(0x200000 | P | RW | A | D, g.getInt(PT1), "PTE accessed and dirty");
        assertEquals(A, g.getInt(PD + 4) & A, "PDE accessed");
        assertEquals(A, g.getInt(PD + 12) & (A | D), "4M PDE accessed, not dirty (only read)");
        assertEquals(0x200010, g.core.translateLinear(0x400010, true));
        assertEquals(-1, g.core.translateLinear(0x401000, true), "read-only page");
        assertEquals(-1, g.core.translateLinear(0x800000, false), "not present");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void pageFaultExitCarriesLinearAddressAndErrorCodeAndLeavesCr2(boolean compiled) {
        Guest g = paged(PG_READ_UNMAPPED, compiled);
        g.core.controls.exceptionBitmap = 1 << 14;
        assertEquals(EXIT_EXCEPTION, g.run());
        ExitInfo e = g.core.exit;
        assertEquals(0x8000_0B0E, e.interruptionInfo);
        assertEquals(0, e.interruptionErrorCode, "read, supervisor, not present");
        assertEquals(0x800004, e.qualification);
        assertEquals(0, g.core.cr2, "CR2 is not written on a #PF exit");
        assertEquals(0x100000, g.core.rip);
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void pageFaultErrorCodeMaskAndMatchSelectWhichFaultsExit(boolean compiled) {
        Guest g = paged(PG_WRITE_RO, compiled);
        g.core.controls.exceptionBitmap = 1 << 14;
        g.core.controls.pageFaultErrorCodeMask = Mmu.PFEC_W;
        g.core.controls.pageFaultErrorCodeMatch = 0;   // only reads exit...
        g.gate(14, Guest.SEL_CODE0, 0x180000, Guest.GATE_INT32, 0);
        g.load(0x180000, KERNEL_GP);
        assertEquals(EXIT_HLT, g.run(), "...so this write fault is delivered to the guest");
        assertEquals(Mmu.PFEC_P | Mmu.PFEC_W, g.reg(EAX), "present, write");
        assertEquals(0x100000, g.reg(ECX));
        assertEquals(0x401000, g.core.cr2);
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void supervisorWritesToReadOnlyPagesNeedWpClear(boolean compiled) {
        Guest g = paged(PG_WRITE_RO, compiled);
        g.core.cr0 &= ~CR0_WP;
        g.core.stateLoaded();
        assertEquals(EXIT_HLT, g.run());
        assertEquals(7, g.getInt(0x201000));
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void userReadOfASupervisorPageFaultsWithUserBit(boolean compiled) {
        Guest g = paged(PG_USER_READ_SUPER, compiled);
        g.core.controls.exceptionBitmap = 1 << 14;
        g.user(0x100000, 0x300000);
        assertEquals(EXIT_EXCEPTION, g.run());
        assertEquals(Mmu.PFEC_P | Mmu.PFEC_U, g.core.exit.interruptionErrorCode);
        assertEquals(0x402000, g.core.exit.qualification);
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void tlbKeepsStaleTranslationsUntilInvlpgOrCr3Load(boolean compiled) {
        Guest g = paged(PG_TLB, compiled);
        g.putInt(0x200000, 0x1111);
        g.putInt(0x300000, 0x2222);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0x1111, g.reg(EAX));
        assertEquals(0x1111, g.reg(EBX), "PTE changed, TLB still has the old page");
        assertEquals(0x2222, g.reg(ECX), "after INVLPG");
        assertEquals(0x2222, g.reg(EDX), "PTE changed back, TLB stale again");
        assertEquals(0x1111, g.reg(EDI), "after MOV CR3");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void paeExecuteDisableFaultsInstructionFetches(boolean compiled) {
        Guest g = new Guest(8 << 20).protectedMode(0x100000).load(0x100000, PG_FETCH_NX);
        int pdpt = 0x13000, pd = 0x14000, pt = 0x15000;
        g.putLong(pdpt, pd | P);
        g.putLong(pd, PS | P | RW | US);                      // 0-2 MB, one 2-MByte page
        g.putLong(pd + 2 * 8, pt | P | RW | US);              // 4 MB-6 MB through a page table
        g.putLong(pt + 3 * 8, 0x203000 | P | RW | 1L << 63);   // 0x403000: execute-disable
        X86Core c = g.core;
        c.cr3 = pdpt;
        c.cr4 = CR4_PAE;
        c.efer = EFER_NXE;
        c.pdpte[0] = pd | P;
        c.cr0 |= CR0_PG;
        c.controls.exceptionBitmap = 1 << 14;
        c.compileBlocks = compiled;
        c.compileThreshold = 1;
        c.stateLoaded();
        assertEquals(EXIT_EXCEPTION, g.run());
        assertEquals(Mmu.PFEC_P | Mmu.PFEC_I, c.exit.interruptionErrorCode);
        assertEquals(0x403000, c.exit.qualification);
        assertEquals(0x403000, c.rip, "the fault is at the fetch target");
        assertEquals(0x203000, c.translateLinear(0x403000, false));
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aStraddlingInstructionFollowsARemapOfItsSecondPage(boolean compiled) {
        // ADD EBX, imm32 at linear 0x400FFE: its opcode on the page at phys 0x200000, its immediate
        // and the RET after it on the page PT1[1] maps; the guest remaps that page between two calls.
        Guest g = paged(PG_STRADDLE_REMAP, compiled);
        g.load(0x200FFE, hex("81c3"));
        g.load(0x201000, hex("11111111c3"));
        g.load(0x203000, hex("22222222c3"));
        g.core.gpr[ESP] = 0x9000;
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0x3333_3333L, g.reg(EBX), "the second call read the immediate from the new page");
    }
}
