package org.hotvisor.kernel.loader;

import static org.hotvisor.kernel.loader.TestImages.EM_386;
import static org.hotvisor.kernel.loader.TestImages.EM_ARM;
import static org.hotvisor.kernel.loader.TestImages.EM_X86_64;
import static org.hotvisor.kernel.loader.TestImages.ET_DYN;
import static org.hotvisor.kernel.loader.TestImages.ET_EXEC;
import static org.hotvisor.kernel.loader.TestImages.elf32;
import static org.hotvisor.kernel.loader.TestImages.filled;
import static org.hotvisor.kernel.loader.TestImages.u32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.hotvisor.kernel.loader.TestImages.ElfSegment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ElfLoaderTest {
    private static final int RAM_SIZE = 4 << 20;

    @TempDir
    Path directory;

    private Path write(byte[] contents) throws IOException {
        return Files.write(directory.resolve("kernel.elf"), contents);
    }

    private static LoadOptions elf() {
        return new LoadOptions("elf", LoadOptions.UNSET, LoadOptions.UNSET, "/boot/kernel.elf", List.of());
    }

    private String failure(byte[] image) throws IOException {
        Path file = write(image);
        return assertThrows(ImageException.class, () -> ImageLoader.load(file, elf(), new byte[RAM_SIZE])).getMessage();
    }

    @Test
    void loadsEveryPtLoadSegmentAtItsPhysicalAddressAndZeroesTheBss() throws Exception {
        byte[] ram = new byte[RAM_SIZE];
        Arrays.fill(ram, (byte) 0xFF); // BSS must be cleared, not assumed zero
        byte[] image = elf32(EM_386, ET_EXEC, 0x100000,
                ElfSegment.load(0x100000, filled(0x300, 0x11), 0x300),
                new ElfSegment(TestImages.PT_NOTE, 0x180000, 0x180000, filled(16, 0x77), 16),
                ElfSegment.load(0x102000, filled(0x10, 0x22), 0x1000));
        BootState state = ImageLoader.load(write(image), elf(), ram);
        assertEquals(0x11, ram[0x100000]);
        assertEquals(0x11, ram[0x1002FF]);
        assertEquals((byte) 0xFF, ram[0x100300], "nothing written past the first segment");
        assertEquals(0x22, ram[0x10200F]);
        assertEquals(0, ram[0x102010], "BSS zeroed");
        assertEquals(0, ram[0x102FFF], "BSS zeroed to p_memsz");
        assertEquals((byte) 0xFF, ram[0x103000]);
        assertEquals((byte) 0xFF, ram[0x180000], "PT_NOTE not loaded");
        FirmwareImage.HandOver handOver = FirmwareImage.HandOver.read(ram);
        assertEquals(0x100000, handOver.entry());
        assertEquals(0x2BADB002L, handOver.eax());
        assertEquals(0x1000, handOver.ebx());
        assertTrue(state.description().startsWith("ELF32 kernel.elf: 2 segments 0x100000-0x102fff, entry 0x100000"),
                state.description());
    }

    @Test
    void higherHalfEntryIsTranslatedToItsPhysicalAddress() throws Exception {
        byte[] image = elf32(EM_386, ET_EXEC, 0xC010000CL,
                new ElfSegment(TestImages.PT_LOAD, 0xC0100000L, 0x100000, filled(0x40, 0x90), 0x40));
        byte[] ram = new byte[RAM_SIZE];
        ImageLoader.load(write(image), elf(), ram);
        assertEquals(0x10000C, FirmwareImage.HandOver.read(ram).entry());
    }

    @Test
    void elfWithoutMultibootHeaderStillGetsTheMultibootInformation() throws Exception {
        byte[] ram = new byte[RAM_SIZE];
        ImageLoader.load(write(elf32(EM_386, ET_EXEC, 0x100000, ElfSegment.load(0x100000, filled(4, 0xF4), 4))), elf(), ram);
        assertEquals("/boot/kernel.elf", TestImages.cString(ram, u32(ram, FirmwareImage.HandOver.read(ram).ebx() + 16)));
    }

    @Test
    void sixtyFourBitKernelIsRefusedWithAdvice() throws Exception {
        byte[] image = elf32(EM_X86_64, ET_EXEC, 0x100000, ElfSegment.load(0x100000, filled(4, 0), 4));
        image[4] = 2; // ELFCLASS64
        assertTrue(failure(image).startsWith("64-bit ELF (x86-64): use a Multiboot kernel"));
    }

    @Test
    void elfForAnotherMachineIsRefused() throws Exception {
        assertEquals("kernel.elf is an ELF for ARM, not x86 (EM_386)",
                failure(elf32(EM_ARM, ET_EXEC, 0x100000, ElfSegment.load(0x100000, filled(4, 0), 4))));
    }

    @Test
    void bigEndianElfIsRefused() throws Exception {
        byte[] image = elf32(EM_386, ET_EXEC, 0x100000, ElfSegment.load(0x100000, filled(4, 0), 4));
        image[5] = 2; // ELFDATA2MSB
        assertEquals("kernel.elf is a big-endian ELF, not x86", failure(image));
    }

    @Test
    void positionIndependentElfIsRefused() throws Exception {
        assertTrue(failure(elf32(EM_386, ET_DYN, 0x100000, ElfSegment.load(0x100000, filled(4, 0), 4))).contains("ET_DYN"));
    }

    @Test
    void truncatedElfHeaderIsRefused() throws Exception {
        byte[] image = elf32(EM_386, ET_EXEC, 0x100000, ElfSegment.load(0x100000, filled(4, 0), 4));
        assertTrue(failure(Arrays.copyOf(image, 40)).startsWith("truncated ELF: kernel.elf is 40 bytes"));
    }

    @Test
    void truncatedProgramHeadersAreRefused() throws Exception {
        byte[] image = elf32(EM_386, ET_EXEC, 0x100000, ElfSegment.load(0x100000, filled(4, 0), 4));
        assertTrue(failure(Arrays.copyOf(image, 60)).contains("program headers run past the end"));
    }

    @Test
    void segmentDataPastTheEndOfTheFileIsRefused() throws Exception {
        byte[] image = elf32(EM_386, ET_EXEC, 0x100000, ElfSegment.load(0x100000, filled(0x80, 0x11), 0x80));
        assertTrue(failure(Arrays.copyOf(image, 0x140)).startsWith("truncated ELF: segment 0 of kernel.elf runs past the end"));
    }

    @Test
    void fileSizeLargerThanMemorySizeIsRefused() throws Exception {
        assertTrue(failure(elf32(EM_386, ET_EXEC, 0x100000, ElfSegment.load(0x100000, filled(8, 0), 4)))
                .contains("p_filesz > p_memsz"));
    }

    @Test
    void elfWithoutLoadableSegmentIsRefused() throws Exception {
        assertEquals("kernel.elf has no loadable segment (PT_LOAD)", failure(elf32(EM_386, ET_EXEC, 0x100000,
                new ElfSegment(TestImages.PT_NOTE, 0, 0, filled(4, 0), 4))));
    }

    @Test
    void segmentOutsideRamIsRefused() throws Exception {
        assertEquals("segment 0 of kernel.elf at 0x3ff000-0x400fff is outside guest RAM (4 MiB): raise --mem or fix the load address",
                failure(elf32(EM_386, ET_EXEC, 0x3FF000, ElfSegment.load(0x3FF000, filled(4, 0), 0x2000))));
    }

    @Test
    void segmentInTheLegacyHoleIsRefused() throws Exception {
        assertTrue(failure(elf32(EM_386, ET_EXEC, 0xB8000, ElfSegment.load(0xB8000, filled(4, 0), 4)))
                .contains("overlaps the legacy hole"));
    }

    @Test
    void entryOutsideRamIsRefused() throws Exception {
        assertTrue(failure(elf32(EM_386, ET_EXEC, 0x800000, ElfSegment.load(0x100000, filled(4, 0), 4)))
                .startsWith("entry point 0x800000 of kernel.elf is outside guest RAM"));
    }

    @Test
    void garbledElfClassIsRefused() throws Exception {
        byte[] image = elf32(EM_386, ET_EXEC, 0x100000, ElfSegment.load(0x100000, filled(4, 0), 4));
        image[4] = 9;
        assertTrue(failure(image).startsWith("garbled ELF"));
    }
}
