package org.hotvisor.exit.mmio;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Per-address counts of MMIO reads and writes nobody claimed, in a fixed open-addressing table
 * filled with compare-and-set: the vCPU thread counts without allocating or locking. Addresses
 * beyond the table's capacity are added up in one "other" bucket.
 */
final class UnclaimedCounts {
    static final int CAPACITY = 256;
    private static final int MASK = CAPACITY - 1;
    /** A key slot holding this is free; keys are stored as address + 1. */
    private static final long FREE = 0;
    /** Fibonacci hashing spreads page-aligned addresses (golden ratio * 2^64). */
    private static final long HASH_MULTIPLIER = 0x9E37_79B9_7F4A_7C15L;
    private static final int HASH_SHIFT = Long.SIZE - Integer.numberOfTrailingZeros(CAPACITY);

    private final AtomicLongArray keys = new AtomicLongArray(CAPACITY);
    private final AtomicLongArray reads = new AtomicLongArray(CAPACITY);
    private final AtomicLongArray writes = new AtomicLongArray(CAPACITY);
    private final AtomicLong otherReads = new AtomicLong();
    private final AtomicLong otherWrites = new AtomicLong();

    /** Counts one access; returns the new count for that address and kind (1 = the first). */
    long count(long address, boolean write) {
        long key = address + 1;
        int slot = (int) ((address * HASH_MULTIPLIER) >>> HASH_SHIFT);
        for (int probe = 0; probe < CAPACITY; probe++) {
            int i = (slot + probe) & MASK;
            long k = keys.get(i);
            if (k == FREE && keys.compareAndSet(i, FREE, key)) {
                k = key;
            } else if (k == FREE) {
                k = keys.get(i); // another thread took the slot meanwhile
            }
            if (k == key) {
                return (write ? writes : reads).incrementAndGet(i);
            }
        }
        return (write ? otherWrites : otherReads).incrementAndGet();
    }

    long reads(long address) {
        int i = find(address);
        return i < 0 ? 0 : reads.get(i);
    }

    long writes(long address) {
        int i = find(address);
        return i < 0 ? 0 : writes.get(i);
    }

    private int find(long address) {
        for (int i = 0; i < CAPACITY; i++) {
            if (keys.get(i) == address + 1) {
                return i;
            }
        }
        return -1;
    }

    long otherReads() {
        return otherReads.get();
    }

    long otherWrites() {
        return otherWrites.get();
    }

    void reset() {
        for (int i = 0; i < CAPACITY; i++) {
            keys.set(i, FREE);
            reads.set(i, 0);
            writes.set(i, 0);
        }
        otherReads.set(0);
        otherWrites.set(0);
    }

    /** The table as text, sorted by address, with a total line. */
    String describe() {
        java.util.TreeMap<Long, long[]> sorted = new java.util.TreeMap<>(Long::compareUnsigned);
        for (int i = 0; i < CAPACITY; i++) {
            long k = keys.get(i);
            if (k != FREE) {
                sorted.put(k - 1, new long[] {reads.get(i), writes.get(i)});
            }
        }
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("%-18s %12s %12s%n", "address", "reads", "writes"));
        long totalReads = otherReads.get();
        long totalWrites = otherWrites.get();
        for (var e : sorted.entrySet()) {
            long[] rw = e.getValue();
            if (rw[0] != 0 || rw[1] != 0) {
                sb.append(String.format("0x%016x %12d %12d%n", e.getKey(), rw[0], rw[1]));
                totalReads += rw[0];
                totalWrites += rw[1];
            }
        }
        if (otherReads.get() != 0 || otherWrites.get() != 0) {
            sb.append(String.format("%-18s %12d %12d%n", "(other addresses)", otherReads.get(), otherWrites.get()));
        }
        sb.append(String.format("%-18s %12d %12d%n", "total", totalReads, totalWrites));
        return sb.toString();
    }
}
