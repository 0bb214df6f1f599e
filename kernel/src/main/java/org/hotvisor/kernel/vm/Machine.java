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
 * The VM: guest RAM, the VMM's host memory (VMXON region, VMCS, bitmaps), the vCPU thread and
 * the machine-level services devices use. Plain Java, so the handler test bench can run it
 * without Felix; {@code MachineComponent} publishes it as OSGi services.
 */
public final class Machine implements Vm, MachineControl, InterruptSink {
    private static final Logger LOG = LoggerFactory.getLogger(Machine.class);

    /**
     * Machine settings: RAM, clock, control-bit overrides and the rest of the user's {@code --set}
     * list (VMCS fields, I/O and MSR bitmaps), written after the kernel's own VMWRITEs.
     */
    public record Settings(long ramBytes, boolean hostClock, Map<ControlBit, Boolean> controlOverrides, VmcsSettings vmcs) {
        public Settings(long ramBytes, boolean hostClock, Map<ControlBit, Boolean> controlOverrides) {
            this(ramBytes, hostClock, controlOverrides, VmcsSettings.NONE);
        }

        /** The whole {@code --set} list: its control bits are the overrides. */
        public Settings(long ramBytes, boolean hostClock, VmcsSettings vmcs) {
            this(ramBytes, hostClock, vmcs.controlBits(), vmcs);
        }
    }

    private final Settings settings;
    private final GuestRam ram;
    private final byte[] hostMemory;
    private final VmcsSetup.HostMemoryLayout layout = VmcsSetup.HostMemoryLayout.forCpus(1);
    private final VirtualClockImpl clock;
    private final HostConsoleImpl console;
    private final ExitDispatcher dispatcher;
    private final VirtualCpu vcpu;
    private final List<Consumer<Machine>> stopListeners = new CopyOnWriteArrayList<>();
    /** Actions for the vCPU thread, run between an exit and the next entry. */
    private final java.util.concurrent.ConcurrentLinkedQueue<Runnable> vcpuTasks = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final List<org.hotvisor.api.device.ResetListener> resetListeners = new CopyOnWriteArrayList<>();

    private volatile VmxProcessor processor;
    private volatile InterruptController interruptController;
    private volatile boolean a20 = true;

    // Life cycle, guarded by "this".
    private volatile VmState state = VmState.EMPTY;
    private Path image;
    private LoadOptions loadOptions;
    private BootState boot;
    private Thread thread;
    // Volatile so that the vCPU polls them on every exit without taking the lock; they change under it.
    private volatile boolean pauseRequested;
    private volatile boolean stopRequested;
    private volatile boolean resetRequested;
    private volatile boolean swapRequested;
    private boolean parked;
    private volatile int exitStatus = -1;
    private volatile String stopReason;
    private volatile CountDownLatch stopped = new CountDownLatch(1);
    /** GPRs, CR2 and DRs saved across a CPU-bundle swap (they are not in the VMCS). */
    private final long[] savedGprs = new long[16];
    private final long[] savedDrs = new long[7];
    private long savedCr2;
    private boolean savedState;

    public Machine(Settings settings, ExitDispatcher dispatcher, HostConsoleImpl console) {
        if (settings.ramBytes() < (1 << 20) || settings.ramBytes() > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("RAM size must be between 1 MiB and 2 GiB");
        }
        this.settings = settings;
        this.dispatcher = dispatcher;
        this.console = console;
        this.ram = new GuestRam((int) settings.ramBytes());
        this.hostMemory = new byte[layout.size()];
        this.clock = new VirtualClockImpl(settings.hostClock());
        this.vcpu = new VirtualCpu(0, this);
        clock.idleSink(delta -> {
            LogicalProcessor c = vcpu.cpu;
            if (c != null) {
                c.advanceTsc(delta);
            }
        });
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
            if (thread != null && thread.isAlive() && vcpu.cpu != null) {
                swapRequested = true;
                kick();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (vcpu.cpu != null && thread.isAlive() && System.nanoTime() < deadline) {
                    try {
                        wait(50);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                }
            }
            processor = null;
        }
    }

    public void interruptController(InterruptController ic) {
        interruptController = ic;
    }

