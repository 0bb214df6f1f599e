package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.Insn.*;

/**
 * Decodes one x86 instruction (16/32-bit legacy encodings and, in 64-bit mode, REX and the 64-bit
 * defaults; no VEX) into an {@link Insn} (SDM 2 chapter 2 and Appendix A, the opcode maps).
 *
 * <h2>REX (SDM 2 2.2.1), for decode hooks of other opcode maps (x87/SSE)</h2>
 * In 64-bit mode a REX prefix (40-4F) counts only if it comes last, right before the opcode;
 * {@link #rex} then holds it (0 if none or not in 64-bit mode). Read its bits with
 * {@link #rexW()}, {@link #rexR()} (8 or 0: extends ModRM.reg, e.g. XMM8-15), {@link #rexX()}
 * (extends SIB.index) and {@link #rexB()} (extends ModRM.rm, SIB.base or an opcode register).
 * After {@link #modRM()} the fields {@code regField} and {@code rmField} already include REX.R
 * and REX.B (0-15), and {@code base}/{@code index} of a memory operand include REX.B/REX.X; the
 * raw three-bit ModRM.reg is {@code (modrm >>> 3) & 7}.
 *
 * <p>The decoder is not thread-safe (it keeps scratch state) and never throws: bytes it does not
 * know become {@link Op#UD}; an instruction longer than 15 bytes becomes {@link Op#GP0}; running
 * out of the supplied bytes returns {@code null} so the caller can fetch across a page or limit.
 */
final class Decoder {
    static final int MAX_LENGTH = 15;

    /** Segment register numbers (VMX order). */
    static final int ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;
    /** General-purpose register numbers. */
    static final int EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;

