package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.Guest.hex;
import static org.hotvisor.vmx.cpu.x86.X87Test.EXIT_EXCEPTION;
import static org.hotvisor.vmx.cpu.x86.X87Test.EXIT_HLT;
import static org.hotvisor.vmx.cpu.x86.X87Test.getLong;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * XSAVE state component 1 (SSE: XMM0-7 and MXCSR, SDM 1 13.5.2) and the supervisor component 10
 * (PASID state, IA32_PASID MSR D93H) with XSAVES/XRSTORS, IA32_XSS bit 10 written by the guest;
 * the remaining #GP/#UD rules of the SIMD state (LDMXCSR reserved bits, CR0.EM).
 */
class XsaveComponentsTest {
    static final int AREA = 0x3000;
    static final int GP = 0x8000_0B0D, UD = 0x8000_0306;
    static final int S_XSAVES = 1 << 20, P_SECONDARY = 1 << 31, P_USE_MSR_BITMAPS = 1 << 28;
    /** A zeroed MSR bitmap in host memory: RDMSR/WRMSR of every MSR run in the guest. */
    static final long MSR_BITMAP = 0x1000;

    static Guest withMsrBitmap(byte[] code) {
        Guest g = SseTest.guest(code);
        g.core.controls.procBased |= P_USE_MSR_BITMAPS;
        g.core.controls.msrBitmap = MSR_BITMAP;
        g.core.stateLoaded();
        return g;
    }

    // xsave [3000h]; xorps xmm3, xmm3; xrstor [3000h]
    static final byte[] XSAVE_SSE = hex("0fae25003000000f57db0fae2d00300000f4");
    // wrmsr IA32_PASID = 80000123h; wrmsr IA32_XSS = 400h; xsaves [3000h]; wrmsr IA32_PASID = 0;
    // mov eax, 400h; xrstors [3000h]; rdmsr IA32_PASID
    static final byte[] XSAVES_PASID = hex("b9930d0000b82301008031d20f30b9a00d0000b8000400000f300fc72d00300000b9930d"
            + "000031c00f30b8000400000fc71d00300000b9930d00000f32f4");
    static final byte[] PASID_RESERVED = hex("b9930d0000b80000100031d20f30f4");   // IA32_PASID = 100000h
    static final byte[] LDMXCSR = hex("0fae1500300000f4");
    static final byte[] PADDB_MM = hex("0ffcc1f4");
    static final byte[] ADDPS = hex("0f58c1f4");
    // fninit; fld1; o16 fnstenv [3100h]
    static final byte[] FSTENV16 = hex("dbe3d9e866d93500310000f4");

    @Test
    void xsaveAndXrstorCarryTheSseComponent() {
        Guest g = SseTest.guest(XSAVE_SSE);
        g.core.cr4 |= X86Core.CR4_OSXSAVE;
        g.core.stateLoaded();
        g.core.xcr0 = Xsave.X87 | Xsave.SSE;   // as a VMM would load it (no guest path yet, see the report)
        g.core.gpr[X86Core.EAX] = 3;
        g.core.fpu.xmm[6] = 0x1234_5678_9ABC_DEF0L;   // XMM3 low
        g.core.fpu.mxcsr = 0x1F80 | SoftFloat.PE;
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0x1234_5678_9ABC_DEF0L, getLong(g, AREA + Xsave.XMM0 + 3 * Xsave.XMM_STRIDE));
        assertEquals(0x1F80 | SoftFloat.PE, g.getInt(AREA + Xsave.MXCSR));
        assertEquals(0xFFFF, g.getInt(AREA + Xsave.MXCSR_MASK));
        assertEquals(Xsave.SSE, getLong(g, AREA + Xsave.XSTATE_BV), "XINUSE: SSE in use, x87 initial");
        assertEquals(0x1234_5678_9ABC_DEF0L, g.core.fpu.xmm[6], "XRSTOR restored XMM3");
    }

    @Test
    void guestEnablesPasidInXssAndXsavesXrstorsRoundTripIt() {
        Guest g = withMsrBitmap(XSAVES_PASID);
        g.core.cr4 |= X86Core.CR4_OSXSAVE;
        g.core.controls.procBased |= P_SECONDARY;
        g.core.controls.procBased2 = S_XSAVES;
        g.core.stateLoaded();
        assertEquals(EXIT_HLT, g.run());
        assertEquals(Xsave.PASID, getLong(g, AREA + Xsave.XSTATE_BV));
        assertEquals(Xsave.COMPACTED | Xsave.PASID, getLong(g, AREA + Xsave.XCOMP_BV));
        assertEquals(0x8000_0123L, getLong(g, AREA + Xsave.PASID_OFFSET), "component 10 right after the header");
        assertEquals(0x8000_0123L, g.reg(X86Core.EAX), "XRSTORS loaded IA32_PASID back");
    }

    @Test
    void reservedPasidBitsAreGp() {
        Guest g = withMsrBitmap(PASID_RESERVED);
        assertEquals(EXIT_EXCEPTION, g.run());
        assertEquals(GP, g.core.exit.interruptionInfo);
    }

    @Test
    void ldmxcsrWithReservedBitsIsGp() {
        Guest g = SseTest.guest(LDMXCSR);
        g.putInt(AREA, 0x1_0000);
        assertEquals(EXIT_EXCEPTION, g.run());
        assertEquals(GP, g.core.exit.interruptionInfo);
        assertEquals(FpuState.MXCSR_INIT, g.core.fpu.mxcsr);
    }

    @Test
    void cr0EmMakesMmxAndSseUndefined() {
        for (byte[] code : new byte[][] {PADDB_MM, ADDPS}) {
            Guest g = SseTest.guest(code);
            g.core.cr0 |= X86Core.CR0_EM;
            g.core.stateLoaded();
            assertEquals(EXIT_EXCEPTION, g.run());
            assertEquals(UD, g.core.exit.interruptionInfo);
        }
    }

    @Test
    void fstenvWithOperandSize16StoresThe14ByteImage() {
        Guest g = SseTest.guest(FSTENV16);
        g.putInt(0x310C, 0xAAAA_AAAA);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0x037F, g.getShort(0x3100));
        assertEquals(0x3800, g.getShort(0x3102), "TOP = 7");
        assertEquals(0x3FFF, g.getShort(0x3104), "R7 valid, the rest empty");
        assertEquals(X87Test.CODE + 2, g.getShort(0x3106) | (long) 0x100000, "FIP (16 bits) of FLD1");
        assertEquals(0xAAAA, g.getShort(0x310E), "bytes after the 14-byte image untouched");
    }
}
