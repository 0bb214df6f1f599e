package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.Alu.*;
import static org.hotvisor.vmx.cpu.x86.X86Core.*;

/**
 * The frequent instructions as small static handlers {@code (core, insn[, kind])}. The interpreter
 * calls them from its switch; {@link BlockCompiler} emits calls to them with the {@link Insn} as a
 * constant, so HotSpot folds the operand fields and the kind switches away. RIP already points
 * past the instruction when a handler runs.
 */
final class Hot {
    private Hot() {
    }

    // ---- generic sizes ----

    static void movRR(X86Core c, Insn in) {
        c.setReg(in.reg(), in.regShift(), in.mask(), c.getReg(in.rm(), in.rmShift(), in.mask()));
    }

    static void movRM(X86Core c, Insn in) {
        c.setReg(in.reg(), in.regShift(), in.mask(), c.read(in.seg(), c.ea(in), in.size()));
    }

    static void movMR(X86Core c, Insn in) {
        c.write(in.seg(), c.ea(in), in.size(), c.getReg(in.reg(), in.regShift(), in.mask()));
    }

    static void movRI(X86Core c, Insn in) {
        c.setReg(in.reg(), in.regShift(), in.mask(), in.imm());
    }

    static void movMI(X86Core c, Insn in) {
        c.write(in.seg(), c.ea(in), in.size(), in.imm());
    }

    static void lea(X86Core c, Insn in) {
        c.setReg(in.reg(), 0, in.mask(), c.ea(in));
    }

    static void movzxRR(X86Core c, Insn in) {
        c.setReg(in.reg(), 0, in.mask(), c.getReg(in.rm(), in.rmShift(), in.sub() == 1 ? 0xFF : 0xFFFF));
    }

    static void movzxRM(X86Core c, Insn in) {
        c.setReg(in.reg(), 0, in.mask(), c.read(in.seg(), c.ea(in), in.sub()));
    }

    static void aluRR(X86Core c, Insn in) {
        long v = c.alu(in.sub(), c.getReg(in.reg(), in.regShift(), in.mask()), c.getReg(in.rm(), in.rmShift(), in.mask()),
                in);
        if (in.sub() < CMP) {
            c.setReg(in.reg(), in.regShift(), in.mask(), v);
        }
    }

    static void aluRI(X86Core c, Insn in) {
        long v = c.alu(in.sub(), c.getReg(in.reg(), in.regShift(), in.mask()), in.imm() & in.mask(), in);
        if (in.sub() < CMP) {
            c.setReg(in.reg(), in.regShift(), in.mask(), v);
        }
    }

    static void aluRM(X86Core c, Insn in) {
        long v = c.alu(in.sub(), c.getReg(in.reg(), in.regShift(), in.mask()), c.read(in.seg(), c.ea(in), in.size()), in);
        if (in.sub() < CMP) {
            c.setReg(in.reg(), in.regShift(), in.mask(), v);
        }
    }

    static void aluMR(X86Core c, Insn in) {
        aluMem(c, in, c.getReg(in.reg(), in.regShift(), in.mask()));
    }

    static void aluMI(X86Core c, Insn in) {
        aluMem(c, in, in.imm() & in.mask());
    }

    private static void aluMem(X86Core c, Insn in, long src) {
        int kind = in.sub();
        long off = c.ea(in);
        if (kind >= CMP) {
            c.alu(kind, c.read(in.seg(), off, in.size()), src, in);
            return;
        }
        // read-modify-write: check writability first so a read-only page faults as a write (SDM 3A 4.7)
        c.checkWritable(in.seg(), off, in.size());
        long v = c.alu(kind, c.read(in.seg(), off, in.size()), src, in);
        c.write(in.seg(), off, in.size(), v);
    }

    static void incR(X86Core c, Insn in) {
        long a = c.getReg(in.reg(), in.regShift(), in.mask());
        long v = a + 1;
        c.flagsIncDec(a, 1, v, in, false);
        c.setReg(in.reg(), in.regShift(), in.mask(), v);
    }

    static void decR(X86Core c, Insn in) {
        long a = c.getReg(in.reg(), in.regShift(), in.mask());
        long v = a - 1;
        c.flagsIncDec(a, 1, v, in, true);
        c.setReg(in.reg(), in.regShift(), in.mask(), v);
    }

