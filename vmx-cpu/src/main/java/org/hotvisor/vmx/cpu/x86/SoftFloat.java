package org.hotvisor.vmx.cpu.x86;

/**
 * Exact IEEE 754 arithmetic for the x87 FPU and SSE (SDM 1 chapter 4.8-4.9, 8.5, 11.5), in
 * software: every value is handled in the double extended format (15-bit exponent, 64-bit
 * significand with explicit integer bit, SDM 1 4.2.2) and rounded once, to the destination
 * format (extended, double or single) and precision (x87 precision control, SDM 1 8.1.5.2),
 * honouring the rounding control and computing the six exception flags exactly.
 *
 * <p>Values travel as a sign-and-exponent word {@code se} (bit 15 sign, bits 14:0 biased exponent)
 * and a 64-bit significand. One instance belongs to one core (it keeps the result and the flags of
 * the last operation in fields): nothing allocates and nothing locks.
 *
 * <p>Rules implemented: tininess after rounding with unbounded exponent (SDM 1 4.9.1.5); masked
 * underflow signalled only when tiny and inexact; masked overflow to infinity or the largest finite
 * by rounding mode (SDM 1 4.9.1.4, Table 4-10); x87 unmasked overflow/underflow deliver the result
 * with the exponent biased by 24576 (SDM 1 8.5.4, 8.5.5); NaN propagation per SDM 1 4.8.3.5 (Table
 * 4-7: x87 takes the larger significand, SSE the first source operand); unsupported encodings
 * (pseudo-NaN, pseudo-infinity, unnormal) are invalid operands (SDM 1 8.2.2); SSE flush-to-zero and
 * denormals-are-zero (SDM 1 10.2.3.3, 10.2.3.4).
 */
final class SoftFloat {
    // exception flags: the same bits in FSW/FCW and MXCSR (SDM 1 8.1.3.1, 10.2.3)
    static final int IE = 1, DE = 1 << 1, ZE = 1 << 2, OE = 1 << 3, UE = 1 << 4, PE = 1 << 5;
    static final int ALL_EXCEPTIONS = 0x3F;
    // rounding control (SDM 1 4.8.4, Table 4-8)
    static final int RC_NEAREST = 0, RC_DOWN = 1, RC_UP = 2, RC_ZERO = 3;
    // destination formats
    static final int EXTENDED = 0, DOUBLE = 1, SINGLE = 2;
    static final int BIAS = 16383, EXP_MASK = 0x7FFF, SIGN = 0x8000;
    static final long INTEGER_BIT = 1L << 63, QUIET_BIT = 1L << 62, HALF = 1L << 63;
    /** The real indefinite (SDM 1 4.8.3.7, Table 4-3): negative quiet NaN with significand C000...0. */
    static final int INDEFINITE_SE = 0xFFFF;
    static final long INDEFINITE_SIG = 0xC000_0000_0000_0000L;
    static final long DOUBLE_INDEFINITE = 0xFFF8_0000_0000_0000L;
    static final int SINGLE_INDEFINITE = 0xFFC0_0000;
    /** Exponent bias adjust of x87 results on unmasked overflow or underflow (SDM 1 8.5.4). */
    static final int WRAP_BIAS = 24576;

    static final int[] FORMAT_BIAS = {BIAS, 1023, 127};
    /** Largest biased exponent of a finite value per format. */
    static final int[] FORMAT_EMAX = {0x7FFE, 0x7FE, 0xFE};
    static final int[] FORMAT_PRECISION = {64, 53, 24};
    static final int[] FORMAT_FRACTION_BITS = {63, 52, 23};

    // operand classes
    static final int ZERO = 0, NORMAL = 1, DENORMAL = 2, INF = 3, QNAN = 4, SNAN = 5, UNSUPPORTED = 6;
    // compare results
    static final int LESS = -1, EQUAL = 0, GREATER = 1, UNORDERED = 2;

    /** Exception flags raised by the operations since the caller last cleared it. */
    int flags;
    int rc;
    /** x87 semantics (bias on unmasked over/underflow, larger-significand NaN) or SSE semantics. */
    boolean x87 = true;
    boolean underflowMasked = true, overflowMasked = true;
    /** SSE MXCSR.FTZ and MXCSR.DAZ. */
    boolean flushToZero, denormalsAreZero;
    /** The last rounding incremented the significand magnitude (x87 C1, SDM 1 8.1.3.3). */
    boolean roundedUp;
    /** Result of the last operation: extended format ({@link #se}/{@link #sig}) or packed bits. */
    int se;
    long sig;
    long bits;

    // scratch of the rounding step
    private long rSig;
    private boolean rCarry, rInexact, rIncrement;

    /** x87 configuration from the control word (SDM 1 8.1.5). */
    void configureX87(int fcw) {
        x87 = true;
        rc = (fcw >>> 10) & 3;
        underflowMasked = (fcw & UE) != 0;
        overflowMasked = (fcw & OE) != 0;
        flushToZero = false;
        denormalsAreZero = false;
    }

