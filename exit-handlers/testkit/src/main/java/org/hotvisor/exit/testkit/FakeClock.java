package org.hotvisor.exit.testkit;

import java.util.ArrayList;
import java.util.List;
import org.hotvisor.api.device.VirtualClock;

/** A deterministic virtual clock: idleUntil jumps to the deadline, running the timers that fall due. */
public final class FakeClock implements VirtualClock {
    public long now;
    /** Every deadline passed to idleUntil, in order. */
    public final List<Long> idleCalls = new ArrayList<>();
    private final List<FakeTimer> timers = new ArrayList<>();

    @Override
    public long nanos() {
        return now;
    }

    @Override
    public long nextDeadline() {
        long next = Long.MAX_VALUE;
        for (FakeTimer t : timers) {
            if (t.armed && t.deadline < next) {
                next = t.deadline;
            }
        }
        return next;
    }

    @Override
    public long idleUntil(long deadlineNanos) {
        idleCalls.add(deadlineNanos);
        while (true) {
            long next = nextDeadline();
            if (next > deadlineNanos) {
                break;
            }
            now = Math.max(now, next);
            for (FakeTimer t : List.copyOf(timers)) {
                if (t.armed && t.deadline <= now) {
                    t.armed = false;
                    t.callback.run();
                }
            }
        }
        if (deadlineNanos != Long.MAX_VALUE) {
            now = Math.max(now, deadlineNanos);
        }
        return now;
    }

    @Override
    public Timer newTimer(String name, Runnable callback) {
        FakeTimer t = new FakeTimer(callback);
        timers.add(t);
        return t;
    }

    private static final class FakeTimer implements Timer {
        final Runnable callback;
        long deadline;
        boolean armed;

        FakeTimer(Runnable callback) {
            this.callback = callback;
        }

        @Override public void armAt(long deadlineNanos) { deadline = deadlineNanos; armed = true; }
        @Override public void cancel() { armed = false; }
        @Override public boolean armed() { return armed; }
    }
}
