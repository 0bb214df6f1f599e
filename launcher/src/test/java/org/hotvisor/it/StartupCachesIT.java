package org.hotvisor.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code hotvisor} script keeps a dynamic AppCDS archive in the distribution. The JVM never
 * re-creates an archive whose class path changed (a rebuilt jar), so every later run would pay
 * the failed mapping and lose the archive's start-up gain: the script drops an archive older than
 * any jar. Runs on a copy of the distribution, so other tests keep theirs.
 */
class StaleCdsArchiveIT {

    @Test
    void anArchiveOlderThanAJarIsReplacedByTheNextRun(@TempDir Path tmp) throws Exception {
        Path root = Hotvisor.root();
        Path copy = tmp.resolve("hv");
        copyTree(root.resolve("launcher/target/dist"), copy.resolve("launcher/target/dist"));
        Files.copy(root.resolve("hotvisor"), copy.resolve("hotvisor"), StandardCopyOption.COPY_ATTRIBUTES);
        Path archive = copy.resolve("launcher/target/dist/hotvisor.jsa");
        Files.deleteIfExists(archive);
        Path image = root.resolve("guests/bench/startup.img");

        run(copy, image);
        assertTrue(Files.size(archive) > 0, "the first run creates the archive");

        // a rebuild: a jar on the class path newer than the archive (and not the one it recorded)
        Path jar = copy.resolve("launcher/target/dist/lib/hotvisor-launcher.jar");
        Thread.sleep(1_100);
        FileTime rebuilt = FileTime.fromMillis(System.currentTimeMillis());
        Files.setLastModifiedTime(jar, rebuilt);
        assertTrue(rebuilt.compareTo(Files.getLastModifiedTime(archive)) > 0);

        run(copy, image);
        assertTrue(Files.exists(archive), "the run after the rebuild creates a new archive");
        assertTrue(Files.getLastModifiedTime(archive).compareTo(rebuilt) > 0,
                "archive " + Files.getLastModifiedTime(archive) + " is still older than the jar " + rebuilt);
    }

    private static void run(Path copy, Path image) throws IOException, InterruptedException {
        Map<String, String> env = new HashMap<>();
        env.put("HOTVISOR_CDS", null); // the archive on, as by default
        env.put("HOTVISOR_JAVA_OPTS", null);
        Hotvisor.Result r = Hotvisor.runIn(copy, env, null, "run", image.toString(), "--format", "boot");
        assertEquals(1, r.status(), r.toString()); // isa-debug-exit 0: (0 << 1) | 1
        assertTrue(r.stdout().contains("startup ok"), r.toString());
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Path target = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(f, target, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
    }
}
