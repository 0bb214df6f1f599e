package org.hotvisor.device.i8042;

import org.hotvisor.api.device.MachineControl;

/**
 * System Control Port A at 0x92 (the PS/2 "fast A20 and reset" port): bit 1 gates A20 without
 * the slow trip through the 8042, and setting bit 0 resets the processor.
 *
 * <p>Reference: IBM PS/2 Hardware Interface Technical Reference, "System Control Port A".
 */
public final class SystemControlPortA {
    public static final int PORT = 0x92;
    /** Bit 0: writing 1 (from 0) pulses the processor reset. */
    static final int FAST_RESET = 0x01;
    /** Bit 1: the A20 gate. */
    static final int FAST_A20 = 0x02;
    /** Bit 3: the power-on password lock, kept but without effect. */
    static final int SECURITY_LOCK = 0x08;
    static final int WRITABLE = FAST_RESET | FAST_A20 | SECURITY_LOCK;
    private static final int BYTE_MASK = 0xFF;
    private static final int BITS_PER_BYTE = 8;

    private final MachineControl machine;
    /** The bits last written (A20 is read from the machine: the 8042 can change it too). */
    private int value;

    private long reads;
    private long writes;
    private long unexpectedSizes;
    private long missedReads;
    private long missedWrites;
    private long resets;

    public SystemControlPortA(MachineControl machine) {
        this.machine = machine;
    }

    public int ioRead(int port, int size) {
        if (port != PORT) {
            missedReads++;
            return openBus(size);
        }
        reads++;
        // The guest reads the A20 state before a read-modify-write (OR 2, AND 0xFE).
        int v = (value & ~FAST_A20) | (machine.a20() ? FAST_A20 : 0);
        if (size != 1) {
            unexpectedSizes++;
            return (v | ~BYTE_MASK) & openBus(size);
        }
        return v;
    }

    public void ioWrite(int port, int size, int v) {
        if (port != PORT) {
            missedWrites++;
            return;
        }
        if (size != 1) {
            unexpectedSizes++;
        }
        writes++;
        // The guest switches A20, and perhaps asks for a reset with bit 0.
        int old = value;
        value = v & WRITABLE;
        machine.setA20((value & FAST_A20) != 0);
        if ((value & ~old & FAST_RESET) != 0) {
            resets++;
            machine.reset("port 0x92 fast reset");
        }
    }

    private static int openBus(int size) {
        return size >= Integer.BYTES ? -1 : (1 << (BITS_PER_BYTE * size)) - 1;
    }

    public long reads() {
        return reads;
    }

    public long writes() {
        return writes;
    }

    public long unexpectedSizes() {
        return unexpectedSizes;
    }

    public long missedReads() {
        return missedReads;
    }

    public long missedWrites() {
        return missedWrites;
    }

    public long resets() {
        return resets;
    }

    @Override
    public String toString() {
        return String.format("port92: reads=%d writes=%d unexpectedSizes=%d missedReads=%d missedWrites=%d resets=%d",
                reads, writes, unexpectedSizes, missedReads, missedWrites, resets);
    }
}
