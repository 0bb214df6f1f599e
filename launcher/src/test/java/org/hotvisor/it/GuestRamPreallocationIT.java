package org.hotvisor.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The launcher allocates the guest RAM on a background thread while Felix starts and offers it
 * as a service; the kernel's machine takes it when the size matches. Seen through the kernel's
 * debug log, for the default size and for one given with {@code --mem}.
 */
class GuestRamPreallocationIT {

    @ParameterizedTest
    @CsvSource({"'', 134217728", "--mem 48M, 50331648"})
    void theMachineRunsOnTheRamTheLauncherAllocated(String memoryOption, long bytes) throws Exception {
        Path root = Hotvisor.root();
        ProcessBuilder pb = new ProcessBuilder(root.resolve("hotvisor").toString(), "run",
                root.resolve("guests/bench/startup.img").toString(), "--format", "boot");
        if (!memoryOption.isEmpty()) {
            pb.command().addAll(java.util.List.of(memoryOption.split(" ")));
        }
        pb.directory(root.toFile()).redirectErrorStream(true);
        pb.environment().put("HOTVISOR_JAVA_OPTS", "-Dorg.slf4j.simpleLogger.log.org.hotvisor.kernel.vm.MachineComponent=debug");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "hotvisor did not finish");
        assertEquals(1, p.exitValue(), out); // isa-debug-exit 0: (0 << 1) | 1
        assertTrue(out.contains("startup ok"), out);
        assertTrue(out.contains("guest RAM: " + bytes + " bytes preallocated by the launcher"), out);
    }
}
