package org.hotvisor.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code hotvisor} script's start-up caches: the AOT cache the build makes
 * ({@code dist/hotvisor.aot}), else a dynamic AppCDS archive the first run writes
 * ({@code dist/hotvisor.jsa}). The JVM uses neither once the class path changed (a rebuilt jar)
 * and never re-creates them, so every later run would lose the gain: the script drops a cache or
 * archive older than any jar. Runs on a copy of the distribution, so other tests keep theirs.
 */
class StartupCachesIT {

    @Test
    void theBuildsAotCacheIsUsedUntilAJarIsNewerThenTheArchiveTakesOver(@TempDir Path tmp) throws Exception {
        Path copy = copyDistribution(tmp);
        Path cache = copy.resolve("launcher/target/dist/hotvisor.aot");
        Path archive = copy.resolve("launcher/target/dist/hotvisor.jsa");
        assertTrue(Files.size(cache) > 0, "the build made the AOT cache");
        Files.deleteIfExists(archive);
        Path image = Hotvisor.root().resolve("guests/bench/startup.img");

        Hotvisor.Result first = run(copy, image, "-Xlog:aot=info:stderr");
        assertTrue(first.stderr().contains("Opened AOT cache " + cache.toRealPath()), first.toString());
        assertFalse(Files.exists(archive), "no CDS archive while the AOT cache serves");

        FileTime rebuilt = rebuildAJar(copy, cache);
        Hotvisor.Result second = run(copy, image, "-Xlog:aot=info:stderr");
        assertFalse(second.stderr().contains("Opened AOT cache"), second.toString());
        assertFalse(Files.exists(cache), "the stale AOT cache is gone");
        assertTrue(Files.size(archive) > 0, "the run fell back to a CDS archive");
        assertTrue(Files.getLastModifiedTime(archive).compareTo(rebuilt) > 0);
    }

    @Test
    void anArchiveOlderThanAJarIsReplacedByTheNextRun(@TempDir Path tmp) throws Exception {
        Path copy = copyDistribution(tmp);
        Files.deleteIfExists(copy.resolve("launcher/target/dist/hotvisor.aot")); // a build with -Dhotvisor.aot.skip
        Path archive = copy.resolve("launcher/target/dist/hotvisor.jsa");
        Files.deleteIfExists(archive);
        Path image = Hotvisor.root().resolve("guests/bench/startup.img");

        run(copy, image, null);
        assertTrue(Files.size(archive) > 0, "the first run creates the archive");

        FileTime rebuilt = rebuildAJar(copy, archive);
        run(copy, image, null);
        assertTrue(Files.exists(archive), "the run after the rebuild creates a new archive");
        assertTrue(Files.getLastModifiedTime(archive).compareTo(rebuilt) > 0,
                "archive " + Files.getLastModifiedTime(archive) + " is still older than the jar " + rebuilt);
    }

    /**
     * With the AOT cache, the launcher's classes come with the code source of the tree the cache was
     * made in, so a copy of a built tree found the original's bundles; the script names its own.
     */
    @Test
    void aCopiedTreeRunsItsOwnBundlesNotTheOriginals(@TempDir Path tmp) throws Exception {
        Path copy = copyDistribution(tmp);
        Path cache = copy.resolve("launcher/target/dist/hotvisor.aot");
        Files.delete(copy.resolve("launcher/target/dist/bundles/hotvisor-device-pc-testdev.jar"));
        Path image = Hotvisor.root().resolve("guests/bench/startup.img");

        Hotvisor.Result r = run(copy, image, "-Xlog:aot=info:stderr -Dorg.slf4j.simpleLogger.defaultLogLevel=debug");
        assertTrue(r.stderr().contains("Opened AOT cache " + cache.toRealPath()), r.toString());
        assertTrue(r.stderr().contains("started org.hotvisor.device.pit8254"), r.toString());
        assertFalse(r.stderr().contains("org.hotvisor.device.pc.testdev"), "the copy has no pc-testdev bundle: " + r);
    }

    private static Path copyDistribution(Path tmp) throws IOException {
        Path root = Hotvisor.root();
        Path copy = tmp.resolve("hv");
        copyTree(root.resolve("launcher/target/dist"), copy.resolve("launcher/target/dist"));
        Files.copy(root.resolve("hotvisor"), copy.resolve("hotvisor"), StandardCopyOption.COPY_ATTRIBUTES);
        return copy;
    }

    /** A rebuild: a jar on the class path newer than {@code cache} (and not the one it recorded). */
    private static FileTime rebuildAJar(Path copy, Path cache) throws IOException, InterruptedException {
        Path jar = copy.resolve("launcher/target/dist/lib/hotvisor-launcher.jar");
        Thread.sleep(1_100);
        FileTime rebuilt = FileTime.fromMillis(System.currentTimeMillis());
        Files.setLastModifiedTime(jar, rebuilt);
        assertTrue(rebuilt.compareTo(Files.getLastModifiedTime(cache)) > 0);
        return rebuilt;
    }

    private static Hotvisor.Result run(Path copy, Path image, String javaOpts) throws IOException, InterruptedException {
        Map<String, String> env = new HashMap<>();
        env.put("HOTVISOR_CDS", null); // the caches on, as by default
        env.put("HOTVISOR_AOT_TRAIN", null);
        env.put("HOTVISOR_JAVA_OPTS", javaOpts);
        Hotvisor.Result r = Hotvisor.runIn(copy, env, null, "run", image.toString(), "--format", "boot");
        assertEquals(1, r.status(), r.toString()); // isa-debug-exit 0: (0 << 1) | 1
        assertTrue(r.stdout().contains("startup ok"), r.toString());
        return r;
    }

    /** Copies with timestamps, the directories' too: the script compares {@code dist/lib} itself with the caches. */
    private static void copyTree(Path from, Path to) throws IOException {
        List<Path> directories = new ArrayList<>();
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Path target = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(target);
                    directories.add(f);
                } else {
                    Files.copy(f, target, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
        for (Path d : directories) {
            Files.setLastModifiedTime(to.resolve(from.relativize(d).toString()), Files.getLastModifiedTime(d));
        }
    }
}