    /** SSE configuration from MXCSR (SDM 1 10.2.3). */
    void configureSse(int mxcsr) {
        x87 = false;
        rc = (mxcsr >>> 13) & 3;
        underflowMasked = (mxcsr & (UE << 7)) != 0;
        overflowMasked = (mxcsr & (OE << 7)) != 0;
        flushToZero = (mxcsr & (1 << 15)) != 0;
        denormalsAreZero = (mxcsr & (1 << 6)) != 0;
    }

    static int classify(int se, long sig) {
        int e = se & EXP_MASK;
        if (e == EXP_MASK) {
            if (sig >= 0) {
                return UNSUPPORTED;   // pseudo-infinity or pseudo-NaN: integer bit clear
            }
            if ((sig << 1) == 0) {
                return INF;
            }
            return (sig & QUIET_BIT) != 0 ? QNAN : SNAN;
        }
        if (e == 0) {
            return sig == 0 ? ZERO : DENORMAL;   // includes pseudo-denormals (integer bit set)
        }
        return sig < 0 ? NORMAL : UNSUPPORTED;   // unnormal
    }

    static boolean isNan(int cls) {
        return cls == QNAN || cls == SNAN;
    }

    // ---- results ----

    private void result(int resultSe, long resultSig) {
        se = resultSe;
        sig = resultSig;
    }

    /** Invalid operation with the masked response: the real indefinite. */
    void invalid() {
        flags |= IE;
        result(INDEFINITE_SE, INDEFINITE_SIG);
    }

    private void zero(boolean negative) {
        result(negative ? SIGN : 0, 0);
    }

    private void infinity(boolean negative) {
        result((negative ? SIGN : 0) | EXP_MASK, INTEGER_BIT);
    }

    /**
     * NaN operands (SDM 1 4.8.3.5, Table 4-7): an SNaN is invalid and becomes quiet; unsupported
     * encodings give the indefinite. For two NaNs x87 picks the larger significand, SSE the first.
     */
    private void nanResult(int aSe, long aSig, int ca, int bSe, long bSig, int cb) {
        if (ca == UNSUPPORTED || cb == UNSUPPORTED) {
            invalid();
            return;
        }
        if (ca == SNAN || cb == SNAN) {
            flags |= IE;
        }
        boolean aNan = isNan(ca), bNan = isNan(cb);
        boolean pickA;
        if (aNan && bNan) {
            if (x87) {
                long ma = aSig | QUIET_BIT, mb = bSig | QUIET_BIT;
                int cmp = Long.compareUnsigned(ma, mb);
                pickA = cmp > 0 || (cmp == 0 && (aSe & SIGN) == 0);
            } else {
                pickA = true;
            }
        } else {
            pickA = aNan;
        }
        if (pickA) {
            result(aSe, aSig | QUIET_BIT);
        } else {
            result(bSe, bSig | QUIET_BIT);
        }
    }

    /** One NaN or unsupported operand. */
    private void nanResult(int aSe, long aSig, int ca) {
        nanResult(aSe, aSig, ca, 0, 0, ZERO);
    }

    // ---- rounding (SDM 1 4.8.4) ----

    /**
     * Rounds the magnitude {@code sig:extra} (128 bits, binary point after bit 127) to
     * {@code precision} significant bits of {@code sig}; sets rSig, rCarry (overflowed to 2^64, rSig
     * is then the integer bit alone), rInexact and rIncrement.
     */
    private void roundSignificand(boolean negative, long s, long extra, int precision) {
        long rem, unit;
        if (precision == 64) {
            rem = extra;
            unit = 1;
        } else {
            unit = 1L << (64 - precision);
            rem = (s << precision) | (extra != 0 ? 1 : 0);
            s &= -unit;
        }
        boolean inc = switch (rc) {
            case RC_NEAREST -> Long.compareUnsigned(rem, HALF) > 0 || (rem == HALF && (s & unit) != 0);
            case RC_UP -> rem != 0 && !negative;
            case RC_DOWN -> rem != 0 && negative;
            default -> false;
        };
        rInexact = rem != 0;
        rIncrement = inc;
        rCarry = false;
        if (inc) {
            s += unit;
            if (s == 0) {
                s = INTEGER_BIT;
                rCarry = true;
            }
        }
        rSig = s;
    }

