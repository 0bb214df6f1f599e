package org.hotvisor.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.util.Map;
import java.util.function.Supplier;
import org.hotvisor.it.swap.CountingCpuidHandler;
import org.hotvisor.it.swap.FaultyCpuidHandler;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;

/**
 * A handler that throws leaves the guest untouched and, by default, pauses the VM with a report;
 * the VM resumes once the bundle is gone. A per-reason policy from a .cfg file (through
 * FileInstall and ConfigAdmin) falls through to the next handler instead. A handler past its
 * time budget is counted.
 */
class FaultIsolationIT {
    private static final long CPUIDS_DONE = 0x604, STOP_FLAG = 0x608;
    private static final int VMCS_GUEST_RIP = 0x681E;

    private static byte[] faulty(String mode) throws Exception {
        return Platform.bundleJar("it.faulty." + mode, "1.0.0", Map.of(
                "Bundle-Activator", FaultyCpuidHandler.class.getName(),
                "Import-Package", "org.hotvisor.api;version=\"[1.0,2)\",org.osgi.framework",
                "X-Mode", mode), FaultyCpuidHandler.class);
    }

    private static byte[] counting() throws Exception {
        return Platform.bundleJar("it.counting.cpuid", "1.0.0", Map.of(
                "Bundle-Activator", CountingCpuidHandler.class.getName(),
                "Import-Package", "org.hotvisor.api;version=\"[1.0,2)\",org.osgi.framework",
                "X-Generation", "7", "X-Ranking", "50"), CountingCpuidHandler.class);
    }

    private static void awaitState(Object vm, String state) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (Platform.call(vm, "state").toString().equals(state)) {
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("VM never reached " + state + ", it is " + Platform.call(vm, "state"));
    }

    private static void awaitProgress(Platform p, Object vm, long beyond) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (p.guest32(vm, CPUIDS_DONE) <= beyond) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the guest made no progress past " + beyond);
            }
            Thread.sleep(5);
        }
    }

    @Test
    void aThrowingHandlerPausesTheVmWithGuestStateUntouchedAndAPolicyCanFallThrough() throws Exception {
        try (Platform p = new Platform(Map.of())) {
            Bundle counter = p.context.installBundle("it:counting", Platform.stream(counting()));
            counter.start();
            Object vm = p.load(Hotvisor.guest("swapload"));
            Platform.call(vm, "start");
            awaitProgress(p, vm, 1000);

            // 1. Default policy: pause, report, guest state untouched.
            Bundle bad = p.context.installBundle("it:faulty", Platform.stream(faulty("throw")));
            bad.start();
            awaitState(vm, "PAUSED");
            Object cpu = Platform.call(Platform.call(vm, "bsp"), "processorForInspection");
            long rip = (Long) Platform.call(cpu, "vmread", VMCS_GUEST_RIP);
            assertEquals(0xA2, p.guest32(vm, rip) >>> 8 & 0xFF, "RIP must still point at the CPUID (0F A2)");
            assertEquals(0x4856_0000L, (Long) Platform.call(cpu, "gpr", 0) & 0xFFFF_FFFFL, "EAX must be untouched");
            Object stats = Platform.call(vm, "statistics");
            assertTrue(((long[]) Platform.call(stats, "faults"))[10] >= 1, "the fault is counted");

            // The VM stays consistent: remove the bundle, resume, and the guest goes on.
            bad.uninstall();
            long before = p.guest32(vm, CPUIDS_DONE);
            Platform.call(vm, "resume");
            awaitProgress(p, vm, before + 1000);

            // 2. Per-reason policy from a .cfg file: CPUID faults fall through to the next handler.
            Files.writeString(p.deploy.resolve(Platform.DISPATCHER_PID + ".cfg"), "fault.policy.by.reason=CPUID=next\n");
            Thread.sleep(1500); // FileInstall polls, ConfigAdmin delivers, the dispatcher is modified
            Bundle bad2 = p.context.installBundle("it:faulty2", Platform.stream(faulty("throw")));
            bad2.start();
            before = p.guest32(vm, CPUIDS_DONE);
            awaitProgress(p, vm, before + 10_000);
            assertEquals("RUNNING", Platform.call(vm, "state").toString());
            bad2.uninstall();

            // 3. A handler far over its budget is reported.
            Bundle slow = p.context.installBundle("it:slow", Platform.stream(faulty("slow")));
            slow.start();
            before = p.guest32(vm, CPUIDS_DONE);
            awaitProgress(p, vm, before + 1000);
            stats = Platform.call(vm, "statistics");
            assertTrue(((long[]) Platform.call(stats, "overBudget"))[10] >= 1, "the slow handler is reported");

            // Every CPUID the guest completed was answered by the counting handler exactly once.
            p.guestWrite32(vm, STOP_FLAG, 1);
            assertTrue((Boolean) Platform.call(vm, "awaitStop", 20_000L));
            Supplier<long[]> none = () -> new long[1];
            long handled = ((long[]) Platform.call(Platform.call(vm, "vcpu", 0), "state", CountingCpuidHandler.COUNT_KEY, none))[0];
            assertEquals(p.guest32(vm, CPUIDS_DONE), handled);
        }
    }
}
