package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.Guest.hex;
import static org.hotvisor.vmx.cpu.x86.X87Test.DATA;
import static org.hotvisor.vmx.cpu.x86.X87Test.EXIT_HLT;
import static org.hotvisor.vmx.cpu.x86.X87Test.getLong;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link HostFloat}, differentially: each SSE instruction runs once with MXCSR 1F80h (as after
 * reset, so the host's arithmetic does it) and once with DAZ set as well (1FC0h, which HostFloat
 * leaves to SoftFloat; DAZ changes nothing for the operands used, none of them denormal). Both
 * runs must leave the same result bits, the same MXCSR flags and the same EFLAGS. The operands are
 * random zeros and normals, plus edge cases: exponents at HostFloat's limits and just past them,
 * exact and inexact results, division by zero, roots of negatives, NaNs and infinities (not
 * denormals: DAZ would change their meaning).
 */
class HostFloatTest {
    // ldmxcsr [3000h]; movapd xmm0,[3010h]; <op> xmm0,[3020h]; movapd [3100h],xmm0; stmxcsr [3110h];
    // pushf; pop ebx; hlt
    private static final String BEFORE = "0fae1500300000660f280510300000", AFTER = "660f2905003100000fae1d103100009c5bf4";
    private static final int MXCSR_RESET = 0x1F80, MXCSR_DAZ = 0x1FC0;
    private static final long ARITH_FLAGS = Sse.ZF | Sse.PF | Sse.CF | Sse.OF | Sse.SF | Sse.AF;

    /** Scalar and packed double instructions: name, encoding of "op xmm0, [3020h]". */
    private static final String[][] DOUBLE_OPS = {
        {"addsd", "f20f580520300000"}, {"subsd", "f20f5c0520300000"}, {"mulsd", "f20f590520300000"},
        {"divsd", "f20f5e0520300000"}, {"sqrtsd", "f20f510520300000"}, {"minsd", "f20f5d0520300000"},
        {"maxsd", "f20f5f0520300000"}, {"cmpltsd", "f20fc2052030000001"}, {"cmpnlesd", "f20fc2052030000006"},
        {"addpd", "660f580520300000"}, {"mulpd", "660f590520300000"}, {"divpd", "660f5e0520300000"},
        {"comisd", "660f2f0520300000"}, {"ucomisd", "660f2e0520300000"},
    };
    private static final String[][] SINGLE_OPS = {
        {"addss", "f30f580520300000"}, {"subss", "f30f5c0520300000"}, {"mulss", "f30f590520300000"},
        {"divss", "f30f5e0520300000"}, {"sqrtss", "f30f510520300000"}, {"addps", "0f580520300000"},
        {"subps", "0f5c0520300000"}, {"mulps", "0f590520300000"}, {"divps", "0f5e0520300000"},
        {"sqrtps", "0f510520300000"}, {"minps", "0f5d0520300000"}, {"maxps", "0f5f0520300000"},
        {"cmpleps", "0fc2052030000002"}, {"comiss", "0f2f0520300000"}, {"ucomiss", "0f2e0520300000"},
    };

    /** What one run leaves: xmm0 (both halves), MXCSR, the arithmetic flags. */
    private record Outcome(long lo, long hi, long mxcsr, long flags) {
    }

    /** The program with {@code op} run to its HLT, MXCSR loaded from {@code mxcsr}, xmm0 and the source from {@code operands}. */
    private static Guest ran(String opHex, int mxcsr, long[] operands) {
        Guest g = SseTest.guest(hex(BEFORE + opHex + AFTER));
        g.putInt(DATA, mxcsr);
        for (int k = 0; k < 4; k++) {
            g.putLong(DATA + 0x10 + 8 * k, operands[k]);
        }
        assertEquals(EXIT_HLT, g.run());
        return g;
    }

    private static Outcome run(String opHex, int mxcsr, long[] operands) {
        Guest g = ran(opHex, mxcsr, operands);
        return new Outcome(getLong(g, 0x3100), getLong(g, 0x3108), g.getInt(0x3110) & ~0x40L,
                g.reg(X86Core.EBX) & ARITH_FLAGS);
    }

    private static void agree(String[][] ops, List<long[]> operandSets) {
        for (String[] op : ops) {
            for (long[] operands : operandSets) {
                for (int sticky : new int[] {0, SoftFloat.PE}) { // PE already set: its check is skipped
                    Outcome host = run(op[1], MXCSR_RESET | sticky, operands);
                    Outcome soft = run(op[1], MXCSR_DAZ | sticky, operands);
                    assertEquals(soft, host, () -> String.format("%s with %016x %016x / %016x %016x, MXCSR %x", op[0],
                            operands[0], operands[1], operands[2], operands[3], MXCSR_RESET | sticky));
                }
            }
        }
    }

    private static long randomDouble(SplittableRandom r) {
        return randomFloat(r, 52, 11, HostFloat.DOUBLE_EXPONENT_LIMIT);
    }

