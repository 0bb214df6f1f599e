package org.hotvisor.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Multiboot kernel started as QEMU's {@code -kernel} would start it finds the machine QEMU with
 * SeaBIOS leaves: the guest (guests/mbplatform.asm) checks the boot information, the ACPI tables,
 * the BIOS data area, the PIC and PIT programming the firmware did through I/O exits, and drops
 * back to real mode to wait for a timer tick through the firmware's IVT handlers.
 */
class MultibootPlatformIT {
    private static final List<String> CHECKS = List.of("magic", "flags", "mem_lower", "mem_upper", "mmap", "cmdline",
            "modules", "bss", "rsdp", "madt_cpus", "fadt_pm_timer", "bda", "pic_masks", "pit_mode", "a20", "real_mode_tick");

    @TempDir
    Path directory;

    @Test
    void multibootKernelFindsTheFirmwareStateTablesAndBootInformation() throws Exception {
        Path kernel = Hotvisor.guest("mbplatform");
        Path initrd = Files.write(directory.resolve("initrd.bin"), "INITRD!!12345678".getBytes(StandardCharsets.US_ASCII));
        Path module = Files.write(directory.resolve("module.bin"), "MODULE!!87654321".getBytes(StandardCharsets.US_ASCII));
        Hotvisor.Result r = Hotvisor.run("run", kernel.toString(), "--format", "multiboot", "--mem", "32M", "--cpus", "2",
                "--append", "hv-test=1", "--initrd", initrd.toString(), "--module", module + "=mod-arg=7");
        for (String check : CHECKS) {
            assertTrue(r.stdout().contains("PASS " + check + "\n"), check + " did not pass:\n" + r);
        }
        assertFalse(r.stdout().contains("FAIL"), r.toString());
        assertTrue(r.stdout().contains("DONE"), r.toString());
        assertEquals(1, r.status(), "isa-debug-exit 0: every check passed\n" + r);
    }
}
