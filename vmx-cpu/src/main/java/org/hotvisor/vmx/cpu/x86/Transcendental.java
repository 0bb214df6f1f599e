package org.hotvisor.vmx.cpu.x86;

/**
 * The x87 transcendental instructions (SDM 2 F2XM1, FYL2X, FYL2XP1, FPTAN, FPATAN, FSIN, FCOS,
 * FSINCOS). APPROXIMATE: computed with {@link StrictMath} in double precision (53 bits) and widened,
 * so the last 11 bits of the 64-bit significand differ from hardware (whose results are themselves
 * inexact, SDM 1 8.3.10). Special operands (NaN, infinities, zeros, the |x| >= 2^63 range check of
 * FSIN/FCOS/FSINCOS/FPTAN with C2 = 1) follow the SDM exactly; every finite non-trivial result
 * raises PE.
 */
final class Transcendental {
    private Transcendental() {
    }

    private static final int F2XM1 = 0xF0, FYL2X = 0xF1, FPTAN = 0xF2, FPATAN = 0xF3, FYL2XP1 = 0xF9, FSINCOS = 0xFB,
            FSIN = 0xFE, FCOS = 0xFF;
    /** Trigonometric operands must satisfy |x| < 2^63 (SDM 2 FSIN). */
    private static final int TRIG_LIMIT_EXPONENT = SoftFloat.BIAS + 63;
    private static final double LN2 = 0.6931471805599453;

    static void execute(Fpu fpu, int modrm) {
        SoftFloat sf = fpu.sf;
        boolean binary = modrm == FYL2X || modrm == FPATAN || modrm == FYL2XP1;
        if (fpu.stackUnderflowFor(binary ? 2 : 1)) {
            return;
        }
        int se = fpu.stSe(0);
        long sig = fpu.stSig(0);
        int cls = SoftFloat.classify(se, sig);
        int exceptions = cls == SoftFloat.DENORMAL ? SoftFloat.DE : 0;
        double x = SoftFloat.toJavaDouble(se, sig);
        boolean trig = modrm == FSIN || modrm == FCOS || modrm == FSINCOS || modrm == FPTAN;
        if (trig) {
            if (cls >= SoftFloat.QNAN || cls == SoftFloat.INF) {
                // NaN propagates (SNaN invalid); infinity is invalid
                nanOrInvalid(fpu, se, sig, cls, modrm == FSINCOS || modrm == FPTAN);
                return;
            }
            if ((se & SoftFloat.EXP_MASK) >= TRIG_LIMIT_EXPONENT) {
                fpu.conditions(Fpu.FSW_C2);   // out of range: operand unchanged
                return;
            }
            fpu.conditions(0);
            if ((modrm == FSINCOS || modrm == FPTAN) && fpu.pushWouldOverflow()) {
                fpu.pushValue(0, 0);   // stack overflow response (IE|SF, C1 = 1)
                return;
            }
            if (cls == SoftFloat.ZERO && modrm != FCOS) {
                // sin(+-0) = +-0 and tan(+-0) = +-0 exactly; FSINCOS still pushes cos = 1
                if (fpu.raiseResult(exceptions)) {
                    return;
                }
                if (modrm == FSINCOS) {
                    fpu.pushValue(0x3FFF, SoftFloat.INTEGER_BIT);
                    fpu.writeSt(1, se, sig);
                    fpu.writeSt(0, 0x3FFF, SoftFloat.INTEGER_BIT);
                } else if (modrm == FPTAN) {
                    fpu.pushValue(0x3FFF, SoftFloat.INTEGER_BIT);
                }
                return;
            }
            switch (modrm) {
                case FSIN -> writeInexact(fpu, 0, StrictMath.sin(x), exceptions);
                case FCOS -> writeInexact(fpu, 0, StrictMath.cos(x), exceptions);
                case FPTAN -> {
                    if (writeInexact(fpu, 0, StrictMath.tan(x), exceptions)) {
                        fpu.pushValue(0x3FFF, SoftFloat.INTEGER_BIT);
                    }
                }
                default -> {
                    double cos = StrictMath.cos(x);
                    if (writeInexact(fpu, 0, StrictMath.sin(x), exceptions)) {
                        sf.fromJavaDouble(cos);
                        fpu.pushValue(sf.se, sf.sig);
                    }
                }
            }
            return;
        }
        if (modrm == F2XM1) {
            if (cls >= SoftFloat.QNAN) {
                nanOrInvalid(fpu, se, sig, cls, false);
                return;
            }
            if (cls == SoftFloat.ZERO) {
                return;
            }
            writeInexact(fpu, 0, StrictMath.expm1(x * LN2), exceptions);
            return;
        }
        // FYL2X, FYL2XP1, FPATAN: ST1 = f(ST1, ST0), then pop
        int ySe = fpu.stSe(1);
        long ySig = fpu.stSig(1);
        int yCls = SoftFloat.classify(ySe, ySig);
        if (yCls == SoftFloat.DENORMAL) {
            exceptions |= SoftFloat.DE;
        }
        double y = SoftFloat.toJavaDouble(ySe, ySig);
        if (cls >= SoftFloat.QNAN || yCls >= SoftFloat.QNAN) {
            sf.flags = 0;
            sf.add(se, sig, ySe, ySig, false, SoftFloat.EXTENDED, 64);   // NaN propagation rules
            if (fpu.raiseResult(sf.flags)) {
                return;
            }
            fpu.writeSt(1, sf.se, sf.sig);
            fpu.popValue();
            return;
        }
        double r;
        switch (modrm) {
            case FYL2X -> {
                if (x < 0 || (x == 0 && y == 0) || (x == 1 && Double.isInfinite(y))
                        || (Double.isInfinite(x) && y == 0)) {
                    invalidBinary(fpu);
                    return;
                }
                if (x == 0) {
                    exceptions |= SoftFloat.ZE;
                }
                r = y * (StrictMath.log(x) / LN2);
            }
            case FYL2XP1 -> r = y * (StrictMath.log1p(x) / LN2);
            default -> r = StrictMath.atan2(y, x);
        }
        if (Double.isNaN(r)) {
            invalidBinary(fpu);
            return;
        }
        if (writeInexact(fpu, 1, r, exceptions)) {
            fpu.popValue();
        }
    }

