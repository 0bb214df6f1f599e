package org.hotvisor.kernel.loader;

import static org.hotvisor.kernel.loader.TestImages.EM_386;
import static org.hotvisor.kernel.loader.TestImages.ET_EXEC;
import static org.hotvisor.kernel.loader.TestImages.concat;
import static org.hotvisor.kernel.loader.TestImages.cString;
import static org.hotvisor.kernel.loader.TestImages.elf32;
import static org.hotvisor.kernel.loader.TestImages.filled;
import static org.hotvisor.kernel.loader.TestImages.multibootHeader;
import static org.hotvisor.kernel.loader.TestImages.u32;
import static org.hotvisor.kernel.loader.TestImages.u64;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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

class MultibootLoaderTest {
    private static final int RAM_SIZE = 4 << 20;
    private static final int ALIGN_AND_MEMORY = 0x3;
    private static final int ADDRESS_FIELDS = 1 << 16;
    private static final int KERNEL = 0x100000;

    @TempDir
    Path directory;

    private Path write(String name, byte[] contents) throws IOException {
        return Files.write(directory.resolve(name), contents);
    }

    private static LoadOptions multiboot(String cmdline, LoadOptions.Module... modules) {
        return new LoadOptions("multiboot", LoadOptions.UNSET, LoadOptions.UNSET, cmdline, List.of(modules));
    }

    /** A flat kernel: 32-byte header with address fields at file offset 0, then {@code code}, then a BSS. */
    private static byte[] aoutKernel(byte[] code, int bssSize) {
        int loadEnd = KERNEL + 32 + code.length;
        return concat(multibootHeader(ALIGN_AND_MEMORY | ADDRESS_FIELDS, KERNEL, KERNEL, loadEnd, loadEnd + bssSize, KERNEL + 32), code);
    }

    private String failure(byte[] image, LoadOptions options) throws IOException {
        Path file = write("kernel.bin", image);
        ImageException error = assertThrows(ImageException.class, () -> ImageLoader.load(file, options, new byte[RAM_SIZE]));
        return error.getMessage();
    }

    @Test
    void addressFieldsLoadTheFileAtLoadAddrZeroTheBssAndStartAtEntryAddr() throws Exception {
        byte[] ram = new byte[RAM_SIZE];
        Arrays.fill(ram, KERNEL, KERNEL + 0x3000, (byte) 0xFF);
        BootState state = ImageLoader.load(write("kernel.bin", aoutKernel(filled(0x20, 0x90), 0x1000)), LoadOptions.detect(), ram);
        assertEquals(0x1BADB002L, u32(ram, KERNEL), "the header itself is part of the loaded text");
        assertEquals((byte) 0x90, ram[KERNEL + 0x3F]);
        assertEquals(0, ram[KERNEL + 0x40], "BSS zeroed");
        assertEquals(0, ram[KERNEL + 0x103F], "BSS zeroed up to bss_end_addr");
        assertEquals((byte) 0xFF, ram[KERNEL + 0x1040]);
        FirmwareImage.HandOver handOver = FirmwareImage.HandOver.read(ram);
        assertEquals(KERNEL + 32, handOver.entry());
        assertEquals(0x2BADB002L, handOver.eax());
        assertEquals(0x7C00, handOver.esp());
        assertFalse(state.protectedMode(), "the firmware starts in real mode");
        assertEquals(0xF000, state.codeSelector());
        assertEquals(Hex.u16(ram, 0xF0000 + FirmwareImage.ENTRY_OFFSET), state.rip());
        assertTrue(state.description().startsWith("multiboot (address fields) kernel.bin"), state.description());
    }

    @Test
    void headerAfterTheStartOfTheTextLoadsFromHeaderAddrMinusLoadAddrBeforeIt() throws Exception {
        byte[] prefix = filled(0x40, 0xAB);
        int headerAddress = KERNEL + 0x40;
        byte[] image = concat(prefix, multibootHeader(ADDRESS_FIELDS, headerAddress, KERNEL, 0, 0, KERNEL), filled(8, 0xCD));
        byte[] ram = new byte[RAM_SIZE];
        BootState state = ImageLoader.load(write("kernel.bin", image), multiboot(""), ram);
        assertEquals((byte) 0xAB, ram[KERNEL]);
        assertEquals(0x1BADB002L, u32(ram, headerAddress));
        assertEquals((byte) 0xCD, ram[KERNEL + image.length - 1], "load_end_addr 0: up to the end of the file");
        assertEquals(KERNEL, FirmwareImage.HandOver.read(ram).entry());
    }

