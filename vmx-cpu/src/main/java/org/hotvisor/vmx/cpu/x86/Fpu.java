package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.SoftFloat.DE;
import static org.hotvisor.vmx.cpu.x86.SoftFloat.DOUBLE;
import static org.hotvisor.vmx.cpu.x86.SoftFloat.EQUAL;
import static org.hotvisor.vmx.cpu.x86.SoftFloat.EXTENDED;
import static org.hotvisor.vmx.cpu.x86.SoftFloat.GREATER;
import static org.hotvisor.vmx.cpu.x86.SoftFloat.IE;
import static org.hotvisor.vmx.cpu.x86.SoftFloat.INDEFINITE_SE;
import static org.hotvisor.vmx.cpu.x86.SoftFloat.INDEFINITE_SIG;
import static org.hotvisor.vmx.cpu.x86.SoftFloat.LESS;
import static org.hotvisor.vmx.cpu.x86.SoftFloat.OE;
import static org.hotvisor.vmx.cpu.x86.SoftFloat.PE;
import static org.hotvisor.vmx.cpu.x86.SoftFloat.SINGLE;
import static org.hotvisor.vmx.cpu.x86.SoftFloat.UE;
import static org.hotvisor.vmx.cpu.x86.SoftFloat.ZE;
import static org.hotvisor.vmx.cpu.x86.X86Core.CR0_EM;
import static org.hotvisor.vmx.cpu.x86.X86Core.CR0_NE;
import static org.hotvisor.vmx.cpu.x86.X86Core.CR0_TS;

/**
 * The x87 FPU (SDM 1 chapter 8; SDM 2 the F* instruction pages): escape opcodes D8-DF on
 * {@link FpuState}. Arithmetic is exact in double extended precision with the precision and
 * rounding controls ({@link SoftFloat}); the transcendental instructions (F2XM1, FYL2X, FYL2XP1,
 * FPTAN, FPATAN, FSIN, FCOS, FSINCOS) go through {@link StrictMath} on doubles and are
 * approximate in their last bits (they are inexact on hardware too, SDM 1 8.3.10).
 *
 * <p>Exceptions (SDM 1 8.4-8.7): flags accumulate in FSW; an unmasked one sets ES and B and is
 * reported as #MF by the next waiting x87 instruction (or WAIT) when CR0.NE = 1. With CR0.NE = 0
 * the PC would signal FERR# to the interrupt controller (IRQ 13, SDM 1 8.7); this core has no
 * line to the PIC for that, so the pending exception is not reported (as with IGNNE# asserted)
 * and counted in {@link #legacyErrorsIgnored}.
 *
 * <p>Priority of the pre-execution checks: #NM (CR0.EM or CR0.TS, SDM 3A 2.5 Table 2-2) first,
 * then the pending #MF, then memory-operand faults.
 */
final class Fpu {
    // FSW bits (SDM 1 8.1.3, Figure 8-4)
    static final int FSW_SF = 1 << 6, FSW_ES = 1 << 7, FSW_C0 = 1 << 8, FSW_C1 = 1 << 9, FSW_C2 = 1 << 10,
            FSW_C3 = 1 << 14, FSW_B = 1 << 15, FSW_TOP_SHIFT = 11, FSW_TOP = 7 << FSW_TOP_SHIFT;
    static final int FSW_CONDITION = FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3;
    static final int FSW_EXCEPTIONS = 0x3F;
    // FCW (SDM 1 8.1.5): bits 6, 7 and 15:13 reserved; bit 6 reads as 1
    static final int FCW_WRITABLE = 0x1F3F, FCW_RESERVED_ONE = 0x40, FCW_PC_SHIFT = 8;
    // EFLAGS bits set by FCOMI (SDM 2 FCOMI)
    static final long CF = 1, PF = 1 << 2, AF = 1 << 4, ZF = 1 << 6, SF = 1 << 7, OF = 1 << 11;
    /** Physical exponent bits 79:64 that an MMX write sets to all ones (SDM 1 9.5.1). */
    static final int MMX_SIGN_EXPONENT = 0xFFFF;
    static final int INDEFINITE_16 = 0x8000;
    /** Packed BCD: 18 digits (SDM 1 4.7). */
    static final long BCD_MAX = 999_999_999_999_999_999L;
    static final int ENV_16 = 14, ENV_32 = 28, REGISTERS_BYTES = 80;

    // constants (SDM 2 FLD1/FLDL2T/...): the 64-bit significand truncated, and whether the exact
    // value lies above the halfway point of the next bit (rounding to nearest then adds one)
    private static final int[] CONST_SE = {0x3FFF, 0x4000, 0x3FFF, 0x4000, 0x3FFD, 0x3FFE, 0};
    private static final long[] CONST_SIG = {SoftFloat.INTEGER_BIT, 0xD49A_784B_CD1B_8AFEL, 0xB8AA_3B29_5C17_F0BBL,
        0xC90F_DAA2_2168_C234L, 0x9A20_9A84_FBCF_F798L, 0xB172_17F7_D1CF_79ABL, 0};
    private static final boolean[] CONST_INEXACT = {false, true, true, true, true, true, false};
    private static final boolean[] CONST_NEAREST_UP = {false, false, true, true, true, true, false};

    private final X86Core c;
    private final FpuState f;
    final SoftFloat sf = new SoftFloat();
    /** Unmasked exceptions not reported because CR0.NE = 0 (see the class comment). */
    long legacyErrorsIgnored;

    Fpu(X86Core c) {
        this.c = c;
        this.f = c.fpu;
    }

    // ---- entry points ----

    /** WAIT/FWAIT (SDM 2 WAIT): #NM if CR0.MP and CR0.TS, then a pending unmasked exception. */
    int fwait() {
        if ((c.cr0 & (X86Core.CR0_MP | CR0_TS)) == (X86Core.CR0_MP | CR0_TS)) {
            throw c.fault(Events.NM, -1);
        }
        checkPending();
        return Exec.NEXT;
    }

