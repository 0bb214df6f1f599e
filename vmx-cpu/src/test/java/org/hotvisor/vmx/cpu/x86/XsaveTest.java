package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.Guest.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The XSAVE feature set on the x87 component (SDM 1 chapter 13; SDM 2 XSAVE, XRSTOR, XSAVEOPT,
 * XSAVEC, XSAVES, XRSTORS) and the XSAVES/XRSTORS VM exits with their priorities (SDM 3C 26.1.1,
 * 26.1.3, 26.3).
 */
class XsaveTest {
    static final long CODE = 0x100000, AREA = 0x3000;
    static final int S_XSAVES = 1 << 20, P_SECONDARY = 1 << 31, P_HLT = 1 << 7;
    static final int EXIT_EXCEPTION = 0, EXIT_HLT = 12, EXIT_XSAVES = 63, EXIT_XRSTORS = 64;
    static final int GP = 0x8000_0B0D, UD = 0x8000_0306, NM = 0x8000_0307;
    static final int ALL_EXCEPTIONS = -1;

    // xsave [0x3000] / hlt ... each snippet: the instruction then HLT
    static final byte[] XSAVE = hex("0fae2500300000f4");
    static final byte[] XRSTOR = hex("0fae2d00300000f4");
    static final byte[] XSAVEOPT = hex("0fae3500300000f4");
    static final byte[] XSAVEC = hex("0fc72500300000f4");
    static final byte[] XSAVES = hex("0fc72d00300000f4");
    static final byte[] XRSTORS = hex("0fc71d00300000f4");
    // xsave [ebx+0x10] / hlt (misaligned unless EBX+10h is)
    static final byte[] XSAVE_EBX = hex("0fae6310f4");
    // mov ecx, 0 / xgetbv / mov ecx, 0xDA0 / wrmsr / hlt
    static final byte[] XGETBV_WRMSR_XSS = hex("b9000000000f01d0b9a00d00000f30f4");
    // 66 0f ae 25 ...: XSAVE with an operand-size prefix is #UD (NP)
    static final byte[] XSAVE_66 = hex("660fae2500300000f4");

    private static Guest guest(byte[] code) {
        Guest g = new Guest(2 << 20).flat32(CODE).load((int) CODE, code);
        g.core.controls.procBased = P_HLT;
        g.core.controls.exceptionBitmap = ALL_EXCEPTIONS;
        g.core.cr4 = X86Core.CR4_OSXSAVE;
        g.core.gpr[X86Core.EAX] = 1;   // instruction mask: x87
        g.core.stateLoaded();
        return g;
    }

    private static void enableXsaves(Guest g) {
        g.core.controls.procBased |= P_SECONDARY;
        g.core.controls.procBased2 = S_XSAVES;
    }

    /** An x87 state with TOP = 7, R7 = 1.0 (valid) and the pointers set. */
    private static void loadFpu(FpuState f) {
        f.fcw = 0x027F;
        f.fsw = 7 << FpuState.FSW_TOP_SHIFT;
        f.ftw = 0x3FFF;   // R7 valid, R0-R6 empty
        f.fop = 0x123;
        f.fip = 0x1000;
        f.fcs = 8;
        f.fdp = 0x2000;
        f.fds = 0x10;
        f.store(7, 0x3FFF, 1L << 63);   // 1.0: exponent 3FFFh, integer bit
    }

    private static long getLong(Guest g, long a) {
        return (long) X86Core.VH64.get(g.ram, (int) a);
    }

    @Test
    void xsaveWritesTheX87LegacyRegionAndXstateBvAndXrstorLoadsItBack() {
        Guest g = guest(XSAVE);
        loadFpu(g.core.fpu);
        g.putLong((int) AREA + Xsave.XSTATE_BV, 0x4);   // a bit outside RFBM: XSAVE leaves it
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0x027F, g.getShort(AREA));
        assertEquals(0x3800, g.getShort(AREA + 2));
        assertEquals(0x80, g.ram[(int) AREA + 4] & 0xFF, "abridged tags: R7 only");
        assertEquals(0x123, g.getShort(AREA + 6));
        assertEquals(0x1000, g.getInt(AREA + 8));
        assertEquals(8, g.getShort(AREA + 12));
        assertEquals(0x2000, g.getInt(AREA + 16));
        assertEquals(0x10, g.getShort(AREA + 20));
        assertEquals(0x8000_0000_0000_0000L, getLong(g, AREA + 32), "ST0 = R7: significand");
        assertEquals(0x3FFF, g.getShort(AREA + 40), "ST0 = R7: sign and exponent");
        assertEquals(0x5, getLong(g, AREA + Xsave.XSTATE_BV), "XSTATE_BV[0] = XINUSE[0], bit 2 unchanged");
        assertEquals(0, getLong(g, AREA + Xsave.XCOMP_BV), "the standard form does not write XCOMP_BV");

