package org.hotvisor.kernel.loader;

import java.util.ArrayList;
import java.util.List;

/**
 * The loadable part of an ELF32 x86 executable: its PT_LOAD segments (placed at p_paddr, as
 * Multiboot loaders do) and its entry point, translated to a physical address when it lies in a
 * segment's virtual range (higher-half kernels link at 0xC01xxxxx and load at 0x1xxxxx).
 * Field offsets: System V ABI "ELF header" and "Program header", i386 supplement.
 */
final class Elf32Image {
    static final byte[] MAGIC = {0x7f, 'E', 'L', 'F'};

    // e_ident
    private static final int EI_CLASS = 4;
    private static final int EI_DATA = 5;
    private static final int ELFCLASS32 = 1;
    private static final int ELFCLASS64 = 2;
    private static final int ELFDATA2LSB = 1;
    // ELF32 header fields
    private static final int E_TYPE = 16;
    private static final int E_MACHINE = 18;
    private static final int E_ENTRY = 24;
    private static final int E_PHOFF = 28;
    private static final int E_PHENTSIZE = 42;
    private static final int E_PHNUM = 44;
    private static final int ELF32_HEADER_SIZE = 52;
    private static final int ET_REL = 1;
    private static final int ET_EXEC = 2;
    private static final int ET_DYN = 3;
    private static final int EM_386 = 3;
    private static final int EM_X86_64 = 62;
    // ELF32 program header fields
    private static final int P_TYPE = 0;
    private static final int P_OFFSET = 4;
    private static final int P_VADDR = 8;
    private static final int P_PADDR = 12;
    private static final int P_FILESZ = 16;
    private static final int P_MEMSZ = 20;
    private static final int ELF32_PROGRAM_HEADER_SIZE = 32;
    private static final int PT_LOAD = 1;

    final List<Segment> segments;
    final long entry;

    private Elf32Image(List<Segment> segments, long entry) {
        this.segments = segments;
        this.entry = entry;
    }

    static boolean hasMagic(byte[] data) {
        if (data.length < MAGIC.length) {
            return false;
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (data[i] != MAGIC[i]) {
                return false;
            }
        }
        return true;
    }

    static Elf32Image parse(byte[] data, String name) throws ImageException {
        if (!hasMagic(data)) {
            throw new ImageException(name + " is not an ELF file (no 0x7f 'ELF' magic)");
        }
        if (data.length < ELF32_HEADER_SIZE) {
            throw new ImageException("truncated ELF: " + name + " is " + data.length + " bytes, shorter than an ELF header");
        }
        int elfClass = data[EI_CLASS];
        int machine = Hex.u16(data, E_MACHINE);
        if (elfClass == ELFCLASS64) {
            throw new ImageException(machine == EM_X86_64
                    ? "64-bit ELF (x86-64): use a Multiboot kernel built as 32-bit x86 (ELF32, EM_386); "
                            + name + " would need a 64-bit boot protocol"
                    : name + " is a 64-bit ELF for " + machineName(machine) + ", not x86");
        }
        if (elfClass != ELFCLASS32) {
            throw new ImageException("garbled ELF: " + name + " has an unknown class " + elfClass + " (EI_CLASS)");
        }
        if (data[EI_DATA] != ELFDATA2LSB) {
            throw new ImageException(name + " is a big-endian ELF, not x86");
        }
        if (machine != EM_386) {
            throw new ImageException(name + " is an ELF for " + machineName(machine) + ", not x86 (EM_386)");
        }
        int type = Hex.u16(data, E_TYPE);
        if (type != ET_EXEC) {
            throw new ImageException(switch (type) {
                case ET_REL -> name + " is an ELF object file (ET_REL): link it into an executable first";
                case ET_DYN -> name + " is a position-independent ELF (ET_DYN): link it as an executable (ET_EXEC) at a fixed address";
                default -> name + " is not an ELF executable (e_type " + type + ")";
            });
        }
        long programHeaders = Hex.u32(data, E_PHOFF);
        int headerSize = Hex.u16(data, E_PHENTSIZE);
        int headerCount = Hex.u16(data, E_PHNUM);
        if (headerCount == 0) {
            throw new ImageException(name + " has no program headers: nothing to load");
        }
        if (headerSize < ELF32_PROGRAM_HEADER_SIZE) {
            throw new ImageException("garbled ELF: " + name + " has program headers of " + headerSize + " bytes (e_phentsize), expected 32");
        }
        if (programHeaders + (long) headerSize * headerCount > data.length) {
            throw new ImageException("truncated ELF: " + name + "'s program headers run past the end of the file");
        }
        List<Segment> segments = new ArrayList<>();
        long virtualEntry = Hex.u32(data, E_ENTRY);
        long physicalEntry = virtualEntry;
        for (int i = 0; i < headerCount; i++) {
            int at = Math.toIntExact(programHeaders + (long) i * headerSize);
            if (Hex.u32(data, at + P_TYPE) != PT_LOAD) {
                continue;
            }
            long offset = Hex.u32(data, at + P_OFFSET);
            long virtualAddress = Hex.u32(data, at + P_VADDR);
            long physicalAddress = Hex.u32(data, at + P_PADDR);
            long fileSize = Hex.u32(data, at + P_FILESZ);
            long memorySize = Hex.u32(data, at + P_MEMSZ);
            if (fileSize > memorySize) {
                throw new ImageException("garbled ELF: segment " + i + " of " + name + " has p_filesz > p_memsz");
            }
            if (offset + fileSize > data.length) {
                throw new ImageException("truncated ELF: segment " + i + " of " + name + " runs past the end of the file ("
                        + Hex.of(offset + fileSize) + " > " + Hex.of(data.length) + ")");
            }
            if (memorySize == 0) {
                continue;
            }
            segments.add(new Segment("segment " + i, offset, physicalAddress, fileSize, memorySize));
            if (virtualEntry >= virtualAddress && virtualEntry - virtualAddress < memorySize) {
                physicalEntry = virtualEntry - virtualAddress + physicalAddress;
            }
        }
        if (segments.isEmpty()) {
            throw new ImageException(name + " has no loadable segment (PT_LOAD)");
        }
        return new Elf32Image(List.copyOf(segments), physicalEntry);
    }

    private static String machineName(int machine) {
        return switch (machine) {
            case EM_386 -> "x86";
            case EM_X86_64 -> "x86-64";
            case 20 -> "PowerPC";
            case 40 -> "ARM";
            case 183 -> "AArch64";
            case 243 -> "RISC-V";
            default -> "machine " + machine + " (e_machine)";
        };
    }
}