    /** An x87 escape instruction D8-DF: {@code in.sub()} is the low three opcode bits. */
    int execute(Insn in) {
        if ((c.cr0 & (CR0_EM | CR0_TS)) != 0) {
            throw c.fault(Events.NM, -1);   // SDM 3A 2.5, Table 2-2
        }
        int esc = in.sub();
        int modrm = in.modrm();
        int reg = (modrm >>> 3) & 7;
        boolean mem = in.isMem();
        if (!nonWaiting(esc, reg, modrm, mem)) {
            checkPending();
        }
        if (mem) {
            return memory(in, esc, reg);
        }
        return register(in, esc, reg, modrm & 7, modrm);
    }

    /** Checks for a pending unmasked exception before a waiting instruction (SDM 1 8.6). */
    void checkPending() {
        if ((f.fsw & FSW_ES) == 0) {
            return;
        }
        if ((c.cr0 & CR0_NE) != 0) {
            throw c.fault(Events.MF, -1);
        }
        legacyErrorsIgnored++;
    }

    private static boolean nonWaiting(int esc, int reg, int modrm, boolean mem) {
        if (mem) {
            return (esc == 1 && (reg == 6 || reg == 7)) || (esc == 5 && (reg == 6 || reg == 7));
        }
        return (esc == 3 && (modrm == 0xE0 || modrm == 0xE1 || modrm == 0xE2 || modrm == 0xE3 || modrm == 0xE4))
                || (esc == 7 && modrm == 0xE0);
    }

    // ---- stack and status helpers ----

    int top() {
        return (f.fsw >>> FSW_TOP_SHIFT) & 7;
    }

    private void setTop(int t) {
        f.fsw = (f.fsw & ~FSW_TOP) | (t & 7) << FSW_TOP_SHIFT;
    }

    private int phys(int i) {
        return (top() + i) & 7;
    }

    boolean empty(int i) {
        return f.tag(phys(i)) == FpuState.TAG_EMPTY;
    }

    int stSe(int i) {
        return f.signExponent(phys(i));
    }

    long stSig(int i) {
        return f.significand(phys(i));
    }

    /** Writes ST(i) and its tag (SDM 1 8.1.7). */
    void setSt(int i, int se, long sig) {
        int r = phys(i);
        f.store(r, se, sig);
        f.setTag(r, tagOf(se, sig));
    }

    static int tagOf(int se, long sig) {
        int e = se & SoftFloat.EXP_MASK;
        if (e == SoftFloat.EXP_MASK) {
            return FpuState.TAG_SPECIAL;
        }
        if (e == 0) {
            return sig == 0 ? FpuState.TAG_ZERO : FpuState.TAG_SPECIAL;
        }
        return sig < 0 ? FpuState.TAG_VALID : FpuState.TAG_SPECIAL;
    }

    private void pop() {
        f.setTag(phys(0), FpuState.TAG_EMPTY);
        setTop(top() + 1);
    }

    private void setC1(boolean v) {
        f.fsw = v ? f.fsw | FSW_C1 : f.fsw & ~FSW_C1;
    }

    private void setConditions(int bits) {
        f.fsw = (f.fsw & ~FSW_CONDITION) | bits;
    }

    /**
     * Records exception flags; unmasked ones set ES and B. Returns true when the result must not
     * be delivered: an unmasked IE, DE or ZE, or (memory destination) an unmasked OE or UE.
     */
    private boolean raise(int exceptions, boolean memoryDestination) {
        f.fsw |= exceptions & (FSW_EXCEPTIONS | FSW_SF);
        int unmasked = exceptions & ~f.fcw & FSW_EXCEPTIONS;
        if (unmasked != 0) {
            f.fsw |= FSW_ES | FSW_B;
        }
        int blocking = IE | DE | ZE | (memoryDestination ? OE | UE : 0);
        return (unmasked & blocking) != 0;
    }

    /** Stack underflow (SDM 1 8.5.1.1): IE and SF, C1 = 0; true if the masked response applies. */
    private boolean stackUnderflow() {
        setC1(false);
        return !raise(IE | FSW_SF, false);
    }

    /** Stack overflow: IE and SF, C1 = 1; true if the masked response applies. */
    private boolean stackOverflow() {
        boolean masked = !raise(IE | FSW_SF, false);
        setC1(true);
        return masked;
    }

    /** Pushes a value (SDM 1 8.1.2); on overflow the masked response pushes the indefinite. */
    private void push(int se, long sig) {
        int t = (top() - 1) & 7;
        if (f.tag(t) != FpuState.TAG_EMPTY) {
            if (!stackOverflow()) {
                return;
            }
            se = INDEFINITE_SE;
            sig = INDEFINITE_SIG;
        }
        setTop(t);
        setSt(0, se, sig);
    }

    private int precision() {
        return switch ((f.fcw >>> FCW_PC_SHIFT) & 3) {
            case 0 -> 24;
            case 2 -> 53;
            default -> 64;   // 11b double extended; 01b is reserved
        };
    }

    private void begin() {
        sf.flags = 0;
        sf.roundedUp = false;
        sf.configureX87(f.fcw);
    }

    /** Records the last non-control instruction (SDM 1 8.1.8): FOP, FIP/FCS and, with memory, FDP/FDS. */
    private void recordPointers(Insn in, long dataOffset) {
        f.fop = (in.sub() << 8) | in.modrm();
        f.fip = (c.rip - in.len()) & 0xFFFF_FFFFL;
        f.fcs = c.segments[X86Core.CS].selector & 0xFFFF;
        if (in.isMem()) {
            f.fdp = dataOffset & 0xFFFF_FFFFL;
            f.fds = c.segments[in.seg()].selector & 0xFFFF;
        }
    }

    // ---- memory forms ----

