package org.hotvisor.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The README's walk-through: build the example CPUID handler with {@code mvn package}, copy the
 * jar into the deploy directory while the demo runs, see the guest print the new vendor within a
 * second, delete it and see the stock handler take over again.
 */
class ExampleHandlerIT {

    private static Path buildExample(String name) throws Exception {
        Path dir = Hotvisor.root().resolve("examples").resolve(name);
        Process mvn = new ProcessBuilder("mvn", "-q", "-B", "package").directory(dir.toFile()).redirectErrorStream(true).start();
        String log = new String(mvn.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, mvn.waitFor(), "mvn package of examples/" + name + " failed:\n" + log);
        return dir.resolve("target").resolve(name + "-1.0.0.jar");
    }

    @Test
    void droppingTheVendorSpoofIntoDeployChangesTheGuestsOutputAndRemovingItRestoresIt() throws Exception {
        Path jar = buildExample("cpuid-vendor-spoof");
        Path deploy = Hotvisor.tempDirectory("hv-deploy");
        Process hv = new ProcessBuilder(Hotvisor.root().resolve("hotvisor").toString(), "run",
                Hotvisor.root().resolve("guests/demo/demo-forever.img").toString(), "--clock", "host",
                "--deploy", deploy.toString(), "--timeout", "120")
                .redirectErrorStream(true).start();
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(hv.getInputStream(), StandardCharsets.ISO_8859_1))) {
                for (String l; (l = r.readLine()) != null; ) {
                    lines.add(l);
                }
            } catch (Exception ignored) {
                // the process ended
            }
        });
        reader.setDaemon(true);
        reader.start();
        try {
            awaitLine(lines, "CPU vendor is GenuineIntel", 30);
            long t0 = System.nanoTime();
            Files.copy(jar, deploy.resolve("spoof.jar.tmp"));
            Files.move(deploy.resolve("spoof.jar.tmp"), deploy.resolve("spoof.jar"), StandardCopyOption.ATOMIC_MOVE);
            awaitLine(lines, "CPU vendor is HotvisorDemo", 5);
            long tookMs = (System.nanoTime() - t0) / 1_000_000;
            System.out.println("example handler visible in the guest after " + tookMs + " ms");
            assertTrue(tookMs < 1500, "the new vendor took " + tookMs + " ms to show");

            Files.delete(deploy.resolve("spoof.jar"));
            awaitLine(lines, "CPU vendor is GenuineIntel", 5);
        } finally {
            hv.destroy();
            hv.waitFor(10, TimeUnit.SECONDS);
            hv.destroyForcibly();
        }
    }

    private static void awaitLine(BlockingQueue<String> lines, String text, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        StringBuilder seen = new StringBuilder();
        while (System.nanoTime() < deadline) {
            String l = lines.poll(100, TimeUnit.MILLISECONDS);
            if (l != null) {
                seen.append(l).append('\n');
                if (l.contains(text)) {
                    return;
                }
            }
        }
        throw new AssertionError("'" + text + "' did not appear within " + seconds + " s; output:\n" + seen);
    }
}
