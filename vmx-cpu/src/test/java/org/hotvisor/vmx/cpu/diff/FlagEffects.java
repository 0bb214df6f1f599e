package org.hotvisor.vmx.cpu.diff;

/**
 * The architecturally defined EFLAGS effects of every instruction group the generator emits: which
 * status flags an instruction reads, which it sets to defined values and which it leaves
 * UNDEFINED. The generator tracks undefined flags through a sequence; a case's EFLAGS are compared
 * only on flags that are defined at its end, and no instruction may read an undefined flag.
 *
 * <p>Sources: SDM Vol. 1 Appendix A, Table A-2 "EFLAGS Cross-Reference", and the "Flags Affected"
 * paragraph of each instruction page in SDM Vol. 2 (cited per entry). Flags not named in an effect
 * are unaffected.
 */
final class FlagEffects {

    // EFLAGS bits (SDM Vol. 1 3.4.3, Figure 3-8)
    static final int CF = 1 << 0;
    static final int PF = 1 << 2;
    static final int AF = 1 << 4;
    static final int ZF = 1 << 6;
    static final int SF = 1 << 7;
    static final int DF = 1 << 10;
    static final int OF = 1 << 11;
    static final int STATUS = CF | PF | AF | ZF | SF | OF;
    /** Bit 1 of EFLAGS is reserved and always reads 1 (SDM Vol. 1 3.4.3). */
    static final int RESERVED_ONE = 1 << 1;

    /**
     * The EFLAGS bits a case line compares when all status flags are defined: bits 15:0 (status
     * flags, DF, the always-0/always-1 reserved bits, TF, IF, IOPL, NT), AC (18) and ID (21).
     * RF (16) is excluded: PUSHFD stores it as 0 anyway (SDM Vol. 2B PUSHF). VM (17), VIF, VIP
     * (19, 20) cannot change in 32-bit protected mode at CPL 0 through the instructions generated.
     */
    static final int COMPARED = 0x0024_ffff;

    /** What one instruction does to the status flags and DF. */
    record Effect(int read, int written, int undefined) {
        Effect {
            if ((written & undefined) != 0) {
                throw new IllegalArgumentException("a flag is either written or undefined");
            }
        }

        /** The undefined set after this instruction, given the undefined set before it. */
        int apply(int undefinedBefore) {
            return (undefinedBefore & ~written) | undefined;
        }
    }

    static final Effect NONE = new Effect(0, 0, 0);

    // ADD, SUB, CMP, NEG, XADD, CMPXCHG, CMPS, SCAS: OF SF ZF AF CF PF set per result
    // (SDM Vol. 2A ADD, SUB, CMP, NEG; 2B XADD; 2A CMPXCHG, CMPS; 2B SCAS).
    static final Effect ARITHMETIC = new Effect(0, STATUS, 0);
    // ADC, SBB additionally read CF (SDM Vol. 2A ADC, 2B SBB).
    static final Effect ARITHMETIC_WITH_CARRY = new Effect(CF, STATUS, 0);
    // AND, OR, XOR, TEST: OF and CF cleared, SF ZF PF per result, AF undefined
    // (SDM Vol. 2A AND, 2B OR, XOR, TEST).
    static final Effect LOGIC = new Effect(0, CF | OF | SF | ZF | PF, AF);
    // INC, DEC: CF unaffected, OF SF ZF AF PF per result (SDM Vol. 2A INC, DEC).
    static final Effect INC_DEC = new Effect(0, OF | SF | ZF | AF | PF, 0);
    // MUL, IMUL (all forms): OF and CF defined, SF ZF AF PF undefined (SDM Vol. 2A IMUL, 2B MUL).
    static final Effect MULTIPLY = new Effect(0, CF | OF, SF | ZF | AF | PF);
    // DIV, IDIV: CF OF SF ZF AF PF all undefined (SDM Vol. 2A DIV, IDIV).
    static final Effect DIVIDE = new Effect(0, 0, STATUS);
    // BT, BTS, BTR, BTC: CF = the bit, ZF unaffected, OF SF AF PF undefined (SDM Vol. 2A BT, BTC, BTR, BTS).
    static final Effect BIT_TEST = new Effect(0, CF, OF | SF | AF | PF);
    // BSF, BSR: ZF defined (set for a zero source), CF OF SF AF PF undefined (SDM Vol. 2A BSF, BSR).
    static final Effect BIT_SCAN = new Effect(0, ZF, CF | OF | SF | AF | PF);
    // CMPXCHG8B: ZF defined; the SDM (Vol. 2A CMPXCHG8B) leaves CF PF AF SF OF unaffected, but QEMU 7.2
    // TCG computes them from a stale lazy-flags state (e.g. ADD 80000000h+80000000h then CMPXCHG8B
    // clears CF/PF/OF there), so the reference cannot judge them: they are not compared.
    static final Effect COMPARE_EXCHANGE_8B = new Effect(0, ZF, CF | PF | AF | SF | OF);
    /**
     * The same QEMU bug puts garbage into other bits of its EFLAGS image (TF, IF, IOPL, reserved
     * bits seen) until an instruction rewrites all status flags: only ZF is compared then.
     */
    static final int VISIBLE_AFTER_CMPXCHG8B = ZF;
    // DAA, DAS: CF AF SF ZF PF defined, OF undefined; read AF and CF (SDM Vol. 2A DAA, DAS).
    static final Effect DECIMAL_ADJUST = new Effect(AF | CF, CF | AF | SF | ZF | PF, OF);
    // AAA, AAS: AF CF defined, OF SF ZF PF undefined; read AF (SDM Vol. 2A AAA, AAS).
    static final Effect ASCII_ADJUST = new Effect(AF, AF | CF, OF | SF | ZF | PF);
    // AAM, AAD: SF ZF PF defined, OF AF CF undefined (SDM Vol. 2A AAM, AAD).
    static final Effect ASCII_ADJUST_MUL_DIV = new Effect(0, SF | ZF | PF, OF | AF | CF);
    // LAHF reads SF ZF AF PF CF (SDM Vol. 2A LAHF); SAHF writes them from AH (SDM Vol. 2B SAHF).
    static final Effect LAHF = new Effect(SF | ZF | AF | PF | CF, 0, 0);
    static final Effect SAHF = new Effect(0, SF | ZF | AF | PF | CF, 0);
    // CLC, STC write CF; CMC reads and writes it; CLD, STD write DF (SDM Vol. 2A CLC, CMC, CLD; 2B STC, STD).
    static final Effect CARRY_WRITE = new Effect(0, CF, 0);
    static final Effect CARRY_COMPLEMENT = new Effect(CF, CF, 0);
    static final Effect DIRECTION_WRITE = new Effect(0, DF, 0);
    // PUSHF copies every flag to memory, so every flag must be defined (SDM Vol. 2B PUSHF).
    static final Effect PUSH_FLAGS = new Effect(STATUS | DF, 0, 0);
    // POPF writes them all (SDM Vol. 2B POPF).
    static final Effect POP_FLAGS = new Effect(0, STATUS | DF, 0);
    // String instructions read DF (SDM Vol. 2A CMPS, LODS, MOVS; 2B SCAS, STOS).
    static final Effect STRING_MOVE = new Effect(DF, 0, 0);
    static final Effect STRING_COMPARE = new Effect(DF, STATUS, 0);

