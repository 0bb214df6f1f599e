package org.hotvisor.kernel.loader;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The ACPI tables of a Hotvisor machine (ACPI 6.4, chapter 5 "ACPI Software Programming Model"),
 * built as one block for the BIOS area: RSDP, FACS, RSDT, XSDT, FADT, DSDT and MADT. The RSDP lies
 * on a 16-byte boundary in 0xF0000-0xFFFFF, where OSes and kvm-unit-tests' lib/x86/acpi.c search.
 * The hardware they describe: the PM block of PIIX4-style ACPI devices at 0xB000 (PM1a event,
 * control, and a 24-bit PM timer at 0xB008), SCI on IRQ 9, one local APIC per vCPU at 0xFEE00000,
 * one I/O APIC at 0xFEC00000 with IRQ0 on pin 2 and a level-triggered SCI, and the legacy 8259
 * pair (PCAT_COMPAT).
 */
final class AcpiTables {
    /** ACPI 6.4 5.2.5.3: the RSDP is found on a 16-byte boundary. */
    static final int RSDP_ALIGNMENT = 16;
    /** ACPI 6.4 5.2.10: the FACS is 64-byte aligned. */
    static final int FACS_ALIGNMENT = 64;
    static final int TABLE_ALIGNMENT = 16;

    // 5.2.5.3 RSDP structure
    static final String RSDP_SIGNATURE = "RSD PTR ";
    static final int RSDP_CHECKSUM = 8;
    static final int RSDP_OEMID = 9;
    static final int RSDP_REVISION = 15;
    static final int RSDP_RSDT_ADDRESS = 16;
    static final int RSDP_LENGTH = 20;
    static final int RSDP_XSDT_ADDRESS = 24;
    static final int RSDP_EXTENDED_CHECKSUM = 32;
    /** ACPI 1.0 checksum covers the first 20 bytes; the extended checksum the whole 36. */
    static final int RSDP_V1_SIZE = 20;
    static final int RSDP_SIZE = 36;
    static final int RSDP_REVISION_ACPI_2_OR_LATER = 2;

    // 5.2.6 System description table header
    static final int HEADER_SIGNATURE = 0;
    static final int HEADER_LENGTH = 4;
    static final int HEADER_REVISION = 8;
    static final int HEADER_CHECKSUM = 9;
    static final int HEADER_OEMID = 10;
    static final int HEADER_OEM_TABLE_ID = 16;
    static final int HEADER_OEM_REVISION = 24;
    static final int HEADER_CREATOR_ID = 28;
    static final int HEADER_CREATOR_REVISION = 32;
    static final int HEADER_SIZE = 36;
    static final String OEM_ID = "HOTVSR";
    static final String OEM_TABLE_ID = "HOTVISOR";
    static final String CREATOR_ID = "HVSR";
    static final int OEM_REVISION = 1;
    static final int CREATOR_REVISION = 1;

    static final int RSDT_REVISION = 1;
    static final int XSDT_REVISION = 1;
    static final int RSDT_ENTRY_SIZE = 4;
    static final int XSDT_ENTRY_SIZE = 8;

    // 5.2.10 FACS
    static final int FACS_SIGNATURE = 0;
    static final int FACS_LENGTH = 4;
    static final int FACS_VERSION = 32;
    static final int FACS_SIZE = 64;
    static final int FACS_VERSION_VALUE = 2;

