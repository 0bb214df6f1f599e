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
 * When the kernel injects a pending external interrupt, relative to the other events of the same
 * VM entry: an MMIO instruction still to re-execute, an exception a handler injected. Each test
 * scripts the exits of a {@link FakeVmx} and reads the entry interruption information and the
 * processor-based controls of each entry.
 */
class InjectionOrderTest {
    private static final int VECTOR = 0x30;
    private static final long VALID = 0x8000_0000L;
    /** #GP: valid, type 3 (hardware exception), deliver error code, vector 13 (SDM 3C 25.8.3). */
    private static final long GP_INFO = VALID | 3 << 8 | 1 << 11 | 13;
    private static final int EXIT_CPUID = 10, EXIT_INTERRUPT_WINDOW = 7, EXIT_PREEMPTION_TIMER = 52;
    private final FakeVmx cpu = new FakeVmx();
    private Machine vm;

    @AfterEach
    void stop() throws InterruptedException {
        FakeVmx.stopAndAwait(vm);
    }

    /** One interrupt (VECTOR), pending until the kernel acknowledges it. */
    private static InterruptController oneInterrupt() {
        AtomicBoolean acknowledged = new AtomicBoolean();
        return new InterruptController() {
            @Override
            public boolean interruptPending() {
                return !acknowledged.get();
            }

            @Override
            public int acknowledge() {
                acknowledged.set(true);
                return VECTOR;
            }
        };
    }

    /** Starts the machine on the scripted exits and waits for their entries. */
    private void run(int... exits) throws InterruptedException {
        for (int e : exits) {
            cpu.script.add(e);
        }
        vm.start();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (cpu.entries.size() < exits.length && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        assertEquals(exits.length, cpu.entries.size(), "one entry per scripted exit");
    }

    /**
     * An interrupt that becomes pending during an MMIO exit (a self-IPI written to the xAPIC ICR) is
     * injected only after the completed instruction re-executed: the kernel steps past it with the
     * monitor trap flag. Injected at once, it was delivered before the instruction, whose write then
     * exited again after IRET: kvm-unit-tests' self-IPI sent itself forever.
     */
    @Test
    void afterAnMmioExitTheInterruptWaitsForTheMonitorTrapFlagExit() throws Exception {
        vm = cpu.machine("");
        vm.dispatcher().add("test.mmio", 1, 0, "48", exit -> ExitAction.RESUME);
        vm.interruptController(oneInterrupt());
        // launch (IF = 0: nothing injected), the MMIO write, the kernel's MTF exit, one more exit
        run(-1, FakeVmx.EXIT_MONITOR_TRAP_FLAG, EXIT_PREEMPTION_TIMER);
        long[] afterMmio = cpu.entries.get(1), afterStep = cpu.entries.get(2);
        assertEquals(0, afterMmio[0] & VALID, "nothing injected while the MMIO instruction is still to re-execute");
        assertTrue(ProcessorControl.MONITOR_TRAP_FLAG.isSet((int) afterMmio[1]), "the kernel steps past it");
        assertEquals(VALID | VECTOR, afterStep[0], "injected after the MTF exit (SDM 3C 26.5.2)");
        assertFalse(ProcessorControl.MONITOR_TRAP_FLAG.isSet((int) afterStep[1]), "and the flag is off again");
        assertEquals(1, vm.statistics().count()[FakeVmx.EXIT_MONITOR_TRAP_FLAG], "the MTF exit is the kernel's");
    }

    /**
     * An exception a handler injects and an interrupt pending at the same entry: the entry carries
     * the exception (one event per entry), and the kernel asks for an interrupt-window exit to
     * inject the interrupt at the entry after it. The kernel reads the entry interruption
     * information only when something may need it; this is such a case.
     */
    @Test
    void anInjectedExceptionGoesFirstAndTheInterruptWaitsForTheWindow() throws Exception {
        vm = cpu.machine("");
        vm.dispatcher().add("test.cpuid", 1, 0, String.valueOf(EXIT_CPUID), exit -> {
            exit.injectException(13, 0);
            return ExitAction.RESUME;
        });
        vm.interruptController(oneInterrupt());
        run(EXIT_CPUID, EXIT_INTERRUPT_WINDOW, EXIT_PREEMPTION_TIMER);
        long[] afterCpuid = cpu.entries.get(1), afterWindow = cpu.entries.get(2);
        assertEquals(GP_INFO, afterCpuid[0], "the handler's #GP, not the interrupt");
        assertTrue(ProcessorControl.INTERRUPT_WINDOW_EXITING.isSet((int) afterCpuid[1]), "a window exit for the interrupt");
        assertEquals(VALID | VECTOR, afterWindow[0], "the interrupt at the entry after the window exit");
        assertFalse(ProcessorControl.INTERRUPT_WINDOW_EXITING.isSet((int) afterWindow[1]), "and no more window exits");
    }
}
