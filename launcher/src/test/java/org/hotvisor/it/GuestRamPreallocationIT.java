package org.hotvisor.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
        List<String> args = new ArrayList<>(List.of("run", Hotvisor.root().resolve("guests/bench/startup.img").toString(),
                "--format", "boot"));
        if (!memoryOption.isEmpty()) {
            args.addAll(List.of(memoryOption.split(" ")));
        }
        Hotvisor.Result r = Hotvisor.runIn(Hotvisor.root(),
                Map.of("HOTVISOR_JAVA_OPTS", "-Dorg.slf4j.simpleLogger.log.org.hotvisor.kernel.vm.MachineComponent=debug"),
                null, args.toArray(String[]::new));
        assertEquals(1, r.status(), r.toString()); // isa-debug-exit 0: (0 << 1) | 1
        assertTrue(r.stdout().contains("startup ok"), r.toString());
        assertTrue(r.stderr().contains("guest RAM: " + bytes + " bytes preallocated by the launcher"), r.toString());
    }
}
