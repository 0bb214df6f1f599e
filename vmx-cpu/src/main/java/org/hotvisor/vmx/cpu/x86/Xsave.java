package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.X86Core.CR0_TS;
import static org.hotvisor.vmx.cpu.x86.X86Core.EAX;
import static org.hotvisor.vmx.cpu.x86.X86Core.EDX;

/**
 * The XSAVE feature set (SDM 1 chapter 13) with state components 0 (x87), 1 (SSE: XMM registers
 * and MXCSR, SDM 1 13.5.2) and the supervisor component 10 (PASID state: the IA32_PASID MSR,
 * 8 bytes, SDM 1 13.5.x). The standard format is the 512-byte legacy region plus the 64-byte
 * header; in the compacted format component 10 follows the header at {@link #PASID_OFFSET}
 * (components 2-9 are not supported and take no room; alignment bit 0). XSAVE, XSAVEOPT,
 * XSAVEC, XSAVES, XRSTOR and XRSTORS are implemented; XSAVEOPT and XSAVES use no modified
 * optimization (saving is always allowed, SDM 1 13.6). CPUID leaf 0xD (the cpuid exit-handler
 * bundle) reports {@link #SUPPORTED_XCR0}, {@link #SUPPORTED_XSS} and the sizes.
 *
 * <p>Checks done by the caller ({@link SystemOps}) before this class runs: #UD for CR4.OSXSAVE = 0,
 * and for XSAVES/XRSTORS the "enable XSAVES/XRSTORS" control, the CPL and the XSS-exiting bitmap.
 */
final class Xsave {
    static final long X87 = 1, SSE = 1 << 1, PASID = 1 << 10;
    /** XCR0 bits this core supports: x87 and SSE (SDM 1 13.3; bit 0 must always be 1). */
    static final long SUPPORTED_XCR0 = X87 | SSE;
    /** IA32_XSS bits this core supports: PASID state (SDM 1 13.3). */
    static final long SUPPORTED_XSS = PASID;
    /** IA32_PASID (MSR D93H): bits 19:0 the PASID, bit 31 valid, the rest reserved. */
    static final int MSR_PASID = 0xD93;
    static final long PASID_WRITABLE = 0x800F_FFFFL;
    /** Component 10's offset in the compacted format (right after the header) and its size. */
    static final int PASID_OFFSET = 576, PASID_SIZE = 8;
    /** Compacted size with XCR0 | IA32_XSS = x87 | SSE | PASID. */
    static final int COMPACTED_SIZE_WITH_PASID = PASID_OFFSET + PASID_SIZE;
    /** Legacy region (512) plus header (64): the area size for every supported configuration. */
    static final int LEGACY_SIZE = 512, HEADER_SIZE = 64, AREA_SIZE = LEGACY_SIZE + HEADER_SIZE;
    /** The area must be 64-byte aligned (SDM 1 13.4), checked on the linear address. */
    static final int ALIGNMENT = 64;

    /** XCOMP_BV bit 63: the compacted format (SDM 1 13.4.2). */
    static final long COMPACTED = 1L << 63;

    // legacy region offsets of the x87 state (SDM 1 13.5.1, Table 13-1)
    static final int FCW = 0, FSW = 2, FTW = 4, FOP = 6, FIP = 8, FCS = 12, FDP = 16, FDS = 20, ST0 = 32,
            ST_STRIDE = 16;
    static final int FOP_MASK = 0x7FF;
    // SSE state in the legacy region (SDM 1 13.5.2)
    static final int MXCSR = 24, MXCSR_MASK = 28, XMM0 = 160, XMM_STRIDE = 16;
    // header offsets (SDM 1 13.4.2)
    static final int XSTATE_BV = LEGACY_SIZE, XCOMP_BV = LEGACY_SIZE + 8, HEADER_RESERVED = LEGACY_SIZE + 16;
    /** Bytes of the x87 part of the legacy region that a save writes (bytes 159:0). */
    static final int X87_BYTES = ST0 + FpuState.REGISTERS * ST_STRIDE;

