package org.hotvisor.exit.io;

/**
 * The exit qualification of an I/O-instruction exit, decoded without allocating (SDM 3C 28.2.1,
 * Table 28-5 "Exit Qualification for I/O Instructions"):
 * bits 2:0 size of access - 1 (0 = 1 byte, 1 = 2 bytes, 3 = 4 bytes); bit 3 direction (0 = OUT,
 * 1 = IN); bit 4 string instruction (INS/OUTS); bit 5 REP prefixed; bit 6 operand encoding
 * (0 = DX, 1 = immediate); bits 31:16 port number.
 */
final class IoQualification {
    private IoQualification() {
    }

    static final long SIZE_MASK = 0x7;
    static final long DIRECTION_IN = 1L << 3;
    static final long STRING = 1L << 4;
    static final long REP = 1L << 5;
    static final long IMMEDIATE_OPERAND = 1L << 6;
    static final int PORT_SHIFT = 16;
    static final long PORT_MASK = 0xFFFF;

    /** The access size in bytes: 1, 2 or 4 for a valid qualification (3 and 5-8 are undefined encodings). */
    static int size(long qualification) {
        return (int) (qualification & SIZE_MASK) + 1;
    }

    static boolean validSize(int size) {
        return size == 1 || size == 2 || size == 4;
    }

    static boolean isIn(long qualification) {
        return (qualification & DIRECTION_IN) != 0;
    }

    static boolean isString(long qualification) {
        return (qualification & STRING) != 0;
    }

    static boolean isRep(long qualification) {
        return (qualification & REP) != 0;
    }

    static boolean isImmediate(long qualification) {
        return (qualification & IMMEDIATE_OPERAND) != 0;
    }

    static int port(long qualification) {
        return (int) ((qualification >>> PORT_SHIFT) & PORT_MASK);
    }

    /** The all-ones value of an access size: what a read of an unclaimed port returns. */
    static int sizeMask(int size) {
        return size == 4 ? -1 : (1 << (8 * size)) - 1;
    }

    /** Builds a qualification, for tests and tools: the inverse of the decoders. */
    static long encode(int port, int size, boolean in, boolean string, boolean rep, boolean immediate) {
        return (long) (port & PORT_MASK) << PORT_SHIFT | (size - 1) & SIZE_MASK | (in ? DIRECTION_IN : 0)
                | (string ? STRING : 0) | (rep ? REP : 0) | (immediate ? IMMEDIATE_OPERAND : 0);
    }

    /** A human-readable form, e.g. "REP OUTSB port 0x3f8" or "IN EAX, DX port 0x60" (allocates: logs and commands only). */
    static String describe(long qualification) {
        int size = size(qualification);
        String suffix = switch (size) {
            case 1 -> "B";
            case 2 -> "W";
            case 4 -> "D";
            default -> "?" + size;
        };
        String accumulator = switch (size) {
            case 1 -> "AL";
            case 2 -> "AX";
            case 4 -> "EAX";
            default -> "?" + size;
        };
        String portText = String.format("port 0x%x", port(qualification));
        if (isString(qualification)) {
            return (isRep(qualification) ? "REP " : "") + (isIn(qualification) ? "INS" : "OUTS") + suffix + " " + portText;
        }
        String operand = isImmediate(qualification) ? "imm8" : "DX";
        return (isIn(qualification) ? "IN " + accumulator + ", " + operand : "OUT " + operand + ", " + accumulator) + " " + portText;
    }
}
