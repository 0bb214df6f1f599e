package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.SoftFloat.DE;
import static org.hotvisor.vmx.cpu.x86.SoftFloat.DOUBLE;
import static org.hotvisor.vmx.cpu.x86.SoftFloat.IE;
import static org.hotvisor.vmx.cpu.x86.SoftFloat.SINGLE;
import static org.hotvisor.vmx.cpu.x86.X86Core.CR0_EM;
import static org.hotvisor.vmx.cpu.x86.X86Core.CR0_TS;
import static org.hotvisor.vmx.cpu.x86.X86Core.CR4_OSFXSR;
import static org.hotvisor.vmx.cpu.x86.X86Core.CR4_OSXMMEXCPT;

/**
 * MMX, SSE, SSE2 and SSE3 (SDM 1 chapters 9-12; SDM 2 instruction pages) on {@link FpuState}:
 * the 0F-map opcodes 10-17, 28-2F, 50-7F, C2-C6, D0-FE and 0F AE /0-/3 (FXSAVE, FXRSTOR,
 * LDMXCSR, STMXCSR), decoded as {@link Op#SIMD} with {@code sub} = opcode | mandatory prefix << 8
 * (0 none, 1 66, 2 F3, 3 F2).
 *
 * <p>Checks (SDM 3A 2.5 Table 2-2, SDM 2 "SIMD exception classes"): SSE forms #UD when CR0.EM = 1
 * or CR4.OSFXSR = 0, then #NM when CR0.TS = 1; MMX forms #UD when CR0.EM = 1, #NM when CR0.TS = 1,
 * then #MF for a pending x87 exception, and put the x87 unit in MMX state (TOP = 0, all tags
 * valid). 16-byte memory operands of the aligned forms #GP(0) when misaligned. Floating-point
 * results use {@link SoftFloat} with MXCSR's rounding, FTZ and DAZ; an unmasked exception leaves
 * the destination unchanged and raises #XM, or #UD when CR4.OSXMMEXCPT = 0 (SDM 1 11.5.1).
 * RCPPS/RCPSS/RSQRTPS/RSQRTSS return the correctly rounded value (hardware returns a 12-bit
 * approximation with |relative error| <= 1.5 x 2^-12; bit patterns differ).
 */
final class Sse {
    static final int PREFIX_NONE = 0, PREFIX_66 = 1, PREFIX_F3 = 2, PREFIX_F2 = 3;
    static final int MXCSR_FLAGS = 0x3F, MXCSR_MASK_SHIFT = 7, MXCSR_DAZ = 1 << 6;
    // FXSAVE image offsets (SDM 2 FXSAVE, Table 3-53)
    static final int FX_MXCSR = 24, FX_MXCSR_MASK = 28, FX_XMM = 160, FX_SIZE = 512, FX_ALIGNMENT = 16;
    static final long CF = 1, PF = 1 << 2, AF = 1 << 4, ZF = 1 << 6, SF = 1 << 7, OF = 1 << 11;

    private final X86Core c;
    private final FpuState f;
    private final SoftFloat sf = new SoftFloat();
    /** Source operand bits 63:0 and 127:64 (register or memory). */
    private long srcLo, srcHi;
    private int exceptions;
    private final long[] ea = new long[4], eb = new long[4];

    Sse(X86Core c) {
        this.c = c;
        this.f = c.fpu;
    }

    int execute(Insn in) {
        int sub = in.sub();
        int opcode = sub & 0xFF;
        int prefix = (sub >>> 8) & 3;
        if (opcode == 0xAE) {
            return stateInstruction(in);
        }
        boolean mmxForm = mmxForm(opcode, prefix);
        if (mmxForm) {
            return Mmx.execute(this, in, opcode);
        }
        checkSse();
        return switch (opcode) {
            case 0x10, 0x11, 0x12, 0x13, 0x16, 0x17, 0x28, 0x29, 0x2B, 0x50 -> moves(in, opcode, prefix);
            case 0x14, 0x15, 0xC6 -> floatShuffle(in, opcode, prefix);
            case 0x2A, 0x2C, 0x2D, 0x5A, 0x5B, 0xE6 -> convert(in, opcode, prefix);
            case 0x2E, 0x2F -> compareToEflags(in, opcode, prefix);
            case 0x51, 0x52, 0x53, 0x58, 0x59, 0x5C, 0x5D, 0x5E, 0x5F, 0xC2, 0x7C, 0x7D, 0xD0 ->
                    floatArithmetic(in, opcode, prefix);
            case 0x54, 0x55, 0x56, 0x57 -> floatLogic(in, opcode, prefix);
            case 0xC3 -> movnti(in, prefix);
            default -> integer(in, opcode, prefix);
        };
    }

    /** Opcodes whose no-prefix form works on MMX registers (SDM 2 Table A-3 "NP" rows). */
    private static boolean mmxForm(int opcode, int prefix) {
        if (prefix != PREFIX_NONE) {
            return false;
        }
        return (opcode >= 0x60 && opcode <= 0x7F && opcode != 0x6C && opcode != 0x6D && opcode != 0x7C
                && opcode != 0x7D) || (opcode >= 0xD1 && opcode <= 0xFE) || opcode == 0xC4 || opcode == 0xC5;
    }

    // ---- checks ----

    void checkSse() {
        if ((c.cr0 & CR0_EM) != 0 || (c.cr4 & CR4_OSFXSR) == 0) {
            throw c.ud();
        }
        if ((c.cr0 & CR0_TS) != 0) {
            throw c.fault(Events.NM, -1);
        }
    }

    void checkMmx() {
        if ((c.cr0 & CR0_EM) != 0) {
            throw c.ud();
        }
        if ((c.cr0 & CR0_TS) != 0) {
            throw c.fault(Events.NM, -1);
        }
        c.x87.checkPending();
        c.x87.enterMmx();
    }

    // ---- operands ----

    X86Core core() {
        return c;
    }

    long xmmLo(int r) {
        return f.xmm[2 * r];
    }

    long xmmHi(int r) {
        return f.xmm[2 * r + 1];
    }

    void setXmm(int r, long lo, long hi) {
        f.xmm[2 * r] = lo;
        f.xmm[2 * r + 1] = hi;
    }

    /** Loads the source operand: bytes = 16, 8 or 4 (the rest zero); aligned 16-byte forms check alignment. */
    void loadSource(Insn in, int bytes, boolean aligned) {
        if (!in.isMem()) {
            srcLo = xmmLo(in.rm());
            srcHi = xmmHi(in.rm());
            return;
        }
        long off = c.ea(in);
        int seg = in.seg();
        if (aligned) {
            checkAligned(seg, off);
        }
        switch (bytes) {
            case 16 -> {
                srcLo = c.read(seg, off, 8);
                srcHi = c.read(seg, off + 8 & in.addrMask(), 8);
            }
            case 8 -> {
                srcLo = c.read(seg, off, 8);
                srcHi = 0;
            }
            default -> {
                srcLo = c.read(seg, off, 4);
                srcHi = 0;
            }
        }
    }

