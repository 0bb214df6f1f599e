package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.Alu.*;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.concurrent.locks.LockSupport;

/**
 * An IA-32 processor core in VMX non-root operation: real mode, 16/32-bit protected mode and
 * virtual-8086 mode, 32-bit and PAE paging, and every VM-exit condition the VM-execution controls
 * select. The VMX layer loads guest state into the public fields, calls {@link #stateLoaded()},
 * optionally {@link #injectEvent}, then {@link #run()} until a VM exit described in {@link #exit}.
 *
 * <h2>How it runs fast</h2>
 * <ul>
 *   <li>Code is decoded once into {@link Block}s of immutable {@link Insn} records, keyed by
 *       guest-physical address and decode mode ({@link CodeCache}). Writes to a page holding decoded
 *       code go through the slow path, which drops that page's blocks (self-modifying code).</li>
 *   <li>Status flags are lazy: an instruction stores its sign-extended result and a carry vector
 *       ({@link #lfRes}, {@link #lfAux}); a flag is computed only when read.</li>
 *   <li>Data accesses check a per-segment limit cache and a small software TLB that maps linear
 *       pages straight to offsets in guest RAM, then use a little-endian VarHandle.</li>
 *   <li>The {@code requestExit} flag, the preemption timer and window exits are checked once per
 *       block; anything that needs instruction granularity (MTF, TF, interrupt shadows, pending MMIO
 *       completions) runs blocks one instruction at a time.</li>
 * </ul>
 *
 * <h2>Documented deviations from hardware (undefined flags and timing)</h2>
 * <ul>
 *   <li>AF after logic ops, shifts and multiplies is 0; SF/ZF/PF after MUL/IMUL follow the low half
 *       of the product; after DIV/IDIV the status flags are unchanged.</li>
 *   <li>OF after a multi-bit shift or rotate uses the single-bit formula on the final step.</li>
 *   <li>The TSC advances one per retired instruction; while halted, time only passes through the
 *       VMM ({@code advanceTsc}) or jumps to the next preemption-timer expiry.</li>
 *   <li>There is no x87 FPU: escape opcodes raise #NM when CR0.EM or CR0.TS is set and otherwise do
 *       nothing (like a CPU without a coprocessor, FNSTSW leaves its destination unchanged).</li>
 * </ul>
 */
public final class X86Core {
    private static final System.Logger LOG = System.getLogger(X86Core.class.getName());

    static final VarHandle VH16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    static final VarHandle VH32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    static final VarHandle VH64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    // segment register numbers (VMX order)
    static final int ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5, LDTR = 6, TR = 7;
    // GPR numbers
    static final int EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;

    // CR0 / CR4 / EFER bits (SDM 3A 2.5, 2.2.1)
    static final long CR0_PE = 1, CR0_MP = 1 << 1, CR0_EM = 1 << 2, CR0_TS = 1 << 3, CR0_ET = 1 << 4,
            CR0_NE = 1 << 5, CR0_WP = 1 << 16, CR0_AM = 1 << 18, CR0_NW = 1 << 29, CR0_CD = 1 << 30,
            CR0_PG = 1L << 31;
    static final long CR4_VME = 1, CR4_PVI = 1 << 1, CR4_TSD = 1 << 2, CR4_DE = 1 << 3, CR4_PSE = 1 << 4,
            CR4_PAE = 1 << 5, CR4_MCE = 1 << 6, CR4_PGE = 1 << 7, CR4_PCE = 1 << 8, CR4_OSFXSR = 1 << 9,
            CR4_OSXMMEXCPT = 1 << 10, CR4_UMIP = 1 << 11, CR4_VMXE = 1 << 13, CR4_SMXE = 1 << 14,
            CR4_FSGSBASE = 1 << 16, CR4_PCIDE = 1 << 17, CR4_OSXSAVE = 1 << 18, CR4_SMEP = 1 << 20,
            CR4_SMAP = 1 << 21, CR4_PKE = 1 << 22;
    static final long EFER_SCE = 1, EFER_LME = 1 << 8, EFER_LMA = 1 << 10, EFER_NXE = 1 << 11;

    // interruptibility state (SDM 3C 25.4.2, Table 25-3)
    public static final int BLOCKING_BY_STI = 1, BLOCKING_BY_MOV_SS = 1 << 1, BLOCKING_BY_SMI = 1 << 2,
            BLOCKING_BY_NMI = 1 << 3;
    // activity states (SDM 3C 25.4.2)
    public static final int ACTIVITY_ACTIVE = 0, ACTIVITY_HLT = 1, ACTIVITY_SHUTDOWN = 2, ACTIVITY_WAIT_SIPI = 3;

    /** Interruption-information vector of the host kick that {@link #requestExit()} delivers. */
    public static final int HOST_KICK_VECTOR = 0xEF;

    // software TLB (per linear page): tags are linear page numbers, -1 = empty
    static final int TLB_BITS = 10, TLB_SIZE = 1 << TLB_BITS, TLB_MASK = TLB_SIZE - 1;
    /** Decode-mode bit of 64-bit mode in {@link #modeKey} (blocks decoded there use REX and 64-bit defaults). */
    static final int MODE_KEY_64 = 8;

    // ---- architectural state (public: the VMX layer moves it to and from the VMCS) ----
    public final byte[] guestRam;
    public final byte[] hostMemory;
    public final long[] gpr = new long[16];
    public long rip;
    public final Segment es = new Segment(), cs = new Segment(), ss = new Segment(), ds = new Segment(),
            fs = new Segment(), gs = new Segment(), ldtr = new Segment(), tr = new Segment();
    public final Segment[] segments = {es, cs, ss, ds, fs, gs, ldtr, tr};
    public long cr0, cr2, cr3, cr4, efer, dr6, dr7;
    public final long[] dr = new long[4];
    public long gdtrBase, idtrBase;
    public int gdtrLimit, idtrLimit;
    public long sysenterCs, sysenterEsp, sysenterEip, pat, debugCtl;
    public final long[] pdpte = new long[4];
    public int interruptibility;
    public int activityState;
    public long pendingDebugExceptions;
    public final VmxControls controls = new VmxControls();
    public final ExitInfo exit = new ExitInfo();
    public long tsc;
    /**
     * Set when anything the VMX layer saves only "rarely" (control registers, segment and
     * descriptor-table registers, DR7, the MSRs of SDM 3C 28.3.1) may have changed; the VMX
     * layer compares those fields at a VM exit only then, and clears the flag.
     */
    public boolean systemStateChanged = true;
    /** XCR0 (XSETBV exits always, XGETBV reads it): x87 at reset; the VMM may enable SSE ({@link Xsave#SUPPORTED_XCR0}). */
    public long xcr0 = Xsave.X87;
    /** x87 register state, saved and restored by the XSAVE feature set ({@link Xsave}). */
    public final FpuState fpu = new FpuState();
    /** The x87/MMX execution unit on {@link #fpu} (issue #7). */
    final Fpu x87 = new Fpu(this);
    /** The MMX/SSE execution unit on {@link #fpu} (issue #7). */
    final Sse sse = new Sse(this);
    /**
     * MSRs of IA-32e mode that have no VMCS guest-state field (a VMM moves them with the MSR-load
     * and MSR-store lists, SDM 3C 24.7.2): IA32_STAR, LSTAR, CSTAR, FMASK (SYSCALL/SYSRET, SDM 3A
     * 5.8.8) and IA32_KERNEL_GS_BASE (SWAPGS).
     */
    public long star, lstar, cstar, sfmask, kernelGsBase;
    /** CR8 (SDM 3A 10.8.6.1: TPR bits 7:4 as CR8 bits 3:0) when no TPR shadow virtualises it. */
    public long cr8;

    // ---- derived state ----
    final byte[] ram;
    final int ramSize;
    final long[] segBase = new long[6];
    /** Highest offset readable/writable on the fast path; -1 forces the slow path (which faults properly). */
    final long[] segRdMax = new long[6], segWrMax = new long[6];
    /**
     * The software TLB of the current privilege (user or supervisor set, chosen by {@link Mmu}):
     * tags are linear page base addresses (-1 = empty), {@code tlbAdd} turns a linear address into
     * a RAM index. Comparing {@code lin & (~0xFFF | size-1)} with a tag checks page and natural
     * alignment at once; misaligned accesses take a second, out-of-line check.
     */
    long[] tlbRd, tlbWr, tlbEx, tlbAdd;
    /** Pages writable but holding decoded code (not in {@code tlbWr}): {@link #writeMiss} checks the code first. */
    long[] tlbCodeWr;
    int cpl;
    boolean protectedMode, v86, code32;
    /** IA-32e mode (EFER.LMA, SDM 3A 2.2.1) and, within it, 64-bit mode (CS.L = 1, SDM 3A 5.2.1). */
    boolean longMode, mode64;
    long spMask = 0xFFFF;
    /** RIP width: 16, 32 or 64 bits (SDM 3A 3.3.7 / 2.2.2). */
    long ripMask = 0xFFFF;
    /** Linear-address width: 32 bits outside 64-bit mode (compatibility mode included), else 64 (SDM 3A 3.3.7.1). */
    long linMask = M32;
    int modeKey;
    long a20Mask = -1L;