    private int memory(Insn in, int esc, int reg) {
        long off = c.ea(in);
        int seg = in.seg();
        switch (esc) {
            case 0, 2, 4, 6: {
                // arithmetic with m32fp (D8), m32int (DA), m64fp (DC), m16int (DE)
                int operandSe;
                long operandSig;
                int denormal = 0;
                begin();
                switch (esc) {
                    case 0 -> {
                        int v = (int) c.read(seg, off, 4);
                        denormal = SoftFloat.isDenormalSingle(v) ? DE : 0;
                        sf.fromSingle(v);
                    }
                    case 4 -> {
                        long v = c.read(seg, off, 8);
                        denormal = SoftFloat.isDenormalDouble(v) ? DE : 0;
                        sf.fromDouble(v);
                    }
                    case 2 -> sf.fromLong((int) c.read(seg, off, 4));
                    default -> sf.fromLong((short) c.read(seg, off, 2));
                }
                operandSe = sf.se;
                operandSig = sf.sig;
                recordPointers(in, off);
                sf.flags |= denormal;
                arithmetic(reg, 0, operandSe, operandSig, false, false);
                return Exec.NEXT;
            }
            case 1:
                return memoryD9(in, reg, seg, off);
            case 3:
                return memoryDB(in, reg, seg, off);
            case 5:
                return memoryDD(in, reg, seg, off);
            default:
                return memoryDF(in, reg, seg, off);
        }
    }

    private int memoryD9(Insn in, int reg, int seg, long off) {
        switch (reg) {
            case 0: {   // FLD m32fp
                int v = (int) c.read(seg, off, 4);
                recordPointers(in, off);
                loadConverted(SoftFloat.isDenormalSingle(v), false, v);
                return Exec.NEXT;
            }
            case 2, 3: {   // FST/FSTP m32fp
                c.checkWritable(seg, off, 4);
                recordPointers(in, off);
                storeFloat(seg, off, SINGLE, reg == 3);
                return Exec.NEXT;
            }
            case 4:   // FLDENV
                loadEnvironment(in, seg, off);
                return Exec.NEXT;
            case 5: {   // FLDCW
                int v = (int) c.read(seg, off, 2);
                loadControlWord(v);
                return Exec.NEXT;
            }
            case 6:   // FNSTENV
                storeEnvironment(in, seg, off);
                f.fcw |= FSW_EXCEPTIONS;   // SDM 2 FSTENV: then masks all exceptions
                return Exec.NEXT;
            case 7:   // FNSTCW
                c.write(seg, off, 2, f.fcw);
                return Exec.NEXT;
            default:
                throw c.ud();
        }
    }

    private int memoryDB(Insn in, int reg, int seg, long off) {
        switch (reg) {
            case 0: {   // FILD m32int
                long v = (int) c.read(seg, off, 4);
                recordPointers(in, off);
                sf.fromLong(v);
                push(sf.se, sf.sig);
                return Exec.NEXT;
            }
            case 1, 2, 3:   // FISTTP, FIST, FISTP m32int
                c.checkWritable(seg, off, 4);
                recordPointers(in, off);
                storeInteger(seg, off, 4, reg == 1, reg != 2);
                return Exec.NEXT;
            case 5: {   // FLD m80fp: no conversion, no exception but stack overflow
                long sig = c.read(seg, off, 8);
                int se = (int) c.read(seg, off + 8 & in.addrMask(), 2);
                recordPointers(in, off);
                push(se, sig);
                return Exec.NEXT;
            }
            case 7: {   // FSTP m80fp
                c.checkWritable(seg, off, 8);
                c.checkWritable(seg, off + 8 & in.addrMask(), 2);
                recordPointers(in, off);
                int se;
                long sig;
                if (empty(0)) {
                    if (!stackUnderflow()) {
                        return Exec.NEXT;
                    }
                    se = INDEFINITE_SE;
                    sig = INDEFINITE_SIG;
                } else {
                    se = stSe(0);
                    sig = stSig(0);
                }
                c.write(seg, off, 8, sig);
                c.write(seg, off + 8 & in.addrMask(), 2, se);
                pop();
                return Exec.NEXT;
            }
            default:
                throw c.ud();
        }
    }

    private int memoryDD(Insn in, int reg, int seg, long off) {
        switch (reg) {
            case 0: {   // FLD m64fp
                long v = c.read(seg, off, 8);
                recordPointers(in, off);
                loadConverted(SoftFloat.isDenormalDouble(v), true, v);
                return Exec.NEXT;
            }
            case 1:   // FISTTP m64int
                c.checkWritable(seg, off, 8);
                recordPointers(in, off);
                storeInteger(seg, off, 8, true, true);
                return Exec.NEXT;
            case 2, 3:   // FST/FSTP m64fp
                c.checkWritable(seg, off, 8);
                recordPointers(in, off);
                storeFloat(seg, off, DOUBLE, reg == 3);
                return Exec.NEXT;
            case 4:   // FRSTOR
                restoreState(in, seg, off);
                return Exec.NEXT;
            case 6:   // FNSAVE
                saveState(in, seg, off);
                return Exec.NEXT;
            case 7:   // FNSTSW m16
                c.write(seg, off, 2, f.fsw);
                return Exec.NEXT;
            default:
                throw c.ud();
        }
    }

    private int memoryDF(Insn in, int reg, int seg, long off) {
        switch (reg) {
            case 0, 5: {   // FILD m16int / m64int
                long v = reg == 0 ? (short) c.read(seg, off, 2) : c.read(seg, off, 8);
                recordPointers(in, off);
                sf.fromLong(v);
                push(sf.se, sf.sig);
                return Exec.NEXT;
            }
            case 1, 2, 3:   // FISTTP, FIST, FISTP m16int
                c.checkWritable(seg, off, 2);
                recordPointers(in, off);
                storeInteger(seg, off, 2, reg == 1, reg != 2);
                return Exec.NEXT;
            case 7:   // FISTP m64int
                c.checkWritable(seg, off, 8);
                recordPointers(in, off);
                storeInteger(seg, off, 8, false, true);
                return Exec.NEXT;
            case 4: {   // FBLD m80bcd
                long low = c.read(seg, off, 8);
                int high = (int) c.read(seg, off + 8 & in.addrMask(), 2);
                recordPointers(in, off);
                long v = 0;
                for (int k = 1; k >= 0; k--) {
                    v = v * 10 + ((high >>> (4 * k)) & 0xF);   // byte 8: digits 17, 16
                }
                for (int k = 15; k >= 0; k--) {
                    v = v * 10 + ((low >>> (4 * k)) & 0xF);   // digits above 9 are undefined (SDM 2 FBLD)
                }
                sf.fromLong((high & 0x8000) != 0 ? -v : v);
                int se = sf.se;
                if (v == 0 && (high & 0x8000) != 0) {
                    se = SoftFloat.SIGN;   // -0 keeps its sign
                }
                push(se, sf.sig);
                return Exec.NEXT;
            }
            case 6: {   // FBSTP m80bcd
                c.checkWritable(seg, off, 8);
                c.checkWritable(seg, off + 8 & in.addrMask(), 2);
                recordPointers(in, off);
                storeBcd(seg, off, in.addrMask());
                return Exec.NEXT;
            }
            default:
                throw c.ud();
        }
    }

