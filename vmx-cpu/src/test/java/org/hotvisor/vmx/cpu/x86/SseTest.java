package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.Guest.hex;
import static org.hotvisor.vmx.cpu.x86.X87Test.DATA;
import static org.hotvisor.vmx.cpu.x86.X87Test.EXIT_EXCEPTION;
import static org.hotvisor.vmx.cpu.x86.X87Test.EXIT_HLT;
import static org.hotvisor.vmx.cpu.x86.X87Test.getLong;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * MMX, SSE and SSE2 executed by the core (SDM 1 chapters 9-11), FXSAVE/FXRSTOR (SDM 2 FXSAVE),
 * and the CR0/CR4 rules: #UD without CR4.OSFXSR, #XM versus #UD by CR4.OSXMMEXCPT, #GP(0) on a
 * misaligned MOVAPS (SDM 3A 2.5, SDM 1 11.5.1, 11.6.6). Programs are NASM output (source above each).
 */
class SseTest {
    static final int UD = 0x8000_0306, GP = 0x8000_0B0D, XM = 0x8000_0313;

    // movaps xmm0,[3000h]; movaps xmm1,[3010h]; addps xmm0,xmm1; movaps [3100h],xmm0; mov eax,7;
    // cvtsi2sd xmm2,eax; mulsd xmm2,[3020h]; movsd [3110h],xmm2; comisd xmm2,[3020h]; pushf; pop ebx;
    // pshufd xmm3,xmm1,1Bh; movdqu [3120h],xmm3; stmxcsr [3130h]
    static final byte[] ARITH = hex("0f2805003000000f280d103000000f58c10f290500310000b807000000f20f2ad0f20f59152030"
            + "0000f20f111510310000660f2f15203000009c5b660f70d91bf30f7f1d203100000fae1d30310000f4");
    static final byte[] MISALIGNED = hex("0f280508300000f4");   // movaps xmm0,[3008h]
    static final byte[] DIVIDE_BY_ZERO = hex("0fae1500300000f30f5ec1f4");   // ldmxcsr [3000h]; divss xmm0,xmm1
    // fninit; movq mm0,[3000h]; paddusb mm0,[3008h]; movq [3100h],mm0; pmovmskb eax,mm0;
    // fnstenv [3110h]; emms; fnstenv [3130h]
    static final byte[] MMX = hex("dbe30f6f05003000000fdc05083000000f7f05003100000fd7c0d935103100000f77d93530310000f4");
    // fninit; fld1; movaps xmm5,[3000h]; fxsave [3200h]; fninit; xorps xmm5,xmm5; fxrstor [3200h];
    // movaps [3100h],xmm5; fstp qword [3110h]
    static final byte[] FXSAVE = hex("dbe3d9e80f282d003000000fae0500320000dbe30f57ed0fae0d003200000f292d00310000dd1d"
            + "10310000f4");
    // movdqa xmm0,[3000h]; movdqa xmm1,[3010h]; movdqa xmm2,xmm0; punpcklbw xmm2,xmm1;
    // packsswb xmm0,xmm1; pmaddwd xmm1,xmm1; psrlq xmm1,4; pslldq xmm1,3; movdqa [3100h],xmm2;
    // movdqa [3110h],xmm0; movdqa [3120h],xmm1
    static final byte[] INTEGER = hex("660f6f0500300000660f6f0d10300000660f6fd0660f60d1660f63c1660ff5c9660f73d10466"
            + "0f73f903660f7f1500310000660f7f0510310000660f7f0d20310000f4");
    // cvttss2si eax,[3000h]; cvtss2si ebx,[3000h]; cvtps2pd xmm0,[3000h]; cvtpd2ps xmm1,xmm0;
    // movapd [3100h],xmm0; movq [3110h],xmm1; cmpltps xmm2,xmm2; ucomiss xmm0,xmm0
    static final byte[] CONVERT = hex("f30f2c0500300000f30f2d1d003000000f5a0500300000660f5ac8660f290500310000660fd6"
            + "0d103100000fc2d2010f2ec0f4");

    static Guest guest(byte[] code) {
        Guest g = X87Test.guest(code);
        g.core.cr4 |= X86Core.CR4_OSFXSR | X86Core.CR4_OSXMMEXCPT;
        g.core.stateLoaded();
        return g;
    }

    private static void putFloats(Guest g, int at, float... v) {
        for (int k = 0; k < v.length; k++) {
            g.putInt(at + 4 * k, Float.floatToRawIntBits(v[k]));
        }
    }

    private static float getFloat(Guest g, int at) {
        return Float.intBitsToFloat((int) g.getInt(at));
    }

    @Test
    void packedAndScalarArithmeticComparesAndShuffles() {
        Guest g = guest(ARITH);
        putFloats(g, DATA, 1, 2, 3, 4);
        putFloats(g, DATA + 0x10, 10, 20, 30, 40);
        g.putLong(DATA + 0x20, Double.doubleToRawLongBits(0.1));
        assertEquals(EXIT_HLT, g.run());
        assertEquals(11f, getFloat(g, 0x3100));
        assertEquals(44f, getFloat(g, 0x310C));
        assertEquals(0x3FE6_6666_6666_6667L, getLong(g, 0x3110), "7 * 0.1 rounded to nearest");
        assertEquals(0, g.reg(X86Core.EBX) & (Sse.ZF | Sse.PF | Sse.CF), "COMISD: greater");
        assertEquals(40f, getFloat(g, 0x3120), "PSHUFD 1Bh reverses the dwords");
        assertEquals(10f, getFloat(g, 0x312C));
        assertEquals(0x1F80 | SoftFloat.PE, g.getInt(0x3130), "MXCSR.PE after the inexact MULSD");
    }

