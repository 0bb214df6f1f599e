package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.Alu.*;
import static org.hotvisor.vmx.cpu.x86.X86Core.*;

/**
 * The instructions the interpreter's hot switch does not handle itself: the rest of the integer
 * instruction set (SDM 2), plus dispatch to {@link Control} (far transfers, interrupts) and
 * {@link SystemOps} (system instructions and their VM exits).
 *
 * <p>{@link #execute} returns {@link #NEXT} to continue the block, {@link #EXIT} after recording a
 * VM exit (the interpreter moves RIP back to the instruction), or {@link #END_BLOCK} when the
 * instruction changed RIP or state the rest of the block depends on.
 */
final class Exec {
    static final int NEXT = 0, EXIT = 1, END_BLOCK = 2;
    /** A trap-like VM exit after the instruction completed (SDM 3C 29.1.2 TPR below threshold): RIP stays past it. */
    static final int TRAP_EXIT = 3;
    /** Iterations of a REP string instruction per execution before the interpreter looks at events again. */
    static final int REP_CHUNK = 1024;

    private final X86Core c;

    Exec(X86Core c) {
        this.c = c;
    }

    int execute(Insn in) {
        final X86Core c = this.c;
        switch (in.op()) {
            case Op.MOVSX_RR:
                Hot.movsxRR(c, in);
                return NEXT;
            case Op.MOVSX_RM:
                Hot.movsxRM(c, in);
                return NEXT;
            case Op.XCHG_RM: {
                long off = c.ea(in);
                c.checkWritable(in.seg(), off, in.size());
                long m = c.read(in.seg(), off, in.size());
                c.write(in.seg(), off, in.size(), c.getReg(in.reg(), in.regShift(), in.mask()));
                c.setReg(in.reg(), in.regShift(), in.mask(), m);
                return NEXT;
            }
            case Op.MOV_SEG_R, Op.MOV_SEG_M:
                Hot.movSeg(c, in);
                return afterSegmentLoad(in);
            case Op.MOV_R_SEG, Op.MOV_M_SEG:
                Hot.movFromSeg(c, in);
                return NEXT;
            case Op.PUSH_M: {
                long v = c.read(in.seg(), c.ea(in), in.size());
                c.push(v, in.size());
                return NEXT;
            }
            case Op.PUSH_SEG:
                Hot.pushSeg(c, in);
                return NEXT;
            case Op.POP_M: {
                // SDM 2 POP: ESP is incremented before the destination address is computed
                long sp = c.gpr[ESP];
                long v = c.read(SS, sp & c.spMask, in.size());
                c.adjustSp(in.size());
                try {
                    c.write(in.seg(), c.ea(in), in.size(), v);
                } catch (GuestFault f) {
                    c.gpr[ESP] = sp;
                    throw f;
                }
                return NEXT;
            }
            case Op.POP_SEG:
                Hot.popSeg(c, in);
                return afterSegmentLoad(in);
            case Op.PUSHA:
                Hot.pusha(c, in);
                return NEXT;
            case Op.POPA:
                Hot.popa(c, in);
                return NEXT;
            case Op.PUSHF:
                return c.sys.pushf(in);
            case Op.POPF:
                return c.sys.popf(in);
            case Op.CBW:
                Hot.cbw(c, in);
                return NEXT;
            case Op.CWD:
                Hot.cwd(c, in);
                return NEXT;
            case Op.LAHF:
                c.setReg(EAX, 8, 0xFF, (c.rflags() & 0xD5) | 2);
                return NEXT;
            case Op.SAHF: {
                long ah = (c.gpr[EAX] >>> 8) & 0xD5;
                long f = c.arithFlags();
                c.setArithFlags((f & ~0xD5L) | ah);
                return NEXT;
            }
            case Op.XLAT:
                Hot.xlat(c, in);
                return NEXT;
            case Op.BSWAP:
                Hot.bswap(c, in);
                return NEXT;
            case Op.CMOV_RR:
                Hot.cmovRR(c, in);
                return NEXT;
            case Op.CMOV_RM: {
                long v = c.read(in.seg(), c.ea(in), in.size());   // the operand is read even if the condition is false
                if (c.cond(in.sub())) {
                    c.setReg(in.reg(), 0, in.mask(), v);
                } else if (in.size() == 4) {
                    c.gpr[in.reg()] &= M32;
                }
                return NEXT;
            }
            case Op.SETCC_R:
                Hot.setccR(c, in);
                return NEXT;
            case Op.SETCC_M:
                c.write(in.seg(), c.ea(in), 1, c.cond(in.sub()) ? 1 : 0);
                return NEXT;
            case Op.LFP:
                Hot.loadFarPointer(c, in);
                return afterSegmentLoad(in);
            case Op.INC_M, Op.DEC_M:
                Hot.incDecM(c, in);
                return NEXT;
            case Op.NOT_R:
                Hot.notR(c, in);
                return NEXT;
            case Op.NOT_M: {
                long off = c.ea(in);
                c.checkWritable(in.seg(), off, in.size());
                c.write(in.seg(), off, in.size(), ~c.read(in.seg(), off, in.size()));
                return NEXT;
            }
            case Op.NEG_R:
                Hot.negR(c, in);
                return NEXT;
            case Op.NEG_M: {
                long off = c.ea(in);
                c.checkWritable(in.seg(), off, in.size());
                long a = c.read(in.seg(), off, in.size());
                long v = -a;
                c.flagsSub(0, a, v, in);
                c.write(in.seg(), off, in.size(), v);
                return NEXT;
            }
            case Op.SHIFT_M: {
                Hot.shiftM(c, in);
                return NEXT;
            }
            case Op.MUL1_R:
                mulDiv(in, c.getReg(in.reg(), in.regShift(), in.mask()));
                return NEXT;
            case Op.MUL1_M:
                Hot.mulDivM(c, in);
                return NEXT;
            case Op.IMUL_RMI:
                Hot.imulRMI(c, in);
                return NEXT;
            case Op.IMUL_RM:
                Hot.imulRM(c, in);
                return NEXT;
            case Op.SHLD_R, Op.SHRD_R:
                Hot.shiftDoubleR(c, in);
                return NEXT;
            case Op.SHLD_M, Op.SHRD_M:
                Hot.shiftDoubleM(c, in);
                return NEXT;
            case Op.BT_R, Op.BT_M:
                bitTest(in);
                return NEXT;
            case Op.BSF_R, Op.BSF_M, Op.BSR_R, Op.BSR_M:
                Hot.bitScan(c, in);
                return NEXT;
            case Op.XADD_R: {
                long d = c.getReg(in.reg(), in.regShift(), in.mask()), s = c.getReg(in.rm(), in.rmShift(), in.mask());
                long v = d + s;
                c.flagsAdd(d, s, v, in);
                c.setReg(in.rm(), in.rmShift(), in.mask(), d);
                c.setReg(in.reg(), in.regShift(), in.mask(), v);
                return NEXT;
            }
            case Op.XADD_M: {
                long off = c.ea(in);
                c.checkWritable(in.seg(), off, in.size());
                long d = c.read(in.seg(), off, in.size()), s = c.getReg(in.reg(), in.regShift(), in.mask());
                long v = d + s;
                c.write(in.seg(), off, in.size(), v);
                c.flagsAdd(d, s, v, in);
                c.setReg(in.reg(), in.regShift(), in.mask(), d);
                return NEXT;
            }
            case Op.CMPXCHG_R: {
                long acc = c.getReg(EAX, 0, in.mask());
                long d = c.getReg(in.reg(), in.regShift(), in.mask());
                c.flagsSub(acc, d, acc - d, in);
                if (acc == d) {
                    c.setReg(in.reg(), in.regShift(), in.mask(), c.getReg(in.rm(), in.rmShift(), in.mask()));
                } else {
                    c.setReg(EAX, 0, in.mask(), d);
                }
                return NEXT;
            }
            case Op.CMPXCHG_M: {
                long off = c.ea(in);
                c.checkWritable(in.seg(), off, in.size());
                long acc = c.getReg(EAX, 0, in.mask());
                long d = c.read(in.seg(), off, in.size());
                if (acc == d) {
                    c.write(in.seg(), off, in.size(), c.getReg(in.reg(), in.regShift(), in.mask()));
                } else {
                    c.write(in.seg(), off, in.size(), d);   // SDM 2 CMPXCHG: the destination is always written
                    c.setReg(EAX, 0, in.mask(), d);
                }
                c.flagsSub(acc, d, acc - d, in);
                return NEXT;
            }
            case Op.CMPXCHG8B: {
                long off = c.ea(in);
                c.checkWritable(in.seg(), off, 8);
                long m = c.read(in.seg(), off, 8);
                long edxEax = (c.gpr[EDX] & 0xFFFF_FFFFL) << 32 | (c.gpr[EAX] & 0xFFFF_FFFFL);
                if (m == edxEax) {
                    c.write(in.seg(), off, 8, (c.gpr[ECX] & 0xFFFF_FFFFL) << 32 | (c.gpr[EBX] & 0xFFFF_FFFFL));
                    c.setZf(true);
                } else {
                    c.write(in.seg(), off, 8, m);
                    c.setReg(EAX, 0, 0xFFFF_FFFFL, m);
                    c.setReg(EDX, 0, 0xFFFF_FFFFL, m >>> 32);
                    c.setZf(false);
                }
                return NEXT;
            }
            case Op.CMPXCHG16B:
                cmpxchg16b(in);
                return NEXT;
            case Op.DAA, Op.DAS, Op.AAA, Op.AAS, Op.AAM, Op.AAD, Op.SALC:
                Bcd.execute(c, in);
                return NEXT;
            case Op.JMP_R:
                Hot.jmpR(c, in);
                return END_BLOCK;
            case Op.JMP_M:
                Hot.jmpM(c, in);
                return END_BLOCK;
            case Op.CALL_R:
                return nearCall(in, c.getReg(in.reg(), 0, in.mask()));
            case Op.CALL_M:
                return nearCall(in, c.read(in.seg(), c.ea(in), in.size()));
            case Op.LOOP:
                loop(in);
                return END_BLOCK;
            case Op.ENTER:
                enter(in);
                return NEXT;
            case Op.LEAVE:
                Hot.leave(c, in);
                return NEXT;
            case Op.BOUND: {
                long off = c.ea(in);
                int sx = in.signShift();
                long lower = (c.read(in.seg(), off, in.size()) << sx) >> sx;
                long upper = (c.read(in.seg(), (off + in.size()) & in.addrMask(), in.size()) << sx) >> sx;
                long idx = (c.getReg(in.reg(), 0, in.mask()) << sx) >> sx;
                if (idx < lower || idx > upper) {
                    throw c.fault(Events.BR, -1);
                }
                return NEXT;
            }
            case Op.MOVS, Op.CMPS, Op.SCAS, Op.LODS, Op.STOS:
                return Strings.execute(c, in);
            case Op.INS, Op.OUTS, Op.IN, Op.OUT:
                return c.sys.io(in);
            case Op.CLC:
                c.setCf(false);
                return NEXT;
            case Op.STC:
                c.setCf(true);
                return NEXT;
            case Op.CMC:
                c.setCf(!c.cf());
                return NEXT;
            case Op.CLD:
                c.flagsOther &= ~DF;
                return NEXT;
            case Op.STD:
                c.flagsOther |= DF;
                return NEXT;
            case Op.CLI:
                return c.sys.cli();
            case Op.STI:
                return c.sys.sti();
            case Op.JMPF_PTR, Op.JMPF_M, Op.CALLF_PTR, Op.CALLF_M, Op.RETF, Op.IRET, Op.INT, Op.INT3, Op.INTO,
                    Op.INT1:
                return Control.execute(c, in);
            case Op.UD, Op.UD2:
                throw c.ud();
            case Op.GP0:
                throw c.gp(0);
            case Op.NOP:
                return NEXT;
            default:
                return c.sys.execute(in);
        }
    }

