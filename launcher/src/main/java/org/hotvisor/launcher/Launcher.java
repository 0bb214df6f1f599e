package org.hotvisor.launcher;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One launcher invocation: parse, start Felix with the run request, wait for the kernel's
 * outcome, stop, and return the process status. Everything the user sees besides guest output
 * is one line "hotvisor: ..." on stderr.
 */
final class Launcher {
    private static final Logger LOG = LoggerFactory.getLogger(Launcher.class);
    /** Bounded wait for the framework to stop once the outcome is known. */
    static final long STOP_TIMEOUT_MILLIS = 2000;
    /** System property: seconds the kernel gets to register its VM before the run counts as broken. */
    static final String WATCHDOG_PROPERTY = "hotvisor.startupWatchdog";
    static final double DEFAULT_WATCHDOG_SECONDS = 10;
    static final String JLINE_PROVIDER = "org.jline.terminal.provider";
    /** "No limit" as a distance from now: a century in nanoseconds still fits a long. */
    private static final long FOREVER_NANOS = TimeUnit.DAYS.toNanos(36_500);

    private final Distribution distribution;
    private final PrintStream out;
    private final PrintStream err;
    private final Path workingDirectory;

    Launcher(Distribution distribution, PrintStream out, PrintStream err, Path workingDirectory) {
        this.distribution = distribution;
        this.out = out;
        this.err = err;
        this.workingDirectory = workingDirectory;
    }

    int run(List<String> arguments) {
        long begin = System.nanoTime();
        LaunchOptions options;
        try {
            options = CommandLine.parse(arguments, workingDirectory);
        } catch (UsageException mistake) {
            return fail(ExitStatus.USAGE, mistake.getMessage());
        }
        if (options.command() == Command.HELP) {
            out.print(CommandLine.USAGE);
            out.flush();
            return ExitStatus.OK;
        }
        Path image = switch (options.command()) {
            case DEMO -> distribution.demoImage();
            case CONSOLE -> options.image() != null ? options.image() : distribution.consoleImage();
            default -> options.image();
        };
        if (!Files.isRegularFile(image)) {
            return fail(ExitStatus.INTERNAL_ERROR, "internal error: the demo guest is missing: " + image
                    + " (rebuild it with guests/demo/build.sh)");
        }
        try {
            Files.createDirectories(options.deployDirectory());
        } catch (IOException | RuntimeException failure) {
            return fail(ExitStatus.USAGE, "cannot create the deploy folder " + options.deployDirectory() + ": "
                    + Failures.describe(failure));
        }
        try {
            return options.command() == Command.CONSOLE ? console(options, image) : headless(options, image, begin);
        } catch (LaunchException broken) {
            return fail(ExitStatus.INTERNAL_ERROR, "internal error: " + broken.getMessage());
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            return fail(ExitStatus.INTERNAL_ERROR, "internal error: interrupted");
        }
    }

    /** run and demo: start everything but the console, wait for the outcome, stop. */
    private int headless(LaunchOptions options, Path image, long begin) throws LaunchException, InterruptedException {
        HotvisorFramework framework = HotvisorFramework.create(RunRequest.properties(options, image, distribution.root()),
                options.deployDirectory());
        Thread stopOnInterrupt = new Thread(() -> framework.stop(STOP_TIMEOUT_MILLIS), "hotvisor-shutdown");
        Runtime.getRuntime().addShutdownHook(stopOnInterrupt);
        Outcome outcome;
        try {
            OutcomeWatcher watcher = new OutcomeWatcher(framework.context());
            watcher.listen();
            LOG.debug("framework initialised {} ms after launch", (System.nanoTime() - begin) / 1_000_000);
            framework.install(distribution.bundles(), false);
            LOG.debug("bundles installed {} ms after launch", (System.nanoTime() - begin) / 1_000_000);
            preallocateRam(options, framework);
            framework.start(StartPhase.KERNEL, true);
            LOG.debug("bundles started {} ms after launch", (System.nanoTime() - begin) / 1_000_000);
            watcher.scanExisting();
            long deadline = begin + (options.timeoutSeconds() == LaunchOptions.UNSET ? FOREVER_NANOS
                    : TimeUnit.SECONDS.toNanos(options.timeoutSeconds()));
            outcome = watcher.await(framework, deadline, System.nanoTime() + watchdogNanos());
            LOG.debug("outcome known {} ms after launch", (System.nanoTime() - begin) / 1_000_000);
        } finally {
            out.flush();
            framework.stop(STOP_TIMEOUT_MILLIS);
            removeHook(stopOnInterrupt);
        }
        LOG.debug("finished {} ms after launch: {}", (System.nanoTime() - begin) / 1_000_000, outcome);
        return switch (outcome) {
            case Outcome.Finished finished -> {
                if (!finished.message().isBlank()) {
                    err.println("hotvisor: " + finished.message());
                }
                yield finished.status();
            }
            case Outcome.Broken broken -> fail(ExitStatus.INTERNAL_ERROR, "internal error: " + broken.message());
            case Outcome.TimedOut timedOut -> fail(ExitStatus.TIMEOUT, "timeout after " + options.timeoutSeconds() + " s");
        };
    }

