package org.hotvisor.kernel.vm;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.hotvisor.api.ExitAction;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.GuestMemory;
import org.hotvisor.api.Vcpu;
import org.hotvisor.api.device.InterruptController;
import org.hotvisor.api.vmx.LogicalProcessor;
import org.hotvisor.api.vmx.PinBasedControl;
import org.hotvisor.api.vmx.ProcessorControl;
import org.hotvisor.api.vmx.VmInstructionError;
import org.hotvisor.api.vmx.VmcsField;
import org.hotvisor.api.vmx.VmxStatus;
import org.hotvisor.kernel.dispatch.ExitDispatcher;
import org.hotvisor.kernel.dispatch.HandlerEntry;
import org.hotvisor.kernel.stats.ExitStatistics;
import org.hotvisor.kernel.stats.ExitTrace;

/**
 * One vCPU and its run loop. The loop is the VMM life cycle of SDM 3C 24.7 (and KVM's vcpu_run):
 * <ol>
 * <li>VMXON;</li>
 * <li>VMCLEAR and VMPTRLD of this vCPU's VMCS;</li>
 * <li>VMWRITE of the controls, host state and guest state ({@link VmcsSetup});</li>
 * <li>VMLAUNCH, later VMRESUME;</li>
 * <li>per exit: VMREAD of the exit information, dispatch to the handler bundles, event injection,
 *     then resume;</li>
 * <li>VMCLEAR and VMXOFF when the VM stops.</li>
 * </ol>
 * The loop allocates nothing per exit; the dispatch table is one volatile read.
 *
 * <p>With several vCPUs each runs this loop on its own host thread with its own VMCS. vCPU 0 is
 * the timekeeper: it publishes its TSC as the machine's virtual time and runs the due timers.
 * An application processor only catches its TSC up with that time (deterministic clock).
 */
public final class VirtualCpu implements Vcpu {
    private static final int KERNEL_HANDLED = 0;

    private final int index;
    private final Machine machine;
    /** vCPU 0: publishes the virtual time and runs the due timers at its exits. */
    private final boolean timekeeper;
    final ExitView view;
    final ExitStatistics stats = new ExitStatistics();
    private final Map<String, Object> state = new ConcurrentHashMap<>();
    private final Throwable[] faultBox = new Throwable[1];

    /** The processor; replaced when the CPU bundle is swapped. Only the vCPU thread drives it. */
    volatile LogicalProcessor cpu;
    /** Whether the current VMCS is launched (VMRESUME) or clear (VMLAUNCH). */
    boolean launched;
    private long sequence;
    private int procControls;
    private boolean windowExiting;
    /** The processor offers the monitor trap flag (read once per run loop). */
    private boolean mtfAvailable;
    /** The kernel set the monitor trap flag to step past an MMIO instruction before injecting. */
    private boolean steppingPastMmio;
    private boolean preemptionTimer;
    private String lastBundle;
    volatile ExitTrace trace;
    /** This vCPU's interrupt controller: its local APIC, else the 8259 (see {@link InterruptRouting}). */
    volatile InterruptController controller;

    // Life cycle, guarded by the machine's monitor.
    Thread thread;
    boolean parked;
    /** GPRs, CR2 and DRs saved across a CPU-bundle swap (they are not in the VMCS). */
    final long[] savedGprs = new long[16];
    final long[] savedDrs = new long[7];
    long savedCr2;
    boolean savedState;
    /** Actions for this vCPU's thread, run between an exit and the next entry. */
    private final java.util.concurrent.ConcurrentLinkedQueue<Runnable> tasks = new java.util.concurrent.ConcurrentLinkedQueue<>();

    VirtualCpu(int index, Machine machine) {
        this.index = index;
        this.machine = machine;
        this.timekeeper = index == 0;
        GuestMemory ram = machine.memory();
        // vCPU 0 translates through GuestRam's translator (its processor); the others through their own.
        this.view = new ExitView(this, index == 0 ? ram : new VcpuMemory(ram, this));
    }

    /** Set after a task is queued, cleared before the queue is drained: one read per exit instead of a queue walk. */
    private volatile boolean tasksQueued;

    /** Queues an action for this vCPU's thread (it runs at the next exit; the caller kicks). */
    void post(Runnable task) {
        tasks.add(task);
        tasksQueued = true;
    }

