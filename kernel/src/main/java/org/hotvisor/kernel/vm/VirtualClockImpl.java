package org.hotvisor.kernel.vm;

import java.util.Arrays;
import java.util.concurrent.locks.LockSupport;
import org.hotvisor.api.device.VirtualClock;

/**
 * The machine's clock. Deterministic mode: one nanosecond per retired guest instruction (a 1 GHz
 * guest TSC), jumping over idle time, so a run is reproducible bit for bit. Host mode: wall time.
 *
 * <p>Timers fire on the vCPU thread at exits: the run loop programs the VMX-preemption timer for the
 * next deadline, so a timer interrupts the guest at exactly its virtual instant.
 *
 * <p>Several vCPUs ({@link #multiProcessor}): vCPU 0's thread is the timekeeper. Its TSC is the
 * virtual time, it runs the due timers and idles to the next deadline; a timer armed on another
 * thread (an AP's local APIC) kicks it so that it re-programs its preemption timer. Another
 * thread that idles here only waits (1 ms at a time) without moving time or running timers. With
 * nothing armed the timekeeper waits for a kick instead of ending: another vCPU may still send an
 * IPI. The deterministic clock is then deterministic per vCPU only: the threads interleave freely.
 */
public final class VirtualClockImpl implements VirtualClock {
    private final boolean hostPaced;
    private final long hostBase = System.nanoTime();
    private volatile long now;
    /**
     * Every timer made, replaced whole when one is added (rare: devices make theirs at start). The
     * vCPU scans it on timer exits, so it is an array read by index: an iterator per scan was the
     * only allocation left on the interrupt path (JFR, HotPathAllocationIT).
     */
    private volatile TimerImpl[] timers = new TimerImpl[0];
    /**
     * The earliest armed deadline, valid while {@link #deadlinesChanged} is false: the vCPU asks
     * for it on every exit, and most exits arm or cancel no timer. Arming from any thread sets the
     * flag after writing the deadline; a rescan clears it before reading the deadlines, so no arm
     * is lost.
     */
    private volatile long earliest = Long.MAX_VALUE;
    private volatile boolean deadlinesChanged;
    private static final java.lang.invoke.VarHandle NOW;