    /** FLD m32fp/m64fp: exact conversion; SNaN is invalid (then quiet), a denormal raises DE. */
    private void loadConverted(boolean denormal, boolean isDouble, long v) {
        begin();
        if (isDouble) {
            sf.fromDouble(v);
        } else {
            sf.fromSingle((int) v);
        }
        int se = sf.se;
        long sig = sf.sig;
        int exceptions = denormal ? DE : 0;
        if (SoftFloat.classify(se, sig) == SoftFloat.SNAN) {
            exceptions |= IE;
            sig |= SoftFloat.QUIET_BIT;
        }
        if (raise(exceptions, false)) {
            return;
        }
        push(se, sig);
    }

    private void storeFloat(int seg, long off, int format, boolean popAfter) {
        int size = format == DOUBLE ? 8 : 4;
        long bits;
        if (empty(0)) {
            if (!stackUnderflow()) {
                return;
            }
            bits = format == DOUBLE ? SoftFloat.DOUBLE_INDEFINITE : SoftFloat.SINGLE_INDEFINITE & 0xFFFF_FFFFL;
        } else {
            begin();
            sf.convert(stSe(0), stSig(0), format, SoftFloat.FORMAT_PRECISION[format]);
            setC1(sf.roundedUp);
            if (raise(sf.flags, true)) {
                return;
            }
            bits = sf.bits;
        }
        c.write(seg, off, size, bits);
        if (popAfter) {
            pop();
        }
    }

    private void storeInteger(int seg, long off, int bytes, boolean truncate, boolean popAfter) {
        long v;
        if (empty(0)) {
            if (!stackUnderflow()) {
                return;
            }
            v = bytes == 8 ? Long.MIN_VALUE : bytes == 4 ? Integer.MIN_VALUE : INDEFINITE_16;
        } else {
            begin();
            v = sf.toInteger(stSe(0), stSig(0), bytes, truncate);
            setC1(sf.roundedUp);
            if (raise(sf.flags, true)) {
                return;
            }
        }
        c.write(seg, off, bytes, v);
        if (popAfter) {
            pop();
        }
    }

    private void storeBcd(int seg, long off, long mask) {
        long low;
        int high;
        if (empty(0)) {
            if (!stackUnderflow()) {
                return;
            }
            low = 0xC000_0000_0000_0000L;   // packed BCD indefinite (SDM 1 4.7, Table 4-4)
            high = 0xFFFF;
        } else {
            begin();
            int se = stSe(0);
            long v = sf.toInteger(se, stSig(0), 8, false);
            long magnitude = Math.abs(v);
            if ((sf.flags & IE) == 0 && (v == Long.MIN_VALUE || magnitude > BCD_MAX)) {
                sf.flags = (sf.flags & ~PE) | IE;
            }
            setC1(sf.roundedUp);
            if (raise(sf.flags, true)) {
                return;
            }
            if ((sf.flags & IE) != 0) {
                low = 0xC000_0000_0000_0000L;
                high = 0xFFFF;
            } else {
                low = 0;
                for (int k = 0; k < 16; k++) {
                    low |= (magnitude % 10) << (4 * k);
                    magnitude /= 10;
                }
                high = (int) (magnitude % 10) | (int) (magnitude / 10 % 10) << 4;
                if ((se & SoftFloat.SIGN) != 0) {
                    high |= 0x8000;
                }
            }
        }
        c.write(seg, off, 8, low);
        c.write(seg, off + 8 & mask, 2, high);
        pop();
    }

    /**
     * The eight arithmetic operations of D8/DC/DA/DE. {@code kind}: ModRM.reg with 4/5 and 6/7
     * meaning x-y / y-x and x/y / y/x where x is the destination. {@code dst} is the destination
     * ST(i) (ST0 for the memory and D8 forms); y is the operand.
     */
    private void arithmetic(int kind, int dst, int ySe, long ySig, boolean yEmpty, boolean popAfter) {
        if (kind == 2 || kind == 3) {
            compareSt0(ySe, ySig, yEmpty, true, kind == 3 ? 1 : 0);
            return;
        }
        if (empty(dst) || yEmpty) {
            if (stackUnderflow()) {
                setSt(dst, INDEFINITE_SE, INDEFINITE_SIG);
                if (popAfter) {
                    pop();
                }
            }
            return;
        }
        int xSe = stSe(dst);
        long xSig = stSig(dst);
        int p = precision();
        switch (kind) {
            case 0 -> sf.add(xSe, xSig, ySe, ySig, false, EXTENDED, p);
            case 1 -> sf.multiply(xSe, xSig, ySe, ySig, EXTENDED, p);
            case 4 -> sf.add(xSe, xSig, ySe, ySig, true, EXTENDED, p);
            case 5 -> sf.add(ySe, ySig, xSe, xSig, true, EXTENDED, p);
            case 6 -> sf.divide(xSe, xSig, ySe, ySig, EXTENDED, p);
            default -> sf.divide(ySe, ySig, xSe, xSig, EXTENDED, p);
        }
        deliver(dst, popAfter);
    }

