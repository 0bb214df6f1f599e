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
 *
 * <p><b>Timing is sampled.</b> Reading the host clock costs about 30 ns here, as much as the
 * rest of a fast exit, so not every exit is timed: the first {@value #TIMED_FIRST} exits of each
 * reason are (rare reasons are exact), then one exit in {@value #SAMPLE_PERIOD} on average, picked
 * by a pseudo-random draw so that no periodic pattern of exits can alias with the sampler. Counts
 * are always exact. A reason's total time is the exact sum over its first exits plus the sampled
 * average times the rest, and the guest's run time is the vCPU loop's wall time minus that
 * estimated handling time. With a trace on, every exit is timed.
 */
public final class ExitStatistics {
    private static final int N = ExitReason.TABLE_SIZE;

    /** Exits of each reason timed exactly before sampling starts. */
    public static final int TIMED_FIRST = 256;
    /** After that, one exit in this many is timed (a power of two). */
    public static final int SAMPLE_PERIOD = 64;

    final long[] count = new long[N];
    /** Exits of each reason that were timed. */
    final long[] timed = new long[N];
    /** Summed handling time of the first {@link #TIMED_FIRST} exits of each reason (all timed). */
    final long[] firstNanos = new long[N];
    /** Exits timed after the first ones (the sample), and their summed handling time. */
    final long[] sampled = new long[N];
    final long[] sampledNanos = new long[N];
    final long[] minNanos = new long[N];
    final long[] maxNanos = new long[N];
    final long[] swapWaitNanos = new long[N];
    final long[] maxSwapWaitNanos = new long[N];
    final long[] faults = new long[N];
    final long[] overBudget = new long[N];
    final String[] handledBy = new String[N];
    /** Exits that were VM-entry failures (bit 31), counted apart from their basic reason. */
    long entryFailures;
    /** Wall time of the vCPU run loop (guest plus handling), as of its last timed exit. */
    long loopNanos;
    long instructionsBase;
    private long instructions;
    /** xorshift32 state of the sampler. */
    private int sampleDraw = 0x2545F491;
    private int sampleGap = 1;
    private static final java.lang.invoke.VarHandle INSTRUCTIONS;

    static {
        try {
            INSTRUCTIONS = java.lang.invoke.MethodHandles.lookup().findVarHandle(ExitStatistics.class, "instructions", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    public ExitStatistics() {
        reset(0);
    }

    /**
     * Counts an exit of the reason as it begins and says whether to time it (see the class
     * comment). Between two sampled exits lies a pseudo-random gap of 1 to 2 * SAMPLE_PERIOD - 1
     * exits (mean SAMPLE_PERIOD), so an untimed exit costs one count, one decrement and no draw.
     */
    public boolean countAndSample(int reason) {
        if (count[reason]++ < TIMED_FIRST) {
            return true;
        }
        if (--sampleGap > 0) {
            return false;
        }
        int x = sampleDraw;
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        sampleDraw = x;
        sampleGap = 1 + (x & (2 * SAMPLE_PERIOD - 2));
        return true;
    }

    /** The bundle that handled the reason's last exit. */
    public void handledBy(int reason, String bundle) {
        if (handledBy[reason] != bundle) { // a reference store costs a card mark too: only on a change
            handledBy[reason] = bundle;
        }
    }

    /** Counts an exit and records its handling time. */
    public void record(int reason, long nanos, String bundle) {
        count[reason]++;
        handledBy(reason, bundle);
        time(reason, nanos);
    }

    /** Records the handling time of a timed exit (already counted). */
    public void time(int reason, long nanos) {
        timed[reason]++;
        if (count[reason] <= TIMED_FIRST) {
            firstNanos[reason] += nanos;
        } else {
            sampled[reason]++;
            sampledNanos[reason] += nanos;
        }
        if (nanos < minNanos[reason]) {
            minNanos[reason] = nanos;
        }
        if (nanos > maxNanos[reason]) {
            maxNanos[reason] = nanos;
        }
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

    /** The vCPU loop's wall time so far (guest and handling), updated on timed exits. */
    public void loopNanos(long nanos) {
        loopNanos = nanos;
    }

    public long loopNanos() {
        return loopNanos;
    }

    /**
     * Publishes the processor's retired-instruction count (relative to the last reset). The run
     * loop calls it on sampled exits, with the loop time, and when the run ends.
     */
    public void instructions(long retiredTotal) {
        // opaque: a plain store on x86, yet never torn for a reader on another thread
        INSTRUCTIONS.setOpaque(this, retiredTotal - instructionsBase);
    }

    /** Resets everything; instruction counts restart from the processor's current total. */
    public void reset(long retiredTotal) {
        Arrays.fill(count, 0);
        Arrays.fill(timed, 0);
        Arrays.fill(firstNanos, 0);
        Arrays.fill(sampled, 0);
        Arrays.fill(sampledNanos, 0);
        Arrays.fill(minNanos, Long.MAX_VALUE);
        Arrays.fill(maxNanos, 0);
        Arrays.fill(swapWaitNanos, 0);
        Arrays.fill(maxSwapWaitNanos, 0);
        Arrays.fill(faults, 0);
        Arrays.fill(overBudget, 0);
        Arrays.fill(handledBy, null);
        entryFailures = 0;
        loopNanos = 0;
        instructionsBase = retiredTotal;
        INSTRUCTIONS.setOpaque(this, 0L);
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
        return (long) INSTRUCTIONS.getOpaque(this);
    }

    /**
     * Estimated total handling time of a reason: exact over its first exits, plus the sample's
     * average times the exits after them (the first exits run cold, before the JIT has compiled
     * the handlers, so they must not set the average for the rest).
     */
    long estimatedNanos(int reason) {
        long n = count[reason];
        if (n <= TIMED_FIRST) {
            return firstNanos[reason];
        }
        long later = n - TIMED_FIRST;
        double average = sampled[reason] > 0 ? sampledNanos[reason] / (double) sampled[reason]
                : firstNanos[reason] / (double) TIMED_FIRST;
        return firstNanos[reason] + (long) (average * later);
    }

    /** The guest's run time: the loop's wall time minus the estimated handling time. */
    public long guestNanos() {
        long handling = 0;
        for (int i = 0; i < N; i++) {
            handling += estimatedNanos(i);
        }
        return Math.max(0, loopNanos - handling);
    }

    /** A consistent copy for reports. */
    public Snapshot snapshot() {
        long[] total = new long[N];
        for (int i = 0; i < N; i++) {
            total[i] = estimatedNanos(i);
        }
        return new Snapshot(count.clone(), total, minNanos.clone(), maxNanos.clone(),
                swapWaitNanos.clone(), maxSwapWaitNanos.clone(), faults.clone(), overBudget.clone(),
                handledBy.clone(), entryFailures, instructions(), guestNanos(), timed.clone());
    }

    /** An immutable copy of the statistics: {@code totalNanos} holds the estimated totals, {@code timed} how many exits were timed. */
    public record Snapshot(long[] count, long[] totalNanos, long[] minNanos, long[] maxNanos, long[] swapWaitNanos,
            long[] maxSwapWaitNanos, long[] faults, long[] overBudget, String[] handledBy, long entryFailures,
            long instructions, long guestNanos, long[] timed) {

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
                    msw = new long[N], f = new long[N], ob = new long[N], tm = new long[N];
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
                    tm[i] += s.timed[i];
                    if (s.handledBy[i] != null) {
                        h[i] = s.handledBy[i];
                    }
                }
                ef += s.entryFailures;
                ins += s.instructions;
                g += s.guestNanos;
            }
            return new Snapshot(c, t, mn, mx, sw, msw, f, ob, h, ef, ins, g, tm);
        }
    }
}
