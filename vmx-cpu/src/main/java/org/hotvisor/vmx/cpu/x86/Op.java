package org.hotvisor.vmx.cpu.x86;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;

/**
 * Operation ids of decoded instructions ({@link Insn#op}). Suffixes name the operand form:
 * R = register, M = memory (ModRM), I = immediate; the first letter is the destination.
 */
public final class Op {
    private Op() {
    }

    public static final int UD = 0;               // invalid opcode: #UD
    public static final int NOP = 1;
    // data movement
    public static final int MOV_RR = 2, MOV_RM = 3, MOV_MR = 4, MOV_RI = 5, MOV_MI = 6;
    public static final int MOVZX_RR = 7, MOVZX_RM = 8, MOVSX_RR = 9, MOVSX_RM = 10;   // sub = source size
    public static final int LEA = 11;
    public static final int XCHG_RR = 12, XCHG_RM = 13;
    public static final int MOV_SEG_R = 14, MOV_SEG_M = 15;  // Sreg <- r/m16, sub = sreg
    public static final int MOV_R_SEG = 16, MOV_M_SEG = 17;  // r/m <- Sreg
    public static final int PUSH_R = 18, PUSH_I = 19, PUSH_M = 20, PUSH_SEG = 21;
    public static final int POP_R = 22, POP_M = 23, POP_SEG = 24;
    public static final int PUSHA = 25, POPA = 26, PUSHF = 27, POPF = 28;
    public static final int CBW = 29, CWD = 30, LAHF = 31, SAHF = 32, XLAT = 33, BSWAP = 34;
    public static final int CMOV_RR = 35, CMOV_RM = 36, SETCC_R = 37, SETCC_M = 38;   // sub = cc
    public static final int LFP = 39;             // LDS/LES/LSS/LFS/LGS, sub = sreg
    // ALU: sub = Alu kind
    public static final int ALU_RR = 40, ALU_RM = 41, ALU_MR = 42, ALU_RI = 43, ALU_MI = 44;
    public static final int INC_R = 45, DEC_R = 46, INC_M = 47, DEC_M = 48;
    public static final int NOT_R = 49, NOT_M = 50, NEG_R = 51, NEG_M = 52;
    public static final int SHIFT_R = 53, SHIFT_M = 54;     // sub = shift kind; count imm (F_IMM_FORM) or CL
    public static final int MUL1_R = 55, MUL1_M = 56;       // sub = 4 MUL, 5 IMUL, 6 DIV, 7 IDIV
    public static final int IMUL_RRI = 57, IMUL_RMI = 58, IMUL_RR = 59, IMUL_RM = 60;
    public static final int SHLD_R = 61, SHLD_M = 62, SHRD_R = 63, SHRD_M = 64;
    public static final int BT_R = 65, BT_M = 66;           // sub = 4 BT 5 BTS 6 BTR 7 BTC; F_IMM_FORM: bit offset in imm
    public static final int BSF_R = 67, BSF_M = 68, BSR_R = 69, BSR_M = 70;
    public static final int XADD_R = 71, XADD_M = 72, CMPXCHG_R = 73, CMPXCHG_M = 74, CMPXCHG8B = 75;
    public static final int DAA = 76, DAS = 77, AAA = 78, AAS = 79, AAM = 80, AAD = 81, SALC = 82;
    // control transfer
    public static final int JMP_REL = 83, JCC = 84, JMP_R = 85, JMP_M = 86;
    public static final int CALL_REL = 87, CALL_R = 88, CALL_M = 89, RET = 90;
    public static final int JMPF_PTR = 91, JMPF_M = 92, CALLF_PTR = 93, CALLF_M = 94, RETF = 95, IRET = 96;
    public static final int INT = 97, INT3 = 98, INTO = 99, INT1 = 100;
    public static final int LOOP = 101;                       // sub: 0 LOOPNE 1 LOOPE 2 LOOP 3 JCXZ
    public static final int ENTER = 102, LEAVE = 103, BOUND = 104;
    // strings: size in Insn.size, REP flags
    public static final int MOVS = 105, CMPS = 106, SCAS = 107, LODS = 108, STOS = 109, INS = 110, OUTS = 111;
    // I/O
    public static final int IN = 112, OUT = 113;             // F_IMM_FORM: port in imm, else DX
    // flags
    public static final int CLC = 114, STC = 115, CMC = 116, CLD = 117, STD = 118, CLI = 119, STI = 120;
    // system
    public static final int HLT = 121, CPUID = 122, RDTSC = 123, RDTSCP = 124, RDMSR = 125, WRMSR = 126, RDPMC = 127;
    public static final int MOV_TO_CR = 128, MOV_FROM_CR = 129, MOV_TO_DR = 130, MOV_FROM_DR = 131; // sub = CR/DR number, rm = GPR
    public static final int CLTS = 132, LMSW = 133, SMSW = 134;
    public static final int LGDT = 135, LIDT = 136, SGDT = 137, SIDT = 138, LLDT = 139, SLDT = 140, LTR = 141, STR = 142;
    public static final int LAR = 143, LSL = 144, VERR = 145, VERW = 146, ARPL = 147;
    public static final int INVLPG = 148, INVD = 149, WBINVD = 150, WAIT = 151, PAUSE = 152;
    public static final int MONITOR = 153, MWAIT = 154, XSETBV = 155, XGETBV = 156, RDRAND = 157, RDSEED = 158;
    public static final int INVPCID = 159, GETSEC = 160;
    public static final int VMCALL = 161, VMCLEAR = 162, VMLAUNCH = 163, VMPTRLD = 164, VMPTRST = 165, VMREAD = 166,
            VMRESUME = 167, VMWRITE = 168, VMXOFF = 169, VMXON = 170, INVEPT = 171, INVVPID = 172, VMFUNC = 173;
    public static final int XSAVES = 174, XRSTORS = 175, SYSENTER = 176, SYSEXIT = 177, RSM = 178;
    public static final int FPU_ESC = 179;                    // x87 escape D8-DF: #NM per CR0.EM/TS, else no FPU
    public static final int CLFLUSH = 180;                    // checks the address, no cache to flush
    public static final int UD2 = 181;
    public static final int GP0 = 182;                        // instruction longer than 15 bytes: #GP(0)

