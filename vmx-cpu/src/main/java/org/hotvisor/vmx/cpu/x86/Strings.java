package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.X86Core.*;

/**
 * MOVS, CMPS, SCAS, LODS, STOS with REP/REPE/REPNE (SDM 2; SDM 1 7.3.9). A REP instruction is
 * interruptible between iterations: registers always describe the iterations done, so a fault or
 * VM exit mid-way restarts it correctly; long runs yield every {@link Exec#REP_CHUNK} iterations.
 */
final class Strings {
    private Strings() {
    }

    static int execute(X86Core c, Insn in) {
        int size = in.size();
        long am = in.addrMask();
        long step = (c.flagsOther & Alu.DF) != 0 ? -size : size;
        boolean rep = (in.flags() & (Insn.F_REP | Insn.F_REPNE)) != 0;
        if (!rep) {
            once(c, in, size, am, step);
            return Exec.NEXT;
        }
        boolean compares = in.op() == Op.CMPS || in.op() == Op.SCAS;
        boolean repe = (in.flags() & Insn.F_REP) != 0;
        int limit = c.mmu.completionPending() ? 1 : Exec.REP_CHUNK;
        int n = 0;
        while ((c.gpr[ECX] & am) != 0) {
            if (n == limit) {
                c.rip -= in.len();   // not finished: execute it again after looking at events
                return Exec.END_BLOCK;
            }
            once(c, in, size, am, step);
            c.gpr[ECX] = (c.gpr[ECX] & ~am) | ((c.gpr[ECX] - 1) & am);
            n++;
            if (compares && (c.zf() != repe)) {
                break;
            }
        }
        return Exec.NEXT;
    }

    private static void once(X86Core c, Insn in, int size, long am, long step) {
        long[] r = c.gpr;
        switch (in.op()) {
            case Op.MOVS -> {
                long v = c.read(in.seg(), r[ESI] & am, size);
                c.write(ES, r[EDI] & am, size, v);
                advance(c, ESI, am, step);
                advance(c, EDI, am, step);
            }
            case Op.STOS -> {
                c.write(ES, r[EDI] & am, size, r[EAX] & in.mask());
                advance(c, EDI, am, step);
            }
            case Op.LODS -> {
                long v = c.read(in.seg(), r[ESI] & am, size);
                c.setReg(EAX, 0, in.mask(), v);
                advance(c, ESI, am, step);
            }
            case Op.CMPS -> {
                long a = c.read(in.seg(), r[ESI] & am, size);
                long b = c.read(ES, r[EDI] & am, size);
                c.flagsSub(a, b, a - b, in);
                advance(c, ESI, am, step);
                advance(c, EDI, am, step);
            }
            default -> {   // SCAS
                long b = c.read(ES, r[EDI] & am, size);
                long a = r[EAX] & in.mask();
                c.flagsSub(a, b, a - b, in);
                advance(c, EDI, am, step);
            }
        }
    }

    static void advance(X86Core c, int reg, long am, long step) {
        c.gpr[reg] = (c.gpr[reg] & ~am) | ((c.gpr[reg] + step) & am);
    }
}
