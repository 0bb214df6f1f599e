package org.hotvisor.api.device;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The machine's one clock, shared by every device. By default it is deterministic: it advances
 * with retired guest instructions, and skips ahead over idle (HLT) time. Timer callbacks run on
 * the vCPU thread, between guest instructions, at exactly the virtual time they were set for.
 */
@ProviderType
public interface VirtualClock {
    /** Virtual nanoseconds since the VM started. */
    long nanos();

    /** The earliest armed timer deadline, or {@link Long#MAX_VALUE} if no timer is armed. */
    long nextDeadline();

    /**
     * Idles the calling vCPU until {@code deadlineNanos}, running the timers that fall due. The
     * deterministic clock jumps there at once; the host clock sleeps. Returns early (with the
     * time reached) if a host thread asserts an interrupt meanwhile.
     */
    long idleUntil(long deadlineNanos);

    /** Creates a timer that runs {@code callback} when it fires. */
    Timer newTimer(String name, Runnable callback);

    /**
     * A one-shot timer; re-arm it from its callback for periodic behaviour. {@code armAt} and
     * {@code cancel} are thread-safe; callbacks always run on the vCPU thread.
     */
    @ProviderType
    interface Timer {
        /** Arms (or re-arms) the timer for an absolute virtual time. */
        void armAt(long deadlineNanos);

        void cancel();

        boolean armed();
    }
}
