package org.hotvisor.kernel.gdb;

import org.hotvisor.api.VmState;
import org.hotvisor.api.vmx.LogicalProcessor;
import org.hotvisor.api.vmx.VmcsField;
import org.hotvisor.kernel.console.CpuState;
import org.hotvisor.kernel.console.GuestDebugger;
import org.hotvisor.kernel.vm.Machine;
import org.hotvisor.kernel.vm.StopStatus;

/**
 * The VM as gdb sees it: vCPU 0's registers in the i386 layout, guest-linear memory (as QEMU's
 * gdbstub reads through the guest's paging), breakpoints and steps through the shared
 * {@link GuestDebugger}. Every VMREAD/VMWRITE goes through {@link Machine#withProcessor}.
 */
final class MachineTarget implements GdbTarget {
    /** gdb register numbers in the i386 layout. */
    static final int ESP = 4, EIP = 8, EFLAGS = 9, CS = 10, SS = 11, DS = 12, ES = 13, FS = 14, GS = 15;
    /** Segment registers in gdb's order and their VMCS fields. */
    private static final VmcsField[] SELECTORS = {VmcsField.GUEST_CS_SELECTOR, VmcsField.GUEST_SS_SELECTOR,
        VmcsField.GUEST_DS_SELECTOR, VmcsField.GUEST_ES_SELECTOR, VmcsField.GUEST_FS_SELECTOR, VmcsField.GUEST_GS_SELECTOR};
    private static final VmcsField[] BASES = {VmcsField.GUEST_CS_BASE, VmcsField.GUEST_SS_BASE,
        VmcsField.GUEST_DS_BASE, VmcsField.GUEST_ES_BASE, VmcsField.GUEST_FS_BASE, VmcsField.GUEST_GS_BASE};
    /** SDM 3A 3.4.2 / 20.1.1: a real-mode segment base is the selector times 16. */
    static final int REAL_MODE_SEGMENT_SHIFT = 4;
    /** RFLAGS bit 1 is reserved and always 1 (SDM 1 3.4.3). */
    static final long RFLAGS_RESERVED_ONE = 2;
    static final long MASK32 = 0xFFFF_FFFFL;
    static final long STOP_POLL_MILLIS = 200;
    static final long HOLD_WAIT_MILLIS = 10_000;
    static final long IMAGE_WAIT_NANOS = 30_000_000_000L, IMAGE_POLL_MILLIS = 10;

    private final Machine vm;
    private final GuestDebugger debugger;
    /** The park count and debugger stop number when gdb last resumed the VM. */
    private volatile long parksAtResume;
    private volatile long stopsAtResume;
    private volatile boolean interrupted;
    private volatile Stop lastStop = Stop.signal(Stop.SIGTRAP);

    MachineTarget(Machine vm, GuestDebugger debugger) {
        this.vm = vm;
        this.debugger = debugger;
    }

    private static TargetException failure(RuntimeException e) {
        return new TargetException(EIO, e.getMessage());
    }

    @Override
    public void attach() throws TargetException {
        try {
            awaitImage();
            // Start a LOADED guest held, unless the run session starts it first; then wait for
            // the hold in either case. Waiting first would miss a start between the two steps.
            debugger.requireProcessorState();
            debugger.awaitHeld(HOLD_WAIT_MILLIS); // --gdb: the vCPU may be on its way to park before its first instruction
            if (vm.state() == VmState.RUNNING) {
                vm.pause(); // QEMU stops the VM when gdb connects
                lastStop = Stop.signal(Stop.SIGINT);
            }
        } catch (RuntimeException e) {
            throw failure(e);
        }
    }

