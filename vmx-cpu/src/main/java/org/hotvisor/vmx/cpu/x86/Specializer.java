package org.hotvisor.vmx.cpu.x86;

/**
 * The decoder's second pass: rewrites the most frequent generic forms into operation ids that fix
 * the operand size (32 bits) and the ALU/shift kind or condition, so the interpreter's cases need
 * no inner dispatch. Semantics are unchanged; only {@link Insn#op} (and the immediate's extension)
 * differ.
 */
final class Specializer {
    private Specializer() {
    }

    static Insn specialize(Insn in) {
        if (in.op() == Op.JCC) {
            return in.withOp(Op.JCC_CC + in.sub(), in.imm());
        }
        if (in.size() != 4) {
            return in;
        }
        return switch (in.op()) {
            case Op.ALU_RR -> in.withOp(Op.ALU32_RR + in.sub(), in.imm());
            case Op.ALU_RI -> in.withOp(Op.ALU32_RI + in.sub(), in.imm() & 0xFFFF_FFFFL);
            case Op.ALU_RM -> in.withOp(Op.ALU32_RM + in.sub(), in.imm());
            case Op.ALU_MR -> in.sub() == Alu.TEST || in.sub() == Alu.CMP || (in.flags() & Insn.F_LOCK) == 0
                    ? in.withOp(Op.ALU32_MR + in.sub(), in.imm()) : in;
            case Op.MOV_RR -> in.withOp(Op.MOV32_RR, in.imm());
            case Op.MOV_RM -> in.withOp(Op.MOV32_RM, in.imm());
            case Op.MOV_MR -> in.withOp(Op.MOV32_MR, in.imm());
            case Op.MOV_RI -> in.withOp(Op.MOV32_RI, in.imm() & 0xFFFF_FFFFL);
            case Op.MOV_MI -> in.withOp(Op.MOV32_MI, in.imm() & 0xFFFF_FFFFL);
            case Op.INC_R -> in.withOp(Op.INC32_R, in.imm());
            case Op.DEC_R -> in.withOp(Op.DEC32_R, in.imm());
            case Op.PUSH_R -> in.withOp(Op.PUSH32_R, in.imm());
            case Op.POP_R -> in.withOp(Op.POP32_R, in.imm());
            case Op.LEA -> in.withOp(Op.LEA32, in.imm());
            case Op.SHIFT_R -> (in.flags() & Insn.F_IMM_FORM) != 0 && (in.imm() & 0x1F) != 0 && in.sub() != Alu.RCL
                    && in.sub() != Alu.RCR ? in.withOp(Op.SHIFT32_RI + in.sub(), in.imm() & 0x1F) : in;
            default -> in;
        };
    }
}
