package org.hotvisor.launcher;

import java.nio.file.Path;
import java.util.List;

/**
 * {@code hotvisor [run IMAGE [options] | demo | console]}: the command-line entry point. The
 * process status is the guest's power-off status, 2 for a command-line mistake, 3 when Hotvisor
 * itself broke, 124 on --timeout.
 */
public final class Main {
    private static final String SIMPLE_LOGGER = "org.slf4j.simpleLogger.";

    private Main() {
    }

    public static void main(String[] args) {
        configureLogging();
        int status = new Launcher(Distribution.locate(), System.out, System.err, Path.of("")).run(List.of(args));
        System.out.flush();
        System.err.flush();
        System.exit(status);
    }

    /** slf4j-simple on stderr, warnings and errors only, so a normal run prints nothing but guest output. */
    static void configureLogging() {
        setDefault(SIMPLE_LOGGER + "defaultLogLevel", "warn");
        setDefault(SIMPLE_LOGGER + "showThreadName", "false");
        setDefault(SIMPLE_LOGGER + "showShortLogName", "true");
        setDefault(SIMPLE_LOGGER + "levelInBrackets", "true");
    }

    private static void setDefault(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }
}
