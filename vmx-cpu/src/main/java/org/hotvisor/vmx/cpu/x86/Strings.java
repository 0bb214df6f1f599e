package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.X86Core.*;

import java.util.Arrays;

/**
 * MOVS, CMPS, SCAS, LODS, STOS with REP/REPE/REPNE (SDM 2; SDM 1 7.3.9). A REP instruction is
 * interruptible between iterations: registers always describe the iterations done, so a fault or
 * VM exit mid-way restarts it correctly; long runs yield every {@link Exec#REP_CHUNK} iterations.
 */
final class Strings {
    private Strings() {
    }

    /** A string instruction without REP: one iteration (the block compiler's inline handler). */
    static void once(X86Core c, Insn in) {
        int size = in.size();
        once(c, in, size, in.addrMask(), (c.flagsOther & Alu.DF) != 0 ? -size : size);
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
        boolean moves = in.op() == Op.MOVS || in.op() == Op.STOS;
        boolean canBulk = limit > 1 && (moves || (compares && step > 0));
        while ((c.gpr[ECX] & am) != 0) {
            if (n >= limit) {
                c.rip -= in.len();   // not finished: execute it again after looking at events
                return Exec.END_BLOCK;
            }
            if (canBulk) {
                int k = moves ? bulkMove(c, in, size, am, limit - n, step < 0) : bulkCompare(c, in, size, am, limit - n, repe);
                if (k > 0) {
                    n += k;
                    if (compares && c.zf() != repe) {
                        break;
                    }
                    continue;
                }
            }
            // one iteration on the general path (which also fills the TLB for the next bulk run)
            once(c, in, size, am, step);
            c.gpr[ECX] = (c.gpr[ECX] & ~am) | ((c.gpr[ECX] - 1) & am);
            n++;
            if (compares && (c.zf() != repe)) {
                break;
            }
        }
        return Exec.NEXT;
    }

    /**
     * REP MOVS/STOS between RAM pages the TLB already maps: whole runs per page (up to its end,
     * or down to its start with DF = 1) with array copies. Stops, leaving the rest to the
     * per-iteration loop, at anything unusual: a TLB miss, a segment limit, the end of a page, an
     * overlap that MOVS must replicate element by element (each store feeding a later load: the
     * destination above the source going up, below it going down), which a block copy would not.
     *
     * @return iterations done
     */
    private static int bulkMove(X86Core c, Insn in, int size, long am, int limit, boolean down) {
        int done = 0;
        byte[] ram = c.ram;
        boolean stos = in.op() == Op.STOS;
        while (done < limit) {
            long count = c.gpr[ECX] & am;
            if (count == 0) {
                return done;
            }
            long di = c.gpr[EDI] & am;
            long dLin = (c.segBase[ES] + di) & c.linMask;
            long n = run(c.tlbWr, c.segWrMax[ES], dLin, di, size, am, down, Math.min(count, limit - done));
            if (n == 0) {
                n = runBesideCode(c, dLin, di, size, am, down, Math.min(count, limit - done));
            }
            long si = c.gpr[ESI] & am;
            long sLin = (c.segBase[in.seg()] + si) & c.linMask;
            if (!stos) {
                n = run(c.tlbRd, c.segRdMax[in.seg()], sLin, si, size, am, down, n);
            }
            if (n <= 0) {
                return done;
            }
            c.bulkStringRuns++;
            int bytes = (int) n * size;
            int back = down ? bytes - size : 0;   // the run's lowest element, below the first going down
            int dst = (int) (dLin + c.tlbAdd[(int) (dLin >>> 12) & TLB_MASK]) - back;
            if (stos) {
                long v = c.gpr[EAX];
                for (int p = dst; p < dst + bytes; p += size) {   // one value: the order does not matter
                    switch (size) {
                        case 1 -> ram[p] = (byte) v;
                        case 2 -> VH16.set(ram, p, (short) v);
                        case 4 -> VH32.set(ram, p, (int) v);
                        default -> VH64.set(ram, p, v);
                    }
                }
            } else {
                int src = (int) (sLin + c.tlbAdd[(int) (sLin >>> 12) & TLB_MASK]) - back;
                if (down ? dst < src && src < dst + bytes : dst > src && dst < src + bytes) {
                    return done;
                }
                System.arraycopy(ram, src, ram, dst, bytes);
                c.gpr[ESI] = (c.gpr[ESI] & ~am) | ((down ? si - bytes : si + bytes) & am);
            }
            c.gpr[EDI] = (c.gpr[EDI] & ~am) | ((down ? di - bytes : di + bytes) & am);
            c.gpr[ECX] = (c.gpr[ECX] & ~am) | ((count - n) & am);
            done += (int) n;
        }
        return done;
    }

