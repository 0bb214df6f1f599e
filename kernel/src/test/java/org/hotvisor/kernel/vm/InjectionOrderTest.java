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
 * An exception a handler injects and an external interrupt pending at the same VM entry: the
 * entry carries the exception (SDM 3C 26.5.1: one event per entry), and the kernel asks for an
 * interrupt-window exit to inject the interrupt at the entry after it. The kernel reads the
 * entry interruption information only when something may need it; this is such a case.
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
        if (vm != null) {
            vm.stop(0, "test over");
            vm.awaitStop(5000);
        }
    }

    @Test
    void anInjectedExceptionGoesFirstAndTheInterruptWaitsForTheWindow() throws Exception {
        AtomicBoolean acknowledged = new AtomicBoolean();
        vm = cpu.machine("");
        vm.dispatcher().add("test.cpuid", 1, 0, String.valueOf(EXIT_CPUID), exit -> {
            exit.injectException(13, 0);
            return ExitAction.RESUME;
        });
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
        cpu.script.add(EXIT_CPUID);
        cpu.script.add(EXIT_INTERRUPT_WINDOW);
        cpu.script.add(EXIT_PREEMPTION_TIMER);
        vm.start();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (cpu.entries.size() < 3 && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        assertEquals(3, cpu.entries.size(), "three scripted entries");
        long[] afterCpuid = cpu.entries.get(1), afterWindow = cpu.entries.get(2);
        assertEquals(GP_INFO, afterCpuid[0], "the handler's #GP, not the interrupt");
        assertTrue(ProcessorControl.INTERRUPT_WINDOW_EXITING.isSet((int) afterCpuid[1]), "a window exit for the interrupt");
        assertEquals(VALID | VECTOR, afterWindow[0], "the interrupt at the entry after the window exit");
        assertFalse(ProcessorControl.INTERRUPT_WINDOW_EXITING.isSet((int) afterWindow[1]), "and no more window exits");
    }
}
