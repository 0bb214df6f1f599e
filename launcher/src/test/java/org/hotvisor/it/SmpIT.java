package org.hotvisor.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Four vCPUs end to end: the BSP starts three APs with INIT-SIPI-SIPI through its local APIC; each
 * AP runs a real-mode trampoline into protected mode, counts itself with LOCK XADD, records its
 * APIC ID and sends the BSP a fixed IPI. The BSP then takes its LAPIC timer and the PIT through
 * I/O APIC pin 2. Exits 3 (INIT) and 4 (SIPI) are handled by the init-sipi bundle, once per AP.
 */
class SmpIT {
    private static final int APS = 3;

    @Test
    void fourVcpusStartWithInitSipiSipiAndInterruptTheBsp() throws Exception {
        Path json = Hotvisor.tempFile("smp-stats", ".json");
        Hotvisor.Result r = Hotvisor.run("run", Hotvisor.guest("smp").toString(), "--format", "flat",
                "--load-addr", "0x100000", "--mem", "16M", "--cpus", "4", "--stats-json", json.toString());
        assertEquals("""
                3 APs started (INIT-SIPI-SIPI, LOCK XADD) PASS
                AP APIC IDs 1-3 PASS
                fixed IPIs from the 3 APs PASS
                lapic-timer periodic PASS
                ioapic pin2 pit PASS
                no unexpected vectors PASS
                """, r.stdout(), r.toString());
        assertEquals((0x2a << 1) | 1, r.status(), r.toString());
        String stats = Files.readString(json);
        assertHandled(stats, 3, "INIT_SIGNAL");
        assertHandled(stats, 4, "SIPI");
    }

    /** One INIT and one SIPI exit per AP (the second SIPI finds it running: discarded), by the init-sipi bundle. */
    private static void assertHandled(String stats, int reason, String name) {
        Pattern row = Pattern.compile("\\{\"reason\": " + reason + ", \"name\": \"" + name + "\", \"count\": " + APS
                + ",[^}]*\"handler\": \"org\\.hotvisor\\.exit\\.initsipi\"\\}");
        assertTrue(row.matcher(stats).find(), "exit " + reason + " x" + APS + " by org.hotvisor.exit.initsipi in\n" + stats);
    }
}