    long sourceLo() {
        return srcLo;
    }

    long sourceHi() {
        return srcHi;
    }

    void checkAligned(int seg, long off) {
        if (((c.segBase[seg] + off) & (FX_ALIGNMENT - 1)) != 0) {
            throw c.gp(0);   // SDM 2: legacy SSE 16-byte memory operands must be aligned
        }
    }

    void store(Insn in, int bytes, long lo, long hi, boolean aligned) {
        long off = c.ea(in);
        int seg = in.seg();
        if (aligned) {
            checkAligned(seg, off);
        }
        if (bytes == 16) {
            long high = off + 8 & in.addrMask();
            c.checkWritable(seg, off, 8);
            c.checkWritable(seg, high, 8);
            c.write(seg, off, 8, lo);
            c.write(seg, high, 8, hi);
        } else {
            c.write(seg, off, bytes, lo);
        }
    }

    // ---- moves (0F 10-17, 28, 29, 2B, 50) ----

    private int moves(Insn in, int opcode, int prefix) {
        int d = in.reg();
        boolean mem = in.isMem();
        switch (opcode) {
            case 0x10, 0x28: {
                boolean scalar = prefix >= PREFIX_F3;
                if (opcode == 0x28 && scalar) {
                    throw c.ud();
                }
                if (!scalar) {
                    loadSource(in, 16, opcode == 0x28);
                    setXmm(d, srcLo, srcHi);
                } else if (prefix == PREFIX_F3) {   // MOVSS
                    loadSource(in, 4, false);
                    if (mem) {
                        setXmm(d, srcLo & 0xFFFF_FFFFL, 0);
                    } else {
                        setXmm(d, (xmmLo(d) & ~0xFFFF_FFFFL) | (srcLo & 0xFFFF_FFFFL), xmmHi(d));
                    }
                } else {   // MOVSD
                    loadSource(in, 8, false);
                    setXmm(d, srcLo, mem ? 0 : xmmHi(d));
                }
                return Exec.NEXT;
            }
            case 0x11, 0x29, 0x2B: {
                boolean scalar = prefix >= PREFIX_F3;
                if ((opcode != 0x11 && scalar) || (opcode == 0x2B && !mem)) {
                    throw c.ud();
                }
                long lo = xmmLo(d), hi = xmmHi(d);
                if (!mem) {
                    int r = in.rm();
                    if (!scalar) {
                        setXmm(r, lo, hi);
                    } else if (prefix == PREFIX_F3) {
                        setXmm(r, (xmmLo(r) & ~0xFFFF_FFFFL) | (lo & 0xFFFF_FFFFL), xmmHi(r));
                    } else {
                        setXmm(r, lo, xmmHi(r));
                    }
                } else if (!scalar) {
                    store(in, 16, lo, hi, opcode != 0x11);
                } else {
                    store(in, prefix == PREFIX_F3 ? 4 : 8, lo, 0, false);
                }
                return Exec.NEXT;
            }
            case 0x12, 0x16: {
                boolean high = opcode == 0x16;
                if (prefix == PREFIX_F3) {   // MOVSLDUP / MOVSHDUP (SSE3)
                    loadSource(in, 16, true);
                    int shift = high ? 32 : 0;
                    long a = (srcLo >>> shift) & 0xFFFF_FFFFL, b = (srcHi >>> shift) & 0xFFFF_FFFFL;
                    setXmm(d, a | a << 32, b | b << 32);
                    return Exec.NEXT;
                }
                if (prefix == PREFIX_F2) {
                    if (high) {
                        throw c.ud();
                    }
                    loadSource(in, 8, false);   // MOVDDUP (SSE3)
                    setXmm(d, srcLo, srcLo);
                    return Exec.NEXT;
                }
                if (!mem && prefix == PREFIX_66) {
                    throw c.ud();
                }
                loadSource(in, 8, false);
                long v = mem ? srcLo : high ? srcLo : srcHi;   // MOVHLPS takes the source's high half
                if (!mem && !high) {
                    v = xmmHi(in.rm());
                } else if (!mem) {
                    v = xmmLo(in.rm());
                }
                if (high) {
                    setXmm(d, xmmLo(d), v);
                } else {
                    setXmm(d, v, xmmHi(d));
                }
                return Exec.NEXT;
            }
            case 0x13, 0x17: {
                if (!mem || prefix >= PREFIX_F3) {
                    throw c.ud();
                }
                store(in, 8, opcode == 0x17 ? xmmHi(d) : xmmLo(d), 0, false);
                return Exec.NEXT;
            }
            default: {   // 50: MOVMSKPS / MOVMSKPD
                if (mem || prefix >= PREFIX_F3) {
                    throw c.ud();
                }
                int r = in.rm();
                long lo = xmmLo(r), hi = xmmHi(r);
                long mask;
                if (prefix == PREFIX_66) {
                    mask = (lo >>> 63) | (hi >>> 63) << 1;
                } else {
                    mask = (lo >>> 31 & 1) | (lo >>> 63) << 1 | (hi >>> 31 & 1) << 2 | (hi >>> 63) << 3;
                }
                c.gpr[d] = mask;
                return Exec.NEXT;
            }
        }
    }

    private int movnti(Insn in, int prefix) {
        if (!in.isMem() || prefix != PREFIX_NONE) {
            throw c.ud();
        }
        int bytes = in.has(Insn.F_REX_W) ? 8 : 4;
        c.write(in.seg(), c.ea(in), bytes, c.gpr[in.reg()]);
        return Exec.NEXT;
    }

    // ---- shuffles of floats: UNPCKLPS/PD, UNPCKHPS/PD, SHUFPS/PD ----

    private int floatShuffle(Insn in, int opcode, int prefix) {
        if (prefix >= PREFIX_F3) {
            throw c.ud();
        }
        int d = in.reg();
        loadSource(in, 16, true);
        long aLo = xmmLo(d), aHi = xmmHi(d);
        boolean pd = prefix == PREFIX_66;
        long lo, hi;
        if (opcode == 0x14) {
            if (pd) {
                lo = aLo;
                hi = srcLo;
            } else {
                lo = (aLo & 0xFFFF_FFFFL) | srcLo << 32;
                hi = (aLo >>> 32) | (srcLo >>> 32) << 32;
            }
        } else if (opcode == 0x15) {
            if (pd) {
                lo = aHi;
                hi = srcHi;
            } else {
                lo = (aHi & 0xFFFF_FFFFL) | srcHi << 32;
                hi = (aHi >>> 32) | (srcHi >>> 32) << 32;
            }
        } else {
            int imm = (int) in.imm();
            if (pd) {
                lo = (imm & 1) == 0 ? aLo : aHi;
                hi = (imm & 2) == 0 ? srcLo : srcHi;
            } else {
                lo = dword(aLo, aHi, imm & 3) | dword(aLo, aHi, (imm >>> 2) & 3) << 32;
                hi = dword(srcLo, srcHi, (imm >>> 4) & 3) | dword(srcLo, srcHi, (imm >>> 6) & 3) << 32;
            }
        }
        setXmm(d, lo, hi);
        return Exec.NEXT;
    }