    /** Writes the SoftFloat result to ST(dst) unless an unmasked exception blocks it; C1 = rounded up. */
    private void deliver(int dst, boolean popAfter) {
        setC1(sf.roundedUp);
        if (raise(sf.flags, false)) {
            return;
        }
        setSt(dst, sf.se, sf.sig);
        if (popAfter) {
            pop();
        }
    }

    /** FCOM/FCOMP/FUCOM/FICOM... against ST0: C3 C2 C0 (SDM 2 FCOM Table 3-21), then pops. */
    private void compareSt0(int ySe, long ySig, boolean yEmpty, boolean signaling, int pops) {
        if (empty(0) || yEmpty) {
            if (stackUnderflow()) {
                setConditions(FSW_C3 | FSW_C2 | FSW_C0);
                for (int k = 0; k < pops; k++) {
                    pop();
                }
            }
            return;
        }
        int r = sf.compare(stSe(0), stSig(0), ySe, ySig, signaling);
        if (raise(sf.flags, false)) {
            return;   // unmasked invalid: condition codes unchanged, no pop
        }
        setConditions(switch (r) {
            case LESS -> FSW_C0;
            case EQUAL -> FSW_C3;
            case GREATER -> 0;
            default -> FSW_C3 | FSW_C2 | FSW_C0;
        });
        for (int k = 0; k < pops; k++) {
            pop();
        }
    }

    /** FCOMI/FUCOMI(P): ZF PF CF from the comparison; OF SF AF cleared (SDM 2 FCOMI). */
    private void compareToEflags(int i, boolean signaling, boolean popAfter) {
        begin();
        if (empty(0) || empty(i)) {
            if (stackUnderflow()) {
                setEflags(ZF | PF | CF);
                if (popAfter) {
                    pop();
                }
            }
            return;
        }
        int r = sf.compare(stSe(0), stSig(0), stSe(i), stSig(i), signaling);
        setC1(false);
        if (raise(sf.flags, false)) {
            return;
        }
        setEflags(switch (r) {
            case LESS -> CF;
            case EQUAL -> ZF;
            case GREATER -> 0;
            default -> ZF | PF | CF;
        });
        if (popAfter) {
            pop();
        }
    }

    private void setEflags(long bits) {
        long fl = c.arithFlags() & ~(ZF | PF | CF | OF | SF | AF);
        c.setArithFlags(fl | bits);
    }

    // ---- register forms ----

    private int register(Insn in, int esc, int reg, int i, int modrm) {
        switch (esc) {
            case 0: {   // D8: ST0 = ST0 op ST(i)
                begin();
                recordPointers(in, 0);
                arithmetic(reg, 0, stSe(i), stSig(i), empty(i), false);
                return Exec.NEXT;
            }
            case 4, 6: {   // DC/DE: ST(i) = ST(i) op ST0, with the 4/5 and 6/7 reversal; DE pops
                begin();
                recordPointers(in, 0);
                boolean popAfter = esc == 6;
                if (reg == 2 || reg == 3) {
                    if (esc == 6 && reg == 3 && i != 1) {
                        throw c.ud();   // DE D8+i: only D9 (FCOMPP) is defined
                    }
                    // DC D0/D8 and DE D0 are aliases of FCOM/FCOMP; DE D9 is FCOMPP
                    int pops = esc == 6 ? (reg == 3 ? 2 : 1) : reg == 3 ? 1 : 0;
                    compareSt0(stSe(i), stSig(i), empty(i), true, pops);
                    return Exec.NEXT;
                }
                int kind = reg >= 4 ? reg ^ 1 : reg;
                arithmetic(kind, i, stSe(0), stSig(0), empty(0), popAfter);
                return Exec.NEXT;
            }
            case 1:
                return registerD9(in, reg, i, modrm);
            case 2:
                return registerDA(in, reg, i, modrm);
            case 3:
                return registerDB(in, reg, i, modrm);
            case 5:
                return registerDD(in, reg, i);
            default:
                return registerDF(in, reg, i, modrm);
        }
    }

    private int registerD9(Insn in, int reg, int i, int modrm) {
        switch (reg) {
            case 0: {   // FLD ST(i)
                recordPointers(in, 0);
                begin();
                if (empty(i)) {
                    if (stackUnderflow()) {
                        push(INDEFINITE_SE, INDEFINITE_SIG);
                    }
                    return Exec.NEXT;
                }
                int se = stSe(i);
                long sig = stSig(i);
                setC1(false);
                push(se, sig);
                return Exec.NEXT;
            }
            case 1:   // FXCH ST(i)
                recordPointers(in, 0);
                exchange(i);
                return Exec.NEXT;
            case 2:
                if (modrm != 0xD0) {
                    throw c.ud();
                }
                recordPointers(in, 0);   // FNOP
                return Exec.NEXT;
            case 3:   // D9 D8+i: FSTP1, an alias of FSTP ST(i)
                recordPointers(in, 0);
                storeRegister(i, true);
                return Exec.NEXT;
            default:
                recordPointers(in, 0);
                begin();
                return d9Special(modrm);
        }
    }