    // ---- specialised forms (the decoder's second pass, see Specializer): 32-bit operands, fixed kind ----
    /** ALU32_RR + kind: reg32 = reg32 op rm32 (kind 0-8 as in {@link Alu}). */
    public static final int ALU32_RR = 183;
    /** ALU32_RI + kind: reg32 = reg32 op imm (imm zero-extended to 32 bits). */
    public static final int ALU32_RI = 192;
    /** ALU32_RM + kind: reg32 = reg32 op [mem32]. */
    public static final int ALU32_RM = 201;
    /** ALU32_MR + kind: [mem32] = [mem32] op reg32. */
    public static final int ALU32_MR = 210;
    public static final int MOV32_RR = 219, MOV32_RM = 220, MOV32_MR = 221, MOV32_RI = 222, MOV32_MI = 223;
    public static final int INC32_R = 224, DEC32_R = 225, PUSH32_R = 226, POP32_R = 227, LEA32 = 228;
    /** SHIFT32_RI + kind: reg32 shifted by an immediate count (already masked to 5 bits, nonzero). */
    public static final int SHIFT32_RI = 229;
    /** JCC_CC + cc: conditional near jump with the condition fixed. */
    public static final int JCC_CC = 237;
    /** The XSAVE feature set beside XSAVES/XRSTORS ({@link Xsave}): 0F AE /4 /5 /6, 0F C7 /4. */
    public static final int XSAVE = 253, XRSTOR = 254, XSAVEOPT = 255, XSAVEC = 256;
    /** IA-32e mode system instructions (SDM 2): SYSCALL/SYSRET, SWAPGS, CMPXCHG16B, and RDFSBASE..WRGSBASE (sub = ModRM.reg 0-3). */
    public static final int SYSCALL = 257, SYSRET = 258, SWAPGS = 259, CMPXCHG16B = 260, FSGSBASE = 261;
    /** MMX/SSE/SSE2/SSE3 and 0F AE /0-/3 ({@link Sse}): sub = opcode | mandatory prefix << 8 (0 none, 1 66, 2 F3, 3 F2). */
    public static final int SIMD = 262;
    public static final int COUNT = 263;

    private static final String[] NAMES = new String[COUNT];

    static {
        for (Field f : Op.class.getFields()) {
            if (f.getType() == int.class && Modifier.isStatic(f.getModifiers()) && !f.getName().equals("COUNT")) {
                try {
                    int v = f.getInt(null);
                    if (v >= 0 && v < COUNT && NAMES[v] == null) {
                        NAMES[v] = f.getName();
                    }
                } catch (IllegalAccessException e) {
                    // public static fields are always readable
                }
            }
        }
    }

    public static String name(int op) {
        if (op >= ALU32_RR && op < MOV32_RR) {
            int form = (op - ALU32_RR) / 9;
            return new String[] {"ALU32_RR", "ALU32_RI", "ALU32_RM", "ALU32_MR"}[form] + "+" + (op - ALU32_RR) % 9;
        }
        if (op >= SHIFT32_RI && op < JCC_CC) {
            return "SHIFT32_RI+" + (op - SHIFT32_RI);
        }
        if (op >= JCC_CC && op < JCC_CC + 16) {
            return "JCC_CC+" + (op - JCC_CC);
        }
        return op >= 0 && op < COUNT && NAMES[op] != null ? NAMES[op] : "op" + op;
    }
}
