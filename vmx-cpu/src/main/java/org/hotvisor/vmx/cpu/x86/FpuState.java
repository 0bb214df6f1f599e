package org.hotvisor.vmx.cpu.x86;

import java.util.Arrays;

/**
 * The x87 FPU register state (SDM 1 8.1): control, status and tag words, last instruction and
 * data pointers, last opcode and the eight 80-bit data registers R0-R7 (physical order; ST(i) is
 * R((TOP + i) mod 8), TOP = FSW bits 13:11), plus the SSE state (XMM0-15 and MXCSR, SDM 1 10.2)
 * that FXSAVE and XSAVE component 1 share. {@link Fpu} executes the x87 and MMX instructions on
 * it, {@link Sse} the SSE ones; FXSAVE/XSAVE save and restore it.
 */
public final class FpuState {
    /** FCW after FNINIT (SDM 1 8.1.5): all exceptions masked, 64-bit precision, round to nearest. */
    public static final int FCW_INIT = 0x037F;
    /** FTW after FNINIT: every register empty (tag 11b). */
    public static final int FTW_ALL_EMPTY = 0xFFFF;

    // two-bit tags of the full tag word (SDM 1 8.1.7)
    static final int TAG_VALID = 0, TAG_ZERO = 1, TAG_SPECIAL = 2, TAG_EMPTY = 3;

    public static final int REGISTERS = 8;
    /** Bytes of one data register: 64-bit significand then 16-bit sign and exponent. */
    public static final int REGISTER_BYTES = 10;
    static final int FSW_TOP_SHIFT = 11, FSW_TOP_MASK = 7;
    private static final int EXPONENT_MASK = 0x7FFF;
    private static final long INTEGER_BIT = 1L << 63;

    public int fcw = FCW_INIT, fsw, ftw = FTW_ALL_EMPTY, fop;
    /** FPU instruction and data pointers: 32-bit offsets and 16-bit selectors (protected-mode format). */
    public long fip, fdp;
    public int fcs, fds;
    /**
     * R0-R7: bits 63:0 (the significand) and 79:64 (sign and exponent) of each, in two plain arrays:
     * every x87 instruction reads and writes them, and a byte image's views cost a bounds and
     * alignment check per access.
     */
    private final long[] significands = new long[REGISTERS];
    private final int[] signExponents = new int[REGISTERS];

    /** MXCSR after reset (SDM 1 10.2.3): all SIMD exceptions masked, round to nearest. */
    public static final int MXCSR_INIT = 0x1F80;
    /** MXCSR bits this core implements, FXSAVE's MXCSR_MASK (SDM 1 11.6.6): 15:0 including DAZ. */
    public static final int MXCSR_MASK = 0xFFFF;
    public static final int XMM_REGISTERS = 16;
    public int mxcsr = MXCSR_INIT;
    /** XMM0-XMM15, two longs each: [2n] bits 63:0, [2n+1] bits 127:64. */
    public final long[] xmm = new long[XMM_REGISTERS * 2];

    /** Significand (bits 63:0) of physical register r. */
    long significand(int r) {
        return significands[r];
    }

    /** Sign and exponent (bits 79:64) of physical register r. */
    int signExponent(int r) {
        return signExponents[r];
    }

    /** Stores physical register r without touching its tag. */
    void store(int r, int signExponent, long significand) {
        significands[r] = significand;
        signExponents[r] = signExponent & 0xFFFF;
    }

    int tag(int r) {
        return (ftw >>> (2 * r)) & 3;
    }

    void setTag(int r, int tag) {
        ftw = (ftw & ~(3 << (2 * r))) | tag << (2 * r);
    }

    /** The tag word as FSTENV/FSAVE store it: each non-empty register classified by contents (SDM 1 8.1.7). */
    int fullTags() {
        int full = 0;
        for (int r = 0; r < REGISTERS; r++) {
            int tag = tag(r) == TAG_EMPTY ? TAG_EMPTY : classify(r);
            full |= tag << (2 * r);
        }
        return full;
    }

    /** FLDENV/FRSTOR: only empty versus non-empty is taken from the image; the rest is reclassified. */
    void loadTags(int image) {
        int abridged = 0;
        for (int r = 0; r < REGISTERS; r++) {
            if (((image >>> (2 * r)) & 3) != TAG_EMPTY) {
                abridged |= 1 << r;
            }
        }
        setAbridgedTags(abridged);
    }

    /** The SSE state's initial configuration (XSAVE component 1, SDM 1 13.6): zeroed XMM registers. */
    void initializeSse() {
        Arrays.fill(xmm, 0);
    }

    boolean isSseInitial() {
        for (long v : xmm) {
            if (v != 0) {
                return false;
            }
        }
        return true;
    }

    /** The FNINIT state; the data registers keep their contents (SDM 2 FINIT/FNINIT "Operation"). */
    public void fninit() {
        fcw = FCW_INIT;
        fsw = 0;
        ftw = FTW_ALL_EMPTY;
        fop = 0;
        fip = fdp = 0;
        fcs = fds = 0;
    }

    /** The initial configuration of XSAVE state component 0 (SDM 1 13.6): FNINIT plus zeroed registers. */
    public void initialize() {
        fninit();
        Arrays.fill(significands, 0);
        Arrays.fill(signExponents, 0);
    }

    /** True when in the initial configuration of SDM 1 13.6 (XINUSE[0] = 0). */
    boolean isInitial() {
        if (fcw != FCW_INIT || fsw != 0 || ftw != FTW_ALL_EMPTY || fop != 0 || fip != 0 || fdp != 0 || fcs != 0
                || fds != 0) {
            return false;
        }
        for (int r = 0; r < REGISTERS; r++) {
            if (significands[r] != 0 || signExponents[r] != 0) {
                return false;
            }
        }
        return true;
    }

    int top() {
        return (fsw >>> FSW_TOP_SHIFT) & FSW_TOP_MASK;
    }

    /** The abridged tag byte of FXSAVE/XSAVE (SDM 1 10.5.1): bit i set when Ri is not empty. */
    int abridgedTags() {
        int abridged = 0;
        for (int r = 0; r < REGISTERS; r++) {
            if (((ftw >>> (2 * r)) & 3) != TAG_EMPTY) {
                abridged |= 1 << r;
            }
        }
        return abridged;
    }

    /**
     * The full tag word from an abridged tag byte, classifying each non-empty register by its
     * contents as FXRSTOR/XRSTOR do (SDM 1 10.5.1, Table 10-2 / 8.1.7).
     */
    void setAbridgedTags(int abridged) {
        int full = 0;
        for (int r = 0; r < REGISTERS; r++) {
            int tag = (abridged & (1 << r)) == 0 ? TAG_EMPTY : classify(r);
            full |= tag << (2 * r);
        }
        ftw = full;
    }

    int classify(int r) {
        long significand = significands[r];
        int exponent = signExponents[r] & EXPONENT_MASK;
        if (exponent == EXPONENT_MASK) {
            return TAG_SPECIAL;   // infinity, NaN
        }
        if (exponent == 0) {
            return significand == 0 ? TAG_ZERO : TAG_SPECIAL;   // zero, denormal
        }
        return (significand & INTEGER_BIT) != 0 ? TAG_VALID : TAG_SPECIAL;   // unnormal is special
    }
}