    static void jmpRel(X86Core c, Insn in) {
        c.nearBranch(c.rip + in.imm(), in);
    }

    static void callRel(X86Core c, Insn in) {
        long target = (c.rip + in.imm()) & ipMask(in);
        c.checkBranchTarget(target);
        c.push(c.rip, in.size());
        c.rip = target;
    }

    /** JMP r/m through memory: a compiled switch's dispatch (gcc's jump tables). */
    static void jmpM(X86Core c, Insn in) {
        c.nearBranch(c.read(in.seg(), c.ea(in), in.size()), in);
    }

    static void jmpR(X86Core c, Insn in) {
        c.nearBranch(c.getReg(in.reg(), 0, in.mask()), in);
    }

    /** INC and DEC of a memory operand (a C guest's counters in memory). */
    static void incDecM(X86Core c, Insn in) {
        long off = c.ea(in);
        c.checkWritable(in.seg(), off, in.size());
        long a = c.read(in.seg(), off, in.size());
        boolean dec = in.op() == Op.DEC_M;
        long v = dec ? a - 1 : a + 1;
        c.flagsIncDec(a, 1, v, in, dec);
        c.write(in.seg(), off, in.size(), v);
    }

    static void ret(X86Core c, Insn in) {
        long[] r = c.gpr;
        long spMask = c.spMask;
        long sp = r[ESP] & spMask;
        c.nearBranch(c.read(SS, sp, in.size()), in);   // faults leave ESP untouched
        r[ESP] = (r[ESP] & ~spMask) | ((sp + in.size() + in.imm()) & spMask);
    }

    static void pushR(X86Core c, Insn in) {
        c.push(c.gpr[in.reg()] & in.mask(), in.size());
    }

    static void popR(X86Core c, Insn in) {
        long v = c.pop(in.size());
        c.setReg(in.reg(), 0, in.mask(), v);
    }

    static void pushI(X86Core c, Insn in) {
        c.push(in.imm() & in.mask(), in.size());
    }

    static void shiftR(X86Core c, Insn in) {
        int n = (in.flags() & Insn.F_IMM_FORM) != 0 ? (int) in.imm() : (int) c.gpr[ECX];
        c.setReg(in.reg(), in.regShift(), in.mask(),
                c.shift(in.sub(), c.getReg(in.reg(), in.regShift(), in.mask()), n, in));
    }

    static void imulRRI(X86Core c, Insn in) {
        c.setReg(in.reg(), 0, in.mask(), c.imul(c.getReg(in.rm(), 0, in.mask()), in.imm(), in));
    }

    static void imulRR(X86Core c, Insn in) {
        c.setReg(in.reg(), 0, in.mask(), c.imul(c.getReg(in.rm(), 0, in.mask()), c.getReg(in.reg(), 0, in.mask()), in));
    }

    static void imulRM(X86Core c, Insn in) {
        c.setReg(in.reg(), 0, in.mask(), c.imul(c.read(in.seg(), c.ea(in), in.size()), c.getReg(in.reg(), 0, in.mask()), in));
    }

    static void imulRMI(X86Core c, Insn in) {
        c.setReg(in.reg(), 0, in.mask(), c.imul(c.read(in.seg(), c.ea(in), in.size()), in.imm(), in));
    }

    /** MOVSX/MOVSXD from memory; sub = the source size (1, 2 or 4). */
    static void movsxRM(X86Core c, Insn in) {
        c.setReg(in.reg(), 0, in.mask(), Exec.signExtend(c.read(in.seg(), c.ea(in), in.sub()), in.sub()));
    }

    /** MOVSX/MOVSXD between registers; sub = the source size (1, 2 or 4; SDM 2 MOVSX/MOVSXD). */
    static void movsxRR(X86Core c, Insn in) {
        long v = c.getReg(in.rm(), in.rmShift(), in.sub() == 4 ? M32 : in.sub() == 1 ? 0xFF : 0xFFFF);
        c.setReg(in.reg(), 0, in.mask(), Exec.signExtend(v, in.sub()));
    }