    @Test
    void informationStructureDescribesMemoryCommandLineModulesAndLoader() throws Exception {
        Path first = write("first.mod", filled(0x1800, 0x5A));
        Path second = write("second.mod", filled(3, 0xA5));
        byte[] ram = new byte[RAM_SIZE];
        BootState state = ImageLoader.load(write("kernel.bin", aoutKernel(filled(0x20, 0x90), 0x1000)),
                multiboot("/boot/kernel.bin console=ttyS0", new LoadOptions.Module(first, "first.mod role=a"),
                        new LoadOptions.Module(second, null)),
                ram);
        long info = FirmwareImage.HandOver.read(ram).ebx();
        assertEquals(0x1000, info, "boot information below the 0x7C00 stack, outside the kernel");
        long flags = u32(ram, info);
        assertEquals(0x1 | 0x4 | 0x8 | 0x40 | 0x200, flags, "memory, cmdline, mods, mmap, boot loader name");
        assertEquals(640, u32(ram, info + 4), "mem_lower");
        assertEquals((RAM_SIZE - 0x100000) / 1024, u32(ram, info + 8), "mem_upper");
        assertEquals("/boot/kernel.bin console=ttyS0", cString(ram, u32(ram, info + 16)));
        assertEquals("Hotvisor", cString(ram, u32(ram, info + 64)));

        assertEquals(2, u32(ram, info + 20), "mods_count");
        long modules = u32(ram, info + 24);
        long firstStart = u32(ram, modules);
        assertEquals(0x102000, firstStart, "first module page-aligned after the kernel's BSS (ends 0x101040)");
        assertEquals(firstStart + 0x1800, u32(ram, modules + 4));
        assertEquals("first.mod role=a", cString(ram, u32(ram, modules + 8)));
        assertEquals((byte) 0x5A, ram[(int) firstStart + 0x17FF]);
        long secondStart = u32(ram, modules + 16);
        assertEquals(0x104000, secondStart, "second module page-aligned after the first");
        assertEquals(secondStart + 3, u32(ram, modules + 20));
        assertEquals(second.toString(), cString(ram, u32(ram, modules + 24)), "no cmdline given: the path");

        long mapLength = u32(ram, info + 44);
        long map = u32(ram, info + 48);
        assertEquals(5 * 24, mapLength);
        long[][] expected = {{0, 0x9FC00, 1}, {0x9FC00, 0x400, 2}, {0xF0000, 0x10000, 2}, {0x100000, RAM_SIZE - 0x100000, 1},
            {0xFEC00000L, 0x1400000, 2}};
        for (int i = 0; i < expected.length; i++) {
            long entry = map + 24L * i;
            assertEquals(20, u32(ram, entry), "size field counts the entry without itself");
            assertEquals(expected[i][0], u64(ram, entry + 4), "base of entry " + i);
            assertEquals(expected[i][1], u64(ram, entry + 12), "length of entry " + i);
            assertEquals(expected[i][2], u32(ram, entry + 20), "type of entry " + i);
        }
    }

    @Test
    void informationMovesAboveTheModulesWhenTheKernelOccupiesTheLowArea() throws Exception {
        int low = 0x1000;
        byte[] image = concat(multibootHeader(ADDRESS_FIELDS, low, low, 0, low + 0x2000, low), filled(0x20, 0x90));
        byte[] ram = new byte[RAM_SIZE];
        BootState state = ImageLoader.load(write("kernel.bin", image), multiboot("k"), ram);
        assertEquals(0x3000, FirmwareImage.HandOver.read(ram).ebx(), "page-aligned after the kernel's BSS");
        assertEquals("k", cString(ram, u32(ram, FirmwareImage.HandOver.read(ram).ebx() + 16)));
    }

    @Test
    void modulesOfALowKernelSkipTheLegacyHole() throws Exception {
        int low = 0x8000;
        byte[] image = concat(multibootHeader(ADDRESS_FIELDS, low, low, 0, 0, low), filled(0x20, 0x90));
        Path module = write("big.mod", filled(0x100000, 0x33));
        byte[] ram = new byte[RAM_SIZE];
        BootState state = ImageLoader.load(write("kernel.bin", image), multiboot("k", new LoadOptions.Module(module, null)), ram);
        assertEquals(0x100000, u32(ram, u32(ram, FirmwareImage.HandOver.read(ram).ebx() + 24)));
        assertEquals(0x33, ram[0x1FFFFF]);
    }

