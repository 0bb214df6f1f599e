package org.hotvisor.device.pc.testdev;

import org.hotvisor.api.device.MmioDevice;
import org.hotvisor.api.device.PortIoDevice;

/**
 * QEMU's pc-testdev (hw/misc/pc-testdev.c), the device kvm-unit-tests use to check emulation:
 * <ul>
 * <li>0xE0-0xE3: a 32-bit latch. An access of N bytes at 0xE0 + k writes or reads bytes
 *     k .. k+N-1 of it, so 8-, 16- and 32-bit writes read back at the right lanes.
 *     0xE8-0xEB is the same latch reached byte by byte (QEMU's "ioport-byte"), so it behaves
 *     identically here. It is not claimed by default, since Hotvisor's debugcon sits at 0xE9.</li>
 * <li>0xE4: flush-page. QEMU remaps the written page on the host to test KVM's MMU; Hotvisor
 *     caches no guest mapping beyond what guest writes invalidate, so a 32-bit write is a no-op
 *     (counted). Other sizes are invalid, as in QEMU.</li>
 * <li>0x2000-0x2017: IRQ lines 0-23; an 8-bit write sets line (port - 0x2000) high if the value
 *     is nonzero, else low. Lines 0-15 are the ISA lines; 16-23 (I/O APIC pins) are counted and
 *     dropped until there is an I/O APIC. Only 8-bit writes are valid.</li>
 * <li>0xFF000000-0xFF00FFFF: 64 KiB of "iomem", plain little-endian memory behind the EPT-violation path.</li>
 * </ul>
 * Reads of the write-only ports and invalid accesses return all ones and are counted.
 */
public final class PcTestdev implements PortIoDevice, MmioDevice {
    public static final int DEFAULT_PORT_BASE = 0xE0;
    public static final int DEFAULT_IRQ_BASE = 0x2000;
    public static final long DEFAULT_IOMEM_BASE = 0xFF00_0000L;

    static final int LATCH_OFFSET = 0x0;
    static final int FLUSH_PAGE_OFFSET = 0x4;
    static final int BYTE_LATCH_OFFSET = 0x8;
    static final int LATCH_BYTES = 4;
    /** 0xE0-0xEB: the most ports decoded from the base. */
    static final int PORT_COUNT = 12;
    static final int FLUSH_PAGE_SIZE = 4;
    static final int IRQ_LINES = 24;
    static final int ISA_IRQS = 16;
    static final int IOMEM_LENGTH = 0x10000;

    private static final int BITS_PER_BYTE = 8;
    private static final int BYTE_MASK = 0xFF;

    /** An interrupt line setter: (irq, level). */
    @FunctionalInterface
    public interface IrqLines {
        void setLevel(int irq, boolean high);
    }

    private final int portBase;
    private final int irqBase;
    private final long iomemBase;
    private final IrqLines lines;

    private int latch;
    private final byte[] iomem = new byte[IOMEM_LENGTH];

    long flushes;
    long droppedIrqWrites;
    long invalidAccesses;

    public PcTestdev(int portBase, int irqBase, long iomemBase, IrqLines lines) {
        this.portBase = portBase;
        this.irqBase = irqBase;
        this.iomemBase = iomemBase;
        this.lines = lines;
    }

    // ---- ports ----

    @Override
    public int ioRead(int port, int size) {
        int at = port - portBase;
        if (isLatch(at)) {
            int startBit = (at % LATCH_BYTES) * BITS_PER_BYTE;
            return (int) ((latch & 0xFFFF_FFFFL) >>> startBit) & sizeMask(size);
        }
        invalidAccesses++;
        return sizeMask(size);
    }

    @Override
    public void ioWrite(int port, int size, int value) {
        int at = port - portBase;
        if (isLatch(at)) {
            int startBit = (at % LATCH_BYTES) * BITS_PER_BYTE;
            int mask = sizeMask(size) << startBit; // bytes beyond the latch fall off, as in QEMU
            latch = (latch & ~mask) | ((value & sizeMask(size)) << startBit);
        } else if (at == FLUSH_PAGE_OFFSET && size == FLUSH_PAGE_SIZE) {
            flushes++;
        } else if (port - irqBase >= 0 && port - irqBase < IRQ_LINES && size == 1) {
            setIrq(port - irqBase, value & BYTE_MASK);
        } else {
            invalidAccesses++;
        }
    }

    private static boolean isLatch(int at) {
        return (at >= LATCH_OFFSET && at < LATCH_OFFSET + LATCH_BYTES) || (at >= BYTE_LATCH_OFFSET && at < BYTE_LATCH_OFFSET + LATCH_BYTES);
    }

    private void setIrq(int line, int value) {
        if (line >= ISA_IRQS) {
            droppedIrqWrites++;
            return;
        }
        lines.setLevel(line, value != 0);
    }

    // ---- iomem ----

    @Override
    public long mmioRead(long address, int size) {
        long offset = address - iomemBase;
        long v = 0;
        for (int i = 0; i < size; i++) {
            v |= (long) byteAt(offset + i) << (BITS_PER_BYTE * i);
        }
        return v;
    }

    @Override
    public void mmioWrite(long address, int size, long value) {
        long offset = address - iomemBase;
        for (int i = 0; i < size; i++) {
            long o = offset + i;
            if (o >= 0 && o < IOMEM_LENGTH) {
                iomem[(int) o] = (byte) (value >>> (BITS_PER_BYTE * i));
            } else {
                invalidAccesses++;
            }
        }
    }

    private int byteAt(long offset) {
        if (offset < 0 || offset >= IOMEM_LENGTH) {
            invalidAccesses++;
            return BYTE_MASK;
        }
        return iomem[(int) offset] & BYTE_MASK;
    }

    private static int sizeMask(int size) {
        return size >= Integer.BYTES ? -1 : (1 << (BITS_PER_BYTE * size)) - 1;
    }

    int latch() {
        return latch;
    }

    @Override
    public String toString() {
        return String.format("pc-testdev@0x%x: latch=0x%08x flushes=%d droppedIrqWrites=%d invalidAccesses=%d",
                portBase, latch, flushes, droppedIrqWrites, invalidAccesses);
    }
}