    static void bswap(X86Core c, Insn in) {
        long v = c.gpr[in.reg()];
        if (in.size() == 8) {
            c.gpr[in.reg()] = Long.reverseBytes(v);
        } else if (in.size() == 4) {
            c.setReg(in.reg(), 0, 0xFFFF_FFFFL, Integer.reverseBytes((int) v) & 0xFFFF_FFFFL);
        } else {
            c.setReg(in.reg(), 0, 0xFFFF, 0);   // BSWAP r16 is undefined; Intel hardware clears the register
        }
    }

    static void notR(X86Core c, Insn in) {
        c.setReg(in.reg(), in.regShift(), in.mask(), ~c.getReg(in.reg(), in.regShift(), in.mask()));
    }

    static void negR(X86Core c, Insn in) {
        long a = c.getReg(in.reg(), in.regShift(), in.mask());
        long v = -a;
        c.flagsSub(0, a, v, in);
        c.setReg(in.reg(), in.regShift(), in.mask(), v);
    }

    /** CBW / CWDE / CDQE. */
    static void cbw(X86Core c, Insn in) {
        long v = in.size() == 8 ? (int) c.gpr[X86Core.EAX] : in.size() == 4 ? (short) c.gpr[X86Core.EAX] : (byte) c.gpr[X86Core.EAX];
        c.setReg(X86Core.EAX, 0, in.mask(), v);
    }

    /** CWD / CDQ / CQO: rDX = the sign of rAX. */
    static void cwd(X86Core c, Insn in) {
        long a = c.getReg(X86Core.EAX, 0, in.mask());
        boolean neg = ((a >>> (in.size() * 8 - 1)) & 1) != 0;
        c.setReg(X86Core.EDX, 0, in.mask(), neg ? -1 : 0);
    }

    static void xlat(X86Core c, Insn in) {
        long off = (c.gpr[X86Core.EBX] + (c.gpr[X86Core.EAX] & 0xFF)) & in.addrMask();
        c.setReg(X86Core.EAX, 0, 0xFF, c.read(in.seg(), off, 1));
    }

    /** LEAVE: rSP = rBP, then pop rBP (the read can fault before anything changes). */
    static void leave(X86Core c, Insn in) {
        long sp = c.gpr[X86Core.EBP] & c.spMask;
        long v = c.read(X86Core.SS, sp, in.size());
        c.gpr[X86Core.ESP] = (c.gpr[X86Core.ESP] & ~c.spMask) | ((sp + in.size()) & c.spMask);
        c.setReg(X86Core.EBP, 0, in.mask(), v);
    }

    /** BSF/BSR from a register or memory (SDM 2 BSF/BSR). */
    static void bitScan(X86Core c, Insn in) {
        boolean mem = in.op() == Op.BSF_M || in.op() == Op.BSR_M;
        long src = mem ? c.read(in.seg(), c.ea(in), in.size()) : c.getReg(in.rm(), 0, in.mask());
        if (src == 0) {
            c.setZf(true);   // destination unchanged (undefined in the SDM; Intel leaves it)
            return;
        }
        boolean forward = in.op() == Op.BSF_R || in.op() == Op.BSF_M;
        long idx = forward ? Long.numberOfTrailingZeros(src) : 63 - Long.numberOfLeadingZeros(src);
        c.setReg(in.reg(), 0, in.mask(), idx);
        c.setZf(false);
    }

    // ---- segment registers and whole-register-file pushes (SS loads end the block: Exec does those) ----

    /** MOV Sreg, r/m16 (the caller keeps MOV SS, whose interrupt shadow ends the block). */
    static void movSeg(X86Core c, Insn in) {
        int sel = (int) (in.op() == Op.MOV_SEG_R ? c.getReg(in.rm(), 0, 0xFFFF) : c.read(in.seg(), c.ea(in), 2));
        c.segs.loadDataSegment(in.sub(), sel);
    }

    /** MOV r/m16, Sreg (a register destination takes the operand size's width, zero-extended). */
    static void movFromSeg(X86Core c, Insn in) {
        int sel = c.segments[in.sub()].selector & 0xFFFF;
        if (in.op() == Op.MOV_R_SEG) {
            c.setReg(in.reg(), 0, in.mask(), sel);
        } else {
            c.write(in.seg(), c.ea(in), 2, sel);
        }
    }