    static long dword(long lo, long hi, int k) {
        long v = k < 2 ? lo : hi;
        return (k & 1) == 0 ? v & 0xFFFF_FFFFL : v >>> 32;
    }

    // ---- floating-point arithmetic ----

    private void begin() {
        exceptions = 0;
        sf.flags = 0;
        sf.configureSse(f.mxcsr);
    }

    /** Single lane to extended (se/sig of sf), DE for a denormal unless DAZ. */
    private void unpackSingle(int v) {
        if (SoftFloat.isDenormalSingle(v) && (f.mxcsr & MXCSR_DAZ) == 0) {
            exceptions |= DE;
        }
        sf.fromSingle(v);
    }

    private void unpackDouble(long v) {
        if (SoftFloat.isDenormalDouble(v) && (f.mxcsr & MXCSR_DAZ) == 0) {
            exceptions |= DE;
        }
        sf.fromDouble(v);
    }

    /**
     * Commits the lane flags to MXCSR; an unmasked exception raises #XM (CR4.OSXMMEXCPT = 1) or #UD
     * and the destination stays unchanged (SDM 1 11.5.1).
     */
    private void commitExceptions() {
        int all = exceptions | sf.flags;
        f.mxcsr |= all & MXCSR_FLAGS;
        int unmasked = all & ~(f.mxcsr >>> MXCSR_MASK_SHIFT) & MXCSR_FLAGS;
        if (unmasked != 0) {
            if ((c.cr4 & CR4_OSXMMEXCPT) != 0) {
                throw c.fault(Events.XM, -1);
            }
            throw c.ud();
        }
    }

    /** One lane of a binary operation: kind = opcode 58 add, 59 mul, 5C sub, 5E div, 51 sqrt. */
    private long lane(int opcode, long a, long b, boolean isDouble) {
        int format = isDouble ? DOUBLE : SINGLE;
        int precision = SoftFloat.FORMAT_PRECISION[format];
        if (isDouble) {
            unpackDouble(a);
        } else {
            unpackSingle((int) a);
        }
        int aSe = sf.se;
        long aSig = sf.sig;
        if (isDouble) {
            unpackDouble(b);
        } else {
            unpackSingle((int) b);
        }
        int bSe = sf.se;
        long bSig = sf.sig;
        switch (opcode) {
            case 0x58 -> sf.add(aSe, aSig, bSe, bSig, false, format, precision);
            case 0x5C -> sf.add(aSe, aSig, bSe, bSig, true, format, precision);
            case 0x59 -> sf.multiply(aSe, aSig, bSe, bSig, format, precision);
            case 0x5E -> sf.divide(aSe, aSig, bSe, bSig, format, precision);
            case 0x51 -> sf.sqrt(bSe, bSig, format, precision);
            case 0x53 -> {   // RCP: 1 / b
                sf.fromLong(1);
                sf.divide(sf.se, sf.sig, bSe, bSig, format, precision);
                sf.flags &= ~(SoftFloat.PE | SoftFloat.UE | SoftFloat.OE | SoftFloat.ZE | IE);   // RCP raises no flag
            }
            case 0x52 -> {   // RSQRT: 1 / sqrt(b), via the extended root
                sf.sqrt(bSe, bSig, SoftFloat.EXTENDED, 64);
                int rSe = sf.se;
                long rSig = sf.sig;
                sf.fromLong(1);
                sf.divide(sf.se, sf.sig, rSe, rSig, format, precision);
                sf.flags = 0;
            }
            case 0x5D, 0x5F -> {
                return minMax(opcode == 0x5D, a, b, aSe, aSig, bSe, bSig);
            }
            default -> {
                return compareMask(a, b, aSe, aSig, bSe, bSig, isDouble);
            }
        }
        if (isDouble) {
            return sf.bits;
        }
        return sf.bits & 0xFFFF_FFFFL;
    }

    private int predicate;

    /** MINPS/MAXPS...: a NaN or two zeros return the second (source) operand; any NaN is invalid (SDM 2 MINPS). */
    private long minMax(boolean min, long a, long b, int aSe, long aSig, int bSe, long bSig) {
        int r = sf.compare(aSe, aSig, bSe, bSig, true);
        if (r == SoftFloat.UNORDERED) {
            return b;
        }
        boolean takeA = min ? r == SoftFloat.LESS : r == SoftFloat.GREATER;
        return takeA ? a : b;
    }

    /** CMPPS/CMPSS... predicates 0-7 (SDM 2 CMPPS Table 3-7): all ones or zero. */
    private long compareMask(long a, long b, int aSe, long aSig, int bSe, long bSig, boolean isDouble) {
        int p = predicate & 7;
        boolean signaling = p == 1 || p == 2 || p == 5 || p == 6;
        int r = sf.compare(aSe, aSig, bSe, bSig, signaling);
        boolean unordered = r == SoftFloat.UNORDERED;
        boolean v = switch (p) {
            case 0 -> r == SoftFloat.EQUAL;
            case 1 -> r == SoftFloat.LESS;
            case 2 -> r == SoftFloat.LESS || r == SoftFloat.EQUAL;
            case 3 -> unordered;
            case 4 -> r != SoftFloat.EQUAL;
            case 5 -> r != SoftFloat.LESS;
            case 6 -> !(r == SoftFloat.LESS || r == SoftFloat.EQUAL);
            default -> !unordered;
        };
        return v ? (isDouble ? -1L : 0xFFFF_FFFFL) : 0;
    }

    private int floatArithmetic(Insn in, int opcode, int prefix) {
        int d = in.reg();
        boolean scalar = prefix >= PREFIX_F3;
        boolean isDouble = prefix == PREFIX_66 || prefix == PREFIX_F2;
        if (opcode == 0xD0 || opcode == 0x7C || opcode == 0x7D) {
            return sse3Horizontal(in, opcode, prefix);
        }
        if ((opcode == 0x52 || opcode == 0x53) && isDouble) {
            throw c.ud();
        }
        if (opcode == 0xC2) {
            predicate = (int) in.imm();
            if ((predicate & 0xFF) > 7) {
                throw c.ud();   // legacy SSE encodes predicates 0-7 only (32 with VEX)
            }
        }
        loadSource(in, scalar ? (isDouble ? 8 : 4) : 16, !scalar);
        long aLo = xmmLo(d), aHi = xmmHi(d);
        if (HostFloat.defaultControl(f.mxcsr) && hostLanes(opcode, d, scalar, isDouble, aLo, aHi)) {
            return Exec.NEXT;
        }
        begin();
        long lo, hi;
        if (isDouble) {
            lo = lane(opcode, aLo, srcLo, true);
            hi = scalar ? aHi : lane(opcode, aHi, srcHi, true);
        } else {
            long l0 = lane(opcode, aLo & 0xFFFF_FFFFL, srcLo & 0xFFFF_FFFFL, false);
            if (scalar) {
                lo = (aLo & ~0xFFFF_FFFFL) | l0;
                hi = aHi;
            } else {
                long l1 = lane(opcode, aLo >>> 32, srcLo >>> 32, false);
                long l2 = lane(opcode, aHi & 0xFFFF_FFFFL, srcHi & 0xFFFF_FFFFL, false);
                long l3 = lane(opcode, aHi >>> 32, srcHi >>> 32, false);
                lo = l0 | l1 << 32;
                hi = l2 | l3 << 32;
            }
        }
        commitExceptions();
        setXmm(d, lo, hi);
        return Exec.NEXT;
    }

