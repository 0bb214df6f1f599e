package org.hotvisor.kernel.loader;

import static org.hotvisor.kernel.loader.TestImages.concat;
import static org.hotvisor.kernel.loader.TestImages.filled;
import static org.hotvisor.kernel.loader.TestImages.multibootHeader;
import static org.hotvisor.kernel.loader.TestImages.u32;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FirmwareImageTest {
    private static final Path SOURCE = Path.of("src/main/resources/org/hotvisor/kernel/loader/firmware.asm");
    private static final int RAM_SIZE = 4 << 20;
    private static final int KERNEL = 0x100000;

    @TempDir
    Path directory;

    /** The committed binary is what the committed source assembles to, so nobody edits one without the other. */
    @Test
    void committedBinaryIsTheAssembledSource() throws Exception {
        Path output = directory.resolve("firmware.bin");
        Process nasm;
        try {
            nasm = new ProcessBuilder("nasm", "-f", "bin", "-o", output.toString(), SOURCE.toString())
                    .redirectErrorStream(true).start();
        } catch (IOException missing) {
            if ("true".equals(System.getenv("CI"))) {
                fail("nasm is needed to check firmware.bin against firmware.asm (.ci/run installs it): " + missing.getMessage());
            }
            Assumptions.abort("nasm is not installed: firmware.bin not checked against firmware.asm");
            return;
        }
        String log = new String(nasm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(nasm.waitFor(30, TimeUnit.SECONDS), "nasm did not finish");
        assertEquals(0, nasm.exitValue(), "nasm failed:\n" + log);
        assertArrayEquals(Files.readAllBytes(output), FirmwareImage.image(),
                "firmware.bin is stale: run nasm -f bin -o firmware.bin firmware.asm in " + SOURCE.getParent());
    }

    @Test
    void imageCarriesTheParameterBlockTheLoaderFills() throws Exception {
        byte[] image = FirmwareImage.image();
        assertEquals("HVFW", new String(image, 0, 4, StandardCharsets.US_ASCII));
        assertEquals(FirmwareImage.VERSION_VALUE, Hex.u16(image, FirmwareImage.VERSION));
        int entry = Hex.u16(image, FirmwareImage.ENTRY_OFFSET);
        assertEquals(FirmwareImage.PARAMETER_BLOCK_SIZE, entry, "the code starts right after the block");
        assertEquals(0xFA, image[entry] & 0xFF, "the first instruction is CLI");
        for (int field : new int[] {FirmwareImage.KERNEL_ENTRY, FirmwareImage.KERNEL_EAX, FirmwareImage.KERNEL_EBX,
            FirmwareImage.KERNEL_ESP}) {
            assertEquals(0, Hex.u32(image, field), "parameter at +" + field + " is left for the loader");
        }
        assertTrue(image.length <= MemoryLayout.FIRMWARE_MAX_SIZE);
    }

    @Test
    void installWritesTheParametersAndStartsInRealModeAtTheFirmwareEntry() throws Exception {
        byte[] ram = new byte[RAM_SIZE];
        Arrays.fill(ram, 0xF0000, 0x100000, (byte) 0xCC);
        BootState state = FirmwareImage.install(new GuestRam(ram), 0x123456, 0x2BADB002L, 0x1000, 0x7C00, "kernel");
        assertFalse(state.protectedMode());
        assertEquals(0xF000, state.codeSelector());
        assertEquals(FirmwareImage.PARAMETER_BLOCK_SIZE, state.rip());
        assertEquals(new FirmwareImage.HandOver(0x123456, 0x2BADB002L, 0x1000, 0x7C00), FirmwareImage.HandOver.read(ram));
        byte[] image = FirmwareImage.image();
        assertEquals(image[image.length - 1], ram[0xF0000 + image.length - 1]);
        assertEquals(0, ram[0xF0000 + image.length], "the rest of the firmware's page is cleared");
        assertEquals((byte) 0xCC, ram[0xF1000], "nothing written past it");
        assertTrue(state.description().startsWith("kernel; firmware at f000:0018"), state.description());
    }

    @Test
    void multibootKernelStartsInTheFirmwareWithTablesAndInformationInPlace() throws Exception {
        int loadEnd = KERNEL + 32 + 16;
        byte[] kernel = concat(multibootHeader(0x10003, KERNEL, KERNEL, loadEnd, loadEnd, KERNEL + 32), filled(16, 0x90));
        byte[] ram = new byte[RAM_SIZE];
        Path file = Files.write(directory.resolve("kernel.bin"), kernel);
        BootState state = ImageLoader.load(file, new LoadOptions("multiboot", -1, -1, "kernel.bin", List.of(), 2), ram);
        assertEquals(0xF000, state.codeSelector());
        assertEquals("RSD PTR ", new String(ram, 0xF1000, 8, StandardCharsets.US_ASCII));
        assertEquals(0x2BADB002L, u32(ram, 0xF0000 + FirmwareImage.KERNEL_EAX));
        assertEquals(KERNEL + 32, u32(ram, 0xF0000 + FirmwareImage.KERNEL_ENTRY));
        assertTrue(state.description().contains("ACPI RSDP at 0xf1000"), state.description());
        AcpiTables.Layout layout = AcpiTables.layout(0xF1000, 2);
        assertEquals(AcpiTables.madtSize(2), u32(ram, layout.madt() + 4), "the MADT lists the two vCPUs asked for");
    }

    @Test
    void bootSectorsAndFlatImagesGetNeitherFirmwareNorTables() throws Exception {
        byte[] ram = new byte[RAM_SIZE];
        Path sector = Files.write(directory.resolve("boot.img"), TestImages.bootSector(0xF4));
        ImageLoader.load(sector, LoadOptions.detect(), ram);
        byte[] flat = new byte[RAM_SIZE];
        ImageLoader.load(sector, new LoadOptions("flat", 0xF0000, -1, "", List.of()), flat);
        assertEquals(0, u32(ram, 0xF0000), "no firmware under a boot sector");
        assertEquals(0, u32(ram, 0xF1000), "no ACPI tables under a boot sector");
        assertEquals(0xF4, flat[0xF0000] & 0xFF, "a flat image may sit in the BIOS area");
        assertEquals(0, u32(flat, 0xF1000));
    }
}
