package org.hotvisor.vmx.cpu.x86;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * SoftFloat against Java's IEEE arithmetic (round to nearest), directed rounding derived from the
 * exact error term (fma), and known double extended bit patterns (SDM 1 4.8, 8.1.5.2).
 */
class SoftFloatTest {
    private static final int ROUNDS = 20_000;

    private static SoftFloat sse(int rc) {
        SoftFloat sf = new SoftFloat();
        sf.configureSse(0x1F80 | rc << 13);
        return sf;
    }

    private static long d(SoftFloat sf, int op, double a, double b) {
        sf.fromDouble(Double.doubleToRawLongBits(a));
        int aSe = sf.se;
        long aSig = sf.sig;
        sf.fromDouble(Double.doubleToRawLongBits(b));
        switch (op) {
            case 0 -> sf.add(aSe, aSig, sf.se, sf.sig, false, SoftFloat.DOUBLE, 53);
            case 1 -> sf.add(aSe, aSig, sf.se, sf.sig, true, SoftFloat.DOUBLE, 53);
            case 2 -> sf.multiply(aSe, aSig, sf.se, sf.sig, SoftFloat.DOUBLE, 53);
            case 3 -> sf.divide(aSe, aSig, sf.se, sf.sig, SoftFloat.DOUBLE, 53);
            default -> sf.sqrt(aSe, aSig, SoftFloat.DOUBLE, 53);
        }
        return sf.bits;
    }

    private static double randomDouble(Random r) {
        return switch (r.nextInt(6)) {
            case 0 -> Double.longBitsToDouble(r.nextLong());                       // anything, incl. NaN/denormal
            case 1 -> Double.longBitsToDouble(r.nextLong() & 0x800F_FFFF_FFFF_FFFFL); // denormals
            case 2 -> r.nextInt(2000) - 1000;
            case 3 -> Math.scalb(r.nextDouble(), r.nextInt(2100) - 1075);
            default -> r.nextGaussian();
        };
    }

    @Test
    void doubleArithmeticMatchesJavaBitForBit() {
        Random r = new Random(7);
        SoftFloat sf = sse(SoftFloat.RC_NEAREST);
        for (int i = 0; i < ROUNDS; i++) {
            double a = randomDouble(r), b = randomDouble(r);
            for (int op = 0; op < 5; op++) {
                double expected = switch (op) {
                    case 0 -> a + b;
                    case 1 -> a - b;
                    case 2 -> a * b;
                    case 3 -> a / b;
                    default -> Math.sqrt(a);
                };
                long got = d(sf, op, a, b);
                if (Double.isNaN(expected)) {
                    assertEquals(true, Double.isNaN(Double.longBitsToDouble(got)), a + " op" + op + " " + b);
                } else {
                    assertEquals(Double.doubleToRawLongBits(expected), got, a + " op" + op + " " + b);
                }
            }
        }
    }

    @Test
    void singleArithmeticMatchesJavaBitForBit() {
        Random r = new Random(11);
        SoftFloat sf = sse(SoftFloat.RC_NEAREST);
        for (int i = 0; i < ROUNDS; i++) {
            float a = Float.intBitsToFloat(r.nextInt()), b = Float.intBitsToFloat(r.nextInt());
            if (i % 2 == 0) {
                a = (float) r.nextGaussian();
                b = (float) (r.nextGaussian() * 1e-3);
            }
            for (int op = 0; op < 4; op++) {
                sf.fromSingle(Float.floatToRawIntBits(a));
                int aSe = sf.se;
                long aSig = sf.sig;
                sf.fromSingle(Float.floatToRawIntBits(b));
                switch (op) {
                    case 0 -> sf.add(aSe, aSig, sf.se, sf.sig, false, SoftFloat.SINGLE, 24);
                    case 1 -> sf.multiply(aSe, aSig, sf.se, sf.sig, SoftFloat.SINGLE, 24);
                    case 2 -> sf.divide(aSe, aSig, sf.se, sf.sig, SoftFloat.SINGLE, 24);
                    default -> sf.sqrt(aSe, aSig, SoftFloat.SINGLE, 24);
                }
                float expected = switch (op) {
                    case 0 -> a + b;
                    case 1 -> a * b;
                    case 2 -> a / b;
                    default -> (float) Math.sqrt(a);
                };
                if (Float.isNaN(expected)) {
                    assertEquals(true, Float.isNaN(Float.intBitsToFloat((int) sf.bits)));
                } else {
                    assertEquals(Float.floatToRawIntBits(expected), (int) sf.bits, a + " op" + op + " " + b);
                }
            }
        }
    }

