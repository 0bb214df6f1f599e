package org.hotvisor.device.pci.host;

/**
 * A type-0 configuration space as plain registers: 256 bytes plus a mask of the bits software
 * may write (PCI Local Bus Specification 3.0, 6.1 "Configuration Space Organization"). Read-only
 * bits keep their value on writes. Subclasses set the identity and the writable bits.
 */
abstract class ConfigSpace implements PciFunction {
    static final int SIZE = 256;
    private static final int BYTE_MASK = 0xFF;

    // ---- predefined header (PCI 3.0, 6.2) ----
    static final int VENDOR_ID = 0x00;
    static final int DEVICE_ID = 0x02;
    static final int COMMAND = 0x04;
    static final int STATUS = 0x06;
    static final int REVISION_ID = 0x08;
    static final int CLASS_PROG_IF = 0x09;
    static final int CLASS_SUBCLASS = 0x0A;
    static final int CLASS_BASE = 0x0B;
    static final int CACHE_LINE_SIZE = 0x0C;
    static final int LATENCY_TIMER = 0x0D;
    static final int HEADER_TYPE = 0x0E;
    static final int SUBSYSTEM_VENDOR_ID = 0x2C;
    static final int SUBSYSTEM_ID = 0x2E;
    /** Device-specific registers start here (PCI 3.0, 6.1). */
    static final int DEVICE_SPECIFIC = 0x40;

    /** Header type 0: a single-function ordinary device (bit 7 clear: no further functions). */
    static final int HEADER_TYPE_NORMAL = 0x00;

    private final byte[] bytes = new byte[SIZE];
    private final byte[] writable = new byte[SIZE];

    @Override
    public int configRead(int offset, int size) {
        int v = 0;
        for (int i = 0; i < size; i++) {
            v |= (bytes[offset + i] & BYTE_MASK) << (Byte.SIZE * i);
        }
        return v;
    }

    @Override
    public void configWrite(int offset, int size, int value) {
        for (int i = 0; i < size; i++) {
            int at = offset + i;
            int mask = writable[at] & BYTE_MASK;
            int b = (value >>> (Byte.SIZE * i)) & BYTE_MASK;
            bytes[at] = (byte) ((bytes[at] & ~mask) | (b & mask));
        }
    }

    final void set8(int offset, int value) {
        bytes[offset] = (byte) value;
    }

    final void set16(int offset, int value) {
        set8(offset, value);
        set8(offset + 1, value >>> Byte.SIZE);
    }

    final void writable8(int offset, int mask) {
        writable[offset] = (byte) mask;
    }

    final void writable16(int offset, int mask) {
        writable8(offset, mask);
        writable8(offset + 1, mask >>> Byte.SIZE);
    }
}