    /**
     * Rounds and packs sign x sig:extra x 2^(exp - 16383 - 63) (sig normalised: bit 63 set) into
     * {@code format} with {@code precision} bits. Extended results go to se/sig, others to bits.
     */
    void roundPack(boolean negative, int exp, long s, long extra, int format, int precision) {
        roundedUp = false;
        int e = exp - BIAS + FORMAT_BIAS[format];
        if (e <= 0) {
            roundSignificand(negative, s, extra, precision);
            boolean tiny = e < 0 || !rCarry;
            if (tiny) {
                if (!underflowMasked) {
                    flags |= UE;
                    if (!x87) {
                        pack(negative, e, s, format);   // SSE: the result is discarded (#XM)
                        return;
                    }
                    e += WRAP_BIAS;
                    if (e <= 0) {
                        flags |= PE;   // massive underflow even after biasing: a signed zero (SDM 1 8.5.5)
                        pack(negative, 0, 0, format);
                        return;
                    }
                    roundSignificand(negative, s, extra, precision);
                    finishNormal(negative, e, format, precision);
                    return;
                }
                if (flushToZero) {
                    flags |= UE | PE;   // SDM 1 10.2.3.3
                    pack(negative, 0, 0, format);
                    return;
                }
                // denormalise: shift right by 1 - e with sticky, then round at the same position
                int n = 1 - e;
                long lo;
                if (n < 64) {
                    lo = (s << (64 - n)) | (extra != 0 ? 1 : 0);
                    s >>>= n;
                } else if (n < 128) {
                    long lost = n == 64 ? extra : (s << (128 - n)) | extra;
                    lo = (n == 64 ? s : s >>> (n - 64)) | (lost != 0 ? 1 : 0);
                    s = 0;
                } else {
                    lo = 1;
                    s = 0;
                }
                roundSignificand(negative, s, lo, precision);
                if (rInexact) {
                    flags |= UE | PE;
                }
                roundedUp = rIncrement;
                pack(negative, 0, rSig, format);
                return;
            }
            // rounds up to the smallest normal: not tiny
        } else {
            roundSignificand(negative, s, extra, precision);
        }
        finishNormal(negative, e, format, precision);
    }

    private void finishNormal(boolean negative, int e, int format, int precision) {
        long s = rSig;
        if (rCarry) {
            e++;
        }
        if (rInexact) {
            flags |= PE;
        }
        roundedUp = rIncrement;
        if (e > FORMAT_EMAX[format]) {
            if (!overflowMasked) {
                flags |= OE;
                if (x87) {
                    e -= WRAP_BIAS;   // SDM 1 8.5.4: the biased result goes to the register stack
                }
                pack(negative, e, s, format);
                return;
            }
            flags |= OE | PE;
            boolean toInfinity = rc == RC_NEAREST || (rc == RC_UP && !negative) || (rc == RC_DOWN && negative);
            if (toInfinity) {
                roundedUp = true;
                packInfinity(negative, format);
            } else {
                roundedUp = false;
                long largest = precision == 64 ? -1L : -(1L << (64 - precision));
                pack(negative, FORMAT_EMAX[format], largest, format);
            }
            return;
        }
        pack(negative, e, s, format);
    }

    /** Packs a rounded significand; e = 0 means denormal (a carry into bit 63 yields the smallest normal). */
    private void pack(boolean negative, int e, long s, int format) {
        if (format == EXTENDED) {
            int exp = e;
            if (e == 0 && s < 0) {
                exp = 1;
            }
            if (s == 0) {
                exp = 0;
            }
            result((negative ? SIGN : 0) | (exp & EXP_MASK), s);
            return;
        }
        int fractionBits = FORMAT_FRACTION_BITS[format];
        long field = e >= 1 ? (long) (e - 1) << fractionBits : 0;
        long magnitude = field + (s >>> (63 - fractionBits));
        bits = format == DOUBLE ? (negative ? INTEGER_BIT : 0) | magnitude
                : (negative ? 0x8000_0000L : 0) | (magnitude & 0x7FFF_FFFFL);
    }

    private void packInfinity(boolean negative, int format) {
        if (format == EXTENDED) {
            infinity(negative);
            return;
        }
        pack(negative, FORMAT_EMAX[format] + 1, INTEGER_BIT, format);
    }

    /** Normalised exponent of a finite non-zero operand (a denormal becomes exponent 1 - shift). */
    private static int exponentOf(int se, long s) {
        int e = se & EXP_MASK;
        return e == 0 ? 1 - Long.numberOfLeadingZeros(s) : e;
    }

    private static long significandOf(long s) {
        return s << Long.numberOfLeadingZeros(s);
    }

    private void denormalCheck(int ca, int cb) {
        if (ca == DENORMAL || cb == DENORMAL) {
            flags |= DE;
        }
    }

    // ---- arithmetic (SDM 2 FADD, FSUB, FMUL, FDIV, FSQRT; SDM 1 4.8.3.6 special cases) ----