    // 5.2.9 FADT, Table 5.9 (revision 6, 276 bytes)
    static final int FADT_REVISION = 6;
    static final int FADT_MINOR_REVISION = 4;
    static final int FADT_SIZE = 276;
    static final int FADT_FIRMWARE_CTRL = 36;
    static final int FADT_DSDT = 40;
    static final int FADT_PREFERRED_PM_PROFILE = 45;
    static final int FADT_SCI_INT = 46;
    static final int FADT_SMI_CMD = 48;
    static final int FADT_PM1A_EVT_BLK = 56;
    static final int FADT_PM1A_CNT_BLK = 64;
    static final int FADT_PM_TMR_BLK = 76;
    static final int FADT_PM1_EVT_LEN = 88;
    static final int FADT_PM1_CNT_LEN = 89;
    static final int FADT_PM_TMR_LEN = 91;
    static final int FADT_CENTURY = 108;
    static final int FADT_IAPC_BOOT_ARCH = 109;
    static final int FADT_FLAGS = 112;
    static final int FADT_MINOR_VERSION = 131;
    static final int FADT_X_FIRMWARE_CTRL = 132;
    static final int FADT_X_DSDT = 140;
    static final int FADT_X_PM1A_EVT_BLK = 148;
    static final int FADT_X_PM1A_CNT_BLK = 172;
    static final int FADT_X_PM_TMR_BLK = 208;
    static final int FADT_HYPERVISOR_VENDOR_IDENTITY = 268;
    /** The PM I/O block: PM1a status/enable (4 bytes), PM1a control (2), the PM timer (4). */
    static final int PM_BASE = 0xB000;
    static final int PM1A_EVT_BLK = PM_BASE;
    static final int PM1A_CNT_BLK = PM_BASE + 4;
    static final int PM_TMR_BLK = PM_BASE + 8;
    static final int PM1_EVT_LEN = 4;
    static final int PM1_CNT_LEN = 2;
    static final int PM_TMR_LEN = 4;
    static final int SCI_INTERRUPT = 9;
    /** The CMOS RAM index of the century register (MC146818 + the PC's 0x32 convention). */
    static final int CMOS_CENTURY_INDEX = 0x32;
    static final int PM_PROFILE_UNSPECIFIED = 0;
    // Table 5.10 fixed feature flags. TMR_VAL_EXT (bit 8) stays clear: the PM timer is 24 bits.
    static final int FADT_FLAG_WBINVD = 1;
    static final int FADT_FLAG_PROC_C1 = 1 << 2;
    static final int FADT_FLAG_SLP_BUTTON = 1 << 5;
    static final int FADT_FLAG_RTC_S4 = 1 << 7;
    static final int FADT_FLAG_TMR_VAL_EXT = 1 << 8;
    static final int FADT_FLAGS_VALUE = FADT_FLAG_WBINVD | FADT_FLAG_PROC_C1 | FADT_FLAG_SLP_BUTTON | FADT_FLAG_RTC_S4;
    // Table 5.11 IA-PC boot architecture flags
    static final int IAPC_LEGACY_DEVICES = 1;
    static final int IAPC_8042 = 1 << 1;
    static final int IAPC_VGA_NOT_PRESENT = 1 << 2;
    static final int IAPC_BOOT_ARCH_VALUE = IAPC_LEGACY_DEVICES | IAPC_8042 | IAPC_VGA_NOT_PRESENT;
    // 5.2.3.2 Generic Address Structure
    static final int GAS_SIZE = 12;
    static final int GAS_SPACE_SYSTEM_IO = 1;
    static final int GAS_ACCESS_WORD = 2;
    static final int GAS_ACCESS_DWORD = 3;
    static final String HYPERVISOR_VENDOR_IDENTITY = "Hotvisor";

    // DSDT: Name (_S5, Package (4) {0, 0, 0, 0}) in AML (20.2.5.1 DefName, 20.2.5.4 DefPackage)
    static final int DSDT_REVISION = 2;
    static final int AML_NAME_OP = 0x08;
    static final int AML_PACKAGE_OP = 0x12;
    static final int AML_ZERO_OP = 0x00;
    /** _S5's SLP_TYPa, SLP_TYPb and two reserved values: S5 is SLP_TYP 0 on this PM block (as PIIX4). */
    static final int S5_PACKAGE_ELEMENTS = 4;
    static final byte[] DSDT_AML = s5Package();