    /** After a load of SS: the interrupt shadow of MOV SS/POP SS/LSS ends the block (SDM 3A 6.8.3). */
    private int afterSegmentLoad(Insn in) {
        if (in.sub() == SS) {
            c.sys.movSsShadow();
            return END_BLOCK;
        }
        return NEXT;
    }

    private int nearCall(Insn in, long target) {
        target &= ipMaskOf(in);
        c.checkBranchTarget(target);
        c.push(c.rip, in.size());
        c.rip = target;
        return END_BLOCK;
    }

    static long ipMaskOf(Insn in) {
        return in.mask();
    }

    static long signExtend(long v, int size) {
        return switch (size) {
            case 1 -> (byte) v;
            case 2 -> (short) v;
            case 4 -> (int) v;
            default -> v;
        };
    }

    /** CMPXCHG16B (SDM 2 CMPXCHG8B/CMPXCHG16B): #GP(0) unless the operand is 16-byte aligned. */
    private void cmpxchg16b(Insn in) {
        long off = c.ea(in);
        long lin = (c.segBase[in.seg()] + off) & c.linMask;
        if ((lin & 15) != 0) {
            throw c.gp(0);
        }
        c.checkWritable(in.seg(), off, 8);
        c.checkWritable(in.seg(), off + 8, 8);
        long lo = c.read(in.seg(), off, 8), hi = c.read(in.seg(), off + 8, 8);
        if (lo == c.gpr[EAX] && hi == c.gpr[EDX]) {
            c.write(in.seg(), off, 8, c.gpr[EBX]);
            c.write(in.seg(), off + 8, 8, c.gpr[ECX]);
            c.setZf(true);
        } else {
            c.write(in.seg(), off, 8, lo);   // the destination is always written
            c.write(in.seg(), off + 8, 8, hi);
            c.gpr[EAX] = lo;
            c.gpr[EDX] = hi;
            c.setZf(false);
        }
    }

