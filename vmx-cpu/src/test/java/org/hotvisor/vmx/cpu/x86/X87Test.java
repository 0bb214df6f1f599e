package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.Guest.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * x87 instructions executed by the core (SDM 1 chapter 8, SDM 2 F* pages): exact results, status
 * and control words, the environment and state images, #NM (SDM 3A 2.5) and the deferred #MF.
 * Each program is NASM output (source in the comment) followed by HLT.
 */
class X87Test {
    static final long CODE = 0x100000;
    static final int DATA = 0x3000;
    static final int EXIT_EXCEPTION = 0, EXIT_HLT = 12;
    static final int NM = 0x8000_0307, MF = 0x8000_0310;
    static final int P_HLT = 1 << 7;

    // finit; fld1; fld dword [3000h]; fdivp st1,st0; fstp tword [3100h]; fld qword [3008h]; fsqrt;
    // fstp qword [3110h]; fild dword [3010h]; fld1; fadd st0,st0; fxch; fprem; fistp word [3120h];
    // fstp st0; fldpi; fstp tword [3130h]; fnstsw ax; mov [3140h],ax; fnstcw [3142h]
    static final byte[] ARITH = hex("9bdbe3d9e8d90500300000def9db3d00310000dd0508300000d9fadd1d10310000db0510300000"
            + "d9e8dcc0d9c9d9f8df1d20310000ddd8d9ebdb3d30310000dfe066a340310000d93d42310000f4");
    // fninit; fldcw [3000h]; fld1; fldz; fdivp st1,st0; fld1
    static final byte[] DEFERRED_MF = hex("dbe3d92d00300000d9e8d9eedef9d9e8f4");
    static final byte[] FLD1 = hex("d9e8f4");
    static final byte[] FWAIT = hex("9bf4");
    // fninit; fld dword [3000h]; fld dword [3004h]; fcomi st0,st1; pushf; pop eax; fucomip st0,st1;
    // fstp st0; fnstenv [3100h]
    static final byte[] FCOMI = hex("dbe3d90500300000d90504300000dbf19c58dfe9ddd8d93500310000f4");
    // fninit; fld1; fldpi; fsave [3100h]; fld1; frstor [3100h]; fstp qword [3200h]; fstp qword [3208h]
    static final byte[] FSAVE = hex("dbe3d9e8d9eb9bdd3500310000d9e8dd2500310000dd1d00320000dd1d08320000f4");
    // fninit; fldcw [3000h]; fld1; fild dword [3004h]; fdivp st1,st0; fstp tword [3100h];
    // fld qword [3008h]; fistp dword [3110h]
    static final byte[] PRECISION = hex("dbe3d92d00300000d9e8db0504300000def9db3d00310000dd0508300000db1d10310000f4");

    static Guest guest(byte[] code) {
        Guest g = new Guest(2 << 20).flat32(CODE).load((int) CODE, code);
        g.core.controls.procBased = P_HLT;
        g.core.controls.exceptionBitmap = -1;
        g.core.cr0 |= X86Core.CR0_NE | X86Core.CR0_MP;
        g.core.gpr[X86Core.ESP] = 0x8000;
        g.core.stateLoaded();
        return g;
    }

    static long getLong(Guest g, long a) {
        return (long) X86Core.VH64.get(g.ram, (int) a);
    }

