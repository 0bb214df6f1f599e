package org.hotvisor.vmx.cpu.x86;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The signals other threads raise on the processor: the VMM's host kick ({@code requestExit}),
 * INIT, start-up IPIs and SMIs. Posting is lock-free (an atomic OR into {@link #pending}, then the
 * core's {@code exitRequested} flag, which the run loop already polls at block boundaries); the
 * vCPU thread recognises them at the next instruction boundary in VMX non-root operation.
 *
 * <p>Rules (SDM 3C 26.2 "Other causes of VM exits", 27.7.2 activity states, SDM 3A 6.9 priority):
 * <ul>
 *   <li>Priority SMI, then INIT (group 3 of SDM 3A Table 6-2), both above the VMX-preemption timer,
 *       the NMI/interrupt-window exits and the host kick (an external interrupt).
 *   <li>INIT and SMI are held for the one instruction after STI (with IF = 0) or MOV/POP SS
 *       (blocking by STI or MOV SS; SDM 2 STI: "NMIs (and SMIs) may be inhibited"); Hotvisor
 *       always inhibits both there, so recognition is deterministic.
 *   <li>INIT and SMI wake HLT and shutdown; the saved activity state stays HLT or shutdown (SDM 3C
 *       28.3.4). The wait-for-SIPI state blocks them: they stay pending (SDM 3C 27.7.2).
 *   <li>A SIPI causes exit 4 with the vector as exit qualification only in wait-for-SIPI; in any
 *       other activity state it is discarded when the processor next looks at its signals (it is
 *       latched until then, e.g. while the VMM runs in root operation). The last vector wins.
 *   <li>SMI: Hotvisor's VMM is the SMM monitor of the dual-monitor treatment (SDM 3C 32.15.2).
 *       Right after the core retired an I/O instruction that did not exit, the exit is an I/O SMI
 *       (5) with the I/O-SMI qualification (the layout of SDM 3C 28.2.1 Table 28-5), I/O RCX/RSI/RDI/RIP and, for INS/OUTS, the guest
 *       linear address (SDM 3C 32.15.2.3); otherwise it is "other SMI" (6). No SMM is entered.
 * </ul>
 * The guest state saved at these exits is the state after the last retired instruction.
 *
 * <p>Deviations: the host kick is not blocked by the shutdown or wait-for-SIPI state (the VMM must
 * always get its processor back), and signals are recognised at block boundaries (every
 * instruction boundary only while the core single-steps), like every asynchronous event here.
 */
public final class PlatformSignals {
    static final int HOST_KICK = 1, INIT = 1 << 1, SMI = 1 << 2, SIPI = 1 << 3;
    private static final int INIT_OR_SMI = INIT | SMI;
    private static final int SIGNALS = INIT | SMI | SIPI;

    /** Basic exit reasons (SDM 3C Appendix C). */
    static final int EXIT_INIT = 3, EXIT_SIPI = 4, EXIT_IO_SMI = 5, EXIT_OTHER_SMI = 6;
    private static final int VECTOR_MASK = 0xFF;

    private static final VarHandle PENDING;

    static {
        try {
            PENDING = MethodHandles.lookup().findVarHandle(PlatformSignals.class, "pending", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final X86Core core;
    @SuppressWarnings("unused") // accessed through PENDING
    private volatile int pending;
    private volatile int sipiVector;

    // The last I/O instruction the core retired without a VM exit (vCPU thread only).
    private long ioRetiredAt = -1;
    private long ioQualification, ioRcx, ioRsi, ioRdi, ioRip, ioLinear;

    /** Start-up IPIs dropped because the processor was not in wait-for-SIPI (statistics). */
    public long sipisDiscarded;

    PlatformSignals(X86Core core) {
        this.core = core;
    }

    /** Thread-safe: asserts INIT#. */
    public void postInit() {
        post(INIT);
    }

    /** Thread-safe: a start-up IPI with this 8-bit vector. */
    public void postStartup(int vector) {
        sipiVector = vector & VECTOR_MASK;
        post(SIPI);
    }

    /** Thread-safe: raises SMI#. */
    public void postSmi() {
        post(SMI);
    }

    /** Thread-safe: the VMM's kick (an external interrupt that exits with reason 1). */
    void postHostKick() {
        post(HOST_KICK);
    }

    private void post(int bit) {
        PENDING.getAndBitwiseOr(this, bit); // before the flag: the boundary clears the flag, then reads the bits
        core.wake();
    }

    /** Whether a signal of the given kind is pending (package-private, for tests and the run loop). */
    boolean isPending(int bit) {
        return ((int) PENDING.getVolatile(this) & bit) != 0;
    }

    /**
     * At an instruction boundary (the core's {@code exitRequested} was set): recognises SMI, INIT
     * and SIPI by priority and blocking, fills the exit information and returns true for an exit.
     * Re-arms {@code exitRequested} while anything stays pending (a kick, or a blocked signal).
     */
    boolean recognise() {
        X86Core c = core;
        c.exitRequested = false;
        int p = (int) PENDING.getVolatile(this);
        boolean exited = false;
        if ((p & SIGNALS) != 0) {
            int activity = c.activityState;
            if ((p & SIPI) != 0 && activity != X86Core.ACTIVITY_WAIT_SIPI) {
                take(SIPI); // SDM 3C 27.7.2: the active, HLT and shutdown states discard SIPIs
                sipisDiscarded++;
            }
            boolean shadow = (c.interruptibility & (X86Core.BLOCKING_BY_STI | X86Core.BLOCKING_BY_MOV_SS)) != 0;
            boolean initSmiBlocked = activity == X86Core.ACTIVITY_WAIT_SIPI || shadow;
            ExitInfo e = c.exit;
            if ((p & SMI) != 0 && !initSmiBlocked) {
                take(SMI);
                smiExit(e);
                exited = true;
            } else if ((p & INIT) != 0 && !initSmiBlocked) {
                take(INIT);
                e.reason = EXIT_INIT; // SDM 3C 28.2.1: qualification 0; no register state changes
                exited = true;
            } else if ((p & SIPI) != 0 && activity == X86Core.ACTIVITY_WAIT_SIPI) {
                take(SIPI);
                e.reason = EXIT_SIPI;
                e.qualification = sipiVector; // SDM 3C 28.2.1: the SIPI vector
                exited = true;
            }
        }
        if ((int) PENDING.getVolatile(this) != 0) {
            c.exitRequested = true;
        }
        return exited;
    }

    /** Takes a pending host kick (after the higher-priority exits had their turn). */
    boolean takeHostKick() {
        return (take(HOST_KICK) & HOST_KICK) != 0;
    }

    /** Whether an inactive processor must leave its wait: a kick, or a signal its activity state does not block. */
    boolean endsWait() {
        int p = (int) PENDING.getVolatile(this);
        int wakes = core.activityState == X86Core.ACTIVITY_WAIT_SIPI ? HOST_KICK | SIPI : HOST_KICK | SIGNALS;
        return (p & wakes) != 0;
    }

    private int take(int bit) {
        return (int) PENDING.getAndBitwiseAnd(this, ~bit);
    }

    /**
     * Called by an I/O instruction that runs without a VM exit, before it changes anything: what an
     * SMI right after it reports (SDM 3C 32.15.2.3: the Table 28-5 layout, registers before the
     * instruction, the linear address of INS/OUTS).
     */
    void ioStarted(long qualification, long rcx, long rsi, long rdi, long rip, long linear) {
        ioRetiredAt = -1;
        ioQualification = qualification;
        ioRcx = rcx;
        ioRsi = rsi;
        ioRdi = rdi;
        ioRip = rip;
        ioLinear = linear;
    }

    /** The I/O instruction completed; {@code retiredAfter} is the retired-instruction count once it has retired. */
    void ioCompleted(long retiredAfter) {
        ioRetiredAt = retiredAfter;
    }

    private void smiExit(ExitInfo e) {
        if (ioRetiredAt == core.instructionsRetired()) {
            e.reason = EXIT_IO_SMI;
            e.qualification = ioQualification;
            e.ioRcx = ioRcx;
            e.ioRsi = ioRsi;
            e.ioRdi = ioRdi;
            e.ioRip = ioRip;
            e.guestLinearAddress = ioLinear;
        } else {
            e.reason = EXIT_OTHER_SMI;
        }
        ioRetiredAt = -1;
    }
}