    /** On the vCPU thread after each exit (and when parking): runs queued actions; returns whether any ran. */
    boolean runTasks() {
        if (!tasksQueued) {
            return false;
        }
        tasksQueued = false;
        if (tasks.isEmpty()) {
            return false;
        }
        for (Runnable t; (t = tasks.poll()) != null; ) {
            t.run();
        }
        return true;
    }

    @Override
    public int index() {
        return index;
    }

    @Override
    public long instructionsRetired() {
        LogicalProcessor c = cpu;
        return c == null ? 0 : c.instructionsRetired();
    }

    @Override
    public boolean interruptPending() {
        InterruptController pic = controller;
        return pic != null && pic.interruptPending();
    }

    @Override
    public boolean interruptsEnabled() {
        return (view.get(org.hotvisor.api.Register.RFLAGS) & RFLAGS_IF) != 0;
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T> T state(String key, Supplier<T> initial) {
        Object v = state.get(key); // get first: computeIfAbsent's capturing lambda would allocate per call
        if (v == null) {
            Object fresh = initial.get();
            v = state.putIfAbsent(key, fresh);
            if (v == null) {
                v = fresh;
            }
        }
        return (T) v;
    }

    // ---- platform signals (the local APIC's INIT, SIPI and NMI messages)

    private volatile boolean nmiPending;

    /*
     * INIT-SIPI ordering on an application processor. In VMX non-root operation the wait-for-SIPI
     * state blocks INIT (SDM 3C 25.4.2, 26.2), while a bare-metal AP re-initialises and keeps
     * waiting. Posted as is, a guest's INIT-SIPI-SIPI to a waiting AP would exit 4 first and INIT
     * (exit 3) after it, leaving the AP waiting again. So the kernel keeps the order: while an INIT
     * is in flight (posted, its exit 3 not yet handled) a SIPI is held back and posted after the
     * exit; and a waiting AP with an INIT in flight re-enters in the HLT activity state, which does
     * not block INIT. Guarded by "signalLock"; off the hot path (one volatile read per AP entry).
     */
    private final Object signalLock = new Object();
    private volatile boolean initInFlight;
    private int heldSipiVector = NO_SIPI;
    /** Whether the AP is in the wait-for-SIPI activity state (set by the vCPU thread after set-up and exits 3/4). */
    volatile boolean waitingForSipi;
    private static final int NO_SIPI = -1;

    @Override
    public void deliverInit() {
        if (!timekeeper) {
            synchronized (signalLock) {
                initInFlight = true;
                heldSipiVector = NO_SIPI; // SDM 3A 9.4: INIT discards what came before it
            }
        }
        LogicalProcessor c = cpu;
        if (c != null) {
            c.signalInit(); // without a processor yet, processorReady posts it
        }
        if (!timekeeper) {
            kick(); // the AP's thread must see "initInFlight" at an entry
        } else {
            machine.clock().wake();
        }
    }

    @Override
    public void deliverStartup(int vector) {
        if (!timekeeper) {
            synchronized (signalLock) {
                if (initInFlight) {
                    heldSipiVector = vector & 0xFF; // posted once the INIT exit is handled
                    return;
                }
            }
        }
        LogicalProcessor c = cpu;
        if (c != null) {
            c.signalStartup(vector & 0xFF);
        }
        if (timekeeper) {
            machine.clock().wake();
        }
    }

    /** After exit 3 or 4 on the vCPU thread: the activity state may have changed; post a held SIPI. */
    private void signalExitHandled(LogicalProcessor c, int basic) {
        waitingForSipi = c.vmread(VmcsField.GUEST_ACTIVITY_STATE.encoding()) == ACTIVITY_WAIT_FOR_SIPI;
        if (basic != INIT_EXIT || timekeeper) {
            return;
        }
        int held;
        synchronized (signalLock) {
            initInFlight = false;
            held = heldSipiVector;
            heldSipiVector = NO_SIPI;
        }
        if (held != NO_SIPI) {
            c.signalStartup(held);
        }
    }

    /** Before an AP's entry with an INIT in flight: leave wait-for-SIPI for HLT, so the INIT is recognised. */
    private void unblockInit(LogicalProcessor c) {
        if (c.vmread(VmcsField.GUEST_ACTIVITY_STATE.encoding()) == ACTIVITY_WAIT_FOR_SIPI) {
            c.vmwrite(VmcsField.GUEST_ACTIVITY_STATE.encoding(), ACTIVITY_HLT);
        }
    }

    /**
     * A new processor for this vCPU (start, CPU swap): an INIT posted to the old one and not yet
     * taken is posted again, else a held SIPI would wait forever.
     */
    void processorReady(LogicalProcessor c) {
        if (initInFlight) {
            c.signalInit();
        }
    }

    /** A platform reset or a new run: no signal in flight. */
    void resetSignals() {
        synchronized (signalLock) {
            initInFlight = false;
            heldSipiVector = NO_SIPI;
        }
        nmiPending = false;
        waitingForSipi = false;
    }

    private static final int INIT_EXIT = 3, SIPI_EXIT = 4;
    private static final long ACTIVITY_WAIT_FOR_SIPI = 3;

    @Override
    public void deliverNmi() {
        nmiPending = true;
        kick();
    }

    @Override
    public void kick() {
        LogicalProcessor c = cpu;
        if (c != null) {
            c.requestExit();
        }
        if (timekeeper) {
            machine.clock().wake(); // vCPU 0 may idle on the clock (HLT); an AP halts inside its processor
        }
    }

    /** The processor, for the console's inspection commands while the vCPU is parked. */
    public LogicalProcessor processorForInspection() {
        return cpu;
    }

    public ExitStatistics statistics() {
        return stats;
    }

    /** Drops state kept for handlers (machine reset). */
    void clearHandlerState() {
        state.clear();
    }

    private static final long RFLAGS_IF = 1L << 9;

    // ---------------------------------------------------------------- the run loop

    /**
     * Runs the guest until the machine stops or pauses for a CPU swap. Called on the vCPU thread,
     * with the processor already in VMX operation and the VMCS current and set up.
     */
    void runLoop() {
        LogicalProcessor c = cpu;
        // ---- debugger support: the hook may hold the vCPU before its first entry, or arm a step
        Machine.DebugHook hook = debugHook;
        if (hook != null && !hook.beforeRun(c)) {
            return;
        }
        // ---- end debugger support
        reloadCachedControls(c);
        org.hotvisor.api.vmx.VmxProcessor processor = machine.processorService();
        mtfAvailable = processor != null
                && new org.hotvisor.kernel.console.VmxCapabilities(processor).mayBeOne(ProcessorControl.MONITOR_TRAP_FLAG);
        prepareEntry(c);
        // Timing is sampled (ExitStatistics): a host-clock read costs as much as a fast exit.
        // The coarse clock, a field read, still catches every handler over its budget.
        CoarseClock.acquire();
        try {
            runGuest(c);
        } finally {
            CoarseClock.release();
        }
    }

    /**
     * VMLAUNCH or VMRESUME, then per exit {@link #exitThenPrepare} and VMRESUME again until the
     * machine takes over or an entry fails. The loop itself is kept trivial: the per-exit work is
     * a method of its own, which the JIT compiles after a few thousand exits, where a loop body
     * waits for on-stack replacement (tens of thousands of back edges, after a profiled tier).
     */
    private void runGuest(LogicalProcessor c) {
        long loopBase = stats.loopNanos();
        long loopStart = System.nanoTime();
        VmxStatus status = launched ? c.vmresume() : c.vmlaunch();
        while (status == VmxStatus.SUCCEED) {
            launched = true;
            c = exitThenPrepare(c, loopBase, loopStart);
            if (c == null) {
                return; // stop, pause, reset or CPU swap: the machine takes over
            }
            status = c.vmresume();
        }
        entryFailedAsInstruction(c, status);
        stats.loopNanos(loopBase + System.nanoTime() - loopStart);
    }

    /**
     * One VM exit: VMREAD its information, dispatch it, account for it and prepare the next entry.
     * Returns the processor to resume, or null when the machine takes over (this exit still counts).
     * Rare work (timing a sampled exit, leaving the run) lives in methods of its own, and so do the
     * rare cases of the methods this one calls: C2 inlines a hot method only up to 325 bytes of
     * bytecode, and each call left on the path spills every live register.
     */
    private LogicalProcessor exitThenPrepare(LogicalProcessor c, long loopBase, long loopStart) {
        view.load(c, ++sequence);
        int basic = view.rawReason & 0xFFFF;
        int slot = basic & (ExitReason.TABLE_SIZE - 1);
        boolean timed = stats.countAndSample(slot) || trace != null;
        long exitTime = timed ? System.nanoTime() : 0;
        long coarseExitTime = CoarseClock.nanos();
        if (timekeeper) {
            if (EXIT_NANOS != 0 && !machine.clock().hostPaced()) {
                c.advanceTsc(EXIT_NANOS); // deterministic time: an exit costs cycles, as on hardware
            }
            machine.clock().publish(c.tsc());
        } else {
            followClock(c);
        }
        handleExit(c, basic);
        if (timekeeper) {
            machine.clock().runDue();
        }
        if (runTasks()) {
            reloadCachedControls(c); // a console action may have rewritten the controls
        }
        if (machine.serviceRequests(this)) {
            leaveRun(c, slot, timed, exitTime, loopBase, loopStart);
            return null;
        }
        c = cpu;
        prepareEntry(c);
        stats.handledBy(slot, lastBundle);
        if (timed) {
            accountTimedExit(c, slot, exitTime, loopBase, loopStart);
        } else {
            // untimed: the coarse clock (ms resolution) bounds the handling time from below
            long handling = CoarseClock.nanos() - coarseExitTime;
            if (handling > machine.dispatcher().budgetNanos()) {
                checkBudget(slot, handling);
            }
        }
        return c;
    }

    /**
     * A sampled exit's handling time, the loop time, the instruction count and the trace, before
     * the entry. The loop time and the instruction count go together, so the guest MIPS a reader
     * computes from them between two sampled exits stays consistent.
     */
    private void accountTimedExit(LogicalProcessor c, int slot, long exitTime, long loopBase, long loopStart) {
        long entryTime = System.nanoTime();
        long handling = entryTime - exitTime;
        stats.time(slot, handling);
        stats.loopNanos(loopBase + entryTime - loopStart);
        stats.instructions(c.instructionsRetired());
        checkBudget(slot, handling);
        ExitTrace t = trace;
        if (t != null) {
            t.exit(sequence, view.rawReason, view.qualification, view.instructionLength, view.guestRip, lastBundle, handling);
        }
    }

    /** The exit that ends, pauses or resets the run: counted, timed and traced like any other. */
    private void leaveRun(LogicalProcessor c, int slot, boolean timed, long exitTime, long loopBase, long loopStart) {
        long now = System.nanoTime();
        stats.handledBy(slot, lastBundle);
        if (timed) {
            stats.time(slot, now - exitTime);
            ExitTrace t = trace;
            if (t != null) {
                t.exit(sequence, view.rawReason, view.qualification, view.instructionLength, view.guestRip, lastBundle,
                        now - exitTime);
            }
        }
        stats.loopNanos(loopBase + now - loopStart);
        stats.instructions(c.instructionsRetired());
    }

    /**
     * An AP's TSC follows vCPU 0's (deterministic clock): it never lags the machine time, so a
     * TSC deadline an AP computes from RDTSC meets the clock that fires it. Host clock: nothing.
     */
    private void followClock(LogicalProcessor c) {
        VirtualClockImpl clock = machine.clock();
        if (!clock.hostPaced()) {
            long lag = clock.nanos() - c.tsc();
            if (lag > 0) {
                c.advanceTsc(lag);
            }
        }
    }

    /**
     * Virtual nanoseconds (= TSC cycles of the deterministic clock) one VM exit costs the guest:
     * a round trip costs on the order of a thousand cycles on hardware, and a guest that times
     * its exits (kvm-unit-tests' vmexit runs each test for 2^30 cycles) needs them to cost some.
     * {@code -Dhotvisor.exitNanos=0} restores "1 ns per instruction" alone.
     */
    static final long EXIT_NANOS = Long.getLong("hotvisor.exitNanos", 1000);

    private void checkBudget(int slot, long handling) {
        if (handling > machine.dispatcher().budgetNanos() && lastBundle != null) {
            stats.recordOverBudget(slot);
            machine.reportOverBudget(lastBundle, view.reason(), view.guestRip, handling);
        }
    }

    private void reloadCachedControls(LogicalProcessor c) {
        VmcsSetup.linkShadowVmcs(c, machine.hostLayout()); // the console may have switched VMCS shadowing
        procControls = (int) c.vmread(VmcsField.CPU_BASED_VM_EXEC_CONTROL.encoding());
        windowExiting = ProcessorControl.INTERRUPT_WINDOW_EXITING.isSet(procControls);
        preemptionTimer = PinBasedControl.ACTIVATE_VMX_PREEMPTION_TIMER.isSet(
                (int) c.vmread(VmcsField.PIN_BASED_VM_EXEC_CONTROL.encoding()));
    }

    private void handleExit(LogicalProcessor c, int basic) {
        // every path below sets lastBundle (a reference store per exit costs a card mark, so only one)
        if (view.rawReason < 0) { // bit 31: VM-entry failure (SDM 3C 27.8)
            stopForEntryFailure(basic);
            return;
        }
        if (steppingPastMmio && finishMmioStep(c, basic)) {
            lastBundle = null;
            return;
        }
        // ---- debugger support: breakpoint (#BP) and monitor-trap-flag exits of the console/gdb debugger
        Machine.DebugHook hook = debugHook;
        if (hook != null && debuggerTookExit(hook, c, basic)) {
            return;
        }
        // ---- end debugger support
        switch (basic) {
            // The kernel's own mechanisms: a host kick, timer deadlines and interrupt windows.
            case 1, 7, 8 -> lastBundle = "kernel";
            case 52 -> {
                lastBundle = "kernel";
                idleIfHalted(c);
            }
            case 2 -> {
                lastBundle = "kernel";
                machine.stopFromVcpu(StopStatus.TRIPLE_FAULT, String.format("triple fault at RIP 0x%x", view.guestRip));
            }
            case INIT_EXIT, SIPI_EXIT -> {
                dispatch(c, basic);
                signalExitHandled(c, basic);
            }
            default -> dispatch(c, basic);
        }
        // ---- debugger support: an instruction the VMM emulated while single-stepping counts as a step
        if (hook != null && hook.afterExit(c, basic, view.guestRip)) {
            reloadCachedControls(c);
        }
    }

    private void stopForEntryFailure(int basic) {
        lastBundle = null;
        stats.recordEntryFailure();
        machine.stopFromVcpu(StopStatus.ENTRY_FAILURE, String.format(
                "VM-entry failure: exit reason %d (%s), qualification 0x%x, guest RIP 0x%x",
                basic, name(basic), view.qualification, view.guestRip));
    }

    private boolean debuggerTookExit(Machine.DebugHook hook, LogicalProcessor c, int basic) {
        if ((basic == MONITOR_TRAP_FLAG_EXIT || basic == EXCEPTION_OR_NMI_EXIT) && hook.onExit(c, basic)) {
            lastBundle = "debugger";
            reloadCachedControls(c);
            return true;
        }
        return false;
    }

    private static final int EXCEPTION_OR_NMI_EXIT = 0, MONITOR_TRAP_FLAG_EXIT = 37;
    /** The debugger's hook, or null (no breakpoints, no step in progress): one volatile read per exit. */
    volatile Machine.DebugHook debugHook;
    // ---- end debugger support

    /**
     * With HLT exiting off the processor halts by itself (activity state HLT, SDM 3C 25.4.2) and
     * only the preemption timer brings it back: idle the vCPU to the next timer deadline instead of
     * spinning through timer exits. A halt nothing can end is a power-off, as for an HLT exit.
     */
    private void idleIfHalted(LogicalProcessor c) {
        if (c.vmread(VmcsField.GUEST_ACTIVITY_STATE.encoding()) != ACTIVITY_HLT || interruptPending()) {
            return;
        }
        VirtualClockImpl clock = machine.clock();
        long deadline = clock.nextDeadline();
        if (deadline == Long.MAX_VALUE && !clock.hostPaced() && machine.vcpuCount() == 1) {
            // with other vCPUs, an IPI may still come: the clock parks until a kick
            machine.stopFromVcpu(StopStatus.POWER_OFF, "halted with no timer armed and no interrupt source");
            return;
        }
        clock.idleUntil(deadline);
    }

    private static final long ACTIVITY_HLT = 1;

    private void dispatch(LogicalProcessor c, int basic) {
        ExitDispatcher d = machine.dispatcher();
        int slot = basic & (ExitReason.TABLE_SIZE - 1);
        long waited = d.awaitSwap(slot);
        HandlerEntry[] handlers = d.table().handlers(slot);
        // A swap that began between the wait and the table read may already have removed the
        // outgoing handler from this table (beginSwap comes before the removal): wait it out too.
        while (d.swapPending(slot)) {
            waited += d.awaitSwap(slot);
            handlers = d.table().handlers(slot);
        }
        if (waited > 0) {
            stats.recordSwapWait(slot, waited);
        }
        for (HandlerEntry e : handlers) {
            ExitAction a = ExitDispatcher.invoke(e, view, faultBox);
            if (a == null) {
                if (handlerFaulted(d, slot, e)) {
                    return;
                }
                continue;
            }
            if (a == ExitAction.PASS) {
                view.discard();
                continue;
            }
            lastBundle = e.bundle();
            view.commit();
            completeMmioWrite(c, a);
            apply(c, a);
            return;
        }
        lastBundle = "default";
        ExitAction a = DefaultExitHandlers.handle(basic, view, machine);
        view.commit();
        apply(c, a);
    }

    /**
     * A handler threw: its staged changes are dropped and the reason's fault policy decides.
     * Returns true if the exit is dealt with, false to try the next handler.
     */
    private boolean handlerFaulted(ExitDispatcher d, int slot, HandlerEntry e) {
        Throwable fault = faultBox[0];
        faultBox[0] = null;
        view.discard();
        stats.recordFault(slot);
        switch (d.faultPolicy(slot)) {
            case PAUSE -> {
                lastBundle = e.bundle();
                machine.pauseForFault(this, e.bundle(), view.reason(), view.guestRip, fault);
                return true;
            }
            case INJECT_UD -> {
                lastBundle = e.bundle();
                view.injectException(6, -1);
                view.commit();
                return true;
            }
            case INJECT_GP -> {
                lastBundle = e.bundle();
                view.injectException(13, 0);
                view.commit();
                return true;
            }
            default -> {
                return false; // NEXT
            }
        }
    }

    /** SDM 3C 28.2.1 Table 28-7: EPT violation, bit 1 = the access was a data write. */
    private static final int EPT_VIOLATION_EXIT = 48;
    private static final long EPT_DATA_WRITE = 1L << 1;

    /**
     * A handler that took a data-write EPT violation (returned RESUME or EMULATED) has consumed
     * the written value: the re-executed instruction's write is complete, as a read is with
     * completeRead. Without this the write would exit again forever.
     */
    private void completeMmioWrite(LogicalProcessor c, ExitAction a) {
        if (view.rawReason == EPT_VIOLATION_EXIT && (a == ExitAction.RESUME || a == ExitAction.EMULATED)
                && !view.stopRequested && (view.qualification & EPT_DATA_WRITE) != 0 && c.mmioAccessSize() != 0) {
            c.completeMmioWrite();
        }
    }

    private void apply(LogicalProcessor c, ExitAction a) {
        if (view.stopRequested) {
            machine.stopFromVcpu(view.stopStatus, view.stopReason);
            return;
        }
        if (a == ExitAction.EMULATED) { // an if, not a switch: an enum switch reads a synthetic ordinal map
            c.vmwrite(ExitView.GUEST_RIP, view.guestRip + view.instructionLength);
            // SDM 3C 26.7.1 / 25.4.2: an emulated instruction ends STI and MOV-SS blocking.
            long intr = c.vmread(ExitView.GUEST_INTERRUPTIBILITY_INFO);
            if ((intr & 3) != 0) {
                c.vmwrite(ExitView.GUEST_INTERRUPTIBILITY_INFO, intr & ~3L);
            }
        } else if (a == ExitAction.STOP) {
            machine.stopFromVcpu(StopStatus.HANDLER_STOP, "handler " + lastBundle + " stopped the VM");
        } // RESUME and PASS: RIP stays

    }

    /**
     * Before each VM entry: re-inject an event whose delivery the exit interrupted, inject a pending
     * external interrupt when the guest can take it (else ask for an interrupt-window exit), and
     * set the VMX-preemption timer to the next timer deadline.
     */
    private void prepareEntry(LogicalProcessor c) {
        int idtVectoring = (int) c.vmread(ExitView.IDT_VECTORING_INFO_FIELD);
        boolean wantWindow;
        if (idtVectoring < 0 || nmiPending || debugHook != null || (!timekeeper && initInFlight)) {
            wantWindow = injectEvents(c, idtVectoring);
        } else {
            // the usual entry: nothing to re-inject, no NMI, no debugger; maybe an interrupt
            InterruptController pic = controller;
            wantWindow = pic != null && pic.interruptPending() && offerInterrupt(c, pic, false, 0, null);
        }
        if (wantWindow != windowExiting) {
            windowExiting = wantWindow;
            procControls = ProcessorControl.INTERRUPT_WINDOW_EXITING.set(procControls, wantWindow);
            c.vmwrite(VmcsField.CPU_BASED_VM_EXEC_CONTROL.encoding(), procControls & 0xFFFFFFFFL);
        }
        if (preemptionTimer) {
            VirtualClockImpl clock = machine.clock();
            long deadline = clock.nextDeadline();
            long ticks;
            if (clock.hostPaced()) {
                ticks = HOST_SLICE; // host time: come back often enough to fire wall-clock timers
            } else {
                ticks = deadline == Long.MAX_VALUE ? MAX_TIMER : Math.max(0, Math.min(MAX_TIMER, deadline - c.tsc()));
            }
            c.vmwrite(ExitView.VMX_PREEMPTION_TIMER_VALUE, ticks);
        }
    }

    /**
     * The entry after an exit that interrupted an event's delivery, with an NMI pending, an INIT
     * in flight or the debugger attached. Returns true if an interrupt-window exit is wanted.
     */
    private boolean injectEvents(LogicalProcessor c, int idtVectoring) {
        boolean nmi = nmiPending;
        // The entry information decides something only for a re-injection, an NMI or an interrupt:
        // most exits have none of them and skip the VMREAD.
        boolean entryInfoRead = idtVectoring < 0 || nmi;
        int entryInfo = entryInfoRead ? (int) c.vmread(ExitView.VM_ENTRY_INTR_INFO_FIELD) : 0;
        if (idtVectoring < 0 && entryInfo >= 0) {
            // SDM 3C 28.2.4 / 27.6: the VMM re-injects the event that was being delivered.
            c.vmwrite(ExitView.VM_ENTRY_INTR_INFO_FIELD, idtVectoring & ~(1 << 12) & 0xFFFFFFFFL);
            if ((idtVectoring & (1 << 11)) != 0) {
                c.vmwrite(ExitView.VM_ENTRY_EXCEPTION_ERROR_CODE,
                        c.vmread(VmcsField.IDT_VECTORING_ERROR_CODE.encoding()));
            }
            int type = (idtVectoring >> 8) & 7;
            if (type >= 4) {
                c.vmwrite(VmcsField.VM_ENTRY_INSTRUCTION_LEN.encoding(), view.instructionLength);
            }
            entryInfo = idtVectoring;
        }
        if (nmi && entryInfo >= 0) {
            entryInfo = injectNmiIfUnblocked(c);
        }
        if (!timekeeper && initInFlight) {
            unblockInit(c);
        }
        InterruptController pic = controller;
        // ---- debugger support: while single-stepping, hold interrupts back (QEMU's SSTEP_NOIRQ)
        Machine.DebugHook hook = debugHook;
        if (hook != null && hook.maskInterrupts(c)) {
            pic = null;
        }
        // ---- end debugger support
        return pic != null && pic.interruptPending() && offerInterrupt(c, pic, entryInfoRead, entryInfo, hook);
    }

    /**
     * An interrupt is pending: inject it when the guest can take it, else ask for an
     * interrupt-window exit. Returns true if an interrupt-window exit is wanted.
     */
    private boolean offerInterrupt(LogicalProcessor c, InterruptController pic, boolean entryInfoRead, int entryInfo,
            Machine.DebugHook hook) {
        if (!entryInfoRead) {
            entryInfo = (int) c.vmread(ExitView.VM_ENTRY_INTR_INFO_FIELD);
        }
        if (entryInfo < 0 || !canTakeInterrupt(c)) {
            return true;
        }
        if (view.rawReason == EPT_VIOLATION_EXIT && mtfAvailable && hook == null) {
            stepPastMmio(c);
            return false;
        }
        int vector = pic.acknowledge() & 0xFF;
        // SDM 3C 25.8.3: valid, type 0 (external interrupt), vector.
        c.vmwrite(ExitView.VM_ENTRY_INTR_INFO_FIELD, 0x8000_0000L | vector);
        // Another request behind this one: exit when the guest can take it (after its IRET/STI).
        return pic.interruptPending();
    }

    /**
     * SDM 3C 26.3.1.5 / 27.6: an NMI is injected (type 2, vector 2) when the guest blocks neither
     * NMIs nor, through STI or MOV SS, events; otherwise it waits for a later entry. Returns the
     * entry interruption information now in the VMCS.
     */
    private int injectNmiIfUnblocked(LogicalProcessor c) {
        long intr = c.vmread(ExitView.GUEST_INTERRUPTIBILITY_INFO);
        if ((intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS | INTERRUPTIBILITY_NMI)) != 0) {
            return 0;
        }
        nmiPending = false;
        int info = 0x8000_0000 | (NMI_TYPE << 8) | NMI_VECTOR;
        c.vmwrite(ExitView.VM_ENTRY_INTR_INFO_FIELD, info & 0xFFFF_FFFFL);
        return info;
    }