    void loop(Insn in) {
        long am = in.addrMask();
        long count = c.gpr[ECX] & am;
        boolean jump;
        if (in.sub() == 3) {
            jump = count == 0;   // JCXZ / JECXZ
        } else {
            count = (count - 1) & am;
            c.gpr[ECX] = (c.gpr[ECX] & ~am) | count;
            jump = count != 0;
            if (in.sub() == 0) {
                jump &= !c.zf();   // LOOPNE
            } else if (in.sub() == 1) {
                jump &= c.zf();    // LOOPE
            }
        }
        if (jump) {
            c.nearBranch(c.rip + in.imm(), in);
        }
    }

    /** ENTER (SDM 2 ENTER "Operation"). */
    private void enter(Insn in) {
        int size = in.size();
        long frame = in.imm() & 0xFFFF;
        int level = in.imm2() & 0x1F;
        long m = c.spMask;
        long sp = c.gpr[ESP];
        long s = (sp - size) & m;
        c.write(SS, s, size, c.gpr[EBP] & in.mask());
        long frameTemp = s;
        long bp = c.gpr[EBP];
        if (level > 0) {
            for (int k = 1; k < level; k++) {
                bp = (bp - size) & m;
                long v = c.read(SS, bp, size);
                s = (s - size) & m;
                c.write(SS, s, size, v);
            }
            s = (s - size) & m;
            c.write(SS, s, size, frameTemp);
        }
        s = (s - frame) & m;
        // the final stack pointer must be writable (SDM: #SS if it is beyond the limit)
        c.checkWritable(SS, s, 1);
        c.setReg(EBP, 0, in.mask(), frameTemp);
        c.gpr[ESP] = (sp & ~m) | s;
    }

