package org.hotvisor.kernel.loader;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/** Builds small guest images byte by byte, so the loader tests need no external tools. */
final class TestImages {
    static final int EM_386 = 3;
    static final int EM_X86_64 = 62;
    static final int EM_ARM = 40;
    static final int ET_EXEC = 2;
    static final int ET_DYN = 3;
    static final int PT_LOAD = 1;
    static final int PT_NOTE = 4;
    static final int MULTIBOOT_MAGIC = 0x1BADB002;

    private TestImages() {
    }

    /** One program header and the bytes it loads. */
    record ElfSegment(int type, long virtualAddress, long physicalAddress, byte[] contents, long memorySize) {
        static ElfSegment load(long address, byte[] contents, long memorySize) {
            return new ElfSegment(PT_LOAD, address, address, contents, memorySize);
        }
    }

    /** A little-endian ELF32 executable: header, program headers, then each segment's bytes at 0x100-aligned offsets. */
    static byte[] elf32(int machine, int type, long entry, ElfSegment... segments) {
        int programHeaders = 52;
        int dataStart = align(programHeaders + 32 * segments.length, 0x100);
        int[] offsets = new int[segments.length];
        int end = dataStart;
        for (int i = 0; i < segments.length; i++) {
            offsets[i] = end;
            end = align(end + segments[i].contents().length, 0x100);
        }
        ByteBuffer image = ByteBuffer.allocate(end).order(ByteOrder.LITTLE_ENDIAN);
        image.put(new byte[] {0x7f, 'E', 'L', 'F', 1 /* ELFCLASS32 */, 1 /* LSB */, 1 /* EV_CURRENT */});
        image.putShort(16, (short) type).putShort(18, (short) machine).putInt(20, 1).putInt(24, (int) entry)
                .putInt(28, programHeaders).putInt(32, 0).putInt(36, 0).putShort(40, (short) 52)
                .putShort(42, (short) 32).putShort(44, (short) segments.length);
        for (int i = 0; i < segments.length; i++) {
            ElfSegment segment = segments[i];
            int at = programHeaders + 32 * i;
            image.putInt(at, segment.type()).putInt(at + 4, offsets[i]).putInt(at + 8, (int) segment.virtualAddress())
                    .putInt(at + 12, (int) segment.physicalAddress()).putInt(at + 16, segment.contents().length)
                    .putInt(at + 20, (int) segment.memorySize()).putInt(at + 24, 7).putInt(at + 28, 0x1000);
            image.put(offsets[i], segment.contents());
        }
        return image.array();
    }

    /** A 12-byte Multiboot header (magic, flags, checksum), or 32 bytes with the address fields. */
    static byte[] multibootHeader(int flags, int... addressFields) {
        ByteBuffer header = ByteBuffer.allocate(12 + 4 * addressFields.length).order(ByteOrder.LITTLE_ENDIAN);
        header.putInt(MULTIBOOT_MAGIC).putInt(flags).putInt(-(MULTIBOOT_MAGIC + flags));
        for (int field : addressFields) {
            header.putInt(field);
        }
        return header.array();
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    static byte[] filled(int length, int value) {
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, (byte) value);
        return bytes;
    }

    static byte[] bootSector(int firstByte) {
        byte[] sector = new byte[512];
        sector[0] = (byte) firstByte;
        sector[510] = 0x55;
        sector[511] = (byte) 0xAA;
        return sector;
    }

    static int align(int value, int alignment) {
        return (value + alignment - 1) / alignment * alignment;
    }

    static long u32(byte[] ram, long address) {
        return ByteBuffer.wrap(ram).order(ByteOrder.LITTLE_ENDIAN).getInt(Math.toIntExact(address)) & 0xffff_ffffL;
    }

    static long u64(byte[] ram, long address) {
        return ByteBuffer.wrap(ram).order(ByteOrder.LITTLE_ENDIAN).getLong(Math.toIntExact(address));
    }

    static String cString(byte[] ram, long address) {
        int start = Math.toIntExact(address);
        int end = start;
        while (ram[end] != 0) {
            end++;
        }
        return new String(ram, start, end - start, java.nio.charset.StandardCharsets.UTF_8);
    }
}