    /**
     * The guest resumes at an instruction whose MMIO access the VMM completed; it re-executes at
     * the next VM entry (LogicalProcessor.completeMmioRead/Write). An interrupt injected at that
     * entry would be delivered first (SDM 3C 27.6) with the instruction still to do: its
     * completion would be spent on the handler's first instruction and, after IRET, the access
     * would exit and take effect again (a self-IPI through the ICR would repeat forever). So the
     * interrupt waits for a monitor-trap-flag exit, which comes after that instruction (SDM 3C
     * 26.5.2); an interrupt-window exit would come before it (SDM 3C 27.7.5).
     */
    private void stepPastMmio(LogicalProcessor c) {
        steppingPastMmio = true;
        procControls = ProcessorControl.MONITOR_TRAP_FLAG.set(procControls, true);
        c.vmwrite(VmcsField.CPU_BASED_VM_EXEC_CONTROL.encoding(), procControls & 0xFFFFFFFFL);
    }

    /** The exit after a {@link #stepPastMmio} entry: clears the flag; true if it was the kernel's MTF exit. */
    private boolean finishMmioStep(LogicalProcessor c, int basic) {
        steppingPastMmio = false;
        procControls = ProcessorControl.MONITOR_TRAP_FLAG.set(procControls, false);
        c.vmwrite(VmcsField.CPU_BASED_VM_EXEC_CONTROL.encoding(), procControls & 0xFFFFFFFFL);
        if (basic == MONITOR_TRAP_FLAG_EXIT) {
            lastBundle = "kernel";
            return true;
        }
        return false;
    }