    /** a + b (or a - b), rounded to format/precision; the result in se/sig (extended) or bits. */
    void add(int aSe, long aSig, int bSe, long bSig, boolean subtract, int format, int precision) {
        int ca = classify(aSe, aSig), cb = classify(bSe, bSig);
        if (ca >= QNAN || cb >= QNAN) {
            nanResult(aSe, aSig, ca, bSe, bSig, cb);   // a NaN operand keeps its sign (no negation)
            packSpecial(format);
            return;
        }
        if (subtract) {
            bSe ^= SIGN;
        }
        denormalCheck(ca, cb);
        boolean aNeg = (aSe & SIGN) != 0, bNeg = (bSe & SIGN) != 0;
        if (ca == INF || cb == INF) {
            if (ca == INF && cb == INF && aNeg != bNeg) {
                invalid();
            } else {
                infinity(ca == INF ? aNeg : bNeg);
            }
            packSpecial(format);
            return;
        }
        if (ca == ZERO && cb == ZERO) {
            zero(aNeg == bNeg ? aNeg : rc == RC_DOWN);
            packSpecial(format);
            return;
        }
        if (ca == ZERO || cb == ZERO) {
            boolean n = ca == ZERO ? bNeg : aNeg;
            int s = ca == ZERO ? bSe : aSe;
            long m = ca == ZERO ? bSig : aSig;
            roundPack(n, exponentOf(s, m), significandOf(m), 0, format, precision);
            return;
        }
        int ea = exponentOf(aSe, aSig), eb = exponentOf(bSe, bSig);
        long sa = significandOf(aSig), sb = significandOf(bSig);
        if (ea < eb || (ea == eb && Long.compareUnsigned(sa, sb) < 0)) {
            int te = ea;
            ea = eb;
            eb = te;
            long ts = sa;
            sa = sb;
            sb = ts;
            boolean tn = aNeg;
            aNeg = bNeg;
            bNeg = tn;
        }
        int d = ea - eb;
        long bh, bl;
        if (d == 0) {
            bh = sb;
            bl = 0;
        } else if (d < 64) {
            bh = sb >>> d;
            bl = sb << (64 - d);
        } else if (d == 64) {
            bh = 0;
            bl = sb;
        } else if (d < 128) {
            bh = 0;
            bl = (sb >>> (d - 64)) | ((sb << (128 - d)) != 0 ? 1 : 0);
        } else {
            bh = 0;
            bl = 1;
        }
        long hi, lo;
        if (aNeg == bNeg) {
            lo = bl;
            hi = sa + bh;
            if (Long.compareUnsigned(hi, sa) < 0) {
                lo = (lo >>> 1) | (hi << 63) | (lo & 1);
                hi = (hi >>> 1) | INTEGER_BIT;
                ea++;
            }
        } else {
            lo = -bl;
            hi = sa - bh - (bl != 0 ? 1 : 0);
            if (hi == 0 && lo == 0) {
                zero(rc == RC_DOWN);   // exact zero difference: +0, or -0 rounding down (SDM 1 4.8.3.6)
                packSpecial(format);
                return;
            }
            if (hi == 0) {
                hi = lo;
                lo = 0;
                ea -= 64;
            }
            int lz = Long.numberOfLeadingZeros(hi);
            if (lz > 0) {
                hi = (hi << lz) | (lo >>> (64 - lz));
                lo <<= lz;
                ea -= lz;
            }
        }
        roundPack(aNeg, ea, hi, lo, format, precision);
    }

    void multiply(int aSe, long aSig, int bSe, long bSig, int format, int precision) {
        int ca = classify(aSe, aSig), cb = classify(bSe, bSig);
        if (ca >= QNAN || cb >= QNAN) {
            nanResult(aSe, aSig, ca, bSe, bSig, cb);
            packSpecial(format);
            return;
        }
        denormalCheck(ca, cb);
        boolean negative = ((aSe ^ bSe) & SIGN) != 0;
        if (ca == INF || cb == INF) {
            if (ca == ZERO || cb == ZERO) {
                invalid();
            } else {
                infinity(negative);
            }
            packSpecial(format);
            return;
        }
        if (ca == ZERO || cb == ZERO) {
            zero(negative);
            packSpecial(format);
            return;
        }
        long sa = significandOf(aSig), sb = significandOf(bSig);
        long hi = Math.unsignedMultiplyHigh(sa, sb), lo = sa * sb;
        int e = exponentOf(aSe, aSig) + exponentOf(bSe, bSig) - BIAS + 1;
        if (hi >= 0) {
            hi = (hi << 1) | (lo >>> 63);
            lo <<= 1;
            e--;
        }
        roundPack(negative, e, hi, lo, format, precision);
    }

