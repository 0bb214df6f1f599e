package org.hotvisor.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** Runs {@code ./hotvisor} as a user does, and builds test guests with nasm. */
public final class Hotvisor {
    private Hotvisor() {}

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

    static Path shared(String name) {
        return root().resolveSibling("shared").resolve(name);
    }

    record Result(int status, String stdout, String stderr, long millis) {
        @Override
        public String toString() {
            return "status " + status + "\n--- stdout\n" + stdout + "\n--- stderr\n" + stderr;
        }
    }

    static Result run(String... args) throws IOException, InterruptedException {
        return runWithInput(null, args);
    }

    /** Runs ./hotvisor with {@code input} on its stdin (null: /dev/null). */
    static Result runWithInput(String input, String... args) throws IOException, InterruptedException {
        return runIn(root(), Map.of(), input, args);
    }

    /** Temporary directories to delete, with what is in them, when the test JVM exits. */
    private static final class TempTrees {
        static final Set<Path> ROOTS = ConcurrentHashMap.newKeySet();

        static {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> ROOTS.forEach(TempTrees::delete)));
        }

        private static void delete(Path root) {
            try (Stream<Path> walk = Files.walk(root)) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException | RuntimeException e) {
                // best effort at exit
            }
        }
    }

    /** A temporary directory that goes, with its contents, when the test JVM exits. */
    static Path tempDirectory(String prefix) throws IOException {
        Path d = Files.createTempDirectory(prefix);
        TempTrees.ROOTS.add(d);
        return d;
    }

    /** A temporary file that goes when the test JVM exits: the ITs' outputs do not pile up in /tmp. */
    public static Path tempFile(String prefix, String suffix) throws IOException {
        Path p = Files.createTempFile(prefix, suffix);
        p.toFile().deleteOnExit();
        return p;
    }

    /**
     * Runs the hotvisor script of the tree at {@code tree} (the repository or a copy of its
     * distribution) with {@code env} added to the environment (a null value removes the variable)
     * and {@code input} on its stdin (null: /dev/null).
     */
    static Result runIn(Path tree, Map<String, String> env, String input, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(tree.resolve("hotvisor").toString());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(tree.toFile());
        env.forEach((k, v) -> {
            if (v == null) {
                pb.environment().remove(k);
            } else {
                pb.environment().put(k, v);
            }
        });
        Path out = tempFile("hv-out", ".txt");
        Path err = tempFile("hv-err", ".txt");
        Path in = tempFile("hv-in", ".txt");
        Files.writeString(in, input == null ? "" : input, StandardCharsets.ISO_8859_1);
        pb.redirectOutput(out.toFile()).redirectError(err.toFile()).redirectInput(in.toFile());
        long t0 = System.nanoTime();
        Process p = pb.start();
        if (!p.waitFor(180, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("hotvisor " + String.join(" ", args) + " did not finish in 180 s");
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        Result r = new Result(p.exitValue(), Files.readString(out, StandardCharsets.ISO_8859_1),
                Files.readString(err, StandardCharsets.ISO_8859_1), ms);
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
        return r;
    }

    /**
     * Assembles launcher/src/test/guests/NAME.asm with nasm into target/guests/NAME.img; the guests
     * folder is on the include path, for the shared routines in guests/lib (%include "lib/console.inc").
     */
    static Path guest(String name, String... defines) throws IOException, InterruptedException {
        return assemble(root().resolve("launcher/src/test/guests"), name, defines);
    }

    /** Assembles FOLDER/NAME.asm (FOLDER on the include path) into target/guests/NAME.img. */
    static Path assemble(Path guests, String name, String... defines) throws IOException, InterruptedException {
        Path src = guests.resolve(name + ".asm");
        Path dir = root().resolve("launcher/target/guests");
        Files.createDirectories(dir);
        Path img = dir.resolve(name + String.join("", defines).replaceAll("[^A-Za-z0-9]", "") + ".img");
        List<String> cmd = new ArrayList<>(List.of("nasm", "-f", "bin", "-i", guests + File.separator));
        for (String d : defines) {
            cmd.add("-D" + d);
        }
        cmd.addAll(List.of("-o", img.toString(), src.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), "nasm failed (is nasm installed? .ci/run installs it):\n" + log);
        return img;
    }
}