    private int d9Special(int modrm) {
        switch (modrm) {
            case 0xE0, 0xE1: {   // FCHS, FABS: sign only, C1 = 0
                if (empty(0)) {
                    if (stackUnderflow()) {
                        setSt(0, INDEFINITE_SE, INDEFINITE_SIG);
                    }
                    return Exec.NEXT;
                }
                int se = stSe(0);
                se = modrm == 0xE0 ? se ^ SoftFloat.SIGN : se & ~SoftFloat.SIGN;
                setC1(false);
                setSt(0, se, stSig(0));
                return Exec.NEXT;
            }
            case 0xE4:   // FTST: compare with +0.0
                compareSt0(0, 0, false, true, 0);
                return Exec.NEXT;
            case 0xE5:
                examine();
                return Exec.NEXT;
            case 0xE8, 0xE9, 0xEA, 0xEB, 0xEC, 0xED, 0xEE:
                loadConstant(modrm - 0xE8);
                return Exec.NEXT;
            case 0xF6:   // FDECSTP
                setC1(false);
                setTop(top() - 1);
                return Exec.NEXT;
            case 0xF7:   // FINCSTP
                setC1(false);
                setTop(top() + 1);
                return Exec.NEXT;
            case 0xFA:   // FSQRT
                if (!needs(1)) {
                    return Exec.NEXT;
                }
                sf.sqrt(stSe(0), stSig(0), EXTENDED, precision());
                deliver(0, false);
                return Exec.NEXT;
            case 0xFC:   // FRNDINT
                if (!needs(1)) {
                    return Exec.NEXT;
                }
                sf.roundToIntegral(stSe(0), stSig(0));
                deliver(0, false);
                return Exec.NEXT;
            case 0xFD:   // FSCALE
                if (!needs(2)) {
                    return Exec.NEXT;
                }
                sf.scale(stSe(0), stSig(0), stSe(1), stSig(1));
                deliver(0, false);
                return Exec.NEXT;
            case 0xF4:
                extract();
                return Exec.NEXT;
            case 0xF5, 0xF8:
                partialRemainder(modrm == 0xF5);
                return Exec.NEXT;
            case 0xF0, 0xF1, 0xF2, 0xF3, 0xF9, 0xFB, 0xFE, 0xFF:
                Transcendental.execute(this, modrm);
                return Exec.NEXT;
            default:
                throw c.ud();
        }
    }

    /** Stack underflow check for unary (1) or binary (2) operations on ST0 [and ST1]; the masked response writes the indefinite to ST0. */
    private boolean needs(int count) {
        if (empty(0) || (count == 2 && empty(1))) {
            if (stackUnderflow()) {
                setSt(0, INDEFINITE_SE, INDEFINITE_SIG);
            }
            return false;
        }
        return true;
    }

    private void exchange(int i) {
        begin();
        boolean e0 = empty(0), ei = empty(i);
        if (e0 || ei) {
            if (!stackUnderflow()) {
                return;
            }
            if (e0) {
                setSt(0, INDEFINITE_SE, INDEFINITE_SIG);
            }
            if (ei) {
                setSt(i, INDEFINITE_SE, INDEFINITE_SIG);
            }
        } else {
            setC1(false);
        }
        int se = stSe(0);
        long sig = stSig(0);
        setSt(0, stSe(i), stSig(i));
        setSt(i, se, sig);
    }

    /** FXAM (SDM 2 FXAM Table 3-42): C1 = sign, C3 C2 C0 = class. */
    private void examine() {
        int se = stSe(0);
        long sig = stSig(0);
        int cls;
        if (empty(0)) {
            cls = FSW_C3 | FSW_C0;
        } else {
            cls = switch (SoftFloat.classify(se, sig)) {
                case SoftFloat.UNSUPPORTED -> 0;
                case SoftFloat.QNAN, SoftFloat.SNAN -> FSW_C0;
                case SoftFloat.NORMAL -> FSW_C2;
                case SoftFloat.INF -> FSW_C2 | FSW_C0;
                case SoftFloat.ZERO -> FSW_C3;
                default -> FSW_C3 | FSW_C2;   // denormal
            };
        }
        setConditions(cls | ((se & SoftFloat.SIGN) != 0 ? FSW_C1 : 0));
    }

    /** FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2, FLDZ, rounded by RC (SDM 1 8.3.8; no #P). */
    private void loadConstant(int k) {
        long sig = CONST_SIG[k];
        if (CONST_INEXACT[k]) {
            boolean up = switch (sf.rc) {
                case SoftFloat.RC_NEAREST -> CONST_NEAREST_UP[k];
                case SoftFloat.RC_UP -> true;
                default -> false;
            };
            if (up) {
                sig++;
            }
        }
        setC1(false);
        push(CONST_SE[k], sig);
    }

    /** FXTRACT: ST0 = exponent, then push the significand (SDM 2 FXTRACT). */
    private void extract() {
        if (!needs(1)) {
            return;
        }
        int se = stSe(0);
        long sig = stSig(0);
        int cls = SoftFloat.classify(se, sig);
        int expSe;
        long expSig;
        int sigSe;
        long sigSig;
        int exceptions = 0;
        if (cls >= SoftFloat.QNAN) {
            sf.add(se, sig, se, sig, false, EXTENDED, 64);   // propagates/quiets the NaN, IE for SNaN
            exceptions = sf.flags;
            expSe = sigSe = sf.se;
            expSig = sigSig = sf.sig;
        } else if (cls == SoftFloat.ZERO) {
            exceptions = ZE;   // SDM 2 FXTRACT: exponent -inf, significand the zero
            expSe = SoftFloat.SIGN | SoftFloat.EXP_MASK;
            expSig = SoftFloat.INTEGER_BIT;
            sigSe = se;
            sigSig = 0;
        } else if (cls == SoftFloat.INF) {
            expSe = SoftFloat.EXP_MASK;
            expSig = SoftFloat.INTEGER_BIT;
            sigSe = se;
            sigSig = sig;
        } else {
            if (cls == SoftFloat.DENORMAL) {
                exceptions = DE;
            }
            int e = (se & SoftFloat.EXP_MASK) == 0 ? 1 - Long.numberOfLeadingZeros(sig) : se & SoftFloat.EXP_MASK;
            sf.fromLong(e - SoftFloat.BIAS);
            expSe = sf.se;
            expSig = sf.sig;
            sigSe = (se & SoftFloat.SIGN) | SoftFloat.BIAS;
            sigSig = sig << Long.numberOfLeadingZeros(sig);
        }
        if (raise(exceptions, false)) {
            return;
        }
        setSt(0, expSe, expSig);
        push(sigSe, sigSig);
    }

    /** FPREM (truncating) and FPREM1 (IEEE): C2 = incomplete, C0 C3 C1 = quotient bits 2, 1, 0. */
    private void partialRemainder(boolean nearest) {
        if (!needs(2)) {
            return;
        }
        int q = sf.remainder(stSe(0), stSig(0), stSe(1), stSig(1), nearest);
        if (raise(sf.flags, false)) {
            return;
        }
        setSt(0, sf.se, sf.sig);
        if (q < 0) {
            setConditions(0);   // a NaN or invalid result: complete (C2 = 0), no quotient bits
            return;
        }
        int cc = 0;
        if ((q & 8) != 0) {
            cc |= FSW_C2;
        } else {
            cc |= ((q & 4) != 0 ? FSW_C0 : 0) | ((q & 2) != 0 ? FSW_C3 : 0) | ((q & 1) != 0 ? FSW_C1 : 0);
        }
        setConditions(cc);
    }

