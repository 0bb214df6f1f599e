package org.hotvisor.it.console;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The debugger ITs' helpers: the repository, test guests, tmux, free ports. */
final class Tools {
    private Tools() {}

    /** The repository root: -Dhotvisor.root, or the nearest ancestor holding the hotvisor script. */
    static Path root() {
        String prop = System.getProperty("hotvisor.root");
        if (prop != null && Files.exists(Path.of(prop, "hotvisor"))) {
            return Path.of(prop).toAbsolutePath();
        }
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("hotvisor"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("cannot find the repository root (the hotvisor script)");
        }
        return p;
    }

    /** Assembles launcher/src/test/guests/NAME.asm with nasm into target/guests/NAME.img. */
    static Path guest(String name) throws IOException, InterruptedException {
        Path src = root().resolve("launcher/src/test/guests/" + name + ".asm");
        Path dir = root().resolve("launcher/target/guests");
        Files.createDirectories(dir);
        Path img = dir.resolve(name + ".img");
        Process p = new ProcessBuilder("nasm", "-f", "bin", "-o", img.toString(), src.toString()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), "nasm failed (is nasm installed? .ci/run installs it):\n" + log);
        return img;
    }

    /** A TCP port nobody listens on right now. */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Runs a command to its end (60 s at most) and returns its output, stderr merged. */
    static String exec(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not finish in 60 s");
        }
        return new String(out, StandardCharsets.UTF_8);
    }

    /** The hotvisor console in a real terminal: tmux runs it, send-keys types, capture-pane reads. */
    static final class Terminal implements AutoCloseable {
        private final String session = "hv-dbg-it-" + ProcessHandle.current().pid() + "-" + System.nanoTime() % 100000;

        Terminal(String... hotvisorArgs) throws IOException, InterruptedException {
            List<String> cmd = new ArrayList<>(List.of("new-session", "-d", "-s", session, "-x", "200", "-y", "50",
                    root().resolve("hotvisor").toString()));
            cmd.addAll(List.of(hotvisorArgs));
            tmux(cmd.toArray(String[]::new));
        }

        private static String tmux(String... args) throws IOException, InterruptedException {
            List<String> cmd = new ArrayList<>(List.of("tmux"));
            cmd.addAll(List.of(args));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(10, TimeUnit.SECONDS);
            return out;
        }

        String screen() throws IOException, InterruptedException {
            return tmux("capture-pane", "-p", "-J", "-S", "-5000", "-t", session);
        }

        /**
         * Types a line, waits until {@code expect} appears once more than before, and returns the
         * screen after the command's echo (or from the line where {@code expect} appeared, if guest
         * output broke the echo). Counting rather than matching the echo: the VM may print meanwhile.
         */
        String run(String line, String expect, int seconds) throws IOException, InterruptedException {
            String initial = screen();
            int before = count(initial, expect);
            int echoes = count(initial, line);
            tmux("send-keys", "-t", session, "-l", line);
            tmux("send-keys", "-t", session, "Enter");
            long deadline = System.nanoTime() + seconds * 1_000_000_000L;
            String s = "";
            while (System.nanoTime() < deadline) {
                s = screen();
                int at = nth(s, expect, before + 1);
                if (at >= 0) {
                    int echo = nth(s, line, echoes + 1);
                    return echo >= 0 && echo < at ? s.substring(echo + line.length()) : s.substring(s.lastIndexOf('\n', at) + 1);
                }
                Thread.sleep(100);
            }
            throw new AssertionError("'" + expect + "' never appeared after '" + line + "'; the screen:\n" + s);
        }

        /** Waits for text anywhere on the screen. */
        String await(String text, int seconds) throws IOException, InterruptedException {
            long deadline = System.nanoTime() + seconds * 1_000_000_000L;
            String s = "";
            while (System.nanoTime() < deadline) {
                s = screen();
                if (s.contains(text)) {
                    return s;
                }
                Thread.sleep(100);
            }
            throw new AssertionError("'" + text + "' never appeared; the screen:\n" + s);
        }

        void keys(String... keys) throws IOException, InterruptedException {
            List<String> cmd = new ArrayList<>(List.of("send-keys", "-t", session));
            cmd.addAll(List.of(keys));
            tmux(cmd.toArray(String[]::new));
        }

        private static int count(String s, String what) {
            int n = 0;
            for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) {
                n++;
            }
            return n;
        }

        private static int nth(String s, String what, int n) {
            int i = -1;
            for (int k = 0; k < n; k++) {
                i = s.indexOf(what, i + 1);
                if (i < 0) {
                    return -1;
                }
            }
            return i;
        }

        @Override
        public void close() throws IOException, InterruptedException {
            tmux("kill-session", "-t", session);
        }
    }

    /** The first group of {@code regex} in {@code text}, or an AssertionError showing the text. */
    static String find(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        if (!m.find()) {
            throw new AssertionError("no match for /" + regex + "/ in:\n" + text);
        }
        return m.group(1);
    }
}
