package org.hotvisor.kernel.loader;

/** The PC physical memory layout the loader places images in and reports to the guest. */
final class MemoryLayout {
    /** Where the BIOS loads a boot sector and jumps to, at 0000:7C00. */
    static final long BOOT_SECTOR_ADDRESS = 0x7C00;
    /** Initial stack pointer of every format: just below the boot sector, the classic choice. */
    static final long INITIAL_STACK_POINTER = 0x7C00;
    /** The real-mode IVT (0x000-0x3FF) and the BIOS data area (0x400-0x4FF) end here; the firmware writes both. */
    static final long BIOS_DATA_AREA_END = 0x500;
    /** Start of the extended BIOS data area, reserved at the top of conventional memory. */
    static final long EBDA_START = 0x9FC00;
    /** End of conventional memory (640 KiB); the legacy VGA/ROM hole starts here. */
    static final long CONVENTIONAL_MEMORY_END = 0xA0000;
    /** The system BIOS segment F000, reported reserved: the firmware image, then the ACPI tables. */
    static final long BIOS_ROM_START = 0xF0000;
    /** Where the firmware (firmware.asm) is placed: segment F000, offset 0. */
    static final long FIRMWARE_BASE = BIOS_ROM_START;
    /** Room the firmware may take before the ACPI tables. */
    static final long FIRMWARE_MAX_SIZE = 0x1000;
    /** The ACPI tables, RSDP first: in 0xF0000-0xFFFFF, where ACPI 6.5 section 5.2.5.1 and kvm-unit-tests look. */
    static final long ACPI_TABLES_BASE = FIRMWARE_BASE + FIRMWARE_MAX_SIZE;
    /** 1 MiB: extended memory starts here. */
    static final long HIGH_MEMORY_START = 0x100000;
    /** Where the Multiboot information goes when nothing is loaded there (below the stack, above the BDA). */
    static final long BOOT_INFO_AREA_START = 0x1000;
    /** End of that area, leaving 3 KiB of stack below {@link #INITIAL_STACK_POINTER}. */
    static final long BOOT_INFO_AREA_END = 0x7000;
    static final long PAGE_SIZE = 0x1000;
    /**
     * The PC's MMIO window below 4 GiB, reported reserved: I/O APIC 0xFEC00000, HPET 0xFED00000,
     * local APIC 0xFEE00000, pc-testdev iomem 0xFF000000 and the BIOS flash alias up to 4 GiB.
     * Guest RAM (at most 2 GiB) always ends below it, so it is the first hole above 1 MiB.
     */
    static final long MMIO_HOLE_START = 0xFEC00000L;
    /** Multiboot addresses are 32-bit. */
    static final long FOUR_GIB = 1L << 32;

    private MemoryLayout() {
    }

    static long pageAlign(long address) {
        return (address + PAGE_SIZE - 1) & -PAGE_SIZE;
    }

    /** Whether [start, start + length) overlaps the legacy hole 0xA0000-0xFFFFF (VGA memory and ROMs). */
    static boolean overlapsLegacyHole(long start, long length) {
        return overlaps(start, length, CONVENTIONAL_MEMORY_END, HIGH_MEMORY_START);
    }

    /** Whether [start, start + length) overlaps what the firmware writes below 1 MiB: the IVT, the BDA, the EBDA. */
    static boolean overlapsBiosDataAreas(long start, long length) {
        return overlaps(start, length, 0, BIOS_DATA_AREA_END) || overlaps(start, length, EBDA_START, CONVENTIONAL_MEMORY_END);
    }

    /** Whether [start, start + length) overlaps anything reserved below 1 MiB: the BIOS data areas or the legacy hole. */
    static boolean overlapsReservedLowMemory(long start, long length) {
        return overlapsBiosDataAreas(start, length) || overlapsLegacyHole(start, length);
    }

    private static boolean overlaps(long start, long length, long areaStart, long areaEnd) {
        return length > 0 && start < areaEnd && start + length > areaStart;
    }
}
