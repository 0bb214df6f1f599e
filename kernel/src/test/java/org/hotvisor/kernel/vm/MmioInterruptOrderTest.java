package org.hotvisor.kernel.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicBoolean;
import org.hotvisor.api.ExitAction;
import org.hotvisor.api.device.InterruptController;
import org.hotvisor.api.vmx.ProcessorControl;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * An interrupt that becomes pending during an MMIO exit (a self-IPI written to the xAPIC ICR) is
 * injected only after the completed instruction re-executed: the kernel steps past it with the
 * monitor trap flag. Injected at once, it was delivered before the instruction, whose write then
 * exited again after IRET: kvm-unit-tests' self-IPI sent itself forever.
 */
class MmioInterruptOrderTest {
    private static final int VECTOR = 0x30;
    private static final long VALID = 0x8000_0000L;
    private final FakeVmx cpu = new FakeVmx();
    private Machine vm;

    @AfterEach
    void stop() throws InterruptedException {
        if (vm != null) {
            vm.stop(0, "test over");
            vm.awaitStop(5000);
        }
    }

    @Test
    void theInterruptWaitsForTheMonitorTrapFlagExitAfterTheMmioInstruction() throws Exception {
        AtomicBoolean acknowledged = new AtomicBoolean();
        vm = cpu.machine("");
        vm.dispatcher().add("test.mmio", 1, 0, "48", exit -> ExitAction.RESUME);
        vm.interruptController(new InterruptController() {
            @Override
            public boolean interruptPending() {
                return !acknowledged.get();
            }

            @Override
            public int acknowledge() {
                acknowledged.set(true);
                return VECTOR;
            }
        });
        // launch (IF = 0: nothing injected), the MMIO write, the kernel's MTF exit, one more exit
        cpu.script.add(-1);
        cpu.script.add(FakeVmx.EXIT_MONITOR_TRAP_FLAG);
        cpu.script.add(FakeVmx.EXIT_PREEMPTION_TIMER);
        vm.start();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (cpu.entries.size() < 3 && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        assertEquals(3, cpu.entries.size(), "three scripted entries");
        long[] afterMmio = cpu.entries.get(1), afterStep = cpu.entries.get(2);
        assertEquals(0, afterMmio[0] & VALID, "nothing injected while the MMIO instruction is still to re-execute");
        assertTrue(ProcessorControl.MONITOR_TRAP_FLAG.isSet((int) afterMmio[1]), "the kernel steps past it");
        assertEquals(VALID | VECTOR, afterStep[0], "injected after the MTF exit (SDM 3C 26.5.2)");
        assertFalse(ProcessorControl.MONITOR_TRAP_FLAG.isSet((int) afterStep[1]), "and the flag is off again");
        assertEquals(1, vm.statistics().count()[FakeVmx.EXIT_MONITOR_TRAP_FLAG], "the MTF exit is the kernel's");
    }
}
