package org.hotvisor.launcher;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses {@code hotvisor [run IMAGE | demo | console [IMAGE]] [options]}. Every mistake becomes a
 * {@link UsageException} with a one-line message; nothing here throws anything else.
 */
final class CommandLine {
    static final long DEFAULT_MEMORY = 128L << 20;
    static final long MIN_MEMORY = 1L << 20;
    /** Guest RAM is one Java byte[]; 1.5 GiB keeps it well inside an array and a default heap. */
    static final long MAX_MEMORY = 1536L << 20;
    static final int MAX_CPUS = 255;
    static final long MAX_ADDRESS = 0xFFFF_FFFFL;
    static final int MAX_PORT = 0xFFFF;
    static final Set<String> FORMATS = Set.of("auto", "boot", "flat", "elf", "multiboot");
    static final Set<String> CLOCKS = Set.of("deterministic", "host");
    private static final Pattern SIZE = Pattern.compile("(\\d{1,10})([KMG])?(I?B)?");
    private static final Pattern SETTING_NAME = Pattern.compile("[A-Za-z0-9_.\\-]+");

    static final String USAGE = """
            Usage: hotvisor [run IMAGE | demo | console [IMAGE]] [options]
              run IMAGE     boot IMAGE headless; the exit status is the guest's power-off status
              demo          run the demo guest (guests/demo/demo.img) headless
              console       load the demo guest (or IMAGE) paused and open the Gogo shell (the default)

            Options:
              --format FMT            auto, boot, flat, elf or multiboot (default auto)
              --load-addr N           load address of a flat image (decimal or 0x hex)
              --entry N               entry point of a flat image (default: the load address)
              --append CMDLINE        Multiboot command line after the kernel's path
              --module FILE[=CMDLINE] Multiboot module (repeatable)
              --initrd FILE           Multiboot module loaded before the others
              --mem SIZE              guest RAM, 1M to 1536M; K, M or G suffix, none = MiB (default 128M)
              --cpus N                number of vCPUs (default 1)
              --clock deterministic|host
                                      virtual time source (default: deterministic for run and demo,
                                      host for console)
              --timeout SECONDS       stop and exit with status 124 when the guest runs longer
              --stats                 print VM-exit statistics at the end
              --stats-json FILE       write VM-exit statistics as JSON
              --trace FILE            write a VM-exit trace
              --deploy DIR            hot-deploy folder for bundles and configurations (default ./deploy)
              --set NAME=VALUE[,...]  VMX settings (repeatable): a control NAME=on|off, a VMCS
                                      field FIELD=VALUE, io-bitmap=PORT[-PORT][:on|off],
                                      msr-bitmap=read|write:MSR[-MSR][:on|off]
              --gdb PORT              gdb server on 127.0.0.1:PORT; the guest waits for gdb's
                                      continue (as QEMU's -s -S)
              --help                  show this text

            Exit status: the guest's power-off status; 2 command-line error; 3 internal error; 124 timeout.
            """;

    private final Path workingDirectory;
    private final List<String> arguments;
    private int next;

    private Command command;
    private final List<Path> positional = new ArrayList<>();
    private String format = "auto";
    private long loadAddress = LaunchOptions.UNSET;
    private long entry = LaunchOptions.UNSET;
    private String append = "";
    private final List<String> modules = new ArrayList<>();
    private String initrd;
    private long memory = DEFAULT_MEMORY;
    private boolean stats;
    private Path statsJson;
    private Path trace;
    private long timeout = LaunchOptions.UNSET;
    private Path deploy;
    private final List<String> settings = new ArrayList<>();
    private String clock;
    private int cpus = 1;
    private int gdbPort = LaunchOptions.NO_GDB;

    private CommandLine(List<String> arguments, Path workingDirectory) {
        this.arguments = arguments;
        this.workingDirectory = workingDirectory;
    }

    /** Parses the arguments; relative paths are resolved against {@code workingDirectory}. */
    static LaunchOptions parse(List<String> arguments, Path workingDirectory) throws UsageException {
        return new CommandLine(arguments, workingDirectory.toAbsolutePath()).parse();
    }

    private LaunchOptions parse() throws UsageException {
        command = Command.CONSOLE;
        if (!arguments.isEmpty() && !arguments.getFirst().startsWith("-")) {
            String word = arguments.getFirst();
            command = switch (word) {
                case "run" -> Command.RUN;
                case "demo" -> Command.DEMO;
                case "console" -> Command.CONSOLE;
                case "help" -> Command.HELP;
                default -> throw new UsageException(unknownCommand(word));
            };
            next = 1;
        }
        while (next < arguments.size()) {
            String argument = arguments.get(next++);
            if (argument.startsWith("--")) {
                option(argument);
            } else if (argument.startsWith("-") && argument.length() > 1) {
                throw new UsageException("unknown option '" + argument + "' (options start with --; see --help)");
            } else {
                positional.add(path(argument, "IMAGE"));
            }
        }
        if (command == Command.HELP) {
            return build(null);
        }
        Path image = switch (command) {
            case RUN -> {
                if (positional.isEmpty()) {
                    throw new UsageException("run needs an IMAGE (hotvisor run IMAGE [options])");
                }
                yield onlyImage();
            }
            case CONSOLE -> positional.isEmpty() ? null : onlyImage();
            default -> {
                if (!positional.isEmpty()) {
                    throw new UsageException("demo takes no IMAGE: use 'hotvisor run " + positional.getFirst() + "'");
                }
                yield null;
            }
        };
        if (image != null) {
            requireFile(image, "image");
        }
        if (timeout != LaunchOptions.UNSET && command == Command.CONSOLE) {
            throw new UsageException("--timeout applies to run and demo, not to the console");
        }
        if (deploy == null) {
            deploy = workingDirectory.resolve("deploy");
        }
        return build(image);
    }

