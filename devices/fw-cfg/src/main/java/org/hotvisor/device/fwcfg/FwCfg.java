package org.hotvisor.device.fwcfg;

import org.hotvisor.api.device.PortIoDevice;

/**
 * QEMU's firmware configuration device, the x86 I/O-port interface (QEMU docs/specs/fw_cfg.rst):
 * a 16-bit write to the selector port (0x510) picks an item and rewinds the data offset; each
 * 8-bit read of the data port (0x511) returns the next byte, and 0x00 once past the end or for a
 * key with no item. Writes to the data port are ignored, as since QEMU 2.4. Only those two
 * accesses are valid, as in QEMU; any other is counted and reads all ones.
 *
 * <p>The DMA interface (0x514) is not provided: FW_CFG_ID says so (bit 1 clear).
 */
public final class FwCfg implements PortIoDevice {
    public static final int DEFAULT_BASE = 0x510;
    static final int SELECTOR_OFFSET = 0;
    static final int DATA_OFFSET = 1;
    static final int PORT_COUNT = 2;
    static final int SELECTOR_SIZE = 2;
    static final int DATA_SIZE = 1;
    static final int SELECTOR_MASK = 0xFFFF;
    /** Past the end of an item, or with no item selected, the data port reads 0. */
    static final int PAST_END = 0x00;
    private static final int BYTE_MASK = 0xFF;

    private final int base;
    private final FwCfgItems items;

    private int selector;
    private byte[] current;
    private int offset;

    long selects;
    long dataReads;
    long ignoredDataWrites;
    long invalidAccesses;

    public FwCfg(int base, FwCfgItems items) {
        this.base = base;
        this.items = items;
        select(FwCfgItems.SIGNATURE);
    }

    private void select(int key) {
        selector = key & SELECTOR_MASK;
        current = items.item(selector);
        offset = 0;
    }

    @Override
    public int ioRead(int port, int size) {
        if (port - base == DATA_OFFSET && size == DATA_SIZE) {
            dataReads++;
            byte[] item = current;
            if (item == null || offset >= item.length) {
                return PAST_END;
            }
            return item[offset++] & BYTE_MASK;
        }
        invalidAccesses++;
        return openBus(size);
    }

    @Override
    public void ioWrite(int port, int size, int value) {
        int at = port - base;
        if (at == SELECTOR_OFFSET && size == SELECTOR_SIZE) {
            selects++;
            select(value);
        } else if (at == DATA_OFFSET && size == DATA_SIZE) {
            ignoredDataWrites++;
        } else {
            invalidAccesses++;
        }
    }

    private static int openBus(int size) {
        return size >= Integer.BYTES ? -1 : (1 << (Byte.SIZE * size)) - 1;
    }

    int selector() {
        return selector;
    }

    @Override
    public String toString() {
        return String.format("fw_cfg@0x%x: selector=0x%04x offset=%d selects=%d dataReads=%d ignoredDataWrites=%d invalidAccesses=%d",
                base, selector, offset, selects, dataReads, ignoredDataWrites, invalidAccesses);
    }
}
