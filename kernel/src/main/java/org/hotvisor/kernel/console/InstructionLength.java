package org.hotvisor.kernel.console;

/**
 * The length of one x86 instruction in 16- or 32-bit code, from its prefixes, opcode, ModRM/SIB,
 * displacement and immediate (SDM 2A chapter 2, opcode maps in Appendix A). The console uses it to
 * show the bytes of the instruction at RIP; it does not disassemble.
 */
public final class InstructionLength {
    private InstructionLength() {}

    /** SDM 2A 2.3.11: an instruction is at most 15 bytes. */
    public static final int MAX_LENGTH = 15;

    // Immediate kinds in the opcode tables.
    private static final int NONE = 0, MODRM = 1, IMM8 = 2, IMM16 = 4, IMMV = 8, MOFFS = 16, FAR = 32, ENTER = 64,
            GROUP3 = 128, INVALID = 256;

    private static final int[] ONE_BYTE = new int[256];
    private static final int[] TWO_BYTE = new int[256];

    static {
        for (int op = 0x00; op < 0x40; op++) {
            // SDM 2D A.3, Table A-2 rows 0-3: ALU ops Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev / AL,Ib / eAX,Iz
            switch (op & 7) {
                case 0, 1, 2, 3 -> ONE_BYTE[op] = MODRM;
                case 4 -> ONE_BYTE[op] = IMM8;
                case 5 -> ONE_BYTE[op] = IMMV;
                default -> ONE_BYTE[op] = NONE; // push/pop segment, prefixes, DAA/DAS/AAA/AAS
            }
        }
        ONE_BYTE[0x62] = MODRM; // BOUND
        ONE_BYTE[0x63] = MODRM; // ARPL
        ONE_BYTE[0x68] = IMMV;
        ONE_BYTE[0x69] = MODRM | IMMV;
        ONE_BYTE[0x6A] = IMM8;
        ONE_BYTE[0x6B] = MODRM | IMM8;
        for (int op = 0x70; op < 0x80; op++) {
            ONE_BYTE[op] = IMM8; // Jcc rel8
        }
        ONE_BYTE[0x80] = MODRM | IMM8;
        ONE_BYTE[0x81] = MODRM | IMMV;
        ONE_BYTE[0x82] = MODRM | IMM8;
        ONE_BYTE[0x83] = MODRM | IMM8;
        for (int op = 0x84; op < 0x90; op++) {
            ONE_BYTE[op] = MODRM;
        }
        ONE_BYTE[0x9A] = FAR; // CALL ptr16:16/32
        ONE_BYTE[0xA0] = MOFFS;
        ONE_BYTE[0xA1] = MOFFS;
        ONE_BYTE[0xA2] = MOFFS;
        ONE_BYTE[0xA3] = MOFFS;
        ONE_BYTE[0xA8] = IMM8;
        ONE_BYTE[0xA9] = IMMV;
        for (int op = 0xB0; op < 0xB8; op++) {
            ONE_BYTE[op] = IMM8;
        }
        for (int op = 0xB8; op < 0xC0; op++) {
            ONE_BYTE[op] = IMMV;
        }
        ONE_BYTE[0xC0] = MODRM | IMM8;
        ONE_BYTE[0xC1] = MODRM | IMM8;
        ONE_BYTE[0xC2] = IMM16; // RET imm16
        ONE_BYTE[0xC4] = MODRM; // LES
        ONE_BYTE[0xC5] = MODRM; // LDS
        ONE_BYTE[0xC6] = MODRM | IMM8;
        ONE_BYTE[0xC7] = MODRM | IMMV;
        ONE_BYTE[0xC8] = ENTER; // imm16, imm8
        ONE_BYTE[0xCA] = IMM16;
        ONE_BYTE[0xCD] = IMM8;
        for (int op = 0xD0; op < 0xD4; op++) {
            ONE_BYTE[op] = MODRM;
        }
        ONE_BYTE[0xD4] = IMM8; // AAM
        ONE_BYTE[0xD5] = IMM8; // AAD
        for (int op = 0xD8; op < 0xE0; op++) {
            ONE_BYTE[op] = MODRM; // x87 escape
        }
        for (int op = 0xE0; op < 0xE8; op++) {
            ONE_BYTE[op] = IMM8; // LOOPcc, JCXZ, IN/OUT imm8
        }
        ONE_BYTE[0xE8] = IMMV; // CALL rel16/32
        ONE_BYTE[0xE9] = IMMV; // JMP rel16/32
        ONE_BYTE[0xEA] = FAR;
        ONE_BYTE[0xEB] = IMM8;
        ONE_BYTE[0xF6] = MODRM | GROUP3;
        ONE_BYTE[0xF7] = MODRM | GROUP3;
        ONE_BYTE[0xFE] = MODRM;
        ONE_BYTE[0xFF] = MODRM;

        // SDM 2D A.3, Table A-3: the 0F map
        for (int op = 0; op < 256; op++) {
            TWO_BYTE[op] = MODRM;
        }
        for (int op : new int[] {0x05, 0x06, 0x07, 0x08, 0x09, 0x0B, 0x0E, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x37,
            0x77, 0xA0, 0xA1, 0xA2, 0xA8, 0xA9, 0xAA}) {
            TWO_BYTE[op] = NONE;
        }
        for (int op = 0x80; op < 0x90; op++) {
            TWO_BYTE[op] = IMMV; // Jcc rel16/32
        }
        for (int op = 0xC8; op < 0xD0; op++) {
            TWO_BYTE[op] = NONE; // BSWAP
        }
        for (int op : new int[] {0x0F, 0x70, 0x71, 0x72, 0x73, 0xA4, 0xAC, 0xBA, 0xC2, 0xC4, 0xC5, 0xC6}) {
            TWO_BYTE[op] = MODRM | IMM8;
        }
        for (int op : new int[] {0x04, 0x0A, 0x0C, 0x24, 0x25, 0x26, 0x27, 0x36, 0x39, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F}) {
            TWO_BYTE[op] = INVALID;
        }
    }

