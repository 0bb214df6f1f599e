package org.hotvisor.device.debug.ports;

/**
 * The access counters every debug port keeps (Firecracker style): reads and writes it served,
 * accesses of a size it does not decode, and accesses to ports in its range it does not answer.
 */
abstract class CountedPort implements org.hotvisor.api.device.PortIoDevice {
    long reads;
    long writes;
    long unexpectedSizes;
    long missedReads;
    long missedWrites;

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

    /** "reads=.. writes=.. unexpectedSizes=.. missedReads=.. missedWrites=..", for toString. */
    String counters() {
        return String.format("reads=%d writes=%d unexpectedSizes=%d missedReads=%d missedWrites=%d",
                reads, writes, unexpectedSizes, missedReads, missedWrites);
    }
}
