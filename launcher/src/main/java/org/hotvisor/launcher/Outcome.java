package org.hotvisor.launcher;

/** How a run ended, as the launcher reports it. */
sealed interface Outcome {
    /** The kernel published its result: the guest powered off, faulted, or could not be loaded. */
    record Finished(int status, String message) implements Outcome {
    }

    /** Hotvisor itself broke: status 3. */
    record Broken(String message) implements Outcome {
    }

    /** --timeout passed first: status 124. */
    record TimedOut() implements Outcome {
    }
}