    // lazy flags: lfRes is the sign-extended result; lfAux holds bit 31 CF, bit 30 CF^OF, bit 4 SF delta,
    // bit 3 AF, bits 15:8 parity delta (Bochs-style)
    long lfRes;
    int lfAux;
    /** RFLAGS bits other than the six status flags. */
    long flagsOther = FIXED1;
    static final int AUX_CF = 1 << 31, AUX_PO = 1 << 30, AUX_SFD = 1 << 4, AUX_AF = 1 << 3, AUX_PDB_SHIFT = 8;

    final CodeCache code;
    final Decoder decoder = new Decoder();
    final Mmu mmu;
    final Exec ops;
    final SystemOps sys;
    final Events events;
    final Segments segs;
    final BlockCompiler compiler = new BlockCompiler();
    final Debug debug;
    /** Every data access takes the slow path: alignment checking or data breakpoints are on. */
    boolean slowDataPath;
    /** CR0.AM, EFLAGS.AC and CPL 3: misaligned data accesses raise #AC (SDM 3A 6.15, vector 17). */
    boolean alignmentCheck;
    /** The block the last VM exit left (a key into successor caches, which check RIP and epoch), or null. */
    private Block exitBlock;
    /** Bumped whenever linear-to-physical code mapping or decode mode may have changed (successor caches). */
    long mapEpoch;
    private long csBaseSeen = -1;
    private int csArSeen = -1, csLimitSeen = -1;
    /** Set when a write dropped decoded code; compiled blocks return early when they see it. */
    boolean smc;
    /** Compile hot blocks to JVM bytecode (off: interpret only, for tests and comparisons). */
    public boolean compileBlocks = true;
    /** Whole-block interpreted runs before a block is compiled. */
    public int compileThreshold = BlockCompiler.THRESHOLD;

    /** Something waits at the next instruction boundary: a host kick or a platform signal ({@link PlatformSignals}). */
    volatile boolean exitRequested;
    private volatile Thread runner;
    /** INIT, SIPI, SMI and the host kick, posted by other threads. */
    public final PlatformSignals signals = new PlatformSignals(this);
    /** The shadow VMCS of VMREAD/VMWRITE in VMX non-root operation (set by the VMX layer; see {@link VmcsShadowing}). */
    public VmcsShadowAccess shadowVmcs;
    private long retired;
    /** Instructions retired inside the current block before the one executing (for RDTSC and exits). */
    int blockPos;
    /** Instruction budget until the VMX-preemption timer expires (Long.MAX_VALUE if inactive). */
    private long timerDeadline = Long.MAX_VALUE;
    /** Reasons the interpreter must run one instruction at a time. */
    boolean singleStep;
    long exitsTaken;

    public X86Core(byte[] guestRam, byte[] hostMemory) {
        this.guestRam = guestRam;
        this.hostMemory = hostMemory;
        this.ram = guestRam;
        this.ramSize = guestRam.length;
        this.code = new CodeCache((int) ((guestRam.length + 0xFFFL) >>> 12));
        this.mmu = new Mmu(this);
        this.ops = new Exec(this);
        this.sys = new SystemOps(this);
        this.events = new Events(this);
        this.segs = new Segments(this);
        this.debug = new Debug(this);
        for (Segment s : segments) {
            s.limit = 0xFFFF;
            s.accessRights = Segment.AR_P | Segment.AR_S | 3;
        }
        cs.accessRights = Segment.AR_P | Segment.AR_S | Segment.AR_CODE | 0xB;
        ldtr.accessRights = Segment.AR_UNUSABLE;
        tr.accessRights = Segment.AR_P | 0xB;
        cr0 = CR0_ET;
        stateLoaded();
    }

    // ====================================================================================
    // Public API
    // ====================================================================================

    /** RFLAGS with the lazy status flags materialised. */
    public long rflags() {
        return flagsOther | arithFlags();
    }

    public void setRflags(long v) {
        flagsOther = (v & DEFINED & ~ARITH) | FIXED1;
        setArithFlags(v);
    }

    /** Called by the VMX layer after it loaded guest state at VM entry. */
    public void stateLoaded() {
        // outside IA-32e mode the interpreter keeps every GPR a zero-extended 32-bit value
        // (SDM 3A 3.4.1.1: bits 63:32 are undefined after leaving IA-32e mode; 0 here)
        if ((efer & EFER_LMA) == 0) {
            for (int i = 0; i < 8; i++) {
                gpr[i] &= 0xFFFF_FFFFL;
            }
        }
        updateMode();
        for (int s = 0; s < 6; s++) {
            refreshSegment(s);
        }
        mmu.stateLoaded();
    }

    /** VM-entry event injection (SDM 3C 27.6). */
    public void injectEvent(int interruptionInfo, int errorCode, int instructionLength) {
        try {
            events.inject(interruptionInfo, errorCode, instructionLength);
        } catch (VmExitSignal e) {
            // the exit is recorded; run() reports it at once
            injectedExitPending = true;
        } catch (RuntimeException | StackOverflowError e) {
            internalError(e);
            injectedExitPending = true;
        }
    }

    private boolean injectedExitPending;

    /** Runs guest code until a VM exit; on return {@link #exit} describes it. Never throws. */
    public void run() {
        try {
            sys.pauseLoop.vmEntry();
            if (injectedExitPending) {
                injectedExitPending = false;
                return;
            }
            exit.clear();
            runLoop();
        } catch (Throwable t) {
            internalError(t);
        } finally {
            exitsTaken++;
        }
    }

    /** Thread-safe: the next instruction boundary exits with reason 1 (a host kick). */
    public void requestExit() {
        signals.postHostKick();
    }