    private LaunchOptions build(Path image) {
        List<String> allModules = new ArrayList<>();
        if (initrd != null) {
            allModules.add(initrd);
        }
        allModules.addAll(modules);
        return new LaunchOptions(command, image, format, loadAddress, entry, append, List.copyOf(allModules), memory,
                stats, statsJson, trace, timeout, deploy, List.copyOf(settings), clock, cpus, gdbPort);
    }

    private Path onlyImage() throws UsageException {
        if (positional.size() > 1) {
            throw new UsageException("unexpected argument '" + positional.get(1).getFileName() + "' (one IMAGE only)");
        }
        return positional.getFirst();
    }

    private String unknownCommand(String word) {
        String hint = "";
        try {
            if (Files.isRegularFile(workingDirectory.resolve(word))) {
                hint = ": to boot it, use 'hotvisor run " + word + "'";
            }
        } catch (InvalidPathException notAPath) {
            // no hint then
        }
        return "unknown command '" + word + "' (use run, demo or console; --help for usage)" + hint;
    }

    private void option(String argument) throws UsageException {
        int equals = argument.indexOf('=');
        String name = equals < 0 ? argument : argument.substring(0, equals);
        String inlineValue = equals < 0 ? null : argument.substring(equals + 1);
        switch (name) {
            case "--help" -> {
                flag(name, inlineValue);
                command = Command.HELP;
            }
            case "--stats" -> {
                flag(name, inlineValue);
                stats = true;
            }
            case "--format" -> format = choice(name, value(name, inlineValue), FORMATS);
            case "--load-addr" -> loadAddress = address(name, value(name, inlineValue));
            case "--entry" -> entry = address(name, value(name, inlineValue));
            case "--append" -> append = value(name, inlineValue, true);
            case "--module" -> modules.add(module(name, value(name, inlineValue)));
            case "--initrd" -> {
                if (initrd != null) {
                    throw new UsageException("--initrd given twice (add more files with --module)");
                }
                Path file = path(value(name, inlineValue), name);
                requireFile(file, name + ": file");
                initrd = file.toString();
            }
            case "--mem" -> memory = size(name, value(name, inlineValue));
            case "--stats-json" -> statsJson = outputFile(name, value(name, inlineValue));
            case "--trace" -> trace = outputFile(name, value(name, inlineValue));
            case "--timeout" -> timeout = wholeNumber(name, value(name, inlineValue), 1, Integer.MAX_VALUE, "seconds");
            case "--deploy" -> deploy = path(value(name, inlineValue), name);
            case "--set" -> settings.addAll(settingList(value(name, inlineValue)));
            case "--clock" -> clock = choice(name, value(name, inlineValue), CLOCKS);
            case "--cpus" -> cpus = (int) wholeNumber(name, value(name, inlineValue), 1, MAX_CPUS, "vCPUs");
            case "--gdb" -> gdbPort = port(name, value(name, inlineValue));
            default -> throw new UsageException("unknown option '" + name + "' (see --help)");
        }
    }

    private static void flag(String name, String inlineValue) throws UsageException {
        if (inlineValue != null) {
            throw new UsageException(name + " takes no value");
        }
    }

    private String value(String name, String inlineValue) throws UsageException {
        return value(name, inlineValue, false);
    }

    /** The option's value: after '=' or the next argument; only --append may take text starting with "--". */
    private String value(String name, String inlineValue, boolean mayLookLikeAnOption) throws UsageException {
        if (inlineValue != null) {
            return inlineValue;
        }
        if (next >= arguments.size() || (!mayLookLikeAnOption && arguments.get(next).startsWith("--"))) {
            throw new UsageException(name + " needs a value");
        }
        return arguments.get(next++);
    }

    private static String choice(String name, String value, Set<String> allowed) throws UsageException {
        String normalized = value.toLowerCase(Locale.ROOT);
        if (!allowed.contains(normalized)) {
            throw new UsageException(name + ": unknown value '" + value + "' (use " + String.join(", ", allowed.stream().sorted().toList()) + ")");
        }
        return normalized;
    }