    void divide(int aSe, long aSig, int bSe, long bSig, int format, int precision) {
        int ca = classify(aSe, aSig), cb = classify(bSe, bSig);
        if (ca >= QNAN || cb >= QNAN) {
            nanResult(aSe, aSig, ca, bSe, bSig, cb);
            packSpecial(format);
            return;
        }
        boolean negative = ((aSe ^ bSe) & SIGN) != 0;
        if (ca == INF) {
            denormalCheck(ca, cb);
            if (cb == INF) {
                invalid();
            } else {
                infinity(negative);
            }
            packSpecial(format);
            return;
        }
        if (cb == INF) {
            denormalCheck(ca, cb);
            zero(negative);
            packSpecial(format);
            return;
        }
        if (cb == ZERO) {
            if (ca == ZERO) {
                invalid();
            } else {
                denormalCheck(ca, cb);
                flags |= ZE;   // SDM 1 4.9.1.3
                infinity(negative);
            }
            packSpecial(format);
            return;
        }
        denormalCheck(ca, cb);
        if (ca == ZERO) {
            zero(negative);
            packSpecial(format);
            return;
        }
        long sa = significandOf(aSig), sb = significandOf(bSig);
        int e = exponentOf(aSe, aSig) - exponentOf(bSe, bSig) + BIAS;
        long remHi = 0, remLo = sa;
        if (Long.compareUnsigned(sa, sb) < 0) {
            remHi = sa >>> 63;
            remLo = sa << 1;
            e--;
        }
        long q = 0;
        for (int i = 0; i < 64; i++) {
            q <<= 1;
            if (remHi != 0 || Long.compareUnsigned(remLo, sb) >= 0) {
                remLo -= sb;
                q |= 1;
            }
            remHi = remLo >>> 63;
            remLo <<= 1;
        }
        long extra = 0;
        if (remHi != 0 || Long.compareUnsigned(remLo, sb) >= 0) {
            remLo -= sb;
            extra = HALF;
        }
        if (remLo != 0) {
            extra |= 1;
        }
        roundPack(negative, e, q, extra, format, precision);
    }

    void sqrt(int aSe, long aSig, int format, int precision) {
        int ca = classify(aSe, aSig);
        if (ca >= QNAN) {
            nanResult(aSe, aSig, ca);
            packSpecial(format);
            return;
        }
        boolean negative = (aSe & SIGN) != 0;
        if (ca == ZERO) {
            zero(negative);   // sqrt(-0) = -0
            packSpecial(format);
            return;
        }
        if (negative) {
            invalid();
            packSpecial(format);
            return;
        }
        denormalCheck(ca, ZERO);
        if (ca == INF) {
            infinity(false);
            packSpecial(format);
            return;
        }
        int unbiased = exponentOf(aSe, aSig) - BIAS;
        long s = significandOf(aSig);
        long nHi, nLo;
        if ((unbiased & 1) == 0) {
            nHi = s >>> 1;
            nLo = s << 63;
        } else {
            nHi = s;
            nLo = 0;
        }
        // digit-by-digit square root of the 128-bit N: root r (64 bits), remainder N - r^2
        long root = 0, remHi = 0, remLo = 0;
        for (int i = 63; i >= 0; i--) {
            int at = 2 * i;
            long two = at >= 64 ? (nHi >>> (at - 64)) & 3 : (nLo >>> at) & 3;
            remHi = (remHi << 2) | (remLo >>> 62);
            remLo = (remLo << 2) | two;
            long trialHi = root >>> 62, trialLo = (root << 2) | 1;
            if (Long.compareUnsigned(remHi, trialHi) > 0
                    || (remHi == trialHi && Long.compareUnsigned(remLo, trialLo) >= 0)) {
                long borrow = Long.compareUnsigned(remLo, trialLo) < 0 ? 1 : 0;
                remLo -= trialLo;
                remHi = remHi - trialHi - borrow;
                root = (root << 1) | 1;
            } else {
                root <<= 1;
            }
        }
        long extra = 0;
        if (remHi != 0 || Long.compareUnsigned(remLo, root) > 0) {
            extra = HALF | 1;   // N > r^2 + r: the root lies above r + 1/2
        } else if (remLo != 0) {
            extra = 1;
        }
        roundPack(false, Math.floorDiv(unbiased, 2) + BIAS, root, extra, format, precision);
    }

    /** Rounds an extended value to another format/precision (FST, FLD-free conversions, CVTSD2SS ...). */
    void convert(int aSe, long aSig, int format, int precision) {
        int ca = classify(aSe, aSig);
        if (ca >= QNAN) {
            nanResult(aSe, aSig, ca);
            packSpecial(format);
            return;
        }
        if (ca == ZERO || ca == INF) {
            result(aSe, ca == ZERO ? 0 : INTEGER_BIT);
            packSpecial(format);
            return;
        }
        roundPack((aSe & SIGN) != 0, exponentOf(aSe, aSig), significandOf(aSig), 0, format, precision);
    }

    /** Packs the special result in se/sig (zero, infinity, NaN) into a smaller format's bits. */
    private void packSpecial(int format) {
        roundedUp = false;
        if (format == EXTENDED) {
            return;
        }
        boolean negative = (se & SIGN) != 0;
        int e = se & EXP_MASK;
        int fractionBits = FORMAT_FRACTION_BITS[format];
        int formatExp = format == DOUBLE ? 0x7FF : 0xFF;
        long fraction = e == EXP_MASK ? (sig << 1) >>> (64 - fractionBits) : 0;
        long magnitude = e == EXP_MASK ? ((long) formatExp << fractionBits) | fraction : 0;
        if (e == EXP_MASK && (sig << 1) != 0) {
            magnitude |= 1L << (fractionBits - 1);   // a NaN stays a (quiet) NaN
        }
        bits = format == DOUBLE ? (negative ? INTEGER_BIT : 0) | magnitude : (negative ? 0x8000_0000L : 0) | magnitude;
    }

