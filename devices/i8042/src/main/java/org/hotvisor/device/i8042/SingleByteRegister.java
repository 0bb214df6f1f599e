package org.hotvisor.device.i8042;

/**
 * A one-byte chipset register at one I/O port: the port check, the open-bus value of ports it
 * does not decode and of the bytes above it, and the access counters that {@code toString()}
 * reports. Subclasses own the register's bits.
 */
abstract class SingleByteRegister {
    private static final int BYTE_MASK = 0xFF;
    private static final int BITS_PER_BYTE = 8;

    private final int port;
    private final String name;
    private long reads;
    private long writes;
    private long unexpectedSizes;
    private long missedReads;
    private long missedWrites;

    SingleByteRegister(int port, String name) {
        this.port = port;
        this.name = name;
    }

    /** The register's byte as the guest reads it. */
    abstract int read();

    /** The guest wrote this byte. */
    abstract void write(int value);

    /** Counters of the subclass for {@code toString()}, e.g. " resets=1". */
    abstract String counters();

    public final int ioRead(int p, int size) {
        if (p != port) {
            missedReads++;
            return openBus(size);
        }
        reads++;
        int v = read();
        if (size != 1) {
            unexpectedSizes++; // a wider read sees open bus above the register's byte
            return (v | ~BYTE_MASK) & openBus(size);
        }
        return v;
    }

    public final void ioWrite(int p, int size, int v) {
        if (p != port) {
            missedWrites++;
            return;
        }
        if (size != 1) {
            unexpectedSizes++; // the register takes the low byte
        }
        writes++;
        write(v & BYTE_MASK);
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

    @Override
    public String toString() {
        return String.format("%s: reads=%d writes=%d unexpectedSizes=%d missedReads=%d missedWrites=%d%s",
                name, reads, writes, unexpectedSizes, missedReads, missedWrites, counters());
    }
}