    @Test
    void directedRoundingFollowsTheExactErrorSign() {
        Random r = new Random(3);
        for (int i = 0; i < ROUNDS; i++) {
            double a = r.nextGaussian() * 1e6, b = r.nextGaussian();
            double nearest = a * b;
            double error = Math.fma(a, b, -nearest);   // exact residual
            double up = error > 0 ? Math.nextUp(nearest) : nearest;
            double down = error < 0 ? Math.nextDown(nearest) : nearest;
            double toZero = nearest > 0 ? down : up;
            assertEquals(Double.doubleToRawLongBits(up), d(sse(SoftFloat.RC_UP), 2, a, b));
            assertEquals(Double.doubleToRawLongBits(down), d(sse(SoftFloat.RC_DOWN), 2, a, b));
            assertEquals(Double.doubleToRawLongBits(toZero), d(sse(SoftFloat.RC_ZERO), 2, a, b));
            double q = a / b;
            double qErr = -Math.fma(q, b, -a) * Math.signum(b);   // sign of a/b - q
            double qUp = qErr > 0 ? Math.nextUp(q) : q;
            assertEquals(Double.doubleToRawLongBits(qUp), d(sse(SoftFloat.RC_UP), 3, a, b));
            double s = Math.sqrt(Math.abs(a));
            double sErr = -Math.fma(s, s, -Math.abs(a));
            double sDown = sErr < 0 ? Math.nextDown(s) : s;
            assertEquals(Double.doubleToRawLongBits(sDown), d(sse(SoftFloat.RC_DOWN), 4, Math.abs(a), 0));
        }
    }

    @Test
    void flagsOfTheDoubleCases() {
        SoftFloat sf = sse(SoftFloat.RC_NEAREST);
        sf.flags = 0;
        d(sf, 3, 1, 0);
        assertEquals(SoftFloat.ZE, sf.flags);
        sf.flags = 0;
        d(sf, 3, 0, 0);
        assertEquals(SoftFloat.IE, sf.flags);
        assertEquals(SoftFloat.DOUBLE_INDEFINITE, sf.bits);
        sf.flags = 0;
        d(sf, 2, 1e300, 1e300);
        assertEquals(SoftFloat.OE | SoftFloat.PE, sf.flags);
        sf.flags = 0;
        d(sf, 2, 1e-300, 1e-300);
        assertEquals(SoftFloat.UE | SoftFloat.PE, sf.flags);
        sf.flags = 0;
        d(sf, 0, 1, 1);
        assertEquals(0, sf.flags);
        sf.flags = 0;
        d(sf, 3, 1, 3);
        assertEquals(SoftFloat.PE, sf.flags);
        // exact tiny result: no underflow when masked (SDM 1 4.9.1.5)
        sf.flags = 0;
        d(sf, 2, Double.MIN_NORMAL, 0.5);
        assertEquals(0, sf.flags);
        // flush to zero: UE and PE, signed zero
        SoftFloat ftz = new SoftFloat();
        ftz.configureSse(0x1F80 | 1 << 15);
        d(ftz, 2, -1e-300, 1e-300);
        assertEquals(SoftFloat.UE | SoftFloat.PE, ftz.flags);
        assertEquals(0x8000_0000_0000_0000L, ftz.bits);
    }

    @Test
    void subtractingANanKeepsItsSign() {
        // found by the differential test: -3.5 - QNaN(+) must return the QNaN unchanged (SDM 1 4.8.3.5)
        SoftFloat sf = sse(SoftFloat.RC_NEAREST);
        sf.fromSingle(0xC060_0000);
        int aSe = sf.se;
        long aSig = sf.sig;
        sf.fromSingle(0x7FC0_0000);
        sf.add(aSe, aSig, sf.se, sf.sig, true, SoftFloat.SINGLE, 24);
        assertEquals(0x7FC0_0000L, sf.bits);
    }

