package org.hotvisor.kernel.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.hotvisor.api.VmState;
import org.hotvisor.api.vmx.ProcessorControl;
import org.hotvisor.api.vmx.VmcsField;
import org.hotvisor.kernel.vm.Machine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Breakpoints and single-step through the kernel's real run loop, on the toy processor. */
class GuestDebuggerTest {
    private static final long START = 0x7C00;
    /**
     * 7C00 nop; 7C01 nop; 7C02 out 0xE9 (an exit the VMM emulates); 7C04 nop;
     * 7C05 jmp 7C00 (a loop).
     */
    private static final byte[] LOOP = {(byte) 0x90, (byte) 0x90, (byte) 0xE6, (byte) 0xE9, (byte) 0x90, (byte) 0xEB, (byte) 0xF9};

    private Machine vm;
    private GuestDebugger debugger;

    private void boot() throws Exception {
        vm = ToyCpu.machine(LOOP);
        debugger = new GuestDebugger(vm);
    }

    @AfterEach
    void stop() {
        if (vm != null) {
            vm.stop(0, "test over");
        }
    }

    private long rip() {
        return vm.withProcessor(c -> c.vmread(VmcsField.GUEST_RIP));
    }

    private int ram(long address) {
        return vm.memory().read8(address);
    }

    private boolean mtf() {
        return vm.withProcessor(c -> ProcessorControl.MONITOR_TRAP_FLAG.isSet((int) c.vmread(VmcsField.CPU_BASED_VM_EXEC_CONTROL)));
    }

    private long exceptionBitmap() {
        return vm.withProcessor(c -> c.vmread(VmcsField.EXCEPTION_BITMAP));
    }

    /** Resumes and waits for the VM to park again (a breakpoint). */
    private void continueToStop() throws InterruptedException {
        long parks = vm.parkCount();
        vm.resume();
        assertTrue(vm.awaitParkedAfter(parks, 5000), "the VM did not stop");
    }

    @Test
    void aLoadedVmIsHeldBeforeItsFirstInstruction() throws Exception {
        boot();
        debugger.requireProcessorState();
        assertEquals(VmState.PAUSED, vm.state());
        assertEquals(START, rip());
        assertEquals(0, vm.bsp().instructionsRetired());
        assertNull(vm.debugHook(), "nothing to do: the hook is out of the run loop");
    }

    @Test
    void aBreakpointPatchesInt3StopsAtItsAddressAndHidesItselfFromReads() throws Exception {
        boot();
        GuestDebugger.BreakpointInfo bp = debugger.insert(0x7C04, GuestDebugger.Owner.CONSOLE);
        assertEquals(0x7C04, bp.physical());
        assertEquals(0x90, bp.originalByte());
        assertEquals(GuestDebugger.INT3, ram(0x7C04));
        assertEquals(8, exceptionBitmap() & 8, "#BP exits while a breakpoint exists (SDM 3C 25.6.3)");
        assertSame(debugger, vm.debugHook());

        continueToStop();
        assertEquals(0x7C04, rip(), "RIP stays at the INT3: the guest never sees the #BP");
        GuestDebugger.StopEvent e = debugger.lastStop();
        assertEquals(GuestDebugger.StopKind.BREAKPOINT, e.kind());
        assertEquals(bp.id(), e.breakpoint());
        assertEquals("0000:7c04", e.csIp());
        assertEquals(0x90, debugger.read(0x7C00, 8, true).data()[4] & 0xFF, "reads show the original byte");
    }

    @Test
    void continuingFromABreakpointStepsOverItAndHitsItOnTheNextRound() throws Exception {
        boot();
        debugger.insert(0x7C01, GuestDebugger.Owner.CONSOLE);
        continueToStop();
        long retired = vm.bsp().instructionsRetired();
        continueToStop();
        assertEquals(0x7C01, rip());
        assertEquals(retired + 4, vm.bsp().instructionsRetired(), "one round: nop, out (emulated: not retired), nop, jmp, nop");
        assertEquals(GuestDebugger.INT3, ram(0x7C01), "the INT3 is back after the step over it");
        assertFalse(mtf(), "the monitor trap flag is off again");
    }

    @Test
    void stepCountsInstructionsTheVmmEmulatesAndLeavesMtfOff() throws Exception {
        boot();
        debugger.requireProcessorState();
        GuestDebugger.StopEvent e = debugger.step(3, 5000); // nop, nop, out (emulated)
        assertEquals(GuestDebugger.StopKind.STEP, e.kind());
        assertEquals(0x7C04, rip());
        assertEquals(VmState.PAUSED, vm.state());
        assertFalse(mtf());
        assertNull(vm.debugHook());
        debugger.step(2, 5000); // nop, jmp
        assertEquals(START, rip());
    }