    /** MUL / IMUL / DIV / IDIV with an implicit accumulator (SDM 2). */
    void mulDiv(Insn in, long src) {
        int size = in.size();
        int bits = size * 8;
        long mask = in.mask();
        int sx = in.signShift();
        long lo = c.getReg(EAX, 0, mask);
        long hi = size == 1 ? (c.gpr[EAX] >>> 8) & 0xFF : c.getReg(EDX, 0, mask);
        if (size == 8) {
            mulDiv64(in.sub(), lo, hi, src);
            return;
        }
        switch (in.sub()) {
            case 4 -> {   // MUL
                long p = lo * src;   // exact for 32x32 as an unsigned 64-bit value
                long pl = p & mask, ph = bits == 32 ? p >>> 32 : (p >>> bits) & mask;
                storeWide(size, pl, ph);
                c.lfRes = (pl << sx) >> sx;
                c.lfAux = ph != 0 ? AUX_CF : 0;
            }
            case 5 -> {   // IMUL
                long a = (lo << sx) >> sx, b = (src << sx) >> sx;
                long p = a * b;
                long pl = p & mask, ph = (p >> bits) & mask;
                storeWide(size, pl, ph);
                c.lfRes = (pl << sx) >> sx;
                c.lfAux = ((pl << sx) >> sx) != p ? AUX_CF : 0;
            }
            case 6 -> {   // DIV
                if (src == 0) {
                    throw c.fault(Events.DE, -1);
                }
                long dividend = (hi << bits) | lo;
                long q, r;
                if (bits == 32) {
                    q = Long.divideUnsigned(dividend, src);
                    r = Long.remainderUnsigned(dividend, src);
                } else {
                    q = dividend / src;
                    r = dividend % src;
                }
                if (Long.compareUnsigned(q, mask) > 0) {
                    throw c.fault(Events.DE, -1);
                }
                storeWide(size, q, r);
            }
            default -> {  // IDIV
                long divisor = (src << sx) >> sx;
                if (divisor == 0) {
                    throw c.fault(Events.DE, -1);
                }
                long dividend = bits == 32 ? (hi << 32) | lo : ((((hi << bits) | lo) << (64 - 2 * bits)) >> (64 - 2 * bits));
                if (dividend == Long.MIN_VALUE && divisor == -1) {
                    throw c.fault(Events.DE, -1);
                }
                long q = dividend / divisor, r = dividend % divisor;
                long min = -(1L << (bits - 1)), max = (1L << (bits - 1)) - 1;
                if (q < min || q > max) {
                    throw c.fault(Events.DE, -1);
                }
                storeWide(size, q & mask, r & mask);
            }
        }
    }

