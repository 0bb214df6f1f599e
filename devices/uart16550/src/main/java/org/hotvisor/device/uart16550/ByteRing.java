package org.hotvisor.device.uart16550;

/**
 * A bounded single-producer, single-consumer byte queue between a host thread and the vCPU
 * thread, without locks: the producer publishes with a volatile write of {@code tail}, the
 * consumer with one of {@code head}. Several producers must serialize among themselves.
 */
final class ByteRing {
    private final byte[] slots;
    private final int mask;
    /** Next slot the consumer reads. */
    private volatile int head;
    /** Next slot a producer fills. */
    private volatile int tail;
    /** Bytes refused because the ring was full; written by the producer only. */
    private volatile long dropped;

    /** @param capacity a power of two */
    ByteRing(int capacity) {
        if (Integer.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("capacity must be a power of two: " + capacity);
        }
        slots = new byte[capacity];
        mask = capacity - 1;
    }

    /** Producer side: appends a byte, or returns false if the ring is full. */
    boolean offer(int b) {
        int t = tail;
        if (t - head == slots.length) {
            dropped++;
            return false;
        }
        slots[t & mask] = (byte) b;
        tail = t + 1;
        return true;
    }

    /** Consumer side: the next byte (0-255), or -1 if the ring is empty. */
    int poll() {
        int h = head;
        if (h == tail) {
            return -1;
        }
        int b = slots[h & mask] & 0xFF;
        head = h + 1;
        return b;
    }

    long dropped() {
        return dropped;
    }

    boolean isEmpty() {
        return head == tail;
    }
}
