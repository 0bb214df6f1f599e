package org.hotvisor.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Felix's cache lives in /dev/shm (tmpfs), owner-only, with Felix's cache.lock held while the
 * framework runs. A run killed outright leaves its cache behind; the next run removes it, so
 * killed runs do not pile up in memory.
 */
class AbandonedStorageIT {
    private static final Path SHM = Path.of("/dev/shm");

    @Test
    void aKilledRunsCacheIsRemovedByTheNextRun() throws Exception {
        assumeTrue(Files.isDirectory(SHM) && Files.isWritable(SHM), "no writable /dev/shm here");
        Path root = Hotvisor.root();
        Process killed = new ProcessBuilder(root.resolve("hotvisor").toString(), "run",
                root.resolve("guests/demo/demo-forever.img").toString(), "--timeout", "120")
                .directory(root.toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        Path cache;
        try {
            cache = awaitCache(killed.pid()); // the script execs java: the same process
            Path lock = cache.resolve("cache.lock");
            assertTrue(Files.isRegularFile(lock), "Felix keeps its lock file in the cache while it runs");
            assertEquals(EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
                    PosixFilePermission.OWNER_EXECUTE), Files.getPosixFilePermissions(cache), "owner-only");
        } finally {
            killed.destroyForcibly(); // SIGKILL: no shutdown hook deletes the cache
            killed.waitFor(30, TimeUnit.SECONDS);
        }
        assertTrue(Files.isDirectory(cache), "a killed run leaves its cache");
        // the sweep leaves lock files younger than 10 s alone (a framework may be about to lock one)
        Files.setLastModifiedTime(cache.resolve("cache.lock"), FileTime.fromMillis(System.currentTimeMillis() - 60_000));

        Hotvisor.Result next = Hotvisor.run("run", root.resolve("guests/bench/startup.img").toString(), "--format", "boot");
        assertEquals(1, next.status(), next.toString());
        assertFalse(Files.exists(cache), "the next run removed " + cache);
    }

    private static Path awaitCache(long pid) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            try (DirectoryStream<Path> dirs = Files.newDirectoryStream(SHM, "hotvisor-felix-" + pid + "-*")) {
                for (Path dir : dirs) {
                    if (Files.exists(dir.resolve("cache.lock"))) {
                        return dir;
                    }
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no cache of process " + pid + " appeared in " + SHM);
    }
}
