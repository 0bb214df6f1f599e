package org.hotvisor.kernel.dispatch;

import java.util.Locale;

/** What happens after a handler throws (issue: fault isolation). The guest state is untouched either way. */
public enum FaultPolicy {
    /** Pause the VM and report the bundle, reason, guest RIP and exception: the default. */
    PAUSE,
    /** Inject #UD into the guest and resume. */
    INJECT_UD,
    /** Inject #GP(0) into the guest and resume. */
    INJECT_GP,
    /** Hand the exit to the next-ranked handler (or the built-in default). */
    NEXT;

    /** Parses "pause", "inject-ud", "inject-gp", "next". */
    public static FaultPolicy parse(String text) {
        try {
            return valueOf(text.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown fault policy '" + text + "' (pause, inject-ud, inject-gp, next)");
        }
    }
}