    // ---- the same lanes on the host's arithmetic (HostFloat), when that gives the same bits and flags ----

    /** Set by a lane HostFloat does not take: SoftFloat does the whole instruction. */
    private boolean hostMissed;
    /** Set by a lane whose result was rounded: PE. */
    private boolean hostInexact;
    /** Instructions done on the host's arithmetic (tests, profiling). */
    long hostInstructions;

    /**
     * ADD, SUB, MUL, DIV, SQRT, MIN, MAX and CMP, scalar or packed, on {@link HostFloat}; false,
     * with nothing changed, if a lane needs SoftFloat (the caller then does the instruction).
     */
    private boolean hostLanes(int opcode, int d, boolean scalar, boolean isDouble, long aLo, long aHi) {
        if (opcode == 0x52 || opcode == 0x53) {
            return false; // RCP and RSQRT: SoftFloat's own rules
        }
        hostMissed = false;
        // PE is sticky: once set, whether this result is exact changes nothing (QEMU's shortcut too)
        hostInexact = (f.mxcsr & SoftFloat.PE) != 0;
        long lo, hi;
        if (isDouble) {
            lo = hostDouble(opcode, aLo, srcLo);
            hi = scalar ? aHi : hostDouble(opcode, aHi, srcHi);
        } else {
            long l0 = hostSingle(opcode, (int) aLo, (int) srcLo);
            if (scalar) {
                lo = (aLo & ~0xFFFF_FFFFL) | l0;
                hi = aHi;
            } else {
                lo = l0 | hostSingle(opcode, (int) (aLo >>> 32), (int) (srcLo >>> 32)) << 32;
                long l2 = hostSingle(opcode, (int) aHi, (int) srcHi);
                hi = l2 | hostSingle(opcode, (int) (aHi >>> 32), (int) (srcHi >>> 32)) << 32;
            }
        }
        if (hostMissed) {
            return false;
        }
        if (hostInexact) {
            f.mxcsr |= SoftFloat.PE; // sticky (SDM 1 10.2.3.1)
        }
        setXmm(d, lo, hi);
        hostInstructions++;
        return true;
    }

    private long hostDouble(int op, long a, long b) {
        // SQRT reads the source alone
        if ((op != HostFloat.SQRT && !HostFloat.takesDouble(a)) || !HostFloat.takesDouble(b)) {
            hostMissed = true;
            return 0;
        }
        double x = Double.longBitsToDouble(a), y = Double.longBitsToDouble(b);
        switch (op) {
            case 0x5D -> {
                return x < y ? a : b; // MINSD: the source unless the destination is less (SDM 2 MINSD)
            }
            case 0x5F -> {
                return x > y ? a : b;
            }
            case 0xC2 -> {
                return comparePredicate(x, y) ? -1L : 0;
            }
            default -> {
                if (!HostFloat.defined(op, x, y)) {
                    hostMissed = true;
                    return 0;
                }
                double r = HostFloat.apply(op, x, y);
                if (!hostInexact) {
                    hostInexact = !HostFloat.exact(op, x, y, r);
                }
                return Double.doubleToRawLongBits(r);
            }
        }
    }

    private long hostSingle(int op, int a, int b) {
        if ((op != HostFloat.SQRT && !HostFloat.takesSingle(a)) || !HostFloat.takesSingle(b)) {
            hostMissed = true;
            return 0;
        }
        float x = Float.intBitsToFloat(a), y = Float.intBitsToFloat(b);
        switch (op) {
            case 0x5D -> {
                return (x < y ? a : b) & 0xFFFF_FFFFL;
            }
            case 0x5F -> {
                return (x > y ? a : b) & 0xFFFF_FFFFL;
            }
            case 0xC2 -> {
                return comparePredicate(x, y) ? 0xFFFF_FFFFL : 0;
            }
            default -> {
                if (!HostFloat.defined(op, x, y)) {
                    hostMissed = true;
                    return 0;
                }
                float r = HostFloat.apply(op, x, y);
                if (!hostInexact) {
                    hostInexact = !HostFloat.exact(op, x, y, r);
                }
                return Float.floatToRawIntBits(r) & 0xFFFF_FFFFL;
            }
        }
    }

    /** CMPPS/CMPSD predicates 0-7 for ordered operands (no NaN: no flag either way). */
    private boolean comparePredicate(double x, double y) {
        return switch (predicate & 7) {
            case 0 -> x == y;
            case 1 -> x < y;
            case 2 -> x <= y;
            case 3 -> false;
            case 4 -> x != y;
            case 5 -> !(x < y);
            case 6 -> !(x <= y);
            default -> true;
        };
    }

    /** ADDSUBPS/PD (D0), HADDPS/PD (7C), HSUBPS/PD (7D): SSE3. */
    private int sse3Horizontal(Insn in, int opcode, int prefix) {
        if (prefix != PREFIX_66 && prefix != PREFIX_F2) {
            throw c.ud();
        }
        boolean isDouble = prefix == PREFIX_66;
        int d = in.reg();
        loadSource(in, 16, true);
        begin();
        long aLo = xmmLo(d), aHi = xmmHi(d);
        long lo, hi;
        if (isDouble) {
            if (opcode == 0xD0) {
                lo = lane(0x5C, aLo, srcLo, true);
                hi = lane(0x58, aHi, srcHi, true);
            } else {
                int op = opcode == 0x7C ? 0x58 : 0x5C;
                lo = lane(op, aLo, aHi, true);
                hi = lane(op, srcLo, srcHi, true);
            }
        } else {
            long a0 = aLo & 0xFFFF_FFFFL, a1 = aLo >>> 32, a2 = aHi & 0xFFFF_FFFFL, a3 = aHi >>> 32;
            long b0 = srcLo & 0xFFFF_FFFFL, b1 = srcLo >>> 32, b2 = srcHi & 0xFFFF_FFFFL, b3 = srcHi >>> 32;
            if (opcode == 0xD0) {
                lo = lane(0x5C, a0, b0, false) | lane(0x58, a1, b1, false) << 32;
                hi = lane(0x5C, a2, b2, false) | lane(0x58, a3, b3, false) << 32;
            } else {
                int op = opcode == 0x7C ? 0x58 : 0x5C;
                lo = lane(op, a0, a1, false) | lane(op, a2, a3, false) << 32;
                hi = lane(op, b0, b1, false) | lane(op, b2, b3, false) << 32;
            }
        }
        commitExceptions();
        setXmm(d, lo, hi);
        return Exec.NEXT;
    }

