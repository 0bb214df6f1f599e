package org.hotvisor.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The generality kernels of benchmarks/generality (see benchmarks/README.md) compute what QEMU
 * and Bochs compute: each checksum below is the one all three engines printed
 * ({@code benchmarks/generality/run.sh}). The C kernel is gcc's code, built by c/build.sh.
 */
class GeneralityKernelsIT {
    @ParameterizedTest
    @CsvSource({"calls, 008d8100", "divmul, 6b6e278d", "realmode, 00008f66", "bitops, 0000013f", "strings, ca167c54",
        "x87, 0029cca3", "sse2, 0053fd9c", "mixed, 8f696b81", "paging, c1784b62"})
    void kernelPrintsTheChecksumQemuAndBochsPrint(String kernel, String checksum) throws Exception {
        Path img = Hotvisor.assemble(Hotvisor.root().resolve("benchmarks/generality"), kernel);
        Hotvisor.Result r = Hotvisor.run("run", img.toString(), "--format", "boot");
        assertEquals(1, r.status(), r.toString()); // isa-debug-exit 0 -> status 1
        assertTrue(r.stdout().lines().anyMatch(checksum::equals), r.toString());
    }

    @Test
    void theCKernelPrintsTheChecksumQemuAndBochsPrint() throws Exception {
        Path root = Hotvisor.root();
        Path out = root.resolve("launcher/target/guests/ckernel");
        Process build = new ProcessBuilder("bash", root.resolve("benchmarks/generality/c/build.sh").toString(), out.toString())
                .redirectErrorStream(true).start();
        String log = new String(build.getInputStream().readAllBytes());
        assertTrue(build.waitFor(120, TimeUnit.SECONDS), "c/build.sh did not finish");
        assertEquals(0, build.exitValue(), "c/build.sh failed (gcc, binutils and nasm: .ci/run installs them):\n" + log);
        Hotvisor.Result r = Hotvisor.run("run", out.resolve("ckernel.img").toString(), "--format", "boot");
        assertEquals(1, r.status(), r.toString());
        assertTrue(r.stdout().lines().anyMatch("918d1882"::equals), r.toString());
    }
}