    static void pushSeg(X86Core c, Insn in) {
        int sel = c.segments[in.sub()].selector & 0xFFFF;
        if (in.size() >= 4) {
            // 32/64-bit push of a segment register writes only the low 16 bits (SDM 2 PUSH, recent processors)
            long sp = (c.gpr[X86Core.ESP] - in.size()) & c.spMask;
            c.write(X86Core.SS, sp, 2, sel);
            c.gpr[X86Core.ESP] = (c.gpr[X86Core.ESP] & ~c.spMask) | sp;
        } else {
            c.push(sel, 2);
        }
    }

    /** POP Sreg: the selector is loaded before rSP moves, so a faulting load leaves rSP as it was. */
    static void popSeg(X86Core c, Insn in) {
        long sp = c.gpr[X86Core.ESP] & c.spMask;
        int sel = (int) c.read(X86Core.SS, sp, in.size()) & 0xFFFF;
        c.segs.loadDataSegment(in.sub(), sel);
        c.adjustSp(in.size());
    }

    /** LDS, LES, LFS, LGS, LSS: offset and selector read first, then the segment, then the register. */
    static void loadFarPointer(X86Core c, Insn in) {
        long off = c.ea(in);
        long v = c.read(in.seg(), off, in.size());
        int sel = (int) c.read(in.seg(), (off + in.size()) & in.addrMask(), 2);
        c.segs.loadDataSegment(in.sub(), sel);
        c.setReg(in.reg(), 0, in.mask(), v);
    }

    static void pusha(X86Core c, Insn in) {
        int size = in.size();
        long sp = c.gpr[X86Core.ESP];
        long m = c.spMask;
        long s = sp;
        for (int r = X86Core.EAX; r <= X86Core.EDI; r++) {
            s = (s - size) & m;
            long v = r == X86Core.ESP ? sp : c.gpr[r];
            c.write(X86Core.SS, s, size, v & in.mask());
        }
        c.gpr[X86Core.ESP] = (sp & ~m) | s;
    }

    /** POPA/POPAD: every value read before any register changes (a fault leaves them all). */
    static void popa(X86Core c, Insn in) {
        int size = in.size();
        long m = c.spMask;
        long s = c.gpr[X86Core.ESP] & m;
        long[] v = c.popaValues;
        for (int r = X86Core.EDI; r >= X86Core.EAX; r--) {
            v[r] = c.read(X86Core.SS, s, size);
            s = (s + size) & m;
        }
        for (int r = X86Core.EAX; r <= X86Core.EDI; r++) {
            if (r != X86Core.ESP) {
                c.setReg(r, 0, in.mask(), v[r]);
            }
        }
        c.gpr[X86Core.ESP] = (c.gpr[X86Core.ESP] & ~m) | s;
    }

    static void cmovRR(X86Core c, Insn in) {
        if (c.cond(in.sub())) {
            c.setReg(in.reg(), 0, in.mask(), c.getReg(in.rm(), 0, in.mask()));
        } else if (in.size() == 4) {
            c.gpr[in.reg()] &= M32;   // SDM 2 CMOVcc: 32-bit operands zero-extend even when false
        }
    }

    static void setccR(X86Core c, Insn in) {
        c.setReg(in.reg(), in.regShift(), 0xFF, c.cond(in.sub()) ? 1 : 0);
    }

    /** MUL, IMUL, DIV or IDIV of EDX:EAX by a register (DIV and IDIV may raise #DE). */
    static void mulDivR(X86Core c, Insn in) {
        c.ops.mulDiv(in, c.getReg(in.reg(), in.regShift(), in.mask()));
    }

    /** MUL, IMUL, DIV or IDIV of EDX:EAX by a memory operand. */
    static void mulDivM(X86Core c, Insn in) {
        c.ops.mulDiv(in, c.read(in.seg(), c.ea(in), in.size()));
    }

    /** A shift or rotate of a memory operand by an immediate, 1 or CL; a masked count of 0 writes nothing. */
    static void shiftM(X86Core c, Insn in) {
        long off = c.ea(in);
        int count = (in.flags() & Insn.F_IMM_FORM) != 0 ? (int) in.imm() : (int) c.gpr[ECX];
        c.checkWritable(in.seg(), off, in.size());
        long a = c.read(in.seg(), off, in.size());
        if ((count & (in.size() == 8 ? 0x3F : 0x1F)) != 0) {
            c.write(in.seg(), off, in.size(), c.shift(in.sub(), a, count, in));
        }
    }

