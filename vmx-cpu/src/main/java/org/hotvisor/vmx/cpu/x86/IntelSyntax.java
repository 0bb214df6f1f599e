package org.hotvisor.vmx.cpu.x86;

/**
 * Formats instructions decoded by the processor's own {@link Decoder} in Intel syntax, the way
 * {@code objdump -Mintel} spells them with nasm's size keywords: {@code mov eax, dword [ebx+0x4]},
 * {@code jnz 0x7c12}, {@code rep movsb}, {@code out 0x80, al}, {@code lock cmpxchg8b qword [esi]},
 * {@code jmp 0x10:0x1000}, {@code mov ax, word [es:bx+si+0x2]}.
 *
 * <p>Conventions (objdump's unless said): immediates in hex, masked to the operand size;
 * displacements signed, and shown (even 0) whenever the ModRM mod field encodes one; SIB indexes
 * with their scale ({@code [eax+ecx*1]}); a segment is shown only when a prefix overrides it, inside
 * the brackets as nasm writes it; string instructions in their short form ({@code movsd}) unless a
 * segment or address-size prefix makes the operands worth spelling out; condition codes as
 * {@code z/nz} (the brief's {@code jnz}, where objdump says {@code jne}); an address-size prefix the
 * operands do not show is written {@code addr16}/{@code addr32}, an unused segment prefix by its name.
 *
 * <p>Branch targets: {@code address + length + rel}, wrapped to 32 bits, or with a 16-bit operand
 * size within the 64 KiB block of {@code address} (IP wraps at 64 KiB, SDM 2A JMP; exact when
 * {@code address} is a CS offset or CS.base is 64 KiB aligned).
 *
 * <p>64-bit code ({@code codeBits} 64): REX registers (r8-r15, spl..dil), {@code qword}, RIP-relative
 * operands as {@code [rip+0x10]} (objdump adds the target as a comment), {@code movabs} for imm64 and
 * moffs64, the 64-bit mnemonics (cdqe, cqo, movsxd, iretq, retfq, sysretq, xsave64...), and an
 * ignored ES/CS/SS/DS prefix named like any unused prefix.
 *
 * <p>Not thread-safe (the decoder keeps scratch state): one instance per thread or per call.
 */
public final class IntelSyntax {
    /** The text for bytes that are not an instruction this processor executes. */
    public static final String BAD = "(bad)";

