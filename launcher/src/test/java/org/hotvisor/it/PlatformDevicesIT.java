package org.hotvisor.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * QEMU's PC platform devices end to end: a 32-bit guest probes fw_cfg, PCI configuration
 * mechanism #1, the ACPI PM timer and PM1 control, and pc-testdev's latch and iomem (the
 * latter through EPT-violation exits to the MMIO handler bundle), prints what it found on COM1
 * and leaves through isa-debug-exit, or through ACPI S5.
 */
class PlatformDevicesIT {
    /** The MMIO accesses the guest makes: 4 reads and 3 writes of iomem, 1 unclaimed read. */
    private static final int GUEST_MMIO_ACCESSES = 8;

    private static String reasonEntry(String stats, String reason) {
        Matcher m = Pattern.compile("\\{\"reason\": \\d+, \"name\": \"" + reason + "\"[^}]*\\}").matcher(stats);
        assertTrue(m.find(), "no " + reason + " entry in " + stats);
        return m.group();
    }

    @Test
    void guestFindsQemusPlatformDevicesThroughPortsAndMmio() throws Exception {
        Path json = Hotvisor.tempFile("stats", ".json");
        Hotvisor.Result r = Hotvisor.run("run", Hotvisor.guest("platform-devices").toString(), "--format", "flat",
                "--load-addr", "0x100000", "--mem", "64M", "--cpus", "2", "--stats-json", json.toString());
        assertEquals((0x2a << 1) | 1, r.status(), r.toString());
        assertEquals("""
                fw_cfg QEMU cpus=0002 ram=0000000004000000 files=00000000
                pci 00:00.0=12378086 class=06000002 00:01.0=FFFFFFFF
                pm-timer advanced pm1_cnt=0001
                latch 12345678 1234AB78 CDEFAB78 AB CDEF
                iomem CAFEBABE 5A BABE 0000BEEF unclaimed=FFFFFFFF
                """, r.stdout(), r.toString());
        String stats = Files.readString(json);
        assertTrue(stats.contains("\"EPT_VIOLATION\": " + GUEST_MMIO_ACCESSES), stats);
        String ept = reasonEntry(stats, "EPT_VIOLATION");
        assertTrue(ept.contains("\"handler\": \"org.hotvisor.exit.mmio\""), ept);
        assertTrue(ept.contains("\"faults\": 0"), ept);
    }

    @Test
    void acpiS5PowersTheGuestOffWithStatusZero() throws Exception {
        Hotvisor.Result r = Hotvisor.run("run", Hotvisor.guest("platform-devices", "S5").toString(), "--format", "flat",
                "--load-addr", "0x100000");
        assertEquals(0, r.status(), r.toString());
        assertTrue(r.stdout().endsWith("S5\n"), r.toString());
        assertTrue(r.stdout().contains("ram=0000000008000000"), "the default 128 MiB: " + r);
    }
}