    /** The flags a condition code reads (SDM Vol. 1 Appendix B, Table B-1). */
    static int conditionReads(int cc) {
        return switch (cc >>> 1) {
            case 0 -> OF;                 // O, NO
            case 1 -> CF;                 // B, AE
            case 2 -> ZF;                 // E, NE
            case 3 -> CF | ZF;            // BE, A
            case 4 -> SF;                 // S, NS
            case 5 -> PF;                 // P, NP
            case 6 -> SF | OF;            // L, GE
            default -> ZF | SF | OF;      // LE, G
        };
    }

    static Effect condition(int cc) {
        return new Effect(conditionReads(cc), 0, 0);
    }

    /** Shift and rotate kinds in ModRM.reg order of opcodes C0/C1/D0-D3 (/6 is an undocumented SHL alias, not generated). */
    enum ShiftKind { ROL, ROR, RCL, RCR, SHL, SHR, SAL_ALIAS, SAR }

    /**
     * Shifts and rotates with a given count (SDM Vol. 2B SAL/SAR/SHL/SHR, Vol. 2B RCL/RCR/ROL/ROR).
     * The count is masked to 5 bits first; a masked count of 0 affects no flag.
     */
    static Effect shift(ShiftKind kind, int width, int count) {
        int masked = count & 0x1f;
        boolean readsCarry = kind == ShiftKind.RCL || kind == ShiftKind.RCR;
        if (masked == 0) {
            return new Effect(readsCarry ? CF : 0, 0, 0);
        }
        // "The OF flag is affected only for 1-bit shifts/rotates; otherwise it is undefined."
        int overflow = masked == 1 ? OF : 0;
        int overflowUndefined = masked == 1 ? 0 : OF;
        switch (kind) {
            case ROL, ROR, RCL, RCR -> {
                // Rotates: CF and OF only; SF ZF AF PF unaffected.
                return new Effect(readsCarry ? CF : 0, CF | overflow, overflowUndefined);
            }
            case SHL, SAL_ALIAS, SHR -> {
                // "CF ... is undefined for SHL and SHR where the count is greater than or equal to
                // the size of the destination"; "for a non-zero count, the AF flag is undefined".
                boolean carryDefined = masked < width;
                return new Effect(0, SF | ZF | PF | overflow | (carryDefined ? CF : 0),
                        AF | overflowUndefined | (carryDefined ? 0 : CF));
            }
            default -> {
                // SAR: CF is the last bit shifted out (the sign bit once the count reaches the width).
                return new Effect(0, SF | ZF | PF | CF | overflow, AF | overflowUndefined);
            }
        }
    }

    /**
     * SHLD, SHRD (SDM Vol. 2B): count 0 affects nothing; a count above the operand size leaves
     * the destination and all flags undefined; otherwise CF SF ZF PF defined, OF only for a count
     * of 1, AF undefined.
     */
    static Effect doubleShift(int width, int count) {
        int masked = count & 0x1f;
        if (masked == 0) {
            return NONE;
        }
        if (masked > width) {
            return new Effect(0, 0, STATUS);
        }
        int overflow = masked == 1 ? OF : 0;
        return new Effect(0, CF | SF | ZF | PF | overflow, AF | (masked == 1 ? 0 : OF));
    }

    /** The EFLAGS mask a case prints with, given the status flags undefined at its end. */
    static int comparedMask(int undefinedAtEnd) {
        return COMPARED & ~undefinedAtEnd;
    }

    /** "CF PF" style names of a flag set, for failure messages. */
    static String names(int flags) {
        String[] names = {"CF", "1", "PF", "3", "AF", "5", "ZF", "SF", "TF", "IF", "DF", "OF", "IOPL0", "IOPL1", "NT",
            "15", "RF", "VM", "AC", "VIF", "VIP", "ID"};
        StringBuilder text = new StringBuilder();
        for (int bit = 0; bit < names.length; bit++) {
            if ((flags & (1 << bit)) != 0) {
                text.append(text.isEmpty() ? "" : " ").append(names[bit]);
            }
        }
        return text.toString();
    }

    private FlagEffects() {
    }
}
