package org.hotvisor.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunRequestTest {
    @TempDir
    Path directory;

    @Test
    void everyKeyIsSetEvenWhenTheUserGaveNothing() throws Exception {
        Files.write(directory.resolve("g.img"), new byte[1]);
        LaunchOptions options = CommandLine.parse(List.of("run", "g.img"), directory);
        Map<String, String> properties = RunRequest.properties(options, options.image(), directory);
        assertEquals(Map.ofEntries(Map.entry("hotvisor.mode", "run"), Map.entry("hotvisor.image", directory + "/g.img"),
                Map.entry("hotvisor.format", "auto"), Map.entry("hotvisor.loadAddr", "-1"), Map.entry("hotvisor.entry", "-1"),
                Map.entry("hotvisor.append", ""), Map.entry("hotvisor.modules", ""), Map.entry("hotvisor.mem", "134217728"),
                Map.entry("hotvisor.stats", "false"), Map.entry("hotvisor.statsJson", ""), Map.entry("hotvisor.trace", ""),
                Map.entry("hotvisor.set", ""), Map.entry("hotvisor.clock", "deterministic"), Map.entry("hotvisor.cpus", "1"), Map.entry("hotvisor.gdb", ""),
                Map.entry("hotvisor.root", directory.toString()), Map.entry("hotvisor.deploy", directory + "/deploy")),
                properties);
    }

    @Test
    void gdbPortReachesTheKernel() throws Exception {
        Files.write(directory.resolve("g.img"), new byte[1]);
        LaunchOptions options = CommandLine.parse(List.of("run", "g.img", "--gdb", "1234"), directory);
        assertEquals("1234", RunRequest.properties(options, options.image(), directory).get("hotvisor.gdb"));
    }

    @Test
    void consoleModeUsesHostTime() throws Exception {
        LaunchOptions options = CommandLine.parse(List.of("console"), directory);
        Map<String, String> properties = RunRequest.properties(options, directory.resolve("x.img"), directory);
        assertEquals("console", properties.get("hotvisor.mode"));
        assertEquals("host", properties.get("hotvisor.clock"));
    }

    @Test
    void startOrderPutsConfigAdminFirstAndTheKernelLastBeforeTheConsole() {
        List<String> names = List.of("org.jline", "org.hotvisor.kernel", "org.apache.felix.gogo.runtime", "org.hotvisor.device.uart16550",
                "org.apache.felix.fileinstall", "org.osgi.util.promise", "org.apache.felix.scr", "org.apache.felix.configadmin");
        List<String> ordered = names.stream().sorted(java.util.Comparator.comparing(StartPhase::of)).toList();
        assertEquals(List.of("org.apache.felix.configadmin", "org.osgi.util.promise", "org.apache.felix.scr",
                "org.apache.felix.fileinstall", "org.hotvisor.device.uart16550", "org.hotvisor.kernel", "org.jline",
                "org.apache.felix.gogo.runtime"), ordered);
    }
}
