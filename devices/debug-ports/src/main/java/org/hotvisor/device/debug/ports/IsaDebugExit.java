package org.hotvisor.device.debug.ports;

import org.hotvisor.api.device.MachineControl;

/**
 * The isa-debug-exit device of test harnesses: a guest writes a value V and the VM stops with
 * process status {@code (V << 1) | 1}, so no guest-chosen value can look like a clean exit 0.
 * It decodes a four-port window (iosize 4); 8-, 16- and 32-bit writes anywhere in it exit, with
 * V taken at the width of the access.
 */
public final class IsaDebugExit extends CountedPort {
    /** The conventional base port. */
    public static final int DEFAULT_BASE = 0xF4;
    /** Ports decoded from the base (iosize). */
    public static final int PORT_COUNT = 4;
    /** Reads return nothing of interest. */
    static final int READ_VALUE = 0;
    static final String REASON = "isa-debug-exit";
    private static final int BYTE_MASK = 0xFF;
    private static final int WORD_MASK = 0xFFFF;

    private final int basePort;
    private final MachineControl machine;

    /** The last value written, as masked to its access size. */
    private int lastValue;

    public IsaDebugExit(int basePort, MachineControl machine) {
        this.basePort = basePort;
        this.machine = machine;
    }

    public int ioRead(int port, int size) {
        if (!decodes(port)) {
            missedReads++;
            return IsaBus.openBus(size);
        }
        reads++;
        // The guest probes the port: there is no status to report.
        return READ_VALUE;
    }

    public void ioWrite(int port, int size, int value) {
        if (!decodes(port)) {
            missedWrites++;
            return;
        }
        int v;
        switch (size) {
            case 1 -> v = value & BYTE_MASK;   // the guest exits with an 8-bit code (OUT imm8, AL)
            case 2 -> v = value & WORD_MASK;   // the guest exits with a 16-bit code (OUT DX, AX)
            case 4 -> v = value;               // the guest exits with a 32-bit code (OUT DX, EAX)
            default -> {
                unexpectedSizes++;
                return;
            }
        }
        writes++;
        lastValue = v;
        machine.powerOff((v << 1) | 1, REASON);
    }

    private boolean decodes(int port) {
        int offset = port - basePort;
        return offset >= 0 && offset < PORT_COUNT;
    }

    public int lastValue() {
        return lastValue;
    }

    @Override
    public String toString() {
        return String.format("isa-debug-exit@0x%x: %s",
                basePort, counters());
    }
}
