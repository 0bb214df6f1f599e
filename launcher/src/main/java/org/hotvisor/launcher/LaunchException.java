package org.hotvisor.launcher;

/** Hotvisor itself is broken (missing bundle, a bundle that does not start): exit status 3. */
final class LaunchException extends Exception {
    private static final long serialVersionUID = 1L;

    LaunchException(String message) {
        super(message, null, false, false);
    }
}
