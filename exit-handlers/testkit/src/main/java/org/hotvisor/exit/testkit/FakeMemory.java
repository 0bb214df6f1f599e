package org.hotvisor.exit.testkit;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.hotvisor.api.GuestMemory;

/**
 * Little-endian guest RAM in a byte array. Linear addresses translate identically unless a test
 * remaps a page ({@link #mapPage}) or makes it not present ({@link #unmapPage}) or read-only.
 */
public final class FakeMemory implements GuestMemory {
    private static final long PAGE_MASK = 0xFFFL;

    private final byte[] ram;
    private final Map<Long, Long> pageMap = new HashMap<>();
    private final Set<Long> notPresent = new HashSet<>();
    private final Set<Long> readOnly = new HashSet<>();
    /** Number of translate() calls: lets a test see how many elements a string instruction touched. */
    public int translations;

    public FakeMemory(int size) {
        ram = new byte[size];
    }

    public void mapPage(long linearPage, long physicalPage) {
        pageMap.put(linearPage & ~PAGE_MASK, physicalPage & ~PAGE_MASK);
    }

    public void unmapPage(long linearPage) {
        notPresent.add(linearPage & ~PAGE_MASK);
    }

    public void makeReadOnly(long linearPage) {
        readOnly.add(linearPage & ~PAGE_MASK);
    }

    @Override
    public long size() {
        return ram.length;
    }

    private int byteAt(long gpa) {
        return gpa >= 0 && gpa < ram.length ? ram[(int) gpa] & 0xFF : 0xFF;
    }

    private void putByte(long gpa, int value) {
        if (gpa >= 0 && gpa < ram.length) {
            ram[(int) gpa] = (byte) value;
        }
    }

    private long readLe(long gpa, int bytes) {
        long v = 0;
        for (int i = bytes - 1; i >= 0; i--) {
            v = (v << 8) | byteAt(gpa + i);
        }
        return v;
    }

    private void writeLe(long gpa, int bytes, long value) {
        for (int i = 0; i < bytes; i++) {
            putByte(gpa + i, (int) (value >>> (8 * i)));
        }
    }

    @Override public int read8(long gpa) { return (int) readLe(gpa, 1); }
    @Override public int read16(long gpa) { return (int) readLe(gpa, 2); }
    @Override public int read32(long gpa) { return (int) readLe(gpa, 4); }
    @Override public long read64(long gpa) { return readLe(gpa, 8); }
    @Override public void write8(long gpa, int value) { writeLe(gpa, 1, value); }
    @Override public void write16(long gpa, int value) { writeLe(gpa, 2, value); }
    @Override public void write32(long gpa, int value) { writeLe(gpa, 4, value); }
    @Override public void write64(long gpa, long value) { writeLe(gpa, 8, value); }

    @Override
    public void read(long gpa, byte[] dst, int offset, int length) {
        for (int i = 0; i < length; i++) {
            dst[offset + i] = (byte) byteAt(gpa + i);
        }
    }

    @Override
    public void write(long gpa, byte[] src, int offset, int length) {
        for (int i = 0; i < length; i++) {
            putByte(gpa + i, src[offset + i]);
        }
    }

    @Override
    public long translate(long linear, boolean write) {
        translations++;
        long page = linear & ~PAGE_MASK;
        if (notPresent.contains(page) || (write && readOnly.contains(page))) {
            return -1;
        }
        return pageMap.getOrDefault(page, page) | (linear & PAGE_MASK);
    }
}
