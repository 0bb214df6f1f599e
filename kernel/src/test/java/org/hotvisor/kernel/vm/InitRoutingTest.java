package org.hotvisor.kernel.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.hotvisor.api.VmState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The platform's reset lines (MachineControl.reset) reach a running guest as INIT, VM exit 3
 * (SDM 3C 26.2), whose default handler performs the platform reset once; a paused or unstarted
 * VM is reset directly.
 */
class InitRoutingTest {
    private final FakeVmx cpu = new FakeVmx();
    private Machine vm;

    @AfterEach
    void stop() throws InterruptedException {
        FakeVmx.stopAndAwait(vm);
    }

    private static void await(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(condition.getAsBoolean(), "timed out");
    }

    @Test
    void aResetLineWhileTheGuestRunsIsAnInitExitThenOnePlatformReset() throws Exception {
        vm = cpu.machine("");
        vm.start();
        await(() -> cpu.processors.get() == 1 && vm.statistics().totalExits() > 0);
        vm.reset("i8042 reset");
        // The INIT exit's default handler resets the platform: a fresh VMXON/VMCS, a second processor.
        await(() -> cpu.processors.get() == 2);
        assertEquals(1, cpu.initSignals.get(), "the default handler performs the reset; it does not signal INIT again");
        assertEquals(VmState.RUNNING, vm.state());
        await(() -> vm.statistics().count()[FakeVmx.EXIT_INIT] == 1);
        Thread.sleep(50);
        assertEquals(2, cpu.processors.get(), "exactly one reset");
    }

    @Test
    void aResetLineWhileTheVcpuIsPausedIsADirectReset() throws Exception {
        vm = cpu.machine("");
        vm.start();
        await(() -> cpu.processors.get() == 1);
        vm.pause();
        assertEquals(VmState.PAUSED, vm.state());
        vm.reset("port 0x92 fast reset");
        await(() -> cpu.processors.get() == 2);
        assertEquals(0, cpu.initSignals.get(), "no INIT while the vCPU is paused: the reset is direct");
    }

    @Test
    void aResetLineBeforeTheFirstStartSignalsNothing() throws Exception {
        vm = cpu.machine("");
        vm.reset("i8042 reset");
        assertEquals(0, cpu.initSignals.get());
        assertEquals(VmState.LOADED, vm.state());
    }
}