    @Test
    void sseWithoutOsfxsrIsUndefined() {
        Guest g = X87Test.guest(ARITH);
        assertEquals(EXIT_EXCEPTION, g.run());
        assertEquals(UD, g.core.exit.interruptionInfo);
    }

    @Test
    void misalignedMovapsIsGp() {
        Guest g = guest(MISALIGNED);
        assertEquals(EXIT_EXCEPTION, g.run());
        assertEquals(GP, g.core.exit.interruptionInfo);
    }

    @Test
    void unmaskedSimdExceptionIsXmOrUdByOsxmmexcpt() {
        for (boolean osxmmexcpt : new boolean[] {true, false}) {
            Guest g = guest(DIVIDE_BY_ZERO);
            if (!osxmmexcpt) {
                g.core.cr4 &= ~X86Core.CR4_OSXMMEXCPT;
                g.core.stateLoaded();
            }
            g.putInt(DATA, 0x1F80 & ~(SoftFloat.ZE << 7));
            g.core.fpu.xmm[0] = Float.floatToRawIntBits(1f);
            assertEquals(EXIT_EXCEPTION, g.run());
            assertEquals(osxmmexcpt ? XM : UD, g.core.exit.interruptionInfo);
            assertEquals((0x1F80 & ~(SoftFloat.ZE << 7)) | SoftFloat.ZE, g.core.fpu.mxcsr);
            assertEquals(Float.floatToRawIntBits(1f), g.core.fpu.xmm[0], "destination unchanged");
        }
    }

    @Test
    void mmxAliasesTheX87RegistersAndEmmsEmptiesTheTags() {
        Guest g = guest(MMX);
        g.putLong(DATA, 0x0102_0304_0506_07F0L);
        g.putLong(DATA + 8, 0x1020_3040_5060_70F0L);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0x1122_3344_5566_77FFL, getLong(g, 0x3100), "PADDUSB saturates");
        assertEquals(1, g.reg(X86Core.EAX), "PMOVMSKB");
        assertEquals(0, g.getShort(0x3114) & 0x3800, "MMX state: TOP = 0");
        assertEquals(0x5556, g.getShort(0x3118), "tags: R0 (exponent FFFFh) special, the rest zero");
        assertEquals(0xFFFF, g.getShort(0x3138), "EMMS: all empty");
    }

    @Test
    void fxsaveImageAndFxrstor() {
        Guest g = guest(FXSAVE);
        g.putLong(DATA, 0x1111_2222_3333_4444L);
        g.putLong(DATA + 8, 0x5555_6666_7777_8888L);
        assertEquals(EXIT_HLT, g.run());
        int image = 0x3200;
        assertEquals(0x037F, g.getShort(image));
        assertEquals(0x3800, g.getShort(image + 2));
        assertEquals(0x80, g.ram[image + 4] & 0xFF, "abridged tag: R7");
        assertEquals(0x1F80, g.getInt(image + Sse.FX_MXCSR));
        assertEquals(0xFFFF, g.getInt(image + Sse.FX_MXCSR_MASK));
        assertEquals(0x8000_0000_0000_0000L, getLong(g, image + 32));
        assertEquals(0x3FFF, g.getShort(image + 40));
        assertEquals(0x1111_2222_3333_4444L, getLong(g, image + Sse.FX_XMM + 5 * 16));
        assertEquals(0x1111_2222_3333_4444L, getLong(g, 0x3100), "FXRSTOR restored XMM5");
        assertEquals(0x5555_6666_7777_8888L, getLong(g, 0x3108));
        assertEquals(Double.doubleToRawLongBits(1.0), getLong(g, 0x3110), "and ST0");
    }

    @Test
    void sse2IntegerUnpackPackMultiplyAddAndShifts() {
        Guest g = guest(INTEGER);
        g.putLong(DATA, 0xFFFF_8000_7FFF_0001L);
        g.putLong(DATA + 8, 0x1234_FF7F_0080_0100L);
        g.putLong(DATA + 0x10, 0x0706_0504_0302_0100L);
        g.putLong(DATA + 0x18, 0x0F0E_0D0C_0B0A_0908L);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0x037F_02FF_0100_0001L, getLong(g, 0x3100), "PUNPCKLBW");
        assertEquals(0x07FF_06FF_0580_0400L, getLong(g, 0x3108));
        assertEquals(0x7F80_7F7F_FF80_7F01L, getLong(g, 0x3110), "PACKSSWB saturates");
        assertEquals(0x7F7F_7F7F_7F7F_7F7FL, getLong(g, 0x3118));
        assertEquals(0xC340_00A0_C000_0000L, getLong(g, 0x3120), "PMADDWD, PSRLQ 4, PSLLDQ 3");
        assertEquals(0xD540_0CB6_CA00_04A7L, getLong(g, 0x3128));
    }

    @Test
    void conversionsAndCompares() {
        Guest g = guest(CONVERT);
        putFloats(g, DATA, 2.5f, -1.5f);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(2, g.reg(X86Core.EAX), "CVTTSS2SI truncates");
        assertEquals(2, g.reg(X86Core.EBX), "CVTSS2SI rounds to nearest even");
        assertEquals(Double.doubleToRawLongBits(2.5), getLong(g, 0x3100));
        assertEquals(Double.doubleToRawLongBits(-1.5), getLong(g, 0x3108));
        assertEquals((long) Float.floatToRawIntBits(-1.5f) << 32 | Float.floatToRawIntBits(2.5f), getLong(g, 0x3110));
        assertEquals(0, g.core.fpu.xmm[4] | g.core.fpu.xmm[5], "CMPLTPS x,x: all false");
        assertEquals(Sse.ZF, g.core.rflags() & (Sse.ZF | Sse.PF | Sse.CF), "UCOMISS equal");
    }
}