    /**
     * {@link #run} for a destination on a page that holds decoded code ({@code tlbCodeWr}): the
     * whole run, if no decoded block covers a byte of it, else 0 (element by element, dropping
     * the code it overwrites).
     */
    private static long runBesideCode(X86Core c, long lin, long off, int size, long am, boolean down, long n) {
        long run = run(c.tlbCodeWr, c.segWrMax[ES], lin, off, size, am, down, n);
        if (run <= 0) {
            return 0;
        }
        int bytes = (int) run * size;
        long low = lin + c.tlbAdd[(int) (lin >>> 12) & TLB_MASK] - (down ? bytes - size : 0);
        return c.code.mayHoldCode(low, bytes) ? 0 : run;
    }

    /**
     * How many of at most {@code n} elements of {@code size} bytes, from offset {@code off} at
     * linear address {@code lin} onwards (downwards with {@code down}), RAM serves directly: the
     * page mapped in {@code tlb}, every element whole in it, within the segment limit
     * {@code segMax} and without an address-size wrap. 0 if not even the first.
     */
    private static long run(long[] tlb, long segMax, long lin, long off, int size, long am, boolean down, long n) {
        if (tlb[(int) (lin >>> 12) & TLB_MASK] != (lin & ~0xFFFL)) {
            return 0;
        }
        int pageOff = (int) (lin & 0xFFF);
        if (down) {
            // the first element is the highest: whole in its page and below the segment limit
            if (pageOff > 0x1000 - size || off + size - 1 > segMax) {
                return 0;
            }
            return Math.min(n, Math.min(pageOff / size + 1, Long.divideUnsigned(off, size) + 1));
        }
        n = Math.min(n, (0x1000 - pageOff) / size);
        n = am == -1L ? n : Math.min(n, (am - off + 1) / size);
        return n <= 0 || off + n * size - 1 > segMax ? 0 : n;
    }

    /**
     * Forward REPE/REPNE CMPS and SCAS over RAM pages the TLB maps for reading: one run up to the
     * end of a page, stopped at the first element that ends the repeat. The flags are those of the
     * run's last comparison, as after the loop; the caller tests ZF as it does after an iteration.
     *
     * @return iterations done (0: nothing done, take the per-iteration path)
     */
    private static int bulkCompare(X86Core c, Insn in, int size, long am, int limit, boolean repe) {
        long count = c.gpr[ECX] & am;
        long di = c.gpr[EDI] & am;
        long dLin = (c.segBase[ES] + di) & c.linMask;
        long n = run(c.tlbRd, c.segRdMax[ES], dLin, di, size, am, false, Math.min(count, limit));
        boolean scas = in.op() == Op.SCAS;
        long si = c.gpr[ESI] & am;
        long sLin = (c.segBase[in.seg()] + si) & c.linMask;
        if (!scas) {
            n = run(c.tlbRd, c.segRdMax[in.seg()], sLin, si, size, am, false, n);
        }
        if (n <= 0) {
            return 0;
        }
        int dst = (int) (dLin + c.tlbAdd[(int) (dLin >>> 12) & TLB_MASK]);
        int src = scas ? 0 : (int) (sLin + c.tlbAdd[(int) (sLin >>> 12) & TLB_MASK]);
        byte[] ram = c.ram;
        int last = (int) n - 1;
        long acc = c.gpr[EAX] & in.mask();
        int i;
        if (!scas && repe) {
            int m = Arrays.mismatch(ram, src, src + (int) n * size, ram, dst, dst + (int) n * size);
            i = m < 0 ? last : m / size;
        } else {
            i = 0;
            while (i < last && ((scas ? acc : element(ram, src + i * size, size)) == element(ram, dst + i * size, size)) == repe) {
                i++;
            }
        }
        long a = scas ? acc : element(ram, src + i * size, size);
        long b = element(ram, dst + i * size, size);
        c.flagsSub(a, b, a - b, in);
        long done = i + 1L;
        c.gpr[EDI] = (c.gpr[EDI] & ~am) | ((di + done * size) & am);
        if (!scas) {
            c.gpr[ESI] = (c.gpr[ESI] & ~am) | ((si + done * size) & am);
        }
        c.gpr[ECX] = (c.gpr[ECX] & ~am) | ((count - done) & am);
        return (int) done;
    }

    private static long element(byte[] ram, int p, int size) {
        return switch (size) {
            case 1 -> ram[p] & 0xFFL;
            case 2 -> (short) VH16.get(ram, p) & 0xFFFFL;
            case 4 -> (int) VH32.get(ram, p) & 0xFFFF_FFFFL;
            default -> (long) VH64.get(ram, p);
        };
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
