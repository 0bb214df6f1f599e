package org.hotvisor.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The API, the CPU and a handler bundle also work on the plain JPMS module path (bnd writes a
 * module-info into every bundle): the handler test bench boots the demo guest there, finding the
 * VMX processor through ServiceLoader, with no OSGi framework at all.
 */
class ModulePathIT {

    private static Path m2(String group, String artifact, String version) {
        return Path.of(System.getProperty("user.home"), ".m2", "repository", group.replace('.', '/'), artifact, version,
                artifact + "-" + version + ".jar");
    }

    @Test
    void theBenchBootsTheDemoOnThePlainModulePath() throws Exception {
        Path dist = Hotvisor.root().resolve("launcher/target/dist");
        List<Path> modules = List.of(dist.resolve("bundles/hotvisor-kernel.jar"), dist.resolve("bundles/hotvisor-vmx-cpu.jar"),
                dist.resolve("bundles/hotvisor-exit-cpuid.jar"), dist.resolve("lib/slf4j-api.jar"),
                m2("org.osgi", "osgi.core", "8.0.0"));
        for (Path m : modules) {
            assertTrue(Files.exists(m), "missing " + m);
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String modulePath = String.join(":", modules.stream().map(Path::toString).toList());
        Process p = new ProcessBuilder(java, "--module-path", modulePath,
                "--add-modules", "org.hotvisor.vmx.cpu,org.hotvisor.exit.cpuid",
                "-m", "org.hotvisor.kernel/org.hotvisor.harness.HandlerTestBench",
                Hotvisor.root().resolve("guests/demo/demo.img").toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        // No CPUID or device bundles on the bench: the kernel's defaults answer, and the demo's
        // first HLT with no timer armed ends the run as a power-off.
        assertTrue(out.contains("Hello from a Hotvisor guest!"), out);
        assertTrue(out.contains("[bench] status 0"), out);
        assertEquals(0, p.exitValue(), out);
    }
}
