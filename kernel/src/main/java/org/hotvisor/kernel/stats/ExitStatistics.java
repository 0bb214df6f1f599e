package org.hotvisor.kernel.stats;

import java.util.Arrays;
import org.hotvisor.api.ExitReason;

/**
 * Per-reason exit statistics in the shape of {@code perf kvm stat report}: count, share, and the
 * time from VM exit to the next VM entry (total, min, max), plus the bundle that handled the
 * reason last, handler faults, budget overruns and time spent waiting for a hot swap.
 *
 * <p>Written only by the vCPU thread, with plain array stores (no allocation, no lock); readers on
 * other threads see a slightly stale but tear-free picture, which is all a console needs.
 */
public final class ExitStatistics {
    private static final int N = ExitReason.TABLE_SIZE;

    final long[] count = new long[N];
    final long[] totalNanos = new long[N];
    final long[] minNanos = new long[N];
    final long[] maxNanos = new long[N];
    final long[] swapWaitNanos = new long[N];
    final long[] maxSwapWaitNanos = new long[N];
    final long[] faults = new long[N];
    final long[] overBudget = new long[N];
    final String[] handledBy = new String[N];
    /** Exits that were VM-entry failures (bit 31), counted apart from their basic reason. */
    long entryFailures;
    long guestNanos;
    long instructionsBase;
    volatile long instructions;

    public ExitStatistics() {
        reset(0);
    }

    /** Records one exit: its basic reason, the exit-to-entry time and the handling bundle. */
    public void record(int reason, long nanos, String bundle) {
        count[reason]++;
        totalNanos[reason] += nanos;
        if (nanos < minNanos[reason]) {
            minNanos[reason] = nanos;
        }
        if (nanos > maxNanos[reason]) {
            maxNanos[reason] = nanos;
        }
        handledBy[reason] = bundle;
    }

    public void recordSwapWait(int reason, long nanos) {
        swapWaitNanos[reason] += nanos;
        if (nanos > maxSwapWaitNanos[reason]) {
            maxSwapWaitNanos[reason] = nanos;
        }
    }

    public void recordFault(int reason) {
        faults[reason]++;
    }

    public void recordOverBudget(int reason) {
        overBudget[reason]++;
    }

    public void recordEntryFailure() {
        entryFailures++;
    }

    public void addGuestNanos(long nanos) {
        guestNanos += nanos;
    }

    /** Publishes the processor's retired-instruction count (relative to the last reset). */
    public void instructions(long retiredTotal) {
        instructions = retiredTotal - instructionsBase;
    }

    /** Zeroes everything; {@code retiredTotal} is the processor's count now. */
    public void reset(long retiredTotal) {
        Arrays.fill(count, 0);
        Arrays.fill(totalNanos, 0);
        Arrays.fill(minNanos, Long.MAX_VALUE);
        Arrays.fill(maxNanos, 0);
        Arrays.fill(swapWaitNanos, 0);
        Arrays.fill(maxSwapWaitNanos, 0);
        Arrays.fill(faults, 0);
        Arrays.fill(overBudget, 0);
        Arrays.fill(handledBy, null);
        entryFailures = 0;
        guestNanos = 0;
        instructionsBase = retiredTotal;
        instructions = 0;
    }

    public long count(int reason) {
        return count[reason];
    }

    public long totalExits() {
        long t = 0;
        for (long c : count) {
            t += c;
        }
        return t;
    }

    public long instructions() {
        return instructions;
    }

    public long guestNanos() {
        return guestNanos;
    }

    /** A consistent copy for reports. */
    public Snapshot snapshot() {
        return new Snapshot(count.clone(), totalNanos.clone(), minNanos.clone(), maxNanos.clone(),
                swapWaitNanos.clone(), maxSwapWaitNanos.clone(), faults.clone(), overBudget.clone(),
                handledBy.clone(), entryFailures, instructions, guestNanos);
    }

    /** An immutable copy of the statistics. */
    public record Snapshot(long[] count, long[] totalNanos, long[] minNanos, long[] maxNanos, long[] swapWaitNanos,
            long[] maxSwapWaitNanos, long[] faults, long[] overBudget, String[] handledBy, long entryFailures,
            long instructions, long guestNanos) {

        public long totalExits() {
            long t = 0;
            for (long c : count) {
                t += c;
            }
            return t;
        }

        /** Merges per-vCPU snapshots into one. */
        public static Snapshot merge(java.util.List<Snapshot> all) {
            Snapshot first = all.get(0);
            if (all.size() == 1) {
                return first;
            }
            long[] c = new long[N], t = new long[N], mn = new long[N], mx = new long[N], sw = new long[N],
                    msw = new long[N], f = new long[N], ob = new long[N];
            String[] h = new String[N];
            Arrays.fill(mn, Long.MAX_VALUE);
            long ef = 0, ins = 0, g = 0;
            for (Snapshot s : all) {
                for (int i = 0; i < N; i++) {
                    c[i] += s.count[i];
                    t[i] += s.totalNanos[i];
                    mn[i] = Math.min(mn[i], s.minNanos[i]);
                    mx[i] = Math.max(mx[i], s.maxNanos[i]);
                    sw[i] += s.swapWaitNanos[i];
                    msw[i] = Math.max(msw[i], s.maxSwapWaitNanos[i]);
                    f[i] += s.faults[i];
                    ob[i] += s.overBudget[i];
                    if (s.handledBy[i] != null) {
                        h[i] = s.handledBy[i];
                    }
                }
                ef += s.entryFailures;
                ins += s.instructions;
                g += s.guestNanos;
            }
            return new Snapshot(c, t, mn, mx, sw, msw, f, ob, h, ef, ins, g);
        }
    }
}
