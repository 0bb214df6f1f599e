package org.hotvisor.launcher;

import java.nio.file.Path;
import java.util.List;

/**
 * The parsed command line. Paths are absolute; {@code image} is null when the command chooses
 * its own (demo, console). Numbers that were not given are {@link #UNSET}.
 *
 * @param modules      "path[=cmdline]" entries with absolute paths, --initrd first
 * @param memoryBytes  guest RAM in bytes
 * @param timeoutSeconds wall-clock limit for the whole run, or {@link #UNSET}
 * @param settings     "name=value" entries from --set, in order
 * @param clock        "deterministic", "host", or null for the command's default
 * @param gdbPort      --gdb: the gdb server's TCP port on 127.0.0.1, or {@link #NO_GDB}
 */
record LaunchOptions(Command command, Path image, String format, long loadAddress, long entry, String append,
        List<String> modules, long memoryBytes, boolean stats, Path statsJson, Path trace, long timeoutSeconds,
        Path deployDirectory, List<String> settings, String clock, int cpus, int gdbPort) {
    static final long UNSET = -1;
    static final int NO_GDB = -1;

    /** The clock actually used: deterministic for headless runs, host time for the interactive console. */
    String effectiveClock() {
        if (clock != null) {
            return clock;
        }
        return command == Command.CONSOLE ? "host" : "deterministic";
    }
}
