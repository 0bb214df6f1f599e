package org.hotvisor.device.debug.ports;

import org.hotvisor.api.device.MachineControl;

/**
 * The Bochs/QEMU APM shutdown port 0x8900: writing the bytes of "Shutdown" one after another
 * powers the machine off with status 0. Any other byte restarts the match (a stray 'S' starts
 * it anew).
 */
public final class ShutdownPort extends CountedPort {
    public static final int DEFAULT_PORT = 0x8900;
    static final String REASON = "shutdown port";
    static final int STATUS = 0;
    private static final byte[] MAGIC = {'S', 'h', 'u', 't', 'd', 'o', 'w', 'n'};
    private static final int BYTE_MASK = 0xFF;

    private final int port;
    private final MachineControl machine;
    /** How many bytes of "Shutdown" have been matched so far. */
    private int matched;


    public ShutdownPort(int port, MachineControl machine) {
        this.port = port;
        this.machine = machine;
    }

    public int ioRead(int port, int size) {
        if (port != this.port) {
            missedReads++;
            return IsaBus.openBus(size);
        }
        reads++;
        // The port is write-only: the guest reads an open bus.
        return IsaBus.openBus(size);
    }

    public void ioWrite(int port, int size, int value) {
        if (port != this.port) {
            missedWrites++;
            return;
        }
        if (size != 1) {
            unexpectedSizes++;
        }
        writes++;
        // The guest spells out "Shutdown", one byte per OUT.
        int b = value & BYTE_MASK;
        if (b == MAGIC[matched]) {
            matched++;
            if (matched == MAGIC.length) {
                matched = 0;
                machine.powerOff(STATUS, REASON);
            }
        } else {
            matched = b == MAGIC[0] ? 1 : 0;
        }
    }

    @Override
    public String toString() {
        return String.format("shutdown@0x%x: %s",
                port, counters());
    }
}
