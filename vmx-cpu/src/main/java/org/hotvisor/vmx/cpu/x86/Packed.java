package org.hotvisor.vmx.cpu.x86;

/**
 * Packed-integer arithmetic on one 64-bit chunk (an MMX register, or either half of an XMM
 * register): the element-wise MMX/SSE2 operations (SDM 1 9.4, 11.4.2; SDM 2 PADDB ... PXOR),
 * shifts, packs and interleaves. Pure functions, no allocation.
 */
final class Packed {
    private Packed() {
    }

    // ModRM.reg of the shift-by-immediate groups 0F 71/72/73 (SDM 2 Table A-6)
    static final int SHIFT_RIGHT_LOGICAL = 2, SHIFT_RIGHT_ARITHMETIC = 4, SHIFT_LEFT = 6;

    static long elementMask(int width) {
        return width == 64 ? -1L : (1L << width) - 1;
    }

    /** The element-wise opcodes {@link #elementwise} knows. */
    static boolean isElementwise(int opcode) {
        return switch (opcode) {
            case 0x64, 0x65, 0x66, 0x74, 0x75, 0x76, 0xD4, 0xD5, 0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF,
                    0xE0, 0xE3, 0xE4, 0xE5, 0xE8, 0xE9, 0xEA, 0xEB, 0xEC, 0xED, 0xEE, 0xEF, 0xF8, 0xF9, 0xFA, 0xFB,
                    0xFC, 0xFD, 0xFE -> true;
            default -> false;
        };
    }

    private static int widthOf(int opcode) {
        return switch (opcode) {
            case 0x64, 0x74, 0xD8, 0xDA, 0xDC, 0xDE, 0xE0, 0xE8, 0xEC, 0xF8, 0xFC -> 8;
            case 0x66, 0x76, 0xFA, 0xFE -> 32;
            case 0xD4, 0xFB -> 64;
            default -> 16;
        };
    }

    static long elementwise(int opcode, long a, long b) {
        switch (opcode) {
            case 0xDB:
                return a & b;
            case 0xDF:
                return ~a & b;
            case 0xEB:
                return a | b;
            case 0xEF:
                return a ^ b;
            case 0xD4:
                return a + b;
            case 0xFB:
                return a - b;
            default:
                break;
        }
        int width = widthOf(opcode);
        long m = elementMask(width);
        int signShift = 64 - width;
        long r = 0;
        for (int at = 0; at < 64; at += width) {
            long x = (a >>> at) & m, y = (b >>> at) & m;
            long sx = (x << signShift) >> signShift, sy = (y << signShift) >> signShift;
            long v = switch (opcode) {
                case 0x64, 0x65, 0x66 -> sx > sy ? m : 0;                      // PCMPGT
                case 0x74, 0x75, 0x76 -> x == y ? m : 0;                       // PCMPEQ
                case 0xD5 -> sx * sy;                                           // PMULLW
                case 0xE5 -> (sx * sy) >> 16;                                   // PMULHW
                case 0xE4 -> (x * y) >>> 16;                                    // PMULHUW
                case 0xD8, 0xD9 -> Math.max(x - y, 0);                         // PSUBUS
                case 0xDC, 0xDD -> Math.min(x + y, m);                         // PADDUS
                case 0xE8, 0xE9 -> saturateSigned(sx - sy, width);             // PSUBS
                case 0xEC, 0xED -> saturateSigned(sx + sy, width);             // PADDS
                case 0xDA -> Math.min(x, y);                                    // PMINUB
                case 0xDE -> Math.max(x, y);                                    // PMAXUB
                case 0xEA -> Math.min(sx, sy);                                  // PMINSW
                case 0xEE -> Math.max(sx, sy);                                  // PMAXSW
                case 0xE0, 0xE3 -> (x + y + 1) >>> 1;                           // PAVGB/W
                case 0xF8, 0xF9, 0xFA -> x - y;                                 // PSUB
                default -> x + y;                                               // PADD
            };
            r |= (v & m) << at;
        }
        return r;
    }