    public InterruptController interruptController() {
        return interruptController;
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

    public ExitStatistics.Snapshot statistics() {
        return vcpu.statistics().snapshot();
    }

    public void resetStatistics() {
        vcpu.statistics().reset(vcpu.instructionsRetired());
    }

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

    /**
     * Runs {@code action} with the vCPU's processor on the vCPU thread, between a VM exit and the
     * next VM entry, so VMWRITEs take effect at the next entry. While the vCPU is parked (paused,
     * or loaded and not started) it runs at once on the caller's thread. Returns its result.
     */
    public <T> T withProcessor(java.util.function.Function<LogicalProcessor, T> action) {
        java.util.concurrent.CompletableFuture<T> result = new java.util.concurrent.CompletableFuture<>();
        Runnable task = () -> {
            try {
                LogicalProcessor c = vcpu.cpu;
                if (c == null) {
                    throw new IllegalStateException("the vCPU has no processor state yet (vm:start it first)");
                }
                result.complete(action.apply(c));
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        };
        synchronized (this) {
            if (thread == null || !thread.isAlive() || parked) {
                task.run();
            } else {
                vcpuTasks.add(task);
                kick();
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

    /** On the vCPU thread after each exit: runs queued actions; returns whether any ran. */
    boolean runVcpuTasks() {
        if (vcpuTasks.isEmpty()) {
            return false;
        }
        for (Runnable t; (t = vcpuTasks.poll()) != null; ) {
            t.run();
        }
        return true;
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
            stopRequested = false;
            pauseRequested = false;
            resetRequested = false;
            exitStatus = -1;
            stopReason = null;
            savedState = false;
            stopped = new CountDownLatch(1);
            clock.cancelAll();
            vcpu.clearHandlerState();
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

    private void startThread() {
        thread = new Thread(this::vcpuThread, "vcpu-0");
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public synchronized void pause() {
        if (state != VmState.RUNNING) {
            return;
        }
        pauseRequested = true;
        kick();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!parked && state == VmState.RUNNING && System.nanoTime() < deadline) {
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
        kick();
        notifyAll();
    }

    @Override
    public void stop(int status, String reason) {
        synchronized (this) {
            if (state == VmState.STOPPED) {
                return;
            }
            if (thread == null || !thread.isAlive()) {
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
        kick();
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
        return 1;
    }

    @Override
    public Vcpu vcpu(int index) {
        if (index != 0) {
            throw new IndexOutOfBoundsException("vCPU " + index + " (this VM has 1)");
        }
        return vcpu;
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
            boolean guestRunning = state == VmState.RUNNING && thread != null && thread.isAlive() && !parked
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

    @Override
    public void intrAsserted() {
        kick();
    }

    @Override
    public void nmi() {
        vcpu.deliverNmi();
    }

    /** Makes the running guest exit (a host "IPI"), and wakes an idle HLT. */
    private void kick() {
        LogicalProcessor c = vcpu.cpu;
        if (c != null) {
            c.requestExit();
        }
        clock.wake();
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
        }
    }

    void reportOverBudget(String bundle, ExitReason reason, long rip, long nanos) {
        LOG.warn("handler {} took {} ms on {} at RIP 0x{} (over its budget)", bundle, nanos / 1_000_000, reason, Long.toHexString(rip));
    }

    private void vcpuThread() {
        try {
            while (!stopRequested) {
                if (!awaitRunnable()) {
                    break;
                }
                if (!ensureVmxOperation()) {
                    continue;
                }
                vcpu.runLoop();
                handleLoopReturn();
            }
            leaveVmxOperation();
        } catch (Throwable t) { // an internal error must end the VM, never the host
            LOG.error("vCPU thread failed", t);
            synchronized (this) {
                requestStop(StopStatus.INTERNAL_ERROR, "internal error in the vCPU loop: " + t);
            }
        } finally {
            finish(exitStatus < 0 ? StopStatus.INTERNAL_ERROR : exitStatus, stopReason);
        }
    }

    /** Parks while paused (or before the first start). Returns false when the VM is stopping. */
    private synchronized boolean awaitRunnable() throws InterruptedException {
        while ((pauseRequested || state == VmState.LOADED || processor == null) && !stopRequested && !resetRequested) {
            // ---- debugger support (console/gdb): count parkings; run actions queued just before parking
            if (!parked) {
                parkCount++;
                runVcpuTasks();
            }
            // ---- end debugger support
            parked = true;
            if (pauseRequested && state == VmState.RUNNING) {
                state = VmState.PAUSED;
            }
            notifyAll();
            wait(100);
        }
        parked = false;
        if (resetRequested) {
            doReset();
        }
        return !stopRequested;
    }

    /** Life-cycle steps 1-3: VMXON, VMCLEAR + VMPTRLD, VMWRITE of controls, host and guest state. */
    private boolean ensureVmxOperation() {
        if (vcpu.cpu != null) {
            return true;
        }
        VmxProcessor p = processor;
        if (p == null) {
            return false;
        }
        LogicalProcessor c = p.createLogicalProcessor(ram.array(), hostMemory);
        int revision = (int) (p.capabilityMsr(VmcsSetup.IA32_VMX_BASIC) & 0x7FFF_FFFF);
        // SDM 3C 25.11.5: software writes the revision identifier into the VMXON region and each VMCS region.
        putInt(layout.vmxonRegion(), revision);
        expect(c.vmxon(layout.vmxonRegion()), c, "VMXON");
        long vmcs = layout.vmcs(0);
        boolean fresh = !savedState;
        if (fresh) {
            putInt(vmcs, revision);
            putInt(layout.shadowVmcs(), revision | VmcsSetup.SHADOW_VMCS_INDICATOR); // for VMCS shadowing
            expect(c.vmclear(vmcs), c, "VMCLEAR");
        }
        expect(c.vmptrld(vmcs), c, "VMPTRLD");
        if (fresh) {
            try {
                VmcsSetup.Controls want = VmcsSetup.Controls.defaults().with(settings.controlOverrides());
                VmcsSetup.writeControls(p, c, settings.vmcs().applyTo(want), layout);
                VmcsSetup.writeHostState(c);
                VmcsSetup.writeGuestState(p, c, boot);
                // The user's --set fields and bitmaps: after the kernel's VMWRITEs, before VMLAUNCH.
                settings.vmcs().writeAfterSetup(c, this);
            } catch (IllegalArgumentException e) {
                synchronized (this) {
                    requestStop(StopStatus.USER_ERROR, e.getMessage());
                }
                vcpu.cpu = c; // in VMX operation: leaveVmxOperation ends it
                return false;
            }
        } else {
            for (int i = 0; i < 16; i++) {
                c.setGpr(i, savedGprs[i]);
            }
            c.setCr2(savedCr2);
            for (int i : new int[] {0, 1, 2, 3, 6}) {
                c.setDr(i, savedDrs[i]);
            }
            savedState = false;
        }
        c.setA20(a20);
        vcpu.launched = false; // after VMCLEAR the launch state is "clear": VMLAUNCH next (SDM 3C 25.1)
        ram.invalidator(c::invalidateCode);
        ram.translator((linear, write) -> c.translateGuestLinear(linear, write != 0));
        vcpu.cpu = c;
        return true;
    }

    private void handleLoopReturn() {
        boolean swap;
        synchronized (this) {
            swap = swapRequested;
        }
        if (swap) {
            LogicalProcessor c = vcpu.cpu;
            for (int i = 0; i < 16; i++) {
                savedGprs[i] = c.gpr(i);
            }
            savedCr2 = c.cr2();
            for (int i : new int[] {0, 1, 2, 3, 6}) {
                savedDrs[i] = c.dr(i);
            }
            savedState = true;
            leaveVmxOperation();
            synchronized (this) {
                swapRequested = false;
                notifyAll();
            }
        }
    }

    /** Life-cycle step 6: VMCLEAR flushes the VMCS to its region, then VMXOFF. */
    private void leaveVmxOperation() {
        LogicalProcessor c = vcpu.cpu;
        if (c == null) {
            return;
        }
        c.vmclear(layout.vmcs(0));
        c.vmxoff();
        vcpu.cpu = null;
    }

    /** A platform reset: RAM reloaded from the image, a fresh VMCS, timers cancelled. */
    private void doReset() {
        resetRequested = false;
        leaveVmxOperation();
        savedState = false;
        clock.cancelAll();
        vcpu.clearHandlerState();
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

    /** Installs (or with null removes) the debugger's hook. */
    public void debugHook(DebugHook hook) {
        vcpu.debugHook = hook;
    }

    public DebugHook debugHook() {
        return vcpu.debugHook;
    }

    /** On the vCPU thread: pause at the end of this exit (a breakpoint hit, a finished step). */
    public synchronized void pauseFromVcpu() {
        pauseRequested = true; // serviceRequests() sees it after this exit; no kick needed on the vCPU thread
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
        while (!(parked && parkCount > count) && state != VmState.STOPPED) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
        }
        return true;
    }

    /** Whether the vCPU thread is parked now (its processor may be used from the caller's thread). */
    public synchronized boolean parked() {
        return parked;
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
