package org.hotvisor.launcher;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The launcher → kernel protocol: the run request as framework properties. Every key is always
 * set (empty string or -1 when the user gave nothing), so the kernel never falls back to a
 * same-named system property.
 */
final class RunRequest {
    /** "run" (run, demo) or "console". */
    static final String MODE = "hotvisor.mode";
    /** Absolute path of the guest image. */
    static final String IMAGE = "hotvisor.image";
    /** auto, boot, flat, elf or multiboot. */
    static final String FORMAT = "hotvisor.format";
    /** Decimal; -1 when not given. */
    static final String LOAD_ADDRESS = "hotvisor.loadAddr";
    /** Decimal; -1 when not given. */
    static final String ENTRY = "hotvisor.entry";
    /** The raw --append text ("" when not given). */
    static final String APPEND = "hotvisor.append";
    /** Newline-separated "absolute-path[=cmdline]" entries, --initrd first ("" when none). */
    static final String MODULES = "hotvisor.modules";
    /** Guest RAM in bytes, decimal. */
    static final String MEMORY = "hotvisor.mem";
    /** "true" or "false". */
    static final String STATS = "hotvisor.stats";
    /** Absolute path or "". */
    static final String STATS_JSON = "hotvisor.statsJson";
    /** Absolute path or "". */
    static final String TRACE = "hotvisor.trace";
    /** Comma-separated "name=value" entries from --set ("" when none). */
    static final String SETTINGS = "hotvisor.set";
    /** "deterministic" or "host". */
    static final String CLOCK = "hotvisor.clock";
    /** Number of vCPUs, decimal. */
    static final String CPUS = "hotvisor.cpus";
    /** --gdb: a TCP port for the gdb server on 127.0.0.1, the guest held until gdb continues ("" when none). */
    static final String GDB = "hotvisor.gdb";
    /** The repository root (guests/, shared images); informational. */
    static final String ROOT = "hotvisor.root";
    /** Absolute path of the hot-deploy folder FileInstall watches; informational. */
    static final String DEPLOY = "hotvisor.deploy";

    /** The filter of the kernel's outcome service (registered under java.lang.Object). */
    static final String RESULT_FILTER = "(hotvisor.run.status=*)";
    /** Outcome property: the process exit status, an Integer. */
    static final String RESULT_STATUS = "hotvisor.run.status";
    /** Outcome property: a one-line message for stderr, may be empty. */
    static final String RESULT_MESSAGE = "hotvisor.run.message";
    /** The kernel's VM service: its appearance shows the kernel took the request. */
    static final String VM_FILTER = "(objectClass=org.hotvisor.api.Vm)";

    private RunRequest() {
    }

    static Map<String, String> properties(LaunchOptions options, Path image, Path root) {
        Map<String, String> properties = new LinkedHashMap<>();
        properties.put(MODE, options.command() == Command.CONSOLE ? "console" : "run");
        properties.put(IMAGE, image.toAbsolutePath().toString());
        properties.put(FORMAT, options.format());
        properties.put(LOAD_ADDRESS, Long.toString(options.loadAddress()));
        properties.put(ENTRY, Long.toString(options.entry()));
        properties.put(APPEND, options.append());
        properties.put(MODULES, String.join("\n", options.modules()));
        properties.put(MEMORY, Long.toString(options.memoryBytes()));
        properties.put(STATS, Boolean.toString(options.stats()));
        properties.put(STATS_JSON, options.statsJson() == null ? "" : options.statsJson().toString());
        properties.put(TRACE, options.trace() == null ? "" : options.trace().toString());
        properties.put(SETTINGS, String.join(",", options.settings()));
        properties.put(CLOCK, options.effectiveClock());
        properties.put(CPUS, Integer.toString(options.cpus()));
        properties.put(GDB, options.gdbPort() == LaunchOptions.NO_GDB ? "" : Integer.toString(options.gdbPort()));
        properties.put(ROOT, root.toAbsolutePath().toString());
        properties.put(DEPLOY, options.deployDirectory().toAbsolutePath().toString());
        return properties;
    }
}