    private int floatLogic(Insn in, int opcode, int prefix) {
        if (prefix >= PREFIX_F3) {
            throw c.ud();
        }
        int d = in.reg();
        loadSource(in, 16, true);
        long aLo = xmmLo(d), aHi = xmmHi(d);
        switch (opcode) {
            case 0x54 -> setXmm(d, aLo & srcLo, aHi & srcHi);
            case 0x55 -> setXmm(d, ~aLo & srcLo, ~aHi & srcHi);
            case 0x56 -> setXmm(d, aLo | srcLo, aHi | srcHi);
            default -> setXmm(d, aLo ^ srcLo, aHi ^ srcHi);
        }
        return Exec.NEXT;
    }

    // ---- COMISS/UCOMISS/COMISD/UCOMISD ----

    private int compareToEflags(Insn in, int opcode, int prefix) {
        if (prefix >= PREFIX_F3) {
            throw c.ud();
        }
        boolean isDouble = prefix == PREFIX_66;
        int d = in.reg();
        loadSource(in, isDouble ? 8 : 4, false);
        if (HostFloat.defaultControl(f.mxcsr) && (isDouble
                ? HostFloat.takesDouble(xmmLo(d)) && HostFloat.takesDouble(srcLo)
                : HostFloat.takesSingle((int) xmmLo(d)) && HostFloat.takesSingle((int) srcLo))) {
            // ordered, not denormal: no flag (SDM 2 COMISD/UCOMISD), only the comparison
            double x = isDouble ? Double.longBitsToDouble(xmmLo(d)) : Float.intBitsToFloat((int) xmmLo(d));
            double y = isDouble ? Double.longBitsToDouble(srcLo) : Float.intBitsToFloat((int) srcLo);
            long bits = x < y ? CF : x == y ? ZF : 0;
            c.setArithFlags((c.arithFlags() & ~(ZF | PF | CF | OF | SF | AF)) | bits);
            hostInstructions++;
            return Exec.NEXT;
        }
        begin();
        if (isDouble) {
            unpackDouble(xmmLo(d));
        } else {
            unpackSingle((int) xmmLo(d));
        }
        int aSe = sf.se;
        long aSig = sf.sig;
        if (isDouble) {
            unpackDouble(srcLo);
        } else {
            unpackSingle((int) srcLo);
        }
        int r = sf.compare(aSe, aSig, sf.se, sf.sig, opcode == 0x2F);
        commitExceptions();
        long bits = switch (r) {
            case SoftFloat.LESS -> CF;
            case SoftFloat.EQUAL -> ZF;
            case SoftFloat.GREATER -> 0;
            default -> ZF | PF | CF;
        };
        c.setArithFlags((c.arithFlags() & ~(ZF | PF | CF | OF | SF | AF)) | bits);
        return Exec.NEXT;
    }

    // ---- conversions ----

    private int convert(Insn in, int opcode, int prefix) {
        int d = in.reg();
        switch (opcode) {
            case 0x2A:
                return convertFromInteger(in, prefix, d);
            case 0x2C, 0x2D:
                return convertToInteger(in, prefix, d, opcode == 0x2C);
            case 0x5A:
                return convertFloatWidth(in, prefix, d);
            case 0x5B:
                return convertDwordsSingles(in, prefix, d);
            default:
                return convertDwordsDoubles(in, prefix, d);
        }
    }

    private long singleFromLong(long v) {
        sf.fromLong(v);
        sf.convert(sf.se, sf.sig, SINGLE, 24);
        return sf.bits & 0xFFFF_FFFFL;
    }

    private long doubleFromLong(long v) {
        sf.fromLong(v);
        sf.convert(sf.se, sf.sig, DOUBLE, 53);
        return sf.bits;
    }

    /** CVTPI2PS, CVTPI2PD (MMX source), CVTSI2SS, CVTSI2SD (GPR/memory source). */
    private int convertFromInteger(Insn in, int prefix, int d) {
        begin();
        if (prefix <= PREFIX_66) {
            long v;
            if (in.isMem()) {
                v = c.read(in.seg(), c.ea(in), 8);
                checkMmxTransitionIfRegister(false);
            } else {
                checkMmxTransitionIfRegister(true);
                v = c.x87.mmx(in.rm() & 7);
            }
            if (prefix == PREFIX_66) {
                setXmm(d, doubleFromLong((int) v), doubleFromLong((int) (v >>> 32)));
            } else {
                long lo = singleFromLong((int) v) | singleFromLong((int) (v >>> 32)) << 32;
                commitExceptions();
                setXmm(d, lo, xmmHi(d));
            }
            return Exec.NEXT;
        }
        boolean wide = in.has(Insn.F_REX_W);
        long v = in.isMem() ? c.read(in.seg(), c.ea(in), wide ? 8 : 4) : c.gpr[in.rm()];
        v = wide ? v : (int) v;
        if (prefix == PREFIX_F3) {
            long r = singleFromLong(v);
            commitExceptions();
            setXmm(d, (xmmLo(d) & ~0xFFFF_FFFFL) | r, xmmHi(d));
        } else {
            long r = doubleFromLong(v);
            commitExceptions();
            setXmm(d, r, xmmHi(d));
        }
        return Exec.NEXT;
    }

    /** CVTPI2PS with a register operand switches to MMX state; with memory it does not (SDM 2 CVTPI2PS). */
    private void checkMmxTransitionIfRegister(boolean register) {
        if (register) {
            c.x87.checkPending();
            c.x87.enterMmx();
        }
    }

    private long toInt(long lane, boolean isDouble, int bytes, boolean truncate) {
        if (isDouble) {
            sf.fromDouble(lane);
        } else {
            sf.fromSingle((int) lane);
        }
        long v = sf.toInteger(sf.se, sf.sig, bytes, truncate);
        sf.flags &= ~DE;   // the integer conversions raise only IE and PE (SDM 2 CVTSS2SI)
        return v;
    }

    /** CVT(T)PS2PI, CVT(T)PD2PI (MMX destination), CVT(T)SS2SI, CVT(T)SD2SI (GPR destination). */
    private int convertToInteger(Insn in, int prefix, int d, boolean truncate) {
        begin();
        if (prefix <= PREFIX_66) {
            boolean isDouble = prefix == PREFIX_66;
            loadSource(in, isDouble ? 16 : 8, isDouble);
            long v0 = toInt(srcLo, isDouble, 4, truncate);
            long v1 = toInt(isDouble ? srcHi : srcLo >>> 32, isDouble, 4, truncate);
            commitExceptions();
            c.x87.checkPending();
            c.x87.enterMmx();
            c.x87.setMmx(d & 7, (v0 & 0xFFFF_FFFFL) | v1 << 32);
            return Exec.NEXT;
        }
        boolean isDouble = prefix == PREFIX_F2;
        loadSource(in, isDouble ? 8 : 4, false);
        boolean wide = in.has(Insn.F_REX_W);
        long v = toInt(srcLo, isDouble, wide ? 8 : 4, truncate);
        commitExceptions();
        c.gpr[d] = wide ? v : v & 0xFFFF_FFFFL;
        return Exec.NEXT;
    }

