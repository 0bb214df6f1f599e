package org.hotvisor.kernel.loader;

/**
 * A piece of an image to place in guest RAM: {@code fileSize} bytes from the file at
 * {@code fileOffset}, then zeroes up to {@code memorySize} (the BSS).
 */
record Segment(String name, long fileOffset, long address, long fileSize, long memorySize) {
    long end() {
        return address + memorySize;
    }

    boolean overlaps(long start, long length) {
        return memorySize > 0 && length > 0 && start < end() && address < start + length;
    }
}
