package org.hotvisor.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.hotvisor.it.swap.CountingCpuidHandler;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;

/**
 * Issue 4's proof: while a guest executes millions of CPUID and OUT exits, a handler bundle is
 * replaced 100 times in the three supported ways (Gogo's update, a new jar in deploy/, a
 * higher-ranked handler). No exit is lost, duplicated or misrouted: the guest's own counts equal
 * the handler's and the kernel's, and the guest sees each new generation right after its swap.
 */
class HotSwapIT {
    private static final long LAST_GENERATION = 0x600, CPUIDS_DONE = 0x604, STOP_FLAG = 0x608, OUTS_DONE = 0x60C;
    private static final int PER_WAY = 34;

    private static byte[] generation(int gen, int ranking) throws Exception {
        return Platform.bundleJar("it.counting.cpuid", "1.0." + gen, Map.of(
                "Bundle-Activator", CountingCpuidHandler.class.getName(),
                "Import-Package", "org.hotvisor.api;version=\"[1.0,2)\",org.osgi.framework",
                "X-Generation", String.valueOf(gen),
                "X-Ranking", String.valueOf(ranking)), CountingCpuidHandler.class);
    }

    @Test
    void hundredSwapsUnderLoadLoseNoExit() throws Exception {
        try (Platform p = new Platform(Map.of())) {
            Path jar0 = Hotvisor.tempFile("gen0", ".jar");
            Files.write(jar0, generation(0, 50));
            Object processor = p.service("org.apache.felix.service.command.CommandProcessor", null);
            ByteArrayOutputStream gogoOut = new ByteArrayOutputStream();
            PrintStream out = new PrintStream(gogoOut, true);
            Object session = Platform.call(processor, "createSession", System.in, out, out);
            Platform.call(session, "execute", "install " + jar0.toUri());
            Bundle counting = Arrays.stream(p.context.getBundles())
                    .filter(b -> "it.counting.cpuid".equals(b.getSymbolicName())).findFirst().orElseThrow();
            counting.start();
            Platform.call(session, "put", "handler", counting); // the console's `update 42 URL` with the id already resolved

            Object vm = p.load(Hotvisor.guest("swapload"));
            Platform.call(vm, "start");
            awaitGeneration(p, vm, 0);
            List<Long> latencies = new ArrayList<>();
            int gen = 0;

            // 1. Gogo's update, in place.
            for (int i = 0; i < PER_WAY; i++) {
                gen++;
                Path jar = Hotvisor.tempFile("gen" + gen, ".jar");
                Files.write(jar, generation(gen, 50));
                long t0 = System.nanoTime();
                Platform.call(session, "execute", "update $handler " + jar.toUri());
                latencies.add(awaitGeneration(p, vm, gen) - t0);
            }
            // 2. New jars copied into deploy/ (FileInstall installs, then updates, the same location).
            Path deployed = p.deploy.resolve("counting.jar");
            for (int i = 0; i < PER_WAY; i++) {
                gen++;
                Path tmp = Files.createTempFile(p.deploy.getParent(), "gen", ".tmp");
                Files.write(tmp, generation(gen, 50));
                long t0 = System.nanoTime();
                Files.move(tmp, deployed, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                if (i == 0) {
                    // Both rank 50: the older service still wins until it goes away.
                    waitForBundleCount(p, 2);
                    counting.uninstall();
                }
                latencies.add(awaitGeneration(p, vm, gen) - t0);
            }
            // 3. Ever higher-ranked handlers installed beside the others.
            for (int i = 0; i < 100 - 2 * PER_WAY; i++) {
                gen++;
                long t0 = System.nanoTime();
                Bundle b = p.context.installBundle("it:gen" + gen, Platform.stream(generation(gen, 60 + i)));
                b.start();
                latencies.add(awaitGeneration(p, vm, gen) - t0);
            }
            assertEquals(100, gen);

            // Keep the load going until the run has seen at least a million CPUIDs (two million exits).
            long loadDeadline = System.nanoTime() + 120_000_000_000L;
            while (p.guest32(vm, CPUIDS_DONE) < 1_000_000 && System.nanoTime() < loadDeadline) {
                Thread.sleep(50);
            }
            p.guestWrite32(vm, STOP_FLAG, 1);
            assertTrue((Boolean) Platform.call(vm, "awaitStop", 20_000L), "the guest did not stop");
            assertEquals((0x21 << 1) | 1, Platform.call(vm, "exitStatus"));

            long guestCpuids = p.guest32(vm, CPUIDS_DONE);
            long guestOuts = p.guest32(vm, OUTS_DONE);
            Object vcpu = Platform.call(vm, "vcpu", 0);
            Supplier<long[]> none = () -> new long[1];
            long handled = ((long[]) Platform.call(vcpu, "state", CountingCpuidHandler.COUNT_KEY, none))[0];
            Object stats = Platform.call(vm, "statistics");
            long[] count = (long[]) Platform.call(stats, "count");
            long[] maxSwapWait = (long[]) Platform.call(stats, "maxSwapWaitNanos");

            assertTrue(guestCpuids >= 1_000_000, "too little load: " + guestCpuids);
            assertEquals(guestCpuids, handled, "CPUIDs the guest completed vs exits the handlers counted");
            assertEquals(guestCpuids, count[10], "CPUIDs the guest completed vs CPUID exits the kernel dispatched");
            assertEquals(guestOuts + 1, count[30], "OUTs (plus the final isa-debug-exit) vs I/O exits");

            long[] sorted = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
            System.out.printf("hot swap: %d swaps, %d CPUID + %d OUT exits; swap-to-visible latency median %.2f ms, max %.2f ms;"
                    + " longest exit wait for a swap %.2f ms%n", sorted.length, guestCpuids, guestOuts,
                    sorted[sorted.length / 2] / 1e6, sorted[sorted.length - 1] / 1e6, maxSwapWait[10] / 1e6);
        }
    }

    private static void waitForBundleCount(Platform p, int n) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            long c = Arrays.stream(p.context.getBundles())
                    .filter(b -> "it.counting.cpuid".equals(b.getSymbolicName()) && b.getState() == Bundle.ACTIVE).count();
            if (c >= n) {
                return;
            }
            Thread.sleep(5);
        }
        throw new AssertionError("FileInstall did not install the deployed jar");
    }

    /** Waits until the guest has seen a CPUID answered by this generation; returns System.nanoTime() then. */
    private static long awaitGeneration(Platform p, Object vm, int gen) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (p.guest32(vm, LAST_GENERATION) == gen) {
                return System.nanoTime();
            }
            Thread.onSpinWait();
        }
        throw new AssertionError("the guest never saw generation " + gen + " (last: " + p.guest32(vm, LAST_GENERATION) + ")");
    }
}