    private long singleToDouble(long lane) {
        unpackSingle((int) lane);
        sf.convert(sf.se, sf.sig | (SoftFloat.classify(sf.se, sf.sig) == SoftFloat.SNAN ? 0 : 0), DOUBLE, 53);
        return sf.bits;
    }

    private long doubleToSingle(long lane) {
        unpackDouble(lane);
        sf.convert(sf.se, sf.sig, SINGLE, 24);
        return sf.bits & 0xFFFF_FFFFL;
    }

    /** CVTPS2PD, CVTPD2PS, CVTSS2SD, CVTSD2SS. */
    private int convertFloatWidth(Insn in, int prefix, int d) {
        begin();
        long lo, hi;
        switch (prefix) {
            case PREFIX_NONE -> {
                loadSource(in, 8, false);
                lo = singleToDouble(srcLo & 0xFFFF_FFFFL);
                hi = singleToDouble(srcLo >>> 32);
            }
            case PREFIX_66 -> {
                loadSource(in, 16, true);
                lo = doubleToSingle(srcLo) | doubleToSingle(srcHi) << 32;
                hi = 0;
            }
            case PREFIX_F3 -> {
                loadSource(in, 4, false);
                lo = singleToDouble(srcLo & 0xFFFF_FFFFL);
                hi = xmmHi(d);
            }
            default -> {
                loadSource(in, 8, false);
                lo = (xmmLo(d) & ~0xFFFF_FFFFL) | doubleToSingle(srcLo);
                hi = xmmHi(d);
            }
        }
        commitExceptions();
        setXmm(d, lo, hi);
        return Exec.NEXT;
    }

    /** CVTDQ2PS (none), CVTPS2DQ (66), CVTTPS2DQ (F3). */
    private int convertDwordsSingles(Insn in, int prefix, int d) {
        if (prefix == PREFIX_F2) {
            throw c.ud();
        }
        loadSource(in, 16, true);
        begin();
        long lo = 0, hi = 0;
        for (int k = 0; k < 4; k++) {
            long lane = dword(srcLo, srcHi, k);
            long r;
            if (prefix == PREFIX_NONE) {
                r = singleFromLong((int) lane);
            } else {
                if (SoftFloat.isDenormalSingle((int) lane) && (f.mxcsr & MXCSR_DAZ) != 0) {
                    lane &= 0x8000_0000L;
                }
                r = toInt(lane, false, 4, prefix == PREFIX_F3) & 0xFFFF_FFFFL;
            }
            if (k < 2) {
                lo |= r << (32 * k);
            } else {
                hi |= r << (32 * (k - 2));
            }
        }
        commitExceptions();
        setXmm(d, lo, hi);
        return Exec.NEXT;
    }

    /** E6: CVTTPD2DQ (66), CVTDQ2PD (F3), CVTPD2DQ (F2). */
    private int convertDwordsDoubles(Insn in, int prefix, int d) {
        if (prefix == PREFIX_NONE) {
            throw c.ud();
        }
        begin();
        long lo, hi;
        if (prefix == PREFIX_F3) {
            loadSource(in, 8, false);
            lo = doubleFromLong((int) srcLo);
            hi = doubleFromLong((int) (srcLo >>> 32));
        } else {
            loadSource(in, 16, true);
            boolean truncate = prefix == PREFIX_66;
            lo = (toInt(srcLo, true, 4, truncate) & 0xFFFF_FFFFL) | toInt(srcHi, true, 4, truncate) << 32;
            hi = 0;
        }
        commitExceptions();
        setXmm(d, lo, hi);
        return Exec.NEXT;
    }

    // ---- SSE2 integer forms on XMM (66 prefix) and the F2/F3 moves of the integer map ----