    static long saturateSigned(long v, int width) {
        long max = (1L << (width - 1)) - 1, min = -(1L << (width - 1));
        return Math.max(min, Math.min(max, v));
    }

    static boolean validShift(int kind, int width) {
        return kind == SHIFT_RIGHT_LOGICAL || kind == SHIFT_LEFT || (kind == SHIFT_RIGHT_ARITHMETIC && width < 64);
    }

    /** PSRL/PSRA/PSLL on each element; counts above the width clear (or sign-fill) the elements. */
    static long shift(int kind, int width, long v, int count) {
        if (count < 0 || count > 64) {
            count = 64;
        }
        long m = elementMask(width);
        int signShift = 64 - width;
        long r = 0;
        for (int at = 0; at < 64; at += width) {
            long x = (v >>> at) & m;
            long y;
            if (kind == SHIFT_RIGHT_ARITHMETIC) {
                long sx = (x << signShift) >> signShift;
                y = sx >> Math.min(count, width - 1);
            } else if (count >= width) {
                y = 0;
            } else {
                y = kind == SHIFT_LEFT ? x << count : x >>> count;
            }
            r |= (y & m) << at;
        }
        return r;
    }

    /** Alternates the elements of a and b from bit {@code start} (0 or 32) of each: PUNPCKL/PUNPCKH. */
    static long interleave(long a, long b, int width, int start) {
        if (width == 64) {
            return start == 0 ? a : b;
        }
        long m = elementMask(width);
        long r = 0;
        int pos = 0;
        for (int k = 0; k < 32; k += width) {
            r |= ((a >>> (start + k)) & m) << pos;
            pos += width;
            r |= ((b >>> (start + k)) & m) << pos;
            pos += width;
        }
        return r;
    }

    /** PACKSSWB (63), PACKUSWB (67), PACKSSDW (6B): the elements of x then y, saturated, in 64 bits. */
    static long pack(int opcode, long x, long y) {
        int from = opcode == 0x6B ? 32 : 16;
        int to = from / 2;
        long r = 0;
        int pos = 0;
        for (int half = 0; half < 2; half++) {
            long src = half == 0 ? x : y;
            for (int at = 0; at < 64; at += from) {
                long e = (src << (64 - from - at)) >> (64 - from);
                long v = opcode == 0x67 ? Math.max(0, Math.min(0xFF, e)) : saturateSigned(e, to);
                r |= (v & elementMask(to)) << pos;
                pos += to;
            }
        }
        return r;
    }

    /** PMOVMSKB of 8 bytes: bit k = bit 7 of byte k. */
    static long byteSigns(long v) {
        long r = 0;
        for (int k = 0; k < 8; k++) {
            r |= ((v >>> (8 * k + 7)) & 1) << k;
        }
        return r;
    }

    /** PSADBW on 8 bytes: the sum of absolute differences in the low 16 bits. */
    static long sumAbsoluteDifferences(long a, long b) {
        long sum = 0;
        for (int k = 0; k < 64; k += 8) {
            sum += Math.abs(((a >>> k) & 0xFF) - ((b >>> k) & 0xFF));
        }
        return sum;
    }

    /** PMADDWD on 4 words: two dwords, each the sum of two signed word products (wrapping). */
    static long multiplyAdd(long a, long b) {
        long r = 0;
        for (int k = 0; k < 2; k++) {
            int at = 32 * k;
            long p0 = (long) (short) (a >>> at) * (short) (b >>> at);
            long p1 = (long) (short) (a >>> (at + 16)) * (short) (b >>> (at + 16));
            r |= ((p0 + p1) & 0xFFFF_FFFFL) << at;
        }
        return r;
    }

    /** PSHUFW/PSHUFLW/PSHUFHW on 4 words with imm8. */
    static long shuffleWords(long v, int imm) {
        long r = 0;
        for (int k = 0; k < 4; k++) {
            int sel = (imm >>> (2 * k)) & 3;
            r |= ((v >>> (16 * sel)) & 0xFFFF) << (16 * k);
        }
        return r;
    }
}