    // ---- comparisons (SDM 2 FCOM, FUCOM, FCOMI; COMISS/UCOMISS) ----

    /**
     * Compares a with b. {@code signaling}: any NaN is invalid (FCOM, COMISS); otherwise only an
     * SNaN is (FUCOM, UCOMISS). Returns {@link #LESS}, {@link #EQUAL}, {@link #GREATER} or
     * {@link #UNORDERED}.
     */
    int compare(int aSe, long aSig, int bSe, long bSig, boolean signaling) {
        int ca = classify(aSe, aSig), cb = classify(bSe, bSig);
        if (ca >= QNAN || cb >= QNAN) {
            if (signaling || ca == SNAN || cb == SNAN || ca == UNSUPPORTED || cb == UNSUPPORTED) {
                flags |= IE;
            }
            return UNORDERED;
        }
        denormalCheck(ca, cb);
        return compareOrdered(aSe, aSig, ca, bSe, bSig, cb);
    }

    private static int compareOrdered(int aSe, long aSig, int ca, int bSe, long bSig, int cb) {
        if (ca == ZERO && cb == ZERO) {
            return EQUAL;
        }
        boolean aNeg = (aSe & SIGN) != 0, bNeg = (bSe & SIGN) != 0;
        if (ca == ZERO) {
            return bNeg ? GREATER : LESS;
        }
        if (cb == ZERO) {
            return aNeg ? LESS : GREATER;
        }
        if (aNeg != bNeg) {
            return aNeg ? LESS : GREATER;
        }
        int magnitude;
        if (ca == INF || cb == INF) {
            magnitude = ca == cb ? 0 : ca == INF ? 1 : -1;
        } else {
            int ea = exponentOf(aSe, aSig), eb = exponentOf(bSe, bSig);
            magnitude = ea != eb ? Integer.compare(ea, eb)
                    : Long.compareUnsigned(significandOf(aSig), significandOf(bSig));
        }
        if (magnitude == 0) {
            return EQUAL;
        }
        return (magnitude > 0) != aNeg ? GREATER : LESS;
    }

    // ---- integers (SDM 2 FILD, FIST, FISTTP, FRNDINT, CVTSI2SD, CVTSD2SI) ----

    /** Exact conversion of a signed 64-bit integer to extended (se/sig). */
    void fromLong(long v) {
        if (v == 0) {
            zero(false);
            return;
        }
        boolean negative = v < 0;
        long m = negative ? -v : v;   // Long.MIN_VALUE stays 2^63 as an unsigned magnitude
        int lz = Long.numberOfLeadingZeros(m);
        result((negative ? SIGN : 0) | (BIAS + 63 - lz), m << lz);
    }

    /**
     * Rounds an extended value to an integer of {@code bytes} (2, 4, 8) with rounding control rc
     * (or truncation); returns the integer or the integer indefinite (SDM 1 4.8.3.7) with IE on
     * NaN, infinity or overflow.
     */
    long toInteger(int aSe, long aSig, int bytes, boolean truncate) {
        long indefinite = bytes == 8 ? Long.MIN_VALUE : -(1L << (bytes * 8 - 1));
        int ca = classify(aSe, aSig);
        if (ca >= INF) {
            flags |= IE;
            return indefinite;
        }
        if (ca == ZERO) {
            return 0;
        }
        if (ca == DENORMAL) {
            flags |= DE;
        }
        boolean negative = (aSe & SIGN) != 0;
        int savedRc = rc;
        if (truncate) {
            rc = RC_ZERO;
        }
        integerPart(negative, exponentOf(aSe, aSig) - BIAS, significandOf(aSig));
        rc = savedRc;
        if (rCarry) {   // the magnitude does not fit 64 bits
            flags |= IE;
            return indefinite;
        }
        long m = rSig;
        long limit = bytes == 8 ? Long.MIN_VALUE : 1L << (bytes * 8 - 1);   // |min| as unsigned
        boolean fits = negative ? Long.compareUnsigned(m, limit) <= 0 : Long.compareUnsigned(m, limit) < 0;
        if (!fits) {
            flags |= IE;
            return indefinite;
        }
        if (rInexact) {
            flags |= PE;
        }
        roundedUp = rIncrement;
        return negative ? -m : m;
    }