    /** SHLD or SHRD of a register (compilers' 64-bit shifts in 32-bit code). */
    static void shiftDoubleR(X86Core c, Insn in) {
        long v = c.ops.shiftDouble(in, c.getReg(in.reg(), 0, in.mask()), c.getReg(in.rm(), 0, in.mask()));
        c.setReg(in.reg(), 0, in.mask(), v);
    }

    /** SHLD or SHRD of a memory operand. */
    static void shiftDoubleM(X86Core c, Insn in) {
        long off = c.ea(in);
        c.checkWritable(in.seg(), off, in.size());
        long a = c.read(in.seg(), off, in.size());
        c.write(in.seg(), off, in.size(), c.ops.shiftDouble(in, a, c.getReg(in.reg(), 0, in.mask())));
    }

    /** BT, BTS, BTR, BTC of a register, or of memory (a register bit offset may address beyond the operand). */
    static void bitTest(X86Core c, Insn in) {
        c.ops.bitTest(in);
    }

    /** LOOP, LOOPE, LOOPNE, JECXZ: RIP is the next instruction's unless it jumps. */
    static void loop(X86Core c, Insn in) {
        c.ops.loop(in);
    }

    /** MOVS, CMPS, SCAS, LODS or STOS without REP (REP forms take the general path: they yield). */
    static void stringOnce(X86Core c, Insn in) {
        Strings.once(c, in);
    }

    static void xchgRR(X86Core c, Insn in) {
        long a = c.getReg(in.reg(), in.regShift(), in.mask());
        c.setReg(in.reg(), in.regShift(), in.mask(), c.getReg(in.rm(), in.rmShift(), in.mask()));
        c.setReg(in.rm(), in.rmShift(), in.mask(), a);
    }

    // ---- 32-bit forms ----

    // in 64-bit mode a register may hold bits 63:32: 32-bit sources are truncated, results zero-extended

    static void mov32RR(X86Core c, Insn in) {
        c.gpr[in.reg()] = c.gpr[in.rm()] & M32;
    }

    static void mov32RM(X86Core c, Insn in) {
        c.gpr[in.reg()] = c.read(in.seg(), c.ea(in), 4);
    }

    static void mov32MR(X86Core c, Insn in) {
        c.write(in.seg(), c.ea(in), 4, c.gpr[in.reg()]);
    }

    static void mov32RI(X86Core c, Insn in) {
        c.gpr[in.reg()] = in.imm();
    }

    static void mov32MI(X86Core c, Insn in) {
        c.write(in.seg(), c.ea(in), 4, in.imm());
    }

    static void lea32(X86Core c, Insn in) {
        c.gpr[in.reg()] = c.ea(in) & M32;   // a 64-bit address truncated to the 32-bit operand size
    }

    static void inc32R(X86Core c, Insn in) {
        long[] r = c.gpr;
        long v = (r[in.reg()] + 1) & M32;
        r[in.reg()] = v;
        int cfBit = c.lfAux & AUX_CF;
        int ofBit = v == 0x8000_0000L ? AUX_CF : 0;
        c.lfAux = cfBit | ((cfBit ^ ofBit) >>> 1) | ((v & 0xF) == 0 ? AUX_AF : 0);
        c.lfRes = (int) v;
    }

    static void dec32R(X86Core c, Insn in) {
        long[] r = c.gpr;
        long v = (r[in.reg()] - 1) & M32;
        r[in.reg()] = v;
        int cfBit = c.lfAux & AUX_CF;
        int ofBit = v == 0x7FFF_FFFFL ? AUX_CF : 0;
        c.lfAux = cfBit | ((cfBit ^ ofBit) >>> 1) | ((v & 0xF) == 0xF ? AUX_AF : 0);
        c.lfRes = (int) v;
    }

    static void push32R(X86Core c, Insn in) {
        c.push(c.gpr[in.reg()], 4);
    }

    static void pop32R(X86Core c, Insn in) {
        long v = c.pop(4);
        c.gpr[in.reg()] = v;
    }

