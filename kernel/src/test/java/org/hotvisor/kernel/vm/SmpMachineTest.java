package org.hotvisor.kernel.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.BooleanSupplier;
import org.hotvisor.api.VmState;
import org.hotvisor.api.device.InterruptController;
import org.hotvisor.api.vmx.PinBasedControl;
import org.hotvisor.api.vmx.ProcessorControl;
import org.hotvisor.api.vmx.VmcsField;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * N vCPUs: one thread and one VMCS each; vCPU 0 in the boot state, the APs in the INIT state
 * waiting for a SIPI; life-cycle requests reach every vCPU; INIT-SIPI reaches an AP in order.
 */
class SmpMachineTest {
    private final FakeVmx cpu = new FakeVmx();
    private Machine vm;

    @AfterEach
    void stop() throws InterruptedException {
        FakeVmx.stopAndAwait(vm);
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        assertTrue(condition.getAsBoolean(), "timed out");
    }

    private long field(int vcpu, VmcsField f) {
        return vm.withProcessor(vcpu, c -> c.vmread(f));
    }

    @Test
    void everyVcpuGetsAThreadAndAVmcsAndTheApsWaitForSipi() throws Exception {
        vm = cpu.machine("", 3);
        assertEquals(3, vm.vcpuCount());
        vm.start();
        await(() -> cpu.processors.get() == 3);
        await(() -> vm.statistics().totalExits() > 3);
        assertEquals(0, field(0, VmcsField.GUEST_ACTIVITY_STATE), "the BSP runs the boot state");
        for (int ap = 1; ap < 3; ap++) {
            assertEquals(FakeVmx.ACTIVITY_WAIT_FOR_SIPI, field(ap, VmcsField.GUEST_ACTIVITY_STATE));
            assertEquals(0xF000, field(ap, VmcsField.GUEST_CS_SELECTOR), "SDM 3A Table 10-1: CS after INIT");
            assertEquals(0x8B, field(ap, VmcsField.GUEST_TR_AR_BYTES),
                    "TR a busy 32-bit TSS: an AP may enter IA-32e mode before LTR (SDM 3C 27.3.1.2)");
            int pin = (int) field(ap, VmcsField.PIN_BASED_VM_EXEC_CONTROL);
            int proc = (int) field(ap, VmcsField.CPU_BASED_VM_EXEC_CONTROL);
            assertFalse(PinBasedControl.ACTIVATE_VMX_PREEMPTION_TIMER.isSet(pin), "vCPU 0 keeps the time");
            assertFalse(ProcessorControl.HLT_EXITING.isSet(proc), "a halted AP waits in its processor");
        }
        assertTrue(PinBasedControl.ACTIVATE_VMX_PREEMPTION_TIMER.isSet((int) field(0, VmcsField.PIN_BASED_VM_EXEC_CONTROL)));
        assertTrue(ProcessorControl.HLT_EXITING.isSet((int) field(0, VmcsField.CPU_BASED_VM_EXEC_CONTROL)));
        assertThrows(IndexOutOfBoundsException.class, () -> vm.vcpu(3));
    }

    @Test
    void hltExitingNamedInSetAppliesToTheApsToo() throws Exception {
        vm = cpu.machine("HLT_EXITING=on", 2);
        vm.start();
        await(() -> cpu.processors.get() == 2);
        assertTrue(ProcessorControl.HLT_EXITING.isSet((int) field(1, VmcsField.CPU_BASED_VM_EXEC_CONTROL)));
    }

    @Test
    void initThenTwoSipisStartTheApAtTheVectorOnce() throws Exception {
        vm = cpu.machine("", 2);
        vm.start();
        await(() -> cpu.processors.get() == 2);
        // INIT-SIPI-SIPI back to back: the INIT (blocked in wait-for-SIPI) must still come first.
        vm.vcpu(1).deliverInit();
        vm.vcpu(1).deliverStartup(0x12);
        vm.vcpu(1).deliverStartup(0x12);
        await(() -> vm.statistics().count()[FakeVmx.EXIT_SIPI] == 1);
        assertEquals(1, vm.statistics().count()[FakeVmx.EXIT_INIT], "the INIT exit");
        int init = cpu.exits.indexOf(FakeVmx.EXIT_INIT);
        assertTrue(init >= 0 && init < cpu.exits.indexOf(FakeVmx.EXIT_SIPI), "INIT before SIPI");
        assertEquals(0, field(1, VmcsField.GUEST_ACTIVITY_STATE), "active after the SIPI");
        assertEquals(0x1200, field(1, VmcsField.GUEST_CS_SELECTOR), "SDM 3A 9.4.4: CS = vector << 8");
        assertEquals(0x12000, field(1, VmcsField.GUEST_CS_BASE));
        assertEquals(0, field(1, VmcsField.GUEST_RIP));
        Thread.sleep(20);
        assertEquals(1, vm.statistics().count()[FakeVmx.EXIT_SIPI], "the second SIPI finds the AP running: discarded");
        assertEquals(VmState.RUNNING, vm.state(), "an AP's INIT is no platform reset");
        assertEquals(2, cpu.processors.get());
    }