    @Test
    void elfWithAMultibootHeaderIsDetectedAndLoadedByItsProgramHeaders() throws Exception {
        byte[] code = concat(multibootHeader(ALIGN_AND_MEMORY), filled(0x20, 0x90));
        byte[] image = elf32(EM_386, ET_EXEC, KERNEL + 12, ElfSegment.load(KERNEL, code, 0x2000));
        byte[] ram = new byte[RAM_SIZE];
        BootState state = ImageLoader.load(write("kernel.elf", image), LoadOptions.detect(), ram);
        assertEquals(0x1BADB002L, u32(ram, KERNEL));
        assertEquals(KERNEL + 12, FirmwareImage.HandOver.read(ram).entry());
        assertTrue(state.description().startsWith("multiboot ELF32 kernel.elf"), state.description());
    }

    @Test
    void addressFieldsWinOverElfProgramHeaders() throws Exception {
        // 3.1.3: with flag 16 the loader uses the header's addresses instead of the executable's.
        byte[] code = concat(multibootHeader(ADDRESS_FIELDS, 0x200000, 0x200000, 0, 0, 0x200000), filled(0x20, 0x90));
        byte[] image = elf32(EM_386, ET_EXEC, KERNEL, ElfSegment.load(KERNEL, code, code.length));
        byte[] ram = new byte[RAM_SIZE];
        BootState state = ImageLoader.load(write("kernel.elf", image), multiboot(""), ram);
        assertEquals(0x200000, FirmwareImage.HandOver.read(ram).entry());
        assertEquals(0x1BADB002L, u32(ram, 0x200000));
        assertEquals((byte) 0x90, ram[0x200000 + 32], "the file from the header on, up to its end");
        assertEquals(0, u32(ram, KERNEL), "program headers ignored");
    }

    @Test
    void badChecksumIsReported() throws Exception {
        byte[] image = aoutKernel(filled(0x20, 0x90), 0);
        image[8] ^= 1;
        assertEquals("bad checksum in the Multiboot header of kernel.bin at offset 0x0 (magic + flags + checksum must be 0)",
                failure(image, LoadOptions.detect()));
        assertTrue(failure(image, multiboot("")).startsWith("bad checksum"));
    }

    @Test
    void multibootFormatNeedsAHeader() throws Exception {
        assertEquals("no Multiboot header (magic 0x1BADB002) in the first 8192 bytes of kernel.bin",
                failure(filled(600, 0x90), multiboot("")));
    }

    @Test
    void headerBeyondTheFirst8192BytesIsNotFound() throws Exception {
        byte[] image = concat(new byte[8192], aoutKernel(filled(0x20, 0x90), 0));
        assertTrue(failure(image, multiboot("")).startsWith("no Multiboot header"));
    }

    @Test
    void plainElfUnderMultibootFormatIsPointedToElfFormat() throws Exception {
        byte[] image = elf32(EM_386, ET_EXEC, KERNEL, ElfSegment.load(KERNEL, filled(4, 0x90), 4));
        assertTrue(failure(image, multiboot("")).endsWith("use --format elf to boot it as a plain ELF"));
    }

    @Test
    void videoModeRequirementIsRefused() throws Exception {
        assertTrue(failure(concat(multibootHeader(0x4), filled(16, 0)), multiboot("")).contains("video mode information (flag bit 2)"));
    }

    @Test
    void unknownRequiredFlagIsRefused() throws Exception {
        assertTrue(failure(concat(multibootHeader(0x20), filled(16, 0)), multiboot("")).contains("(flags 0x20)"));
    }

    @Test
    void loadAddrAboveHeaderAddrIsRefused() throws Exception {
        byte[] image = concat(multibootHeader(ADDRESS_FIELDS, KERNEL, KERNEL + 4, 0, 0, KERNEL), filled(16, 0));
        assertTrue(failure(image, multiboot("")).contains("load_addr 0x100004 is above header_addr 0x100000"));
    }

    @Test
    void loadEndAddrPastTheEndOfTheFileIsRefused() throws Exception {
        byte[] image = concat(multibootHeader(ADDRESS_FIELDS, KERNEL, KERNEL, KERNEL + 0x1000, 0, KERNEL), filled(16, 0));
        assertTrue(failure(image, multiboot("")).startsWith("truncated Multiboot image kernel.bin"));
    }

    @Test
    void truncatedAddressFieldsAreRefused() throws Exception {
        byte[] header = multibootHeader(ADDRESS_FIELDS, KERNEL, KERNEL);
        assertTrue(failure(header, multiboot("")).startsWith("truncated Multiboot header"));
    }