    /**
     * The integer magnitude of sign x s x 2^(unbiased - 63), rounded by rc: rSig, rInexact,
     * rIncrement; rCarry when it needs more than 64 bits.
     */
    private void integerPart(boolean negative, int unbiased, long s) {
        int fractionBits = 63 - unbiased;
        rCarry = false;
        rInexact = false;
        rIncrement = false;
        if (fractionBits < 0) {
            rCarry = true;
            rSig = s;
            return;
        }
        long ip, rem;
        if (fractionBits == 0) {
            ip = s;
            rem = 0;
        } else if (fractionBits < 64) {
            ip = s >>> fractionBits;
            rem = s << (64 - fractionBits);
        } else if (fractionBits == 64) {
            ip = 0;
            rem = s;
        } else {
            ip = 0;
            rem = 1;   // below one half, non-zero
        }
        boolean inc = switch (rc) {
            case RC_NEAREST -> Long.compareUnsigned(rem, HALF) > 0 || (rem == HALF && (ip & 1) != 0);
            case RC_UP -> rem != 0 && !negative;
            case RC_DOWN -> rem != 0 && negative;
            default -> false;
        };
        rInexact = rem != 0;
        rIncrement = inc;
        if (inc) {
            ip++;
            if (ip == 0) {
                rCarry = true;
            }
        }
        rSig = ip;
    }

    /** FRNDINT: rounds to an integral extended value by rc (SDM 2 FRNDINT); result in se/sig. */
    void roundToIntegral(int aSe, long aSig) {
        int ca = classify(aSe, aSig);
        roundedUp = false;
        if (ca >= QNAN) {
            nanResult(aSe, aSig, ca);
            return;
        }
        if (ca == ZERO || ca == INF) {
            result(aSe, aSig);
            return;
        }
        if (ca == DENORMAL) {
            flags |= DE;
        }
        boolean negative = (aSe & SIGN) != 0;
        int unbiased = exponentOf(aSe, aSig) - BIAS;
        if (unbiased >= 63) {
            result(aSe, aSig);
            return;
        }
        integerPart(negative, unbiased, significandOf(aSig));
        if (rInexact) {
            flags |= PE;
        }
        roundedUp = rIncrement;
        long m = rSig;
        if (m == 0) {
            zero(negative);
            return;
        }
        int lz = Long.numberOfLeadingZeros(m);
        result((negative ? SIGN : 0) | (BIAS + 63 - lz), m << lz);
    }

    // ---- FSCALE, FXTRACT, FPREM/FPREM1 (SDM 2) ----

    /** FSCALE: a x 2^trunc(b); result se/sig. */
    void scale(int aSe, long aSig, int bSe, long bSig) {
        int ca = classify(aSe, aSig), cb = classify(bSe, bSig);
        if (ca >= QNAN || cb >= QNAN) {
            nanResult(aSe, aSig, ca, bSe, bSig, cb);
            return;
        }
        denormalCheck(ca, cb);
        boolean aNeg = (aSe & SIGN) != 0, bNeg = (bSe & SIGN) != 0;
        if (cb == INF) {
            if (bNeg ? ca == INF : ca == ZERO) {
                invalid();   // 0 x 2^+inf, inf x 2^-inf
            } else if (bNeg) {
                zero(aNeg);
            } else {
                result(aSe | EXP_MASK, ca == INF ? aSig : INTEGER_BIT);
            }
            return;
        }
        if (ca == ZERO || ca == INF) {
            result(aSe, aSig);
            return;
        }
        int n;
        if (cb == ZERO) {
            n = 0;
        } else {
            int unbiased = exponentOf(bSe, bSig) - BIAS;
            long magnitude = unbiased < 0 ? 0 : unbiased >= 20 ? 1 << 20 : significandOf(bSig) >>> (63 - unbiased);
            n = (int) (bNeg ? -magnitude : magnitude);
        }
        roundPack(aNeg, exponentOf(aSe, aSig) + n, significandOf(aSig), 0, EXTENDED, 64);
    }

    /**
     * Partial remainder a rem b (SDM 2 FPREM, FPREM1): result se/sig; returns the quotient's three
     * low bits in bits 2:0 and bit 3 set when the reduction is incomplete (C2 = 1), or -1 when
     * the result is a special value (C2 = 0, quotient bits unchanged... cleared).
     */
    int remainder(int aSe, long aSig, int bSe, long bSig, boolean nearest) {
        int ca = classify(aSe, aSig), cb = classify(bSe, bSig);
        if (ca >= QNAN || cb >= QNAN) {
            nanResult(aSe, aSig, ca, bSe, bSig, cb);
            return -1;
        }
        if (ca == INF || cb == ZERO) {
            invalid();
            return -1;
        }
        denormalCheck(ca, cb);
        if (ca == ZERO || cb == INF) {
            canonical(aSe, aSig);
            return 0;
        }
        boolean negative = (aSe & SIGN) != 0;
        int ea = exponentOf(aSe, aSig), eb = exponentOf(bSe, bSig);
        long sa = significandOf(aSig), sb = significandOf(bSig);
        int d = ea - eb;
        if (d < 0) {
            if (nearest && d == -1 && Long.compareUnsigned(sa, sb) > 0) {
                // |a| > |b|/2: the nearest quotient is 1, the remainder a - b
                add(aSe, aSig, (bSe & EXP_MASK) | (aSe & SIGN), bSig, true, EXTENDED, 64);
                return 1;
            }
            canonical(aSe, aSig);
            return 0;
        }
        boolean partial = d >= 64;
        int steps = partial ? 32 + (d & 31) : d;   // SDM 2 FPREM: an implementation-defined N in [32, 63]
        if (partial) {
            nearest = false;   // a partial step always truncates (SDM 2 FPREM1)
        }
        // long division of sa x 2^steps by sb: quotient low bits and exact remainder
        long rem = sa;
        long q = 0;
        boolean remHigh = false;
        for (int i = 0; i <= steps; i++) {
            if (i > 0) {
                remHigh = rem < 0;
                rem <<= 1;
            }
            q <<= 1;
            if (remHigh || Long.compareUnsigned(rem, sb) >= 0) {
                rem -= sb;
                q |= 1;
            }
        }
        int remExp = ea - steps;   // rem is scaled like sb at exponent eb (+ partial offset)
        if (partial) {
            remExp = ea - steps;
        } else {
            remExp = eb;
        }
        if (nearest) {
            // round the quotient to nearest even: compare 2 x rem with sb
            int cmp = rem < 0 ? 1 : Long.compareUnsigned(rem << 1, sb);
            if (cmp > 0 || (cmp == 0 && (q & 1) != 0)) {
                rem = sb - rem;
                negative = !negative;
                q++;
            }
        }
        int quotientBits = (int) (q & 7) | (partial ? 8 : 0);
        if (rem == 0) {
            zero(negative);
            return quotientBits;
        }
        int lz = Long.numberOfLeadingZeros(rem);
        int e = remExp - lz;
        long m = rem << lz;
        if (e <= 0) {
            roundPack(negative, e, m, 0, EXTENDED, 64);   // exact: a denormal remainder
        } else {
            result((negative ? SIGN : 0) | e, m);
        }
        return quotientBits;
    }

