package org.hotvisor.device.debug.ports;

import java.util.function.IntConsumer;

/**
 * The Bochs/QEMU debug console ("port E9 hack"): each byte written goes to the host, and a read
 * returns the read-back value (0xE9) so a guest can detect the port. Output is kept until a
 * line is complete, so that it does not interleave character by character with a serial port
 * that prints the same text to the same terminal.
 */
public final class DebugConsole extends CountedPort {
    /** The conventional port (OVMF uses 0x402). */
    public static final int DEFAULT_PORT = 0xE9;
    /** What a read returns: Bochs and QEMU answer with the port number, 0xE9. */
    public static final int DEFAULT_READBACK = 0xE9;
    /** Longest line kept before it is written out anyway. */
    static final int LINE_CAPACITY = 256;
    private static final int LINE_FEED = '\n';
    private static final int BYTE_MASK = 0xFF;

    private final int port;
    private final int readback;
    private final IntConsumer output;
    private final Runnable flush;
    private final byte[] line = new byte[LINE_CAPACITY];
    private int lineLength;


    /**
     * @param output receives each byte of a completed line
     * @param flush runs after each completed line
     */
    public DebugConsole(int port, int readback, IntConsumer output, Runnable flush) {
        this.port = port;
        this.readback = readback & BYTE_MASK;
        this.output = output;
        this.flush = flush;
    }

    public int ioRead(int port, int size) {
        if (port != this.port) {
            missedReads++;
            return IsaBus.openBus(size);
        }
        reads++;
        if (size != 1) {
            // An ISA bus splits the access; the bytes above go to ports this device does not decode.
            unexpectedSizes++;
            return readback | (IsaBus.openBus(size) & ~BYTE_MASK);
        }
        // The guest checks whether the debug console is there.
        return readback;
    }

    public void ioWrite(int port, int size, int value) {
        if (port != this.port) {
            missedWrites++;
            return;
        }
        if (size != 1) {
            // Only the low byte is addressed to this port on an 8-bit bus.
            unexpectedSizes++;
        }
        writes++;
        // The guest prints one character.
        int b = value & BYTE_MASK;
        line[lineLength++] = (byte) b;
        if (b == LINE_FEED || lineLength == LINE_CAPACITY) {
            flushLine();
        }
    }

    /** Writes out a partial line (at shutdown). */
    public void flushLine() {
        if (lineLength == 0) {
            return;
        }
        for (int i = 0; i < lineLength; i++) {
            output.accept(line[i] & BYTE_MASK);
        }
        lineLength = 0;
        flush.run();
    }

    @Override
    public String toString() {
        return String.format("debugcon@0x%x: %s",
                port, counters());
    }
}
