package org.hotvisor.exit.io;

/**
 * The VM-exit instruction-information field for INS and OUTS (SDM 3C 28.2.5, "Format of the
 * VM-Exit Instruction-Information Field as Used for INS and OUTS"): bits 9:7 address size
 * (0 = 16-bit, 1 = 32-bit, 2 = 64-bit), bits 17:15 segment register (0 ES, 1 CS, 2 SS, 3 DS,
 * 4 FS, 5 GS; undefined for INS, whose memory operand is always ES:(E)DI).
 */
final class StringIoInfo {
    private StringIoInfo() {
    }

    static final int ADDRESS_SIZE_SHIFT = 7;
    static final int ADDRESS_SIZE_MASK = 0x7;
    static final int SEGMENT_SHIFT = 15;
    static final int SEGMENT_MASK = 0x7;

    static final int ADDRESS_16 = 0;
    static final int ADDRESS_32 = 1;
    static final int ADDRESS_64 = 2;

    static final int SEG_ES = 0;
    private static final String[] SEGMENT_NAMES = {"ES", "CS", "SS", "DS", "FS", "GS", "?6", "?7"};

    static int addressSizeCode(int info) {
        return (info >>> ADDRESS_SIZE_SHIFT) & ADDRESS_SIZE_MASK;
    }

    /** The mask of an address size: 0xFFFF, 0xFFFFFFFF or all ones; 0 for an undefined code. */
    static long addressMask(int info) {
        return switch (addressSizeCode(info)) {
            case ADDRESS_16 -> 0xFFFFL;
            case ADDRESS_32 -> 0xFFFF_FFFFL;
            case ADDRESS_64 -> -1L;
            default -> 0L;
        };
    }

    /** The segment of the memory operand: the field for OUTS, always ES for INS. */
    static int segment(int info, boolean in) {
        return in ? SEG_ES : (info >>> SEGMENT_SHIFT) & SEGMENT_MASK;
    }

    static String segmentName(int segment) {
        return SEGMENT_NAMES[segment & SEGMENT_MASK];
    }

    /** Builds an instruction-information value, for tests and tools. */
    static int encode(int addressSizeCode, int segment) {
        return (addressSizeCode & ADDRESS_SIZE_MASK) << ADDRESS_SIZE_SHIFT | (segment & SEGMENT_MASK) << SEGMENT_SHIFT;
    }
}