    @Test
    void extendedPrecisionAndPrecisionControl() {
        SoftFloat sf = new SoftFloat();
        sf.configureX87(0x037F);
        sf.fromLong(1);
        int oneSe = sf.se;
        long oneSig = sf.sig;
        sf.fromLong(3);
        int threeSe = sf.se;
        long threeSig = sf.sig;
        sf.divide(oneSe, oneSig, threeSe, threeSig, SoftFloat.EXTENDED, 64);
        assertEquals(0x3FFD, sf.se);
        assertEquals(0xAAAA_AAAA_AAAA_AAABL, sf.sig);
        assertEquals(true, sf.roundedUp);
        sf.divide(oneSe, oneSig, threeSe, threeSig, SoftFloat.EXTENDED, 53);
        assertEquals(0xAAAA_AAAA_AAAA_A800L, sf.sig);
        sf.divide(oneSe, oneSig, threeSe, threeSig, SoftFloat.EXTENDED, 24);
        assertEquals(0xAAAA_AB00_0000_0000L, sf.sig);
        sf.fromLong(2);
        sf.sqrt(sf.se, sf.sig, SoftFloat.EXTENDED, 64);
        assertEquals(0x3FFF, sf.se);
        assertEquals(0xB504_F333_F9DE_6484L, sf.sig);
        // x87 unmasked overflow: the exponent is biased by 24576 (SDM 1 8.5.4)
        SoftFloat wrap = new SoftFloat();
        wrap.configureX87(0x037F & ~SoftFloat.OE);
        wrap.multiply(0x7FFE, SoftFloat.INTEGER_BIT, 0x4000, SoftFloat.INTEGER_BIT, SoftFloat.EXTENDED, 64);
        assertEquals(0x7FFF - SoftFloat.WRAP_BIAS, wrap.se);
        assertEquals(SoftFloat.OE, wrap.flags);
    }

    @Test
    void integerConversionAndRoundToIntegral() {
        SoftFloat sf = new SoftFloat();
        sf.configureX87(0x037F);
        sf.fromJavaDouble(2.5);
        assertEquals(2, sf.toInteger(sf.se, sf.sig, 4, false));
        sf.fromJavaDouble(3.5);
        assertEquals(4, sf.toInteger(sf.se, sf.sig, 4, false));
        sf.fromJavaDouble(-3.7);
        assertEquals(-3, sf.toInteger(sf.se, sf.sig, 4, true));
        sf.flags = 0;
        sf.fromJavaDouble(40000);
        assertEquals(0x8000L, sf.toInteger(sf.se, sf.sig, 2, false) & 0xFFFF);
        assertEquals(SoftFloat.IE, sf.flags);
        sf.fromJavaDouble(-32768);
        assertEquals(-32768, sf.toInteger(sf.se, sf.sig, 2, false));
        sf.fromLong(Long.MIN_VALUE);
        assertEquals(Long.MIN_VALUE, sf.toInteger(sf.se, sf.sig, 8, false));
        sf.configureX87(0x037F | SoftFloat.RC_DOWN << 10);
        sf.fromJavaDouble(-0.5);
        sf.roundToIntegral(sf.se, sf.sig);
        assertEquals(-1.0, SoftFloat.toJavaDouble(sf.se, sf.sig));
    }

    @Test
    void remainderMatchesIeeeRemainder() {
        Random r = new Random(5);
        SoftFloat sf = new SoftFloat();
        sf.configureX87(0x037F);
        for (int i = 0; i < ROUNDS; i++) {
            double a = r.nextGaussian() * 1e4, b = r.nextGaussian();
            sf.fromJavaDouble(a);
            int aSe = sf.se;
            long aSig = sf.sig;
            sf.fromJavaDouble(b);
            int q = sf.remainder(aSe, aSig, sf.se, sf.sig, true);
            assertEquals(0, q & 8);
            assertEquals(Math.IEEEremainder(a, b), SoftFloat.toJavaDouble(sf.se, sf.sig), a + " rem1 " + b);
            sf.fromJavaDouble(b);
            sf.remainder(aSe, aSig, sf.se, sf.sig, false);
            assertEquals(a % b, SoftFloat.toJavaDouble(sf.se, sf.sig), a + " rem " + b);
        }
    }
}
