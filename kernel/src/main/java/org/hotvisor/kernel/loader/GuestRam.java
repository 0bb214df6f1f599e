package org.hotvisor.kernel.loader;

/** Bounds-checked little-endian writes into guest RAM (guest physical address = array index). */
final class GuestRam {
    private final byte[] ram;

    GuestRam(byte[] ram) {
        this.ram = ram;
    }

    long size() {
        return ram.length;
    }

    /** Whether [address, address + length) lies inside guest RAM. */
    boolean contains(long address, long length) {
        return address >= 0 && length >= 0 && address <= ram.length && length <= ram.length - address;
    }

    void copyIn(long address, byte[] source, int offset, int length) {
        System.arraycopy(source, offset, ram, Math.toIntExact(address), length);
    }

    void zero(long address, long length) {
        int start = Math.toIntExact(address);
        java.util.Arrays.fill(ram, start, Math.toIntExact(start + length), (byte) 0);
    }

    void write32(long address, long value) {
        int at = Math.toIntExact(address);
        ram[at] = (byte) value;
        ram[at + 1] = (byte) (value >>> 8);
        ram[at + 2] = (byte) (value >>> 16);
        ram[at + 3] = (byte) (value >>> 24);
    }

    void write64(long address, long value) {
        write32(address, value);
        write32(address + 4, value >>> 32);
    }

    /** Human-readable size for messages: "128 MiB", "640 KiB", "1000 bytes". */
    String describeSize() {
        return Hex.size(ram.length);
    }
}
