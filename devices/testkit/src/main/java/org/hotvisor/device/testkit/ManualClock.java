package org.hotvisor.device.testkit;

import java.util.ArrayList;
import java.util.List;
import org.hotvisor.api.device.VirtualClock;

/** A virtual clock the test moves by hand; due timers run in deadline order inside {@link #advanceTo}. */
public final class ManualClock implements VirtualClock {
    private long now;
    private final List<ManualTimer> timers = new ArrayList<>();

    @Override
    public long nanos() {
        return now;
    }

    @Override
    public long nextDeadline() {
        long next = Long.MAX_VALUE;
        for (ManualTimer t : timers) {
            if (t.armed) {
                next = Math.min(next, t.deadline);
            }
        }
        return next;
    }

    @Override
    public long idleUntil(long deadlineNanos) {
        advanceTo(deadlineNanos);
        return now;
    }

    @Override
    public Timer newTimer(String name, Runnable callback) {
        ManualTimer t = new ManualTimer(callback);
        timers.add(t);
        return t;
    }

    public void advanceBy(long nanos) {
        advanceTo(now + nanos);
    }

    public void advanceTo(long target) {
        while (nextDeadline() <= target) {
            long deadline = nextDeadline();
            now = Math.max(now, deadline);
            for (ManualTimer t : List.copyOf(timers)) {
                if (t.armed && t.deadline == deadline) {
                    t.armed = false;
                    t.callback.run();
                }
            }
        }
        now = Math.max(now, target);
    }

    private static final class ManualTimer implements Timer {
        final Runnable callback;
        long deadline;
        boolean armed;

        ManualTimer(Runnable callback) {
            this.callback = callback;
        }

        @Override
        public void armAt(long deadlineNanos) {
            deadline = deadlineNanos;
            armed = true;
        }

        @Override
        public void cancel() {
            armed = false;
        }

        @Override
        public boolean armed() {
            return armed;
        }
    }
}
