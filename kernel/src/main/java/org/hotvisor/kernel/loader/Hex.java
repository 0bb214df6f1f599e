package org.hotvisor.kernel.loader;

/** Formatting and little-endian reading helpers for loader messages and image parsing. */
final class Hex {
    private static final long KIB = 1024;
    private static final long MIB = KIB * KIB;

    private Hex() {
    }

    static String of(long value) {
        return "0x" + Long.toHexString(value);
    }

    /** "0x100000-0x10ffff": an inclusive range, as the SDM and most tools print them. */
    static String range(long start, long length) {
        return of(start) + "-" + of(start + Math.max(length, 1) - 1);
    }

    static String size(long bytes) {
        if (bytes % MIB == 0) {
            return bytes / MIB + " MiB";
        }
        if (bytes % KIB == 0) {
            return bytes / KIB + " KiB";
        }
        return bytes + " bytes";
    }

    static int u16(byte[] data, int offset) {
        return (data[offset] & 0xff) | (data[offset + 1] & 0xff) << 8;
    }

    static long u32(byte[] data, int offset) {
        return (u16(data, offset) | (long) u16(data, offset + 2) << 16) & 0xffff_ffffL;
    }
}