    private final X86Core c;
    /** R0-R7 staged by XRSTOR until every check passed: significands and signs/exponents. */
    private final long[] stagedSignificands = new long[FpuState.REGISTERS];
    private final int[] stagedSignExponents = new int[FpuState.REGISTERS];
    private final long[] stagedXmm = new long[2 * FpuState.XMM_REGISTERS];
    /** IA32_PASID, the content of state component 10. */
    long pasid;

    Xsave(X86Core c) {
        this.c = c;
    }

    /** EDX:EAX, the instruction mask. */
    private long instructionMask() {
        return (c.gpr[EDX] & 0xFFFF_FFFFL) << 32 | (c.gpr[EAX] & 0xFFFF_FFFFL);
    }

    /** XINUSE (SDM 1 13.6): the components not in their initial configuration. */
    long inUse() {
        FpuState f = c.fpu;
        long inUse = f.isInitial() ? 0 : X87;
        if (!f.isSseInitial() || f.mxcsr != FpuState.MXCSR_INIT) {
            inUse |= SSE;
        }
        if (pasid != 0) {
            inUse |= PASID;
        }
        return inUse;
    }

    /** XSAVE, XSAVEOPT, XSAVEC and XSAVES (SDM 1 13.7, 13.9-13.11). */
    int save(Insn in) {
        int op = in.op();
        long supervisor = op == Op.XSAVES ? c.sys.xss : 0;
        long rfbm = instructionMask() & (c.xcr0 | supervisor);
        long off = areaOffset(in);
        long inUse = inUse();
        boolean compacted = op == Op.XSAVEC || op == Op.XSAVES;
        // SDM 1 13.7: the standard form saves every RFBM component; 13.10/13.11: XSAVEC and XSAVES
        // skip components in their initial configuration
        long saved = compacted ? rfbm & inUse : rfbm;
        long mask = in.addrMask();
        int seg = in.seg();
        // every fault before the first store: the header, then the components
        long xstateBv;
        if (compacted) {
            c.mmu.checkWritableSlow(seg, (off + XSTATE_BV) & mask, 16);
            xstateBv = rfbm & inUse;   // RFBM[i] = 0: XSTATE_BV[i] written as 0
        } else {
            c.mmu.checkWritableSlow(seg, (off + XSTATE_BV) & mask, 8);
            long old = c.read(seg, (off + XSTATE_BV) & mask, 8);
            xstateBv = (old & ~rfbm) | (rfbm & inUse);   // RFBM[i] = 0: XSTATE_BV[i] unchanged
        }
        if ((saved & X87) != 0) {
            c.mmu.checkWritableSlow(seg, off, X87_BYTES);
        }
        if ((rfbm & SSE) != 0) {
            c.mmu.checkWritableSlow(seg, (off + MXCSR) & mask, 8);
        }
        if ((saved & SSE) != 0) {
            c.mmu.checkWritableSlow(seg, (off + XMM0) & mask, 8 * XMM_STRIDE);
        }
        if ((saved & PASID) != 0) {
            c.mmu.checkWritableSlow(seg, (off + PASID_OFFSET) & mask, PASID_SIZE);
        }
        if ((saved & X87) != 0) {
            writeX87(seg, off, mask);
        }
        if ((rfbm & SSE) != 0 && (!compacted || (saved & SSE) != 0)) {
            // MXCSR and MXCSR_MASK go with SSE state (SDM 1 13.7: RFBM[1] or RFBM[2])
            c.write(seg, (off + MXCSR) & mask, 4, c.fpu.mxcsr);
            c.write(seg, (off + MXCSR_MASK) & mask, 4, FpuState.MXCSR_MASK);
        }
        if ((saved & SSE) != 0) {
            for (int r = 0; r < 8; r++) {
                long at = off + XMM0 + (long) r * XMM_STRIDE;
                c.write(seg, at & mask, 8, c.fpu.xmm[2 * r]);
                c.write(seg, (at + 8) & mask, 8, c.fpu.xmm[2 * r + 1]);
            }
        }
        if ((saved & PASID) != 0) {
            c.write(seg, (off + PASID_OFFSET) & mask, 8, pasid);
        }
        c.write(seg, (off + XSTATE_BV) & mask, 8, xstateBv);
        if (compacted) {
            c.write(seg, (off + XCOMP_BV) & mask, 8, COMPACTED | rfbm);   // the other header bytes are not written
        }
        return Exec.NEXT;
    }