    // 5.2.12 MADT and its interrupt controller structures
    static final int MADT_REVISION = 5;
    static final int MADT_LOCAL_APIC_ADDRESS = 36;
    static final int MADT_FLAGS = 40;
    static final int MADT_HEADER_SIZE = 44;
    static final long LOCAL_APIC_ADDRESS = 0xFEE00000L;
    static final int MADT_FLAG_PCAT_COMPAT = 1;
    static final int MADT_TYPE_LOCAL_APIC = 0;
    static final int MADT_LOCAL_APIC_SIZE = 8;
    static final int LOCAL_APIC_ENABLED = 1;
    static final int MADT_TYPE_IO_APIC = 1;
    static final int MADT_IO_APIC_SIZE = 12;
    static final long IO_APIC_ADDRESS = 0xFEC00000L;
    static final int IO_APIC_GSI_BASE = 0;
    static final int MADT_TYPE_INTERRUPT_SOURCE_OVERRIDE = 2;
    static final int MADT_INTERRUPT_SOURCE_OVERRIDE_SIZE = 10;
    static final int ISA_BUS = 0;
    /** The PIT's IRQ0 arrives on I/O APIC pin 2 (as on QEMU's pc machine and most PC chipsets). */
    static final int TIMER_IRQ = 0;
    static final int TIMER_GSI = 2;
    /** MPS INTI flags 0: polarity and trigger mode "conform to the bus" (ISA: active high, edge). */
    static final int MPS_INTI_CONFORMING = 0;
    /** MPS INTI flags (Table 5.26): polarity 01 active high (bits 1:0), trigger mode 11 level (bits 3:2). */
    static final int MPS_INTI_ACTIVE_HIGH_LEVEL = 0b01 | 0b11 << 2;
    /**
     * The SCI is a level, active-high line on ISA IRQ 9 (the acpi-pm bundle), not the ISA default
     * edge: an override tells the OS how to program its I/O APIC pin (as QEMU's pc machine does).
     */
    static final int SCI_GSI = SCI_INTERRUPT;
    static final int MADT_TYPE_LOCAL_APIC_NMI = 4;
    static final int MADT_LOCAL_APIC_NMI_SIZE = 6;
    static final int ALL_PROCESSORS = 0xFF;
    /** NMI comes in on LINT1 of every local APIC (the PC wiring QEMU also describes). */
    static final int NMI_LINT = 1;
    /** xAPIC IDs are 8 bits; the I/O APIC takes ID {@code cpus}, so at most 255 vCPUs. */
    static final int MAX_CPUS = 255;

    /** Where each table went, for the loader's description and the tests. */
    record Layout(long rsdp, long facs, long rsdt, long xsdt, long fadt, long dsdt, long madt, long end) {
    }

    private AcpiTables() {
    }

    /** Offsets of every table for a block at {@code base}. */
    static Layout layout(long base, int cpus) {
        long rsdp = align(base, RSDP_ALIGNMENT);
        long facs = align(rsdp + RSDP_SIZE, FACS_ALIGNMENT);
        long rsdt = align(facs + FACS_SIZE, TABLE_ALIGNMENT);
        long xsdt = align(rsdt + rsdtSize(), TABLE_ALIGNMENT);
        long fadt = align(xsdt + xsdtSize(), TABLE_ALIGNMENT);
        long dsdt = align(fadt + FADT_SIZE, TABLE_ALIGNMENT);
        long madt = align(dsdt + dsdtSize(), TABLE_ALIGNMENT);
        return new Layout(rsdp, facs, rsdt, xsdt, fadt, dsdt, madt, madt + madtSize(cpus));
    }