    /** An operand returned as the result: a pseudo-denormal (exponent 0, integer bit set) leaves the unit as the equal normal (exponent 1). */
    private void canonical(int aSe, long aSig) {
        result((aSe & EXP_MASK) == 0 && aSig < 0 ? aSe | 1 : aSe, aSig);
    }

    // ---- format conversions for loads (exact) ----

    /** A single-precision value as extended (se/sig); SNaN stays signalling (the caller decides). */
    void fromSingle(int v) {
        boolean negative = v < 0;
        int e = (v >>> 23) & 0xFF;
        long f = v & 0x7F_FFFFL;
        fromParts(negative, e, f, 0xFF, 23, 127);
    }

    void fromDouble(long v) {
        boolean negative = v < 0;
        int e = (int) (v >>> 52) & 0x7FF;
        long f = v & 0xF_FFFF_FFFF_FFFFL;
        fromParts(negative, e, f, 0x7FF, 52, 1023);
    }

    private void fromParts(boolean negative, int e, long f, int maxExp, int fractionBits, int bias) {
        int s = negative ? SIGN : 0;
        if (e == maxExp) {
            result(s | EXP_MASK, INTEGER_BIT | (f << (63 - fractionBits)));
            return;
        }
        if (e == 0) {
            if (f == 0 || denormalsAreZero) {
                result(s, 0);
                return;
            }
            int lz = Long.numberOfLeadingZeros(f);
            // value = f x 2^(1 - bias - fractionBits)
            result(s | (BIAS + 1 - bias - fractionBits + 63 - lz), f << lz);
            return;
        }
        result(s | (e - bias + BIAS), INTEGER_BIT | (f << (63 - fractionBits)));
    }

    /** True when a single/double operand is a denormal (DE unless DAZ, SDM 1 10.2.3.4). */
    static boolean isDenormalDouble(long v) {
        return (v & 0x7FF0_0000_0000_0000L) == 0 && (v & 0xF_FFFF_FFFF_FFFFL) != 0;
    }

    static boolean isDenormalSingle(int v) {
        return (v & 0x7F80_0000) == 0 && (v & 0x7F_FFFF) != 0;
    }

    /** The extended value as a Java double (transcendental approximations; rounds to nearest). */
    static double toJavaDouble(int aSe, long aSig) {
        int ca = classify(aSe, aSig);
        boolean negative = (aSe & SIGN) != 0;
        switch (ca) {
            case ZERO:
                return negative ? -0.0 : 0.0;
            case INF:
                return negative ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
            case QNAN, SNAN, UNSUPPORTED:
                return Double.NaN;
            default:
                break;
        }
        int e = exponentOf(aSe, aSig) - BIAS;
        long s = significandOf(aSig);
        // round the 64-bit significand to 53 bits (nearest even) before scaling
        double m = (double) (s >>> 11) + ((s & 0x7FF) > 0x400 || ((s & 0x7FF) == 0x400 && ((s >>> 11) & 1) != 0) ? 1 : 0);
        double v = Math.scalb(m, e - 52);
        return negative ? -v : v;
    }

    /** A Java double as extended (se/sig), exactly. */
    void fromJavaDouble(double v) {
        boolean saved = denormalsAreZero;
        denormalsAreZero = false;
        fromDouble(Double.doubleToRawLongBits(v));
        denormalsAreZero = saved;
    }
}
