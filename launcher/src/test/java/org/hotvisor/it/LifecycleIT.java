package org.hotvisor.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The VM life cycle in a real Felix: load, start, pause, resume, reset, stop, and load again. */
class LifecycleIT {
    private static final long CPUIDS_DONE = 0x604;

    private static long awaitAtLeast(Platform p, Object vm, long n) throws Exception {
        long deadline = System.nanoTime() + 20_000_000_000L;
        long v;
        while ((v = p.guest32(vm, CPUIDS_DONE)) < n) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the guest stopped making progress at " + v);
            }
            Thread.sleep(5);
        }
        return v;
    }

    @Test
    void loadStartPauseResumeResetStopAndLoadAgain() throws Exception {
        try (Platform p = new Platform(Map.of())) {
            Object vm = p.load(Hotvisor.guest("swapload"));
            assertEquals("LOADED", Platform.call(vm, "state").toString());

            Platform.call(vm, "start");
            assertEquals("RUNNING", Platform.call(vm, "state").toString());
            awaitAtLeast(p, vm, 20_000);

            Platform.call(vm, "pause");
            assertEquals("PAUSED", Platform.call(vm, "state").toString());
            long paused = p.guest32(vm, CPUIDS_DONE);
            Thread.sleep(200);
            assertEquals(paused, p.guest32(vm, CPUIDS_DONE), "a paused guest does not run");

            Platform.call(vm, "resume");
            long resumed = awaitAtLeast(p, vm, paused + 20_000);

            // Reset: the image is reloaded and the guest starts over (it zeroes its counter first).
            Platform.call(vm, "reset");
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (p.guest32(vm, CPUIDS_DONE) >= resumed) {
                assertTrue(System.nanoTime() < deadline, "the guest never restarted");
                Thread.sleep(1);
            }
            assertEquals("RUNNING", Platform.call(vm, "state").toString());

            Platform.call(vm, "stop", 12, "test");
            assertTrue((Boolean) Platform.call(vm, "awaitStop", 10_000L));
            assertEquals("STOPPED", Platform.call(vm, "state").toString());
            assertEquals(12, Platform.call(vm, "exitStatus"));

            // The same VM loads and runs a new image after stopping.
            vm = p.load(Hotvisor.guest("swapload"));
            Platform.call(vm, "start");
            awaitAtLeast(p, vm, 20_000);
            Platform.call(vm, "stop", 12, "test");
            assertTrue((Boolean) Platform.call(vm, "awaitStop", 10_000L));
        }
    }
}
