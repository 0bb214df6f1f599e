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
            assertEquals(ProcessHandle.current().pid(), HotvisorFramework.ownerOf(dir.getFileName().toString()), dir.toString());
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
    void cachesOfProcessesThatNoLongerRunAreRemovedOthersStay() throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        long deadPid = gone.pid();
        Path abandoned = HotvisorFramework.newStorageDirectory(base, deadPid, () -> 1);
        Files.createDirectories(abandoned.resolve("bundle3/version0.0"));
        Files.writeString(abandoned.resolve("bundle3/bundle.info"), "3");
        Path live = HotvisorFramework.newStorageDirectory(base, ProcessHandle.current().pid(), () -> 2);
        Path unnamed = Files.createDirectory(base.resolve("hotvisor-felix-35ace5e296d1")); // before names carried a pid
        Path other = Files.createDirectory(base.resolve("someone-else-" + deadPid + "-1"));

        assertEquals(1, HotvisorFramework.removeAbandoned(base));
        assertFalse(Files.exists(abandoned), "the dead process's cache went, contents and all");
        assertTrue(Files.isDirectory(live));
        assertTrue(Files.isDirectory(unnamed));
        assertTrue(Files.isDirectory(other));
    }

    @Test
    void theOwnerComesFromTheNameOnly() {
        assertEquals(1234, HotvisorFramework.ownerOf("hotvisor-felix-1234-abc"));
        assertEquals(-1, HotvisorFramework.ownerOf("hotvisor-felix-35ace5e296d1"));
        assertEquals(-1, HotvisorFramework.ownerOf("hotvisor-felix-x1-2"));
        assertEquals(-1, HotvisorFramework.ownerOf("other-1234-abc"));
    }
}