    private static void invalidBinary(Fpu fpu) {
        if (fpu.raiseResult(SoftFloat.IE)) {
            return;
        }
        fpu.writeSt(1, SoftFloat.INDEFINITE_SE, SoftFloat.INDEFINITE_SIG);
        fpu.popValue();
    }

    private static void nanOrInvalid(Fpu fpu, int se, long sig, int cls, boolean pushes) {
        int exceptions = cls == SoftFloat.QNAN ? 0 : SoftFloat.IE;
        if (fpu.raiseResult(exceptions)) {
            return;
        }
        int rse = cls == SoftFloat.QNAN || cls == SoftFloat.SNAN ? se : SoftFloat.INDEFINITE_SE;
        long rsig = cls == SoftFloat.QNAN || cls == SoftFloat.SNAN ? sig | SoftFloat.QUIET_BIT : SoftFloat.INDEFINITE_SIG;
        fpu.writeSt(0, rse, rsig);
        if (pushes) {
            fpu.pushValue(rse, rsig);
        }
    }

    /** Writes an approximate result to ST(i) with PE (and C1 = 0); false if an unmasked exception blocks it. */
    private static boolean writeInexact(Fpu fpu, int i, double v, int exceptions) {
        SoftFloat sf = fpu.sf;
        sf.fromJavaDouble(v);
        if (fpu.raiseResult(exceptions | SoftFloat.PE)) {
            return false;
        }
        fpu.writeSt(i, sf.se, sf.sig);
        return true;
    }
}
