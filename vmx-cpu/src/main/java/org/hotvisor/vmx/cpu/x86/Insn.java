package org.hotvisor.vmx.cpu.x86;

/**
 * One decoded x86 instruction: a compact immutable record in the style of Bochs' {@code instr.h}.
 * Decoded once per guest-physical code address and executed many times; a later compiler from
 * blocks to JVM bytecode can translate these records directly.
 *
 * <ul>
 *   <li>{@link #op}: the operation id ({@link Op}); the interpreter switches on it. The id already
 *       fixes the operand form (register/memory/immediate), e.g. {@link Op#ALU_RI}.</li>
 *   <li>{@link #sub}: the sub-operation: ALU kind ({@link Alu}), condition code (0-15), shift kind,
 *       segment register number for segment-register ops, ModRM.reg for group opcodes.</li>
 *   <li>{@link #len}: length in bytes (1-15); {@link #size}: operand size in bytes (1, 2, 4, 8 for
 *       CMPXCHG8B), with {@link #mask} = all ones of that size and {@link #signShift} = 64 - bits
 *       (sign extension: {@code (v << signShift) >> signShift}).</li>
 *   <li>{@link #reg}/{@link #regShift}: the first register operand (ModRM.reg, or the register in
 *       the opcode). For register-register forms {@code reg} is the destination and
 *       {@link #rm}/{@link #rmShift} the source. Byte registers AH..BH are pre-resolved to index 0-3
 *       with shift 8.</li>
 *   <li>Memory operand: {@link #seg} (0-5, ES..GS, after overrides), {@link #base} and
 *       {@link #index} (register index or -1), {@link #scale} (shift count 0-3), {@link #disp}
 *       (sign-extended), {@link #addrMask} (0xFFFF or 0xFFFFFFFF: the address size).</li>
 *   <li>{@link #imm} (sign- or zero-extended as the opcode defines) and {@link #imm2} (far-pointer
 *       selector, ENTER nesting level, second immediate).</li>
 *   <li>{@link #flags}: prefix and decode bits ({@code F_*}).</li>
 * </ul>
 */
public record Insn(int op, int sub, int len, int flags, int size, long mask, int signShift, int reg, int regShift,
        int rm, int rmShift, int seg, int base, int index, int scale, int disp, long addrMask, long imm, int imm2,
        int modrm) {
    /** Prefix F0. */
    public static final int F_LOCK = 1;
    /** Prefix F3 (REP/REPE). */
    public static final int F_REP = 1 << 1;
    /** Prefix F2 (REPNE). */
    public static final int F_REPNE = 1 << 2;
    /** A segment-override prefix was present. */
    public static final int F_SEG_OVERRIDE = 1 << 3;
    /** Operand-size prefix 66 present. */
    public static final int F_OPSIZE_PREFIX = 1 << 4;
    /** Address-size prefix 67 present. */
    public static final int F_ADDRSIZE_PREFIX = 1 << 5;
    /** The instruction has a ModRM memory operand (mod != 3). */
    public static final int F_MEM = 1 << 6;
    /** The address size is 32 bits. */
    public static final int F_ADDR32 = 1 << 7;
    /** The operand size (of the non-byte form) is 32 bits. */
    public static final int F_OP32 = 1 << 8;
    /** The block ends after this instruction (control transfer, mode change, interrupt shadow). */
    public static final int F_ENDS_BLOCK = 1 << 9;
    /** The operand is an immediate (I/O qualification bit 6, shift-by-immediate). */
    public static final int F_IMM_FORM = 1 << 10;
    /** Decoded in 64-bit mode (SDM 2 2.2: REX prefixes, 64-bit defaults). */
    public static final int F_MODE64 = 1 << 11;
    /** The address size is 64 bits. */
    public static final int F_ADDR64 = 1 << 12;
    /** A REX prefix was present (byte registers 4-7 are SPL/BPL/SIL/DIL). */
    public static final int F_REX = 1 << 13;
    /** REX.W was set. */
    public static final int F_REX_W = 1 << 14;
    /**
     * A locked read-modify-write (a LOCK prefix on a lockable instruction, or XCHG with memory,
     * which locks by itself: SDM 3A 9.1.2.1): atomic with respect to the other vCPUs' locked
     * operations on the shared guest RAM.
     */
    public static final int F_ATOMIC = 1 << 15;

    /** {@link #base} of a RIP-relative memory operand (SDM 2 2.2.1.6). */
    public static final int BASE_RIP = -2;
    /** {@link #base} of a 64-bit absolute address held in {@link #imm} (MOV moffs64). */
    public static final int BASE_ABS64 = -3;

    /** Builds an instruction, deriving the mask, sign shift and address mask. */
    static Insn of(int op, int sub, int len, int flags, int size, int reg, int regShift, int rm, int rmShift, int seg,
            int base, int index, int scale, int disp, long imm, int imm2, int modrm) {
        long mask = size >= 8 ? -1L : (1L << (size * 8)) - 1;
        size = Math.min(size, 16);
        long addrMask = (flags & F_ADDR64) != 0 ? -1L : (flags & F_ADDR32) != 0 ? 0xFFFF_FFFFL : 0xFFFFL;
        return new Insn(op, sub, len, flags, size, mask, 64 - size * 8, reg, regShift, rm, rmShift, seg, base, index,
                scale, disp, addrMask, imm, imm2, modrm);
    }

    /** The same instruction with other flags. */
    Insn withFlags(int newFlags) {
        return new Insn(op, sub, len, newFlags, size, mask, signShift, reg, regShift, rm, rmShift, seg, base, index, scale,
                disp, addrMask, imm, imm2, modrm);
    }

    /** The same instruction with another operation id and immediate (the specialiser's rewrite). */
    Insn withOp(int newOp, long newImm) {
        return new Insn(newOp, sub, len, flags, size, mask, signShift, reg, regShift, rm, rmShift, seg, base, index, scale,
                disp, addrMask, newImm, imm2, modrm);
    }

    public boolean has(int flag) {
        return (flags & flag) != 0;
    }

    public boolean isMem() {
        return (flags & F_MEM) != 0;
    }

    @Override
    public String toString() {
        return Op.name(op) + "/" + sub + " len=" + len + " size=" + size + " reg=" + reg + " rm=" + rm
                + (isMem() ? " [seg" + seg + " b" + base + " i" + index + "<<" + scale + " +" + disp + "]" : "")
                + " imm=" + imm + " flags=" + Integer.toHexString(flags);
    }
}