    private static long randomSinglePair(SplittableRandom r) {
        return randomFloat(r, 23, 8, HostFloat.SINGLE_EXPONENT_LIMIT)
                | randomFloat(r, 23, 8, HostFloat.SINGLE_EXPONENT_LIMIT) << 32;
    }

    /**
     * The bits of a random zero or normal of an IEEE format with {@code mantissaBits} and {@code exponentBits}:
     * mostly small exponents (results that round or not), sometimes HostFloat's {@code limit} and
     * just past it; a quarter of the mantissas short, which gives exact results.
     */
    private static long randomFloat(SplittableRandom r, int mantissaBits, int exponentBits, int limit) {
        int bias = (1 << (exponentBits - 1)) - 1;
        long sign = r.nextBoolean() ? 1L << (mantissaBits + exponentBits) : 0;
        if (r.nextInt(10) == 0) {
            return sign; // +0, -0
        }
        int exponent = r.nextInt(10) < 7 ? r.nextInt(-8, 9) : r.nextInt(-limit - 3, limit + 4);
        long mantissa = r.nextInt(4) == 0 ? r.nextLong(16) << (mantissaBits - 4) : r.nextLong() >>> (64 - mantissaBits);
        return sign | (long) (exponent + bias) << mantissaBits | mantissa;
    }

    @Test
    void doubleLanesMatchSoftFloatBitForBitAndFlagForFlag() {
        SplittableRandom r = new SplittableRandom(20261125);
        List<long[]> sets = new ArrayList<>();
        for (int i = 0; i < 150; i++) {
            sets.add(new long[] {randomDouble(r), randomDouble(r), randomDouble(r), randomDouble(r)});
        }
        long one = Double.doubleToRawLongBits(1.0), two = Double.doubleToRawLongBits(2.0);
        long tiny = Double.doubleToRawLongBits(0x1p-600), huge = Double.doubleToRawLongBits(0x1p600);
        long limitLow = Double.doubleToRawLongBits(0x1.fffffffffffffp-481), limitHigh = Double.doubleToRawLongBits(0x1.fffffffffffffp480);
        long nan = 0x7FF8_0000_0000_0000L, snan = 0x7FF0_0000_0000_0001L, inf = 0x7FF0_0000_0000_0000L;
        long minusOne = Double.doubleToRawLongBits(-1.0), third = Double.doubleToRawLongBits(1.0 / 3);
        long[][] edges = {
            {one, two, two, one}, {third, third, one, third}, {one, 0, 0, one}, {0, 0, Long.MIN_VALUE, 0},
            {one, minusOne, minusOne, one}, {tiny, tiny, huge, huge}, {limitLow, limitLow, limitHigh, limitHigh},
            {limitHigh, limitLow, limitLow, limitHigh}, {nan, one, snan, one}, {one, nan, one, snan},
            {inf, one, one, inf}, {two, minusOne, minusOne, two},
        };
        sets.addAll(List.of(edges));
        agree(DOUBLE_OPS, sets);
    }

    @Test
    void singleLanesMatchSoftFloatBitForBitAndFlagForFlag() {
        SplittableRandom r = new SplittableRandom(1125);
        List<long[]> sets = new ArrayList<>();
        for (int i = 0; i < 150; i++) {
            sets.add(new long[] {randomSinglePair(r), randomSinglePair(r), randomSinglePair(r), randomSinglePair(r)});
        }
        long one = Float.floatToRawIntBits(1f), three = Float.floatToRawIntBits(3f), minusFour = Float.floatToRawIntBits(-4f) & 0xFFFF_FFFFL;
        long limit = Float.floatToRawIntBits(0x1.fffffep60f), past = Float.floatToRawIntBits(0x1p61f);
        long nan = 0x7FC0_0000L, inf = 0x7F80_0000L;
        long[][] edges = {
            {one | three << 32, minusFour | limit << 32, three | one << 32, 0 | past << 32},
            {nan | one << 32, inf | three << 32, one | nan << 32, three | inf << 32},
            {limit | limit << 32, past | past << 32, limit | limit << 32, past | past << 32},
        };
        sets.addAll(List.of(edges));
        agree(SINGLE_OPS, sets);
    }

    @Test
    void theResetMxcsrTakesTheHostPathAndAnyOtherControlDoesNot() {
        long[] operands = {Double.doubleToRawLongBits(1.0), 0, Double.doubleToRawLongBits(3.0), 0};
        assertEquals(1, ran("f20f5e0520300000", MXCSR_RESET, operands).core.sse.hostInstructions,
                "DIVSD 1/3 with MXCSR 1F80h");
        Guest g = ran("f20f5e0520300000", MXCSR_DAZ, operands);
        assertEquals(0, g.core.sse.hostInstructions, "DAZ: SoftFloat");
        assertEquals(Double.doubleToRawLongBits(1.0 / 3), getLong(g, 0x3100));
        assertTrue((g.getInt(0x3110) & SoftFloat.PE) != 0, "1/3 is inexact");
    }
}
