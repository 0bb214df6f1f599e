package org.hotvisor.api.device;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A device on the I/O port bus. Register it as a service with {@value #PORTS}, a list of ports
 * and inclusive ranges such as {@code "0x3f8-0x3ff"} or {@code "0x20-0x21,0xa0-0xa1"}.
 * Calls come on the vCPU thread that exited.
 */
@ConsumerType
public interface PortIoDevice {
    /** Service property: the ports claimed. */
    String PORTS = "hotvisor.io.ports";

    /** A read of {@code size} bytes (1, 2 or 4) at {@code port}; the result is masked to the size. */
    int ioRead(int port, int size);

    /** A write of {@code size} bytes (1, 2 or 4) at {@code port}. */
    void ioWrite(int port, int size, int value);
}