    /**
     * Starts allocating the guest RAM on a background thread while the bundles start (the kernel
     * takes it last). Not earlier: zeroing the array keeps that thread inside the JVM for 50-100 ms,
     * and a deoptimisation handshake then waits for it; Felix's own set-up and the installs load
     * the classes whose loading deoptimises, and the main thread stalled on it (up to 94 ms seen).
     */
    private static void preallocateRam(LaunchOptions options, HotvisorFramework framework) {
        GuestRamPreallocation ram = GuestRamPreallocation.start(options.memoryBytes());
        if (ram != null) {
            ram.register(framework.context());
        }
    }

    /** console: load the guest paused, print the banner, hand the terminal to Gogo until shutdown. */
    private int console(LaunchOptions options, Path image) throws LaunchException, InterruptedException {
        HotvisorFramework framework = HotvisorFramework.create(RunRequest.properties(options, image, distribution.root()),
                options.deployDirectory());
        try {
            OutcomeWatcher watcher = new OutcomeWatcher(framework.context());
            watcher.listen();
            framework.install(distribution.bundles(), true);
            preallocateRam(options, framework);
            framework.start(StartPhase.KERNEL, false);
            watcher.scanExisting();
            Outcome early = watcher.awaitVm(framework, System.nanoTime() + watchdogNanos());
            if (early instanceof Outcome.Broken broken) {
                throw new LaunchException(broken.message());
            }
            if (early instanceof Outcome.Finished finished && !finished.message().isBlank()) {
                err.println("hotvisor: " + finished.message());
            }
            String guest = image.equals(distribution.consoleImage()) ? "demo guest" : String.valueOf(image.getFileName());
            out.println("Hotvisor \u2014 " + guest + " loaded and paused.");
            out.println("Type vm:start to run it, help for commands.");
            out.flush();
            // JLine's exec provider (stty) needs no native access: the JNI and FFM ones would print
            // JDK restricted-method warnings or need --enable-native-access, which costs CDS its module graph
            if (System.getProperty(JLINE_PROVIDER) == null) {
                System.setProperty(JLINE_PROVIDER, "exec");
            }
            framework.startConsole();
            framework.awaitStop();
            return ExitStatus.OK;
        } finally {
            framework.stop(STOP_TIMEOUT_MILLIS);
        }
    }

    private static long watchdogNanos() {
        double seconds = DEFAULT_WATCHDOG_SECONDS;
        String configured = System.getProperty(WATCHDOG_PROPERTY);
        if (configured != null) {
            try {
                seconds = Double.parseDouble(configured);
            } catch (NumberFormatException ignored) {
                LOG.warn("{}={} is not a number of seconds; using {}", WATCHDOG_PROPERTY, configured, seconds);
            }
        }
        return (long) (seconds * 1e9);
    }

    private static void removeHook(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running or ran: nothing to remove
        }
    }

    private int fail(int status, String message) {
        err.println("hotvisor: " + message);
        err.flush();
        return status;
    }
}