    static {
        try {
            NOW = java.lang.invoke.MethodHandles.lookup().findVarHandle(VirtualClockImpl.class, "now", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
    private volatile Thread idler;
    private volatile boolean wake;
    /** Advances the processor's TSC while idling in deterministic mode. */
    private volatile java.util.function.LongConsumer idleSink = d -> { };
    /** Several vCPUs: kicks the timekeeper (null with one vCPU). */
    private volatile Runnable kickTimekeeper;
    private volatile Thread timekeeper;
    /** How long a non-timekeeper thread waits in {@link #idleUntil} before its caller looks again. */
    private static final long FOLLOWER_IDLE_NANOS = 1_000_000L;
    private static final long IDLE_POLL_NANOS = 50_000_000L;

    public VirtualClockImpl(boolean hostPaced) {
        this.hostPaced = hostPaced;
    }

    public boolean hostPaced() {
        return hostPaced;
    }

    public void idleSink(java.util.function.LongConsumer sink) {
        idleSink = sink;
    }

    /** Several vCPUs share this clock; {@code kick} makes the timekeeper (vCPU 0) leave the guest. */
    public void multiProcessor(Runnable kick) {
        kickTimekeeper = kick;
    }

    /** The timekeeper's thread (vCPU 0's), set when it starts. */
    public void timekeeper(Thread t) {
        timekeeper = t;
    }

    /** A timer armed or cancelled: with several vCPUs, one armed off the timekeeper's thread must reach it. */
    private void timerArmed() {
        deadlinesChanged = true;
        Runnable k = kickTimekeeper;
        if (k != null && Thread.currentThread() != timekeeper) {
            k.run();
        }
    }

    /** Called by the run loop at each exit with the processor's TSC (deterministic mode). */
    public void publish(long tsc) {
        // A release store: only the vCPU thread writes it, readers need no fence (one per exit).
        NOW.setRelease(this, hostPaced ? System.nanoTime() - hostBase : tsc);
    }

    @Override
    public long nanos() {
        return hostPaced ? System.nanoTime() - hostBase : now;
    }

    @Override
    public long nextDeadline() {
        if (!deadlinesChanged) {
            return earliest;
        }
        return rescanDeadlines();
    }

    private synchronized long rescanDeadlines() {
        if (!deadlinesChanged) {
            return earliest; // another vCPU rescanned meanwhile
        }
        deadlinesChanged = false;
        long d = Long.MAX_VALUE;
        TimerImpl[] all = timers;
        for (int i = 0; i < all.length; i++) {
            long td = all[i].deadline;
            if (td < d) {
                d = td;
            }
        }
        earliest = d;
        return d;
    }

    /** Runs the timers that are due; returns how many fired. On the vCPU thread only. */
    public int runDue() {
        if (nextDeadline() > nanos()) {
            return 0; // the common case on an exit: nothing is due
        }
        return fireDue();
    }

    /** Runs the due timers, earliest first (out of line: the check above is inlined into every exit). */
    private int fireDue() {
        int fired = 0;
        for (int guard = 0; guard < 10_000; guard++) {
            long t = nanos();
            TimerImpl due = null;
            TimerImpl[] all = timers;
            for (int i = 0; i < all.length; i++) {
                TimerImpl x = all[i];
                if (x.deadline <= t && (due == null || x.deadline < due.deadline)) {
                    due = x;
                }
            }
            if (due == null) {
                break;
            }
            due.deadline = Long.MAX_VALUE;
            deadlinesChanged = true;
            fired++;
            try {
                due.callback.run();
            } catch (RuntimeException e) {
                org.slf4j.LoggerFactory.getLogger(VirtualClockImpl.class).warn("timer {} failed: {}", due.name, e.toString());
            }
        }
        return fired;
    }

    @Override
    public long idleUntil(long deadline) {
        boolean shared = kickTimekeeper != null;
        if (shared && Thread.currentThread() != timekeeper) {
            LockSupport.parkNanos(FOLLOWER_IDLE_NANOS); // not the timekeeper: time is not ours to move
            return nanos();
        }
        if (hostPaced || (shared && deadline == Long.MAX_VALUE)) {
            idler = Thread.currentThread();
            try {
                while (!wake) {
                    long left = deadline == Long.MAX_VALUE ? IDLE_POLL_NANOS : deadline - nanos();
                    if (left <= 0) {
                        break;
                    }
                    LockSupport.parkNanos(Math.min(left, IDLE_POLL_NANOS));
                    if (shared && !hostPaced && deadlinesChanged) {
                        break; // another vCPU armed a timer: idle to its deadline instead
                    }
                    if (deadline == Long.MAX_VALUE && !wake) {
                        continue;
                    }
                }
            } finally {
                wake = false;
                idler = null;
            }
        } else if (deadline != Long.MAX_VALUE && deadline > now) {
            long delta = deadline - now;
            idleSink.accept(delta);
            now = deadline;
        }
        runDue();
        return nanos();
    }

    /** Wakes an idling vCPU (an interrupt arrived from a host thread). */
    public void wake() {
        wake = true;
        Thread t = idler;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    @Override
    public Timer newTimer(String name, Runnable callback) {
        TimerImpl t = new TimerImpl(name, callback);
        synchronized (this) { // rescanDeadlines holds the same lock
            TimerImpl[] all = Arrays.copyOf(timers, timers.length + 1);
            all[all.length - 1] = t;
            timers = all;
        }
        deadlinesChanged = true;
        return t;
    }

    private final class TimerImpl implements Timer {
        final String name;
        final Runnable callback;
        volatile long deadline = Long.MAX_VALUE;

        TimerImpl(String name, Runnable callback) {
            this.name = name;
            this.callback = callback;
        }

        @Override
        public void armAt(long deadlineNanos) {
            deadline = deadlineNanos == Long.MAX_VALUE ? Long.MAX_VALUE - 1 : deadlineNanos;
            timerArmed();
        }

        @Override
        public void cancel() {
            deadline = Long.MAX_VALUE;
            deadlinesChanged = true;
        }

        @Override
        public boolean armed() {
            return deadline != Long.MAX_VALUE;
        }
    }

    /** Drops every timer (machine reset). */
    public void cancelAll() {
        for (TimerImpl t : timers) {
            t.deadline = Long.MAX_VALUE;
        }
        deadlinesChanged = true;
    }
}