        g.putLong((int) AREA + Xsave.XSTATE_BV, 0x1);
        g.load((int) CODE, XRSTOR);
        g.core.rip = CODE;
        g.core.fpu.initialize();
        assertEquals(EXIT_HLT, g.run());
        FpuState f = g.core.fpu;
        assertEquals(0x027F, f.fcw);
        assertEquals(0x3800, f.fsw);
        assertEquals(0x3FFF, f.ftw, "R7 classified valid from its contents");
        assertEquals(0x123, f.fop);
        assertEquals(0x2000, f.fdp);
        assertEquals(1L << 63, f.significand(7));
        assertEquals(0x3FFF, f.signExponent(7));
    }

    @Test
    void xrstorClassifiesTagsFromTheRegisterContents() {
        Guest g = guest(XRSTOR);
        g.ram[(int) AREA + 3] = 0x38;                  // FSW.TOP (bits 13:11) = 7
        g.ram[(int) AREA + 4] = (byte) 0x81;           // R0 and R7 not empty
        g.ram[(int) AREA + 32 + 7] = (byte) 0x80;      // ST0 = R7: integer bit, exponent 0 -> special (denormal)
        g.ram[(int) AREA + 48 + 9] = 0x7F;             // ST1 = R0: exponent 7FFFh -> special
        g.ram[(int) AREA + 48 + 8] = (byte) 0xFF;
        g.putLong((int) AREA + Xsave.XSTATE_BV, 1);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0xBFFE, g.core.fpu.ftw, "R7 = 10b special, R0 = 10b special, others empty");
        g = guest(XRSTOR);
        g.ram[(int) AREA + 4] = 0x01;                  // R0 (ST0, TOP = 0) holds +0.0
        g.putLong((int) AREA + Xsave.XSTATE_BV, 1);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0xFFFD, g.core.fpu.ftw, "R0 = 01b zero");
    }

    @Test
    void xrstorWithXstateBvClearInitialisesTheX87State() {
        Guest g = guest(XRSTOR);
        loadFpu(g.core.fpu);
        assertEquals(EXIT_HLT, g.run());
        assertTrue(g.core.fpu.isInitial(), "FCW 037Fh, FTW FFFFh, registers 0");
    }

    @Test
    void xsavecAndXsavesUseTheCompactedHeaderAndSkipAnInitialX87State() {
        Guest g = guest(XSAVEC);
        for (int i = 0; i < Xsave.X87_BYTES; i++) {
            g.ram[(int) AREA + i] = (byte) 0xAA;
        }
        g.putLong((int) AREA + Xsave.XSTATE_BV, -1L);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0, getLong(g, AREA + Xsave.XSTATE_BV), "RFBM & XINUSE = 0");
        assertEquals(0x8000_0000_0000_0001L, getLong(g, AREA + Xsave.XCOMP_BV));
        assertEquals(0xAAAA, g.getShort(AREA), "the initial x87 state is not written");

        g = guest(XSAVES);
        enableXsaves(g);
        loadFpu(g.core.fpu);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(1, getLong(g, AREA + Xsave.XSTATE_BV));
        assertEquals(0x8000_0000_0000_0001L, getLong(g, AREA + Xsave.XCOMP_BV));
        assertEquals(0x027F, g.getShort(AREA));

        g.load((int) CODE, XRSTORS);
        g.core.rip = CODE;
        g.core.fpu.initialize();
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0x027F, g.core.fpu.fcw, "XRSTORS loaded the compacted area");
    }

    @Test
    void xsaveoptSavesLikeXsave() {
        Guest g = guest(XSAVEOPT);
        loadFpu(g.core.fpu);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0x027F, g.getShort(AREA));
        assertEquals(1, getLong(g, AREA + Xsave.XSTATE_BV));
    }

    @Test
    void xrstorHeaderChecksRaiseGeneralProtection() {
        long[][] headers = {
            {0x2, 0, 0},                          // XSTATE_BV bit 1 not in XCR0 (standard form)
            {0x1, 0, 1},                          // standard form: header bytes 23:16 not 0
            {0x1, 0x8000_0000_0000_0002L, 0},     // compacted: XCOMP_BV bit 1 not in XCR0
            {0x1, 0x8000_0000_0000_0000L, 0},     // compacted: XSTATE_BV[0] without XCOMP_BV[0]
            {0x1, 0x8000_0000_0000_0001L, 1},     // compacted: header bytes 63:16 not 0
        };
        for (long[] h : headers) {
            Guest g = guest(XRSTOR);
            loadFpu(g.core.fpu);
            g.putLong((int) AREA + Xsave.XSTATE_BV, h[0]);
            g.putLong((int) AREA + Xsave.XCOMP_BV, h[1]);
            g.putLong((int) AREA + Xsave.HEADER_RESERVED, h[2]);
            assertEquals(EXIT_EXCEPTION, g.run(), Long.toHexString(h[1]));
            assertEquals(GP, g.core.exit.interruptionInfo);
            assertEquals(0x027F, g.core.fpu.fcw, "no state changed");
        }
        Guest g = guest(XRSTORS);
        enableXsaves(g);
        g.putLong((int) AREA + Xsave.XSTATE_BV, 1);
        assertEquals(EXIT_EXCEPTION, g.run(), "XRSTORS of a standard-format area");
        assertEquals(GP, g.core.exit.interruptionInfo);
    }

    @Test
    void faultsOfTheWholeFamily() {
        Guest g = guest(XSAVE);
        g.core.cr4 = 0;
        g.core.stateLoaded();
        assertEquals(EXIT_EXCEPTION, g.run());
        assertEquals(UD, g.core.exit.interruptionInfo, "CR4.OSXSAVE = 0");
        g = guest(XSAVE);
        g.core.cr0 |= X86Core.CR0_TS;
        g.core.stateLoaded();
        assertEquals(EXIT_EXCEPTION, g.run());
        assertEquals(NM, g.core.exit.interruptionInfo, "CR0.TS = 1");
        g = guest(XSAVE_EBX);
        g.core.gpr[X86Core.EBX] = AREA;
        assertEquals(EXIT_EXCEPTION, g.run());
        assertEquals(GP, g.core.exit.interruptionInfo, "area at 3010h: not 64-byte aligned");
        g = guest(XSAVE_EBX);
        g.core.gpr[X86Core.EBX] = AREA + 0x30;
        assertEquals(EXIT_HLT, g.run(), "[EBX+10h] = 3040h is aligned");
        g = guest(XSAVE_66);
        assertEquals(EXIT_EXCEPTION, g.run());
        assertEquals(UD, g.core.exit.interruptionInfo, "66 prefix");
    }

    @Test
    void xgetbvReadsXcr0AndIa32XssAcceptsNoSupervisorComponent() {
        Guest g = guest(XGETBV_WRMSR_XSS);
        g.core.controls.procBased |= 1 << 28;   // MSR bitmaps (all zero: WRMSR runs in the core)
        g.core.controls.msrBitmap = 0x1000;
        g.core.gpr[X86Core.EDX] = 0;
        assertEquals(EXIT_EXCEPTION, g.run());
        assertEquals(1, g.reg(X86Core.EAX), "XCR0 = x87");
        assertEquals(0, g.reg(X86Core.EDX));
        assertEquals(GP, g.core.exit.interruptionInfo, "WRMSR IA32_XSS = 1: an unsupported bit");
        assertFalse(g.core.writeMsr(0xDA0, 1L << 8), "no PT (or other supervisor) state");
        assertTrue(g.core.writeMsr(0xDA0, 0));
    }

    @Test
    void xsavesIsUndefinedUnlessEnabledAndPrivilegeFaultsBeatTheExit() {
        Guest g = guest(XSAVES);
        assertEquals(EXIT_EXCEPTION, g.run());
        assertEquals(UD, g.core.exit.interruptionInfo, "enable XSAVES/XRSTORS = 0");
        g = guest(XSAVES);
        enableXsaves(g);
        g.core.cr4 = 0;
        g.core.stateLoaded();
        assertEquals(EXIT_EXCEPTION, g.run());
        assertEquals(UD, g.core.exit.interruptionInfo, "CR4.OSXSAVE = 0 before the exit");
    }

    @Test
    void xsavesExitBeatsNmAlignmentAndMemoryFaults() {
        Guest g = guest(XSAVE_EBX);
        g.load((int) CODE, hex("0fc76b10f4"));   // xsaves [ebx+0x10]
        enableXsaves(g);
        g.core.sys.xss = 1;   // white box: IA32_XSS has no supported bit to set architecturally
        g.core.controls.xssExitingBitmap = 1;
        g.core.gpr[X86Core.EBX] = 0x7FFF_FFF8L;   // 80000008h: misaligned and far beyond RAM
        g.core.cr0 |= X86Core.CR0_TS;
        g.core.stateLoaded();
        assertEquals(EXIT_XSAVES, g.run());
        assertEquals(0x10, g.core.exit.qualification, "the displacement");
        assertEquals(4, g.core.exit.instructionLength);
        assertEquals(0x01C1_8080, g.core.exit.instructionInfo, "32-bit address, DS, base EBX, no index");
        g.core.controls.xssExitingBitmap = 0;
        g.core.cr0 &= ~X86Core.CR0_TS;
        g.core.stateLoaded();
        assertEquals(EXIT_EXCEPTION, g.run(), "bitmap clear: XSAVES executes and faults");
        assertEquals(GP, g.core.exit.interruptionInfo);
    }
}
