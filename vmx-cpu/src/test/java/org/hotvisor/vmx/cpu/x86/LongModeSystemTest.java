package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.Guest.hex;
import static org.hotvisor.vmx.cpu.x86.LongModeTest.*;
import static org.hotvisor.vmx.cpu.x86.X86Core.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * IA-32e mode system features: CR8 with CR8-load exiting and the TPR shadow (SDM 3C 26.1.3, 29.3),
 * FSGSBASE, SWAPGS and IA32_KERNEL_GS_BASE, CR4.PCIDE and the CR3 no-flush bit, an interrupt from
 * ring 3 on the RSP0 stack with a null SS and IRETQ back (SDM 3A 6.14.4), SYSENTER/SYSEXIT in
 * IA-32e mode, LGDT/SGDT with 8-byte bases, and the 64-bit forms of exit information (GPR fields
 * 8-15, instruction-information address size 2, 64-bit linear addresses; SDM 3C 28.2).
 */
class LongModeSystemTest {
    static final int EXIT_CR_ACCESS = 28, EXIT_IO = 30, EXIT_INVLPG = 14, EXIT_TPR_BELOW_THRESHOLD = 43;
    static final int PROC_INVLPG = 1 << 9, PROC_CR3_LOAD = 1 << 15, PROC_CR3_STORE = 1 << 16,
            PROC_CR8_LOAD = 1 << 19, PROC_USE_TPR_SHADOW = 1 << 21;

    // mov rax, 9 / mov cr8, rax / mov rbx, cr8 / hlt
    static final byte[] CR8 = hex("b809000000440f22c0440f20c3f4");
    // mov r10, 5 / mov cr8, r10 / hlt
    static final byte[] CR8_R10 = hex("41ba05000000450f22c2f4");
    // mov rax, 0x400000 / wrfsbase rax / mov rbx, [fs:0x10] / rdfsbase rcx / wrmsr IA32_KERNEL_GS_BASE = 0x300000
    //   swapgs / mov rdx, [gs:0x8] / rdgsbase rsi / hlt
    static final byte[] FSGS = hex("b800004000f3480faed064488b1c2510000000f3480faec1b9020100c0b80000300031d20f300f01f865488b1425"
            + "08000000f3480faecef4");
    // ring 3: mov rsp, 0x9100 / int 0x81 / mov r10, rsp / mov r11w, ss / hlt (#GP at CPL 3)
    // handler (0x10000F): mov r8, rsp / mov r9w, ss / mov r12, [rsp+24] / mov r13, [rsp+32] / iretq
    static final byte[] USER_INT = hex("bc00910000cd814989e266418cd3f44989e066418cd14c8b6424184c8b6c242048cf");
    static final int USER_INT_HANDLER = CODE + 0xF;
    // mov r10, cr3 / mov cr3, r10
    static final byte[] CR3_R10 = hex("410f20da410f22da");
    // mov rdi, 0x123456789 / mov dx, 0x80 / insb
    static final byte[] INSB = hex("48bf896745230100000066ba80006c");
    // mov rax, 0xFFFF800000001000 / invlpg [rax]
    static final byte[] INVLPG = hex("48b8001000000080ffff0f0138");
    // lgdt [0x5000] / sgdt [0x5010] / hlt
    static final byte[] LGDT = hex("0f011425005000000f01042510500000f4");
    // ring 3: sysenter / back: mov r14, rsp / hlt; entry0 (+6): mov r12, rsp / mov r13w, cs / mov rdx, back
    //   mov rcx, 0x9200 / o64 sysexit
    static final byte[] SYSENTER = hex("0f344989e6f44989e466418ccdba02001000b900920000480f35");

    private static int exceptionVector(X86Core c) {
        return c.exit.interruptionInfo & 0xFF;
    }

    /** Switches a {@code long64} guest to ring 3 (64-bit user code and data). */
    private static void ring3(Guest g) {
        X86Core c = g.core;
        c.cs.load(SEL_USER_CODE64 | 3, 0, 0xFFFF_FFFF, 0xA0FB);
        for (Segment s : new Segment[] {c.ss, c.ds, c.es, c.fs, c.gs}) {
            s.load(SEL_USER_DATA | 3, 0, 0xFFFF_FFFF, 0xC0F3);
        }
        c.stateLoaded();
    }

