package org.hotvisor.launcher;

/** The launcher's own process statuses; any other status is the guest's. */
final class ExitStatus {
    static final int OK = 0;
    /** Command-line mistake. */
    static final int USAGE = 2;
    /** Hotvisor itself broke. */
    static final int INTERNAL_ERROR = 3;
    /** --timeout passed (as coreutils timeout(1)). */
    static final int TIMEOUT = 124;

    private ExitStatus() {
    }
}