    @Test
    void aSipiWithoutInitStartsAWaitingAp() throws Exception {
        vm = cpu.machine("", 2);
        vm.start();
        await(() -> cpu.processors.get() == 2);
        await(() -> vm.vcpu(1).waitingForSipi);
        vm.vcpu(1).deliverStartup(0x9A);
        await(() -> vm.statistics().count()[FakeVmx.EXIT_SIPI] == 1);
        assertEquals(0x9A00, field(1, VmcsField.GUEST_CS_SELECTOR));
        assertFalse(vm.vcpu(1).waitingForSipi);
    }

    @Test
    void pauseParksEveryVcpuAndResumeRunsThemAgain() throws Exception {
        vm = cpu.machine("", 3);
        vm.start();
        await(() -> cpu.processors.get() == 3);
        vm.pause();
        assertEquals(VmState.PAUSED, vm.state());
        assertTrue(vm.parked(), "all three threads parked");
        long exits = vm.statistics().totalExits();
        Thread.sleep(20);
        assertEquals(exits, vm.statistics().totalExits(), "no vCPU runs while paused");
        vm.resume();
        await(() -> vm.statistics().totalExits() > exits + 3);
        assertFalse(vm.parked());
    }

    @Test
    void aResetRebuildsEveryVcpuOnce() throws Exception {
        vm = cpu.machine("", 3);
        vm.start();
        await(() -> cpu.processors.get() == 3);
        vm.reset();
        await(() -> cpu.processors.get() == 6);
        Thread.sleep(30);
        assertEquals(6, cpu.processors.get(), "one fresh processor per vCPU");
        assertEquals(VmState.RUNNING, vm.state());
        assertEquals(FakeVmx.ACTIVITY_WAIT_FOR_SIPI, field(2, VmcsField.GUEST_ACTIVITY_STATE), "the APs wait for a SIPI again");
    }

    @Test
    void aCpuBundleSwapTakesEveryVcpuOutOfVmxOperationAndBack() throws Exception {
        vm = cpu.machine("", 2);
        vm.start();
        await(() -> cpu.processors.get() == 2);
        vm.processorGone(cpu);
        assertNull(vm.vcpu(0).processorForInspection());
        assertNull(vm.vcpu(1).processorForInspection());
        vm.processor(cpu);
        await(() -> cpu.processors.get() == 4);
        await(() -> vm.vcpu(1).processorForInspection() != null && vm.vcpu(0).processorForInspection() != null);
        Thread.sleep(20);
        assertEquals(4, cpu.processors.get(), "the swap restores each VMCS (VMPTRLD), no reset");
    }

    @Test
    void stopEndsEveryThread() throws Exception {
        vm = cpu.machine("", 4);
        vm.start();
        await(() -> cpu.processors.get() == 4);
        vm.stop(7, "done");
        assertTrue(vm.awaitStop(5000));
        assertEquals(7, vm.exitStatus());
        assertEquals(VmState.STOPPED, vm.state());
    }

    @Test
    void theConsoleSelectsAVcpuAndTheDebuggerHookFollows() throws Exception {
        vm = cpu.machine("", 2);
        Machine.DebugHook hook = new Machine.DebugHook() {
            @Override
            public boolean beforeRun(org.hotvisor.api.vmx.LogicalProcessor c) {
                return true;
            }

            @Override
            public boolean onExit(org.hotvisor.api.vmx.LogicalProcessor c, int basicReason) {
                return false;
            }

            @Override
            public boolean afterExit(org.hotvisor.api.vmx.LogicalProcessor c, int basicReason, long ripAtExit) {
                return false;
            }

            @Override
            public boolean maskInterrupts(org.hotvisor.api.vmx.LogicalProcessor c) {
                return false;
            }
        };
        vm.debugHook(hook);
        assertSame(hook, vm.vcpu(0).debugHook);
        vm.selectVcpu(1);
        assertSame(vm.vcpu(1), vm.selectedVcpu());
        assertSame(hook, vm.vcpu(1).debugHook);
        assertNull(vm.vcpu(0).debugHook);
        assertThrows(IllegalArgumentException.class, () -> vm.selectVcpu(2));
    }

    @Test
    void eachVcpuAsksItsOwnControllerAndOnlyVcpu0ThePic() throws Exception {
        vm = cpu.machine("", 3);
        InterruptController pic = controller(), apic0 = controller(), apic2 = controller();
        vm.addInterruptController(pic, null, 0, 1);
        assertSame(pic, vm.vcpu(0).controller);
        assertNull(vm.vcpu(1).controller, "the 8259's INTR is wired to the BSP only");
        vm.addInterruptController(apic0, 0, 10, 2);
        vm.addInterruptController(apic2, "2", 10, 3);
        assertSame(apic0, vm.vcpu(0).controller);
        assertNull(vm.vcpu(1).controller);
        assertSame(apic2, vm.vcpu(2).controller);
        vm.removeInterruptController(apic0);
        assertSame(pic, vm.vcpu(0).controller, "the APIC bundle went: back to the 8259");
        assertNotEquals(apic2, vm.vcpu(0).controller);
    }

    private static InterruptController controller() {
        return new InterruptController() {
            @Override
            public boolean interruptPending() {
                return false;
            }

            @Override
            public int acknowledge() {
                return 0;
            }
        };
    }
}
