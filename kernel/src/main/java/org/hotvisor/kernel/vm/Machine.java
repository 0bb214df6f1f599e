package org.hotvisor.kernel.vm;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.GuestMemory;
import org.hotvisor.api.Vcpu;
import org.hotvisor.api.Vm;
import org.hotvisor.api.VmState;
import org.hotvisor.api.device.InterruptController;
import org.hotvisor.api.device.InterruptSink;
import org.hotvisor.api.device.MachineControl;
import org.hotvisor.api.vmx.ControlBit;
import org.hotvisor.api.vmx.LogicalProcessor;
import org.hotvisor.api.vmx.PinBasedControl;
import org.hotvisor.api.vmx.ProcessorControl;
import org.hotvisor.api.vmx.VmxProcessor;
import org.hotvisor.api.vmx.VmxStatus;
import org.hotvisor.kernel.dispatch.ExitDispatcher;
import org.hotvisor.kernel.loader.BootState;
import org.hotvisor.kernel.loader.ImageException;
import org.hotvisor.kernel.loader.ImageLoader;
import org.hotvisor.kernel.loader.LoadOptions;
import org.hotvisor.kernel.stats.ExitStatistics;
import org.hotvisor.kernel.stats.ExitTrace;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VM: guest RAM, the VMM's host memory (VMXON regions, one VMCS per vCPU, bitmaps), one host
 * thread per vCPU and the machine-level services devices use. Plain Java, so the handler test
 * bench can run it without Felix; {@code MachineComponent} publishes it as OSGi services.
 *
 * <p><b>SMP</b> ({@link Settings#cpus()} &gt; 1): vCPU 0 starts in the boot state; the others
 * (application processors) start in the INIT state, wait-for-SIPI activity (SDM 3A 9.4, 3C 25.4.2),
 * with the VMX-preemption timer and HLT exiting off (a halted AP waits inside its processor for a
 * kick, INIT, SIPI or NMI). Life-cycle requests (pause, stop, reset, CPU swap) act on every vCPU:
 * each thread leaves its run loop at its next exit and parks; a reset waits until every vCPU has left
 * VMX operation, then vCPU 0's thread performs it. vCPU 0 keeps the virtual clock: it publishes
 * its TSC as machine time and runs the due timers; a timer armed on another thread kicks it.
 */
public final class Machine implements Vm, MachineControl, InterruptSink {
    private static final Logger LOG = LoggerFactory.getLogger(Machine.class);

    /**
     * Machine settings: RAM, clock, control-bit overrides and the rest of the user's {@code --set}
     * list (VMCS fields, I/O and MSR bitmaps), written after the kernel's own VMWRITEs.
     */
    public record Settings(long ramBytes, boolean hostClock, Map<ControlBit, Boolean> controlOverrides, VmcsSettings vmcs,
            int cpus) {
        /** Most vCPUs: the MADT's 8-bit APIC IDs, 0xFF being the broadcast ID. */
        public static final int MAX_CPUS = 255;

        public Settings {
            if (cpus < 1 || cpus > MAX_CPUS) {
                throw new IllegalArgumentException("the number of vCPUs must be between 1 and " + MAX_CPUS);
            }
        }

        public Settings(long ramBytes, boolean hostClock, Map<ControlBit, Boolean> controlOverrides, VmcsSettings vmcs) {
            this(ramBytes, hostClock, controlOverrides, vmcs, 1);
        }

        public Settings(long ramBytes, boolean hostClock, Map<ControlBit, Boolean> controlOverrides) {
            this(ramBytes, hostClock, controlOverrides, VmcsSettings.NONE);
        }

        /** The whole {@code --set} list: its control bits are the overrides. */
        public Settings(long ramBytes, boolean hostClock, VmcsSettings vmcs) {
            this(ramBytes, hostClock, vmcs.controlBits(), vmcs);
        }

        /** The same settings with {@code n} vCPUs. */
        public Settings withCpus(int n) {
            return new Settings(ramBytes, hostClock, controlOverrides, vmcs, n);
        }
    }

    private final Settings settings;
    private final GuestRam ram;
    private final byte[] hostMemory;
    private final VmcsSetup.HostMemoryLayout layout;
    private final VirtualClockImpl clock;
    private final HostConsoleImpl console;
    private final ExitDispatcher dispatcher;
    /** vCPU 0, the bootstrap processor. */
    private final VirtualCpu vcpu;
    private final VirtualCpu[] vcpus;
    private final List<Consumer<Machine>> stopListeners = new CopyOnWriteArrayList<>();
    private final List<org.hotvisor.api.device.ResetListener> resetListeners = new CopyOnWriteArrayList<>();
    private final InterruptRouting interruptRouting = new InterruptRouting();

    private volatile VmxProcessor processor;
    /**
     * Bumped when the processor goes: a vCPU that set up on the processor of an older generation
     * leaves again, even when the same object returns (a service can come back as itself).
     */
    private long processorGeneration;
    private volatile boolean a20 = true;
    /** The vCPU the console's inspection and debugging commands address ({@code vm:cpu N}). */
    private volatile int selected;

    // Life cycle, guarded by "this".
    private volatile VmState state = VmState.EMPTY;
    private Path image;
    private LoadOptions loadOptions;
    private BootState boot;
    /** vCPU 0's thread (null before the first start of a run); the others are in {@link #threads}. */
    private Thread thread;
    private Thread[] threads;
    private int liveThreads;
    private int parkedThreads;
    /** vCPUs that have left VMX operation for the reset in progress, and how many resets were done. */
    private int resetArrivals;
    private long resetsDone;
    // Volatile so that the vCPU polls them on every exit without taking the lock; they change under it.
    private volatile boolean pauseRequested;
    private volatile boolean stopRequested;
    private volatile boolean resetRequested;
    private volatile boolean swapRequested;
    private volatile int exitStatus = -1;
    private volatile String stopReason;
    private volatile CountDownLatch stopped = new CountDownLatch(1);

    public Machine(Settings settings, ExitDispatcher dispatcher, HostConsoleImpl console) {
        this(settings, dispatcher, console, null);
    }

    /** With {@code zeroedRam}, a zeroed array for the guest RAM when its length matches (else one is allocated). */
    public Machine(Settings settings, ExitDispatcher dispatcher, HostConsoleImpl console, byte[] zeroedRam) {
        if (settings.ramBytes() < (1 << 20) || settings.ramBytes() > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("RAM size must be between 1 MiB and 2 GiB");
        }
        this.settings = settings;
        this.dispatcher = dispatcher;
        this.console = console;
        this.ram = zeroedRam != null && zeroedRam.length == settings.ramBytes()
                ? new GuestRam(zeroedRam) : new GuestRam((int) settings.ramBytes());
        this.layout = VmcsSetup.HostMemoryLayout.forCpus(settings.cpus());
        this.hostMemory = new byte[layout.size()];
        this.clock = new VirtualClockImpl(settings.hostClock());
        this.vcpus = new VirtualCpu[settings.cpus()];
        for (int i = 0; i < vcpus.length; i++) {
            vcpus[i] = new VirtualCpu(i, this);
        }
        this.vcpu = vcpus[0];
        clock.idleSink(delta -> {
            LogicalProcessor c = vcpu.cpu;
            if (c != null) {
                c.advanceTsc(delta);
            }
        });
        if (vcpus.length > 1) {
            // vCPU 0 keeps the time: a timer armed elsewhere (an AP's local APIC) must reach its next entry.
            clock.multiProcessor(vcpu::kick);
        }
    }

    // ---------------------------------------------------------------- wiring

    public void processor(VmxProcessor p) {
        synchronized (this) {
            processor = p;
            notifyAll();
        }
    }

    /** The CPU bundle is going away: park the vCPU with its VMCS flushed to host memory (VMCLEAR). */
    public void processorGone(VmxProcessor p) {
        synchronized (this) {
            if (processor != p) {
                return;
            }
            if (liveThreads > 0 && anyInVmxOperation()) {
                swapRequested = true;
                kickAll();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (anyInVmxOperation() && liveThreads > 0 && System.nanoTime() < deadline) {
                    try {
                        wait(50);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                }
            }
            swapRequested = false;
            processor = null;
            processorGeneration++;
            notifyAll();
        }
    }

    private boolean anyInVmxOperation() {
        for (VirtualCpu v : vcpus) {
            if (v.cpu != null) {
                return true;
            }
        }
        return false;
    }

    /**
     * Sets the one unqualified interrupt controller (tests and the handler bench; the OSGi
     * component uses {@link #addInterruptController}); null removes it.
     */
    public synchronized void interruptController(InterruptController ic) {
        if (manualController != null) {
            interruptRouting.remove(manualController);
        }
        manualController = ic;
        if (ic != null) {
            interruptRouting.add(ic, InterruptRouting.ANY_VCPU, 0, Long.MAX_VALUE);
        }
        routeInterrupts();
    }

    private InterruptController manualController;

    /**
     * An interrupt controller service: {@code vcpu} is its {@code hotvisor.vcpu} property (null:
     * unqualified, the 8259), {@code ranking} and {@code serviceId} order equals.
     */
    public void addInterruptController(InterruptController ic, Object vcpuProperty, int ranking, long serviceId) {
        interruptRouting.add(ic, InterruptRouting.vcpuOf(vcpuProperty), ranking, serviceId);
        routeInterrupts();
    }

    public void removeInterruptController(InterruptController ic) {
        interruptRouting.remove(ic);
        routeInterrupts();
    }

    private synchronized void routeInterrupts() {
        InterruptController[] chosen = interruptRouting.select(vcpus.length);
        for (int i = 0; i < vcpus.length; i++) {
            vcpus[i].controller = chosen[i];
        }
    }

    /** vCPU 0's interrupt controller. */
    public InterruptController interruptController() {
        return vcpu.controller;
    }

    public ExitDispatcher dispatcher() {
        return dispatcher;
    }

    public VirtualClockImpl clock() {
        return clock;
    }

    public HostConsoleImpl console() {
        return console;
    }

    public void addResetListener(org.hotvisor.api.device.ResetListener l) {
        resetListeners.add(l);
    }

    public void removeResetListener(org.hotvisor.api.device.ResetListener l) {
        resetListeners.remove(l);
    }

    public void onStop(Consumer<Machine> listener) {
        stopListeners.add(listener);
    }

    public VirtualCpu bsp() {
        return vcpu;
    }

    /** The vCPU the console's commands address (vCPU 0 unless {@link #selectVcpu} chose another). */
    public VirtualCpu selectedVcpu() {
        return vcpus[selected];
    }

    /**
     * Makes {@code index} the console's vCPU; an installed debugger hook (breakpoints, step) moves
     * with it. Throws IllegalArgumentException for a vCPU the VM does not have.
     */
    public synchronized void selectVcpu(int index) {
        if (index < 0 || index >= vcpus.length) {
            throw new IllegalArgumentException("no vCPU " + index + " (this VM has " + vcpus.length + ")");
        }
        VirtualCpu old = vcpus[selected];
        Machine.DebugHook hook = old.debugHook;
        if (index != selected && hook != null) {
            old.debugHook = null;
            vcpus[index].debugHook = hook;
        }
        selected = index;
    }

    /** The exit statistics of all vCPUs, merged (one vCPU: its own snapshot). */
    public ExitStatistics.Snapshot statistics() {
        if (vcpus.length == 1) {
            return vcpu.statistics().snapshot();
        }
        List<ExitStatistics.Snapshot> all = new java.util.ArrayList<>(vcpus.length);
        for (VirtualCpu v : vcpus) {
            all.add(v.statistics().snapshot());
        }
        return ExitStatistics.Snapshot.merge(all);
    }

    public void resetStatistics() {
        for (VirtualCpu v : vcpus) {
            v.statistics().reset(v.instructionsRetired());
        }
    }

    /** The exit trace; it records vCPU 0's exits (its lines carry no vCPU number). */
    public void trace(ExitTrace t) {
        ExitTrace old = vcpu.trace;
        vcpu.trace = t;
        if (old != null && old != t) {
            old.close();
        }
    }

    public ExitTrace trace() {
        return vcpu.trace;
    }

    public Path image() {
        return image;
    }

    /** {@link #withProcessor(int, java.util.function.Function)} on the selected vCPU. */
    public <T> T withProcessor(java.util.function.Function<LogicalProcessor, T> action) {
        return withProcessor(selected, action);
    }

    /**
     * Runs {@code action} with a vCPU's processor on that vCPU's thread, between a VM exit and the
     * next VM entry, so VMWRITEs take effect at the next entry. While the vCPU is parked (paused,
     * or loaded and not started) it runs at once on the caller's thread. Returns its result.
     */
    public <T> T withProcessor(int index, java.util.function.Function<LogicalProcessor, T> action) {
        if (index < 0 || index >= vcpus.length) {
            throw new IllegalArgumentException("no vCPU " + index + " (this VM has " + vcpus.length + ")");
        }
        VirtualCpu v = vcpus[index];
        java.util.concurrent.CompletableFuture<T> result = new java.util.concurrent.CompletableFuture<>();
        Runnable task = () -> {
            try {
                LogicalProcessor c = v.cpu;
                if (c == null) {
                    throw new IllegalStateException("the vCPU has no processor state yet (vm:start it first)");
                }
                result.complete(action.apply(c));
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        };
        synchronized (this) {
            Thread t = v.thread;
            if (t == null || !t.isAlive() || v.parked) {
                task.run();
            } else {
                v.post(task);
                v.kick();
            }
        }
        try {
            return result.get(5, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("the vCPU did not reach an exit within 5 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
    }


    // ---------------------------------------------------------------- loading

    /** Loads an image into fresh RAM; the VM is then LOADED (paused before its first VM entry). */
    public synchronized void load(Path image, LoadOptions options) throws ImageException {
        if (state == VmState.RUNNING || state == VmState.PAUSED) {
            throw new IllegalStateException("stop the VM before loading another image");
        }
        if (state == VmState.STOPPED) {
            // A new run on the same machine: a fresh vCPU thread, stop state and statistics.
            thread = null;
            threads = null;
            parkedThreads = 0;
            stopRequested = false;
            pauseRequested = false;
            resetRequested = false;
            exitStatus = -1;
            stopReason = null;
            stopped = new CountDownLatch(1);
            clock.cancelAll();
            for (VirtualCpu v : vcpus) {
                v.clearHandlerState();
                v.resetSignals();
                v.savedState = false;
                v.thread = null;
                v.parked = false;
            }
            resetStatistics();
        }
        ram.clear();
        BootState b = ImageLoader.load(image, options, ram.array());
        this.image = image;
        this.loadOptions = options;
        this.boot = b;
        state = VmState.LOADED;
        LOG.debug("loaded {}: {}", image, b.description());
    }

    // ---------------------------------------------------------------- Vm

    @Override
    public VmState state() {
        return state;
    }

    @Override
    public synchronized void start() {
        switch (state) {
            case LOADED -> {
                if (thread == null) {
                    startThread();
                }
                pauseRequested = false;
                state = VmState.RUNNING;
                notifyAll();
            }
            case PAUSED -> resume();
            case RUNNING -> { }
            case EMPTY -> throw new IllegalStateException("no image loaded");
            case STOPPED -> throw new IllegalStateException("the VM has stopped; load an image again");
        }
    }

    /**
     * Starts a LOADED VM, running {@code beforeStart} first under the same lock, and returns true;
     * once the VM has started it changes nothing and returns false. The run session and a gdb
     * attaching to it race to start the guest: the loser must not resume a VM the winner holds
     * at its first entry, as {@link #start()} would.
     */
    public synchronized boolean startIfLoaded(Runnable beforeStart) {
        if (state != VmState.LOADED) {
            return false;
        }
        beforeStart.run();
        start();
        return true;
    }

    /** One host thread per vCPU; vCPU 0's first (the others wait for a SIPI anyway). */
    private void startThread() {
        threads = new Thread[vcpus.length];
        liveThreads = vcpus.length;
        parkedThreads = 0;
        for (VirtualCpu v : vcpus) {
            Thread t = new Thread(() -> vcpuThread(v), "vcpu-" + v.index());
            t.setDaemon(true);
            v.thread = t;
            threads[v.index()] = t;
        }
        thread = threads[0];
        clock.timekeeper(thread);
        for (Thread t : threads) {
            t.start();
        }
    }

    /** Whether every live vCPU thread is parked; guarded by "this". */
    private boolean allParked() {
        return liveThreads > 0 && parkedThreads >= liveThreads;
    }

    @Override
    public synchronized void pause() {
        if (state != VmState.RUNNING) {
            return;
        }
        pauseRequested = true;
        kickAll();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!allParked() && state == VmState.RUNNING && System.nanoTime() < deadline) {
            try {
                wait(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        if (state == VmState.RUNNING) {
            state = VmState.PAUSED;
        }
    }

    @Override
    public synchronized void resume() {
        if (state == VmState.PAUSED || state == VmState.LOADED) {
            pauseRequested = false;
            if (thread == null) {
                startThread();
            }
            state = VmState.RUNNING;
            notifyAll();
        }
    }

    @Override
    public synchronized void reset() {
        if (state == VmState.EMPTY || boot == null) {
            return;
        }
        if (thread == null || !thread.isAlive()) {
            return;
        }
        resetRequested = true;
        kickAll();
        notifyAll();
    }

    @Override
    public void stop(int status, String reason) {
        synchronized (this) {
            if (state == VmState.STOPPED) {
                return;
            }
            if (liveThreads == 0) {
                finish(status, reason);
                return;
            }
            requestStop(status, reason);
            notifyAll();
        }
    }

    private void requestStop(int status, String reason) {
        if (!stopRequested) {
            exitStatus = status;
            stopReason = reason == null ? "" : reason;
            stopRequested = true;
        }
        kickAll();
    }

    /** A stop decided on the vCPU thread (power-off, triple fault, handler): takes effect after this exit. */
    void stopFromVcpu(int status, String reason) {
        synchronized (this) {
            requestStop(status, reason);
        }
    }

    @Override
    public int exitStatus() {
        return state == VmState.STOPPED ? exitStatus : -1;
    }

    @Override
    public String stopReason() {
        return state == VmState.STOPPED ? stopReason : null;
    }

    @Override
    public boolean awaitStop(long timeoutMillis) throws InterruptedException {
        if (timeoutMillis <= 0) {
            stopped.await();
            return true;
        }
        return stopped.await(timeoutMillis, TimeUnit.MILLISECONDS);
    }

    @Override
    public int vcpuCount() {
        return vcpus.length;
    }

    @Override
    public VirtualCpu vcpu(int index) {
        if (index < 0 || index >= vcpus.length) {
            throw new IndexOutOfBoundsException("vCPU " + index + " (this VM has " + vcpus.length + ")");
        }
        return vcpus[index];
    }

    @Override
    public GuestMemory memory() {
        return ram;
    }

    // ---------------------------------------------------------------- MachineControl / InterruptSink

    @Override
    public void powerOff(int status, String reason) {
        stopFromVcpu(status, reason);
    }

    /**
     * The platform's reset lines (i8042 pulse, port 0x92, 0xCF9) drive the processor's INIT#: while
     * the guest runs, vCPU 0 gets INIT, which in VMX non-root operation is a VM exit (reason 3, SDM
     * 3C 26.2, 28.1). The kernel's default INIT handler then performs the platform reset
     * ({@link #performPlatformReset}); a handler bundle for exit 3 may observe or veto it. While the
     * vCPU is not running guest code (paused, loaded, between runs) the reset is direct.
     */
    @Override
    public void reset(String reason) {
        LogicalProcessor c;
        synchronized (this) {
            c = vcpu.cpu;
            boolean guestRunning = state == VmState.RUNNING && thread != null && thread.isAlive() && !vcpu.parked
                    && !pauseRequested && !swapRequested && c != null;
            if (!guestRunning) {
                LOG.info("platform reset (vCPU 0 not running, reset directly): {}", reason);
                reset();
                return;
            }
        }
        LOG.debug("platform reset line: INIT to vCPU 0 ({})", reason);
        vcpu.deliverInit(); // wakes an idle HLT too
    }

    /** The platform reset itself (the default INIT handler of vCPU 0): RAM reloaded, devices reset, a fresh VMCS. */
    void performPlatformReset(String reason) {
        LOG.info("platform reset: {}", reason);
        reset();
    }

    @Override
    public void setA20(boolean enabled) {
        a20 = enabled;
        LogicalProcessor c = vcpu.cpu;
        if (c != null) {
            c.setA20(enabled);
        }
    }

    @Override
    public boolean a20() {
        return a20;
    }

    @Override
    public long ramSize() {
        return ram.size();
    }

    /** The 8259's INTR reaches vCPU 0 (directly, or through its local APIC's LINT0). */
    @Override
    public void intrAsserted() {
        vcpu.kick();
    }

    @Override
    public void nmi() {
        vcpu.deliverNmi();
    }

    /** Makes every vCPU leave the guest at its next instruction boundary (a host "IPI"), and wakes idle ones. */
    private void kickAll() {
        for (VirtualCpu v : vcpus) {
            v.kick();
        }
    }

    // ---------------------------------------------------------------- the vCPU thread

    /** Called by the run loop after each exit: whether it must return to {@link #vcpuThread}. */
    boolean serviceRequests(VirtualCpu v) {
        return stopRequested || pauseRequested || resetRequested || swapRequested;
    }

    void pauseForFault(VirtualCpu v, String bundle, ExitReason reason, long rip, Throwable fault) {
        String msg = String.format("handler %s failed on %s at RIP 0x%x: %s — VM paused (fix or replace the bundle, then vm:resume)",
                bundle, reason, rip, fault);
        LOG.error(msg);
        console.report(msg);
        synchronized (this) {
            pauseRequested = true;
            state = VmState.PAUSED;
            if (vcpus.length > 1) {
                kickAll();
            }
        }
    }

    void reportOverBudget(String bundle, ExitReason reason, long rip, long nanos) {
        LOG.warn("handler {} took {} ms on {} at RIP 0x{} (over its budget)", bundle, nanos / 1_000_000, reason, Long.toHexString(rip));
    }

    /** One vCPU's host thread: park while held, run the guest, and take part in swaps and resets. */
    private void vcpuThread(VirtualCpu v) {
        try {
            while (awaitRunnable(v)) {
                if (!ensureVmxOperation(v)) {
                    continue;
                }
                v.runLoop();
            }
            leaveVmxOperation(v);
        } catch (Throwable t) { // an internal error must end the VM, never the host
            LOG.error("vCPU " + v.index() + " thread failed", t);
            synchronized (this) {
                requestStop(StopStatus.INTERNAL_ERROR, "internal error in the vCPU " + v.index() + " loop: " + t);
            }
            leaveQuietly(v);
        } finally {
            threadEnded(v);
        }
    }

    /**
     * Parks while paused, before the first start, without a processor, or while a CPU swap is in
     * progress; leaves VMX operation for a swap and takes part in a reset. Returns false when the
     * VM is stopping.
     */
    private synchronized boolean awaitRunnable(VirtualCpu v) throws InterruptedException {
        while (true) {
            if (stopRequested) {
                unpark(v);
                return false;
            }
            if (resetRequested) {
                unpark(v);
                takePartInReset(v);
                ensureVmxOperation(v); // a fresh VMCS now: a paused VM shows its reset state
                continue;
            }
            if (swapRequested && v.cpu != null) {
                saveForSwap(v); // also while parked: the CPU bundle may go while the VM is paused
                notifyAll();
            }
            if (!(pauseRequested || state == VmState.LOADED || processor == null || swapRequested)) {
                break;
            }
            // ---- debugger support (console/gdb): count parkings; run actions queued just before parking
            if (!v.parked) {
                v.parked = true;
                parkedThreads++;
                v.runTasks();
                if (allParked()) {
                    parkCount++;
                }
                notifyAll(); // only on a change: parked vCPUs must not wake each other in a loop
            }
            // ---- end debugger support
            if (pauseRequested && state == VmState.RUNNING && allParked()) {
                state = VmState.PAUSED;
                notifyAll();
            }
            wait(100);
        }
        unpark(v);
        return true;
    }

    private void unpark(VirtualCpu v) {
        if (v.parked) {
            v.parked = false;
            parkedThreads--;
        }
    }

    /**
     * A platform reset with every vCPU out of VMX operation: each thread leaves it and checks in;
     * vCPU 0's thread waits for the others, performs the reset and releases them. Guarded by "this".
     */
    private void takePartInReset(VirtualCpu v) throws InterruptedException {
        leaveVmxOperation(v);
        v.savedState = false;
        v.resetSignals();
        long generation = resetsDone;
        resetArrivals++;
        notifyAll();
        if (v != vcpu) {
            while (resetsDone == generation && resetRequested && !stopRequested) {
                wait(50);
            }
            return;
        }
        while (resetArrivals < liveThreads && !stopRequested) {
            wait(50);
        }
        doReset();
        resetArrivals = 0;
        resetsDone++;
        notifyAll();
    }

    /** Life-cycle steps 1-3: VMXON, VMCLEAR + VMPTRLD, VMWRITE of controls, host and guest state. */
    private boolean ensureVmxOperation(VirtualCpu v) {
        if (v.cpu != null) {
            return true;
        }
        VmxProcessor p;
        long generation;
        synchronized (this) {
            p = processor;
            generation = processorGeneration;
        }
        if (p == null) {
            return false;
        }
        LogicalProcessor c = p.createLogicalProcessor(ram.array(), hostMemory);
        int revision = (int) (p.capabilityMsr(VmcsSetup.IA32_VMX_BASIC) & 0x7FFF_FFFF);
        int index = v.index();
        // SDM 3C 25.11.5: software writes the revision identifier into the VMXON region and each VMCS region.
        putInt(layout.vmxonRegion(index), revision);
        expect(c.vmxon(layout.vmxonRegion(index)), c, "VMXON");
        long vmcs = layout.vmcs(index);
        boolean fresh = !v.savedState;
        if (fresh) {
            putInt(vmcs, revision);
            if (index == 0) {
                putInt(layout.shadowVmcs(), revision | VmcsSetup.SHADOW_VMCS_INDICATOR); // for VMCS shadowing
            }
            expect(c.vmclear(vmcs), c, "VMCLEAR");
        }
        expect(c.vmptrld(vmcs), c, "VMPTRLD");
        if (fresh) {
            try {
                VmcsSetup.Controls want = settings.vmcs().applyTo(VmcsSetup.Controls.defaults().with(settings.controlOverrides()));
                if (index != 0) {
                    want = applicationProcessorControls(want);
                }
                VmcsSetup.writeControls(p, c, want, layout);
                if (index == 0) {
                    ExitBitmaps.writeDefaultMsrBitmap(c, this); // one bitmap serves every vCPU
                }
                VmcsSetup.writeHostState(c);
                VmcsSetup.writeGuestState(p, c, boot);
                // The user's --set fields and bitmaps: after the kernel's VMWRITEs, before VMLAUNCH.
                settings.vmcs().writeAfterSetup(c, this);
                if (index != 0) {
                    // SDM 3A 9.4.1: an application processor waits for its start-up IPI (SDM 3C 25.4.2: wait-for-SIPI).
                    SignalDefaults.enterInitState(c, this);
                    v.waitingForSipi = true;
                }
            } catch (IllegalArgumentException e) {
                synchronized (this) {
                    requestStop(StopStatus.USER_ERROR, e.getMessage());
                }
                v.cpu = c; // in VMX operation: leaveVmxOperation ends it
                return false;
            }
        } else {
            for (int i = 0; i < 16; i++) {
                c.setGpr(i, v.savedGprs[i]);
            }
            c.setCr2(v.savedCr2);
            for (int i : new int[] {0, 1, 2, 3, 6}) {
                c.setDr(i, v.savedDrs[i]);
            }
            v.savedState = false;
        }
        c.setA20(a20);
        v.launched = false; // after VMCLEAR the launch state is "clear": VMLAUNCH next (SDM 3C 25.1)
        if (index == 0) {
            // Writes through GuestMemory drop vCPU 0's decoded code (the processors' caches are not thread-safe).
            ram.invalidator(c::invalidateCode);
            ram.translator((linear, write) -> c.translateGuestLinear(linear, write != 0));
        }
        synchronized (this) {
            v.cpu = c;
            if (processor != p || processorGeneration != generation) {
                // The CPU bundle went while this vCPU set up: processorGone could not see it in VMX
                // operation yet, so it leaves now, keeping its VMCS for the next processor (also
                // when the same processor object is back already: SmpMachineTest's swap).
                saveForSwap(v);
                notifyAll();
                return false;
            }
        }
        v.processorReady(c);
        return true;
    }

    /**
     * An application processor's controls: the VMX-preemption timer off (vCPU 0 runs the timers)
     * and HLT exiting off unless the user's --set names it, so a halted AP waits inside its
     * processor (activity state HLT, SDM 3C 25.4.2) until a kick, INIT, SIPI or NMI.
     */
    private VmcsSetup.Controls applicationProcessorControls(VmcsSetup.Controls want) {
        int pin = PinBasedControl.ACTIVATE_VMX_PREEMPTION_TIMER.set(want.pin(), false);
        int proc = settings.controlOverrides().containsKey(ProcessorControl.HLT_EXITING) ? want.proc()
                : ProcessorControl.HLT_EXITING.set(want.proc(), false);
        return new VmcsSetup.Controls(pin, proc, want.proc2(), want.exit(), want.entry());
    }

    /** CPU-bundle swap: GPRs, CR2 and DRs (not in the VMCS) saved, then VMCLEAR and VMXOFF. */
    private void saveForSwap(VirtualCpu v) {
        LogicalProcessor c = v.cpu;
        for (int i = 0; i < 16; i++) {
            v.savedGprs[i] = c.gpr(i);
        }
        v.savedCr2 = c.cr2();
        for (int i : new int[] {0, 1, 2, 3, 6}) {
            v.savedDrs[i] = c.dr(i);
        }
        v.savedState = true;
        leaveVmxOperation(v);
    }

    /** Life-cycle step 6: VMCLEAR flushes the VMCS to its region, then VMXOFF. */
    private void leaveVmxOperation(VirtualCpu v) {
        LogicalProcessor c = v.cpu;
        if (c == null) {
            return;
        }
        c.vmclear(layout.vmcs(v.index()));
        c.vmxoff();
        v.cpu = null;
    }

    private void leaveQuietly(VirtualCpu v) {
        try {
            leaveVmxOperation(v);
        } catch (RuntimeException e) {
            v.cpu = null;
        }
    }

    /** A vCPU thread ended; the last one ends the VM. */
    private synchronized void threadEnded(VirtualCpu v) {
        unpark(v);
        liveThreads--;
        notifyAll();
        if (liveThreads <= 0) {
            liveThreads = 0;
            finish(exitStatus < 0 ? StopStatus.INTERNAL_ERROR : exitStatus, stopReason);
        }
    }

    /** A platform reset: RAM reloaded from the image, fresh VMCSs, timers cancelled. Guarded by "this". */
    private void doReset() {
        resetRequested = false;
        clock.cancelAll();
        for (VirtualCpu v : vcpus) {
            v.clearHandlerState();
        }
        a20 = true;
        for (org.hotvisor.api.device.ResetListener l : resetListeners) {
            try {
                l.machineReset();
            } catch (RuntimeException e) {
                LOG.warn("device reset failed: {}", e.toString());
            }
        }
        try {
            ram.clear();
            boot = ImageLoader.load(image, loadOptions, ram.array());
        } catch (ImageException e) {
            requestStop(StopStatus.USER_ERROR, "reset: cannot reload " + image + ": " + e.getMessage());
        }
    }

    private synchronized void finish(int status, String reason) {
        if (state == VmState.STOPPED) {
            return;
        }
        exitStatus = status;
        stopReason = reason == null ? "" : reason;
        state = VmState.STOPPED;
        console.flush();
        ExitTrace t = vcpu.trace;
        if (t != null) {
            t.flush();
        }
        stopped.countDown();
        notifyAll();
        for (Consumer<Machine> l : stopListeners) {
            try {
                l.accept(this);
            } catch (RuntimeException e) {
                LOG.warn("stop listener failed", e);
            }
        }
    }

    /** Where the VMXON region, VMCS, bitmaps and shadow VMCS live in host memory. */
    VmcsSetup.HostMemoryLayout hostLayout() {
        return layout;
    }

    private void putInt(long address, int value) {
        ByteBuffer.wrap(hostMemory).order(ByteOrder.LITTLE_ENDIAN).putInt((int) address, value);
    }

    private static void expect(VmxStatus s, LogicalProcessor c, String what) {
        if (s != VmxStatus.SUCCEED) {
            throw new IllegalStateException(what + " failed: " + s + (s == VmxStatus.FAIL_VALID
                    ? " (VM-instruction error " + c.vmread(org.hotvisor.api.vmx.VmcsField.VM_INSTRUCTION_ERROR) + ")" : ""));
        }
    }

    // ================================================================ debugger support (console/gdb): begin
    // Added for the console's debugging commands and the gdbstub (packages kernel.console and
    // kernel.gdb): breakpoints, single-step and VMCS/host-memory access. Nothing here runs unless
    // a debugger installs its hook.

    /**
     * The debugger's view of the run loop. Every call comes on the vCPU thread, between a VM exit
     * and the next VM entry, with the vCPU's processor; the debugger may VMREAD/VMWRITE there.
     */
    public interface DebugHook {
        /**
         * Before the first VM entry after a start, resume or reset. Returns false to keep the
         * vCPU from entering (the hook has asked for a pause with {@link #pauseFromVcpu()}).
         */
        boolean beforeRun(LogicalProcessor c);

        /**
         * A monitor-trap-flag exit (37) or an exception-or-NMI exit (0). Returns true if the
         * debugger consumed it: then no handler bundle and no default sees it.
         */
        boolean onExit(LogicalProcessor c, int basicReason);

        /**
         * After an exit the debugger did not consume was handled; {@code ripAtExit} is the guest
         * RIP the exit reported. Returns true if the hook rewrote VM-execution controls.
         */
        boolean afterExit(LogicalProcessor c, int basicReason, long ripAtExit);

        /** Before each VM entry: whether to hold back external-interrupt injection (stepping). */
        boolean maskInterrupts(LogicalProcessor c);
    }

    /** Times the vCPU thread has parked (paused, or held before its first entry); guarded by "this". */
    private long parkCount;

    /** Installs (or with null removes) the debugger's hook, on the selected vCPU. */
    public synchronized void debugHook(DebugHook hook) {
        for (VirtualCpu v : vcpus) {
            v.debugHook = null;
        }
        vcpus[selected].debugHook = hook;
    }

    public DebugHook debugHook() {
        return vcpus[selected].debugHook;
    }

    /** On a vCPU thread: pause at the end of this exit (a breakpoint hit, a finished step); the others are kicked. */
    public synchronized void pauseFromVcpu() {
        pauseRequested = true; // serviceRequests() sees it after this exit
        if (vcpus.length > 1) {
            kickAll();
        }
    }

    /** How often the vCPU thread has parked so far; pair with {@link #awaitParkedAfter}. */
    public synchronized long parkCount() {
        return parkCount;
    }

    /**
     * Waits until the vCPU has parked again after the {@code count}-th parking (or the VM has
     * stopped). Returns whether that happened within the timeout.
     */
    public synchronized boolean awaitParkedAfter(long count, long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (!(allParked() && parkCount > count) && state != VmState.STOPPED) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
        }
        return true;
    }

    /** Whether every vCPU thread is parked now (their processors may be used from the caller's thread). */
    public synchronized boolean parked() {
        return allParked();
    }

    /** The VMX processor service (capability MSRs for the console), or null while none is bound. */
    public VmxProcessor processorService() {
        return processor;
    }

    /**
     * Reads a byte of the VMM's host memory (the I/O and MSR bitmaps live there). Call it from
     * {@link #withProcessor}. Returns -1 outside host memory.
     */
    public int readHostMemory(long address) {
        return address >= 0 && address < hostMemory.length ? hostMemory[(int) address] & 0xFF : -1;
    }

    /** Writes a byte of host memory (see {@link #readHostMemory}); false outside host memory. */
    public boolean writeHostMemory(long address, int value) {
        if (address < 0 || address >= hostMemory.length) {
            return false;
        }
        hostMemory[(int) address] = (byte) value;
        return true;
    }
    // ================================================================ debugger support: end
}
