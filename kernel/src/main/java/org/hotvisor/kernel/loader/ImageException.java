package org.hotvisor.kernel.loader;

/**
 * A guest image that cannot be loaded. The message is one line meant for the user
 * ("64-bit ELF: ..."), so the exception carries no stack trace.
 */
public final class ImageException extends Exception {
    private static final long serialVersionUID = 1L;

    public ImageException(String message) {
        super(message, null, false, false);
    }
}