    private static final String[] REG64 = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10",
        "r11", "r12", "r13", "r14", "r15"};
    private static final String[] REG32 = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "r8d", "r9d",
        "r10d", "r11d", "r12d", "r13d", "r14d", "r15d"};
    private static final String[] REG16 = {"ax", "cx", "dx", "bx", "sp", "bp", "si", "di", "r8w", "r9w", "r10w",
        "r11w", "r12w", "r13w", "r14w", "r15w"};
    private static final String[] REG8 = {"al", "cl", "dl", "bl", "ah", "ch", "dh", "bh"};
    /** Byte registers with a REX prefix (SDM 2 2.2.1.2: SPL..DIL instead of AH..BH, R8B-R15B). */
    private static final String[] REG8_REX = {"al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil", "r8b", "r9b", "r10b",
        "r11b", "r12b", "r13b", "r14b", "r15b"};
    /** Segment registers in VMX order (ES, CS, SS, DS, FS, GS), as {@link Insn#seg} numbers them. */
    private static final String[] SEG = {"es", "cs", "ss", "ds", "fs", "gs"};
    /** ALU kinds in {@link Alu} order (ModRM.reg of 80-83, TEST last). */
    private static final String[] ALU = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp", "test"};
    /** Shift kinds by ModRM.reg of C0/C1/D0-D3; /6 is SAL, the same operation as SHL (objdump: shl). */
    private static final String[] SHIFT = {"rol", "ror", "rcl", "rcr", "shl", "shr", "shl", "sar"};
    /** Condition-code suffixes by the low opcode nibble (SDM 2 Appendix B.1.4.7). */
    private static final String[] CC = {"o", "no", "b", "ae", "z", "nz", "be", "a", "s", "ns", "p", "np", "l", "ge",
        "le", "g"};
    /** Group 3 F6/F7 /4-/7. */
    private static final String[] MUL = {"mul", "imul", "div", "idiv"};
    private static final String[] BT = {"bt", "bts", "btr", "btc"};
    /** LOOPNE, LOOPE, LOOP, JCXZ: {@link Op#LOOP}'s sub. */
    private static final String[] LOOP = {"loopne", "loope", "loop"};
    /** 0F 18 /0-/3 (SDM 2 PREFETCHh). */
    private static final String[] PREFETCH_HINT = {"prefetchnta", "prefetcht0", "prefetcht1", "prefetcht2"};
    /** 0F AE /5-/7 with mod = 3. */
    private static final String[] FENCE = {"lfence", "mfence", "sfence"};

    // opcode bytes the Insn does not tell apart, read back from the instruction's bytes
    private static final int OPCODE_2BYTE = 0x0F, OPCODE_NOP = 0x90, OPCODE_SHIFT_BY_1_B = 0xD0,
            OPCODE_SHIFT_BY_1_V = 0xD1, OPCODE_RET_IMM = 0xC2, OPCODE_RETF_IMM = 0xCA, OPCODE_MOFFS_FIRST = 0xA0,
            OPCODE_MOFFS_LAST = 0xA3, OPCODE_PREFETCH_HINT = 0x18, OPCODE_PREFETCH_3DNOW = 0x0D, OPCODE_GROUP15 = 0xAE,
            OPCODE_X87_FIRST = 0xD8;
    private static final int PREFIX_LOCK = 0xF0, PREFIX_REPNE = 0xF2, PREFIX_REP = 0xF3, PREFIX_ADDRESS_SIZE = 0x67;
    /** 63 in 64-bit mode: MOVSXD (ARPL elsewhere). */
    private static final int OPCODE_MOVSXD = 0x63;
    /** REX prefixes are 40-4F in 64-bit mode. */
    private static final int REX_FIRST = 0x40;
    private static final int MODRM_MOD_SHIFT = 6, MODRM_REG_SHIFT = 3, MODRM_FIELD_MASK = 7, MOD_REGISTER = 3,
            MOD_DISP8 = 1, MOD_DISP32 = 2;
    private static final int GROUP15_FIRST_FENCE = 5;

    private final Decoder decoder = new Decoder();

    // the instruction being formatted
    /** 16, 32 or 64 (64-bit mode: REX prefixes, 64-bit registers and addresses). */
    private int bits;
    private Insn in;
    private byte[] code;
    private int first;
    private int opcodeAt;
    private StringBuilder out;

    /**
     * Disassembles the instruction at {@code bytes[offset]} (see
     * {@link org.hotvisor.api.vmx.Disassembler#disassemble}): the text goes to {@code out}, the
     * length is returned, or 0 with {@link #BAD} for bytes the processor raises #UD or #GP on, or
     * that are cut off.
     */
    public int disassemble(byte[] bytes, int offset, long address, int codeBits, StringBuilder out) {
        if (bytes == null || offset < 0 || offset >= bytes.length || (codeBits != 16 && codeBits != 32 && codeBits != 64)) {
            out.append(BAD);
            return 0;
        }
        Insn decoded = decoder.decode(bytes, offset, bytes.length, codeBits == 32, codeBits == 64);
        if (decoded == null || decoded.op() == Op.UD || decoded.op() == Op.GP0) {
            out.append(BAD);
            return 0;
        }
        this.in = decoded;
        this.code = bytes;
        this.first = offset;
        this.bits = codeBits;
        this.opcodeAt = skipPrefixes(bytes, offset);
        if (codeBits == 64) {
            while (opcodeAt < bytes.length && (bytes[opcodeAt] & 0xF0) == REX_FIRST) {
                opcodeAt++;   // the REX prefix (SDM 2 2.2.1): right before the opcode
            }
        }
        this.out = out;
        int mark = out.length();
        try {
            boolean known;
            try {
                known = format(address);
            } catch (RuntimeException e) {
                known = false;   // a decoded form this formatter does not expect: (bad), never an exception to the caller
            }
            if (!known) {
                out.setLength(mark);
                out.append(BAD);
                return 0;
            }
            return decoded.len();
        } finally {
            this.in = null;
            this.code = null;
            this.out = null;
        }
    }

    /** The offset of the opcode: past the legacy prefixes (SDM 2 2.1.1). */
    private static int skipPrefixes(byte[] bytes, int offset) {
        int p = offset;
        while (p < bytes.length) {
            switch (bytes[p] & 0xFF) {
                case 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67, 0xF0, 0xF2, 0xF3 -> p++;
                default -> {
                    return p;
                }
            }
        }
        return p;
    }

    private int opcode() {
        return code[opcodeAt] & 0xFF;
    }

    /** The byte after 0F (two-byte opcodes). */
    private int opcode2() {
        return code[opcodeAt + 1] & 0xFF;
    }

    /** The ModRM byte read back from the code (for forms whose Insn does not keep it). */
    private int rawModrm() {
        return code[opcodeAt + (opcode() == OPCODE_2BYTE ? 2 : 1)] & 0xFF;
    }

    // ---------------------------------------------------------------- operands

    private String reg(int index, int shift, int size) {
        return switch (size) {
            case 1 -> in.has(Insn.F_REX) ? REG8_REX[index] : REG8[index + (shift == 8 ? 4 : 0)];
            case 2 -> REG16[index];
            case 8 -> REG64[index];
            default -> REG32[index];
        };
    }

    private boolean addr64() {
        return in.has(Insn.F_ADDR64);
    }

    /** The Insn's first register operand at its size. */
    private String reg() {
        return reg(in.reg(), in.regShift(), in.size());
    }

    private String reg(int size) {
        return reg(in.reg(), in.regShift(), size);
    }

    /** The second register operand (register-register forms) at the Insn's size. */
    private String rm() {
        return reg(in.rm(), in.rmShift(), in.size());
    }

    private boolean op32() {
        return in.has(Insn.F_OP32);
    }

    private boolean addr32() {
        return in.has(Insn.F_ADDR32);
    }

    private static String sizeKeyword(int bytes) {
        return switch (bytes) {
            case 1 -> "byte";
            case 2 -> "word";
            case 4 -> "dword";
            case 6 -> "fword";
            case 8 -> "qword";
            case 10 -> "tbyte";
            case 16 -> "oword";
            default -> null;
        };
    }

    /** The memory operand with a size keyword ({@code bytes} 0: none), e.g. {@code dword [es:ebx+0x4]}. */
    private String mem(int bytes) {
        StringBuilder b = new StringBuilder(24);
        String keyword = sizeKeyword(bytes);
        if (keyword != null) {
            b.append(keyword).append(' ');
        }
        b.append('[');
        if (in.has(Insn.F_SEG_OVERRIDE)) {
            b.append(SEG[in.seg()]).append(':');
        }
        int base = in.base(), index = in.index();
        long disp = in.disp();
        if (base == Insn.BASE_ABS64) {
            return b.append(hex(in.imm())).append(']').toString();   // moffs64
        }
        if (base < 0 && base != Insn.BASE_RIP && index < 0) {
            // absolute: the displacement is the whole offset, unsigned
            return b.append(hex(disp & in.addrMask())).append(']').toString();
        }
        String[] names = addr64() ? REG64 : addr32() ? REG32 : REG16;
        boolean first = true;
        if (base >= 0) {
            b.append(names[base]);
            first = false;
        } else if (base == Insn.BASE_RIP) {
            b.append(addr64() ? "rip" : "eip");   // RIP-relative (SDM 2 2.2.1.6)
            first = false;
        }
        if (index >= 0) {
            if (!first) {
                b.append('+');
            }
            b.append(names[index]);
            if (addr32() || addr64()) {
                b.append('*').append(1 << in.scale());   // 16-bit addressing has no scale
            }
        }
        int mod = in.modrm() >= 0 ? in.modrm() >>> MODRM_MOD_SHIFT : 0;
        if (mod == MOD_DISP8 || mod == MOD_DISP32 || base < 0) {
            // an encoded displacement is shown even when 0 (objdump), signed
            long d = addr32() || addr64() ? (int) disp : (short) disp;
            b.append(d < 0 ? '-' : '+').append(hex(Math.abs(d)));
        }
        return b.append(']').toString();
    }

    private String mem() {
        return mem(in.size());
    }

    /** Register form: the rm register at {@code size}; memory form: the memory operand of {@code size} bytes. */
    private String rmOrMem(int size) {
        return in.isMem() ? mem(size) : reg(in.rm(), in.rmShift(), size);
    }

    private static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    /** The immediate masked to the operand size (a sign-extended imm8 of a dword op prints as 0xffffffff). */
    private String imm() {
        return hex(in.imm() & in.mask());
    }

    // ---------------------------------------------------------------- output helpers

    private boolean emit(String mnemonic) {
        out.append(mnemonic);
        return true;
    }

    private boolean emit(String mnemonic, String a) {
        out.append(mnemonic).append(' ').append(a);
        return true;
    }

    private boolean emit(String mnemonic, String a, String b) {
        out.append(mnemonic).append(' ').append(a).append(", ").append(b);
        return true;
    }

    private boolean emit(String mnemonic, String a, String b, String c) {
        out.append(mnemonic).append(' ').append(a).append(", ").append(b).append(", ").append(c);
        return true;
    }

    /** objdump's suffix for an explicit 66 prefix on stack-width instructions: pushaw in 32-bit code, pushad in 16-bit. */
    private String operandSuffix() {
        // REX.W overrides 66 (SDM 2 2.2.1.2)
        return in.has(Insn.F_OPSIZE_PREFIX) && !in.has(Insn.F_REX_W) ? (op32() ? "d" : "w") : "";
    }

    /** A 16-bit operand size wraps IP within its 64 KiB block; 32 bits wrap EIP. */
    private String target(long address, long rel) {
        long next = address + in.len() + rel;
        long t = in.size() == 8 ? next : op32() ? next & 0xFFFF_FFFFL : (address & ~0xFFFFL) | (next & 0xFFFF);
        return hex(t);
    }

    // ---------------------------------------------------------------- instructions

    /** Appends the text; false if the decoded form has no mnemonic (reserved x87 encodings). */
    private boolean format(long address) {
        int op = in.op();
        int sub = in.sub();
        // the specialiser's ids (Specializer) back to the generic form and kind
        if (op >= Op.ALU32_RR && op < Op.MOV32_RR) {
            int form = (op - Op.ALU32_RR) / 9;
            sub = (op - Op.ALU32_RR) % 9;
            op = switch (form) {
                case 0 -> Op.ALU_RR;
                case 1 -> Op.ALU_RI;
                case 2 -> Op.ALU_RM;
                default -> Op.ALU_MR;
            };
        } else if (op >= Op.SHIFT32_RI && op < Op.JCC_CC) {
            sub = op - Op.SHIFT32_RI;
            op = Op.SHIFT_R;
        } else if (op >= Op.JCC_CC && op < Op.JCC_CC + CC.length) {
            sub = op - Op.JCC_CC;
            op = Op.JCC;
        } else {
            op = switch (op) {
                case Op.MOV32_RR -> Op.MOV_RR;
                case Op.MOV32_RM -> Op.MOV_RM;
                case Op.MOV32_MR -> Op.MOV_MR;
                case Op.MOV32_RI -> Op.MOV_RI;
                case Op.MOV32_MI -> Op.MOV_MI;
                case Op.INC32_R -> Op.INC_R;
                case Op.DEC32_R -> Op.DEC_R;
                case Op.PUSH32_R -> Op.PUSH_R;
                case Op.POP32_R -> Op.POP_R;
                case Op.LEA32 -> Op.LEA;
                default -> op;
            };
        }
        prefixes(op);
        return instruction(op, sub, address);
    }

    /**
     * The prefixes in their byte order (as objdump): lock, rep/repe/repne on strings (the last of
     * F2/F3, which the processor obeys), and the segment and address-size prefixes no operand shows.
     */
    private void prefixes(int op) {
        boolean string = isString(op);
        boolean absolute = in.isMem() && in.base() < 0 && in.base() != Insn.BASE_RIP && in.index() < 0;
        // objdump shows a 16-bit absolute ModRM address as itself, a 32-bit one in 16-bit code as addr32
        boolean showsAddressSize = string || op == Op.XLAT
                || (op == Op.LOOP && in.sub() == 3)                       // jcxz / jecxz name it
                || (in.isMem() && !absolute) || (absolute && !moffs() && !addr32());
        boolean usesSegment = usesSegment(op);
        int lastSegment = -1, lastRep = -1, lastAddressSize = -1, firstLock = -1;
        for (int p = first; p < opcodeAt; p++) {
            int b = code[p] & 0xFF;
            if (segmentOfPrefix(b) >= 0) {
                lastSegment = p;
            } else if (b == PREFIX_REPNE || b == PREFIX_REP) {
                lastRep = p;
            } else if (b == PREFIX_ADDRESS_SIZE) {
                lastAddressSize = p;
            } else if (b == PREFIX_LOCK && firstLock < 0) {
                firstLock = p;
            }
        }
        for (int p = first; p < opcodeAt; p++) {
            int b = code[p] & 0xFF;
            int segment = segmentOfPrefix(b);
            if (segment >= 0) {
                // the last segment prefix wins (SDM 2 2.1.1); the others, or all when no operand uses one, are named;
                // 64-bit mode ignores ES/CS/SS/DS overrides (SDM 3A 3.4.4): named too
                boolean ignored = bits == 64 && segment < Decoder.FS;
                if (!(usesSegment && p == lastSegment) || ignored) {
                    out.append(SEG[segment]).append(' ');
                }
            } else if (p == lastAddressSize && !showsAddressSize) {
                out.append(addr32() ? "addr32 " : "addr16 ");
            } else if (p == firstLock) {
                out.append("lock ");
            } else if (p == lastRep && string) {
                boolean compares = op == Op.CMPS || op == Op.SCAS;
                out.append(b == PREFIX_REPNE ? "repne " : compares ? "repe " : "rep ");
            }
        }
    }

    /** Whether a segment override applies: memory operands, and the DS:(E)SI source of strings and XLAT. */
    private boolean usesSegment(int op) {
        return in.isMem() || op == Op.MOVS || op == Op.CMPS || op == Op.LODS || op == Op.OUTS || op == Op.XLAT;
    }

    /** The segment register a prefix byte overrides to (SDM 2 2.1.1, group 2), or -1. */
    private static int segmentOfPrefix(int b) {
        return switch (b) {
            case 0x26 -> Decoder.ES;
            case 0x2E -> Decoder.CS;
            case 0x36 -> Decoder.SS;
            case 0x3E -> Decoder.DS;
            case 0x64 -> Decoder.FS;
            case 0x65 -> Decoder.GS;
            default -> -1;
        };
    }

    private static boolean isString(int op) {
        return op >= Op.MOVS && op <= Op.OUTS;
    }

    private boolean instruction(int op, int sub, long address) {
        switch (op) {
            case Op.NOP:
                return nop();
            // ---- data movement
            case Op.MOV_RR:
                return emit("mov", reg(), rm());
            case Op.MOV_RM:
                return emit(in.base() == Insn.BASE_ABS64 ? "movabs" : "mov", reg(), moffs() ? mem(0) : mem());
            case Op.MOV_MR:
                return emit(in.base() == Insn.BASE_ABS64 ? "movabs" : "mov", moffs() ? mem(0) : mem(), reg());
            case Op.MOV_RI:
                // objdump: movabs for the imm64 form (REX.W B8+r)
                return emit(in.size() == 8 && opcode() >= 0xB8 && opcode() <= 0xBF ? "movabs" : "mov", reg(), imm());
            case Op.MOV_MI:
                return emit("mov", mem(), imm());
            case Op.MOVZX_RR, Op.MOVSX_RR:
                return emit(op == Op.MOVZX_RR ? "movzx" : opcode() == OPCODE_MOVSXD ? "movsxd" : "movsx", reg(),
                        reg(in.rm(), in.rmShift(), sub));
            case Op.MOVZX_RM, Op.MOVSX_RM:
                return emit(op == Op.MOVZX_RM ? "movzx" : opcode() == OPCODE_MOVSXD ? "movsxd" : "movsx", reg(), mem(sub));
            case Op.LEA:
                return emit("lea", reg(), mem(0));
            case Op.XCHG_RR:
                return emit("xchg", rm(), reg());   // 87 /r and 90+r: objdump names the rm / opcode register first
            case Op.XCHG_RM:
                return emit("xchg", mem(), reg());
            case Op.MOV_SEG_R:
                return emit("mov", SEG[sub], reg(in.has(Insn.F_REX_W) ? 8 : op32() ? 4 : 2));
            case Op.MOV_SEG_M:
                return emit("mov", SEG[sub], mem(2));
            case Op.MOV_R_SEG:
                return emit("mov", reg(), SEG[sub]);
            case Op.MOV_M_SEG:
                return emit("mov", mem(2), SEG[sub]);
            case Op.PUSH_R:
                return emit("push", reg());
            case Op.POP_R:
                return emit("pop", reg());
            case Op.PUSH_I:
                return emit("push" + operandSuffix(), imm());
            case Op.PUSH_M:
                return emit("push", mem());
            case Op.POP_M:
                return emit("pop", mem());
            case Op.PUSH_SEG:
                return emit("push" + operandSuffix(), SEG[sub]);
            case Op.POP_SEG:
                return emit("pop" + operandSuffix(), SEG[sub]);
            case Op.PUSHA:
                return emit("pusha" + operandSuffix());
            case Op.POPA:
                return emit("popa" + operandSuffix());
            case Op.PUSHF:
                return emit("pushf" + operandSuffix());
            case Op.POPF:
                return emit("popf" + operandSuffix());
            case Op.CBW:
                return emit(in.size() == 8 ? "cdqe" : op32() ? "cwde" : "cbw");
            case Op.CWD:
                return emit(in.size() == 8 ? "cqo" : op32() ? "cdq" : "cwd");
            case Op.LAHF:
                return emit("lahf");
            case Op.SAHF:
                return emit("sahf");
            case Op.XLAT:
                return in.has(Insn.F_SEG_OVERRIDE) || in.has(Insn.F_ADDRSIZE_PREFIX)
                        ? emit("xlat", "byte [" + SEG[in.seg()] + ":" + (addr64() ? "rbx" : addr32() ? "ebx" : "bx") + "]")
                        : emit("xlatb");
            case Op.BSWAP:
                return emit("bswap", reg());
            case Op.CMOV_RR:
                return emit("cmov" + CC[sub], reg(), rm());
            case Op.CMOV_RM:
                return emit("cmov" + CC[sub], reg(), mem());
            case Op.SETCC_R:
                return emit("set" + CC[sub], reg());
            case Op.SETCC_M:
                return emit("set" + CC[sub], mem(1));
            case Op.LFP:
                return emit("l" + SEG[sub], reg(), mem(op32() ? 6 : 4));
            // ---- arithmetic
            case Op.ALU_RR:
                return emit(ALU[sub], reg(), rm());
            case Op.ALU_RM:
                return emit(ALU[sub], reg(), mem());
            case Op.ALU_MR:
                return emit(ALU[sub], mem(), reg());
            case Op.ALU_RI:
                return emit(ALU[sub], reg(), imm());
            case Op.ALU_MI:
                return emit(ALU[sub], mem(), imm());
            case Op.INC_R, Op.DEC_R, Op.NOT_R, Op.NEG_R:
                return emit(unaryName(op), reg());
            case Op.INC_M, Op.DEC_M, Op.NOT_M, Op.NEG_M:
                return emit(unaryName(op), mem());
            case Op.SHIFT_R:
                return emit(SHIFT[sub], reg(), shiftCount());
            case Op.SHIFT_M:
                return emit(SHIFT[sub], mem(), shiftCount());
            case Op.MUL1_R:
                return emit(MUL[sub - 4], reg());
            case Op.MUL1_M:
                return emit(MUL[sub - 4], mem());
            case Op.IMUL_RRI:
                return emit("imul", reg(), rm(), imm());
            case Op.IMUL_RMI:
                return emit("imul", reg(), mem(), imm());
            case Op.IMUL_RR:
                return emit("imul", reg(), rm());
            case Op.IMUL_RM:
                return emit("imul", reg(), mem());
            case Op.SHLD_R, Op.SHRD_R:
                return emit(op == Op.SHLD_R ? "shld" : "shrd", reg(), rm(), doubleShiftCount());
            case Op.SHLD_M, Op.SHRD_M:
                return emit(op == Op.SHLD_M ? "shld" : "shrd", mem(), reg(), doubleShiftCount());
            case Op.BT_R:
                return emit(BT[sub - 4], reg(), in.has(Insn.F_IMM_FORM) ? hex(in.imm() & 0xFF) : rm());
            case Op.BT_M:
                return emit(BT[sub - 4], mem(), in.has(Insn.F_IMM_FORM) ? hex(in.imm() & 0xFF) : reg());
            case Op.BSF_R, Op.BSR_R:
                return emit(op == Op.BSF_R ? "bsf" : "bsr", reg(), rm());
            case Op.BSF_M, Op.BSR_M:
                return emit(op == Op.BSF_M ? "bsf" : "bsr", reg(), mem());
            case Op.XADD_R, Op.CMPXCHG_R:
                return emit(op == Op.XADD_R ? "xadd" : "cmpxchg", reg(), rm());
            case Op.XADD_M, Op.CMPXCHG_M:
                return emit(op == Op.XADD_M ? "xadd" : "cmpxchg", mem(), reg());
            case Op.CMPXCHG8B:
                return emit("cmpxchg8b", mem(8));
            case Op.DAA:
                return emit("daa");
            case Op.DAS:
                return emit("das");
            case Op.AAA:
                return emit("aaa");
            case Op.AAS:
                return emit("aas");
            case Op.AAM:
                return emit("aam", hex(in.imm() & 0xFF));
            case Op.AAD:
                return emit("aad", hex(in.imm() & 0xFF));
            case Op.SALC:
                return emit("salc");
            // ---- control transfer
            case Op.JMP_REL:
                return emit("jmp", target(address, in.imm()));
            case Op.JCC:
                return emit("j" + CC[sub], target(address, in.imm()));
            case Op.CALL_REL:
                return emit("call", target(address, in.imm()));
            case Op.LOOP:
                return emit(sub == 3 ? (addr64() ? "jrcxz" : addr32() ? "jecxz" : "jcxz") : LOOP[sub], target(address, in.imm()));
            case Op.JMP_R, Op.CALL_R:
                return emit(op == Op.JMP_R ? "jmp" : "call", reg());
            case Op.JMP_M, Op.CALL_M:
                return emit(op == Op.JMP_M ? "jmp" : "call", mem());
            case Op.RET:
                return opcode() == OPCODE_RET_IMM ? emit("ret" + operandSuffix(), hex(in.imm() & 0xFFFF))
                        : emit("ret" + operandSuffix());
            case Op.RETF: {
                String retf = "retf" + (in.size() == 8 ? "q" : operandSuffix());
                return opcode() == OPCODE_RETF_IMM ? emit(retf, hex(in.imm() & 0xFFFF)) : emit(retf);
            }
            case Op.JMPF_PTR, Op.CALLF_PTR:
                return emit(op == Op.JMPF_PTR ? "jmp" : "call", hex(in.imm2() & 0xFFFF) + ":" + imm());
            case Op.JMPF_M, Op.CALLF_M:
                return emit(op == Op.JMPF_M ? "jmp" : "call", mem(op32() ? 6 : 4));
            case Op.IRET:
                return emit("iret" + (in.size() == 8 ? "q" : operandSuffix()));
            case Op.INT:
                return emit("int", hex(in.imm() & 0xFF));
            case Op.INT3:
                return emit("int3");
            case Op.INTO:
                return emit("into");
            case Op.INT1:
                return emit("int1");
            case Op.ENTER:
                return emit("enter" + operandSuffix(), hex(in.imm() & 0xFFFF), hex(in.imm2() & 0xFF));
            case Op.LEAVE:
                return emit("leave" + operandSuffix());
            case Op.BOUND:
                return emit("bound", reg(), mem(in.size() * 2));
            // ---- strings and I/O
            case Op.MOVS, Op.CMPS, Op.SCAS, Op.LODS, Op.STOS, Op.INS, Op.OUTS:
                return string(op);
            case Op.IN:
                return emit("in", accumulator(), in.has(Insn.F_IMM_FORM) ? hex(in.imm() & 0xFF) : "dx");
            case Op.OUT:
                return emit("out", in.has(Insn.F_IMM_FORM) ? hex(in.imm() & 0xFF) : "dx", accumulator());
            // ---- flags
            case Op.CLC:
                return emit("clc");
            case Op.STC:
                return emit("stc");
            case Op.CMC:
                return emit("cmc");
            case Op.CLD:
                return emit("cld");
            case Op.STD:
                return emit("std");
            case Op.CLI:
                return emit("cli");
            case Op.STI:
                return emit("sti");
            default:
                return system(op, sub);
        }
    }

    private boolean system(int op, int sub) {
        switch (op) {
            case Op.HLT:
                return emit("hlt");
            case Op.CPUID:
                return emit("cpuid");
            case Op.RDTSC:
                return emit("rdtsc");
            case Op.RDTSCP:
                return emit("rdtscp");
            case Op.RDMSR:
                return emit("rdmsr");
            case Op.WRMSR:
                return emit("wrmsr");
            case Op.RDPMC:
                return emit("rdpmc");
            case Op.MOV_TO_CR:
                return emit("mov", "cr" + sub, controlGpr());
            case Op.MOV_FROM_CR:
                return emit("mov", controlGpr(), "cr" + sub);
            case Op.MOV_TO_DR:
                return emit("mov", "dr" + sub, controlGpr());
            case Op.MOV_FROM_DR:
                return emit("mov", controlGpr(), "dr" + sub);
            case Op.SYSCALL:
                return emit("syscall");
            case Op.SYSRET:
                return emit(in.has(Insn.F_REX_W) ? "sysretq" : "sysretd");
            case Op.SWAPGS:
                return emit("swapgs");
            case Op.FSGSBASE:
                return emit(new String[] {"rdfsbase", "rdgsbase", "wrfsbase", "wrgsbase"}[sub & 3], rm());
            case Op.CMPXCHG16B:
                return emit("cmpxchg16b", mem(16));
            case Op.CLTS:
                return emit("clts");
            case Op.LMSW, Op.SMSW, Op.LLDT, Op.SLDT, Op.LTR, Op.STR, Op.VERR, Op.VERW:
                // register forms: LMSW/LLDT/LTR/VERR/VERW read r16; SMSW/SLDT/STR write the operand size
                return emit(descriptorName(op), in.isMem() ? mem(2) : reg(in.rm(), 0, in.size()));
            case Op.LGDT, Op.LIDT, Op.SGDT, Op.SIDT:
                // objdump: lgdtd / lgdtw by operand size (a 16-bit LGDT loads a 24-bit base); 64-bit mode: 8-byte base
                return emit(descriptorName(op) + (bits == 64 ? "" : op32() ? "d" : "w"), mem(0));
            case Op.LAR, Op.LSL:
                return emit(op == Op.LAR ? "lar" : "lsl", reg(), rmOrMem(in.isMem() ? 2 : in.size()));
            case Op.ARPL:
                return emit("arpl", in.isMem() ? mem(2) : reg(), in.isMem() ? reg() : rm());
            case Op.INVLPG:
                return emit("invlpg", mem(1));
            case Op.INVD:
                return emit("invd");
            case Op.WBINVD:
                return emit("wbinvd");
            case Op.WAIT:
                return emit("fwait");
            case Op.PAUSE:
                return emit("pause");
            case Op.MONITOR:
                return emit("monitor");
            case Op.MWAIT:
                return emit("mwait");
            case Op.XSETBV:
                return emit("xsetbv");
            case Op.XGETBV:
                return emit("xgetbv");
            case Op.RDRAND:
                return emit("rdrand", reg());
            case Op.RDSEED:
                return emit("rdseed", reg());
            case Op.INVPCID:
                return emit("invpcid", reg(), mem(0));
            case Op.INVEPT:
                return emit("invept", reg(), mem(16));
            case Op.INVVPID:
                return emit("invvpid", reg(), mem(16));
            case Op.GETSEC:
                return emit("getsec");
            case Op.VMCALL:
                return emit("vmcall");
            case Op.VMLAUNCH:
                return emit("vmlaunch");
            case Op.VMRESUME:
                return emit("vmresume");
            case Op.VMXOFF:
                return emit("vmxoff");
            case Op.VMFUNC:
                return emit("vmfunc");
            case Op.VMCLEAR:
                return emit("vmclear", mem(8));
            case Op.VMPTRLD:
                return emit("vmptrld", mem(8));
            case Op.VMPTRST:
                return emit("vmptrst", mem(8));
            case Op.VMXON:
                return emit("vmxon", mem(8));
            case Op.VMREAD:
                // VMREAD Ed, Gd: the r/m operand receives the field named by the register
                return emit("vmread", in.isMem() ? mem(in.size()) : rm(), reg());
            case Op.VMWRITE:
                return emit("vmwrite", reg(), in.isMem() ? mem(in.size()) : rm());
            case Op.XSAVES:
                return emit("xsaves" + rexW64(), mem(0));
            case Op.XRSTORS:
                return emit("xrstors" + rexW64(), mem(0));
            case Op.XSAVE, Op.XRSTOR, Op.XSAVEOPT, Op.XSAVEC:
                return emit(Op.name(op).toLowerCase(java.util.Locale.ROOT) + rexW64(), mem(0));
            case Op.SYSENTER:
                return emit("sysenter");
            case Op.SYSEXIT:
                return emit(bits == 64 ? (in.has(Insn.F_REX_W) ? "sysexitq" : "sysexitd") : "sysexit");
            case Op.RSM:
                return emit("rsm");
            case Op.CLFLUSH:
                return emit("clflush", mem(1));
            case Op.UD2:
                return emit("ud2");
            case Op.FPU_ESC:
                return x87(sub);
            case Op.SIMD:
                return SimdSyntax.format(in, this::mem, out);
            default:
                return byName(op);
        }
    }

    /**
     * An operation added to the decoder after this formatter (e.g. XSAVE): its {@link Op} name is
     * its mnemonic when it is one word, with the memory operand unsized; otherwise (bad) rather
     * than a guess.
     */
    private boolean byName(int op) {
        String name = Op.name(op);
        if (name.startsWith("op") || name.indexOf('_') >= 0 || name.indexOf('+') >= 0) {
            return false;
        }
        String mnemonic = name.toLowerCase(java.util.Locale.ROOT);
        return in.isMem() ? emit(mnemonic, mem(0)) : emit(mnemonic);
    }

    private static String unaryName(int op) {
        return switch (op) {
            case Op.INC_R, Op.INC_M -> "inc";
            case Op.DEC_R, Op.DEC_M -> "dec";
            case Op.NOT_R, Op.NOT_M -> "not";
            default -> "neg";
        };
    }

    private static String descriptorName(int op) {
        return switch (op) {
            case Op.LMSW -> "lmsw";
            case Op.SMSW -> "smsw";
            case Op.LLDT -> "lldt";
            case Op.SLDT -> "sldt";
            case Op.LTR -> "ltr";
            case Op.STR -> "str";
            case Op.VERR -> "verr";
            case Op.VERW -> "verw";
            case Op.LGDT -> "lgdt";
            case Op.LIDT -> "lidt";
            case Op.SGDT -> "sgdt";
            default -> "sidt";
        };
    }

    /** The XSAVE family with REX.W: the 64-bit forms (SDM 2 XSAVE: xsave64 saves a 64-bit FPU IP/DP). */
    private String rexW64() {
        return in.has(Insn.F_REX_W) ? "64" : "";
    }

    /** The GPR of MOV CR/DR: 32-bit outside 64-bit mode, 64-bit in it (SDM 2 MOV CR). */
    private String controlGpr() {
        return bits == 64 ? REG64[in.rm()] : REG32[in.rm()];
    }

    /** A0-A3: MOV with a moffs operand, which objdump (and this) prints without a size keyword. */
    private boolean moffs() {
        int b = opcode();
        return b >= OPCODE_MOFFS_FIRST && b <= OPCODE_MOFFS_LAST;
    }

    /** D0-D3 and C0/C1: "1", "cl" or the imm8 as encoded (the specialiser masks its copy to 5 bits). */
    private String shiftCount() {
        if (!in.has(Insn.F_IMM_FORM)) {
            return "cl";
        }
        int b = opcode();
        if (b == OPCODE_SHIFT_BY_1_B || b == OPCODE_SHIFT_BY_1_V) {
            return "1";
        }
        return hex(code[first + in.len() - 1] & 0xFF);   // C0/C1: the imm8 is the last byte
    }

    private String doubleShiftCount() {
        return in.has(Insn.F_IMM_FORM) ? hex(in.imm() & 0xFF) : "cl";
    }

    private String accumulator() {
        return reg(0, 0, in.size());
    }

    /** 90, 66 90, F3 90 (PAUSE, its own op), 0F 1F /r, hint NOPs 0F 18-1F, 0F 0D prefetches, fences. */
    private boolean nop() {
        int b = opcode();
        if (b == OPCODE_NOP) {
            // 66 90 is XCHG (e)ax, (e)ax by its encoding (objdump: xchg ax, ax)
            return in.has(Insn.F_OPSIZE_PREFIX) ? emit("xchg", accumulator(), accumulator()) : emit("nop");
        }
        if (b != OPCODE_2BYTE) {
            return emit("nop");
        }
        int b2 = opcode2();
        int modrm = rawModrm();
        int regField = (modrm >>> MODRM_REG_SHIFT) & MODRM_FIELD_MASK;
        boolean register = modrm >>> MODRM_MOD_SHIFT == MOD_REGISTER;
        if (b2 == OPCODE_GROUP15) {
            return regField >= GROUP15_FIRST_FENCE ? emit(FENCE[regField - GROUP15_FIRST_FENCE]) : false;
        }
        if (b2 == OPCODE_PREFETCH_HINT && !register && regField < PREFETCH_HINT.length) {
            return emit(PREFETCH_HINT[regField], mem(1));
        }
        if (b2 == OPCODE_PREFETCH_3DNOW) {
            // AMD: /1 PREFETCHW, /2 PREFETCHWT1, every other /r an alias of PREFETCH
            return emit(regField == 1 ? "prefetchw" : regField == 2 ? "prefetchwt1" : "prefetch", mem(1));
        }
        return emit("nop", register ? rm() : mem());
    }

    /** Short forms (movsb) for the default segment and address size, else the operands spelled out. */
    private boolean string(int op) {
        String name = switch (op) {
            case Op.MOVS -> "movs";
            case Op.CMPS -> "cmps";
            case Op.SCAS -> "scas";
            case Op.LODS -> "lods";
            case Op.STOS -> "stos";
            case Op.INS -> "ins";
            default -> "outs";
        };
        boolean sourceOverridden = in.has(Insn.F_SEG_OVERRIDE) && usesSegment(op);
        if (!sourceOverridden && !in.has(Insn.F_ADDRSIZE_PREFIX)) {
            return emit(name + switch (in.size()) {
                case 1 -> "b";
                case 2 -> "w";
                case 8 -> "q";
                default -> "d";
            });
        }
        String keyword = sizeKeyword(in.size());
        String si = keyword + " [" + SEG[in.seg()] + ":" + (addr64() ? "rsi" : addr32() ? "esi" : "si") + "]";
        String di = keyword + " [es:" + (addr64() ? "rdi" : addr32() ? "edi" : "di") + "]";
        return switch (op) {
            case Op.MOVS -> emit(name, di, si);
            case Op.CMPS -> emit(name, si, di);
            case Op.SCAS -> emit(name, accumulator(), di);
            case Op.LODS -> emit(name, accumulator(), si);
            case Op.STOS -> emit(name, di, accumulator());
            case Op.INS -> emit(name, di, "dx");
            default -> emit(name, "dx", si);
        };
    }

    // ---------------------------------------------------------------- x87 (SDM 2 A.4: escape opcodes D8-DF)

    /** Memory forms by escape (D8-DF) and ModRM.reg (null: reserved). */
    private static final String[][] X87_MEM = {
        {"fadd", "fmul", "fcom", "fcomp", "fsub", "fsubr", "fdiv", "fdivr"},
        {"fld", null, "fst", "fstp", "fldenv", "fldcw", "fnstenv", "fnstcw"},
        {"fiadd", "fimul", "ficom", "ficomp", "fisub", "fisubr", "fidiv", "fidivr"},
        {"fild", "fisttp", "fist", "fistp", null, "fld", null, "fstp"},
        {"fadd", "fmul", "fcom", "fcomp", "fsub", "fsubr", "fdiv", "fdivr"},
        {"fld", "fisttp", "fst", "fstp", "frstor", null, "fnsave", "fnstsw"},
        {"fiadd", "fimul", "ficom", "ficomp", "fisub", "fisubr", "fidiv", "fidivr"},
        {"fild", "fisttp", "fist", "fistp", "fbld", "fild", "fbstp", "fistp"},
    };
    /** Memory operand sizes in bytes: m16int/m32/m64/m80 (SDM 1 4.2); ENV: an environment or state image, no keyword. */
    private static final int M16 = 2, M32 = 4, M64 = 8, M80 = 10, ENV = 0, NONE = 0;
    private static final int[][] X87_MEM_SIZE = {
        {M32, M32, M32, M32, M32, M32, M32, M32},
        {M32, NONE, M32, M32, ENV, M16, ENV, M16},
        {M32, M32, M32, M32, M32, M32, M32, M32},
        {M32, M32, M32, M32, NONE, M80, NONE, M80},
        {M64, M64, M64, M64, M64, M64, M64, M64},
        {M64, M64, M64, M64, ENV, NONE, ENV, M16},
        {M16, M16, M16, M16, M16, M16, M16, M16},
        {M16, M16, M16, M16, M80, M64, M80, M64},
    };
    /** Register forms (mod = 3) by escape and ModRM.reg: the mnemonic, and the operand pattern below. */
    private static final String[][] X87_REG = {
        {"fadd", "fmul", "fcom", "fcomp", "fsub", "fsubr", "fdiv", "fdivr"},
        {"fld", "fxch", null, null, null, null, null, null},
        {"fcmovb", "fcmove", "fcmovbe", "fcmovu", null, "fucompp", null, null},
        {"fcmovnb", "fcmovne", "fcmovnbe", "fcmovnu", null, "fucomi", "fcomi", null},
        {"fadd", "fmul", null, null, "fsubr", "fsub", "fdivr", "fdiv"},
        {"ffree", null, "fst", "fstp", "fucom", "fucomp", null, null},
        {"faddp", "fmulp", null, null, "fsubrp", "fsubp", "fdivrp", "fdivp"},
        {"ffreep", null, null, null, null, "fucomip", "fcomip", null},
    };
    /** Operand patterns: reserved, "st, st(i)", "st(i)", "st(i), st", or one whole-ModRM instruction ({@link #x87Single}). */
    private static final int RESERVED = 0, ST_STI = 1, STI = 2, STI_ST = 3, SINGLE = 4;
    private static final int[][] X87_REG_FORM = {
        {ST_STI, ST_STI, STI, STI, ST_STI, ST_STI, ST_STI, ST_STI},
        {STI, STI, SINGLE, RESERVED, SINGLE, SINGLE, SINGLE, SINGLE},
        {ST_STI, ST_STI, ST_STI, ST_STI, RESERVED, SINGLE, RESERVED, RESERVED},
        {ST_STI, ST_STI, ST_STI, ST_STI, SINGLE, ST_STI, ST_STI, RESERVED},
        {STI_ST, STI_ST, RESERVED, RESERVED, STI_ST, STI_ST, STI_ST, STI_ST},
        {STI, RESERVED, STI, STI, STI, STI, RESERVED, RESERVED},
        {STI_ST, STI_ST, RESERVED, SINGLE, STI_ST, STI_ST, STI_ST, STI_ST},
        {STI, RESERVED, RESERVED, RESERVED, SINGLE, ST_STI, ST_STI, RESERVED},
    };

    private boolean x87(int escape) {
        int modrm = in.modrm();
        int regField = (modrm >>> MODRM_REG_SHIFT) & MODRM_FIELD_MASK;
        if (in.isMem()) {
            String name = X87_MEM[escape][regField];
            int size = X87_MEM_SIZE[escape][regField];
            if (name != null && size == ENV) {
                name += operandSuffix();   // fldenv/fnstenv/frstor/fnsave: the 14/28 or 94/108-byte image
            }
            return name != null && emit(name, mem(size));
        }
        int i = modrm & MODRM_FIELD_MASK;
        String sti = "st(" + i + ")";
        switch (X87_REG_FORM[escape][regField]) {
            case ST_STI:
                return emit(X87_REG[escape][regField], "st", sti);
            case STI:
                return emit(X87_REG[escape][regField], sti);
            case STI_ST:
                return emit(X87_REG[escape][regField], sti, "st");
            case SINGLE:
                String name = x87Single(OPCODE_X87_FIRST + escape, modrm);
                return name != null && emit(name);
            default:
                return false;   // RESERVED
        }
    }

    /** The operand-less x87 instructions (SDM 2 Table A-10 and neighbours). */
    private static String x87Single(int opcode, int modrm) {
        return switch (opcode << 8 | modrm) {
            case 0xD9D0 -> "fnop";
            case 0xD9E0 -> "fchs";
            case 0xD9E1 -> "fabs";
            case 0xD9E4 -> "ftst";
            case 0xD9E5 -> "fxam";
            case 0xD9E8 -> "fld1";
            case 0xD9E9 -> "fldl2t";
            case 0xD9EA -> "fldl2e";
            case 0xD9EB -> "fldpi";
            case 0xD9EC -> "fldlg2";
            case 0xD9ED -> "fldln2";
            case 0xD9EE -> "fldz";
            case 0xD9F0 -> "f2xm1";
            case 0xD9F1 -> "fyl2x";
            case 0xD9F2 -> "fptan";
            case 0xD9F3 -> "fpatan";
            case 0xD9F4 -> "fxtract";
            case 0xD9F5 -> "fprem1";
            case 0xD9F6 -> "fdecstp";
            case 0xD9F7 -> "fincstp";
            case 0xD9F8 -> "fprem";
            case 0xD9F9 -> "fyl2xp1";
            case 0xD9FA -> "fsqrt";
            case 0xD9FB -> "fsincos";
            case 0xD9FC -> "frndint";
            case 0xD9FD -> "fscale";
            case 0xD9FE -> "fsin";
            case 0xD9FF -> "fcos";
            case 0xDAE9 -> "fucompp";
            case 0xDBE0 -> "fneni";      // 8087 only; a no-op since the 287
            case 0xDBE1 -> "fndisi";     // 8087 only
            case 0xDBE2 -> "fnclex";
            case 0xDBE3 -> "fninit";
            case 0xDBE4 -> "fnsetpm";    // 287 only
            case 0xDED9 -> "fcompp";
            case 0xDFE0 -> "fnstsw ax";
            default -> null;
        };
    }
}