    private int integer(Insn in, int opcode, int prefix) {
        int d = in.reg();
        switch (opcode) {
            case 0x6E: {   // MOVD/MOVQ xmm, r/m
                if (prefix != PREFIX_66) {
                    throw c.ud();
                }
                boolean wide = in.has(Insn.F_REX_W);
                long v = in.isMem() ? c.read(in.seg(), c.ea(in), wide ? 8 : 4) : c.gpr[in.rm()];
                setXmm(d, wide ? v : v & 0xFFFF_FFFFL, 0);
                return Exec.NEXT;
            }
            case 0x7E: {
                if (prefix == PREFIX_F3) {   // MOVQ xmm, xmm/m64
                    loadSource(in, 8, false);
                    setXmm(d, srcLo, 0);
                    return Exec.NEXT;
                }
                if (prefix != PREFIX_66) {
                    throw c.ud();
                }
                boolean wide = in.has(Insn.F_REX_W);
                long v = wide ? xmmLo(d) : xmmLo(d) & 0xFFFF_FFFFL;
                if (in.isMem()) {
                    c.write(in.seg(), c.ea(in), wide ? 8 : 4, v);
                } else {
                    c.gpr[in.rm()] = v;
                }
                return Exec.NEXT;
            }
            case 0x6F: {
                if (prefix == PREFIX_F2) {
                    throw c.ud();
                }
                loadSource(in, 16, prefix == PREFIX_66);   // MOVDQA (66) / MOVDQU (F3)
                setXmm(d, srcLo, srcHi);
                return Exec.NEXT;
            }
            case 0x7F: {
                if (prefix == PREFIX_F2) {
                    throw c.ud();
                }
                if (in.isMem()) {
                    store(in, 16, xmmLo(d), xmmHi(d), prefix == PREFIX_66);
                } else {
                    setXmm(in.rm(), xmmLo(d), xmmHi(d));
                }
                return Exec.NEXT;
            }
            case 0xD6: {
                if (prefix == PREFIX_66) {   // MOVQ xmm/m64, xmm
                    if (in.isMem()) {
                        store(in, 8, xmmLo(d), 0, false);
                    } else {
                        setXmm(in.rm(), xmmLo(d), 0);
                    }
                    return Exec.NEXT;
                }
                if (in.isMem()) {
                    throw c.ud();
                }
                c.x87.checkPending();
                c.x87.enterMmx();
                if (prefix == PREFIX_F3) {   // MOVQ2DQ xmm, mm
                    setXmm(d, c.x87.mmx(in.rm() & 7), 0);
                } else {   // MOVDQ2Q mm, xmm
                    c.x87.setMmx(d & 7, xmmLo(in.rm()));
                }
                return Exec.NEXT;
            }
            case 0xE7: {   // MOVNTDQ
                if (prefix != PREFIX_66 || !in.isMem()) {
                    throw c.ud();
                }
                store(in, 16, xmmLo(d), xmmHi(d), true);
                return Exec.NEXT;
            }
            case 0xF0: {   // LDDQU (SSE3)
                if (prefix != PREFIX_F2 || !in.isMem()) {
                    throw c.ud();
                }
                loadSource(in, 16, false);
                setXmm(d, srcLo, srcHi);
                return Exec.NEXT;
            }
            case 0xF7: {   // MASKMOVDQU
                if (prefix != PREFIX_66 || in.isMem()) {
                    throw c.ud();
                }
                maskedStore(in, xmmLo(d), xmmLo(in.rm()), 0);
                maskedStore(in, xmmHi(d), xmmHi(in.rm()), 8);
                return Exec.NEXT;
            }
            case 0x70: {   // PSHUFD (66), PSHUFHW (F3), PSHUFLW (F2)
                if (prefix == PREFIX_NONE) {
                    throw c.ud();
                }
                loadSource(in, 16, true);
                pshuf((int) in.imm(), prefix);
                setXmm(d, shuffled[0], shuffled[1]);
                return Exec.NEXT;
            }
            default:
                break;
        }
        if (prefix != PREFIX_66) {
            throw c.ud();
        }
        if (opcode == 0xC5) {   // PEXTRW r32, xmm, imm8
            if (in.isMem()) {
                throw c.ud();
            }
            int k = (int) in.imm() & 7;
            long v = k < 4 ? xmmLo(in.rm()) : xmmHi(in.rm());
            c.gpr[d] = (v >>> (16 * (k & 3))) & 0xFFFF;
            return Exec.NEXT;
        }
        if (opcode == 0xC4) {   // PINSRW xmm, r32/m16, imm8
            long w = in.isMem() ? c.read(in.seg(), c.ea(in), 2) : c.gpr[in.rm()] & 0xFFFF;
            int k = (int) in.imm() & 7;
            int shift = 16 * (k & 3);
            long lo = xmmLo(d), hi = xmmHi(d);
            if (k < 4) {
                lo = (lo & ~(0xFFFFL << shift)) | w << shift;
            } else {
                hi = (hi & ~(0xFFFFL << shift)) | w << shift;
            }
            setXmm(d, lo, hi);
            return Exec.NEXT;
        }
        if (opcode == 0xD7) {   // PMOVMSKB
            if (in.isMem()) {
                throw c.ud();
            }
            c.gpr[d] = Packed.byteSigns(xmmLo(in.rm())) | Packed.byteSigns(xmmHi(in.rm())) << 8;
            return Exec.NEXT;
        }
        if (opcode >= 0x71 && opcode <= 0x73) {
            if (in.isMem()) {
                throw c.ud();
            }
            int r = in.rm();
            int kind = (in.modrm() >>> 3) & 7;
            int count = (int) in.imm() & 0xFF;
            if (opcode == 0x73 && (kind == 3 || kind == 7)) {
                byteShift(r, count, kind == 7);
                return Exec.NEXT;
            }
            int width = opcode == 0x71 ? 16 : opcode == 0x72 ? 32 : 64;
            if (!Packed.validShift(kind, width)) {
                throw c.ud();
            }
            setXmm(r, Packed.shift(kind, width, xmmLo(r), count), Packed.shift(kind, width, xmmHi(r), count));
            return Exec.NEXT;
        }
        if (opcode == 0x77 || opcode == 0x78) {
            throw c.ud();
        }
        loadSource(in, 16, true);
        long aLo = xmmLo(d), aHi = xmmHi(d);
        long lo, hi;
        switch (opcode) {
            case 0x60, 0x61, 0x62, 0x6C -> {
                int width = opcode == 0x6C ? 64 : 8 << (opcode - 0x60);
                lo = Packed.interleave(aLo, srcLo, width, 0);
                hi = Packed.interleave(aLo, srcLo, width, 32);
            }
            case 0x68, 0x69, 0x6A, 0x6D -> {
                int width = opcode == 0x6D ? 64 : 8 << (opcode - 0x68);
                lo = Packed.interleave(aHi, srcHi, width, 0);
                hi = Packed.interleave(aHi, srcHi, width, 32);
            }
            case 0x63, 0x67, 0x6B -> {
                lo = Packed.pack(opcode, aLo, aHi);
                hi = Packed.pack(opcode, srcLo, srcHi);
            }
            case 0xD1, 0xD2, 0xD3, 0xE1, 0xE2, 0xF1, 0xF2, 0xF3 -> {
                int kind = opcode >= 0xF1 ? 6 : opcode >= 0xE1 ? 4 : 2;
                int width = 16 << ((opcode & 0xF) - 1);
                long count = Long.compareUnsigned(srcLo, 64) >= 0 ? 64 : srcLo;
                lo = Packed.shift(kind, width, aLo, (int) count);
                hi = Packed.shift(kind, width, aHi, (int) count);
            }
            case 0xF6 -> {   // PSADBW
                lo = Packed.sumAbsoluteDifferences(aLo, srcLo);
                hi = Packed.sumAbsoluteDifferences(aHi, srcHi);
            }
            case 0xF5 -> {
                lo = Packed.multiplyAdd(aLo, srcLo);
                hi = Packed.multiplyAdd(aHi, srcHi);
            }
            case 0xF4 -> {   // PMULUDQ
                lo = (aLo & 0xFFFF_FFFFL) * (srcLo & 0xFFFF_FFFFL);
                hi = (aHi & 0xFFFF_FFFFL) * (srcHi & 0xFFFF_FFFFL);
            }
            default -> {
                if (!Packed.isElementwise(opcode)) {
                    throw c.ud();
                }
                lo = Packed.elementwise(opcode, aLo, srcLo);
                hi = Packed.elementwise(opcode, aHi, srcHi);
            }
        }
        setXmm(d, lo, hi);
        return Exec.NEXT;
    }

    private final long[] shuffled = new long[2];

    /** PSHUFD (66), PSHUFHW (F3), PSHUFLW (F2) of the source with imm8 into {@link #shuffled}. */
    private void pshuf(int imm, int prefix) {
        long lo = srcLo, hi = srcHi;
        switch (prefix) {
            case PREFIX_66 -> {
                shuffled[0] = dword(lo, hi, imm & 3) | dword(lo, hi, (imm >>> 2) & 3) << 32;
                shuffled[1] = dword(lo, hi, (imm >>> 4) & 3) | dword(lo, hi, (imm >>> 6) & 3) << 32;
            }
            case PREFIX_F3 -> {
                shuffled[0] = lo;
                shuffled[1] = Packed.shuffleWords(hi, imm);
            }
            default -> {
                shuffled[0] = Packed.shuffleWords(lo, imm);
                shuffled[1] = hi;
            }
        }
    }

    private void byteShift(int r, int count, boolean left) {
        long lo = xmmLo(r), hi = xmmHi(r);
        if (count > 15) {
            setXmm(r, 0, 0);
            return;
        }
        int bits = count * 8;
        if (bits == 0) {
            return;
        }
        if (left) {
            if (bits >= 64) {
                setXmm(r, 0, lo << (bits - 64));
            } else {
                setXmm(r, lo << bits, hi << bits | lo >>> (64 - bits));
            }
        } else if (bits >= 64) {
            setXmm(r, hi >>> (bits - 64), 0);
        } else {
            setXmm(r, lo >>> bits | hi << (64 - bits), hi >>> bits);
        }
    }

