package org.hotvisor.kernel.loader;

/** The PC physical memory layout the loader places images in and reports to the guest. */
final class MemoryLayout {
    /** Where the BIOS loads a boot sector and jumps to, at 0000:7C00. */
    static final long BOOT_SECTOR_ADDRESS = 0x7C00;
    /** Initial stack pointer of every format: just below the boot sector, the classic choice. */
    static final long INITIAL_STACK_POINTER = 0x7C00;
    /** Start of the extended BIOS data area, reserved at the top of conventional memory. */
    static final long EBDA_START = 0x9FC00;
    /** End of conventional memory (640 KiB); the legacy VGA/ROM hole starts here. */
    static final long CONVENTIONAL_MEMORY_END = 0xA0000;
    /** The system BIOS ROM, reported reserved. */
    static final long BIOS_ROM_START = 0xF0000;
    /** 1 MiB: extended memory starts here. */
    static final long HIGH_MEMORY_START = 0x100000;
    /** Where the Multiboot information goes when nothing is loaded there (below the stack, above the BDA). */
    static final long BOOT_INFO_AREA_START = 0x1000;
    /** End of that area, leaving 3 KiB of stack below {@link #INITIAL_STACK_POINTER}. */
    static final long BOOT_INFO_AREA_END = 0x7000;
    static final long PAGE_SIZE = 0x1000;
    /** Multiboot addresses are 32-bit. */
    static final long FOUR_GIB = 1L << 32;

    private MemoryLayout() {
    }

    static long pageAlign(long address) {
        return (address + PAGE_SIZE - 1) & -PAGE_SIZE;
    }

    /** Whether [start, start + length) overlaps the legacy hole 0xA0000-0xFFFFF (VGA memory and ROMs). */
    static boolean overlapsLegacyHole(long start, long length) {
        return length > 0 && start < HIGH_MEMORY_START && start + length > CONVENTIONAL_MEMORY_END;
    }
}