    /** The whole block for guest-physical address {@code base}, every checksum right. */
    static byte[] build(long base, int cpus) {
        if (cpus < 1 || cpus > MAX_CPUS) {
            throw new IllegalArgumentException("ACPI tables describe 1 to " + MAX_CPUS + " vCPUs, not " + cpus);
        }
        Layout at = layout(base, cpus);
        ByteBuffer block = ByteBuffer.allocate(Math.toIntExact(at.end() - base)).order(ByteOrder.LITTLE_ENDIAN);
        int rsdp = offset(at.rsdp(), base);
        int facs = offset(at.facs(), base);
        int rsdt = offset(at.rsdt(), base);
        int xsdt = offset(at.xsdt(), base);
        int fadt = offset(at.fadt(), base);
        int dsdt = offset(at.dsdt(), base);
        int madt = offset(at.madt(), base);

        ascii(block, rsdp, RSDP_SIGNATURE);
        ascii(block, rsdp + RSDP_OEMID, OEM_ID);
        block.put(rsdp + RSDP_REVISION, (byte) RSDP_REVISION_ACPI_2_OR_LATER);
        block.putInt(rsdp + RSDP_RSDT_ADDRESS, (int) at.rsdt());
        block.putInt(rsdp + RSDP_LENGTH, RSDP_SIZE);
        block.putLong(rsdp + RSDP_XSDT_ADDRESS, at.xsdt());
        block.put(rsdp + RSDP_CHECKSUM, checksumByte(block, rsdp, RSDP_V1_SIZE));
        block.put(rsdp + RSDP_EXTENDED_CHECKSUM, checksumByte(block, rsdp, RSDP_SIZE));

        ascii(block, facs + FACS_SIGNATURE, "FACS");
        block.putInt(facs + FACS_LENGTH, FACS_SIZE);
        block.put(facs + FACS_VERSION, (byte) FACS_VERSION_VALUE);

        header(block, rsdt, "RSDT", rsdtSize(), RSDT_REVISION);
        block.putInt(rsdt + HEADER_SIZE, (int) at.fadt());
        block.putInt(rsdt + HEADER_SIZE + RSDT_ENTRY_SIZE, (int) at.madt());
        seal(block, rsdt);

        header(block, xsdt, "XSDT", xsdtSize(), XSDT_REVISION);
        block.putLong(xsdt + HEADER_SIZE, at.fadt());
        block.putLong(xsdt + HEADER_SIZE + XSDT_ENTRY_SIZE, at.madt());
        seal(block, xsdt);

        header(block, fadt, "FACP", FADT_SIZE, FADT_REVISION);
        // 5.2.9: FIRMWARE_CTRL holds the FACS below 4 GiB; X_FIRMWARE_CTRL stays 0 (it would override).
        block.putInt(fadt + FADT_FIRMWARE_CTRL, (int) at.facs());
        block.putInt(fadt + FADT_DSDT, (int) at.dsdt());
        block.put(fadt + FADT_PREFERRED_PM_PROFILE, (byte) PM_PROFILE_UNSPECIFIED);
        block.putShort(fadt + FADT_SCI_INT, (short) SCI_INTERRUPT);
        block.putInt(fadt + FADT_SMI_CMD, 0); // no SMI command port: the machine is always in ACPI mode
        block.putInt(fadt + FADT_PM1A_EVT_BLK, PM1A_EVT_BLK);
        block.putInt(fadt + FADT_PM1A_CNT_BLK, PM1A_CNT_BLK);
        block.putInt(fadt + FADT_PM_TMR_BLK, PM_TMR_BLK);
        block.put(fadt + FADT_PM1_EVT_LEN, (byte) PM1_EVT_LEN);
        block.put(fadt + FADT_PM1_CNT_LEN, (byte) PM1_CNT_LEN);
        block.put(fadt + FADT_PM_TMR_LEN, (byte) PM_TMR_LEN);
        block.put(fadt + FADT_CENTURY, (byte) CMOS_CENTURY_INDEX);
        block.putShort(fadt + FADT_IAPC_BOOT_ARCH, (short) IAPC_BOOT_ARCH_VALUE);
        block.putInt(fadt + FADT_FLAGS, FADT_FLAGS_VALUE);
        block.put(fadt + FADT_MINOR_VERSION, (byte) FADT_MINOR_REVISION);
        block.putLong(fadt + FADT_X_DSDT, at.dsdt());
        systemIo(block, fadt + FADT_X_PM1A_EVT_BLK, PM1A_EVT_BLK, PM1_EVT_LEN, GAS_ACCESS_WORD);
        systemIo(block, fadt + FADT_X_PM1A_CNT_BLK, PM1A_CNT_BLK, PM1_CNT_LEN, GAS_ACCESS_WORD);
        systemIo(block, fadt + FADT_X_PM_TMR_BLK, PM_TMR_BLK, PM_TMR_LEN, GAS_ACCESS_DWORD);
        ascii(block, fadt + FADT_HYPERVISOR_VENDOR_IDENTITY, HYPERVISOR_VENDOR_IDENTITY);
        seal(block, fadt);

        header(block, dsdt, "DSDT", dsdtSize(), DSDT_REVISION);
        block.put(dsdt + HEADER_SIZE, DSDT_AML);
        seal(block, dsdt);

        header(block, madt, "APIC", madtSize(cpus), MADT_REVISION);
        block.putInt(madt + MADT_LOCAL_APIC_ADDRESS, (int) LOCAL_APIC_ADDRESS);
        block.putInt(madt + MADT_FLAGS, MADT_FLAG_PCAT_COMPAT);
        int entry = madt + MADT_HEADER_SIZE;
        for (int cpu = 0; cpu < cpus; cpu++) {
            // Processor Local APIC: type, length, ACPI processor UID, APIC ID, flags
            block.put(entry, (byte) MADT_TYPE_LOCAL_APIC).put(entry + 1, (byte) MADT_LOCAL_APIC_SIZE)
                    .put(entry + 2, (byte) cpu).put(entry + 3, (byte) cpu).putInt(entry + 4, LOCAL_APIC_ENABLED);
            entry += MADT_LOCAL_APIC_SIZE;
        }
        // I/O APIC: type, length, I/O APIC ID, reserved, address, global system interrupt base
        block.put(entry, (byte) MADT_TYPE_IO_APIC).put(entry + 1, (byte) MADT_IO_APIC_SIZE).put(entry + 2, (byte) cpus)
                .putInt(entry + 4, (int) IO_APIC_ADDRESS).putInt(entry + 8, IO_APIC_GSI_BASE);
        entry += MADT_IO_APIC_SIZE;
        // Interrupt Source Override: type, length, bus, source, global system interrupt, MPS INTI flags
        block.put(entry, (byte) MADT_TYPE_INTERRUPT_SOURCE_OVERRIDE).put(entry + 1, (byte) MADT_INTERRUPT_SOURCE_OVERRIDE_SIZE)
                .put(entry + 2, (byte) ISA_BUS).put(entry + 3, (byte) TIMER_IRQ).putInt(entry + 4, TIMER_GSI)
                .putShort(entry + 8, (short) MPS_INTI_CONFORMING);
        entry += MADT_INTERRUPT_SOURCE_OVERRIDE_SIZE;
        block.put(entry, (byte) MADT_TYPE_INTERRUPT_SOURCE_OVERRIDE).put(entry + 1, (byte) MADT_INTERRUPT_SOURCE_OVERRIDE_SIZE)
                .put(entry + 2, (byte) ISA_BUS).put(entry + 3, (byte) SCI_INTERRUPT).putInt(entry + 4, SCI_GSI)
                .putShort(entry + 8, (short) MPS_INTI_ACTIVE_HIGH_LEVEL);
        entry += MADT_INTERRUPT_SOURCE_OVERRIDE_SIZE;
        // Local APIC NMI: type, length, ACPI processor UID (0xFF: all), MPS INTI flags, LINT#
        block.put(entry, (byte) MADT_TYPE_LOCAL_APIC_NMI).put(entry + 1, (byte) MADT_LOCAL_APIC_NMI_SIZE)
                .put(entry + 2, (byte) ALL_PROCESSORS).putShort(entry + 3, (short) MPS_INTI_CONFORMING)
                .put(entry + 5, (byte) NMI_LINT);
        seal(block, madt);
        return block.array();
    }

