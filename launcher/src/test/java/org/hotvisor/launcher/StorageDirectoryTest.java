package org.hotvisor.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Felix's cache directory: new on every call, owner-only, never one another process already made,
 * in memory where Linux offers tmpfs; caches that killed runs left behind go at the next start.
 */
class StorageDirectoryTest {

    @TempDir
    Path base;

    @Test
    void aNameAlreadyTakenIsSkipped() throws IOException {
        AtomicLong clock = new AtomicLong(0x10);
        Path first = HotvisorFramework.newStorageDirectory(base, 42, () -> 0x10); // as if another process took it
        Path second = HotvisorFramework.newStorageDirectory(base, 42, () -> clock.getAndIncrement()); // 0x10 again, then 0x11
        assertNotEquals(first, second);
        assertEquals("hotvisor-felix-42-11", second.getFileName().toString());
        assertTrue(Files.isDirectory(second));
    }

    @Test
    void aClockThatNeverMovesEndsInAnErrorNotALoop() throws IOException {
        HotvisorFramework.newStorageDirectory(base, 42, () -> 7);
        assertThrows(FileAlreadyExistsException.class, () -> HotvisorFramework.newStorageDirectory(base, 42, () -> 7));
    }

    @Test
    void theDefaultIsOwnerOnlyAndNamedForThisProcess() throws IOException {
        Path dir = HotvisorFramework.newStorageDirectory();
        try {
            Path expected = HotvisorFramework.storageBase(Path.of("/dev/shm"), Path.of(System.getProperty("java.io.tmpdir")));
            assertEquals(expected.toRealPath(), dir.getParent().toRealPath());
            assertTrue(dir.getFileName().toString().startsWith("hotvisor-felix-" + ProcessHandle.current().pid() + "-"), dir.toString());
            if (dir.getFileSystem().supportedFileAttributeViews().contains("posix")) {
                assertEquals(EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
                        PosixFilePermission.OWNER_EXECUTE), Files.getPosixFilePermissions(dir));
            }
        } finally {
            Files.deleteIfExists(dir);
        }
    }

    @Test
    void sharedMemoryWhenItIsAWritableDirectoryElseTheFallback() throws IOException {
        Path fallback = base.resolve("tmp");
        assertEquals(base, HotvisorFramework.storageBase(base, fallback));
        assertEquals(fallback, HotvisorFramework.storageBase(base.resolve("missing"), fallback));
        Path file = Files.createFile(base.resolve("a-file"));
        assertEquals(fallback, HotvisorFramework.storageBase(file, fallback));
    }

    @Test
    void cachesWhoseFrameworkLockNobodyHoldsAreRemovedOthersStay() throws Exception {
        long now = System.currentTimeMillis();
        Path abandoned = cacheWithLock(1, now - 60_000);
        Files.createDirectories(abandoned.resolve("bundle3/version0.0"));
        Files.writeString(abandoned.resolve("bundle3/bundle.info"), "3");
        Path young = cacheWithLock(2, now - 1_000);           // a framework may be about to lock it
        Path noLock = HotvisorFramework.newStorageDirectory(base, 42, () -> 3); // not initialised yet
        Path heldElsewhere = cacheWithLock(4, now - 60_000);
        Path ours = withLock(HotvisorFramework.newStorageDirectory(base, ProcessHandle.current().pid(), () -> 5),
                now - 60_000);                               // this process's: never swept
        Path unnamed = withLock(Files.createDirectory(base.resolve("hotvisor-felix-35ace5e296d1")), now - 60_000);
        Path other = withLock(Files.createDirectory(base.resolve("someone-else-42-1")), now - 60_000);

        Process holder = holdLock(heldElsewhere.resolve(HotvisorFramework.CACHE_LOCK));
        try {
            assertEquals(1, HotvisorFramework.removeAbandoned(base, now));
        } finally {
            holder.destroyForcibly().waitFor();
        }
        assertFalse(Files.exists(abandoned), "nobody holds its lock: removed, contents and all");
        for (Path stays : new Path[] {young, noLock, heldElsewhere, ours, unnamed, other}) {
            assertTrue(Files.isDirectory(stays), stays.toString());
        }
        assertEquals(1, HotvisorFramework.removeAbandoned(base, now), "the other process died: its lock went with it");
        assertFalse(Files.exists(heldElsewhere));
    }

    @Test
    void deletingACacheRemovesItsWholeTreeButNotWhatALinkInItPointsTo() throws IOException {
        Path cache = Files.createDirectories(base.resolve("hotvisor-felix-7-1"));
        Files.createDirectories(cache.resolve("bundle3/version0.0"));
        Files.writeString(cache.resolve("bundle3/version0.0/bundle.jar"), "jar");
        Files.writeString(cache.resolve("cache.lock"), "");
        Path outside = Files.createDirectories(base.resolve("outside"));
        Files.writeString(outside.resolve("keep.txt"), "keep");
        Files.createSymbolicLink(cache.resolve("bundle3/link"), outside);
        HotvisorFramework.deleteTree(cache);
        assertFalse(Files.exists(cache, java.nio.file.LinkOption.NOFOLLOW_LINKS), "the cache is gone");
        assertEquals("keep", Files.readString(outside.resolve("keep.txt")), "the link's target is untouched");
    }

    @Test
    void theOwnerComesFromTheNameOnly() {
        assertEquals(1234, HotvisorFramework.ownerOf("hotvisor-felix-1234-abc"));
        assertEquals(-1, HotvisorFramework.ownerOf("hotvisor-felix-35ace5e296d1"));
        assertEquals(-1, HotvisorFramework.ownerOf("hotvisor-felix-x1-2"));
        assertEquals(-1, HotvisorFramework.ownerOf("other-1234-abc"));
    }

    private Path cacheWithLock(long clock, long modifiedMillis) throws IOException {
        return withLock(HotvisorFramework.newStorageDirectory(base, 42, () -> clock), modifiedMillis);
    }

    private static Path withLock(Path dir, long modifiedMillis) throws IOException {
        Path lock = Files.writeString(dir.resolve(HotvisorFramework.CACHE_LOCK), "");
        Files.setLastModifiedTime(lock, FileTime.fromMillis(modifiedMillis));
        return dir;
    }

    /** Another JVM that locks {@code file} as Felix does and keeps it until destroyed. */
    private Process holdLock(Path file) throws Exception {
        Path source = base.resolve("Hold.java");
        Files.writeString(source, """
                import java.nio.channels.FileChannel;
                import java.nio.file.*;
                class Hold {
                    public static void main(String[] a) throws Exception {
                        FileChannel c = FileChannel.open(Path.of(a[0]), StandardOpenOption.WRITE);
                        c.lock();
                        System.out.println("locked");
                        Thread.sleep(120_000);
                    }
                }
                """);
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, source.toString(), file.toString()).redirectErrorStream(true).start();
        String line = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream())).readLine();
        assertEquals("locked", line, "the lock holder started");
        return p;
    }
}
