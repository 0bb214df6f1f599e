package org.hotvisor.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;

/**
 * The VT-x processor is a bundle too: updating it while a guest runs VMCLEARs the VMCS into host
 * memory, and the new processor VMPTRLDs the same region and goes on — the guest's progress
 * continues where it was, it does not restart.
 */
class CpuBundleSwapIT {
    private static final long CPUIDS_DONE = 0x604;

    @Test
    void updatingTheCpuBundleKeepsTheGuestGoing() throws Exception {
        try (Platform p = new Platform(Map.of())) {
            Object vm = p.load(Hotvisor.guest("swapload"));
            Platform.call(vm, "start");
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (p.guest32(vm, CPUIDS_DONE) < 50_000) {
                assertTrue(System.nanoTime() < deadline, "no progress before the swap");
                Thread.sleep(5);
            }
            Bundle cpu = Arrays.stream(p.context.getBundles())
                    .filter(b -> "org.hotvisor.vmx.cpu".equals(b.getSymbolicName())).findFirst().orElseThrow();
            long before = p.guest32(vm, CPUIDS_DONE);
            cpu.update();
            assertEquals(Bundle.ACTIVE, cpu.getState());
            long after = p.guest32(vm, CPUIDS_DONE);
            assertTrue(after >= before, "the guest restarted: " + before + " -> " + after);
            deadline = System.nanoTime() + 20_000_000_000L;
            while (p.guest32(vm, CPUIDS_DONE) < after + 50_000) {
                assertTrue(System.nanoTime() < deadline, "no progress after the CPU bundle update: "
                        + Platform.call(vm, "state") + " " + Platform.call(vm, "stopReason"));
                Thread.sleep(5);
            }
            assertEquals("RUNNING", Platform.call(vm, "state").toString());
            p.guestWrite32(vm, 0x608, 1);
            assertTrue((Boolean) Platform.call(vm, "awaitStop", 20_000L));
            assertEquals((0x21 << 1) | 1, Platform.call(vm, "exitStatus"));
        }
    }
}
