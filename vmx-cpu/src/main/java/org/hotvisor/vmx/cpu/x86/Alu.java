package org.hotvisor.vmx.cpu.x86;

/** Names of ALU kinds, shift kinds, condition codes and RFLAGS bits (SDM 1 3.4.3, Appendix B). */
public final class Alu {
    private Alu() {
    }

    // ALU kinds: ModRM.reg of opcodes 80-83 (and 00-3F >> 3); TEST is Hotvisor's 8th kind.
    public static final int ADD = 0, OR = 1, ADC = 2, SBB = 3, AND = 4, SUB = 5, XOR = 6, CMP = 7, TEST = 8;
    // shift kinds: ModRM.reg of C0/C1/D0-D3
    public static final int ROL = 0, ROR = 1, RCL = 2, RCR = 3, SHL = 4, SHR = 5, SAL = 6, SAR = 7;
    // condition codes: low nibble of 70-7F / 0F 80-8F / 0F 40-4F / 0F 90-9F
    public static final int CC_O = 0, CC_NO = 1, CC_B = 2, CC_NB = 3, CC_Z = 4, CC_NZ = 5, CC_BE = 6, CC_NBE = 7,
            CC_S = 8, CC_NS = 9, CC_P = 10, CC_NP = 11, CC_L = 12, CC_NL = 13, CC_LE = 14, CC_NLE = 15;

    // RFLAGS (SDM 1 3.4.3)
    public static final long CF = 1L, FIXED1 = 1L << 1, PF = 1L << 2, AF = 1L << 4, ZF = 1L << 6, SF = 1L << 7,
            TF = 1L << 8, IF = 1L << 9, DF = 1L << 10, OF = 1L << 11, IOPL = 3L << 12, NT = 1L << 14,
            RF = 1L << 16, VM = 1L << 17, AC = 1L << 18, VIF = 1L << 19, VIP = 1L << 20, ID = 1L << 21;
    public static final int IOPL_SHIFT = 12;
    /** The six status flags the lazy-flags machinery owns. */
    public static final long ARITH = CF | PF | AF | ZF | SF | OF;
    /** Bits software can ever see set (reserved bits read as 0, bit 1 as 1). */
    public static final long DEFINED = ARITH | FIXED1 | TF | IF | DF | IOPL | NT | RF | VM | AC | VIF | VIP | ID;
}
