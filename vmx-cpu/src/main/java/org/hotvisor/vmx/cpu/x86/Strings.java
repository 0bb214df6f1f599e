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
                int k = !moves ? bulkCompare(c, in, size, am, limit - n, repe)
                        : step > 0 ? bulk(c, in, size, am, limit - n) : bulkBackward(c, in, size, am, limit - n);
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
     * Forward REP MOVS/STOS between RAM pages the TLB already maps for writing: whole runs per page
     * with array copies. Stops (leaving the rest to the per-iteration loop) at anything unusual:
     * a TLB miss, a segment limit, the end of a page, overlap that MOVS must replicate.
     *
     * @return iterations done
     */
    private static int bulk(X86Core c, Insn in, int size, long am, int limit) {
        int done = 0;
        byte[] ram = c.ram;
        while (done < limit) {
            long count = c.gpr[ECX] & am;
            if (count == 0) {
                return done;
            }
            long di = c.gpr[EDI] & am;
            long dLin = (c.segBase[ES] + di) & c.linMask;
            int dSlot = (int) (dLin >>> 12) & TLB_MASK;
            if (c.tlbWr[dSlot] != (dLin & ~0xFFFL)) {
                return done;
            }
            long n = Math.min(count, limit - done);
            n = Math.min(n, (0x1000 - (dLin & 0xFFF)) / size);       // within the destination page
            n = am == -1L ? n : Math.min(n, (am - di + 1) / size);                    // no address-size wrap
            if (n <= 0 || di + n * size - 1 > c.segWrMax[ES]) {
                return done;
            }
            int dst = (int) (dLin + c.tlbAdd[dSlot]);
            if (in.op() == Op.STOS) {
                long v = c.gpr[EAX];
                for (int k = 0; k < n; k++) {
                    int p = dst + k * size;
                    switch (size) {
                        case 1 -> ram[p] = (byte) v;
                        case 2 -> VH16.set(ram, p, (short) v);
                        case 4 -> VH32.set(ram, p, (int) v);
                        default -> VH64.set(ram, p, v);
                    }
                }
            } else {
                long si = c.gpr[ESI] & am;
                long sLin = (c.segBase[in.seg()] + si) & c.linMask;
                int sSlot = (int) (sLin >>> 12) & TLB_MASK;
                if (c.tlbRd[sSlot] != (sLin & ~0xFFFL)) {
                    return done;
                }
                n = Math.min(n, (0x1000 - (sLin & 0xFFF)) / size);
                n = am == -1L ? n : Math.min(n, (am - si + 1) / size);
                if (n <= 0 || si + n * size - 1 > c.segRdMax[in.seg()]) {
                    return done;
                }
                int src = (int) (sLin + c.tlbAdd[sSlot]);
                if (dst > src && dst < src + n * size) {
                    return done;   // forward overlap: MOVS replicates, a block copy would not
                }
                System.arraycopy(ram, src, ram, dst, (int) (n * size));
                c.gpr[ESI] = (c.gpr[ESI] & ~am) | ((si + n * size) & am);
            }
            c.gpr[EDI] = (c.gpr[EDI] & ~am) | ((di + n * size) & am);
            c.gpr[ECX] = (c.gpr[ECX] & ~am) | ((count - n) & am);
            done += (int) n;
        }
        return done;
    }

    /**
     * Backward (DF = 1) REP MOVS/STOS, as {@link #bulk} does forward: whole runs down to the start
     * of a page. MOVS with the destination below an overlapping source replicates element by
     * element (each store feeds a later load), which a block copy would not: left to the loop.
     *
     * @return iterations done
     */
    private static int bulkBackward(X86Core c, Insn in, int size, long am, int limit) {
        int done = 0;
        byte[] ram = c.ram;
        while (done < limit) {
            long count = c.gpr[ECX] & am;
            if (count == 0) {
                return done;
            }
            long di = c.gpr[EDI] & am;
            long dLin = (c.segBase[ES] + di) & c.linMask;
            int dSlot = (int) (dLin >>> 12) & TLB_MASK;
            int dOff = (int) (dLin & 0xFFF);
            // the first element is the highest: whole in its page and below the segment limit
            if (c.tlbWr[dSlot] != (dLin & ~0xFFFL) || dOff > 0x1000 - size || di + size - 1 > c.segWrMax[ES]) {
                return done;
            }
            long n = Math.min(count, limit - done);
            n = Math.min(n, dOff / size + 1);                       // down to the page start
            n = Math.min(n, Long.divideUnsigned(di, size) + 1);    // no address-size wrap below 0
            int dst = (int) (dLin + c.tlbAdd[dSlot]);
            if (in.op() == Op.STOS) {
                long v = c.gpr[EAX];
                for (int k = 0; k < n; k++) {
                    int p = dst - k * size;
                    switch (size) {
                        case 1 -> ram[p] = (byte) v;
                        case 2 -> VH16.set(ram, p, (short) v);
                        case 4 -> VH32.set(ram, p, (int) v);
                        default -> VH64.set(ram, p, v);
                    }
                }
            } else {
                long si = c.gpr[ESI] & am;
                int seg = in.seg();
                long sLin = (c.segBase[seg] + si) & c.linMask;
                int sSlot = (int) (sLin >>> 12) & TLB_MASK;
                int sOff = (int) (sLin & 0xFFF);
                if (c.tlbRd[sSlot] != (sLin & ~0xFFFL) || sOff > 0x1000 - size || si + size - 1 > c.segRdMax[seg]) {
                    return done;
                }
                n = Math.min(n, sOff / size + 1);
                n = Math.min(n, Long.divideUnsigned(si, size) + 1);
                int bytes = (int) n * size;
                int dLow = dst - bytes + size;
                int sLow = (int) (sLin + c.tlbAdd[sSlot]) - bytes + size;
                if (dLow < sLow && sLow < dLow + bytes) {
                    return done;
                }
                System.arraycopy(ram, sLow, ram, dLow, bytes);
                c.gpr[ESI] = (c.gpr[ESI] & ~am) | ((si - bytes) & am);
            }
            c.gpr[EDI] = (c.gpr[EDI] & ~am) | ((di - n * size) & am);
            c.gpr[ECX] = (c.gpr[ECX] & ~am) | ((count - n) & am);
            done += (int) n;
        }
        return done;
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
        int dSlot = (int) (dLin >>> 12) & TLB_MASK;
        if (count == 0 || c.tlbRd[dSlot] != (dLin & ~0xFFFL)) {
            return 0;
        }
        long n = Math.min(count, limit);
        n = Math.min(n, (0x1000 - (dLin & 0xFFF)) / size);
        n = am == -1L ? n : Math.min(n, (am - di + 1) / size);
        if (n <= 0 || di + n * size - 1 > c.segRdMax[ES]) {
            return 0;
        }
        int dst = (int) (dLin + c.tlbAdd[dSlot]);
        boolean scas = in.op() == Op.SCAS;
        long si = 0;
        int src = 0;
        if (!scas) {
            int seg = in.seg();
            si = c.gpr[ESI] & am;
            long sLin = (c.segBase[seg] + si) & c.linMask;
            int sSlot = (int) (sLin >>> 12) & TLB_MASK;
            if (c.tlbRd[sSlot] != (sLin & ~0xFFFL)) {
                return 0;
            }
            n = Math.min(n, (0x1000 - (sLin & 0xFFF)) / size);
            n = am == -1L ? n : Math.min(n, (am - si + 1) / size);
            if (n <= 0 || si + n * size - 1 > c.segRdMax[seg]) {
                return 0;
            }
            src = (int) (sLin + c.tlbAdd[sSlot]);
        }
        byte[] ram = c.ram;
        int last = (int) n - 1;
        long acc = c.gpr[EAX] & in.mask();
        int i;
        if (!scas && repe) {
            int m = java.util.Arrays.mismatch(ram, src, src + (int) n * size, ram, dst, dst + (int) n * size);
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