    /** XRSTOR and XRSTORS (SDM 1 13.8, 13.12): every check and read before any state changes. */
    int restore(Insn in) {
        boolean supervisorForm = in.op() == Op.XRSTORS;
        long enabled = c.xcr0 | (supervisorForm ? c.sys.xss : 0);
        long rfbm = instructionMask() & enabled;
        long off = areaOffset(in);
        long mask = in.addrMask();
        int seg = in.seg();
        long xstateBv = c.read(seg, (off + XSTATE_BV) & mask, 8);
        long xcompBv = c.read(seg, (off + XCOMP_BV) & mask, 8);
        boolean compacted = (xcompBv & COMPACTED) != 0;
        if (supervisorForm && !compacted) {
            throw c.gp(0);   // XRSTORS has only the compacted form
        }
        if (compacted) {
            long components = xcompBv & ~COMPACTED;
            if ((components & ~enabled) != 0 || (xstateBv & ~components) != 0
                    || !headerZero(seg, off, HEADER_RESERVED, mask)) {
                throw c.gp(0);
            }
        } else if ((xstateBv & ~c.xcr0) != 0 || xcompBv != 0
                || c.read(seg, (off + XCOMP_BV + 8) & mask, 8) != 0) {
            throw c.gp(0);   // standard form: bytes 23:8 of the header must be 0
        }
        // reads and checks of every component first
        boolean loadX87 = (rfbm & X87) != 0 && (xstateBv & X87) != 0;
        boolean loadSse = (rfbm & SSE) != 0 && (xstateBv & SSE) != 0;
        boolean loadPasid = (rfbm & PASID) != 0 && (xstateBv & PASID) != 0;
        // MXCSR: standard form whenever RFBM[1] (SDM 1 13.8.1); compacted form with the SSE data
        boolean loadMxcsr = (rfbm & SSE) != 0 && (!compacted || loadSse);
        long mxcsr = FpuState.MXCSR_INIT;
        if (loadMxcsr) {
            mxcsr = c.read(seg, (off + MXCSR) & mask, 4);
            if ((mxcsr & ~FpuState.MXCSR_MASK) != 0) {
                throw c.gp(0);   // reserved MXCSR bits (SDM 2 XRSTOR)
            }
        }
        if (loadSse) {
            for (int r = 0; r < 8; r++) {
                long at = off + XMM0 + (long) r * XMM_STRIDE;
                stagedXmm[2 * r] = c.read(seg, at & mask, 8);
                stagedXmm[2 * r + 1] = c.read(seg, (at + 8) & mask, 8);
            }
        }
        long newPasid = 0;
        if (loadPasid) {
            newPasid = c.read(seg, (off + PASID_OFFSET) & mask, 8);
            if ((newPasid & ~PASID_WRITABLE) != 0) {
                throw c.gp(0);   // the value would be a #GP for WRMSR to IA32_PASID
            }
        }
        int fcw = 0, fsw = 0, abridged = 0, fop = 0, fcs = 0, fds = 0;
        long fip = 0, fdp = 0;
        if (loadX87) {
            fcw = (int) c.read(seg, (off + FCW) & mask, 2);
            fsw = (int) c.read(seg, (off + FSW) & mask, 2);
            abridged = (int) c.read(seg, (off + FTW) & mask, 1);
            fop = (int) c.read(seg, (off + FOP) & mask, 2) & FOP_MASK;
            fip = c.read(seg, (off + FIP) & mask, 4);
            fcs = (int) c.read(seg, (off + FCS) & mask, 2);
            fdp = c.read(seg, (off + FDP) & mask, 4);
            fds = (int) c.read(seg, (off + FDS) & mask, 2);
            int top = (fsw >>> FpuState.FSW_TOP_SHIFT) & FpuState.FSW_TOP_MASK;
            for (int i = 0; i < FpuState.REGISTERS; i++) {
                long st = off + ST0 + (long) i * ST_STRIDE;
                int r = (top + i) & 7;
                stagedSignificands[r] = c.read(seg, st & mask, 8);
                stagedSignExponents[r] = (int) c.read(seg, (st + 8) & mask, 2);
            }
        }
        // commit
        FpuState f = c.fpu;
        if ((rfbm & X87) != 0) {
            if (loadX87) {
                f.fcw = fcw;
                f.fsw = fsw;
                f.fop = fop;
                f.fip = fip;
                f.fcs = fcs;
                f.fdp = fdp;
                f.fds = fds;
                for (int r = 0; r < FpuState.REGISTERS; r++) {
                    f.store(r, stagedSignExponents[r], stagedSignificands[r]);
                }
                f.setAbridgedTags(abridged);
            } else {
                f.initialize();
            }
        }
        if ((rfbm & SSE) != 0) {
            f.mxcsr = (int) mxcsr;
            if (loadSse) {
                System.arraycopy(stagedXmm, 0, f.xmm, 0, 16);
            } else {
                java.util.Arrays.fill(f.xmm, 0, 16, 0);   // XMM0-7 initialised (SDM 1 13.6)
            }
        }
        if ((rfbm & PASID) != 0) {
            pasid = newPasid;
        }
        return Exec.NEXT;
    }