    private static final long INTERRUPTIBILITY_STI = 1, INTERRUPTIBILITY_MOV_SS = 2, INTERRUPTIBILITY_NMI = 8;
    private static final int NMI_TYPE = 2, NMI_VECTOR = 2;

    /** 32-bit preemption-timer field. */
    private static final long MAX_TIMER = 0xFFFF_FFFFL;
    /** In host-clock mode, instructions between wall-clock checks. */
    private static final long HOST_SLICE = 200_000;

    private static boolean canTakeInterrupt(LogicalProcessor c) {
        // SDM 3C 26.3.1.1 / 6.8.1: RFLAGS.IF set and no STI or MOV-SS blocking.
        return (c.vmread(VmcsField.GUEST_RFLAGS.encoding()) & RFLAGS_IF) != 0
                && (c.vmread(ExitView.GUEST_INTERRUPTIBILITY_INFO) & 3) == 0;
    }

    private void entryFailedAsInstruction(LogicalProcessor c, VmxStatus status) {
        stats.recordEntryFailure();
        String what;
        if (status == VmxStatus.FAIL_VALID) {
            int err = (int) c.vmread(VmcsField.VM_INSTRUCTION_ERROR.encoding());
            VmInstructionError e = VmInstructionError.of(err);
            what = "VM-instruction error " + err + (e == null ? "" : " (" + e.name() + ")");
        } else {
            what = "VMfailInvalid";
        }
        machine.stopFromVcpu(StopStatus.ENTRY_FAILURE, (launched ? "VMRESUME" : "VMLAUNCH") + " failed: " + what);
    }

    static String name(int basic) {
        ExitReason r = ExitReason.of(basic);
        return r == null ? "unknown" : r.name();
    }
}