    private static long alu32(X86Core c, int kind, long a, long b) {
        return switch (kind) {
            case ADD -> c.add32(a, b);
            case OR -> c.logic32(a | b);
            case ADC -> c.adc32(a, b);
            case SBB -> c.sbb32(a, b);
            case AND, TEST -> c.logic32(a & b);
            case SUB, CMP -> c.sub32(a, b);
            default -> c.logic32(a ^ b);
        };
    }

    static void alu32RR(X86Core c, Insn in, int kind) {
        long[] r = c.gpr;
        long v = alu32(c, kind, r[in.reg()], r[in.rm()]);
        if (kind < CMP) {
            r[in.reg()] = v;
        }
    }

    static void alu32RI(X86Core c, Insn in, int kind) {
        long[] r = c.gpr;
        long v = alu32(c, kind, r[in.reg()], in.imm());
        if (kind < CMP) {
            r[in.reg()] = v;
        }
    }

    static void alu32RM(X86Core c, Insn in, int kind) {
        long b = c.read(in.seg(), c.ea(in), 4);
        long[] r = c.gpr;
        long v = alu32(c, kind, r[in.reg()], b);
        if (kind < CMP) {
            r[in.reg()] = v;
        }
    }

    static void alu32MR(X86Core c, Insn in, int kind) {
        long off = c.ea(in);
        if (kind >= CMP) {
            alu32(c, kind, c.read(in.seg(), off, 4), c.gpr[in.reg()]);
            return;
        }
        c.checkWritable(in.seg(), off, 4);
        c.write(in.seg(), off, 4, alu32(c, kind, c.read(in.seg(), off, 4), c.gpr[in.reg()]));
    }

    // shifts/rotates of a 32-bit register by an immediate count 1-31 (one small handler per kind so
    // each inlines; RCL/RCR stay generic)

    static void rol32(X86Core c, Insn in) {
        long[] r = c.gpr;
        int v = Integer.rotateLeft((int) r[in.reg()], (int) in.imm());
        r[in.reg()] = v & M32;
        int cfBit = v << 31;                    // CF = bit 0 of the result
        int ofBit = (v ^ cfBit) & AUX_CF;       // OF = MSB(result) XOR CF
        c.lfAux = (c.lfAux & ~(AUX_CF | AUX_PO)) | cfBit | ((cfBit ^ ofBit) >>> 1);
    }

    static void ror32(X86Core c, Insn in) {
        long[] r = c.gpr;
        int v = Integer.rotateRight((int) r[in.reg()], (int) in.imm());
        r[in.reg()] = v & M32;
        int cfBit = v & AUX_CF;                 // CF = MSB of the result
        int po = (v << 1) & AUX_CF;             // CF ^ OF = bit 30 (OF = bit 31 ^ bit 30)
        c.lfAux = (c.lfAux & ~(AUX_CF | AUX_PO)) | cfBit | (po >>> 1);
    }

    static void shl32(X86Core c, Insn in) {
        long[] r = c.gpr;
        int n = (int) in.imm();
        long a = r[in.reg()];
        long v = (a << n) & M32;
        r[in.reg()] = v;
        int cfBit = (int) (a >>> (32 - n)) << 31;
        int ofBit = ((int) v ^ cfBit) & AUX_CF;
        c.lfAux = cfBit | ((cfBit ^ ofBit) >>> 1);
        c.lfRes = (int) v;
    }

    static void shr32(X86Core c, Insn in) {
        long[] r = c.gpr;
        int n = (int) in.imm();
        long a = r[in.reg()] & M32;
        long v = a >>> n;
        r[in.reg()] = v;
        int cfBit = (int) (a >>> (n - 1)) << 31;
        int ofBit = n == 1 ? (int) a & AUX_CF : 0;
        c.lfAux = cfBit | ((cfBit ^ ofBit) >>> 1);
        c.lfRes = (int) v;
    }

    static void sar32(X86Core c, Insn in) {
        long[] r = c.gpr;
        int n = (int) in.imm();
        int a = (int) r[in.reg()];
        int v = a >> n;
        r[in.reg()] = v & M32;
        int cfBit = (a >> (n - 1)) << 31;
        c.lfAux = cfBit | (cfBit >>> 1);        // OF = 0 -> PO = CF
        c.lfRes = v;
    }

    static void jcc(X86Core c, Insn in, int cc) {
        if (c.cond(cc)) {
            c.nearBranch(c.rip + in.imm(), in);
        }
    }
}