    static int rsdtSize() {
        return HEADER_SIZE + 2 * RSDT_ENTRY_SIZE;
    }

    static int xsdtSize() {
        return HEADER_SIZE + 2 * XSDT_ENTRY_SIZE;
    }

    static int dsdtSize() {
        return HEADER_SIZE + DSDT_AML.length;
    }

    static int madtSize(int cpus) {
        return MADT_HEADER_SIZE + cpus * MADT_LOCAL_APIC_SIZE + MADT_IO_APIC_SIZE + 2 * MADT_INTERRUPT_SOURCE_OVERRIDE_SIZE
                + MADT_LOCAL_APIC_NMI_SIZE;
    }

    /**
     * {@code Name (_S5, Package (4) {Zero, Zero, Zero, Zero})}: NameOp, the NameSeg "_S5_", PackageOp,
     * a one-byte PkgLength (20.2.4: it counts itself, NumElements and the elements; below 64 it is
     * one byte with bits 7:6 clear), NumElements, then ZeroOp per element.
     */
    private static byte[] s5Package() {
        int packageLength = 1 + 1 + S5_PACKAGE_ELEMENTS;
        byte[] aml = new byte[1 + 4 + 1 + packageLength];
        int i = 0;
        aml[i++] = AML_NAME_OP;
        for (byte b : "_S5_".getBytes(StandardCharsets.US_ASCII)) {
            aml[i++] = b;
        }
        aml[i++] = AML_PACKAGE_OP;
        aml[i++] = (byte) packageLength;
        aml[i++] = S5_PACKAGE_ELEMENTS;
        while (i < aml.length) {
            aml[i++] = AML_ZERO_OP;
        }
        return aml;
    }