    private static boolean isPrefix(int b) {
        return switch (b) {
            case 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67, 0xF0, 0xF2, 0xF3 -> true;
            default -> false;
        };
    }

    /**
     * The length of the instruction starting at {@code code[offset]}, or -1 if the bytes end
     * first, the opcode is undefined, or it would exceed 15 bytes.
     *
     * @param default32 CS.D: 32-bit default operand and address size
     */
    public static int of(byte[] code, int offset, int available, boolean default32) {
        int end = Math.min(code.length, offset + Math.min(available, MAX_LENGTH));
        int p = offset;
        boolean operand32 = default32, address32 = default32;
        while (p < end && isPrefix(code[p] & 0xFF)) {
            int b = code[p] & 0xFF;
            if (b == 0x66) {
                operand32 = !default32;
            } else if (b == 0x67) {
                address32 = !default32;
            }
            p++;
        }
        if (p >= end) {
            return -1;
        }
        int op = code[p++] & 0xFF;
        int kind;
        if (op == 0x0F) {
            if (p >= end) {
                return -1;
            }
            int op2 = code[p++] & 0xFF;
            if (op2 == 0x38 || op2 == 0x3A) { // three-byte maps: ModRM, and imm8 for 0F 3A
                if (p >= end) {
                    return -1;
                }
                p++;
                kind = op2 == 0x3A ? MODRM | IMM8 : MODRM;
            } else {
                kind = TWO_BYTE[op2];
            }
        } else {
            kind = ONE_BYTE[op];
        }
        if (kind == INVALID) {
            return -1;
        }
        int immediate = 0;
        if ((kind & MODRM) != 0) {
            if (p >= end) {
                return -1;
            }
            int modrm = code[p++] & 0xFF;
            int mod = modrm >>> 6, reg = (modrm >>> 3) & 7, rm = modrm & 7;
            if ((kind & GROUP3) != 0 && reg <= 1) { // TEST Eb,Ib / Ev,Iz
                immediate += op == 0xF6 ? 1 : operand32 ? 4 : 2;
            }
            if (mod != 3) {
                if (address32) { // SDM 2A 2.1.5, Table 2-2
                    if (rm == 4) {
                        if (p >= end) {
                            return -1;
                        }
                        int sib = code[p++] & 0xFF;
                        if (mod == 0 && (sib & 7) == 5) {
                            p += 4;
                        }
                    }
                    if (mod == 0 && rm == 5) {
                        p += 4;
                    } else if (mod == 1) {
                        p += 1;
                    } else if (mod == 2) {
                        p += 4;
                    }
                } else { // Table 2-1
                    if (mod == 0 && rm == 6) {
                        p += 2;
                    } else if (mod == 1) {
                        p += 1;
                    } else if (mod == 2) {
                        p += 2;
                    }
                }
            }
        }
        if ((kind & IMM8) != 0) {
            immediate += 1;
        }
        if ((kind & IMM16) != 0) {
            immediate += 2;
        }
        if ((kind & IMMV) != 0) {
            immediate += operand32 ? 4 : 2;
        }
        if ((kind & MOFFS) != 0) {
            immediate += address32 ? 4 : 2;
        }
        if ((kind & FAR) != 0) {
            immediate += operand32 ? 6 : 4;
        }
        if ((kind & ENTER) != 0) {
            immediate += 3;
        }
        p += immediate;
        int length = p - offset;
        return p <= end && length <= MAX_LENGTH ? length : -1;
    }
}