    @Test
    void arithmeticIsExactInDoubleExtended() {
        Guest g = guest(ARITH);
        g.putInt(DATA, Float.floatToRawIntBits(3.0f));
        g.putLong(DATA + 8, Double.doubleToRawLongBits(2.0));
        g.putInt(DATA + 0x10, 7);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0xAAAA_AAAA_AAAA_AAABL, getLong(g, 0x3100), "1/3 rounded to nearest in 64 bits");
        assertEquals(0x3FFD, g.getShort(0x3108));
        assertEquals(Double.doubleToRawLongBits(Math.sqrt(2)), getLong(g, 0x3110));
        assertEquals(1, g.getShort(0x3120), "FPREM 7 mod 2");
        assertEquals(0xC90F_DAA2_2168_C235L, getLong(g, 0x3130), "FLDPI rounded to nearest");
        assertEquals(0x4000, g.getShort(0x3138));
        int fsw = g.getShort(0x3140);
        assertEquals(SoftFloat.PE, fsw & ~(Fpu.FSW_C0 | Fpu.FSW_C2 | Fpu.FSW_C3), "TOP = 0 again, PE");
        assertEquals(0x037F, g.getShort(0x3142));
        assertEquals(fsw, g.reg(X86Core.EAX) & 0xFFFF, "FNSTSW AX");
    }

    @Test
    void precisionControlRoundsTheSignificand() {
        Guest g = guest(PRECISION);
        g.putShort(DATA, 0x007F);   // PC = 00b: 24 bits
        g.putInt(DATA + 4, 3);
        g.putLong(DATA + 8, Double.doubleToRawLongBits(2.5));
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0xAAAA_AB00_0000_0000L, getLong(g, 0x3100));
        assertEquals(2, g.getInt(0x3110), "FISTP rounds to nearest even");
    }

    @Test
    void unmaskedExceptionIsReportedAsMfByTheNextWaitingInstruction() {
        Guest g = guest(DEFERRED_MF);
        g.putShort(DATA, 0x037F & ~SoftFloat.ZE);
        assertEquals(EXIT_EXCEPTION, g.run());
        assertEquals(MF, g.core.exit.interruptionInfo);
        assertEquals(CODE + 14, g.core.rip, "#MF is a fault on the second FLD1");
        FpuState f = g.core.fpu;
        assertEquals(SoftFloat.ZE | Fpu.FSW_ES | Fpu.FSW_B, f.fsw & (0x3F | Fpu.FSW_ES | Fpu.FSW_B));
        assertEquals(0, f.significand((f.fsw >>> 11) & 7), "ST0 unchanged: the zero divisor");
    }

    @Test
    void withCr0NeClearThePendingExceptionIsNotReported() {
        Guest g = guest(DEFERRED_MF);
        g.core.cr0 &= ~X86Core.CR0_NE;
        g.core.stateLoaded();
        g.putShort(DATA, 0x037F & ~SoftFloat.ZE);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(1, g.core.x87.legacyErrorsIgnored);
    }

    @Test
    void emOrTsRaiseNm() {
        for (long bit : new long[] {X86Core.CR0_TS, X86Core.CR0_EM}) {
            Guest g = guest(FLD1);
            g.core.cr0 |= bit;
            g.core.stateLoaded();
            assertEquals(EXIT_EXCEPTION, g.run());
            assertEquals(NM, g.core.exit.interruptionInfo);
        }
        Guest g = guest(FWAIT);
        g.core.cr0 |= X86Core.CR0_TS;   // MP is set by guest(): WAIT faults
        g.core.stateLoaded();
        assertEquals(EXIT_EXCEPTION, g.run());
        assertEquals(NM, g.core.exit.interruptionInfo);
        g = guest(FWAIT);
        g.core.cr0 = (g.core.cr0 | X86Core.CR0_TS) & ~X86Core.CR0_MP;
        g.core.stateLoaded();
        assertEquals(EXIT_HLT, g.run(), "WAIT ignores TS when MP = 0");
    }

    @Test
    void fcomiSetsEflagsAndFstenvStoresTheProtectedModeImage() {
        Guest g = guest(FCOMI);
        g.putInt(DATA, Float.floatToRawIntBits(1.0f));
        g.putInt(DATA + 4, Float.floatToRawIntBits(2.0f));
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0, g.reg(X86Core.EAX) & (Fpu.ZF | Fpu.PF | Fpu.CF), "2 > 1");
        assertEquals(0xFFFF_037FL, g.getInt(0x3100));
        assertEquals(0xFFFF_0000L, g.getInt(0x3104), "FSW: TOP 0, no exception");
        assertEquals(0xFFFF_FFFFL, g.getInt(0x3108), "all empty");
        assertEquals(CODE + 20, g.getInt(0x310C), "FIP: FSTP ST0");
        assertEquals(0x05D8_0008L, g.getInt(0x3110), "FOP DD D8 and FCS");
        assertEquals(0x3004, g.getInt(0x3114), "FDP: the last memory operand");
        assertEquals(0xFFFF_0010L, g.getInt(0x3118));
    }

    @Test
    void fsaveThenFrstorRoundTripsTheStack() {
        Guest g = guest(FSAVE);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0x0FFF, g.getShort(0x3108), "R6, R7 valid, the rest empty");
        assertEquals(Double.doubleToRawLongBits(Math.PI), getLong(g, 0x3200));
        assertEquals(Double.doubleToRawLongBits(1.0), getLong(g, 0x3208));
    }
}
