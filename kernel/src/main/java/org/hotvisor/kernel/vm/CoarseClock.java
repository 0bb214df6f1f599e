package org.hotvisor.kernel.vm;

/**
 * A host clock at millisecond resolution that costs a field read: a daemon thread refreshes it
 * while some vCPU runs its loop. The vCPU reads it around every exit to catch a handler over its
 * time budget (100 ms by default) on the exits it does not time exactly: ExitStatistics samples
 * the precise timing, because System.nanoTime costs as much as a fast exit.
 */
final class CoarseClock {
    private static final long TICK_MILLIS = 2;
    private static volatile long now = System.nanoTime();
    private static int users;
    private static Thread ticker;

    private CoarseClock() {
    }

    /** A run loop starts: the ticker runs until the last one {@link #release releases} it. */
    static synchronized void acquire() {
        users++;
        now = System.nanoTime();
        if (ticker == null) {
            ticker = Thread.ofPlatform().daemon().name("hotvisor-coarse-clock").start(CoarseClock::tick);
        }
    }

    static synchronized void release() {
        if (--users == 0 && ticker != null) {
            ticker.interrupt(); // no thread outlives the loops (or a kernel-bundle update)
            ticker = null;
        }
    }

    private static void tick() {
        while (!Thread.currentThread().isInterrupted()) {
            now = System.nanoTime();
            try {
                Thread.sleep(TICK_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** System.nanoTime() as of the last tick (a few milliseconds old at most). */
    static long nanos() {
        return now;
    }
}