    /** MASKMOVQ/MASKMOVDQU: bytes whose mask byte has bit 7 set go to DS:rDI (SDM 2 MASKMOVDQU). */
    void maskedStore(Insn in, long data, long mask, int offset) {
        long addrMask = in.addrMask();
        int seg = in.has(Insn.F_SEG_OVERRIDE) ? in.seg() : X86Core.DS;
        long base = c.gpr[X86Core.EDI] + offset;
        for (int k = 0; k < 8; k++) {
            if (((mask >>> (8 * k + 7)) & 1) != 0) {
                c.write(seg, (base + k) & addrMask, 1, data >>> (8 * k));
            }
        }
    }

    // ---- 0F AE /0-/3: FXSAVE, FXRSTOR, LDMXCSR, STMXCSR ----

    private int stateInstruction(Insn in) {
        int kind = (in.modrm() >>> 3) & 7;
        switch (kind) {
            case 2, 3: {   // LDMXCSR, STMXCSR: SSE checks (SDM 2 LDMXCSR)
                checkSse();
                long off = c.ea(in);
                if (kind == 3) {
                    c.write(in.seg(), off, 4, f.mxcsr);
                    return Exec.NEXT;
                }
                long v = c.read(in.seg(), off, 4);
                if ((v & ~FpuState.MXCSR_MASK) != 0) {
                    throw c.gp(0);   // reserved bits
                }
                f.mxcsr = (int) v;
                return Exec.NEXT;
            }
            default: {   // FXSAVE, FXRSTOR: #NM on EM or TS (SDM 2 FXSAVE)
                if ((c.cr0 & (CR0_EM | CR0_TS)) != 0) {
                    throw c.fault(Events.NM, -1);
                }
                long off = c.ea(in);
                int seg = in.seg();
                checkAligned(seg, off);
                if (kind == 0) {
                    fxsave(in, seg, off);
                } else {
                    fxrstor(in, seg, off);
                }
                return Exec.NEXT;
            }
        }
    }

    private void fxsave(Insn in, int seg, long off) {
        long mask = in.addrMask();
        c.mmu.checkWritableSlow(seg, off, FX_SIZE);
        boolean rexW = in.has(Insn.F_REX_W);
        FpuState s = f;
        c.write(seg, off + Xsave.FCW & mask, 2, s.fcw);
        c.write(seg, off + Xsave.FSW & mask, 2, s.fsw);
        c.write(seg, off + Xsave.FTW & mask, 2, s.abridgedTags());
        c.write(seg, off + Xsave.FOP & mask, 2, s.fop & Xsave.FOP_MASK);
        if (rexW) {   // FXSAVE64: 64-bit FIP and FDP (SDM 2 FXSAVE Table 3-56)
            c.write(seg, off + Xsave.FIP & mask, 8, s.fip);
            c.write(seg, off + Xsave.FDP & mask, 8, s.fdp);
        } else {
            c.write(seg, off + Xsave.FIP & mask, 4, s.fip);
            c.write(seg, off + Xsave.FCS & mask, 4, s.fcs & 0xFFFF);
            c.write(seg, off + Xsave.FDP & mask, 4, s.fdp);
            c.write(seg, off + Xsave.FDS & mask, 4, s.fds & 0xFFFF);
        }
        c.write(seg, off + FX_MXCSR & mask, 4, s.mxcsr);
        c.write(seg, off + FX_MXCSR_MASK & mask, 4, FpuState.MXCSR_MASK);
        for (int i = 0; i < FpuState.REGISTERS; i++) {
            int r = (c.x87.top() + i) & 7;
            long at = off + Xsave.ST0 + (long) i * Xsave.ST_STRIDE;
            c.write(seg, at & mask, 8, s.significand(r));
            c.write(seg, at + 8 & mask, 8, s.signExponent(r));   // bytes 15:10 reserved, written 0
        }
        int count = xmmCount();
        for (int r = 0; r < count; r++) {
            long at = off + FX_XMM + 16L * r;
            c.write(seg, at & mask, 8, xmmLo(r));
            c.write(seg, at + 8 & mask, 8, xmmHi(r));
        }
    }

    /** XMM0-7, or XMM0-15 in 64-bit mode (SDM 2 FXSAVE). */
    private int xmmCount() {
        return c.mode64 ? 16 : 8;
    }

    private final long[] fxStaged = new long[2 * 16 + 2 * FpuState.REGISTERS];

    private void fxrstor(Insn in, int seg, long off) {
        long mask = in.addrMask();
        boolean rexW = in.has(Insn.F_REX_W);
        long mxcsr = c.read(seg, off + FX_MXCSR & mask, 4);
        if ((mxcsr & ~FpuState.MXCSR_MASK) != 0) {
            throw c.gp(0);   // SDM 2 FXRSTOR: reserved MXCSR bits
        }
        int fcw = (int) c.read(seg, off + Xsave.FCW & mask, 2);
        int fsw = (int) c.read(seg, off + Xsave.FSW & mask, 2);
        int abridged = (int) c.read(seg, off + Xsave.FTW & mask, 1);
        int fop = (int) c.read(seg, off + Xsave.FOP & mask, 2) & Xsave.FOP_MASK;
        long fip, fdp;
        int fcs, fds;
        if (rexW) {
            fip = c.read(seg, off + Xsave.FIP & mask, 8);
            fdp = c.read(seg, off + Xsave.FDP & mask, 8);
            fcs = 0;
            fds = 0;
        } else {
            fip = c.read(seg, off + Xsave.FIP & mask, 4);
            fcs = (int) c.read(seg, off + Xsave.FCS & mask, 2);
            fdp = c.read(seg, off + Xsave.FDP & mask, 4);
            fds = (int) c.read(seg, off + Xsave.FDS & mask, 2);
        }
        for (int i = 0; i < FpuState.REGISTERS; i++) {
            long at = off + Xsave.ST0 + (long) i * Xsave.ST_STRIDE;
            fxStaged[2 * i] = c.read(seg, at & mask, 8);
            fxStaged[2 * i + 1] = c.read(seg, at + 8 & mask, 2);
        }
        int count = xmmCount();
        int base = 2 * FpuState.REGISTERS;
        for (int r = 0; r < count; r++) {
            long at = off + FX_XMM + 16L * r;
            fxStaged[base + 2 * r] = c.read(seg, at & mask, 8);
            fxStaged[base + 2 * r + 1] = c.read(seg, at + 8 & mask, 8);
        }
        FpuState s = f;
        s.fcw = fcw;
        s.fsw = fsw;
        s.fop = fop;
        s.fip = fip;
        s.fcs = fcs;
        s.fdp = fdp;
        s.fds = fds;
        int top = (fsw >>> FpuState.FSW_TOP_SHIFT) & FpuState.FSW_TOP_MASK;
        for (int i = 0; i < FpuState.REGISTERS; i++) {
            s.store((top + i) & 7, (int) fxStaged[2 * i + 1], fxStaged[2 * i]);
        }
        s.setAbridgedTags(abridged);
        s.mxcsr = (int) mxcsr;
        for (int r = 0; r < count; r++) {
            setXmm(r, fxStaged[base + 2 * r], fxStaged[base + 2 * r + 1]);
        }
    }
}