    @Test
    void cr8ReadsBackWhatWasWritten() {
        Guest g = long64(CODE, false).load(CODE, CR8);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(9L, g.core.gpr[3]);
        assertEquals(9L, g.core.cr8);
    }

    @Test
    void cr8LoadExitingReportsCr8AndTheRexRegister() {
        Guest g = long64(CODE, false).load(CODE, CR8_R10);
        X86Core c = g.core;
        c.controls.procBased |= PROC_CR8_LOAD;
        assertEquals(EXIT_CR_ACCESS, g.run());
        assertEquals(8 | 10 << 8, c.exit.qualification, "SDM 3C Table 28-3: CR 8, MOV to CR, GPR 10");
        assertEquals(CODE + 6L, c.rip);
        assertEquals(4, c.exit.instructionLength);
    }

    @Test
    void tprShadowTakesTheWriteAndExitsBelowTheThreshold() {
        Guest g = long64(CODE, false).load(CODE, CR8_R10);
        X86Core c = g.core;
        c.controls.procBased |= PROC_USE_TPR_SHADOW;
        c.controls.virtualApicPageAddress = 0x1000;
        c.controls.tprThreshold = 7;
        assertEquals(EXIT_TPR_BELOW_THRESHOLD, g.run());
        assertEquals(0x50, g.host[0x1080] & 0xFF, "SDM 3C 29.3: VTPR[7:4] = CR8");
        assertEquals(CODE + 10L, c.rip, "trap-like: RIP is past MOV to CR8");
        assertEquals(0L, c.cr8, "CR8 itself is untouched");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void fsGsBaseInstructionsAndSwapgs(boolean enabled) {
        Guest g = long64(CODE, false).load(CODE, FSGS);
        g.putLong(0x400010, 0xAAAA_0000_1111L);
        g.putLong(0x300008, 0xBBBB_0000_2222L);
        X86Core c = g.core;
        c.cr4 |= enabled ? CR4_FSGSBASE : 0;
        c.controls.exceptionBitmap = 1 << Events.UD;
        c.stateLoaded();
        int reason = g.run();
        if (!enabled) {
            assertEquals(EXIT_EXCEPTION, reason);
            assertEquals(Events.UD, exceptionVector(c), "SDM 2 WRFSBASE: #UD while CR4.FSGSBASE = 0");
            return;
        }
        assertEquals(EXIT_HLT, reason);
        assertEquals(0xAAAA_0000_1111L, c.gpr[3], "FS-relative load through the new base");
        assertEquals(0xBBBB_0000_2222L, c.gpr[2], "GS base swapped in from IA32_KERNEL_GS_BASE");
        assertEquals(0x300000L, c.gpr[6]);
        assertEquals(0L, c.kernelGsBase, "the old GS base went to IA32_KERNEL_GS_BASE");
    }

    @Test
    void interruptFromRing3UsesRsp0AndANullSsAndIretqReturns() {
        Guest g = long64(CODE, false).load(CODE, USER_INT);
        long lo = (USER_INT_HANDLER & 0xFFFF) | (long) SEL_CODE64 << 16 | (0x80L | 3 << 5 | 0xE) << 40
                | ((USER_INT_HANDLER >>> 16) & 0xFFFFL) << 48;
        g.putLong(Guest.IDT + 0x81 * 16, lo);
        ring3(g);
        X86Core c = g.core;
        c.controls.exceptionBitmap = 1 << Events.GP;
        assertEquals(EXIT_EXCEPTION, g.run());
        assertEquals(Events.GP, exceptionVector(c), "HLT at CPL 3 after IRETQ");
        assertEquals(RSP0_TOP - 40L, c.gpr[8], "RSP0 from the 64-bit TSS");
        assertEquals(0L, c.gpr[9] & 0xFFFF, "SDM 3A 6.14.4: SS = null selector, RPL 0");
        assertEquals(0x9100L, c.gpr[12]);
        assertEquals(SEL_USER_DATA | 3L, c.gpr[13]);
        assertEquals(0x9100L, c.gpr[10], "IRETQ restored RSP");
        assertEquals(SEL_USER_DATA | 3L, c.gpr[11] & 0xFFFF, "and SS");
        assertEquals(3, c.cpl);
    }

    @Test
    void sysenterAndSysexitIn64BitMode() {
        Guest g = long64(CODE, false).load(CODE, SYSENTER);
        X86Core c = g.core;
        c.sysenterCs = SEL_CODE64;
        c.sysenterEsp = 0xFFFF_8000_0000_0000L + 0x9800;   // 64-bit stack pointers are taken whole
        c.sysenterEip = CODE + 6;
        ring3(g);
        c.controls.exceptionBitmap = 1 << Events.GP;
        assertEquals(EXIT_EXCEPTION, g.run());   // the final HLT at CPL 3
        assertEquals(0xFFFF_8000_0000_9800L, c.gpr[12]);
        assertEquals(SEL_CODE64, c.gpr[13] & 0xFFFF);
        assertEquals(0x9200L, c.gpr[14], "SYSEXIT: RSP = RCX");
        assertEquals(SEL_CODE64 + 32 | 3, c.cs.selector, "REX.W SYSEXIT: CS = SYSENTER_CS + 32");
        assertEquals(3, c.cpl);
    }

    @Test
    void pcideNeedsIa32eModeAndCr3LowBitsClearAndBit63IsNotStored() {
        Guest g = long64(CODE, false);
        X86Core c = g.core;
        c.cr3 = PML4 | 5;
        GuestFault f = null;
        try {
            c.sys.writeCr4(c.cr4 | CR4_PCIDE);
        } catch (GuestFault e) {
            f = e;
        }
        assertEquals(GuestFault.INSTANCE, f, "SDM 2 MOV CR: PCIDE with CR3[11:0] != 0 is #GP");
        c.cr3 = PML4;
        c.sys.writeCr4(c.cr4 | CR4_PCIDE);
        // mov rax, PML4 | 1 << 63 | 7 / mov cr3, rax / hlt
        g.load(CODE, hex("48b807002000000000800f22d8f4"));
        c.rip = CODE;
        c.stateLoaded();
        assertEquals(EXIT_HLT, g.run());
        assertEquals(PML4 | 7L, c.cr3, "SDM 3A 4.10.4.1: bit 63 (no flush) is not written to CR3");
    }

    @Test
    void crAccessExitsNameRexRegisters() {
        Guest g = long64(CODE, false).load(CODE, CR3_R10);
        X86Core c = g.core;
        c.controls.procBased |= PROC_CR3_STORE;
        assertEquals(EXIT_CR_ACCESS, g.run());
        assertEquals(3 | 1 << 4 | 10 << 8, c.exit.qualification, "MOV from CR3 to R10");
        c.controls.procBased = (c.controls.procBased & ~PROC_CR3_STORE) | PROC_CR3_LOAD;
        assertEquals(EXIT_CR_ACCESS, g.run());
        assertEquals(3 | 10 << 8, c.exit.qualification, "MOV to CR3 from R10");
        assertEquals(CODE + 4L, c.rip);
    }

    @Test
    void stringIoExitReports64BitAddressSizeAndLinearAddress() {
        Guest g = long64(CODE, false).load(CODE, INSB);
        X86Core c = g.core;
        c.controls.procBased |= Guest.PROC_UNCONDITIONAL_IO;
        assertEquals(EXIT_IO, g.run());
        assertEquals(2, (c.exit.instructionInfo >>> 7) & 7, "SDM 3C 28.2.5: address size 2 = 64-bit");
        assertEquals(0x1_2345_6789L, c.exit.guestLinearAddress);
    }

    @Test
    void invlpgExitQualificationIsThe64BitLinearAddress() {
        Guest g = long64(CODE, false).load(CODE, INVLPG);
        X86Core c = g.core;
        c.controls.procBased |= PROC_INVLPG;
        assertEquals(EXIT_INVLPG, g.run());
        assertEquals(0xFFFF_8000_0000_1000L, c.exit.qualification);
    }

    // ring 3: mov rsp, 0x9100 / call dword far [rel gateptr] (0x53:0) / mov r10, rsp / hlt
    // target (+0xF, ring 0): mov r8, rsp / mov r9, [rsp+16] / mov r11, [rsp+24] / o64 retf
    static final byte[] CALL_GATE = hex("bc00910000ff1d130000004989e2f44989e04c8b4c24104c8b5c241848cb000000005300");

    @Test
    void farCallThroughA64BitCallGateToRing0AndRetfBack() {
        Guest g = long64(CODE, false).load(CODE, CALL_GATE);
        long target = CODE + 0xF;
        // 16-byte 64-bit call gate at GDT index 10 (selector 0x50), DPL 3 (SDM 3A 5.8.3.1, Figure 5-9)
        g.putLong(Guest.GDT + 10 * 8, (target & 0xFFFF) | (long) SEL_CODE64 << 16 | (0x80L | 3 << 5 | 0xC) << 40
                | ((target >>> 16) & 0xFFFF) << 48);
        g.putLong(Guest.GDT + 11 * 8, target >>> 32);
        X86Core c = g.core;
        c.gdtrLimit = 12 * 8 - 1;
        ring3(g);
        c.controls.exceptionBitmap = 1 << Events.GP;
        assertEquals(EXIT_EXCEPTION, g.run());
        assertEquals(0L, c.exit.interruptionErrorCode, "HLT at CPL 3 after RETF");
        assertEquals(RSP0_TOP - 32L, c.gpr[8], "RSP0, then SS, RSP, CS, RIP as 8-byte values");
        assertEquals(0x9100L, c.gpr[9]);
        assertEquals(SEL_USER_DATA | 3L, c.gpr[11]);
        assertEquals(0x9100L, c.gpr[10], "RETF to the outer ring restored RSP");
        assertEquals(3, c.cpl);
    }

    // mov r10, 2 / invpcid r10, [0x5000] / mov rbx, 5 / invpcid rbx, [0x5000]
    static final byte[] INVPCID = hex("41ba02000000664c0f3882142500500000bb0500000066480f38821c2500500000");
    static final int PROC_SECONDARY = 1 << 31, PROC2_ENABLE_INVPCID = 1 << 12, EXIT_INVPCID = 58;

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void invpcidTypeAbove3IsGpAndInvlpgExitingMakesItExit58(boolean exiting) {
        Guest g = long64(CODE, false).load(CODE, INVPCID);
        X86Core c = g.core;
        c.controls.procBased |= PROC_SECONDARY | (exiting ? PROC_INVLPG : 0);
        c.controls.procBased2 |= PROC2_ENABLE_INVPCID;
        c.controls.exceptionBitmap = 1 << Events.GP;
        long flushes = c.mmu.tlbFlushes;
        int reason = g.run();
        if (exiting) {
            assertEquals(EXIT_INVPCID, reason);
            assertEquals(10, (c.exit.instructionInfo >>> 28) & 15, "SDM 3C 28.2.5: reg2 = R10 (REX.R)");
            assertEquals(2, (c.exit.instructionInfo >>> 7) & 7, "64-bit address size");
            assertEquals(CODE + 6L, c.rip);
            return;
        }
        assertEquals(EXIT_EXCEPTION, reason);
        assertEquals(Events.GP, exceptionVector(c), "SDM 2 INVPCID: type > 3 is #GP(0)");
        assertEquals(CODE + 22L, c.rip);
        assertEquals(flushes + 1, c.mmu.tlbFlushes, "type 2 flushed the TLB");
    }

    @Test
    void lgdtAndSgdtUseEightByteBasesIn64BitMode() {
        Guest g = long64(CODE, false).load(CODE, LGDT);
        g.putShort(0x5000, 0x27);
        g.putLong(0x5002, 0x0000_1234_5678_9000L);
        assertEquals(EXIT_HLT, g.run());
        X86Core c = g.core;
        assertEquals(0x0000_1234_5678_9000L, c.gdtrBase);
        assertEquals(0x27, c.gdtrLimit);
        assertEquals(0x27, g.getShort(0x5010));
        assertEquals(0x5678_9000L, g.getInt(0x5012));
        assertEquals(0x1234L, g.getInt(0x5016));
    }
}
