package org.hotvisor.kernel.loader;

import static org.hotvisor.kernel.loader.TestImages.bootSector;
import static org.hotvisor.kernel.loader.TestImages.filled;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BootAndFlatLoaderTest {
    private static final int RAM_SIZE = 2 << 20;

    @TempDir
    Path directory;

    private Path write(String name, byte[] contents) throws IOException {
        return Files.write(directory.resolve(name), contents);
    }

    private static LoadOptions format(String format) {
        return new LoadOptions(format, LoadOptions.UNSET, LoadOptions.UNSET, "", List.of());
    }

    private static LoadOptions flat(long loadAddress, long entry) {
        return new LoadOptions("flat", loadAddress, entry, "", List.of());
    }

    @Test
    void bootSectorIsCopiedTo7c00AndStartsInRealModeWithTheFloppyDrive() throws Exception {
        byte[] ram = new byte[RAM_SIZE];
        byte[] sector = bootSector(0xFA);
        BootState state = ImageLoader.load(write("boot.img", sector), format("boot"), ram);
        assertArrayEquals(sector, Arrays.copyOfRange(ram, 0x7C00, 0x7E00));
        assertFalse(state.protectedMode());
        assertEquals(0, state.codeSelector());
        assertEquals(0x7C00, state.rip());
        assertEquals(0x00, state.edx(), "DL = boot drive 0x00 (first floppy)");
        assertEquals(0, ram[0x7BFF]);
        assertEquals(0, ram[0x7E00]);
    }

    @Test
    void autoDetectsA512ByteSectorEndingInTheBootSignature() throws Exception {
        BootState state = ImageLoader.load(write("boot.img", bootSector(0xEB)), LoadOptions.detect(), new byte[RAM_SIZE]);
        assertFalse(state.protectedMode());
        assertTrue(state.description().startsWith("boot sector boot.img"), state.description());
    }

    @Test
    void bootFormatAcceptsAnySizeUpTo640KiB() throws Exception {
        byte[] ram = new byte[RAM_SIZE];
        ImageLoader.load(write("one.img", new byte[] {(byte) 0xF4}), format("boot"), ram);
        assertEquals((byte) 0xF4, ram[0x7C00]);
        byte[] largest = filled(0xA0000 - 0x7C00, 0x90);
        ImageLoader.load(write("large.img", largest), format("boot"), ram);
        assertEquals((byte) 0x90, ram[0x9FFFF]);
        assertEquals(0, ram[0xA0000]);
    }

    @Test
    void bootImageLargerThanConventionalMemoryIsRefused() throws Exception {
        Path image = write("huge.img", new byte[0xA0000 - 0x7C00 + 1]);
        ImageException error = assertThrows(ImageException.class, () -> ImageLoader.load(image, format("boot"), new byte[RAM_SIZE]));
        assertTrue(error.getMessage().contains("at most"), error.getMessage());
    }

    @Test
    void autoRefusesAnUnrecognisedImageAndAsksForFormat() throws Exception {
        Path image = write("blob.bin", filled(513, 0x90));
        ImageException error = assertThrows(ImageException.class, () -> ImageLoader.load(image, LoadOptions.detect(), new byte[RAM_SIZE]));
        assertTrue(error.getMessage().contains("--format"), error.getMessage());
        assertTrue(error.getMessage().contains("blob.bin"), error.getMessage());
    }

    @Test
    void autoRefuses512BytesWithoutTheBootSignature() throws Exception {
        Path image = write("nosig.img", new byte[512]);
        assertThrows(ImageException.class, () -> ImageLoader.load(image, LoadOptions.detect(), new byte[RAM_SIZE]));
    }

    @Test
    void flatImageLoadsAtTheLoadAddressAndStartsThereInProtectedMode() throws Exception {
        byte[] ram = new byte[RAM_SIZE];
        BootState state = ImageLoader.load(write("flat.bin", filled(100, 0xCC)), flat(0x10000, LoadOptions.UNSET), ram);
        assertEquals((byte) 0xCC, ram[0x10000]);
        assertEquals((byte) 0xCC, ram[0x10063]);
        assertEquals(0, ram[0x10064]);
        assertTrue(state.protectedMode());
        assertEquals(ImageLoader.FLAT_CODE_SELECTOR, state.codeSelector());
        assertEquals(0x10000, state.rip());
    }

    @Test
    void flatImageStartsAtAnExplicitEntry() throws Exception {
        BootState state = ImageLoader.load(write("flat.bin", filled(100, 0xCC)), flat(0x10000, 0x10010), new byte[RAM_SIZE]);
        assertEquals(0x10010, state.rip());
    }

    @Test
    void autoWithALoadAddressFallsBackToFlat() throws Exception {
        BootState state = ImageLoader.load(write("flat.bin", filled(100, 0xCC)),
                new LoadOptions("auto", 0x20000, LoadOptions.UNSET, "", List.of()), new byte[RAM_SIZE]);
        assertTrue(state.protectedMode());
        assertEquals(0x20000, state.rip());
    }

    @Test
    void flatImageNeedsALoadAddress() throws Exception {
        Path image = write("flat.bin", filled(100, 0xCC));
        ImageException error = assertThrows(ImageException.class, () -> ImageLoader.load(image, format("flat"), new byte[RAM_SIZE]));
        assertTrue(error.getMessage().contains("--load-addr"), error.getMessage());
    }

    @Test
    void flatImageRunningPastTheEndOfRamIsRefused() throws Exception {
        Path image = write("flat.bin", filled(100, 0xCC));
        ImageException error = assertThrows(ImageException.class,
                () -> ImageLoader.load(image, flat(RAM_SIZE - 50, LoadOptions.UNSET), new byte[RAM_SIZE]));
        assertTrue(error.getMessage().contains("outside guest RAM (2 MiB)"), error.getMessage());
    }

    @Test
    void flatEntryOutsideRamIsRefused() throws Exception {
        Path image = write("flat.bin", filled(100, 0xCC));
        ImageException error = assertThrows(ImageException.class,
                () -> ImageLoader.load(image, flat(0x10000, RAM_SIZE), new byte[RAM_SIZE]));
        assertTrue(error.getMessage().startsWith("entry point 0x200000 is outside guest RAM"), error.getMessage());
    }

    @Test
    void loadAddressWithANonFlatFormatIsRefused() throws Exception {
        Path image = write("boot.img", bootSector(0));
        ImageException error = assertThrows(ImageException.class,
                () -> ImageLoader.load(image, new LoadOptions("boot", 0x1000, LoadOptions.UNSET, "", List.of()), new byte[RAM_SIZE]));
        assertTrue(error.getMessage().contains("only to --format flat"), error.getMessage());
    }
}
