package org.hotvisor.device.debug.ports;

/**
 * The POST diagnostic port 0x80: firmware writes progress codes there (and old code writes to it
 * just to waste a microsecond). Writes are counted and the last code is kept; reads return it,
 * like a POST card's latch.
 */
public final class PostPort extends CountedPort {
    public static final int DEFAULT_PORT = 0x80;
    private static final int BYTE_MASK = 0xFF;

    private final int port;
    /** The latched POST code. */
    private int lastCode;


    public PostPort(int port) {
        this.port = port;
    }

    public int ioRead(int port, int size) {
        if (port != this.port) {
            missedReads++;
            return IsaBus.openBus(size);
        }
        reads++;
        if (size != 1) {
            unexpectedSizes++;
            return lastCode | (IsaBus.openBus(size) & ~BYTE_MASK);
        }
        // The guest reads back the latched code (or uses the read as an I/O delay).
        return lastCode;
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
        // The guest reports a POST checkpoint (or delays with a dummy write).
        lastCode = value & BYTE_MASK;
    }

    public int lastCode() {
        return lastCode;
    }

    @Override
    public String toString() {
        return String.format("post@0x%x: last=0x%02x %s",
                port, lastCode, counters());
    }
}
