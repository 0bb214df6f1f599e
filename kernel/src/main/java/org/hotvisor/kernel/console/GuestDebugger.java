package org.hotvisor.kernel.console;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.hotvisor.api.GuestMemory;
import org.hotvisor.api.VmState;
import org.hotvisor.api.vmx.LogicalProcessor;
import org.hotvisor.api.vmx.ProcessorControl;
import org.hotvisor.api.vmx.VmcsField;
import org.hotvisor.api.vmx.VmxProcessor;
import org.hotvisor.kernel.vm.Machine;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * Guest debugging as KVM does it for gdb (KVM_SET_GUEST_DEBUG), shared by the console and the
 * gdbstub:
 * <ul>
 * <li>software breakpoints: INT3 (0xCC) patched into guest memory and bit 3 (#BP) of the
 *     exception bitmap set (SDM 3C 25.6.3), so the guest's INT3 exits with reason 0 instead of
 *     being delivered (SDM 3C 26.2); a hit leaves RIP at the INT3 and pauses the VM;</li>
 * <li>single-step: the monitor-trap-flag control, an MTF exit (37) after each instruction (SDM 3C
 *     26.5.2); an instruction the VMM emulates (its exit advanced RIP) counts as a step too, as
 *     KVM's skip-emulated-instruction does. Interrupts are held back while stepping (QEMU's
 *     SSTEP_NOIRQ) unless the guest waits in HLT;</li>
 * <li>resuming from a breakpoint (or stepping from one) restores the original byte, steps one
 *     instruction with MTF and puts the INT3 back.</li>
 * </ul>
 * Memory reads through the debugger show the original bytes under inserted breakpoints. The hook
 * is installed in the run loop only while breakpoints exist or a step is in progress.
 *
 * <p>Threading: table changes take {@code lock} briefly; everything that touches the processor or
 * patches memory runs through {@link Machine#withProcessor} or in the hook, on the vCPU thread (or
 * on the caller's while the vCPU is parked). The lock is never held across withProcessor.
 */
@Component(service = GuestDebugger.class)
public final class GuestDebugger implements Machine.DebugHook {
    /** Who set a breakpoint; one INT3 serves both. */
    public enum Owner { CONSOLE, GDB }

    /** Why the debugger paused the VM. */
    public enum StopKind { BREAKPOINT, STEP, HELD }

    /** One debugger stop, numbered. */
    public record StopEvent(long sequence, StopKind kind, int breakpoint, String csIp, long linearRip) {}

    /** A breakpoint as the console lists it. */
    public record BreakpointInfo(int id, long linear, long physical, int originalByte, Set<Owner> owners) {}

    /** The bytes read, and the first address that could not be translated (-1: none). */
    public record MemoryRead(byte[] data, long faultAddress) {}

    static final int INT3 = 0xCC;
    /** SDM 3C 25.6.3: exception-bitmap bit per vector; #BP is vector 3. */
    static final int BP_VECTOR = 3;
    static final long BP_BITMAP_BIT = 1L << BP_VECTOR;
    /** SDM 3C 25.9.2, Table 25-17: VM-exit interruption information: vector 7:0, type 10:8, valid 31. */
    static final int INTR_INFO_VECTOR_MASK = 0xFF, INTR_INFO_TYPE_SHIFT = 8, INTR_INFO_TYPE_MASK = 7;
    static final int INTR_TYPE_SOFTWARE_EXCEPTION = 6;
    static final int EXIT_EXCEPTION_OR_NMI = 0, EXIT_MONITOR_TRAP_FLAG = 37;
    static final long NONE = -1;
    static final long PAGE_MASK = ~0xFFFL;

    private final Machine machine;
    private final GuestMemory memory;
    private final Object lock = new Object();
    private final Map<Long, Breakpoint> breakpoints = new LinkedHashMap<>(); // by linear address
    private int nextId = 1;

    // Run-loop state: written through withProcessor or in the hook, read by the hook.
    private volatile boolean hold;
    /** The park count when the last hold was taken (its park makes the count exceed it); -1: none. */
    private volatile long holdParks = -1;
    private volatile int stepsRemaining;
    /** Whether the MTF control is on because of us. */
    private volatile boolean stepping;
    /** The breakpoint whose original byte is back in memory for one step, or NONE. */
    private volatile long stepOverLinear = NONE;
    private boolean mtfWasSet;
    private boolean bitmapOwned;
    private boolean bitmapBitWasSet;

    private final AtomicLong stopSequence = new AtomicLong();
    private volatile StopEvent lastStop;

    @Activate
    public GuestDebugger(@Reference Machine machine) {
        this.machine = machine;
        this.memory = machine.memory();
    }

    private static final class Breakpoint {
        final int id;
        final long linear;
        final long physical;
        final Set<Owner> owners = EnumSet.noneOf(Owner.class);
        int original;
        boolean inserted;

        Breakpoint(int id, long linear, long physical) {
            this.id = id;
            this.linear = linear;
            this.physical = physical;
        }

        BreakpointInfo info() {
            return new BreakpointInfo(id, linear, physical, original, Set.copyOf(owners));
        }
    }

    public Machine machine() {
        return machine;
    }

    // ---------------------------------------------------------------- life cycle helpers

    /** Keeps the vCPU from its first VM entry: it parks (PAUSED) with its VMCS set up, as QEMU's -S. */
    public void holdAtFirstEntry() {
        hold = true;
        updateHook();
    }

    /**
     * If a hold is pending, or was just taken and the vCPU is on its way to park, waits until it
     * has parked (or the VM stopped, or the time is up).
     */
    public void awaitHeld(long timeoutMillis) {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        // only a RUNNING vCPU is on its way to a held park; a LOADED one waits for its start
        while ((hold || machine.parkCount() <= holdParks) && machine.state() == VmState.RUNNING
                && System.nanoTime() < deadline) {
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * Makes sure the vCPU has processor state to inspect: a LOADED VM is started and held before
     * its first instruction (it is PAUSED afterwards).
     */
    public void requireProcessorState() {
        switch (machine.state()) {
            case EMPTY -> throw new IllegalStateException("no guest is loaded");
            case STOPPED -> throw new IllegalStateException("the VM has stopped");
            case LOADED -> {
                long parks = machine.parkCount();
                if (machine.startIfLoaded(this::holdAtFirstEntry)) {
                    awaitParked(parks, 10_000, "the vCPU did not reach its first entry within 10 s");
                } // else the run session started it first: its own hold (--gdb) is on the way
            }
            default -> { }
        }
    }

    private void awaitParked(long parks, long millis, String failure) {
        try {
            if (!machine.awaitParkedAfter(parks, millis)) {
                throw new IllegalStateException(failure);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
    }

    /** The last stop the debugger caused, or null. */
    public StopEvent lastStop() {
        return lastStop;
    }

    public long stopSequence() {
        return stopSequence.get();
    }

    // ---------------------------------------------------------------- breakpoints

    /** Inserts a breakpoint at a guest-linear address (translated now, with the current paging). */
    public BreakpointInfo insert(long linear, Owner owner) {
        requireProcessorState();
        return machine.withProcessor(c -> {
            Breakpoint bp;
            synchronized (lock) {
                bp = breakpoints.get(linear);
                if (bp == null) {
                    long physical = c.translateGuestLinear(linear, false);
                    if (physical < 0 || physical >= memory.size()) {
                        throw new IllegalArgumentException(String.format(
                                "linear address 0x%x is not mapped to guest RAM", linear));
                    }
                    bp = new Breakpoint(nextId++, linear, physical);
                    breakpoints.put(linear, bp);
                }
                bp.owners.add(owner);
            }
            patch(c);
            syncExceptionBitmap(c);
            updateHook();
            synchronized (lock) {
                return bp.info();
            }
        });
    }

    /** Removes breakpoint {@code id} whoever set it; false if there is none. */
    public boolean remove(int id) {
        return removeWhere(bp -> bp.id == id, null) > 0;
    }

    /** Removes one owner's breakpoint at a linear address (the INT3 stays while another owner has it). */
    public boolean removeAt(long linear, Owner owner) {
        return removeWhere(bp -> bp.linear == linear, owner) > 0;
    }

    /** Removes every breakpoint of an owner (null: all); returns how many were removed. */
    public int removeAll(Owner owner) {
        return removeWhere(bp -> true, owner);
    }

    private int removeWhere(java.util.function.Predicate<Breakpoint> which, Owner owner) {
        VmState s = machine.state();
        boolean processor = (s == VmState.RUNNING || s == VmState.PAUSED) && machine.bsp().processorForInspection() != null;
        if (!processor) {
            synchronized (lock) { // no vCPU (stopped, or not started): memory is not ours to restore any more
                return dropMatching(which, owner, null);
            }
        }
        return machine.withProcessor(c -> {
            int n;
            synchronized (lock) {
                n = dropMatching(which, owner, c);
            }
            syncExceptionBitmap(c);
            updateHook();
            return n;
        });
    }

    /** Under the lock: removes owners, and breakpoints left with none (restoring their byte when c != null). */
    private int dropMatching(java.util.function.Predicate<Breakpoint> which, Owner owner, LogicalProcessor c) {
        int n = 0;
        for (var it = breakpoints.values().iterator(); it.hasNext(); ) {
            Breakpoint bp = it.next();
            if (!which.test(bp) || (owner != null && !bp.owners.contains(owner))) {
                continue;
            }
            if (owner != null) {
                bp.owners.remove(owner);
            } else {
                bp.owners.clear();
            }
            n++;
            if (bp.owners.isEmpty()) {
                if (c != null && bp.inserted && bp.linear != stepOverLinear && memory.read8(bp.physical) == INT3) {
                    memory.write8(bp.physical, bp.original);
                }
                it.remove();
            }
        }
        return n;
    }

    public List<BreakpointInfo> breakpoints() {
        synchronized (lock) {
            List<BreakpointInfo> l = new ArrayList<>();
            for (Breakpoint bp : breakpoints.values()) {
                l.add(bp.info());
            }
            return l;
        }
    }

    // ---------------------------------------------------------------- stepping

    /**
     * Starts {@code count} single steps of a paused VM and resumes it; the VM pauses again after
     * them (or at a breakpoint on the way). Returns the park count to wait on with
     * {@link Machine#awaitParkedAfter}.
     */
    public long startStep(int count) {
        if (count < 1) {
            throw new IllegalArgumentException("the step count must be at least 1");
        }
        requireProcessorState();
        if (machine.state() != VmState.PAUSED) {
            throw new IllegalStateException("the VM must be paused to step (vm:pause)");
        }
        VmxProcessor p = machine.processorService();
        if (p != null && !new VmxCapabilities(p).mayBeOne(ProcessorControl.MONITOR_TRAP_FLAG)) {
            throw new IllegalStateException("the VMX processor does not offer the monitor trap flag");
        }
        long parks = machine.parkCount();
        machine.withProcessor(c -> {
            stepsRemaining = count;
            updateHook();
            return null;
        });
        machine.resume();
        return parks;
    }

    /**
     * Steps a paused VM {@code count} instructions and waits for it to pause again. Returns the
     * debugger's stop (a STEP, or a BREAKPOINT met on the way), or null if the VM stopped. A
     * step that does not finish in time is cancelled and the VM paused.
     */
    public StopEvent step(int count, long timeoutMillis) {
        long seq = stopSequence.get();
        long parks = startStep(count);
        boolean parked;
        try {
            parked = machine.awaitParkedAfter(parks, timeoutMillis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            parked = false;
        }
        if (!parked) {
            machine.pause();
            cancelStep();
            throw new IllegalStateException("the step did not finish within " + timeoutMillis
                    + " ms (the guest may wait for an interrupt); the VM is paused");
        }
        StopEvent e = lastStop;
        return e != null && e.sequence() > seq ? e : null;
    }

    /** Drops a step in progress (the VM paused for another reason). */
    public void cancelStep() {
        if (machine.state() != VmState.PAUSED) {
            stepsRemaining = 0;
            return;
        }
        machine.withProcessor(c -> {
            stepsRemaining = 0;
            endStepping(c);
            return null;
        });
    }

    // ---------------------------------------------------------------- guest memory with breakpoints hidden

    /**
     * Reads guest memory: linear addresses through the guest's paging (as QEMU's x and gdb's m),
     * or physical ones. Bytes under inserted breakpoints read as the original instruction bytes.
     * A linear read stops at the first page that does not translate.
     */
    public MemoryRead read(long address, int length, boolean linear) {
        return machine.withProcessor(c -> {
            Map<Long, Integer> shadow = shadowBytes();
            byte[] out = new byte[length];
            long page = NONE, pageBase = 0;
            for (int i = 0; i < length; i++) {
                long a = address + i;
                long physical;
                if (linear) {
                    if ((a & PAGE_MASK) != page) {
                        page = a & PAGE_MASK;
                        pageBase = c.translateGuestLinear(page, false);
                    }
                    if (pageBase < 0) {
                        return new MemoryRead(java.util.Arrays.copyOf(out, i), a);
                    }
                    physical = pageBase + (a & ~PAGE_MASK);
                } else {
                    physical = a;
                }
                Integer orig = shadow.get(physical);
                out[i] = (byte) (orig != null ? orig : memory.read8(physical));
            }
            return new MemoryRead(out, NONE);
        });
    }

    /** Writes guest memory; a byte under an inserted breakpoint becomes its new original byte. */
    public long write(long address, byte[] data, boolean linear) {
        return machine.withProcessor(c -> {
            for (int i = 0; i < data.length; i++) {
                long a = address + i;
                long physical = linear ? c.translateGuestLinear(a, false) : a;
                if (physical < 0) {
                    return a;
                }
                boolean shadowed = false;
                synchronized (lock) {
                    for (Breakpoint bp : breakpoints.values()) {
                        if (bp.physical == physical && bp.inserted && bp.linear != stepOverLinear) {
                            bp.original = data[i] & 0xFF;
                            shadowed = true;
                        }
                    }
                }
                if (!shadowed) {
                    memory.write8(physical, data[i]);
                }
            }
            return NONE;
        });
    }

    private Map<Long, Integer> shadowBytes() {
        Map<Long, Integer> m = new HashMap<>();
        synchronized (lock) {
            for (Breakpoint bp : breakpoints.values()) {
                if (bp.inserted && bp.linear != stepOverLinear) {
                    m.put(bp.physical, bp.original);
                }
            }
        }
        return m;
    }

    // ---------------------------------------------------------------- the run-loop hook (vCPU thread)

    @Override
    public boolean beforeRun(LogicalProcessor c) {
        if (hold) {
            holdParks = machine.parkCount(); // the park this hold causes is the next one
            hold = false;
            emit(StopKind.HELD, 0, c);
            machine.pauseFromVcpu();
            updateHook();
            return false;
        }
        reinsertStepOver(c);
        patch(c);
        syncExceptionBitmap(c);
        boolean overBreakpoint = prepareStepOver(c);
        if (stepsRemaining > 0 || overBreakpoint) {
            startStepping(c);
        }
        updateHook();
        return true;
    }

    @Override
    public boolean onExit(LogicalProcessor c, int basicReason) {
        if (basicReason == EXIT_MONITOR_TRAP_FLAG) {
            if (!stepping) {
                return false; // someone else's MTF (vmx:controls): the handlers and defaults see it
            }
            stepCompleted(c);
            return true;
        }
        int info = (int) c.vmread(VmcsField.VM_EXIT_INTR_INFO);
        if (info >= 0 || (info & INTR_INFO_VECTOR_MASK) != BP_VECTOR
                || ((info >>> INTR_INFO_TYPE_SHIFT) & INTR_INFO_TYPE_MASK) != INTR_TYPE_SOFTWARE_EXCEPTION) {
            return false;
        }
        long linear = CpuState.linearRip(c);
        if (linear == stepOverLinear) {
            return false; // the guest's own INT3 under a breakpoint we lifted for a step
        }
        Breakpoint bp = inserted(linear);
        if (bp == null) {
            return false; // the guest's own INT3: re-injected by the default
        }
        if (stepping) {
            stepsRemaining = 0;
            endStepping(c);
        }
        hit(c, bp);
        return true;
    }

    @Override
    public boolean afterExit(LogicalProcessor c, int basicReason, long ripAtExit) {
        if (!stepping || c.vmread(VmcsField.GUEST_RIP) == ripAtExit) {
            return false;
        }
        stepCompleted(c); // the VMM emulated the instruction (CPUID, OUT, HLT...): that was the step
        return true;
    }

    @Override
    public boolean maskInterrupts(LogicalProcessor c) {
        // A guest in HLT needs its interrupt to get anywhere: then the step ends in the handler.
        return stepping && c.vmread(VmcsField.GUEST_ACTIVITY_STATE) != CpuState.ACTIVITY_HLT;
    }

    private void stepCompleted(LogicalProcessor c) {
        reinsertStepOver(c);
        int remaining = stepsRemaining;
        if (remaining <= 0) {
            endStepping(c); // the step over a breakpoint of a continue: run on
            return;
        }
        remaining--;
        stepsRemaining = remaining;
        Breakpoint bp = inserted(CpuState.linearRip(c));
        if (remaining == 0) {
            endStepping(c);
            emit(StopKind.STEP, bp == null ? 0 : bp.id, c);
            machine.pauseFromVcpu();
        } else if (bp != null) {
            stepsRemaining = 0;
            endStepping(c);
            hit(c, bp);
        }
    }

    private void hit(LogicalProcessor c, Breakpoint bp) {
        StopEvent e = emit(StopKind.BREAKPOINT, bp.id, c);
        boolean console;
        synchronized (lock) {
            console = bp.owners.contains(Owner.CONSOLE);
        }
        if (console) {
            machine.console().report("breakpoint " + bp.id + " hit at " + e.csIp());
        }
        machine.pauseFromVcpu();
    }

    private StopEvent emit(StopKind kind, int breakpoint, LogicalProcessor c) {
        StopEvent e = new StopEvent(stopSequence.incrementAndGet(), kind, breakpoint, CpuState.csIp(c), CpuState.linearRip(c));
        lastStop = e;
        return e;
    }

    private Breakpoint inserted(long linear) {
        synchronized (lock) {
            Breakpoint bp = breakpoints.get(linear);
            return bp != null && bp.inserted ? bp : null;
        }
    }

    private void startStepping(LogicalProcessor c) {
        if (stepping) {
            return;
        }
        int proc = (int) c.vmread(VmcsField.CPU_BASED_VM_EXEC_CONTROL);
        mtfWasSet = ProcessorControl.MONITOR_TRAP_FLAG.isSet(proc);
        c.vmwrite(VmcsField.CPU_BASED_VM_EXEC_CONTROL, ProcessorControl.MONITOR_TRAP_FLAG.set(proc, true) & 0xFFFF_FFFFL);
        stepping = true;
    }

    private void endStepping(LogicalProcessor c) {
        if (stepping) {
            int proc = (int) c.vmread(VmcsField.CPU_BASED_VM_EXEC_CONTROL);
            c.vmwrite(VmcsField.CPU_BASED_VM_EXEC_CONTROL, ProcessorControl.MONITOR_TRAP_FLAG.set(proc, mtfWasSet) & 0xFFFF_FFFFL);
            stepping = false;
        }
        updateHook();
    }

    /** RIP is at an inserted breakpoint: its original byte goes back for one step. */
    private boolean prepareStepOver(LogicalProcessor c) {
        long linear = CpuState.linearRip(c);
        Breakpoint bp = inserted(linear);
        if (bp == null) {
            return false;
        }
        memory.write8(bp.physical, bp.original);
        stepOverLinear = linear;
        return true;
    }

    private void reinsertStepOver(LogicalProcessor c) {
        long linear = stepOverLinear;
        if (linear == NONE) {
            return;
        }
        stepOverLinear = NONE;
        Breakpoint bp = inserted(linear);
        if (bp != null) {
            synchronized (lock) {
                bp.original = memory.read8(bp.physical);
            }
            memory.write8(bp.physical, INT3);
        }
    }

    /** Puts INT3 where it is missing: new breakpoints, and after a reset reloaded RAM. */
    private void patch(LogicalProcessor c) {
        List<Breakpoint> todo = new ArrayList<>();
        synchronized (lock) {
            for (Breakpoint bp : breakpoints.values()) {
                if (bp.linear == stepOverLinear) {
                    continue;
                }
                int b = memory.read8(bp.physical);
                if (!bp.inserted || b != INT3) {
                    bp.original = b;
                    bp.inserted = true;
                    todo.add(bp);
                }
            }
        }
        for (Breakpoint bp : todo) {
            memory.write8(bp.physical, INT3);
        }
    }

    /** Bit 3 of the exception bitmap while breakpoints exist; the guest's own setting is kept. */
    private void syncExceptionBitmap(LogicalProcessor c) {
        boolean want;
        synchronized (lock) {
            want = !breakpoints.isEmpty();
        }
        long bitmap = c.vmread(VmcsField.EXCEPTION_BITMAP);
        if (want) {
            if (!bitmapOwned) {
                bitmapOwned = true;
                bitmapBitWasSet = (bitmap & BP_BITMAP_BIT) != 0;
            }
            if ((bitmap & BP_BITMAP_BIT) == 0) {
                c.vmwrite(VmcsField.EXCEPTION_BITMAP, bitmap | BP_BITMAP_BIT);
            }
        } else if (bitmapOwned) {
            bitmapOwned = false;
            if (!bitmapBitWasSet && (bitmap & BP_BITMAP_BIT) != 0) {
                c.vmwrite(VmcsField.EXCEPTION_BITMAP, bitmap & ~BP_BITMAP_BIT);
            }
        }
    }

    /** The hook runs only while there is something to do: no cost per exit otherwise. */
    private void updateHook() {
        boolean any;
        synchronized (lock) {
            any = !breakpoints.isEmpty();
        }
        boolean need = any || hold || stepping || stepsRemaining > 0 || stepOverLinear != NONE;
        machine.debugHook(need ? this : null);
    }
}
