package org.hotvisor.device.pci.host;

import org.hotvisor.api.device.PortIoDevice;

/**
 * PCI configuration mechanism #1 (PCI Local Bus Specification 3.0, 3.2.2.3.2): CONFIG_ADDRESS
 * at 0xCF8 (dword), CONFIG_DATA at 0xCFC-0xCFF. CONFIG_ADDRESS holds enable (bit 31), bus
 * (23:16), device (15:11), function (10:8) and the dword register number (7:2); a data access at
 * 0xCFC + n reaches configuration byte (register | n), with 1-, 2- and 4-byte accesses on their
 * lanes. Only bus 0 exists; every function nobody registered reads all ones (vendor FFFFh:
 * absent), as with the enable bit clear.
 *
 * <p>As in QEMU, only a dword write at 0xCF8 sets CONFIG_ADDRESS; narrower writes to 0xCF8-0xCFB
 * are ignored (counted). Reads of 0xCF8-0xCFB return CONFIG_ADDRESS on their byte lanes.
 */
public final class PciHost implements PortIoDevice {
    public static final int DEFAULT_BASE = 0xCF8;
    static final int ADDRESS_OFFSET = 0;
    static final int DATA_OFFSET = 4;
    static final int PORT_COUNT = 8;
    static final int LANES = 4;

    static final int ENABLE = 1 << 31;
    static final int BUS_SHIFT = 16;
    static final int BUS_MASK = 0xFF;
    /** Device (5 bits) and function (3 bits) together: bits 15:8. */
    static final int DEVFN_SHIFT = 8;
    static final int DEVFN_MASK = 0xFF;
    static final int FUNCTION_BITS = 3;
    static final int REGISTER_MASK = 0xFC;
    static final int FUNCTIONS_PER_BUS = 256;
    private static final int BITS_PER_BYTE = 8;

    private final int base;
    private final PciFunction[] bus0 = new PciFunction[FUNCTIONS_PER_BUS];
    private int configAddress;

    long ignoredAddressWrites;
    long absentReads;

    public PciHost(int base) {
        this.base = base;
    }

    /** Puts a function at bus 0, device:function; for building the machine, before the guest runs. */
    void attach(int device, int function, PciFunction f) {
        bus0[(device << FUNCTION_BITS) | function] = f;
    }

    @Override
    public int ioRead(int port, int size) {
        int at = port - base;
        if (at >= ADDRESS_OFFSET && at < DATA_OFFSET) {
            return lanes(configAddress, at - ADDRESS_OFFSET, size);
        }
        int lane = at - DATA_OFFSET;
        PciFunction f = selected();
        if (f == null || lane < 0 || lane >= LANES) {
            absentReads++;
            return allOnes(size);
        }
        int inside = Math.min(size, LANES - lane); // bytes beyond 0xCFF are not CONFIG_DATA
        int value = f.configRead((configAddress & REGISTER_MASK) | lane, inside);
        return inside == size ? value : value | (allOnes(size) & ~allOnes(inside));
    }

    @Override
    public void ioWrite(int port, int size, int value) {
        int at = port - base;
        if (at >= ADDRESS_OFFSET && at < DATA_OFFSET) {
            if (at == ADDRESS_OFFSET && size == Integer.BYTES) {
                configAddress = value;
            } else {
                ignoredAddressWrites++;
            }
            return;
        }
        int lane = at - DATA_OFFSET;
        PciFunction f = selected();
        if (f == null || lane < 0 || lane >= LANES) {
            return; // no function there: the write goes nowhere (master abort)
        }
        f.configWrite((configAddress & REGISTER_MASK) | lane, Math.min(size, LANES - lane), value);
    }

    /** The function CONFIG_ADDRESS points at, or null (disabled, another bus, or nobody there). */
    private PciFunction selected() {
        int a = configAddress;
        if ((a & ENABLE) == 0 || ((a >>> BUS_SHIFT) & BUS_MASK) != 0) {
            return null;
        }
        return bus0[(a >>> DEVFN_SHIFT) & DEVFN_MASK];
    }

    private static int lanes(int register, int lane, int size) {
        return (register >>> (BITS_PER_BYTE * lane)) & allOnes(size);
    }

    private static int allOnes(int size) {
        return size >= Integer.BYTES ? -1 : (1 << (BITS_PER_BYTE * size)) - 1;
    }

    int configAddress() {
        return configAddress;
    }

    @Override
    public String toString() {
        return String.format("pci-host@0x%x: CONFIG_ADDRESS=0x%08x ignoredAddressWrites=%d absentReads=%d",
                base, configAddress, ignoredAddressWrites, absentReads);
    }
}
