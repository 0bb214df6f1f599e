package org.hotvisor.api.device;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The launcher's terminal as devices see it: guest output goes to stdout (or the console), and
 * keyboard input comes back to the device that registered as the input listener.
 */
@ProviderType
public interface HostConsole {
    /** Writes one byte of guest output. */
    void write(int b);

    /** Flushes buffered guest output. */
    void flush();

    /** Sets the listener for host keyboard input (one byte per call, on a host thread), or null. */
    void setInputListener(java.util.function.IntConsumer listener);
}
