package org.hotvisor.kernel.loader;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * How to load a guest image.
 *
 * @param format      auto, boot, flat, elf or multiboot (null or blank: auto)
 * @param loadAddress the physical load address of a flat image, or {@link #UNSET}
 * @param entry       the entry point of a flat image, or {@link #UNSET} (then the load address)
 * @param cmdline     the full Multiboot command line, "kernel-path append-text"; see {@link #commandLine}
 * @param modules     Multiboot modules, loaded in this order after the kernel
 * @param cpus        the number of vCPUs the ACPI tables describe (multiboot and elf formats)
 */
public record LoadOptions(String format, long loadAddress, long entry, String cmdline, List<Module> modules, int cpus) {
    /** The value of {@code loadAddress} and {@code entry} when the user did not give one. */
    public static final long UNSET = -1;

    public LoadOptions {
        format = format == null || format.isBlank() ? "auto" : format.trim().toLowerCase(Locale.ROOT);
        cmdline = cmdline == null ? "" : cmdline;
        modules = modules == null ? List.of() : List.copyOf(modules);
    }

    /** Options for a machine with one vCPU. */
    public LoadOptions(String format, long loadAddress, long entry, String cmdline, List<Module> modules) {
        this(format, loadAddress, entry, cmdline, modules, 1);
    }

    /** Options for an image whose format is detected and that needs no command line or modules. */
    public static LoadOptions detect() {
        return new LoadOptions("auto", UNSET, UNSET, "", List.of());
    }

    /** The Multiboot command line as GRUB writes it: the kernel's path, then the appended text if any. */
    public static String commandLine(Path kernel, String append) {
        String path = kernel.toString();
        return append == null || append.isBlank() ? path : path + " " + append;
    }

    /**
     * A Multiboot boot module.
     *
     * @param path    the file loaded into guest memory
     * @param cmdline the module's whole Multiboot string (GRUB convention: the path, then its arguments);
     *                null: the path alone
     */
    public record Module(Path path, String cmdline) {
        /**
         * Parses one entry of the launcher's {@code hotvisor.modules} list, "path[=arguments]",
         * into a module whose string is "path arguments".
         */
        public static Module parse(String spec) {
            int equals = spec.indexOf('=');
            String file = equals < 0 ? spec : spec.substring(0, equals);
            String arguments = equals < 0 ? "" : spec.substring(equals + 1);
            return new Module(Path.of(file), arguments.isBlank() ? file : file + " " + arguments);
        }

        /** The string the guest sees for this module. */
        public String multibootString() {
            return cmdline == null ? path.toString() : cmdline;
        }
    }
}
