package org.hotvisor.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
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

/** Felix's cache directory: new on every call, owner-only, never one another process already made. */
class StorageDirectoryTest {

    @TempDir
    Path base;

    @Test
    void aNameAlreadyTakenIsSkipped() throws IOException {
        AtomicLong clock = new AtomicLong(0x10);
        Path first = HotvisorFramework.newStorageDirectory(base, () -> 0x10); // as if another process took it
        Path second = HotvisorFramework.newStorageDirectory(base, () -> clock.getAndIncrement()); // 0x10 again, then 0x11
        assertNotEquals(first, second);
        assertEquals("hotvisor-felix-11", second.getFileName().toString());
        assertTrue(Files.isDirectory(second));
    }

    @Test
    void aClockThatNeverMovesEndsInAnErrorNotALoop() throws IOException {
        HotvisorFramework.newStorageDirectory(base, () -> 7);
        assertThrows(FileAlreadyExistsException.class, () -> HotvisorFramework.newStorageDirectory(base, () -> 7));
    }

    @Test
    void theDefaultIsOwnerOnlyUnderTheTemporaryDirectory() throws IOException {
        Path dir = HotvisorFramework.newStorageDirectory();
        try {
            assertEquals(Path.of(System.getProperty("java.io.tmpdir")).toRealPath(), dir.getParent().toRealPath());
            assertTrue(dir.getFileName().toString().startsWith("hotvisor-felix-"), dir.toString());
            if (dir.getFileSystem().supportedFileAttributeViews().contains("posix")) {
                assertEquals(EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
                        PosixFilePermission.OWNER_EXECUTE), Files.getPosixFilePermissions(dir));
            }
        } finally {
            Files.deleteIfExists(dir);
        }
    }
}