    /** gdb may connect while the kernel is still loading the image (--gdb opens the port first). */
    private void awaitImage() {
        long deadline = System.nanoTime() + IMAGE_WAIT_NANOS;
        while (vm.state() == VmState.EMPTY && System.nanoTime() < deadline) {
            try {
                Thread.sleep(IMAGE_POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    @Override
    public long[] readRegisters() throws TargetException {
        try {
            return vm.withProcessor(c -> {
                long[] r = new long[CORE_REGISTERS];
                for (int i = 0; i < 8; i++) {
                    r[i] = (i == ESP ? c.vmread(VmcsField.GUEST_RSP) : c.gpr(i)) & MASK32;
                }
                r[EIP] = c.vmread(VmcsField.GUEST_RIP) & MASK32;
                r[EFLAGS] = c.vmread(VmcsField.GUEST_RFLAGS) & MASK32;
                for (int i = 0; i < SELECTORS.length; i++) {
                    r[CS + i] = c.vmread(SELECTORS[i]) & 0xFFFF;
                }
                return r;
            });
        } catch (RuntimeException e) {
            throw failure(e);
        }
    }

    @Override
    public void writeRegister(int index, long value) throws TargetException {
        long v = value & MASK32;
        String problem;
        try {
            problem = vm.withProcessor(c -> write(c, index, v));
        } catch (RuntimeException e) {
            throw failure(e);
        }
        if (problem != null) {
            throw new TargetException(EINVAL, problem);
        }
    }

    private static String write(LogicalProcessor c, int index, long v) {
        if (index < 8) {
            if (index == ESP) {
                c.vmwrite(VmcsField.GUEST_RSP, v);
            } else {
                c.setGpr(index, v);
            }
        } else if (index == EIP) {
            c.vmwrite(VmcsField.GUEST_RIP, v);
        } else if (index == EFLAGS) {
            c.vmwrite(VmcsField.GUEST_RFLAGS, v | RFLAGS_RESERVED_ONE);
        } else if (index < CORE_REGISTERS) {
            int s = index - CS;
            long selector = v & 0xFFFF;
            if (c.vmread(SELECTORS[s]) == selector) {
                return null;
            }
            if (CpuState.protectedMode(c)) {
                return "segment registers can only be changed in real mode (a protected-mode load needs the descriptor)";
            }
            c.vmwrite(SELECTORS[s], selector);
            c.vmwrite(BASES[s], selector << REAL_MODE_SEGMENT_SHIFT);
        } else {
            return "no register " + index;
        }
        return null;
    }

    @Override
    public byte[] readMemory(long address, int length) throws TargetException {
        GuestDebugger.MemoryRead r;
        try {
            r = debugger.read(address, length, true);
        } catch (RuntimeException e) {
            throw failure(e);
        }
        if (r.data().length == 0 && length > 0) {
            throw new TargetException(EFAULT, String.format("0x%x is not mapped", address));
        }
        return r.data();
    }

    @Override
    public void writeMemory(long address, byte[] data) throws TargetException {
        long fault;
        try {
            fault = debugger.write(address, data, true);
        } catch (RuntimeException e) {
            throw failure(e);
        }
        if (fault >= 0) {
            throw new TargetException(EFAULT, String.format("0x%x is not mapped", fault));
        }
    }

    @Override
    public void insertBreakpoint(long address) throws TargetException {
        try {
            debugger.insert(address, GuestDebugger.Owner.GDB);
        } catch (IllegalArgumentException e) {
            throw new TargetException(EFAULT, e.getMessage());
        } catch (RuntimeException e) {
            throw failure(e);
        }
    }

    @Override
    public void removeBreakpoint(long address) throws TargetException {
        try {
            debugger.removeAt(address, GuestDebugger.Owner.GDB);
        } catch (RuntimeException e) {
            throw failure(e);
        }
    }

    private void markResume() {
        parksAtResume = vm.parkCount();
        stopsAtResume = debugger.stopSequence();
        interrupted = false;
    }

    @Override
    public void resume() throws TargetException {
        try {
            markResume();
            vm.resume();
        } catch (RuntimeException e) {
            throw failure(e);
        }
    }

    @Override
    public void step() throws TargetException {
        try {
            stopsAtResume = debugger.stopSequence();
            interrupted = false;
            parksAtResume = debugger.startStep(1);
        } catch (RuntimeException e) {
            throw failure(e);
        }
    }

    @Override
    public void interrupt() {
        interrupted = true;
        vm.pause();
        try {
            debugger.cancelStep(); // a step that waits for an interrupt must not go on at the next continue
        } catch (RuntimeException e) {
            // the VM stopped meanwhile
        }
    }

    @Override
    public Stop awaitStop() throws InterruptedException {
        while (!vm.awaitParkedAfter(parksAtResume, STOP_POLL_MILLIS)) {
            // the guest runs; Ctrl-C or a breakpoint ends the wait
        }
        Stop s;
        if (vm.state() == VmState.STOPPED) {
            s = Stop.exit(vm.exitStatus());
        } else {
            GuestDebugger.StopEvent e = debugger.lastStop();
            if (e != null && e.sequence() > stopsAtResume && !interrupted) {
                s = e.kind() == GuestDebugger.StopKind.BREAKPOINT ? Stop.breakpoint() : Stop.signal(Stop.SIGTRAP);
            } else {
                s = Stop.signal(Stop.SIGINT); // Ctrl-C, vm:pause on the console, or a handler fault
            }
        }
        lastStop = s;
        return s;
    }

    @Override
    public Stop currentStop() {
        if (vm.state() == VmState.STOPPED) {
            return Stop.exit(vm.exitStatus());
        }
        return lastStop;
    }

    @Override
    public void detach() {
        try {
            debugger.cancelStep();
            debugger.removeAll(GuestDebugger.Owner.GDB);
        } catch (RuntimeException e) {
            // the VM is gone: nothing to clean up
        }
        if (vm.state() == VmState.PAUSED) {
            vm.resume();
        }
    }

    @Override
    public void kill() {
        vm.stop(StopStatus.STOPPED_BY_USER, "killed by gdb");
    }
}
