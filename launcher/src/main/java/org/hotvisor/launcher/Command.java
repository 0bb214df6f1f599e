package org.hotvisor.launcher;

/** What the user asked the launcher to do. */
enum Command {
    /** Boot an image headless and exit with the guest's status. */
    RUN,
    /** RUN with the bundled demo guest. */
    DEMO,
    /** Load a guest paused and open the interactive Gogo shell. */
    CONSOLE,
    /** Print the usage and exit 0. */
    HELP
}
