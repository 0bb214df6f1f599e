package org.hotvisor.kernel.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.hotvisor.api.VmState;
import org.hotvisor.kernel.vm.Machine;
import org.junit.jupiter.api.Test;

/** Deterministic time: 1 ns per instruction plus VirtualCpu.EXIT_NANOS (1 us) per VM exit. */
class ExitCostTest {
    /** NOP; NOP; OUT 0xE9, AL (exits); NOP; JMP back: an exit every four instructions. */
    private static final byte[] LOOP = {(byte) 0x90, (byte) 0x90, (byte) 0xE6, (byte) 0xE9, (byte) 0x90, (byte) 0xEB, (byte) 0xF9};
    private static final long EXIT_NANOS = 1000;

    @Test
    void everyExitAdvancesTheDeterministicClock() throws Exception {
        Machine vm = ToyCpu.machine(LOOP);
        try {
            vm.start();
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (vm.vcpu(0).instructionsRetired() < 10_000 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            vm.pause();
            while (vm.state() != VmState.PAUSED && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertEquals(VmState.PAUSED, vm.state());
            long exits = vm.bsp().statistics().snapshot().totalExits();
            long retired = vm.vcpu(0).instructionsRetired();
            long now = vm.clock().nanos();
            assertTrue(exits > 1000, "exits " + exits);
            assertTrue(now >= EXIT_NANOS * (exits - 1), "clock " + now + " for " + exits + " exits: each costs 1 us");
            assertTrue(now <= retired + EXIT_NANOS * exits, "clock " + now + ", " + retired + " instructions, " + exits + " exits");
        } finally {
            vm.stop(0, "test over");
        }
    }
}
