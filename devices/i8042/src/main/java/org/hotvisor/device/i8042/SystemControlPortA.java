package org.hotvisor.device.i8042;

import org.hotvisor.api.device.MachineControl;

/**
 * System Control Port A at 0x92 (the PS/2 "fast A20 and reset" port): bit 1 gates A20 without
 * the slow trip through the 8042, and setting bit 0 resets the processor.
 *
 * <p>Reference: IBM PS/2 Hardware Interface Technical Reference, "System Control Port A".
 */
public final class SystemControlPortA extends SingleByteRegister {
    public static final int PORT = 0x92;
    /** Bit 0: writing 1 (from 0) pulses the processor reset. */
    static final int FAST_RESET = 0x01;
    /** Bit 1: the A20 gate. */
    static final int FAST_A20 = 0x02;
    /** Bit 3: the power-on password lock, kept but without effect. */
    static final int SECURITY_LOCK = 0x08;
    static final int WRITABLE = FAST_RESET | FAST_A20 | SECURITY_LOCK;

    private final MachineControl machine;
    /** The bits last written (A20 is read from the machine: the 8042 can change it too). */
    private int value;
    private long resets;

    public SystemControlPortA(MachineControl machine) {
        super(PORT, "port92");
        this.machine = machine;
    }

    @Override
    int read() {
        // The guest reads the A20 state before a read-modify-write (OR 2, AND 0xFE).
        return (value & ~FAST_A20) | (machine.a20() ? FAST_A20 : 0);
    }

    @Override
    void write(int b) {
        // The guest switches A20, and perhaps asks for a reset with bit 0.
        int old = value;
        value = b & WRITABLE;
        machine.setA20((value & FAST_A20) != 0);
        if ((value & ~old & FAST_RESET) != 0) {
            resets++;
            machine.reset("port 0x92 fast reset");
        }
    }

    public long resets() {
        return resets;
    }

    @Override
    String counters() {
        return String.format(" resets=%d", resets);
    }
}