    @Test
    void steppingFromABreakpointExecutesTheRealInstructionAndStopsAtTheNextBreakpoint() throws Exception {
        boot();
        debugger.insert(0x7C00, GuestDebugger.Owner.CONSOLE);
        debugger.insert(0x7C04, GuestDebugger.Owner.GDB);
        debugger.requireProcessorState();
        assertEquals(START, rip());
        debugger.step(1, 5000);
        assertEquals(0x7C01, rip(), "the NOP under the breakpoint ran");
        assertEquals(GuestDebugger.INT3, ram(0x7C00));
        GuestDebugger.StopEvent e = debugger.step(100, 5000);
        assertEquals(GuestDebugger.StopKind.BREAKPOINT, e.kind(), "a step count ends at a breakpoint, as gdb's stepi N");
        assertEquals(0x7C04, rip());
    }

    @Test
    void steppingHoldsInterruptsBackAndRunningDeliversThem() throws Exception {
        boot();
        vm.interruptController(new org.hotvisor.api.device.InterruptController() {
            @Override
            public boolean interruptPending() {
                return true; // a level that never drops
            }

            @Override
            public int acknowledge() {
                return 0x20;
            }
        });
        debugger.requireProcessorState();
        vm.withProcessor(c -> c.vmwrite(VmcsField.GUEST_RFLAGS, 0x202)); // IF=1
        ToyCpu cpu = (ToyCpu) vm.bsp().processorForInspection();
        debugger.step(3, 5000);
        assertEquals(0, cpu.injected, "QEMU's SSTEP_NOIRQ: no interrupt while stepping");
        debugger.insert(0x7C05, GuestDebugger.Owner.CONSOLE);
        continueToStop();
        assertTrue(cpu.injected > 0, "running takes interrupts again");
    }

    @Test
    void removingTheLastBreakpointRestoresMemoryTheBitmapAndUnhooks() throws Exception {
        boot();
        GuestDebugger.BreakpointInfo bp = debugger.insert(0x7C04, GuestDebugger.Owner.CONSOLE);
        debugger.insert(0x7C04, GuestDebugger.Owner.GDB);
        assertEquals(1, debugger.breakpoints().size(), "one INT3 serves both owners");
        assertTrue(debugger.removeAt(0x7C04, GuestDebugger.Owner.GDB));
        assertEquals(GuestDebugger.INT3, ram(0x7C04), "the console's breakpoint stays");
        assertTrue(debugger.remove(bp.id()));
        assertEquals(0x90, ram(0x7C04));
        assertEquals(0, exceptionBitmap() & 8);
        assertNull(vm.debugHook());
        assertTrue(debugger.breakpoints().isEmpty());
    }

    @Test
    void theGuestsOwnExceptionBitmapBitSurvives() throws Exception {
        boot();
        debugger.requireProcessorState();
        vm.withProcessor(c -> c.vmwrite(VmcsField.EXCEPTION_BITMAP, 8));
        debugger.insert(0x7C04, GuestDebugger.Owner.CONSOLE);
        debugger.removeAll(null);
        assertEquals(8, exceptionBitmap(), "someone else wanted #BP exits before: still set");
    }

    @Test
    void writesUnderABreakpointChangeTheSavedByte() throws Exception {
        boot();
        debugger.insert(0x7C04, GuestDebugger.Owner.GDB);
        debugger.write(0x7C04, new byte[] {(byte) 0xE6}, true);
        assertEquals(GuestDebugger.INT3, ram(0x7C04));
        assertEquals(0xE6, debugger.breakpoints().get(0).originalByte());
        assertEquals(0xE6, debugger.read(0x7C04, 1, false).data()[0] & 0xFF);
    }

    @Test
    void stepRefusesARunningVmAndBadCounts() throws Exception {
        boot();
        vm.start();
        assertThrows(IllegalStateException.class, () -> debugger.startStep(1));
        assertThrows(IllegalArgumentException.class, () -> debugger.startStep(0));
    }

    @Test
    void unmappedAddressesAreRefused() throws Exception {
        boot();
        assertThrows(IllegalArgumentException.class, () -> debugger.insert(0x7FFF_0000L, GuestDebugger.Owner.CONSOLE));
        GuestDebugger.MemoryRead r = debugger.read((2L << 20) - 2, 4, true);
        assertEquals(2, r.data().length);
        assertEquals(2L << 20, r.faultAddress());
        assertNotNull(r);
    }
}
