package org.hotvisor.device.pci.host;

/**
 * One PCI function's 256-byte configuration space, as configuration mechanism #1 reaches it.
 * Calls come with {@code offset + size <= 256}, size 1, 2 or 4, never crossing a dword
 * (the mechanism addresses one dword at a time); values are little-endian.
 */
interface PciFunction {
    int configRead(int offset, int size);

    void configWrite(int offset, int size, int value);
}