    /** MUL/IMUL/DIV/IDIV of RDX:RAX by a 64-bit operand (SDM 2): 128-bit products and dividends. */
    private void mulDiv64(int kind, long lo, long hi, long src) {
        switch (kind) {
            case 4 -> {
                long ph = Math.unsignedMultiplyHigh(lo, src);
                long pl = lo * src;
                c.gpr[EAX] = pl;
                c.gpr[EDX] = ph;
                c.lfRes = pl;
                c.lfAux = ph != 0 ? AUX_CF : 0;
            }
            case 5 -> {
                long ph = Math.multiplyHigh(lo, src);
                long pl = lo * src;
                c.gpr[EAX] = pl;
                c.gpr[EDX] = ph;
                c.lfRes = pl;
                c.lfAux = ph != (pl >> 63) ? AUX_CF : 0;
            }
            case 6 -> {
                if (src == 0) {
                    throw c.fault(Events.DE, -1);
                }
                if (hi == 0) {
                    c.gpr[EAX] = Long.divideUnsigned(lo, src);
                    c.gpr[EDX] = Long.remainderUnsigned(lo, src);
                    return;
                }
                java.math.BigInteger n = unsigned128(hi, lo);
                java.math.BigInteger[] qr = n.divideAndRemainder(unsigned128(0, src));
                if (qr[0].bitLength() > 64) {
                    throw c.fault(Events.DE, -1);
                }
                c.gpr[EAX] = qr[0].longValue();
                c.gpr[EDX] = qr[1].longValue();
            }
            default -> {
                if (src == 0) {
                    throw c.fault(Events.DE, -1);
                }
                if (hi == (lo >> 63)) {
                    if (lo == Long.MIN_VALUE && src == -1) {
                        throw c.fault(Events.DE, -1);
                    }
                    c.gpr[EAX] = lo / src;
                    c.gpr[EDX] = lo % src;
                    return;
                }
                java.math.BigInteger n = java.math.BigInteger.valueOf(hi).shiftLeft(64).add(unsigned128(0, lo));
                java.math.BigInteger[] qr = n.divideAndRemainder(java.math.BigInteger.valueOf(src));
                if (qr[0].bitLength() > 63) {
                    throw c.fault(Events.DE, -1);
                }
                c.gpr[EAX] = qr[0].longValue();
                c.gpr[EDX] = qr[1].longValue();
            }
        }
    }

    private static java.math.BigInteger unsigned128(long hi, long lo) {
        return new java.math.BigInteger(1, java.nio.ByteBuffer.allocate(16).putLong(hi).putLong(lo).array());
    }

    /** Stores a double-width result: AL/AH for bytes, else (E)AX and (E)DX. */
    private void storeWide(int size, long low, long high) {
        if (size == 1) {
            c.setReg(EAX, 0, 0xFFFF, (high & 0xFF) << 8 | (low & 0xFF));
        } else {
            long m = size == 4 ? 0xFFFF_FFFFL : 0xFFFF;
            c.setReg(EAX, 0, m, low);
            c.setReg(EDX, 0, m, high);
        }
    }