    /** The effective address, after the #NM and 64-byte alignment checks common to the whole family. */
    private long areaOffset(Insn in) {
        if ((c.cr0 & CR0_TS) != 0) {
            throw c.fault(Events.NM, -1);   // SDM 2 XSAVE: #NM if CR0.TS = 1
        }
        long off = c.ea(in);
        long linear = (c.segBase[in.seg()] + off) & 0xFFFF_FFFFL;
        if ((linear & (ALIGNMENT - 1)) != 0) {
            throw c.gp(0);   // "not aligned on a 64-byte boundary, regardless of segment"
        }
        return off;
    }

    private boolean headerZero(int seg, long off, int from, long mask) {
        for (int at = from; at < AREA_SIZE; at += 8) {
            if (c.read(seg, (off + at) & mask, 8) != 0) {
                return false;
            }
        }
        return true;
    }

    private void writeX87(int seg, long off, long mask) {
        FpuState f = c.fpu;
        c.write(seg, (off + FCW) & mask, 2, f.fcw);
        c.write(seg, (off + FSW) & mask, 2, f.fsw);
        c.write(seg, (off + FTW) & mask, 2, f.abridgedTags());   // byte 5 is reserved: written 0
        c.write(seg, (off + FOP) & mask, 2, f.fop & FOP_MASK);
        c.write(seg, (off + FIP) & mask, 4, f.fip);
        c.write(seg, (off + FCS) & mask, 4, f.fcs & 0xFFFF);
        c.write(seg, (off + FDP) & mask, 4, f.fdp);
        c.write(seg, (off + FDS) & mask, 4, f.fds & 0xFFFF);
        int top = f.top();
        for (int i = 0; i < FpuState.REGISTERS; i++) {
            int r = (top + i) & 7;
            long st = off + ST0 + (long) i * ST_STRIDE;
            c.write(seg, st & mask, 8, f.significand(r));
            c.write(seg, (st + 8) & mask, 2, f.signExponent(r));
        }
    }
}
