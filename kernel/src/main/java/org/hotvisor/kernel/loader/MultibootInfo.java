package org.hotvisor.kernel.loader;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds the Multiboot information structure (Multiboot 0.6.96, 3.3 "Boot information format")
 * and its sub-structures in one block: the structure, the module list, the memory map, then the
 * NUL-terminated strings.
 */
final class MultibootInfo {
    /** 3.2 "Machine state": EAX holds this magic on entry. */
    static final long BOOTLOADER_MAGIC = 0x2BADB002L;
    static final String BOOT_LOADER_NAME = "Hotvisor";

    // 3.3 info structure offsets
    private static final int FLAGS = 0;
    private static final int MEM_LOWER = 4;
    private static final int MEM_UPPER = 8;
    private static final int CMDLINE = 16;
    private static final int MODS_COUNT = 20;
    private static final int MODS_ADDR = 24;
    private static final int MMAP_LENGTH = 44;
    private static final int MMAP_ADDR = 48;
    private static final int BOOT_LOADER_NAME_ADDR = 64;
    /** The structure up to and including the framebuffer fields is 116 bytes; keep 8-byte alignment after it. */
    static final int INFO_SIZE = 120;

    // 3.3 flags: which fields are valid
    static final long INFO_MEMORY = 1L;
    static final long INFO_CMDLINE = 1L << 2;
    static final long INFO_MODULES = 1L << 3;
    static final long INFO_MEMORY_MAP = 1L << 6;
    static final long INFO_BOOT_LOADER_NAME = 1L << 9;

    // Module entry: mod_start, mod_end, string, reserved
    private static final int MODULE_START = 0;
    private static final int MODULE_END = 4;
    private static final int MODULE_STRING = 8;
    static final int MODULE_ENTRY_SIZE = 16;

    // Memory map entry: size (not counting itself), base_addr, length, type
    private static final int MMAP_SIZE = 0;
    private static final int MMAP_BASE = 4;
    private static final int MMAP_LENGTH_FIELD = 12;
    private static final int MMAP_TYPE = 20;
    static final int MMAP_ENTRY_SIZE = 24;
    private static final int MMAP_ENTRY_SIZE_FIELD = MMAP_ENTRY_SIZE - 4;
    static final int MEMORY_AVAILABLE = 1;
    static final int MEMORY_RESERVED = 2;
    /** 3.3: mem_lower is the KiB of lower memory, at most 640. */
    static final long LOWER_MEMORY_KIB = 640;
    private static final long KIB = 1024;

    record LoadedModule(long start, long end, String string) {
    }

    private record MemoryRange(long base, long length, int type) {
    }

    private final String cmdline;
    private final List<LoadedModule> modules;
    private final List<MemoryRange> memoryMap = new ArrayList<>();
    private final long memUpperKib;

    MultibootInfo(long ramSize, String cmdline, List<LoadedModule> modules) {
        this.cmdline = cmdline;
        this.modules = modules;
        memoryMap.add(new MemoryRange(0, MemoryLayout.EBDA_START, MEMORY_AVAILABLE));
        memoryMap.add(new MemoryRange(MemoryLayout.EBDA_START, MemoryLayout.CONVENTIONAL_MEMORY_END - MemoryLayout.EBDA_START,
                MEMORY_RESERVED));
        memoryMap.add(new MemoryRange(MemoryLayout.BIOS_ROM_START, MemoryLayout.HIGH_MEMORY_START - MemoryLayout.BIOS_ROM_START,
                MEMORY_RESERVED));
        if (ramSize > MemoryLayout.HIGH_MEMORY_START) {
            memoryMap.add(new MemoryRange(MemoryLayout.HIGH_MEMORY_START, ramSize - MemoryLayout.HIGH_MEMORY_START, MEMORY_AVAILABLE));
        }
        memoryMap.add(new MemoryRange(MemoryLayout.MMIO_HOLE_START, MemoryLayout.FOUR_GIB - MemoryLayout.MMIO_HOLE_START,
                MEMORY_RESERVED));
        // 3.3: mem_upper is the KiB from 1 MiB to the first hole, here the end of RAM.
        memUpperKib = Math.max(0, ramSize - MemoryLayout.HIGH_MEMORY_START) / KIB;
    }

    private static byte[] cString(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        return java.util.Arrays.copyOf(bytes, bytes.length + 1);
    }

    private int modulesOffset() {
        return INFO_SIZE;
    }

    private int memoryMapOffset() {
        return modulesOffset() + modules.size() * MODULE_ENTRY_SIZE;
    }

    private int stringsOffset() {
        return memoryMapOffset() + memoryMap.size() * MMAP_ENTRY_SIZE;
    }

    /** Bytes the whole block takes. */
    long size() {
        long size = stringsOffset() + cString(cmdline).length + cString(BOOT_LOADER_NAME).length;
        for (LoadedModule module : modules) {
            size += cString(module.string()).length;
        }
        return size;
    }

    /** Writes the block at {@code base}; the caller checked that {@link #size()} bytes fit there. */
    void writeAt(GuestRam ram, long base) {
        ram.zero(base, size());
        long strings = base + stringsOffset();
        strings = writeString(ram, strings, cmdline, base + CMDLINE);
        strings = writeString(ram, strings, BOOT_LOADER_NAME, base + BOOT_LOADER_NAME_ADDR);
        long moduleEntry = base + modulesOffset();
        for (LoadedModule module : modules) {
            ram.write32(moduleEntry + MODULE_START, module.start());
            ram.write32(moduleEntry + MODULE_END, module.end());
            strings = writeString(ram, strings, module.string(), moduleEntry + MODULE_STRING);
            moduleEntry += MODULE_ENTRY_SIZE;
        }
        long mapEntry = base + memoryMapOffset();
        for (MemoryRange range : memoryMap) {
            ram.write32(mapEntry + MMAP_SIZE, MMAP_ENTRY_SIZE_FIELD);
            ram.write64(mapEntry + MMAP_BASE, range.base());
            ram.write64(mapEntry + MMAP_LENGTH_FIELD, range.length());
            ram.write32(mapEntry + MMAP_TYPE, range.type());
            mapEntry += MMAP_ENTRY_SIZE;
        }
        ram.write32(base + FLAGS, INFO_MEMORY | INFO_CMDLINE | INFO_MODULES | INFO_MEMORY_MAP | INFO_BOOT_LOADER_NAME);
        ram.write32(base + MEM_LOWER, LOWER_MEMORY_KIB);
        ram.write32(base + MEM_UPPER, memUpperKib);
        ram.write32(base + MODS_COUNT, modules.size());
        ram.write32(base + MODS_ADDR, base + modulesOffset());
        ram.write32(base + MMAP_LENGTH, (long) memoryMap.size() * MMAP_ENTRY_SIZE);
        ram.write32(base + MMAP_ADDR, base + memoryMapOffset());
    }

    private static long writeString(GuestRam ram, long at, String text, long pointerField) {
        byte[] bytes = cString(text);
        ram.copyIn(at, bytes, 0, bytes.length);
        ram.write32(pointerField, at);
        return at + bytes.length;
    }
}