    /** Thread-safe: makes the run loop look at {@link #signals} at the next boundary (and wakes a wait). */
    void wake() {
        exitRequested = true;
        Thread t = runner;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    public long instructionsRetired() {
        return retired;
    }

    public void setA20(boolean enabled) {
        long m = enabled ? -1L : ~(1L << 20);
        if (m != a20Mask) {
            a20Mask = m;
            mmu.flushTlb();
        }
    }

    public void invalidateCode(long guestPhysical, int length) {
        if (length <= 0) {
            return;
        }
        long first = guestPhysical >>> 12, last = (guestPhysical + length - 1) >>> 12;
        for (long p = first; p <= last && p < code.codePage.length; p++) {
            if (p >= 0) {
                code.invalidatePage((int) p);
            }
        }
    }

    public void completeMmioRead(long value) {
        mmu.completeRead(value);
    }

    public void completeMmioWrite() {
        mmu.completeWrite();
    }

    /** Guest-linear to guest-physical with the current paging state; -1 if not present/writable. */
    public long translateLinear(long linear, boolean write) {
        return mmu.probe((efer & EFER_LMA) != 0 ? linear : linear & 0xFFFF_FFFFL, write);
    }

    /**
     * Drops every cached linear translation. {@link #stateLoaded()} flushes only when the paging
     * state changed; a VMM that edits guest paging structures behind the guest's back, or wants
     * the flush VM entries do without VPIDs (SDM 3C 29.4.3), calls this.
     */
    public void flushTlb() {
        mmu.flushTlb();
    }

    /**
     * Reads a guest MSR the core implements (also IA32_TSC_AUX and IA32_XSS, which live only
     * here), as RDMSR without exiting would; for the VMX layer's MSR-store lists (SDM 3C 28.4).
     *
     * @return the value, or {@code unsupported} if RDMSR would #GP
     */
    public long readMsr(int index, long unsupported) {
        try {
            return sys.readMsr(index);
        } catch (GuestFault f) {
            return unsupported;
        }
    }

    /**
     * Writes a guest MSR as WRMSR without exiting would (SDM 3C 27.4 MSR-load lists).
     *
     * @return false if WRMSR would #GP (unknown MSR or reserved bits)
     */
    public boolean writeMsr(int index, long value) {
        try {
            sys.writeMsr(index, value);
            mmu.stateLoaded();
            updateMode();
            return true;
        } catch (GuestFault f) {
            return false;
        }
    }

    /** Lets time pass while the VMM idles the vCPU. */
    public void advanceTsc(long cycles) {
        if (cycles > 0) {
            tsc += cycles;
        }
    }

    /** Decoded blocks so far (statistics). */
    public long blocksDecoded() {
        return code.blocksDecoded;
    }

    // ====================================================================================
    // Mode and segment caches
    // ====================================================================================

    void updateMode() {
        protectedMode = (cr0 & CR0_PE) != 0;
        v86 = protectedMode && (flagsOther & VM) != 0;
        if (!protectedMode) {
            cpl = 0;
        } else if (v86) {
            cpl = 3;
        } else {
            cpl = ss.dpl();   // SDM 3C 27.3.1: in VMX the CPL is SS.DPL
        }
        longMode = (efer & EFER_LMA) != 0;
        // SDM 3A 5.2.1: in IA-32e mode CS.L selects 64-bit mode; then CS.D must be 0 and sizes default to 32/64
        boolean m64 = longMode && (cs.accessRights & Segment.AR_L) != 0;
        code32 = !v86 && !m64 && (cs.accessRights & Segment.AR_DB) != 0;
        // SDM 3A 6.14 / 3.4.4: the 64-bit stack pointer ignores SS.B
        spMask = m64 ? -1L : !v86 && (ss.accessRights & Segment.AR_DB) != 0 ? 0xFFFF_FFFFL : 0xFFFF;
        ripMask = m64 ? -1L : code32 ? M32 : 0xFFFF;
        linMask = m64 ? -1L : M32;
        alignmentCheck = (cr0 & CR0_AM) != 0 && (flagsOther & AC) != 0 && cpl == 3;
        boolean slow = alignmentCheck || debug.dataBreakpointsEnabled();
        if (slow != slowDataPath || m64 != mode64) {
            slowDataPath = slow;
            mode64 = m64;
            for (int s = 0; s < 6; s++) {
                refreshSegment(s);
            }
        }
        int key = (code32 ? 1 : 0) | (protectedMode ? 2 : 0) | (v86 ? 4 : 0) | (m64 ? MODE_KEY_64 : 0);
        if (key != modeKey) {
            modeKey = key;
            mapEpoch++;
        }
        singleStep = computeSingleStep();
    }

    /** Recomputes the fast-path limits of segment register {@code s} (0-5). */
    void refreshSegment(int s) {
        systemStateChanged = true;
        Segment sg = segments[s];
        if (s == CS && (sg.base != csBaseSeen || sg.accessRights != csArSeen || sg.limit != csLimitSeen)) {
            csBaseSeen = sg.base;
            csArSeen = sg.accessRights;
            csLimitSeen = sg.limit;
            mapEpoch++;   // RIP now maps to other code
        }
        if (mode64) {
            // SDM 3A 3.2.4 / 5.3.1: 64-bit mode ignores the CS/DS/ES/SS bases and all limits and types
            segBase[s] = s == FS || s == GS ? sg.base : 0;
            segRdMax[s] = slowDataPath ? -1 : Long.MAX_VALUE;
            segWrMax[s] = segRdMax[s];
            return;
        }
        segBase[s] = sg.base & 0xFFFF_FFFFL;
        long limit = sg.limit & 0xFFFF_FFFFL;
        int ar = sg.accessRights;
        if (slowDataPath) {
            segRdMax[s] = -1;   // alignment checks / data breakpoints live in the slow path
            segWrMax[s] = -1;
            return;
        }
        if (!protectedMode || v86) {
            // real and virtual-8086 mode: no type checks; the cached limit still applies (big real mode)
            segRdMax[s] = limit;
            segWrMax[s] = limit;
            return;
        }
        if ((ar & Segment.AR_UNUSABLE) != 0 || (ar & Segment.AR_P) == 0) {
            segRdMax[s] = -1;
            segWrMax[s] = -1;
        } else if ((ar & Segment.AR_CODE) != 0) {
            segRdMax[s] = (ar & Segment.AR_WRITABLE_OR_READABLE) != 0 ? limit : -1;
            segWrMax[s] = -1;
        } else if ((ar & Segment.AR_EXPAND_DOWN_OR_CONFORMING) != 0) {
            segRdMax[s] = -1;   // expand-down: the slow path checks the range
            segWrMax[s] = -1;
        } else {
            segRdMax[s] = limit;
            segWrMax[s] = (ar & Segment.AR_WRITABLE_OR_READABLE) != 0 ? limit : -1;
        }
    }

    boolean computeSingleStep() {
        return (flagsOther & TF) != 0
                || (interruptibility & (BLOCKING_BY_STI | BLOCKING_BY_MOV_SS)) != 0
                || (controls.procBased & PROC_MONITOR_TRAP_FLAG) != 0
                || debug.anyEnabled()
                || mmu.completionPending();
    }

    // processor-based control bits the hot path tests (SDM 3C 25.6.2, Table 25-6)
    static final int PROC_INTERRUPT_WINDOW = 1 << 2, PROC_TSC_OFFSETTING = 1 << 3, PROC_HLT_EXITING = 1 << 7,
            PROC_NMI_WINDOW = 1 << 22, PROC_UNCONDITIONAL_IO = 1 << 24, PROC_USE_IO_BITMAPS = 1 << 25,
            PROC_MONITOR_TRAP_FLAG = 1 << 27;
    static final int PIN_PREEMPTION_TIMER = 1 << 6;

    // ====================================================================================
    // Run loop
    // ====================================================================================

    private void runLoop() {
        armPreemptionTimer();
        singleStep = computeSingleStep();
        if (deliverPendingDebugExceptions()) {
            return;
        }
        // the block that took the last VM exit: its successor cache finds the resume block
        // without a code-cache lookup (most exits resume right after the exiting instruction)
        Block resumeFrom = exitBlock;
        while (true) {
            if (boundaryExit()) {
                return;
            }
            if (activityState != ACTIVITY_ACTIVE) {
                waitWhileInactive();
                continue;
            }
            boolean single = singleStep;
            int startInterruptibility = interruptibility;
            long startFlags = flagsOther;
            long startRetired = retired;
            try {
                if (single && debug.anyEnabled() && instructionBreakpoint()) {
                    continue;
                }
                long budget = timerDeadline - tsc;
                int count = single ? 1 : budget < Block.MAX_INSNS ? (int) budget : Block.MAX_INSNS;
                Block b;
                if (resumeFrom != null) {
                    rip &= ripMask;
                    b = successor(resumeFrom);
                    resumeFrom = null;
                } else {
                    b = lookupBlock();
                }
                boolean exited;
                if (count >= b.insns.length && (b.compiled != null || compileWhenHot(b))) {
                    exited = runChain(b);
                } else {
                    exited = execBlock(b, count);
                    exitBlock = b;
                }
                if (exited) {
                    exitTaken();
                    return;
                }
            } catch (VmExitSignal e) {
                exitTaken();
                return;
            } catch (GuestFault f) {
                // a fault during block lookup (instruction fetch) at the current RIP
                if (faultDeliveryExited()) {
                    return;
                }
            }
            if (single && stepEndExited(startInterruptibility, startFlags, startRetired)) {
                return;
            }
        }
    }

    // The run loop's rare outcomes, out of line: the loop stays under C2's inlining limit.

    /** The VM exits due at an instruction boundary before the next block; true if one was taken. */
    private boolean boundaryExit() {
        // SDM 3A 6.9: SMI and INIT (and a SIPI) come before the timer, window exits and the host kick
        if (exitRequested && signals.recognise()) {
            exitTaken();
            return true;
        }
        // SDM 3C 26.5.1: the timer causes no VM exit in the wait-for-SIPI state
        if (tsc >= timerDeadline && activityState != ACTIVITY_WAIT_SIPI) {
            preemptionTimerExit();
            return true;
        }
        if (windowExit()) {
            exitTaken();
            return true;
        }
        if (exitRequested && signals.takeHostKick()) {
            hostKickExit();
            return true;
        }
        return false;
    }

    /** Delivers the pending guest fault; true if that caused a VM exit. */
    private boolean faultDeliveryExited() {
        try {
            events.deliverFault();
            return false;
        } catch (VmExitSignal e) {
            exitTaken();
            return true;
        }
    }

    /** After a single-stepped instruction (trap flag, MTF...): true if it ends in a VM exit. */
    private boolean stepEndExited(int startInterruptibility, long startFlags, long startRetired) {
        try {
            if (sys.afterInstruction(startInterruptibility, startFlags, retired != startRetired)) {
                exitTaken();
                return true;
            }
            return false;
        } catch (VmExitSignal e) {
            exitTaken();
            return true;
        }
    }

    private void exitTaken() {
        savePreemptionTimer();
    }

    /** An execute breakpoint at RIP: #DB fault before the instruction (SDM 3A 17.3.1.1). */
    private boolean instructionBreakpoint() {
        long hits = debug.instructionBreakpoints((segBase[CS] + (rip & ripMask)) & linMask);
        if (hits == 0) {
            return false;
        }
        debug.reportInDr6(hits, false);
        events.raise(Events.DB, Events.TYPE_HW_EXCEPTION, -1, 0, rip);
        return true;
    }

    /**
     * Debug exceptions pending at VM entry (the VMCS pending-debug-exceptions field, SDM 3C 25.4.2)
     * are delivered before the first instruction unless MOV SS blocking defers them.
     *
     * @return true if the delivery caused a VM exit
     */
    private boolean deliverPendingDebugExceptions() {
        long pending = pendingDebugExceptions & (Debug.DR6_B_MASK | Debug.DR6_BS);
        if (pending == 0 || (interruptibility & BLOCKING_BY_MOV_SS) != 0 || activityState != ACTIVITY_ACTIVE) {
            return false;
        }
        pendingDebugExceptions = 0;
        debug.reportInDr6(pending & Debug.DR6_B_MASK, (pending & Debug.DR6_BS) != 0);
        try {
            events.raise(Events.DB, Events.TYPE_HW_EXCEPTION, -1, 0, rip);
        } catch (VmExitSignal e) {
            exitTaken();
            return true;
        }
        return false;
    }

    /**
     * Runs compiled blocks back to back while nothing needs the outer loop's per-block checks
     * (single-stepping, window exits, a host kick, the timer, a halt).
     */
    private boolean runChain(Block b) {
        while (true) {
            if (runCompiled(b)) {
                exitBlock = ranLast(b);
                return true;
            }
            if (singleStep || exitRequested || activityState != ACTIVITY_ACTIVE
                    || (controls.procBased & (PROC_INTERRUPT_WINDOW | PROC_NMI_WINDOW)) != 0) {
                return false;
            }
            Block next = successor(ranLast(b));
            if (next.compiled == null || timerDeadline - tsc < next.insns.length) {
                return false;
            }
            b = next;
        }
    }

    /**
     * Asked once by a compiled loop ({@link BlockCompiler}) as it starts: whether its blocks may
     * step from one to the next in place at all. Not while interrupt- or NMI-window exiting is on
     * ({@link #runChain} returns after every block then, so the window exit comes at the first
     * boundary where the guest can take it), nor if a member would pass the CS limit
     * ({@link #lookupBlock}'s check; {@code span}: the end of the furthest member from RIP). Neither
     * changes while guest code runs: the controls belong to the VMM, and CS changes only by a far
     * transfer, which ends a block without a static successor.
     */
    boolean mayLoop(long span) {
        loopRuns++;
        return (controls.procBased & (PROC_INTERRUPT_WINDOW | PROC_NMI_WINDOW)) == 0
                && (mode64 || rip + span - 1 <= (cs.limit & 0xFFFF_FFFFL));
    }

    /**
     * Asked by a compiled loop whose block {@code loopMember} ran {@code done} instructions and
     * branched to the start of member {@code pos}, {@code next} ({@code nextLength} instructions):
     * retires them and returns true when {@code next} may run in place, under the checks of
     * {@link #runChain} between two blocks that guest code can change (see {@link #mayLoop} for the
     * rest), and if the code still maps as when the loop started; false leaves the block for the
     * caller to retire. The activity state needs no check: HLT, MWAIT and shutdown end the block
     * early (or leave by an exception), so no jump follows them.
     */
    boolean stepTo(Block next, int done, int nextLength, long epoch0, int pos) {
        if (singleStep || exitRequested || !next.valid || mapEpoch != epoch0 || timerDeadline - tsc < done + nextLength) {
            return false;
        }
        retire(done);
        loopMember = pos;
        return true;
    }

    /** Compiled runs of loops ({@link #mayLoop}): far fewer than their rounds when they step in place. */
    long loopRuns;
    /** Instructions compiled blocks ran through the executor's switch, having no inline handler (tests, profiling). */
    long generalPathRuns;
    /** POPA's values, read before any register is written (a reused array: no allocation per instruction). */
    final long[] popaValues = new long[8];
    /** Runs of REP MOVS/STOS elements copied or filled at once ({@code Strings}; tests, profiling). */
    long bulkStringRuns;
    /**
     * The member of a compiled loop its last run ended in (0: the block it was entered by). Set by
     * the loop's code as it starts and steps, so a plain block's run costs no store.
     */
    int loopMember;

    /** The block a compiled run of {@code b} ended in: b, or the loop member it stepped to. */
    private Block ranLast(Block b) {
        Block[] members = b.members;
        return members == null ? b : members[loopMember];
    }

    /**
     * The loop a hot block heads, for {@link BlockCompiler}: the decoded blocks of its page that its
     * relative jumps and fall-throughs reach (up to {@link #LOOP_MEMBERS}) and that lead back to it,
     * this block first; null if none leads back. Only blocks already decoded count: a loop's blocks
     * have run by the time its head is hot, and decoding here could evict others.
     */
    private Block[] loopMembers(Block head, long[][] offsetsOut) {
        java.util.List<Block> blocks = new java.util.ArrayList<>();
        java.util.List<Long> offsets = new java.util.ArrayList<>();
        java.util.List<long[]> successors = new java.util.ArrayList<>();
        blocks.add(head);
        offsets.add(0L);
        long page = head.phys & ~0xFFFL;
        for (int i = 0; i < blocks.size(); i++) {
            Block b = blocks.get(i);
            long[] next = BlockCompiler.staticSuccessors(b.insns, offsets.get(i) + b.bytes);
            successors.add(next);
            for (long off : next) {
                if (offsets.contains(off) || blocks.size() == LOOP_MEMBERS) {
                    continue;
                }
                long phys = head.phys + off;
                Block m = (phys & ~0xFFFL) == page && phys < ramSize ? code.lookup(phys, modeKey) : null;
                if (m != null && m.valid && m.cached && m.modeKey == head.modeKey) {
                    blocks.add(m);
                    offsets.add(off);
                }
            }
        }
        // keep the blocks that lead back to the head (fixed point over the successor lists)
        boolean[] back = new boolean[blocks.size()];
        for (boolean changed = true; changed; ) {
            changed = false;
            for (int i = 0; i < blocks.size(); i++) {
                for (long off : successors.get(i)) {
                    int j = offsets.indexOf(off);
                    if (!back[i] && j >= 0 && (j == 0 || back[j])) {
                        back[i] = changed = true;
                    }
                }
            }
        }
        if (!back[0]) {
            return null;
        }
        java.util.List<Block> members = new java.util.ArrayList<>();
        java.util.List<Long> memberOffsets = new java.util.ArrayList<>();
        for (int i = 0; i < blocks.size(); i++) {
            if (back[i]) {
                members.add(blocks.get(i));
                memberOffsets.add(offsets.get(i));
            }
        }
        offsetsOut[0] = memberOffsets.stream().mapToLong(Long::longValue).toArray();
        return members.toArray(new Block[0]);
    }

    /** Blocks a compiled loop may hold. */
    static final int LOOP_MEMBERS = 4;

    /** The block at RIP after {@code prev}, from prev's two-entry successor cache when still valid. */
    private Block successor(Block prev) {
        long r = rip & ripMask;
        long epoch = mapEpoch;
        Block s = prev.succ0;
        if (s != null && prev.succ0Rip == r && prev.succ0Epoch == epoch && s.valid) {
            return s;
        }
        s = prev.succ1;
        if (s != null && prev.succ1Rip == r && prev.succ1Epoch == epoch && s.valid) {
            return s;
        }
        Block b = jumpCacheLookup(r, epoch);
        if (prev.succ0 == null || !prev.succ0.valid || prev.succ0Epoch != epoch) {
            prev.succ0 = b;
            prev.succ0Rip = rip;
            prev.succ0Epoch = epoch;
        } else {
            prev.succ1 = b;
            prev.succ1Rip = rip;
            prev.succ1Epoch = epoch;
        }
        return b;
    }

    /**
     * The block at RIP {@code r} from the jump cache (by RIP, like QEMU's per-CPU jump cache), else
     * from {@link #lookupBlock}, which fills the entry. It serves the blocks with more than two
     * successors, whose own two entries miss: an indirect jump through a table (a compiled switch),
     * a return to one of many call sites. A hit skips the address translation and the code-cache
     * probe.
     */
    private Block jumpCacheLookup(long r, long epoch) {
        int j = (int) (r ^ r >>> JUMP_CACHE_BITS) & JUMP_CACHE_MASK;
        Block b = jumpCache[j];
        long[] keys = jumpCacheKeys;
        if (b != null && keys[2 * j] == r && keys[2 * j + 1] == epoch && b.valid && b.modeKey == modeKey) {
            return b;
        }
        b = lookupBlock();
        jumpCache[j] = b;
        keys[2 * j] = r;
        keys[2 * j + 1] = epoch;
        return b;
    }

    private static final int JUMP_CACHE_BITS = 10, JUMP_CACHE_MASK = (1 << JUMP_CACHE_BITS) - 1;
    private final Block[] jumpCache = new Block[1 << JUMP_CACHE_BITS];
    /** Entry j's RIP at 2j and map epoch at 2j + 1: one cache line for both. */
    private final long[] jumpCacheKeys = new long[2 << JUMP_CACHE_BITS];

    /** Counts an interpreted run of a whole block; compiles it once it is hot. */
    private boolean compileWhenHot(Block b) {
        if (!compileBlocks || b.executions < 0 || !b.cached || ++b.executions < compileThreshold || !b.valid) {
            return false;
        }
        b.executions = -1;   // never again, whatever happens
        long[][] offsets = new long[1][];
        Block[] members = loopMembers(b, offsets);
        b.compiled = compiler.compile(b, members, offsets[0]);
        return b.compiled != null;
    }

    /**
     * Runs a compiled block; the same outcomes as {@link #execBlock}, for the block the run ended
     * in ({@link #ranLast}: a compiled loop may step to its other members).
     */
    private boolean runCompiled(Block b) {
        long rip0 = rip;
        smc = false;
        int r;
        try {
            r = b.compiled.run(this);
        } catch (GuestFault f) {
            undoFaulting(b, rip0);
            events.deliverFault();
            return false;
        } catch (VmExitSignal e) {
            undoFaulting(b, rip0);
            return true;
        }
        blockPos = 0;
        if ((r & BlockCompiler.EXIT_FLAG) != 0) {
            retire(r & ~BlockCompiler.EXIT_FLAG);
            return true;
        }
        retire(r);
        return false;
    }

    /** After a fault or exit inside a compiled run: RIP back to that instruction, the ones before it retired. */
    private void undoFaulting(Block b, long rip0) {
        Block cur = ranLast(b);
        int k = faultingIndex(cur, b.members == null ? rip0 : rip0 + b.memberOffsets[loopMember]);
        rip -= cur.insns[k].len();
        retire(k);
        blockPos = 0;
    }

    /** The instruction a compiled block was executing: the one RIP was last set to the end of. */
    private int faultingIndex(Block b, long rip0) {
        int k = b.indexEndingAt((rip - rip0) & 0xFFFF_FFFFL);
        if (k < 0) {
            throw new IllegalStateException("compiled block lost track of RIP");
        }
        return k;
    }

    private Block lookupBlock() {
        rip &= ripMask;
        long lin = (segBase[CS] + rip) & linMask;
        int i = (int) (lin >>> 12) & TLB_MASK;
        long phys;
        if (tlbEx[i] == (lin & ~0xFFFL)) {
            phys = lin + tlbAdd[i];
        } else {
            phys = mmu.translateFetch(lin);
        }
        Block b = code.lookup(phys, modeKey);
        if (b == null || !b.valid || b.phys2 >= 0 && b.phys2 != translateFetchFast((lin | 0xFFF) + 1 & linMask)) {
            b = buildBlock(phys, lin);
        }
        long csLimit = cs.limit & 0xFFFF_FFFFL;
        if (!mode64 && rip + b.bytes - 1 > csLimit) {   // SDM 3A 5.3.1: no limit checks in 64-bit mode
            b = buildLimitedBlock(phys, lin, csLimit);
        }
        return b;
    }

    private Block buildBlock(long phys, long lin) {
        if (phys >= ramSize) {
            throw mmu.eptViolationFetch(phys, lin);
        }
        int start = (int) phys;
        int pageEnd = (int) ((phys | 0xFFF) + 1);
        Block b = decodeBlock(start, Math.min(pageEnd, ramSize));
        if (b == null) {
            b = crossPageBlock(phys, lin, Long.MAX_VALUE);
            if (b.phys2 < 0) {
                return b;
            }
            // Cached like any block, so a hot straddling instruction is decoded once, not on every
            // run (twice, with the decoder's truncation exception each time): 30 % of the time of
            // the C kernel's hash-table part before. Writes to either page drop it; lookups check
            // the second page's translation (a remapped second page holds other bytes).
            if (code.insertGuard(b, (int) (b.bytes - (pageEnd - phys)))) {
                mmu.codePageMarked((int) (b.phys2 >>> 12));
            }
        }
        b.cached = true;
        if (code.insert(b)) {
            mmu.codePageMarked((int) (phys >>> 12));
        }
        return b;
    }

    /** The guest-physical address an instruction fetch at {@code lin} reads, through the TLB when it holds the page. */
    private long translateFetchFast(long lin) {
        int i = (int) (lin >>> 12) & TLB_MASK;
        return tlbEx[i] == (lin & ~0xFFFL) ? lin + tlbAdd[i] : mmu.translateFetch(lin);
    }

    private Block decodeBlock(int start, int end) {
        Insn[] tmp = new Insn[Block.MAX_INSNS];
        int n = 0;
        int pos = start;
        while (n < Block.MAX_INSNS) {
            Insn in = decoder.decode(ram, pos, end, code32, mode64);
            if (in == null) {
                break;
            }
            tmp[n++] = in;
            pos += in.len();
            if ((in.flags() & Insn.F_ENDS_BLOCK) != 0 || in.op() == Op.UD || in.op() == Op.GP0 || pos >= end) {
                break;
            }
        }
        if (n == 0) {
            return null;
        }
        Insn[] insns = java.util.Arrays.copyOf(tmp, n);
        return new Block(start, modeKey, insns, pos - start);
    }

    /** CS limit cuts the block: decode (uncached) only the bytes below the limit. */
    private Block buildLimitedBlock(long phys, long lin, long csLimit) {
        long avail = csLimit - rip + 1;
        if (avail <= 0) {
            throw gp(0);
        }
        int start = (int) phys;
        int pageEnd = (int) Math.min((phys | 0xFFF) + 1, ramSize);
        int end = (int) Math.min(pageEnd, start + avail);
        Block b = phys < ramSize ? decodeBlock(start, end) : null;
        if (b == null) {
            if (end < pageEnd || avail < 16 && start + avail <= pageEnd) {
                throw gp(0);   // the first instruction runs past the CS limit (SDM 3A 5.3)
            }
            return crossPageBlock(phys, lin, avail);
        }
        return b;
    }

    /** The first instruction straddles a page boundary: fetch both pages into a scratch buffer. */
    private Block crossPageBlock(long phys, long lin, long avail) {
        byte[] buf = new byte[Decoder.MAX_LENGTH + 1];
        int first = (int) (0x1000 - (lin & 0xFFF));
        for (int k = 0; k < first; k++) {
            buf[k] = (byte) mmu.fetchPhysByte(phys + k, lin + k);
        }
        int limit = (int) Math.min(buf.length, avail);
        Insn in = decoder.decode(buf, 0, Math.min(first, limit), code32, mode64);
        long nextPhys = -1;
        if (in == null && limit > first) {
            long nextLin = (lin + first) & linMask;
            nextPhys = mmu.translateFetch(nextLin);
            for (int k = first; k < limit; k++) {
                buf[k] = (byte) mmu.fetchPhysByte(nextPhys + k - first, nextLin + k - first);
            }
            in = decoder.decode(buf, 0, limit, code32, mode64);
        }
        if (in == null) {
            throw gp(0);
        }
        Block b = new Block(phys, modeKey, new Insn[] {in}, in.len());
        // Only RAM holds cacheable code (fetchPhysByte reads MMIO too); a CS-limited decode stays per use.
        if (in.len() > first && avail == Long.MAX_VALUE && nextPhys + in.len() - first <= ramSize) {
            b.phys2 = nextPhys;
        }
        return b;
    }

    // ====================================================================================
    // The interpreter
    // ====================================================================================

    /**
     * Runs {@code count} instructions of block {@code b} (fewer if it ends early).
     *
     * @return true if a VM exit happened (exit fields filled, RIP at the exiting instruction)
     */
    /**
     * A locked read-modify-write: the guest RAM array is the bus lock, shared by every vCPU's core
     * (SDM 3A 9.1.2: locked operations are atomic; the vCPUs run on separate host threads).
     */
    int executeAtomic(Insn in) {
        synchronized (ram) {
            return switch (in.op()) {
                case Op.ALU_MR -> {
                    Hot.aluMR(this, in);
                    yield Exec.NEXT;
                }
                case Op.ALU_MI -> {
                    Hot.aluMI(this, in);
                    yield Exec.NEXT;
                }
                default -> ops.execute(in);
            };
        }
    }

    private boolean execBlock(Block b, int count) {
        final Insn[] code = b.insns;
        int i = 0;
        Insn in = null;
        try {
            for (; i < count && i < code.length; i++) {
                in = code[i];
                if (in == Block.STOP) {
                    break;
                }
                rip += in.len();
                if ((in.flags() & Insn.F_ATOMIC) != 0) {
                    blockPos = i;
                    executeAtomic(in); // a data operation: it completes, faults or exits by exception
                    continue;
                }
                switch (in.op()) {
                    case Op.MOV_RR:
                        Hot.movRR(this, in);
                        break;
                    case Op.MOV_RM:
                        Hot.movRM(this, in);
                        break;
                    case Op.MOV_MR:
                        Hot.movMR(this, in);
                        break;
                    case Op.MOV_RI:
                        Hot.movRI(this, in);
                        break;
                    case Op.MOV_MI:
                        Hot.movMI(this, in);
                        break;
                    case Op.LEA:
                        Hot.lea(this, in);
                        break;
                    case Op.MOVZX_RR:
                        Hot.movzxRR(this, in);
                        break;
                    case Op.MOVZX_RM:
                        Hot.movzxRM(this, in);
                        break;
                    case Op.ALU_RR:
                        Hot.aluRR(this, in);
                        break;
                    case Op.ALU_RI:
                        Hot.aluRI(this, in);
                        break;
                    case Op.ALU_RM:
                        Hot.aluRM(this, in);
                        break;
                    case Op.ALU_MR:
                        Hot.aluMR(this, in);
                        break;
                    case Op.ALU_MI:
                        Hot.aluMI(this, in);
                        break;
                    case Op.INC_R:
                        Hot.incR(this, in);
                        break;
                    case Op.DEC_R:
                        Hot.decR(this, in);
                        break;
                    case Op.JMP_REL:
                        Hot.jmpRel(this, in);
                        break;
                    case Op.CALL_REL:
                        Hot.callRel(this, in);
                        break;
                    case Op.RET:
                        Hot.ret(this, in);
                        break;
                    case Op.PUSH_R:
                        Hot.pushR(this, in);
                        break;
                    case Op.POP_R:
                        Hot.popR(this, in);
                        break;
                    case Op.PUSH_I:
                        Hot.pushI(this, in);
                        break;
                    case Op.SHIFT_R:
                        Hot.shiftR(this, in);
                        break;
                    case Op.IMUL_RRI:
                        Hot.imulRRI(this, in);
                        break;
                    case Op.IMUL_RR:
                        Hot.imulRR(this, in);
                        break;
                    case Op.XCHG_RR:
                        Hot.xchgRR(this, in);
                        break;
                    case Op.MOV32_RR:
                        Hot.mov32RR(this, in);
                        break;
                    case Op.MOV32_RM:
                        Hot.mov32RM(this, in);
                        break;
                    case Op.MOV32_MR:
                        Hot.mov32MR(this, in);
                        break;
                    case Op.MOV32_RI:
                        Hot.mov32RI(this, in);
                        break;
                    case Op.MOV32_MI:
                        Hot.mov32MI(this, in);
                        break;
                    case Op.LEA32:
                        Hot.lea32(this, in);
                        break;
                    case Op.INC32_R:
                        Hot.inc32R(this, in);
                        break;
                    case Op.DEC32_R:
                        Hot.dec32R(this, in);
                        break;
                    case Op.PUSH32_R:
                        Hot.push32R(this, in);
                        break;
                    case Op.POP32_R:
                        Hot.pop32R(this, in);
                        break;
                    case Op.JCC:
                        Hot.jcc(this, in, in.sub());
                        break;
                    case Op.ALU32_RR + ADD:
                        Hot.alu32RR(this, in, ADD);
                        break;
                    case Op.ALU32_RR + OR:
                        Hot.alu32RR(this, in, OR);
                        break;
                    case Op.ALU32_RR + ADC:
                        Hot.alu32RR(this, in, ADC);
                        break;
                    case Op.ALU32_RR + SBB:
                        Hot.alu32RR(this, in, SBB);
                        break;
                    case Op.ALU32_RR + AND:
                        Hot.alu32RR(this, in, AND);
                        break;
                    case Op.ALU32_RR + SUB:
                        Hot.alu32RR(this, in, SUB);
                        break;
                    case Op.ALU32_RR + XOR:
                        Hot.alu32RR(this, in, XOR);
                        break;
                    case Op.ALU32_RR + CMP:
                        Hot.alu32RR(this, in, CMP);
                        break;
                    case Op.ALU32_RR + TEST:
                        Hot.alu32RR(this, in, TEST);
                        break;
                    case Op.ALU32_RI + ADD:
                        Hot.alu32RI(this, in, ADD);
                        break;
                    case Op.ALU32_RI + OR:
                        Hot.alu32RI(this, in, OR);
                        break;
                    case Op.ALU32_RI + ADC:
                        Hot.alu32RI(this, in, ADC);
                        break;
                    case Op.ALU32_RI + SBB:
                        Hot.alu32RI(this, in, SBB);
                        break;
                    case Op.ALU32_RI + AND:
                        Hot.alu32RI(this, in, AND);
                        break;
                    case Op.ALU32_RI + SUB:
                        Hot.alu32RI(this, in, SUB);
                        break;
                    case Op.ALU32_RI + XOR:
                        Hot.alu32RI(this, in, XOR);
                        break;
                    case Op.ALU32_RI + CMP:
                        Hot.alu32RI(this, in, CMP);
                        break;
                    case Op.ALU32_RI + TEST:
                        Hot.alu32RI(this, in, TEST);
                        break;
                    case Op.ALU32_RM + ADD:
                        Hot.alu32RM(this, in, ADD);
                        break;
                    case Op.ALU32_RM + OR:
                        Hot.alu32RM(this, in, OR);
                        break;
                    case Op.ALU32_RM + ADC:
                        Hot.alu32RM(this, in, ADC);
                        break;
                    case Op.ALU32_RM + SBB:
                        Hot.alu32RM(this, in, SBB);
                        break;
                    case Op.ALU32_RM + AND:
                        Hot.alu32RM(this, in, AND);
                        break;
                    case Op.ALU32_RM + SUB:
                        Hot.alu32RM(this, in, SUB);
                        break;
                    case Op.ALU32_RM + XOR:
                        Hot.alu32RM(this, in, XOR);
                        break;
                    case Op.ALU32_RM + CMP:
                        Hot.alu32RM(this, in, CMP);
                        break;
                    case Op.ALU32_RM + TEST:
                        Hot.alu32RM(this, in, TEST);
                        break;
                    case Op.ALU32_MR + ADD:
                        Hot.alu32MR(this, in, ADD);
                        break;
                    case Op.ALU32_MR + OR:
                        Hot.alu32MR(this, in, OR);
                        break;
                    case Op.ALU32_MR + ADC:
                        Hot.alu32MR(this, in, ADC);
                        break;
                    case Op.ALU32_MR + SBB:
                        Hot.alu32MR(this, in, SBB);
                        break;
                    case Op.ALU32_MR + AND:
                        Hot.alu32MR(this, in, AND);
                        break;
                    case Op.ALU32_MR + SUB:
                        Hot.alu32MR(this, in, SUB);
                        break;
                    case Op.ALU32_MR + XOR:
                        Hot.alu32MR(this, in, XOR);
                        break;
                    case Op.ALU32_MR + CMP:
                        Hot.alu32MR(this, in, CMP);
                        break;
                    case Op.ALU32_MR + TEST:
                        Hot.alu32MR(this, in, TEST);
                        break;
                    case Op.SHIFT32_RI + ROL:
                        Hot.rol32(this, in);
                        break;
                    case Op.SHIFT32_RI + ROR:
                        Hot.ror32(this, in);
                        break;
                    case Op.SHIFT32_RI + SHL:
                        Hot.shl32(this, in);
                        break;
                    case Op.SHIFT32_RI + SAL:
                        Hot.shl32(this, in);
                        break;
                    case Op.SHIFT32_RI + SHR:
                        Hot.shr32(this, in);
                        break;
                    case Op.SHIFT32_RI + SAR:
                        Hot.sar32(this, in);
                        break;
                    case Op.JCC_CC + 0:
                        Hot.jcc(this, in, 0);
                        break;
                    case Op.JCC_CC + 1:
                        Hot.jcc(this, in, 1);
                        break;
                    case Op.JCC_CC + 2:
                        Hot.jcc(this, in, 2);
                        break;
                    case Op.JCC_CC + 3:
                        Hot.jcc(this, in, 3);
                        break;
                    case Op.JCC_CC + 4:
                        Hot.jcc(this, in, 4);
                        break;
                    case Op.JCC_CC + 5:
                        Hot.jcc(this, in, 5);
                        break;
                    case Op.JCC_CC + 6:
                        Hot.jcc(this, in, 6);
                        break;
                    case Op.JCC_CC + 7:
                        Hot.jcc(this, in, 7);
                        break;
                    case Op.JCC_CC + 8:
                        Hot.jcc(this, in, 8);
                        break;
                    case Op.JCC_CC + 9:
                        Hot.jcc(this, in, 9);
                        break;
                    case Op.JCC_CC + 10:
                        Hot.jcc(this, in, 10);
                        break;
                    case Op.JCC_CC + 11:
                        Hot.jcc(this, in, 11);
                        break;
                    case Op.JCC_CC + 12:
                        Hot.jcc(this, in, 12);
                        break;
                    case Op.JCC_CC + 13:
                        Hot.jcc(this, in, 13);
                        break;
                    case Op.JCC_CC + 14:
                        Hot.jcc(this, in, 14);
                        break;
                    case Op.JCC_CC + 15:
                        Hot.jcc(this, in, 15);
                        break;
                    case Op.NOP:
                        break;
                    default:
                        blockPos = i;
                        int outcome = ops.execute(in);
                        if (outcome != Exec.NEXT) {
                            if (outcome == Exec.EXIT) {
                                rip -= in.len();   // instruction exits are fault-like: RIP stays at the instruction
                                retire(i);
                                return true;
                            }
                            if (outcome == Exec.TRAP_EXIT) {
                                retire(i + 1);
                                blockPos = 0;
                                return true;
                            }
                            i++;
                            retire(i);
                            blockPos = 0;
                            return false;
                        }
                        break;
                }
            }
        } catch (GuestFault f) {
            rip -= in.len();
            retire(i);
            blockPos = 0;
            events.deliverFault();
            return false;
        } catch (VmExitSignal e) {
            rip -= in.len();
            retire(i);
            return true;
        }
        retire(i);
        blockPos = 0;
        return false;
    }

    private void retire(int n) {
        retired += n;
        tsc += n;
    }

    /** The instruction-pointer width of a near branch: its operand size (64 bits in 64-bit mode). */
    static long ipMask(Insn in) {
        return in.mask();
    }

    /** Near branch to an absolute target: #GP(0) if beyond the CS limit, or non-canonical in 64-bit mode (SDM 2 JMP). */
    void nearBranch(long target, Insn in) {
        target &= in.mask();
        checkBranchTarget(target);
        rip = target;
    }

    /** SDM 2 JMP/CALL/RET: the target must be within the CS limit, or canonical in 64-bit mode. */
    void checkBranchTarget(long target) {
        if (mode64 ? !canonical(target) : target > (cs.limit & 0xFFFF_FFFFL)) {
            throw gp(0);
        }
    }

    /** SDM 3A 3.3.7.1: bits 63:47 of a canonical address are all equal (48-bit linear addresses). */
    static boolean canonical(long a) {
        return (a << 16) >> 16 == a;
    }

    // ====================================================================================
    // Registers and effective addresses
    // ====================================================================================

    long getReg(int r, int shift, long mask) {
        return (gpr[r] >>> shift) & mask;
    }

    void setReg(int r, int shift, long mask, long v) {
        if (mask == M32) {
            gpr[r] = v & M32;   // SDM 1 3.4.1.1: 32-bit results are zero-extended to 64 bits
            return;
        }
        gpr[r] = (gpr[r] & ~(mask << shift)) | ((v & mask) << shift);
    }

    long ea(Insn in) {
        long a = in.disp();
        int b = in.base();
        if (b >= 0) {
            a += gpr[b];
        } else if (b == Insn.BASE_RIP) {
            a += rip;            // SDM 2 2.2.1.6: RIP-relative, from the next instruction
        } else if (b == Insn.BASE_ABS64) {
            a += in.imm();       // MOV moffs64 (A0-A3 with a 64-bit address)
        }
        int x = in.index();
        if (x >= 0) {
            a += gpr[x] << in.scale();
        }
        return a & in.addrMask();
    }

    // ====================================================================================
    // Memory: segmented fast paths (the slow paths live in Mmu)
    // ====================================================================================

    long read(int seg, long off, int size) {
        if (off + size - 1 > segRdMax[seg]) {
            return mmu.readSlow(seg, off, size);
        }
        long lin = (segBase[seg] + off) & linMask;
        int i = (int) (lin >>> 12) & TLB_MASK;
        if (tlbRd[i] != (lin & (~0xFFFL | (size - 1)))) {
            return readMiss(lin, size, seg);
        }
        int p = (int) (lin + tlbAdd[i]);
        return switch (size) {
            case 4 -> (int) VH32.get(ram, p) & 0xFFFF_FFFFL;
            case 1 -> ram[p] & 0xFFL;
            case 2 -> (short) VH16.get(ram, p) & 0xFFFFL;
            default -> (long) VH64.get(ram, p);
        };
    }

    /** TLB miss or misaligned access: a misaligned access within a mapped page is still direct. */
    private long readMiss(long lin, int size, int seg) {
        int i = (int) (lin >>> 12) & TLB_MASK;
        if (tlbRd[i] == (lin & ~0xFFFL) && (lin & 0xFFF) <= 0x1000 - size) {
            int p = (int) (lin + tlbAdd[i]);
            return switch (size) {
                case 2 -> (short) VH16.get(ram, p) & 0xFFFFL;
                case 4 -> (int) VH32.get(ram, p) & 0xFFFF_FFFFL;
                default -> (long) VH64.get(ram, p);
            };
        }
        return mmu.readLinear(lin, size, seg);
    }

    private void writeMiss(long lin, int size, long v, int seg) {
        int i = (int) (lin >>> 12) & TLB_MASK;
        long tag = lin & ~0xFFFL;
        if ((lin & 0xFFF) <= 0x1000 - size
                && (tlbWr[i] == tag || (tlbCodeWr[i] == tag && !code.mayHoldCode(lin + tlbAdd[i], size)))) {
            // mapped RAM; on a code page, bytes no decoded block covers (a boot sector's variables)
            int p = (int) (lin + tlbAdd[i]);
            switch (size) {
                case 1 -> ram[p] = (byte) v;
                case 2 -> VH16.set(ram, p, (short) v);
                case 4 -> VH32.set(ram, p, (int) v);
                default -> VH64.set(ram, p, v);
            }
            return;
        }
        mmu.writeLinear(lin, size, v, seg);
    }

    void write(int seg, long off, int size, long v) {
        if (off + size - 1 > segWrMax[seg]) {
            mmu.writeSlow(seg, off, size, v);
            return;
        }
        long lin = (segBase[seg] + off) & linMask;
        int i = (int) (lin >>> 12) & TLB_MASK;
        if (tlbWr[i] != (lin & (~0xFFFL | (size - 1)))) {
            writeMiss(lin, size, v, seg);
            return;
        }
        int p = (int) (lin + tlbAdd[i]);
        switch (size) {
            case 4 -> VH32.set(ram, p, (int) v);
            case 1 -> ram[p] = (byte) v;
            case 2 -> VH16.set(ram, p, (short) v);
            default -> VH64.set(ram, p, v);
        }
    }

    /** Faults now if a write of {@code size} bytes at seg:off would fault (read-modify-write operands). */
    void checkWritable(int seg, long off, int size) {
        if (off + size - 1 <= segWrMax[seg]) {
            long lin = (segBase[seg] + off) & linMask;
            int i = (int) (lin >>> 12) & TLB_MASK;
            if (tlbWr[i] == (lin & ~0xFFFL) && (lin & 0xFFF) <= 0x1000 - size) {
                return;
            }
        }
        mmu.checkWritableSlow(seg, off, size);
    }

    void push(long v, int size) {
        long sp = (gpr[ESP] - size) & spMask;
        write(SS, sp, size, v);
        gpr[ESP] = (gpr[ESP] & ~spMask) | sp;
    }

    long pop(int size) {
        long sp = gpr[ESP] & spMask;
        long v = read(SS, sp, size);
        gpr[ESP] = (gpr[ESP] & ~spMask) | ((sp + size) & spMask);
        return v;
    }

    void adjustSp(long delta) {
        gpr[ESP] = (gpr[ESP] & ~spMask) | ((gpr[ESP] + delta) & spMask);
    }


    // ---- 32-bit fast forms (operands are zero-extended 32-bit values) ----

    static final long M32 = 0xFFFF_FFFFL;
    private static final int AUX_CARRY_BITS = AUX_CF | AUX_PO | AUX_AF;

    long add32(long a, long b) {
        long v = a + b;
        lfAux = (int) ((a & b) | ((a | b) & ~v)) & AUX_CARRY_BITS;
        lfRes = (int) v;
        return v & M32;
    }

    long adc32(long a, long b) {
        long v = a + b + (lfAux >>> 31);
        lfAux = (int) ((a & b) | ((a | b) & ~v)) & AUX_CARRY_BITS;
        lfRes = (int) v;
        return v & M32;
    }

    long sub32(long a, long b) {
        long v = a - b;
        lfAux = (int) ((~a & b) | (~(a ^ b) & v)) & AUX_CARRY_BITS;
        lfRes = (int) v;
        return v & M32;
    }

    long sbb32(long a, long b) {
        long v = a - b - (lfAux >>> 31);
        lfAux = (int) ((~a & b) | (~(a ^ b) & v)) & AUX_CARRY_BITS;
        lfRes = (int) v;
        return v & M32;
    }

    long logic32(long v) {
        lfRes = (int) v;
        lfAux = 0;
        return v & M32;
    }

    // ====================================================================================
    // Lazy flags
    // ====================================================================================

    boolean cf() {
        return lfAux < 0;
    }

    boolean of() {
        return (lfAux ^ (lfAux << 1)) < 0;
    }

    boolean zf() {
        return lfRes == 0;
    }

    boolean sf() {
        return (lfRes < 0) ^ ((lfAux & AUX_SFD) != 0);
    }

    boolean pf() {
        return (Integer.bitCount(((int) lfRes ^ (lfAux >>> AUX_PDB_SHIFT)) & 0xFF) & 1) == 0;
    }

    boolean af() {
        return (lfAux & AUX_AF) != 0;
    }

    boolean cond(int cc) {
        boolean t = switch (cc >>> 1) {
            case 0 -> of();
            case 1 -> cf();
            case 2 -> lfRes == 0;
            case 3 -> cf() || lfRes == 0;
            case 4 -> sf();
            case 5 -> pf();
            case 6 -> sf() != of();
            default -> lfRes == 0 || sf() != of();
        };
        return t ^ ((cc & 1) != 0);
    }

    long arithFlags() {
        long f = 0;
        if (cf()) {
            f |= CF;
        }
        if (pf()) {
            f |= PF;
        }
        if (af()) {
            f |= AF;
        }
        if (zf()) {
            f |= ZF;
        }
        if (sf()) {
            f |= SF;
        }
        if (of()) {
            f |= OF;
        }
        return f;
    }

    /** Sets all six status flags from an RFLAGS image. */
    void setArithFlags(long f) {
        boolean z = (f & ZF) != 0;
        lfRes = z ? 0 : 1;
        int low = z ? 0 : 1;
        int pdb = (f & PF) != 0 ? low : low ^ 1;
        int c = (f & CF) != 0 ? 1 : 0;
        int o = (f & OF) != 0 ? 1 : 0;
        lfAux = c << 31 | (c ^ o) << 30 | ((f & SF) != 0 ? AUX_SFD : 0) | ((f & AF) != 0 ? AUX_AF : 0)
                | pdb << AUX_PDB_SHIFT;
    }

    /** Sets CF and OF, leaving SF/ZF/PF/AF. */
    void setCfOf(boolean c, boolean o) {
        lfAux = (lfAux & ~(AUX_CF | AUX_PO)) | (c ? AUX_CF : 0) | (c != o ? AUX_PO : 0);
    }

    void setCf(boolean c) {
        setCfOf(c, of());
    }

    /** Sets ZF alone (CMPXCHG8B, LAR, LSL, VERR, VERW, BSF, BSR). */
    void setZf(boolean z) {
        if (z == zf()) {
            return;
        }
        long f = arithFlags();
        setArithFlags(z ? f | ZF : f & ~ZF);
    }

    /** Flags of a logic result: CF = OF = AF = 0. */
    void flagsLogic(long v, Insn in) {
        lfRes = (v << in.signShift()) >> in.signShift();
        lfAux = 0;
    }

    /** The carries out of the operand's two top bits, as lfAux bits 31 and 30 (any size, 64 included). */
    private static int topCarries(long carryVector, Insn in) {
        return (int) ((carryVector << in.signShift()) >>> 32) & (AUX_CF | AUX_PO);
    }

    void flagsAdd(long a, long b, long v, Insn in) {
        long cv = (a & b) | ((a | b) & ~v);
        lfAux = topCarries(cv, in) | ((int) cv & AUX_AF);
        lfRes = (v << in.signShift()) >> in.signShift();
    }

    void flagsSub(long a, long b, long v, Insn in) {
        long cv = (~a & b) | (~(a ^ b) & v);
        lfAux = topCarries(cv, in) | ((int) cv & AUX_AF);
        lfRes = (v << in.signShift()) >> in.signShift();
    }

    /** INC/DEC: like ADD/SUB of 1 but CF is preserved. */
    void flagsIncDec(long a, long b, long v, Insn in, boolean dec) {
        long cv = dec ? (~a & b) | (~(a ^ b) & v) : (a & b) | ((a | b) & ~v);
        int c = (int) cv;
        int sh = topCarries(cv, in);
        int ofBit = (sh ^ (sh << 1)) & AUX_CF;   // OF of the add/sub in bit 31
        int cfBit = lfAux & AUX_CF;
        lfAux = cfBit | ((cfBit ^ ofBit) >>> 1) | (c & AUX_AF);
        lfRes = (v << in.signShift()) >> in.signShift();
    }

    /** The eight classic ALU operations plus TEST; returns the (unmasked) result. */
    long alu(int kind, long a, long b, Insn in) {
        long v;
        switch (kind) {
            case ADD -> {
                v = a + b;
                flagsAdd(a, b, v, in);
            }
            case OR -> {
                v = a | b;
                flagsLogic(v, in);
            }
            case ADC -> {
                v = a + b + (cf() ? 1 : 0);
                flagsAdd(a, b, v, in);
            }
            case SBB -> {
                v = a - b - (cf() ? 1 : 0);
                flagsSub(a, b, v, in);
            }
            case AND, TEST -> {
                v = a & b;
                flagsLogic(v, in);
            }
            case SUB, CMP -> {
                v = a - b;
                flagsSub(a, b, v, in);
            }
            default -> {
                v = a ^ b;
                flagsLogic(v, in);
            }
        }
        return v;
    }

    /** Two- and three-operand IMUL: CF = OF = the product does not fit the destination. */
    long imul(long a, long b, Insn in) {
        int sx = in.signShift();
        long sa = (a << sx) >> sx, sb = (b << sx) >> sx;
        long p = sa * sb;
        long trunc = (p << sx) >> sx;
        lfRes = trunc;
        // 64-bit operands: the product overflows when its high half is not the sign of the low half
        boolean overflow = sx == 0 ? Math.multiplyHigh(sa, sb) != (p >> 63) : trunc != p;
        lfAux = overflow ? AUX_CF : 0;   // CF=1, PO=0 -> OF=1
        return p;
    }

    /** Shifts and rotates (SDM 2 SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR). */
    long shift(int kind, long a, int count, Insn in) {
        int bits = in.size() * 8;
        count &= bits == 64 ? 0x3F : 0x1F;   // SDM 2 SAL/SAR/SHL/SHR: 6-bit count with REX.W
        if (count == 0) {
            return a;
        }
        long mask = in.mask();
        int sx = in.signShift();
        switch (kind) {
            case ROL -> {
                int c = count % bits;
                long v = c == 0 ? a : ((a << c) | (a >>> (bits - c))) & mask;
                boolean cfb = (v & 1) != 0;
                setCfOf(cfb, ((v >>> (bits - 1)) & 1) != 0 ^ cfb);
                return v;
            }
            case ROR -> {
                int c = count % bits;
                long v = c == 0 ? a : ((a >>> c) | (a << (bits - c))) & mask;
                boolean msb = ((v >>> (bits - 1)) & 1) != 0;
                boolean msb1 = ((v >>> (bits - 2)) & 1) != 0;
                setCfOf(msb, msb ^ msb1);
                return v;
            }
            case RCL -> {
                int c = count % (bits + 1);
                long v = a;
                boolean carry = cf();
                for (int k = 0; k < c; k++) {
                    boolean out = ((v >>> (bits - 1)) & 1) != 0;
                    v = ((v << 1) | (carry ? 1 : 0)) & mask;
                    carry = out;
                }
                if (c != 0) {
                    setCfOf(carry, (((v >>> (bits - 1)) & 1) != 0) ^ carry);
                }
                return v;
            }
            case RCR -> {
                int c = count % (bits + 1);
                long v = a;
                boolean carry = cf();
                boolean of0 = ((a >>> (bits - 1)) & 1) != 0 ^ carry;
                for (int k = 0; k < c; k++) {
                    boolean out = (v & 1) != 0;
                    v = (v >>> 1) | ((carry ? 1L : 0) << (bits - 1));
                    carry = out;
                }
                if (c != 0) {
                    setCfOf(carry, of0);
                }
                return v;
            }
            case SHL, SAL -> {
                long v = (a << count) & mask;
                boolean cfb = count <= bits && ((a >>> (bits - count)) & 1) != 0;
                lfRes = (v << sx) >> sx;
                boolean o = ((v >>> (bits - 1)) & 1) != 0 ^ cfb;
                lfAux = (cfb ? AUX_CF : 0) | (cfb != o ? AUX_PO : 0);
                return v;
            }
            case SHR -> {
                long v = count >= 64 ? 0 : a >>> count;
                boolean cfb = count <= bits && ((a >>> (count - 1)) & 1) != 0;
                lfRes = (v << sx) >> sx;
                boolean o = count == 1 ? ((a >>> (bits - 1)) & 1) != 0 : false;
                lfAux = (cfb ? AUX_CF : 0) | (cfb != o ? AUX_PO : 0);
                return v;
            }
            default -> {   // SAR
                long s = (a << sx) >> sx;
                long v = (s >> Math.min(count, 63)) & mask;
                boolean cfb = ((s >> Math.min(count - 1, 63)) & 1) != 0;
                lfRes = (v << sx) >> sx;
                lfAux = cfb ? AUX_CF | AUX_PO : 0;   // OF = 0
                return v;
            }
        }
    }

    // ====================================================================================
    // Faults and exits
    // ====================================================================================

    /** A guest exception to raise: vector and error code (-1 = none) are in {@link Events}. */
    GuestFault fault(int vector, int errorCode) {
        events.pendingVector = vector;
        events.pendingError = errorCode;
        return GuestFault.INSTANCE;
    }

    GuestFault gp(int errorCode) {
        return fault(Events.GP, errorCode);
    }

    GuestFault ud() {
        return fault(Events.UD, -1);
    }

    /** Fills the exit-reason field and returns the signal that unwinds to run(). */
    VmExitSignal vmExit(int reason) {
        exit.reason = reason;
        return VmExitSignal.INSTANCE;
    }

    private void hostKickExit() {
        exit.reason = 1;   // external interrupt (SDM 3C Appendix C)
        exit.interruptionInfo = Events.INFO_VALID | Events.TYPE_EXTERNAL << 8 | HOST_KICK_VECTOR;
        exitTaken();
    }

    private void armPreemptionTimer() {
        VmxControls c = controls;
        if ((c.pinBased & PIN_PREEMPTION_TIMER) != 0) {
            // SDM 3C 26.5.1: the timer counts down each time TSC bit X (X = rate) changes
            int x = c.preemptionTimerRateShift & 31;
            long v = c.preemptionTimerValue & 0xFFFF_FFFFL;
            timerDeadline = v == 0 ? tsc : (((tsc >>> x) + v) << x);
        } else {
            timerDeadline = Long.MAX_VALUE;
        }
    }

    private void savePreemptionTimer() {
        VmxControls c = controls;
        if (timerDeadline != Long.MAX_VALUE) {
            int x = c.preemptionTimerRateShift & 31;
            long remaining = tsc >= timerDeadline ? 0 : (timerDeadline >>> x) - (tsc >>> x);
            c.preemptionTimerValue = remaining;
        }
    }

    private void preemptionTimerExit() {
        exit.reason = 52;   // VMX-preemption timer expired (SDM 3C 26.5.1)
        exitTaken();
    }

    /**
     * Activity state HLT (or shutdown / wait-for-SIPI): nothing but a host kick, a platform signal
     * the state does not block, or the preemption timer (not in wait-for-SIPI) can end it. Virtual
     * time jumps to the timer's expiry instead of stalling the host.
     */
    private void waitWhileInactive() {
        if (timerDeadline != Long.MAX_VALUE && activityState != ACTIVITY_WAIT_SIPI) {
            if (tsc < timerDeadline) {
                tsc = timerDeadline;
            }
            return;
        }
        // publish the thread before re-checking the flag, so requestExit() cannot miss us
        runner = Thread.currentThread();
        try {
            while (!signals.endsWait()) {
                LockSupport.parkNanos(this, 50_000_000L);
            }
        } finally {
            runner = null;
        }
    }

    /** Interrupt-window and NMI-window exits at an instruction boundary (SDM 3C 26.7.5, 26.7.6). */
    private boolean windowExit() {
        int proc = controls.procBased;
        if ((proc & (PROC_INTERRUPT_WINDOW | PROC_NMI_WINDOW)) == 0) {
            return false;
        }
        return sys.windowExit(proc);
    }

    /** Internal errors turned into triple-fault exits (should stay 0; the fuzz test checks it). */
    public long internalErrors;

    void internalError(Throwable t) {
        internalErrors++;
        LOG.log(System.Logger.Level.ERROR, "x86 core internal error at rip=0x" + Long.toHexString(rip)
                + "; reporting a triple fault", t);
        exit.clear();
        exit.reason = 2;
        activityState = ACTIVITY_SHUTDOWN;
    }
}
