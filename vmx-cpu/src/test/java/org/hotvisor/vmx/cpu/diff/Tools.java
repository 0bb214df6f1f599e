package org.hotvisor.vmx.cpu.diff;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Finds the external tools of the differential test on PATH. */
record Tools(String nasm, String qemu) {

    /** The Debian/Ubuntu packages that provide them (for .ci/run and the failure message). */
    static final String PACKAGES = "nasm qemu-system-x86";
    static final String NASM = "nasm";
    static final String QEMU = "qemu-system-i386";

    /** The tools, or null with the missing names in missing. */
    static Tools locate(List<String> missing) {
        String nasm = onPath(NASM);
        String qemu = onPath(QEMU);
        if (nasm == null) {
            missing.add(NASM);
        }
        if (qemu == null) {
            missing.add(QEMU);
        }
        return nasm != null && qemu != null ? new Tools(nasm, qemu) : null;
    }

    static String missingMessage(List<String> missing) {
        return "differential test needs " + String.join(" and ", missing) + " on PATH; install with: apt-get install -y "
                + PACKAGES;
    }

    /** CI=true as a system property or environment variable: missing tools fail instead of skipping. */
    static boolean onCi() {
        String property = System.getProperty("CI");
        String value = property != null ? property : System.getenv("CI");
        return value != null && value.trim().toLowerCase(Locale.ROOT).equals("true");
    }

    private static String onPath(String name) {
        String path = System.getenv("PATH");
        List<String> directories = new ArrayList<>(List.of(path == null ? new String[0] : path.split(File.pathSeparator)));
        directories.add("/usr/bin");
        directories.add("/usr/local/bin");
        for (String directory : directories) {
            if (directory.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(directory, name);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return candidate.toString();
            }
        }
        return null;
    }
}
