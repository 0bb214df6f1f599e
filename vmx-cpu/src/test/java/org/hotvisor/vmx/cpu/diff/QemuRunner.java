package org.hotvisor.vmx.cpu.diff;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a harness binary under QEMU TCG as a Multiboot kernel and returns what it wrote on COM1. */
final class QemuRunner {

    /** isa-debug-exit turns the byte written to port 0xF4 into exit status (value << 1) | 1. */
    private static final int EXPECTED_EXIT_STATUS = 1;

    private final String qemu;
    private final long timeoutSeconds;

    QemuRunner(String qemu, long timeoutSeconds) {
        this.qemu = qemu;
        this.timeoutSeconds = timeoutSeconds;
    }

    String run(Path binary) throws IOException, InterruptedException {
        Path errors = binary.resolveSibling("qemu.stderr");
        List<String> command = List.of(qemu, "-display", "none", "-nodefaults", "-serial", "stdio",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel", binary.toString(),
                "-m", "64", "-no-reboot", "-accel", "tcg");
        Process process = new ProcessBuilder(command).redirectError(errors.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).start();
        // stdout is drained on this thread; the harness output is a few hundred KiB at most
        byte[] output = process.getInputStream().readAllBytes();
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IOException("QEMU did not finish within " + timeoutSeconds + " s: " + String.join(" ", command));
        }
        String text = new String(output, StandardCharsets.ISO_8859_1);
        if (process.exitValue() != EXPECTED_EXIT_STATUS) {
            throw new IOException("QEMU exited with status " + process.exitValue() + " (expected "
                    + EXPECTED_EXIT_STATUS + " from isa-debug-exit): " + String.join(" ", command) + "\nstderr: "
                    + Files.readString(errors, StandardCharsets.ISO_8859_1) + "\nstdout tail: "
                    + text.substring(Math.max(0, text.length() - 500)));
        }
        return text;
    }
}
