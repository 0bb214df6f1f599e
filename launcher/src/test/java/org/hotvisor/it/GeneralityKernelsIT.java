package org.hotvisor.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The generality kernels of benchmarks/generality (see benchmarks/README.md) compute what QEMU
 * and Bochs compute: each checksum below is the one all three engines printed
 * ({@code benchmarks/generality/run.sh}).
 */
class GeneralityKernelsIT {
    @ParameterizedTest
    @CsvSource({"calls, 008d8100", "divmul, 6b6e278d", "realmode, 00008f66", "bitops, 0000013f", "strings, ca167c54"})
    void kernelPrintsTheChecksumQemuAndBochsPrint(String kernel, String checksum) throws Exception {
        Path img = Hotvisor.assemble(Hotvisor.root().resolve("benchmarks/generality"), kernel);
        Hotvisor.Result r = Hotvisor.run("run", img.toString(), "--format", "boot");
        assertEquals(1, r.status(), r.toString()); // isa-debug-exit 0 -> status 1
        assertTrue(r.stdout().lines().anyMatch(checksum::equals), r.toString());
    }
}