    /** Thrown internally when the bytes run out; never escapes {@link #decode}. */
    private static final class Truncated extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Truncated() {
            super(null, null, false, false);
        }
    }

    private static final Truncated TRUNCATED = new Truncated();

    private byte[] buf;
    private int start, pos, end;
    // prefix state
    private int flags;
    private int segOverride;
    private boolean op32, addr32;
    /** 64-bit mode: REX prefixes, 64-bit addresses, 64-bit operand size with REX.W (SDM 2 2.2.1). */
    private boolean mode64, op64, addr64, opPrefix;
    /** The REX prefix byte in effect (0 = none). */
    int rex;
    // ModRM state
    private int modrm, mod, regField, rmField;
    private int base, index, scale, disp, seg;

    /**
     * Decodes the instruction at {@code buf[start]}; bytes at and beyond {@code end} are unavailable.
     *
     * @param default32 CS.D: the default operand and address size is 32 bits
     * @return the instruction, or null if it needs bytes at or beyond {@code end}
     */
    Insn decode(byte[] buf, int start, int end, boolean default32) {
        return decode(buf, start, end, default32, false);
    }

    /**
     * Decodes in legacy/compatibility mode ({@code mode64} false) or in 64-bit mode (then
     * {@code default32} is ignored: the default operand size is 32 bits, the address size 64).
     */
    Insn decode(byte[] buf, int start, int end, boolean default32, boolean mode64) {
        this.mode64 = mode64;
        this.buf = buf;
        this.start = start;
        this.pos = start;
        this.end = Math.min(end, start + MAX_LENGTH + 1);
        try {
            return decodeInsn(mode64 || default32);
        } catch (Truncated t) {
            if (end - start > MAX_LENGTH) {
                return simple(Op.GP0, 0, MAX_LENGTH + 1);
            }
            return null;
        }
    }

    private int next() {
        if (pos >= end) {
            throw TRUNCATED;
        }
        return buf[pos++] & 0xFF;
    }

    private int imm8s() {
        return (byte) next();
    }

    private int imm16() {
        int lo = next();
        return lo | next() << 8;
    }

    private int imm32() {
        int b0 = next(), b1 = next(), b2 = next(), b3 = next();
        return b0 | b1 << 8 | b2 << 16 | b3 << 24;
    }

    /** Iz: 16 or 32 bits by operand size, sign-extended (to 64 bits with REX.W, SDM 2 2.2.1.5). */
    private long immZ() {
        return op32 || op64 ? imm32() : (short) imm16();
    }

    private long imm64() {
        long lo = imm32() & 0xFFFF_FFFFL;
        return lo | (long) imm32() << 32;
    }

    boolean rexW() {
        return (rex & 8) != 0;
    }

    int rexR() {
        return (rex & 4) << 1;
    }

    int rexX() {
        return (rex & 2) << 2;
    }

    int rexB() {
        return (rex & 1) << 3;
    }

    private int length() {
        return pos - start;
    }

    private Insn decodeInsn(boolean default32) {
        flags = 0;
        segOverride = -1;
        rex = 0;
        opPrefix = false;
        boolean addrPrefix = false;
        int b;
        prefixes:
        while (true) {
            b = next();
            if (mode64 && (b & 0xF0) == 0x40) {
                rex = b;   // SDM 2 2.2.1: REX counts only right before the opcode
                if (length() >= MAX_LENGTH) {
                    return simple(Op.GP0, 0, MAX_LENGTH + 1);
                }
                continue;
            }
            int rexBefore = rex;
            rex = 0;       // a legacy prefix after REX cancels it
            switch (b) {
                case 0x26 -> segOverride = ES;
                case 0x2E -> segOverride = CS;
                case 0x36 -> segOverride = SS;
                case 0x3E -> segOverride = DS;
                case 0x64 -> segOverride = FS;
                case 0x65 -> segOverride = GS;
                case 0x66 -> opPrefix = true;
                case 0x67 -> addrPrefix = true;
                case 0xF0 -> flags |= F_LOCK;
                case 0xF2 -> flags = (flags & ~F_REP) | F_REPNE;   // the last of F2/F3 wins
                case 0xF3 -> flags = (flags & ~F_REPNE) | F_REP;
                default -> {
                    rex = rexBefore;   // the opcode: the REX right before it stays
                    break prefixes;
                }
            }
            if (length() >= MAX_LENGTH) {
                // SDM 2 2.3.11: more than 15 bytes is #GP(0)
                return simple(Op.GP0, 0, MAX_LENGTH + 1);
            }
        }
        op32 = default32 ^ opPrefix;
        addr32 = default32 ^ addrPrefix;
        op64 = mode64 && rexW();
        addr64 = mode64 && !addrPrefix;
        if (mode64) {
            op32 = !opPrefix || op64;
            addr32 = addrPrefix;
            flags |= F_MODE64 | (addr64 ? F_ADDR64 : 0) | (rex != 0 ? F_REX : 0) | (op64 ? F_REX_W : 0);
            if (segOverride >= 0 && segOverride < FS) {
                segOverride = -1;   // SDM 3A 3.4.4: ES/CS/SS/DS overrides are ignored in 64-bit mode
            }
        }
        if (segOverride >= 0) {
            flags |= F_SEG_OVERRIDE;
        }
        if (opPrefix) {
            flags |= F_OPSIZE_PREFIX;
        }
        if (addrPrefix) {
            flags |= F_ADDRSIZE_PREFIX;
        }
        if (op32 && !op64) {
            flags |= F_OP32;
        }
        if (addr32) {
            flags |= F_ADDR32;
        }
        Insn in = b == 0x0F ? decode0F(next()) : decode1(b);
        if (in.len() > MAX_LENGTH) {
            return simple(Op.GP0, 0, MAX_LENGTH + 1);
        }
        if ((flags & F_LOCK) != 0 && !lockable(in)) {
            // SDM 2 LOCK: #UD unless a lockable instruction with a memory destination
            return simple(Op.UD, 0, in.len());
        }
        if ((flags & F_LOCK) != 0 || in.op() == Op.XCHG_RM) {
            in = in.withFlags(in.flags() | Insn.F_ATOMIC); // SDM 3A 9.1.2.1: XCHG with memory locks by itself
        }
        return Specializer.specialize(in);
    }

    private static boolean lockable(Insn in) {
        return switch (in.op()) {
            case Op.ALU_MR, Op.ALU_MI -> in.sub() != Alu.CMP && in.sub() != Alu.TEST;
            case Op.INC_M, Op.DEC_M, Op.NOT_M, Op.NEG_M, Op.XCHG_RM, Op.XADD_M, Op.CMPXCHG_M, Op.CMPXCHG8B,
                    Op.CMPXCHG16B -> true;
            case Op.BT_M -> in.sub() != 4;
            default -> false;
        };
    }

    // ---- builders ----

    private int vsize() {
        return op64 ? 8 : op32 ? 4 : 2;
    }

    /** Stack operations (PUSH/POP, PUSHF/POPF, ENTER/LEAVE): 64 bits by default in 64-bit mode, 16 with 66. */
    private int ssize() {
        return mode64 ? (opPrefix && !op64 ? 2 : 8) : vsize();
    }

    /** Near branches: 64 bits in 64-bit mode, whatever the prefixes (Intel, SDM 2 JMP/CALL/Jcc/RET). */
    private int bsize() {
        return mode64 ? 8 : vsize();
    }

    /** Register-only ops that are invalid in 64-bit mode (SDM 2 Appendix A, "i64"). */
    private boolean invalid64() {
        return mode64;
    }

    private Insn simple(int op, int sub, int len) {
        return Insn.of(op, sub, len, flags, vsize(), 0, 0, 0, 0, DS, -1, -1, 0, 0, 0, 0, -1);
    }

    private Insn sized(int op, int sub, int size) {
        return Insn.of(op, sub, length(), flags, size, 0, 0, 0, 0, DS, -1, -1, 0, 0, 0, 0, -1);
    }

    private Insn simple(int op, int sub) {
        return simple(op, sub, length());
    }

    private Insn ends(int op, int sub) {
        flags |= F_ENDS_BLOCK;
        return simple(op, sub);
    }

    private Insn withImm(int op, int sub, int size, int reg, long imm, int imm2) {
        return Insn.of(op, sub, length(), flags, size, regIndex(reg, size), regShift(reg, size), 0, 0, DS, -1, -1,
                0, 0, imm, imm2, -1);
    }

    /** An instruction with a ModRM operand already parsed; register forms become *_R with rm set. */
    private Insn modrmInsn(int opReg, int opMem, int sub, int size, int regOperand, int regOperandSize, long imm,
            int imm2) {
        int rIdx = regIndex(regOperand, regOperandSize), rSh = regShift(regOperand, regOperandSize);
        if (mod == 3) {
            return Insn.of(opReg, sub, length(), flags, size, rIdx, rSh, regIndex(rmField, size),
                    regShift(rmField, size), DS, -1, -1, 0, 0, imm, imm2, modrm);
        }
        return Insn.of(opMem, sub, length(), flags | F_MEM, size, rIdx, rSh, 0, 0, seg, base, index, scale, disp,
                imm, imm2, modrm);
    }

    /** Register-register form where the ModRM.rm register is the destination (swap into reg). */
    private Insn rmDest(int opReg, int opMem, int sub, int size, long imm) {
        if (mod == 3) {
            return Insn.of(opReg, sub, length(), flags, size, regIndex(rmField, size), regShift(rmField, size),
                    regIndex(regField, size), regShift(regField, size), DS, -1, -1, 0, 0, imm, 0, modrm);
        }
        return Insn.of(opMem, sub, length(), flags | F_MEM, size, regIndex(regField, size), regShift(regField, size),
                0, 0, seg, base, index, scale, disp, imm, 0, modrm);
    }

    /** Byte registers 4-7 are AH..BH, or SPL..DIL with any REX prefix (SDM 2 2.2.1.2). */
    private int regIndex(int r, int size) {
        return size == 1 && rex == 0 ? r & 3 : r;
    }

    private int regShift(int r, int size) {
        return size == 1 && rex == 0 && r >= 4 ? 8 : 0;
    }

    private Insn ud() {
        return simple(Op.UD, 0);
    }

    // ---- ModRM / SIB (SDM 2 2.1.5, Tables 2-1..2-3) ----

    /** A ModRM byte whose mod field is ignored (MOV CR/DR): register operands, nothing follows it. */
    private void registerOnlyModRM() {
        modrm = next();
        mod = 3;
        regField = ((modrm >>> 3) & 7) | rexR();
        rmField = (modrm & 7) | rexB();
        base = -1;
        index = -1;
        scale = 0;
        disp = 0;
    }

    private void modRM() {
        modrm = next();
        mod = modrm >>> 6;
        regField = ((modrm >>> 3) & 7) | rexR();
        rmField = (modrm & 7) | rexB();
        base = -1;
        index = -1;
        scale = 0;
        disp = 0;
        int defSeg = DS;
        if (mod != 3) {
            if (addr32 || addr64) {
                int r = modrm & 7;
                if (r == 4) {
                    int sib = next();
                    scale = sib >>> 6;
                    int idx = ((sib >>> 3) & 7) | rexX();
                    index = idx == 4 ? -1 : idx;   // SDM 2 Table 2-5: index 100b without REX.X is none
                    int bs = sib & 7;
                    if (bs == 5 && mod == 0) {
                        base = -1;
                        disp = imm32();
                    } else {
                        base = bs | rexB();
                    }
                } else if (r == 5 && mod == 0) {
                    disp = imm32();
                    if (mode64) {
                        base = Insn.BASE_RIP;   // SDM 2 2.2.1.6: RIP-relative in 64-bit mode
                    }
                } else {
                    base = rmField;
                }
                if (base == ESP || base == EBP) {
                    defSeg = SS;
                }
            } else {
                switch (rmField) {
                    case 0 -> { base = EBX; index = ESI; }
                    case 1 -> { base = EBX; index = EDI; }
                    case 2 -> { base = EBP; index = ESI; defSeg = SS; }
                    case 3 -> { base = EBP; index = EDI; defSeg = SS; }
                    case 4 -> base = ESI;
                    case 5 -> base = EDI;
                    case 6 -> {
                        if (mod == 0) {
                            disp = imm16();
                        } else {
                            base = EBP;
                            defSeg = SS;
                        }
                    }
                    default -> base = EBX;
                }
            }
            if (mod == 1) {
                disp = imm8s();
            } else if (mod == 2) {
                disp = addr32 || addr64 ? imm32() : (short) imm16();
            }
        }
        seg = segOverride >= 0 ? segOverride : defSeg;
    }

    private int dataSeg() {
        return segOverride >= 0 ? segOverride : DS;
    }

    // ---- one-byte opcode map (SDM 2 Table A-2) ----

    private Insn decode1(int b) {
        if (b < 0x40 && (b & 7) < 6) {
            return alu(b >>> 3, b & 7);
        }
        if (mode64) {
            switch (b) {
                // SDM 2 Appendix A "i64": invalid in 64-bit mode
                case 0x06, 0x07, 0x0E, 0x16, 0x17, 0x1E, 0x1F, 0x27, 0x2F, 0x37, 0x3F, 0x60, 0x61, 0x62, 0x82, 0x9A,
                        0xC4, 0xC5, 0xCE, 0xD4, 0xD5, 0xD6, 0xEA:
                    return ud();
                case 0x63: {
                    // MOVSXD Gv, Ed (SDM 2 MOVSX/MOVSXD): sign-extends with REX.W, else a plain 32/16-bit move
                    modRM();
                    int size = vsize();
                    int src = size == 8 ? 4 : size;
                    if (mod == 3) {
                        return Insn.of(Op.MOVSX_RR, src, length(), flags, size, regField, 0, rmField, 0, DS, -1, -1,
                                0, 0, 0, 0, modrm);
                    }
                    return Insn.of(Op.MOVSX_RM, src, length(), flags | F_MEM, size, regField, 0, 0, 0, seg, base,
                            index, scale, disp, 0, 0, modrm);
                }
                case 0x90:
                    if (rexB() != 0) {
                        return Insn.of(Op.XCHG_RR, 0, length(), flags, vsize(), EAX, 0, 8, 0, DS, -1, -1, 0, 0, 0, 0,
                                -1);
                    }
                    break;
                default:
                    break;
            }
        }
        switch (b) {
            case 0x06, 0x0E, 0x16, 0x1E:
                return simple(Op.PUSH_SEG, b >>> 3);
            case 0x07, 0x17, 0x1F:
                flags |= b == 0x17 ? F_ENDS_BLOCK : 0;   // POP SS: interrupt shadow (SDM 3A 6.8.3)
                return simple(Op.POP_SEG, b >>> 3);
            case 0x26, 0x2E, 0x36, 0x3E:
                return ud();                               // unreachable (prefixes)
            case 0x27:
                return simple(Op.DAA, 0);
            case 0x2F:
                return simple(Op.DAS, 0);
            case 0x37:
                return simple(Op.AAA, 0);
            case 0x3F:
                return simple(Op.AAS, 0);
            default:
                break;
        }
        if (b >= 0x40 && b < 0x60) {
            int r = b & 7;
            int op = switch (b >>> 3) {
                case 8 -> Op.INC_R;
                case 9 -> Op.DEC_R;
                case 10 -> Op.PUSH_R;
                default -> Op.POP_R;
            };
            return withImm(op, 0, b >= 0x50 ? ssize() : vsize(), r | rexB(), 0, 0);
        }
        if (b >= 0x70 && b < 0x80) {
            int rel = imm8s();
            return jump(Op.JCC, b & 15, rel);
        }
        if (b >= 0x91 && b < 0x98) {
            return Insn.of(Op.XCHG_RR, 0, length(), flags, vsize(), EAX, 0, (b & 7) | rexB(), 0, DS, -1, -1, 0, 0, 0,
                    0, -1);
        }
        if (b >= 0xB0 && b < 0xB8) {
            return withImm(Op.MOV_RI, 0, 1, (b & 7) | rexB(), next(), 0);
        }
        if (b >= 0xB8 && b < 0xC0) {
            // MOV r64, imm64 with REX.W (SDM 2 MOV)
            long imm = op64 ? imm64() : op32 ? imm32() & 0xFFFF_FFFFL : imm16();
            return withImm(Op.MOV_RI, 0, vsize(), (b & 7) | rexB(), imm, 0);
        }
        if (b >= 0xD8 && b <= 0xDF) {
            modRM();
            return modrmInsn(Op.FPU_ESC, Op.FPU_ESC, b & 7, vsize(), regField, 4, 0, 0);
        }
        switch (b) {
            case 0x60:
                return simple(Op.PUSHA, 0);
            case 0x61:
                return simple(Op.POPA, 0);
            case 0x62: {
                modRM();
                if (mod == 3) {
                    return ud();
                }
                return modrmInsn(Op.UD, Op.BOUND, 0, vsize(), regField, vsize(), 0, 0);
            }
            case 0x63: {
                modRM();
                return rmDest(Op.ARPL, Op.ARPL, 0, 2, 0);
            }
            case 0x68:
                return withImm(Op.PUSH_I, 0, ssize(), 0, mode64 && ssize() == 8 ? imm32() : immZ(), 0);
            case 0x6A:
                return withImm(Op.PUSH_I, 0, ssize(), 0, imm8s(), 0);
            case 0x69: {
                modRM();
                long imm = immZ();
                return modrmInsn(Op.IMUL_RRI, Op.IMUL_RMI, 0, vsize(), regField, vsize(), imm, 0);
            }
            case 0x6B: {
                modRM();
                long imm = imm8s();
                return modrmInsn(Op.IMUL_RRI, Op.IMUL_RMI, 0, vsize(), regField, vsize(), imm, 0);
            }
            case 0x6C, 0x6D:
                return string(Op.INS, b);
            case 0x6E, 0x6F:
                return string(Op.OUTS, b);
            case 0x80, 0x82: {
                modRM();
                long imm = next();
                return rmDestImm(Op.ALU_RI, Op.ALU_MI, regField & 7, 1, imm);
            }
            case 0x81: {
                modRM();
                long imm = immZ();
                return rmDestImm(Op.ALU_RI, Op.ALU_MI, regField & 7, vsize(), imm);
            }
            case 0x83: {
                modRM();
                long imm = imm8s();
                return rmDestImm(Op.ALU_RI, Op.ALU_MI, regField & 7, vsize(), imm);
            }
            case 0x84, 0x85: {
                modRM();
                int size = b == 0x84 ? 1 : vsize();
                return rmDest(Op.ALU_RR, Op.ALU_MR, Alu.TEST, size, 0);
            }
            case 0x86, 0x87: {
                modRM();
                int size = b == 0x86 ? 1 : vsize();
                return modrmInsn(Op.XCHG_RR, Op.XCHG_RM, 0, size, regField, size, 0, 0);
            }
            case 0x88, 0x89: {
                modRM();
                int size = b == 0x88 ? 1 : vsize();
                return rmDest(Op.MOV_RR, Op.MOV_MR, 0, size, 0);
            }
            case 0x8A, 0x8B: {
                modRM();
                int size = b == 0x8A ? 1 : vsize();
                return modrmInsn(Op.MOV_RR, Op.MOV_RM, 0, size, regField, size, 0, 0);
            }
            case 0x8C: {
                modRM();
                if ((regField & 7) > GS) {
                    return ud();
                }
                // register destination takes the operand size (upper bits zeroed), memory is 16 bits
                int size = mod == 3 ? vsize() : 2;
                return modrmInsn(Op.MOV_R_SEG, Op.MOV_M_SEG, regField & 7, size, rmField, size, 0, 0);
            }
            case 0x8D: {
                modRM();
                if (mod == 3) {
                    return ud();
                }
                return modrmInsn(Op.UD, Op.LEA, 0, vsize(), regField, vsize(), 0, 0);
            }
            case 0x8E: {
                modRM();
                if ((regField & 7) > GS || (regField & 7) == CS) {
                    return ud();
                }
                if ((regField & 7) == SS) {
                    flags |= F_ENDS_BLOCK;   // MOV SS: interrupt shadow (SDM 3A 6.8.3)
                }
                return modrmInsn(Op.MOV_SEG_R, Op.MOV_SEG_M, regField & 7, 2, rmField, 2, 0, 0);
            }
            case 0x8F: {
                modRM();
                if ((regField & 7) != 0) {
                    return ud();
                }
                return rmDest(Op.POP_R, Op.POP_M, 0, ssize(), 0);
            }
            case 0x90:
                return (flags & F_REP) != 0 ? simple(Op.PAUSE, 0) : simple(Op.NOP, 0);
            case 0x98:
                return simple(Op.CBW, 0);
            case 0x99:
                return simple(Op.CWD, 0);
            case 0x9A: {
                long off = op32 ? imm32() & 0xFFFF_FFFFL : imm16();
                int sel = imm16();
                flags |= F_ENDS_BLOCK;
                return withImm(Op.CALLF_PTR, 0, vsize(), 0, off, sel);
            }
            case 0x9B:
                return simple(Op.WAIT, 0);
            case 0x9C:
                return sized(Op.PUSHF, 0, ssize());
            case 0x9D:
                flags |= F_ENDS_BLOCK;
                return sized(Op.POPF, 0, ssize());
            case 0x9E:
                return simple(Op.SAHF, 0);
            case 0x9F:
                return simple(Op.LAHF, 0);
            case 0xA0, 0xA1, 0xA2, 0xA3: {
                int size = (b & 1) == 0 ? 1 : vsize();
                int op = b < 0xA2 ? Op.MOV_RM : Op.MOV_MR;
                if (addr64) {
                    long moffs64 = imm64();   // SDM 2 MOV: moffs64 with a 64-bit address size
                    return Insn.of(op, 0, length(), flags | F_MEM, size, EAX, 0, 0, 0, dataSeg(), Insn.BASE_ABS64, -1,
                            0, 0, moffs64, 0, -1);
                }
                int moffs = addr32 ? imm32() : imm16();
                return Insn.of(op, 0, length(), flags | F_MEM, size, EAX, 0, 0, 0, dataSeg(), -1, -1, 0, moffs, 0, 0,
                        -1);
            }
            case 0xA4, 0xA5:
                return string(Op.MOVS, b);
            case 0xA6, 0xA7:
                return string(Op.CMPS, b);
            case 0xA8:
                return withImm(Op.ALU_RI, Alu.TEST, 1, EAX, next(), 0);
            case 0xA9:
                return withImm(Op.ALU_RI, Alu.TEST, vsize(), EAX, immZ(), 0);
            case 0xAA, 0xAB:
                return string(Op.STOS, b);
            case 0xAC, 0xAD:
                return string(Op.LODS, b);
            case 0xAE, 0xAF:
                return string(Op.SCAS, b);
            case 0xC0, 0xC1: {
                modRM();
                int size = b == 0xC0 ? 1 : vsize();
                long count = next();
                flags |= F_IMM_FORM;
                return rmDest(Op.SHIFT_R, Op.SHIFT_M, regField & 7, size, count);
            }
            case 0xD0, 0xD1: {
                modRM();
                int size = b == 0xD0 ? 1 : vsize();
                flags |= F_IMM_FORM;
                return rmDest(Op.SHIFT_R, Op.SHIFT_M, regField & 7, size, 1);
            }
            case 0xD2, 0xD3: {
                modRM();
                int size = b == 0xD2 ? 1 : vsize();
                return rmDest(Op.SHIFT_R, Op.SHIFT_M, regField & 7, size, 0);
            }
            case 0xC2: {
                int n = imm16();
                flags |= F_ENDS_BLOCK;
                return withImm(Op.RET, 0, bsize(), 0, n, 0);
            }
            case 0xC3:
                flags |= F_ENDS_BLOCK;
                return sized(Op.RET, 0, bsize());
            case 0xC4, 0xC5: {
                modRM();
                if (mod == 3) {
                    return ud();   // VEX: not supported
                }
                return modrmInsn(Op.UD, Op.LFP, b == 0xC4 ? ES : DS, vsize(), regField, vsize(), 0, 0);
            }
            case 0xC6, 0xC7: {
                modRM();
                if ((regField & 7) != 0) {
                    return ud();
                }
                int size = b == 0xC6 ? 1 : vsize();
                long imm = size == 1 ? next() : op64 ? imm32() : op32 ? imm32() & 0xFFFF_FFFFL : imm16();
                return rmDestImm(Op.MOV_RI, Op.MOV_MI, 0, size, imm);
            }
            case 0xC8: {
                int frame = imm16();
                int level = next();
                return withImm(Op.ENTER, 0, ssize(), 0, frame, level);
            }
            case 0xC9:
                return sized(Op.LEAVE, 0, ssize());
            case 0xCA: {
                int n = imm16();
                flags |= F_ENDS_BLOCK;
                return withImm(Op.RETF, 0, vsize(), 0, n, 0);
            }
            case 0xCB:
                return ends(Op.RETF, 0);
            case 0xCC:
                return ends(Op.INT3, 0);
            case 0xCD: {
                int v = next();
                flags |= F_ENDS_BLOCK;
                return withImm(Op.INT, 0, vsize(), 0, v, 0);
            }
            case 0xCE:
                return ends(Op.INTO, 0);
            case 0xCF:
                return ends(Op.IRET, 0);
            case 0xD4:
                return withImm(Op.AAM, 0, 1, 0, next(), 0);
            case 0xD5:
                return withImm(Op.AAD, 0, 1, 0, next(), 0);
            case 0xD6:
                return simple(Op.SALC, 0);
            case 0xD7:
                return Insn.of(Op.XLAT, 0, length(), flags, 1, 0, 0, 0, 0, dataSeg(), -1, -1, 0, 0, 0, 0, -1);
            case 0xE0, 0xE1, 0xE2, 0xE3: {
                int rel = imm8s();
                return jump(Op.LOOP, b & 3, rel);
            }
            case 0xE4, 0xE5, 0xE6, 0xE7: {
                int port = next();
                flags |= F_IMM_FORM;
                int size = (b & 1) == 0 ? 1 : ioSize();
                return withImm(b < 0xE6 ? Op.IN : Op.OUT, 0, size, 0, port, 0);
            }
            case 0xE8: {
                int rel = op32 || mode64 ? imm32() : (short) imm16();
                return jump(Op.CALL_REL, 0, rel);
            }
            case 0xE9: {
                int rel = op32 || mode64 ? imm32() : (short) imm16();
                return jump(Op.JMP_REL, 0, rel);
            }
            case 0xEA: {
                long off = op32 ? imm32() & 0xFFFF_FFFFL : imm16();
                int sel = imm16();
                flags |= F_ENDS_BLOCK;
                return withImm(Op.JMPF_PTR, 0, vsize(), 0, off, sel);
            }
            case 0xEB: {
                int rel = imm8s();
                return jump(Op.JMP_REL, 0, rel);
            }
            case 0xEC, 0xED, 0xEE, 0xEF: {
                int size = (b & 1) == 0 ? 1 : ioSize();
                return withImm(b < 0xEE ? Op.IN : Op.OUT, 0, size, 0, 0, 0);
            }
            case 0xF1:
                return ends(Op.INT1, 0);
            case 0xF4:
                return ends(Op.HLT, 0);
            case 0xF5:
                return simple(Op.CMC, 0);
            case 0xF6, 0xF7: {
                modRM();
                int size = b == 0xF6 ? 1 : vsize();
                if ((regField & 7) < 2) {
                    long imm = size == 1 ? next() : immZ();
                    return rmDestImm(Op.ALU_RI, Op.ALU_MI, Alu.TEST, size, imm);
                }
                return switch (regField & 7) {
                    case 2 -> rmDest(Op.NOT_R, Op.NOT_M, 0, size, 0);
                    case 3 -> rmDest(Op.NEG_R, Op.NEG_M, 0, size, 0);
                    default -> rmDest(Op.MUL1_R, Op.MUL1_M, regField & 7, size, 0);
                };
            }
            case 0xF8:
                return simple(Op.CLC, 0);
            case 0xF9:
                return simple(Op.STC, 0);
            case 0xFA:
                return simple(Op.CLI, 0);
            case 0xFB:
                return ends(Op.STI, 0);
            case 0xFC:
                return simple(Op.CLD, 0);
            case 0xFD:
                return simple(Op.STD, 0);
            case 0xFE: {
                modRM();
                return switch (regField & 7) {
                    case 0 -> rmDest(Op.INC_R, Op.INC_M, 0, 1, 0);
                    case 1 -> rmDest(Op.DEC_R, Op.DEC_M, 0, 1, 0);
                    default -> ud();
                };
            }
            case 0xFF: {
                modRM();
                switch (regField & 7) {
                    case 0:
                        return rmDest(Op.INC_R, Op.INC_M, 0, vsize(), 0);
                    case 1:
                        return rmDest(Op.DEC_R, Op.DEC_M, 0, vsize(), 0);
                    case 2:
                        flags |= F_ENDS_BLOCK;
                        return rmDest(Op.CALL_R, Op.CALL_M, 0, bsize(), 0);
                    case 3:
                        if (mod == 3) {
                            return ud();
                        }
                        flags |= F_ENDS_BLOCK;
                        return rmDest(Op.UD, Op.CALLF_M, 0, vsize(), 0);
                    case 4:
                        flags |= F_ENDS_BLOCK;
                        return rmDest(Op.JMP_R, Op.JMP_M, 0, bsize(), 0);
                    case 5:
                        if (mod == 3) {
                            return ud();
                        }
                        flags |= F_ENDS_BLOCK;
                        return rmDest(Op.UD, Op.JMPF_M, 0, vsize(), 0);
                    case 6:
                        return rmDest(Op.PUSH_R, Op.PUSH_M, 0, ssize(), 0);
                    default:
                        return ud();
                }
            }
            default:
                return ud();
        }
    }

    /** Opcodes 00-3D: ALU kind {@code kind}, form {@code form} (0 Eb,Gb 1 Ev,Gv 2 Gb,Eb 3 Gv,Ev 4 AL,Ib 5 eAX,Iz). */
    private Insn alu(int kind, int form) {
        switch (form) {
            case 0, 1: {
                modRM();
                int size = form == 0 ? 1 : vsize();
                return rmDest(Op.ALU_RR, Op.ALU_MR, kind, size, 0);
            }
            case 2, 3: {
                modRM();
                int size = form == 2 ? 1 : vsize();
                return modrmInsn(Op.ALU_RR, Op.ALU_RM, kind, size, regField, size, 0, 0);
            }
            case 4:
                return withImm(Op.ALU_RI, kind, 1, EAX, next(), 0);
            default:
                return withImm(Op.ALU_RI, kind, vsize(), EAX, immZ(), 0);
        }
    }

    private Insn rmDestImm(int opReg, int opMem, int sub, int size, long imm) {
        if (mod == 3) {
            return Insn.of(opReg, sub, length(), flags, size, regIndex(rmField, size), regShift(rmField, size), 0, 0,
                    DS, -1, -1, 0, 0, imm, 0, modrm);
        }
        return Insn.of(opMem, sub, length(), flags | F_MEM, size, 0, 0, 0, 0, seg, base, index, scale, disp, imm, 0,
                modrm);
    }

    private Insn jump(int op, int sub, int rel) {
        flags |= F_ENDS_BLOCK;
        return withImm(op, sub, bsize(), 0, rel, 0);
    }

    /** I/O is at most 32 bits wide: REX.W does not make a 64-bit port access (SDM 2 IN/OUT/INS/OUTS). */
    private int ioSize() {
        return Math.min(vsize(), 4);
    }

    private Insn string(int op, int b) {
        int size = (b & 1) == 0 ? 1 : op == Op.INS || op == Op.OUTS ? ioSize() : vsize();
        // seg = source segment (DS or override); the destination is always ES (SDM 2 MOVS)
        return Insn.of(op, 0, length(), flags, size, 0, 0, 0, 0, dataSeg(), -1, -1, 0, 0, 0, 0, -1);
    }

    // ---- two-byte opcode map 0F xx (SDM 2 Table A-3) ----

    private Insn decode0F(int b) {
        if (simdOpcode(b)) {
            return simd(b);
        }
        if (b >= 0x80 && b < 0x90) {
            int rel = op32 || mode64 ? imm32() : (short) imm16();
            return jump(Op.JCC, b & 15, rel);
        }
        if (b >= 0x40 && b < 0x50) {
            modRM();
            return modrmInsn(Op.CMOV_RR, Op.CMOV_RM, b & 15, vsize(), regField, vsize(), 0, 0);
        }
        if (b >= 0x90 && b < 0xA0) {
            modRM();
            return rmDestImm(Op.SETCC_R, Op.SETCC_M, b & 15, 1, 0);
        }
        if (b >= 0xC8 && b < 0xD0) {
            return withImm(Op.BSWAP, 0, vsize(), (b & 7) | rexB(), 0, 0);
        }
        if (b >= 0x18 && b <= 0x1F) {
            modRM();   // hint NOPs and reserved NOPs (SDM 2 NOP: 0F 1F /0)
            return modrmInsn(Op.NOP, Op.NOP, 0, vsize(), regField, vsize(), 0, 0);
        }
        switch (b) {
            case 0x00:
                return group6();
            case 0x01:
                return group7();
            case 0x02, 0x03: {
                modRM();
                return modrmInsn(b == 2 ? Op.LAR : Op.LSL, b == 2 ? Op.LAR : Op.LSL, 0, vsize(), regField, vsize(), 0, 0);
            }
            case 0x06:
                return simple(Op.CLTS, 0);
            case 0x08:
                return simple(Op.INVD, 0);
            case 0x09:
                return simple(Op.WBINVD, 0);
            case 0x0B:
                return simple(Op.UD2, 0);
            case 0x0D: {
                modRM();
                if (mod == 3) {
                    return ud();
                }
                return modrmInsn(Op.NOP, Op.NOP, 0, vsize(), regField, vsize(), 0, 0);
            }
            case 0x20, 0x21, 0x22, 0x23: {
                registerOnlyModRM();   // SDM 2 MOV CR/DR: the mod bits are ignored: no SIB, no displacement
                int op = switch (b) {
                    case 0x20 -> Op.MOV_FROM_CR;
                    case 0x21 -> Op.MOV_FROM_DR;
                    case 0x22 -> Op.MOV_TO_CR;
                    default -> Op.MOV_TO_DR;
                };
                if (b == 0x22 || b == 0x23) {
                    flags |= F_ENDS_BLOCK;
                }
                // 64-bit operands in 64-bit mode; REX.R selects CR8-CR15 (SDM 2 MOV CR)
                return Insn.of(op, regField, length(), flags, mode64 ? 8 : 4, rmField, 0, rmField, 0, DS, -1, -1, 0,
                        0, 0, 0, modrm);
            }
            case 0x05:
                return mode64 ? ends(Op.SYSCALL, 0) : ud();   // Intel: SYSCALL is #UD outside 64-bit mode
            case 0x07:
                return mode64 ? ends(Op.SYSRET, 0) : ud();
            case 0x30:
                return ends(Op.WRMSR, 0);
            case 0x31:
                return simple(Op.RDTSC, 0);
            case 0x32:
                return simple(Op.RDMSR, 0);
            case 0x33:
                return simple(Op.RDPMC, 0);
            case 0x34:
                return ends(Op.SYSENTER, 0);
            case 0x35:
                return ends(Op.SYSEXIT, 0);
            case 0x37:
                return ends(Op.GETSEC, 0);
            case 0x38:
                return decode0F38(next());
            case 0x78, 0x79: {
                if ((flags & (F_OPSIZE_PREFIX | F_REP | F_REPNE)) != 0) {
                    modRM();
                    return ud();
                }
                modRM();
                // VMREAD Ed,Gd / VMWRITE Gd,Ed: 32-bit operands outside 64-bit mode, 64-bit in it
                int vsz = mode64 ? 8 : 4;
                return modrmInsn(b == 0x78 ? Op.VMREAD : Op.VMWRITE, b == 0x78 ? Op.VMREAD : Op.VMWRITE, 0, vsz,
                        regField, vsz, 0, 0);
            }
            case 0xA0, 0xA8:
                return sized(Op.PUSH_SEG, b == 0xA0 ? FS : GS, ssize());
            case 0xA1, 0xA9:
                return sized(Op.POP_SEG, b == 0xA1 ? FS : GS, ssize());
            case 0xA2:
                return simple(Op.CPUID, 0);
            case 0xA3, 0xAB, 0xB3, 0xBB: {
                modRM();
                int sub = 4 + ((b >>> 3) & 3);
                return rmDest(Op.BT_R, Op.BT_M, sub, vsize(), 0);
            }
            case 0xA4, 0xA5, 0xAC, 0xAD: {
                modRM();
                boolean left = b < 0xA8;
                boolean imm = (b & 1) == 0;
                long count = 0;
                if (imm) {
                    count = next();
                    flags |= F_IMM_FORM;
                }
                return rmDest(left ? Op.SHLD_R : Op.SHRD_R, left ? Op.SHLD_M : Op.SHRD_M, 0, vsize(), count);
            }
            case 0xAA:
                return ends(Op.RSM, 0);
            case 0xAE:
                return group15();
            case 0xAF: {
                modRM();
                return modrmInsn(Op.IMUL_RR, Op.IMUL_RM, 0, vsize(), regField, vsize(), 0, 0);
            }
            case 0xB0, 0xB1: {
                modRM();
                int size = b == 0xB0 ? 1 : vsize();
                return rmDest(Op.CMPXCHG_R, Op.CMPXCHG_M, 0, size, 0);
            }
            case 0xB2, 0xB4, 0xB5: {
                modRM();
                if (mod == 3) {
                    return ud();
                }
                int s = b == 0xB2 ? SS : b == 0xB4 ? FS : GS;
                if (s == SS) {
                    flags |= F_ENDS_BLOCK;
                }
                return modrmInsn(Op.UD, Op.LFP, s, vsize(), regField, vsize(), 0, 0);
            }
            case 0xB6, 0xB7, 0xBE, 0xBF: {
                modRM();
                int srcSize = (b & 1) == 0 ? 1 : 2;
                boolean sx = b >= 0xBE;
                // rm is the narrow source: decode its register with the source size
                if (mod == 3) {
                    return Insn.of(sx ? Op.MOVSX_RR : Op.MOVZX_RR, srcSize, length(), flags, vsize(), regField, 0,
                            regIndex(rmField, srcSize), regShift(rmField, srcSize), DS, -1, -1, 0, 0, 0, 0, modrm);
                }
                return Insn.of(sx ? Op.MOVSX_RM : Op.MOVZX_RM, srcSize, length(), flags | F_MEM, vsize(), regField, 0,
                        0, 0, seg, base, index, scale, disp, 0, 0, modrm);
            }
            case 0xBA: {
                modRM();
                long imm = next();
                if ((regField & 7) < 4) {
                    return ud();
                }
                flags |= F_IMM_FORM;
                return rmDestImm(Op.BT_R, Op.BT_M, regField & 7, vsize(), imm);
            }
            case 0xBC, 0xBD: {
                modRM();
                boolean fwd = b == 0xBC;
                return modrmInsn(fwd ? Op.BSF_R : Op.BSR_R, fwd ? Op.BSF_M : Op.BSR_M, 0, vsize(), regField, vsize(), 0,
                        0);
            }
            case 0xC0, 0xC1: {
                modRM();
                int size = b == 0xC0 ? 1 : vsize();
                return rmDest(Op.XADD_R, Op.XADD_M, 0, size, 0);
            }
            case 0xC7:
                return group9();
            case 0xB9: {
                modRM();
                return ud();   // UD1
            }
            case 0xFF: {
                return ud();   // UD0
            }
            default:
                return ud();
        }
    }

    private Insn decode0F38(int b) {
        switch (b) {
            case 0x80, 0x81, 0x82: {
                modRM();
                if ((flags & F_OPSIZE_PREFIX) == 0 || mod == 3) {
                    return ud();
                }
                int op = b == 0x80 ? Op.INVEPT : b == 0x81 ? Op.INVVPID : Op.INVPCID;
                // the register operand is 32 bits outside 64-bit mode, 64 in it; the memory operand is 128 bits
                int rsz = mode64 ? 8 : 4;
                return modrmInsn(op, op, 0, rsz, regField, rsz, 0, 0);
            }
            default:
                return ud();
        }
    }

    private Insn group6() {
        modRM();
        return switch (regField & 7) {
            case 0 -> modrmInsn(Op.SLDT, Op.SLDT, 0, mod == 3 ? vsize() : 2, regField, 2, 0, 0);
            case 1 -> modrmInsn(Op.STR, Op.STR, 0, mod == 3 ? vsize() : 2, regField, 2, 0, 0);
            case 2 -> modrmInsn(Op.LLDT, Op.LLDT, 0, 2, regField, 2, 0, 0);
            case 3 -> modrmInsn(Op.LTR, Op.LTR, 0, 2, regField, 2, 0, 0);
            case 4 -> modrmInsn(Op.VERR, Op.VERR, 0, 2, regField, 2, 0, 0);
            case 5 -> modrmInsn(Op.VERW, Op.VERW, 0, 2, regField, 2, 0, 0);
            default -> ud();
        };
    }

    private Insn group7() {
        modRM();
        if (mod != 3) {
            return switch (regField & 7) {
                case 0 -> modrmInsn(Op.UD, Op.SGDT, 0, vsize(), 0, 4, 0, 0);
                case 1 -> modrmInsn(Op.UD, Op.SIDT, 0, vsize(), 0, 4, 0, 0);
                case 2 -> modrmInsn(Op.UD, Op.LGDT, 0, vsize(), 0, 4, 0, 0);
                case 3 -> modrmInsn(Op.UD, Op.LIDT, 0, vsize(), 0, 4, 0, 0);
                case 4 -> modrmInsn(Op.SMSW, Op.SMSW, 0, 2, 0, 4, 0, 0);
                case 6 -> {
                    flags |= F_ENDS_BLOCK;
                    yield modrmInsn(Op.LMSW, Op.LMSW, 0, 2, 0, 4, 0, 0);
                }
                case 7 -> {
                    flags |= F_ENDS_BLOCK;
                    yield modrmInsn(Op.UD, Op.INVLPG, 0, 1, 0, 4, 0, 0);
                }
                default -> ud();
            };
        }
        switch (regField & 7) {
            case 4:
                return modrmInsn(Op.SMSW, Op.SMSW, 0, vsize(), 0, 4, 0, 0);
            case 6:
                flags |= F_ENDS_BLOCK;
                return modrmInsn(Op.LMSW, Op.LMSW, 0, 2, 0, 4, 0, 0);
            default:
                break;
        }
        return switch (modrm) {
            case 0xC1 -> ends(Op.VMCALL, 0);
            case 0xC2 -> ends(Op.VMLAUNCH, 0);
            case 0xC3 -> ends(Op.VMRESUME, 0);
            case 0xC4 -> ends(Op.VMXOFF, 0);
            case 0xC8 -> simple(Op.MONITOR, 0);
            case 0xC9 -> ends(Op.MWAIT, 0);
            case 0xD0 -> simple(Op.XGETBV, 0);
            case 0xD1 -> ends(Op.XSETBV, 0);
            case 0xD4 -> ends(Op.VMFUNC, 0);
            case 0xF8 -> mode64 ? ends(Op.SWAPGS, 0) : ud();   // SDM 2 SWAPGS: 64-bit mode only
            case 0xF9 -> simple(Op.RDTSCP, 0);
            default -> ud();
        };
    }

    private Insn group9() {
        modRM();
        if (mod == 3) {
            return switch (regField & 7) {
                case 6 -> rmDest(Op.RDRAND, Op.RDRAND, 0, vsize(), 0);
                case 7 -> (flags & F_REP) != 0 ? ud() : rmDest(Op.RDSEED, Op.RDSEED, 0, vsize(), 0);
                default -> ud();
            };
        }
        switch (regField & 7) {
            case 1:
                if (op64) {
                    return modrmInsn(Op.UD, Op.CMPXCHG16B, 0, 8, 0, 4, 0, 0);   // REX.W 0F C7 /1
                }
                return modrmInsn(Op.UD, Op.CMPXCHG8B, 0, 8, 0, 4, 0, 0);
            case 3, 4, 5:
                // XRSTORS, XSAVEC, XSAVES (SDM 2, "NP 0F C7 /3 /4 /5": no 66/F2/F3 prefix)
                if ((flags & (F_OPSIZE_PREFIX | F_REP | F_REPNE)) != 0) {
                    return ud();
                }
                return modrmInsn(Op.UD, (regField & 7) == 3 ? Op.XRSTORS : (regField & 7) == 4 ? Op.XSAVEC : Op.XSAVES, 0, 4, 0,
                        4, 0, 0);
            case 6: {
                int op;
                if ((flags & F_OPSIZE_PREFIX) != 0) {
                    op = Op.VMCLEAR;
                } else if ((flags & F_REP) != 0) {
                    op = Op.VMXON;
                } else {
                    op = Op.VMPTRLD;
                }
                flags |= F_ENDS_BLOCK;
                return modrmInsn(Op.UD, op, 0, 8, 0, 4, 0, 0);
            }
            case 7:
                if ((flags & (F_OPSIZE_PREFIX | F_REP)) != 0) {
                    return ud();
                }
                return modrmInsn(Op.UD, Op.VMPTRST, 0, 8, 0, 4, 0, 0);
            default:
                return ud();
        }
    }

    private Insn group15() {
        modRM();
        if (mod == 3) {
            int r3 = (modrm >>> 3) & 7;
            if (r3 < 4 && mode64 && (flags & F_REP) != 0 && (flags & (F_OPSIZE_PREFIX | F_REPNE)) == 0) {
                // F3 0F AE /0-/3: RDFSBASE, RDGSBASE, WRFSBASE, WRGSBASE (SDM 2; 64-bit mode only)
                return Insn.of(Op.FSGSBASE, r3, length(), flags, op64 ? 8 : 4, rmField, 0, rmField, 0, DS, -1, -1, 0,
                        0, 0, 0, modrm);
            }
            // LFENCE / MFENCE / SFENCE: ordering is trivially satisfied by one in-order core
            return r3 >= 5 ? simple(Op.NOP, 0) : ud();
        }
        if ((flags & (F_OPSIZE_PREFIX | F_REP | F_REPNE)) != 0) {
            return ud();
        }
        return switch (regField & 7) {
            case 4 -> modrmInsn(Op.UD, Op.XSAVE, 0, 4, 0, 4, 0, 0);   // SDM 2 XSAVE: NP 0F AE /4
            case 5 -> modrmInsn(Op.UD, Op.XRSTOR, 0, 4, 0, 4, 0, 0);
            case 6 -> modrmInsn(Op.UD, Op.XSAVEOPT, 0, 4, 0, 4, 0, 0);
            case 7 -> modrmInsn(Op.UD, Op.CLFLUSH, 0, 1, 0, 4, 0, 0);
            default -> simdOperands(0xAE);   // FXSAVE, FXRSTOR, LDMXCSR, STMXCSR (Sse)
        };
    }

    // ---- MMX/SSE/SSE2/SSE3 (executed by Sse; sub = opcode | mandatory prefix << 8) ----

    /** 0F-map opcodes decoded as {@link Op#SIMD} (SDM 2 Table A-3): 10-17, 28-2F, 50-77, 7C-7F, C2-C6, D0-FE. */
    private static boolean simdOpcode(int b) {
        return (b >= 0x10 && b <= 0x17) || (b >= 0x28 && b <= 0x2F) || (b >= 0x50 && b <= 0x77)
                || (b >= 0x7C && b <= 0x7F) || (b >= 0xC2 && b <= 0xC6) || (b >= 0xD0 && b <= 0xFE);
    }

    private Insn simd(int b) {
        if (b == 0x77) {
            return simple(Op.SIMD, b | simdPrefix() << 8);   // EMMS: no ModRM
        }
        modRM();
        return simdOperands(b);
    }

    /** The mandatory prefix: 0 none, 1 66, 2 F3, 3 F2 (the last of F2/F3 wins, and either wins over 66). */
    private int simdPrefix() {
        return (flags & F_REP) != 0 ? 2 : (flags & F_REPNE) != 0 ? 3 : (flags & F_OPSIZE_PREFIX) != 0 ? 1 : 0;
    }

    /** After the ModRM: the imm8 of 70-73, C2, C4-C6 and the mandatory prefix (F2/F3 win over 66). */
    private Insn simdOperands(int b) {
        long imm = 0;
        if ((b >= 0x70 && b <= 0x73) || b == 0xC2 || (b >= 0xC4 && b <= 0xC6)) {
            imm = next();
        }
        int prefix = simdPrefix();
        int f = mod != 3 ? flags | F_MEM : flags;
        return Insn.of(Op.SIMD, b | prefix << 8, length(), f, 16, regField, 0, rmField, 0, seg, base, index, scale, disp,
                imm, 0, modrm);
    }
}