    /**
     * SHLD/SHRD (SDM 2). Counts above the operand width (16-bit forms) are undefined; this core
     * shifts the 32-bit concatenation, like Intel hardware for counts 17-31.
     */
    long shiftDouble(Insn in, long dest, long src) {
        int bits = in.size() * 8;
        int count = ((in.flags() & Insn.F_IMM_FORM) != 0 ? (int) in.imm() : (int) c.gpr[ECX]) & (bits == 64 ? 0x3F : 0x1F);
        if (count == 0) {
            return dest;
        }
        long mask = in.mask();
        boolean left = in.op() == Op.SHLD_R || in.op() == Op.SHLD_M;
        long v;
        boolean cfb;
        if (bits == 64) {
            if (left) {
                v = (dest << count) | (src >>> (64 - count));
                cfb = ((dest >>> (64 - count)) & 1) != 0;
            } else {
                v = (dest >>> count) | (src << (64 - count));
                cfb = ((dest >>> (count - 1)) & 1) != 0;
            }
        } else if (bits == 32) {
            if (left) {
                v = ((dest << count) | (src >>> (32 - count))) & mask;
                cfb = ((dest >>> (32 - count)) & 1) != 0;
            } else {
                v = ((dest >>> count) | (src << (32 - count))) & mask;
                cfb = ((dest >>> (count - 1)) & 1) != 0;
            }
        } else {
            // 16-bit: shift within dest:src:dest (48 bits) so counts 17-31 are deterministic
            long cat = (dest << 32) | (src << 16) | dest;
            if (left) {
                v = (cat >>> (32 - count)) & mask;
                cfb = ((cat >>> (48 - count)) & 1) != 0;
            } else {
                v = (cat >>> count) & mask;
                cfb = ((cat >>> (count - 1)) & 1) != 0;
            }
        }
        int sx = in.signShift();
        c.lfRes = (v << sx) >> sx;
        boolean o = (((v ^ dest) >>> (bits - 1)) & 1) != 0;   // sign change (defined for count 1)
        c.lfAux = (cfb ? AUX_CF : 0) | (cfb != o ? AUX_PO : 0);
        return v;
    }

    /** BT/BTS/BTR/BTC (SDM 2 BT: register bit offsets address beyond the operand in memory). */
    void bitTest(Insn in) {
        int bits = in.size() * 8;
        boolean imm = (in.flags() & Insn.F_IMM_FORM) != 0;
        // the bit-offset register: ModRM.reg, which the decoder put in rm for the register form
        long offset = imm ? in.imm() : c.getReg(in.op() == Op.BT_R ? in.rm() : in.reg(), 0, in.mask());
        int kind = in.sub();   // 4 BT, 5 BTS, 6 BTR, 7 BTC
        if (in.op() == Op.BT_R) {
            int bit = (int) (offset & (bits - 1));
            long v = c.getReg(in.reg(), 0, in.mask());
            boolean old = ((v >>> bit) & 1) != 0;
            c.setCf(old);
            if (kind != 4) {
                c.setReg(in.reg(), 0, in.mask(), modifyBit(kind, v, bit));
            }
            return;
        }
        long off = c.ea(in);
        int bit;
        if (imm) {
            bit = (int) (offset & (bits - 1));
        } else {
            int sx = in.signShift();
            long so = (offset << sx) >> sx;
            off = (off + (so >> (bits == 64 ? 6 : bits == 32 ? 5 : 4)) * in.size()) & in.addrMask();
            bit = (int) (so & (bits - 1));
        }
        if (kind != 4) {
            c.checkWritable(in.seg(), off, in.size());
        }
        long v = c.read(in.seg(), off, in.size());
        boolean old = ((v >>> bit) & 1) != 0;
        if (kind != 4) {
            c.write(in.seg(), off, in.size(), modifyBit(kind, v, bit));
        }
        c.setCf(old);
    }

    private static long modifyBit(int kind, long v, int bit) {
        return switch (kind) {
            case 5 -> v | (1L << bit);
            case 6 -> v & ~(1L << bit);
            default -> v ^ (1L << bit);
        };
    }
}