    private int registerDA(Insn in, int reg, int i, int modrm) {
        if (reg < 4) {   // FCMOVB, FCMOVE, FCMOVBE, FCMOVU
            recordPointers(in, 0);
            fcmov(reg, false, i);
            return Exec.NEXT;
        }
        if (modrm == 0xE9) {   // FUCOMPP
            recordPointers(in, 0);
            begin();
            compareSt0(stSe(1), stSig(1), empty(1), false, 2);
            return Exec.NEXT;
        }
        throw c.ud();
    }

    private int registerDB(Insn in, int reg, int i, int modrm) {
        switch (reg) {
            case 0, 1, 2, 3:   // FCMOVNB, FCMOVNE, FCMOVNBE, FCMOVNU
                recordPointers(in, 0);
                fcmov(reg, true, i);
                return Exec.NEXT;
            case 4:
                switch (modrm) {
                    case 0xE0, 0xE1, 0xE4:
                        return Exec.NEXT;   // FNENI, FNDISI, FNSETPM: no-ops since the 80387
                    case 0xE2:   // FNCLEX
                        f.fsw &= ~(FSW_EXCEPTIONS | FSW_SF | FSW_ES | FSW_B);
                        return Exec.NEXT;
                    case 0xE3:   // FNINIT
                        f.fninit();
                        return Exec.NEXT;
                    default:
                        throw c.ud();
                }
            case 5, 6:   // FUCOMI, FCOMI
                recordPointers(in, 0);
                compareToEflags(i, reg == 6, false);
                return Exec.NEXT;
            default:
                throw c.ud();
        }
    }

    private int registerDD(Insn in, int reg, int i) {
        switch (reg) {
            case 0:   // FFREE ST(i)
                recordPointers(in, 0);
                f.setTag(phys(i), FpuState.TAG_EMPTY);
                return Exec.NEXT;
            case 1:   // FXCH4 alias
                recordPointers(in, 0);
                exchange(i);
                return Exec.NEXT;
            case 2, 3:   // FST, FSTP ST(i)
                recordPointers(in, 0);
                storeRegister(i, reg == 3);
                return Exec.NEXT;
            case 4, 5:   // FUCOM, FUCOMP ST(i)
                recordPointers(in, 0);
                begin();
                compareSt0(stSe(i), stSig(i), empty(i), false, reg == 5 ? 1 : 0);
                return Exec.NEXT;
            default:
                throw c.ud();
        }
    }

    private int registerDF(Insn in, int reg, int i, int modrm) {
        switch (reg) {
            case 0:   // FFREEP (undocumented: FFREE then pop)
                recordPointers(in, 0);
                f.setTag(phys(i), FpuState.TAG_EMPTY);
                pop();
                return Exec.NEXT;
            case 1:   // FXCH7 alias
                recordPointers(in, 0);
                exchange(i);
                return Exec.NEXT;
            case 2, 3:   // FSTP8, FSTP9 aliases
                recordPointers(in, 0);
                storeRegister(i, true);
                return Exec.NEXT;
            case 4:
                if (modrm != 0xE0) {
                    throw c.ud();
                }
                c.gpr[X86Core.EAX] = (c.gpr[X86Core.EAX] & ~0xFFFFL) | f.fsw;   // FNSTSW AX
                return Exec.NEXT;
            case 5, 6:   // FUCOMIP, FCOMIP
                recordPointers(in, 0);
                compareToEflags(i, reg == 6, true);
                return Exec.NEXT;
            default:
                throw c.ud();
        }
    }

    /** FST/FSTP ST(i): a copy, no rounding (SDM 2 FST). */
    private void storeRegister(int i, boolean popAfter) {
        begin();
        if (empty(0)) {
            if (stackUnderflow()) {
                setSt(i, INDEFINITE_SE, INDEFINITE_SIG);
                if (popAfter) {
                    pop();
                }
            }
            return;
        }
        setC1(false);
        setSt(i, stSe(0), stSig(0));
        if (popAfter) {
            pop();
        }
    }

    /** FCMOVcc (SDM 2 FCMOVcc): conditions B, E, BE, U and their negations on EFLAGS. */
    private void fcmov(int cond, boolean negate, int i) {
        begin();
        boolean take = switch (cond) {
            case 0 -> c.cf();
            case 1 -> c.zf();
            case 2 -> c.cf() || c.zf();
            default -> c.pf();
        };
        if (negate) {
            take = !take;
        }
        if (empty(0) || empty(i)) {
            if (stackUnderflow()) {
                setSt(0, INDEFINITE_SE, INDEFINITE_SIG);
            }
            return;
        }
        setC1(false);
        if (take) {
            setSt(0, stSe(i), stSig(i));
        }
    }

    void loadControlWord(int v) {
        f.fcw = (v & FCW_WRITABLE) | FCW_RESERVED_ONE;
        updateSummary();
    }

    /** ES and B follow the unmasked flags after the control or status word changed (SDM 1 8.1.3.1). */
    private void updateSummary() {
        if ((f.fsw & ~f.fcw & FSW_EXCEPTIONS) != 0) {
            f.fsw |= FSW_ES | FSW_B;
        } else {
            f.fsw &= ~(FSW_ES | FSW_B);
        }
    }

    // ---- environment and state images (SDM 1 8.1.10, Figures 8-9 to 8-12) ----

    private boolean realFormat() {
        return !c.protectedMode || c.v86;
    }

    private int environmentSize(Insn in) {
        return in.has(Insn.F_OP32) ? ENV_32 : ENV_16;
    }