    private static void header(ByteBuffer block, int at, String signature, int length, int revision) {
        ascii(block, at + HEADER_SIGNATURE, signature);
        block.putInt(at + HEADER_LENGTH, length);
        block.put(at + HEADER_REVISION, (byte) revision);
        ascii(block, at + HEADER_OEMID, OEM_ID);
        ascii(block, at + HEADER_OEM_TABLE_ID, OEM_TABLE_ID);
        block.putInt(at + HEADER_OEM_REVISION, OEM_REVISION);
        ascii(block, at + HEADER_CREATOR_ID, CREATOR_ID);
        block.putInt(at + HEADER_CREATOR_REVISION, CREATOR_REVISION);
    }

    /** 5.2.6: the checksum byte makes the whole table (Length bytes) sum to zero. */
    private static void seal(ByteBuffer block, int at) {
        block.put(at + HEADER_CHECKSUM, checksumByte(block, at, block.getInt(at + HEADER_LENGTH)));
    }

    private static void systemIo(ByteBuffer block, int at, int port, int lengthBytes, int accessSize) {
        block.put(at, (byte) GAS_SPACE_SYSTEM_IO).put(at + 1, (byte) (lengthBytes * Byte.SIZE)).put(at + 2, (byte) 0)
                .put(at + 3, (byte) accessSize).putLong(at + 4, port);
    }

    /** The byte that makes {@code length} bytes from {@code at} sum to 0 mod 256 (its own slot counted as is). */
    private static byte checksumByte(ByteBuffer block, int at, int length) {
        int sum = 0;
        for (int i = 0; i < length; i++) {
            sum += block.get(at + i);
        }
        return (byte) -sum;
    }

    private static void ascii(ByteBuffer block, int at, String text) {
        block.put(at, text.getBytes(StandardCharsets.US_ASCII));
    }

    private static int offset(long address, long base) {
        return Math.toIntExact(address - base);
    }

    private static long align(long value, long alignment) {
        return (value + alignment - 1) / alignment * alignment;
    }
}