    /** A guest physical address: decimal or 0x hex, below 4 GiB. */
    static long address(String name, String value) throws UsageException {
        String digits = value.trim().toLowerCase(Locale.ROOT).replace("_", "");
        long parsed;
        try {
            parsed = digits.startsWith("0x") ? Long.parseUnsignedLong(digits.substring(2), 16) : Long.parseLong(digits);
        } catch (NumberFormatException notANumber) {
            throw new UsageException(name + ": '" + value + "' is not a number (use decimal or 0x hex)");
        }
        if (parsed < 0 || parsed > MAX_ADDRESS) {
            throw new UsageException(name + ": " + value + " is not a 32-bit physical address (0 to 0xffffffff)");
        }
        return parsed;
    }

    private static long wholeNumber(String name, String value, long min, long max, String unit) throws UsageException {
        long parsed;
        try {
            parsed = Long.parseLong(value.trim());
        } catch (NumberFormatException notANumber) {
            throw new UsageException(name + ": '" + value + "' is not a whole number of " + unit);
        }
        if (parsed < min || parsed > max) {
            throw new UsageException(name + ": must be between " + min + " and " + max + " " + unit + ", not " + parsed);
        }
        return parsed;
    }

    /** A TCP port, 1 to 65535. */
    private static int port(String name, String value) throws UsageException {
        int parsed;
        try {
            parsed = Integer.parseInt(value.trim());
        } catch (NumberFormatException notANumber) {
            throw new UsageException(name + ": '" + value + "' is not a TCP port number");
        }
        if (parsed < 1 || parsed > MAX_PORT) {
            throw new UsageException(name + ": a TCP port is 1 to " + MAX_PORT + ", not " + parsed);
        }
        return parsed;
    }

    /** "128M", "1G", "65536K", "512" (MiB, as QEMU's -m); the result in bytes. */
    static long size(String name, String value) throws UsageException {
        Matcher matcher = SIZE.matcher(value.trim().toUpperCase(Locale.ROOT));
        if (!matcher.matches()) {
            throw new UsageException(name + ": '" + value + "' is not a size (use e.g. 128M or 1G)");
        }
        long number = Long.parseLong(matcher.group(1));
        String unit = matcher.group(2) == null ? "M" : matcher.group(2);
        if (matcher.group(2) == null && matcher.group(3) != null) {
            throw new UsageException(name + ": '" + value + "' is not a size (use e.g. 128M or 1G)");
        }
        int shift = switch (unit) {
            case "K" -> 10;
            case "M" -> 20;
            default -> 30;
        };
        if (number > (MAX_MEMORY >> shift)) {
            throw new UsageException(name + ": " + value + " is more than the maximum of 1536M (guest RAM is one Java byte array)");
        }
        long bytes = number << shift;
        if (bytes < MIN_MEMORY) {
            throw new UsageException(name + ": " + value + " is less than the minimum of 1M");
        }
        return bytes;
    }

    private String module(String name, String value) throws UsageException {
        int equals = value.indexOf('=');
        Path file = path(equals < 0 ? value : value.substring(0, equals), name);
        requireFile(file, name + ": file");
        return equals < 0 ? file.toString() : file + value.substring(equals);
    }

    /** A comma-separated list of NAME=VALUE entries (one --set may carry several). */
    private static List<String> settingList(String value) throws UsageException {
        if (value.indexOf('\n') >= 0) {
            throw new UsageException("--set: a value may not contain a line break");
        }
        List<String> entries = new ArrayList<>();
        for (String entry : value.split(",", -1)) {
            entries.add(setting(entry.strip()));
        }
        return entries;
    }

    private static String setting(String value) throws UsageException {
        int equals = value.indexOf('=');
        if (equals <= 0) {
            throw new UsageException("--set: expected NAME=VALUE, got '" + value + "'");
        }
        String name = value.substring(0, equals);
        if (!SETTING_NAME.matcher(name).matches()) {
            throw new UsageException("--set: '" + name + "' is not a property name (letters, digits, '.', '_', '-')");
        }
        return value;
    }

    private Path outputFile(String name, String value) throws UsageException {
        Path file = path(value, name);
        Path parent = file.getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw new UsageException(name + ": directory not found: " + parent);
        }
        if (Files.isDirectory(file)) {
            throw new UsageException(name + ": " + file + " is a directory");
        }
        return file;
    }

    private Path path(String value, String what) throws UsageException {
        if (value.isEmpty()) {
            throw new UsageException(what + ": empty path");
        }
        try {
            return workingDirectory.resolve(value).toAbsolutePath().normalize();
        } catch (InvalidPathException invalid) {
            throw new UsageException(what + ": invalid path '" + value + "'");
        }
    }

    private static void requireFile(Path file, String what) throws UsageException {
        if (Files.isDirectory(file)) {
            throw new UsageException(what + " is a directory: " + file);
        }
        if (!Files.isRegularFile(file)) {
            throw new UsageException(what + " not found: " + file);
        }
        if (!Files.isReadable(file)) {
            throw new UsageException(what + " is not readable: " + file);
        }
    }
}
