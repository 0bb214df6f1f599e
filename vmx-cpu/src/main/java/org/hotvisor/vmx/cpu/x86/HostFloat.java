package org.hotvisor.vmx.cpu.x86;

/**
 * SSE floating-point lanes on the host's IEEE 754 arithmetic, where it gives {@link SoftFloat}'s
 * result and flags bit for bit (the idea of QEMU's "hardfloat"):
 * <ul>
 * <li>MXCSR as after reset apart from its sticky flags: every exception masked, round to nearest,
 * no flush-to-zero, no denormals-are-zero (SDM 1 10.2.3);</li>
 * <li>operands that are zero or normal with an exponent within {@link #DOUBLE_EXPONENT_LIMIT} or
 * {@link #SINGLE_EXPONENT_LIMIT} of 0, so that no result overflows or underflows (no OE, UE) and
 * every error term below is exact in double arithmetic; no NaN, infinity or denormal (no IE, DE);</li>
 * <li>no division by zero and no square root of a negative number (ZE, IE).</li>
 * </ul>
 * The only flag left is PE (SDM 1 4.9.1.6), raised exactly when the rounded result differs from the
 * exact one: the exact error is TwoSum's for a sum and an FMA residue for a product, quotient or
 * root. Java's float and double operations round to nearest even as SSE does (JLS 15.4).
 */
final class HostFloat {
    /** Opcodes (0F map) of the lanes done here: ADD, MUL, SUB, DIV, SQRT. */
    static final int ADD = 0x58, MUL = 0x59, SUB = 0x5C, DIV = 0x5E, SQRT = 0x51;
    /** MXCSR bits 15:6 (FZ, RC, the six masks, DAZ) as after reset (SDM 1 10.2.3.1). */
    private static final int MXCSR_CONTROL = 0xFFC0, MXCSR_RESET_CONTROL = 0x1F80;
    static final int DOUBLE_EXPONENT_LIMIT = 480, SINGLE_EXPONENT_LIMIT = 60;

    private HostFloat() {
    }

    static boolean defaultControl(int mxcsr) {
        return (mxcsr & MXCSR_CONTROL) == MXCSR_RESET_CONTROL;
    }

    /** A double lane this class takes: a zero, or normal with |unbiased exponent| <= 480. */
    static boolean takesDouble(long bits) {
        int e = (int) (bits >>> 52) & 0x7FF;
        return (bits << 1) == 0 || Math.abs(e - 1023) <= DOUBLE_EXPONENT_LIMIT;
    }

    /** A single lane this class takes: a zero, or normal with |unbiased exponent| <= 60. */
    static boolean takesSingle(int bits) {
        int e = (bits >>> 23) & 0xFF;
        return (bits << 1) == 0 || Math.abs(e - 127) <= SINGLE_EXPONENT_LIMIT;
    }

    /** Whether {@code op} on these operands raises neither ZE nor IE (operands already taken). */
    static boolean defined(int op, double x, double y) {
        return op == DIV ? y != 0 : op != SQRT || !(y < 0);
    }

    /** The lane's result; {@code y} alone for SQRT. */
    static double apply(int op, double x, double y) {
        return switch (op) {
            case ADD -> x + y;
            case SUB -> x - y;
            case MUL -> x * y;
            case DIV -> x / y;
            default -> Math.sqrt(y);
        };
    }

    static float apply(int op, float x, float y) {
        return switch (op) {
            case ADD -> x + y;
            case SUB -> x - y;
            case MUL -> x * y;
            case DIV -> x / y;
            default -> (float) Math.sqrt(y); // the double root rounds to the correct float (53 >= 2 * 24 + 2)
        };
    }

    /** Whether {@code r = op(x, y)} is exact: no PE. */
    static boolean exact(int op, double x, double y, double r) {
        return switch (op) {
            case ADD -> twoSumError(x, y, r) == 0;
            case SUB -> twoSumError(x, -y, r) == 0;
            case MUL -> Math.fma(x, y, -r) == 0;
            case DIV -> Math.fma(r, y, -x) == 0;
            default -> Math.fma(r, r, -y) == 0;
        };
    }

    /** The same for single lanes: products of two floats are exact in double. */
    static boolean exact(int op, float x, float y, float r) {
        return switch (op) {
            case ADD -> twoSumError(x, y, r) == 0;
            case SUB -> twoSumError(x, -y, r) == 0;
            case MUL -> (double) x * y == r;
            case DIV -> (double) r * y == x;
            default -> (double) r * r == y;
        };
    }

    /** Knuth's TwoSum: the exact {@code x + y - r} for {@code r = x + y} rounded to nearest. */
    private static double twoSumError(double x, double y, double r) {
        double yv = r - x;
        double xv = r - yv;
        return (x - xv) + (y - yv);
    }

    private static float twoSumError(float x, float y, float r) {
        float yv = r - x;
        float xv = r - yv;
        return (x - xv) + (y - yv);
    }
}
