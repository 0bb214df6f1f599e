package org.hotvisor.kernel.loader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Reads the tables back as an OS (or kvm-unit-tests' lib/x86/acpi.c) does: from the RSDP on. */
class AcpiTablesTest {
    private static final long BASE = MemoryLayout.ACPI_TABLES_BASE;

    /** The tables as guest memory 0..1 MiB would hold them. */
    private static ByteBuffer memory(int cpus) {
        byte[] low = new byte[(int) MemoryLayout.HIGH_MEMORY_START];
        byte[] tables = AcpiTables.build(BASE, cpus);
        System.arraycopy(tables, 0, low, (int) BASE, tables.length);
        return ByteBuffer.wrap(low).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** kvm-unit-tests: the first 16-byte boundary from 0xE0000 holding "RSD PTR ". */
    private static int findRsdp(ByteBuffer m) {
        for (int at = 0xE0000; at < 0x100000; at += 16) {
            if (text(m, at, 8).equals("RSD PTR ")) {
                return at;
            }
        }
        throw new AssertionError("no RSDP in 0xE0000-0xFFFFF");
    }

    private static String text(ByteBuffer m, int at, int length) {
        byte[] bytes = new byte[length];
        m.get(at, bytes);
        return new String(bytes, StandardCharsets.US_ASCII);
    }

    private static int sum(ByteBuffer m, int at, int length) {
        int sum = 0;
        for (int i = 0; i < length; i++) {
            sum += m.get(at + i);
        }
        return sum & 0xFF;
    }

    /** A table found through the XSDT by signature (the way ACPI 2.0+ OSes look). */
    private static int table(ByteBuffer m, String signature) {
        int xsdt = (int) m.getLong(findRsdp(m) + 24);
        for (int entry = xsdt + 36; entry < xsdt + m.getInt(xsdt + 4); entry += 8) {
            int t = (int) m.getLong(entry);
            if (text(m, t, 4).equals(signature)) {
                return t;
            }
        }
        throw new AssertionError(signature + " not in the XSDT");
    }

    @Test
    void rsdpIsARevision2PointerWithBothChecksumsInTheBiosArea() {
        ByteBuffer m = memory(1);
        int rsdp = findRsdp(m);
        assertEquals(BASE, rsdp);
        assertTrue(rsdp >= 0xF0000, "old kvm-unit-tests search only 0xF0000-0xFFFFF");
        assertEquals(0, sum(m, rsdp, 20), "ACPI 1.0 checksum over the first 20 bytes");
        assertEquals(0, sum(m, rsdp, 36), "extended checksum over all 36");
        assertEquals(2, m.get(rsdp + 15), "revision");
        assertEquals(36, m.getInt(rsdp + 20), "length");
        assertEquals("HOTVSR", text(m, rsdp + 9, 6));
        assertEquals("RSDT", text(m, m.getInt(rsdp + 16), 4));
        assertEquals("XSDT", text(m, (int) m.getLong(rsdp + 24), 4));
    }

    @Test
    void everyTableChecksumsToZeroAndRsdtAndXsdtListTheSameTables() {
        ByteBuffer m = memory(3);
        int rsdp = findRsdp(m);
        int rsdt = m.getInt(rsdp + 16);
        int xsdt = (int) m.getLong(rsdp + 24);
        List<String> fromRsdt = new ArrayList<>();
        for (int entry = rsdt + 36; entry < rsdt + m.getInt(rsdt + 4); entry += 4) {
            fromRsdt.add(text(m, m.getInt(entry), 4));
            assertEquals(m.getInt(entry), (int) m.getLong(xsdt + 36 + 2 * (entry - rsdt - 36)), "same order in the XSDT");
        }
        assertEquals(List.of("FACP", "APIC"), fromRsdt);
        for (String signature : List.of("FACP", "APIC")) {
            int t = table(m, signature);
            assertEquals(0, sum(m, t, m.getInt(t + 4)), signature + " checksum");
            assertEquals(0, t % 16, signature + " alignment");
            assertEquals("HOTVSR", text(m, t + 10, 6));
            assertEquals("HOTVISOR", text(m, t + 16, 8));
        }
        assertEquals(0, sum(m, rsdt, m.getInt(rsdt + 4)), "RSDT checksum");
        assertEquals(0, sum(m, xsdt, m.getInt(xsdt + 4)), "XSDT checksum");
        int dsdt = m.getInt(table(m, "FACP") + 40);
        assertEquals(0, sum(m, dsdt, m.getInt(dsdt + 4)), "DSDT checksum");
    }

    @Test
    void fadtDescribesThePmBlockTheTimerSciAndFacsAndDsdt() {
        ByteBuffer m = memory(1);
        int fadt = table(m, "FACP");
        assertEquals(276, m.getInt(fadt + 4), "revision 6 FADT length");
        assertEquals(6, m.get(fadt + 8), "revision");
        assertEquals(4, m.get(fadt + 131), "minor version: ACPI 6.4");
        assertEquals(9, m.getShort(fadt + 46), "SCI_INT");
        assertEquals(0, m.getInt(fadt + 48), "no SMI_CMD: always in ACPI mode");
        assertEquals(0xB000, m.getInt(fadt + 56), "PM1a_EVT_BLK");
        assertEquals(0xB004, m.getInt(fadt + 64), "PM1a_CNT_BLK");
        assertEquals(0xB008, m.getInt(fadt + 76), "PM_TMR_BLK");
        assertEquals(4, m.get(fadt + 88), "PM1_EVT_LEN");
        assertEquals(2, m.get(fadt + 89), "PM1_CNT_LEN");
        assertEquals(4, m.get(fadt + 91), "PM_TMR_LEN");
        assertEquals(0x32, m.get(fadt + 108), "CENTURY");
        assertEquals(0x7, m.getShort(fadt + 109), "IAPC_BOOT_ARCH: legacy devices, 8042, no VGA");
        int flags = m.getInt(fadt + 112);
        assertEquals(0, flags & (1 << 8), "TMR_VAL_EXT clear: a 24-bit PM timer");
        assertEquals(0, flags & (1 << 20), "not HW_REDUCED_ACPI");
        assertEquals(0xA5, flags);
        // X_PM_TMR_BLK: system I/O, 32 bits wide, dword access, 0xB008
        assertEquals(1, m.get(fadt + 208));
        assertEquals(32, m.get(fadt + 209));
        assertEquals(3, m.get(fadt + 211));
        assertEquals(0xB008, m.getLong(fadt + 212));
        assertEquals(0xB000, m.getLong(fadt + 152), "X_PM1a_EVT_BLK");
        assertEquals(0xB004, m.getLong(fadt + 176), "X_PM1a_CNT_BLK");
        assertEquals("Hotvisor", text(m, fadt + 268, 8));

        int facs = m.getInt(fadt + 36);
        assertEquals(0, m.getLong(fadt + 132), "X_FIRMWARE_CTRL zero: FIRMWARE_CTRL holds the FACS");
        assertEquals(0, facs % 64, "FACS 64-byte aligned");
        assertEquals("FACS", text(m, facs, 4));
        assertEquals(64, m.getInt(facs + 4));

        int dsdt = m.getInt(fadt + 40);
        assertEquals(dsdt, m.getLong(fadt + 140), "X_DSDT");
        assertEquals("DSDT", text(m, dsdt, 4));
    }

    @Test
    void dsdtHoldsAnS5PackageWithSleepTypeZero() {
        ByteBuffer m = memory(1);
        int dsdt = m.getInt(table(m, "FACP") + 40);
        assertEquals(48, m.getInt(dsdt + 4));
        byte[] aml = new byte[12];
        m.get(dsdt + 36, aml);
        // NameOp "_S5_" PackageOp PkgLength(6) NumElements(4) Zero Zero Zero Zero
        assertArrayEquals(new byte[] {0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0, 0, 0, 0}, aml);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 4, 255})
    void madtListsOneEnabledLocalApicPerCpuTheIoApicAndTheTimerAndSciOverrides(int cpus) {
        ByteBuffer m = memory(cpus);
        int madt = table(m, "APIC");
        assertEquals(5, m.get(madt + 8), "revision");
        assertEquals(0xFEE00000, m.getInt(madt + 36), "local APIC address");
        assertEquals(1, m.getInt(madt + 40), "PCAT_COMPAT");
        int end = madt + m.getInt(madt + 4);
        int localApics = 0;
        int ioApics = 0;
        int overrides = 0;
        int nmis = 0;
        for (int at = madt + 44; at < end; at += m.get(at + 1) & 0xFF) {
            switch (m.get(at)) {
                case 0 -> {
                    assertEquals(8, m.get(at + 1));
                    assertEquals(localApics, m.get(at + 2) & 0xFF, "ACPI processor UID");
                    assertEquals(localApics, m.get(at + 3) & 0xFF, "APIC ID");
                    assertEquals(1, m.getInt(at + 4), "enabled");
                    localApics++;
                }
                case 1 -> {
                    assertEquals(12, m.get(at + 1));
                    assertEquals(cpus, m.get(at + 2) & 0xFF, "I/O APIC ID after the CPUs'");
                    assertEquals(0xFEC00000, m.getInt(at + 4));
                    assertEquals(0, m.getInt(at + 8), "GSI base");
                    ioApics++;
                }
                case 2 -> {
                    assertEquals(10, m.get(at + 1));
                    assertEquals(0, m.get(at + 2), "ISA");
                    if (m.get(at + 3) == 0) {
                        assertEquals(2, m.getInt(at + 4), "IRQ0 to GSI 2");
                        assertEquals(0, m.getShort(at + 8), "conforms to the bus");
                    } else {
                        assertEquals(9, m.get(at + 3), "the SCI");
                        assertEquals(9, m.getInt(at + 4), "on GSI 9");
                        assertEquals(0xD, m.getShort(at + 8), "active high, level triggered");
                    }
                    overrides++;
                }
                case 4 -> {
                    assertEquals(6, m.get(at + 1));
                    assertEquals(0xFF, m.get(at + 2) & 0xFF, "all processors");
                    assertEquals(1, m.get(at + 5), "LINT1");
                    nmis++;
                }
                default -> throw new AssertionError("unexpected MADT entry type " + m.get(at));
            }
        }
        assertEquals(cpus, localApics);
        assertEquals(1, ioApics);
        assertEquals(2, overrides, "IRQ0 and the SCI");
        assertEquals(1, nmis);
        assertEquals(0, sum(m, madt, m.getInt(madt + 4)));
    }

    @Test
    void cpuCountOutsideWhatXapicIdsCanNameIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> AcpiTables.build(BASE, 0));
        assertThrows(IllegalArgumentException.class, () -> AcpiTables.build(BASE, 256));
    }

    @Test
    void theLargestBlockFitsInTheBiosSegment() {
        assertTrue(AcpiTables.layout(BASE, AcpiTables.MAX_CPUS).end() <= MemoryLayout.HIGH_MEMORY_START);
        assertEquals(AcpiTables.layout(BASE, 7).end() - BASE, AcpiTables.build(BASE, 7).length);
    }
}
