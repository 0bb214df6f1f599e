package org.hotvisor.kernel.loader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageFileErrorTest {
    @TempDir
    Path directory;

    private String failure(Path image, LoadOptions options, int ramSize) {
        ImageException error = assertThrows(ImageException.class, () -> ImageLoader.load(image, options, new byte[ramSize]));
        assertEquals(0, error.getStackTrace().length, "a user-facing message needs no stack trace");
        assertTrue(!error.getMessage().contains("\n"), "one line: " + error.getMessage());
        return error.getMessage();
    }

    @Test
    void missingImage() {
        Path missing = directory.resolve("nowhere.img");
        assertEquals("image not found: " + missing, failure(missing, LoadOptions.detect(), 1 << 20));
    }

    @Test
    void emptyImage() throws Exception {
        Path empty = Files.createFile(directory.resolve("empty.img"));
        assertEquals("image is empty: " + empty, failure(empty, LoadOptions.detect(), 1 << 20));
    }

    @Test
    void directoryInsteadOfImage() {
        assertTrue(failure(directory, LoadOptions.detect(), 1 << 20).startsWith("image is a directory"));
    }

    @Test
    void imageLargerThanRam() throws Exception {
        Path big = Files.write(directory.resolve("big.img"), new byte[(1 << 20) + 1]);
        assertEquals("image big.img (1048577 bytes) is larger than guest RAM (1 MiB): raise --mem",
                failure(big, LoadOptions.detect(), 1 << 20));
    }

    @Test
    void unknownFormat() throws Exception {
        Path image = Files.write(directory.resolve("x.img"), new byte[16]);
        assertEquals("unknown image format 'coff' (use auto, boot, flat, elf or multiboot)",
                failure(image, new LoadOptions("coff", LoadOptions.UNSET, LoadOptions.UNSET, "", List.of()), 1 << 20));
    }

    @Test
    void modulesAreParsedAsTheLauncherPassesThem() {
        assertEquals(new LoadOptions.Module(Path.of("/tmp/initrd"), "/tmp/initrd"), LoadOptions.Module.parse("/tmp/initrd"));
        assertEquals(new LoadOptions.Module(Path.of("/tmp/m.bin"), "/tmp/m.bin root=/dev/a x=1"),
                LoadOptions.Module.parse("/tmp/m.bin=root=/dev/a x=1"));
        assertEquals("/k.elf console=ttyS0", LoadOptions.commandLine(Path.of("/k.elf"), "console=ttyS0"));
        assertEquals("/k.elf", LoadOptions.commandLine(Path.of("/k.elf"), ""));
    }
}