    void storeEnvironment(Insn in, int seg, long off) {
        long mask = in.addrMask();
        boolean wide = in.has(Insn.F_OP32);
        int unit = wide ? 4 : 2;
        c.mmu.checkWritableSlow(seg, off, environmentSize(in));
        long[] words = environmentWords();
        for (int k = 0; k < 7; k++) {
            c.write(seg, off + (long) k * unit & mask, unit, words[k] & (wide ? 0xFFFF_FFFFL : 0xFFFF));
        }
    }

    private final long[] env = new long[7];

    /** The seven environment fields in the current mode's layout, each as wide as a 32-bit slot. */
    private long[] environmentWords() {
        env[0] = f.fcw | 0xFFFF_0000L;
        env[1] = f.fsw | 0xFFFF_0000L;
        env[2] = f.fullTags() | 0xFFFF_0000L;
        if (realFormat()) {
            long ip = ((long) f.fcs << 4) + f.fip & 0xFFFF_FFFFL;
            long dp = ((long) f.fds << 4) + f.fdp & 0xFFFF_FFFFL;
            env[3] = ip & 0xFFFF | 0xFFFF_0000L;
            env[4] = (ip >>> 16) << 12 | (f.fop & Xsave.FOP_MASK);
            env[5] = dp & 0xFFFF | 0xFFFF_0000L;
            env[6] = (dp >>> 16) << 12;
        } else {
            env[3] = f.fip;
            env[4] = f.fcs | (long) (f.fop & Xsave.FOP_MASK) << 16;
            env[5] = f.fdp;
            env[6] = f.fds | 0xFFFF_0000L;
        }
        return env;
    }

    void loadEnvironment(Insn in, int seg, long off) {
        long mask = in.addrMask();
        boolean wide = in.has(Insn.F_OP32);
        int unit = wide ? 4 : 2;
        for (int k = 0; k < 7; k++) {
            env[k] = c.read(seg, off + (long) k * unit & mask, unit);
        }
        applyEnvironment(wide);
    }

    private void applyEnvironment(boolean wide) {
        f.fcw = ((int) env[0] & FCW_WRITABLE) | FCW_RESERVED_ONE;
        f.fsw = (int) env[1] & 0xFFFF;
        if (realFormat()) {
            long ipHigh = wide ? (env[4] >>> 12) & 0xFFFF : (env[4] >>> 12) & 0xF;
            long dpHigh = wide ? (env[6] >>> 12) & 0xFFFF : (env[6] >>> 12) & 0xF;
            f.fip = ipHigh << 16 | env[3] & 0xFFFF;
            f.fop = (int) env[4] & Xsave.FOP_MASK;
            f.fdp = dpHigh << 16 | env[5] & 0xFFFF;
            f.fcs = 0;
            f.fds = 0;
        } else {
            f.fip = wide ? env[3] & 0xFFFF_FFFFL : env[3] & 0xFFFF;
            f.fcs = (int) env[4] & 0xFFFF;
            f.fop = wide ? (int) (env[4] >>> 16) & Xsave.FOP_MASK : f.fop;
            f.fdp = wide ? env[5] & 0xFFFF_FFFFL : env[5] & 0xFFFF;
            f.fds = (int) env[6] & 0xFFFF;
        }
        f.loadTags((int) env[2] & 0xFFFF);
    }

    private void saveState(Insn in, int seg, long off) {
        int size = environmentSize(in);
        long mask = in.addrMask();
        c.mmu.checkWritableSlow(seg, off, size + REGISTERS_BYTES);
        storeEnvironment(in, seg, off);
        for (int i = 0; i < FpuState.REGISTERS; i++) {
            long at = off + size + (long) i * FpuState.REGISTER_BYTES;
            c.write(seg, at & mask, 8, stSig(i));
            c.write(seg, at + 8 & mask, 2, stSe(i));
        }
        f.fninit();   // SDM 2 FSAVE: then initialises the FPU
    }

    private final long[] staged = new long[2 * FpuState.REGISTERS];

    private void restoreState(Insn in, int seg, long off) {
        boolean wide = in.has(Insn.F_OP32);
        int unit = wide ? 4 : 2;
        int size = environmentSize(in);
        long mask = in.addrMask();
        for (int k = 0; k < 7; k++) {
            env[k] = c.read(seg, off + (long) k * unit & mask, unit);
        }
        for (int i = 0; i < FpuState.REGISTERS; i++) {
            long at = off + size + (long) i * FpuState.REGISTER_BYTES;
            staged[2 * i] = c.read(seg, at & mask, 8);
            staged[2 * i + 1] = c.read(seg, at + 8 & mask, 2);
        }
        // every read done: now change state; the registers are in ST order of the loaded TOP
        int newTop = ((int) env[1] >>> FSW_TOP_SHIFT) & 7;
        for (int i = 0; i < FpuState.REGISTERS; i++) {
            f.store((newTop + i) & 7, (int) staged[2 * i + 1], staged[2 * i]);
        }
        applyEnvironment(wide);
    }

    // ---- MMX support (SDM 1 9.5): the MMX registers alias R0-R7 ----

    /** Entering MMX state: TOP = 0 and every tag valid (SDM 1 9.5.1, Table 9-2). */
    void enterMmx() {
        setTop(0);
        f.ftw = 0;
    }

    long mmx(int r) {
        return f.significand(r);
    }

    void setMmx(int r, long v) {
        f.store(r, MMX_SIGN_EXPONENT, v);
    }

    /** EMMS: every tag empty (SDM 2 EMMS). */
    void emms() {
        f.ftw = FpuState.FTW_ALL_EMPTY;
    }

    // ---- used by Transcendental ----

    boolean stackUnderflowFor(int count) {
        return !needs(count);
    }

    boolean raiseResult(int exceptions) {
        return raise(exceptions, false);
    }

    void writeSt(int i, int se, long sig) {
        setSt(i, se, sig);
    }

    void pushValue(int se, long sig) {
        push(se, sig);
    }

    void popValue() {
        pop();
    }

    void conditions(int bits) {
        setConditions(bits);
    }

    boolean pushWouldOverflow() {
        return f.tag((top() - 1) & 7) != FpuState.TAG_EMPTY;
    }
}