    @Test
    void kernelOutsideRamIsRefused() throws Exception {
        int high = 0x3FF000;
        byte[] image = concat(multibootHeader(ADDRESS_FIELDS, high, high, 0, high + 0x2000, high), filled(16, 0));
        assertTrue(failure(image, multiboot("")).contains("is outside guest RAM (4 MiB)"));
    }

    @Test
    void missingModuleIsReported() throws Exception {
        Path missing = directory.resolve("absent.mod");
        assertEquals("module not found: " + missing,
                failure(aoutKernel(filled(4, 0), 0), multiboot("", new LoadOptions.Module(missing, null))));
    }

    @Test
    void moduleOutsideRamIsRefused() throws Exception {
        Path module = write("huge.mod", new byte[3 << 20]);
        assertTrue(failure(aoutKernel(filled(4, 0), 0), multiboot("", new LoadOptions.Module(module, null)))
                .startsWith("module huge.mod at 0x101000-0x400fff is outside guest RAM"));
    }

    @Test
    void fieldsNotProvidedStayZeroAndTheirFlagsClear() throws Exception {
        byte[] ram = new byte[RAM_SIZE];
        Arrays.fill(ram, 0x1000, 0x7000, (byte) 0xEE); // the info area must be written whole, not assumed zero
        ImageLoader.load(write("kernel.bin", aoutKernel(filled(0x20, 0x90), 0)), multiboot("kernel.bin"), ram);
        long info = FirmwareImage.HandOver.read(ram).ebx();
        assertEquals(0x1 | 0x4 | 0x8 | 0x40 | 0x200, u32(ram, info),
                "no boot_device (1), a.out/ELF symbols (4, 5), drives (7), config table (8), APM (10), VBE (11), framebuffer (12)");
        assertEquals(0, u32(ram, info + 12), "boot_device");
        for (int offset = 28; offset < 44; offset += 4) {
            assertEquals(0, u32(ram, info + offset), "syms at " + offset);
        }
        for (int offset = 52; offset < 64; offset += 4) {
            assertEquals(0, u32(ram, info + offset), "drives/config at " + offset);
        }
        for (int offset = 68; offset < MultibootInfo.INFO_SIZE; offset += 4) {
            assertEquals(0, u32(ram, info + offset), "apm/vbe/framebuffer at " + offset);
        }
        assertEquals(0, u32(ram, info + 20), "mods_count 0: no modules loaded");
        assertEquals("kernel.bin", cString(ram, u32(ram, info + 16)));
    }

    @Test
    void initrdIsTheFirstModuleWithItsPathAsString() throws Exception {
        Path initrd = write("initrd.img", filled(0x10, 0x42));
        Path other = write("other.mod", filled(0x10, 0x43));
        byte[] ram = new byte[RAM_SIZE];
        ImageLoader.load(write("kernel.bin", aoutKernel(filled(0x20, 0x90), 0)), multiboot("kernel.bin",
                LoadOptions.Module.parse(initrd.toString()), LoadOptions.Module.parse(other + "=a b")), ram);
        long modules = u32(ram, FirmwareImage.HandOver.read(ram).ebx() + 24);
        assertEquals(initrd.toString(), cString(ram, u32(ram, modules + 8)));
        assertEquals(0x42, ram[(int) u32(ram, modules)]);
        assertEquals(other + " a b", cString(ram, u32(ram, modules + 16 + 8)));
        assertEquals(0, u32(ram, modules) % 0x1000, "page-aligned (header flag bit 0)");
    }

    @Test
    void kernelOverTheIvtOrBdaOrEbdaIsRefused() throws Exception {
        byte[] overIvt = concat(multibootHeader(ADDRESS_FIELDS, 0x400, 0x400, 0, 0, 0x400), filled(0x200, 0x90));
        assertTrue(failure(overIvt, multiboot("")).contains("overlaps the BIOS data areas the firmware writes"));
        int nearEbda = 0x9F000;
        byte[] overEbda = concat(multibootHeader(ADDRESS_FIELDS, nearEbda, nearEbda, 0, nearEbda + 0xC01, nearEbda), filled(16, 0));
        assertTrue(failure(overEbda, multiboot("")).contains("EBDA 0x9fc00-0x9ffff"));
    }

    @Test
    void cpuCountTheTablesCannotDescribeIsRefused() throws Exception {
        LoadOptions tooMany = new LoadOptions("multiboot", LoadOptions.UNSET, LoadOptions.UNSET, "", List.of(), 256);
        assertEquals("256 vCPUs: the ACPI tables describe 1 to 255", failure(aoutKernel(filled(4, 0), 0), tooMany));
    }
}
