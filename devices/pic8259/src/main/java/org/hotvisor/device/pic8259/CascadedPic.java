package org.hotvisor.device.pic8259;

import org.hotvisor.api.device.InterruptController;
import org.hotvisor.api.device.InterruptLines;

/**
 * The PC/AT interrupt controller: a master 8259A at 0x20/0x21, a slave at 0xA0/0xA1 whose INT
 * output drives the master's IR2, and the EISA edge/level control registers at 0x4D0/0x4D1.
 * Devices drive the ISA lines 0-15 ({@link InterruptLines}); the kernel samples INTR and runs the
 * INTA cycle ({@link InterruptController}).
 *
 * <p>Lines may change on any thread (a UART's host input, for instance), so all state is guarded
 * by this object's monitor, held for a few dozen instructions; the PIC is not on the instruction
 * hot path. INTR is also published in a volatile so the kernel's per-entry check takes no lock.
 * When INTR rises on a thread other than the vCPU's (the thread that samples INTR), the
 * {@code wakeVcpu} callback (InterruptSink.intrAsserted) makes the running vCPU exit.
 */
public final class CascadedPic implements InterruptLines, InterruptController {

    // ---- Ports ----
    static final int MASTER_BASE = 0x20;
    static final int SLAVE_BASE = 0xA0;
    /** ELCR1: edge/level control of IRQ0-7. */
    static final int ELCR_MASTER = 0x4D0;
    /** ELCR2: edge/level control of IRQ8-15. */
    static final int ELCR_SLAVE = 0x4D1;
    /** The service property value that claims them. */
    public static final String PORTS = "0x20-0x21,0xa0-0xa1,0x4d0-0x4d1";

    // ---- Wiring of the PC/AT ----
    /** The master input the slave's INT drives. */
    static final int CASCADE_IRQ = 2;
    /** On the AT, the ISA bus pin once called IRQ2 is wired to the slave's IR1. */
    static final int IRQ2_REDIRECT = 9;
    static final int ISA_IRQS = 16;
    static final int SLAVE_FIRST_IRQ = 8;
    /** IRQ0, 1 and 2 are always edge-triggered (timer, keyboard, cascade). */
    static final int ELCR_MASTER_WRITABLE = 0xF8;
    /** IRQ8 (RTC) and IRQ13 (FPU) are always edge-triggered. */
    static final int ELCR_SLAVE_WRITABLE = 0xDE;

    // ---- Power-on state: what a PC BIOS leaves, since Hotvisor may boot images without one ----
    static final int BIOS_MASTER_VECTOR_BASE = 0x08;
    static final int BIOS_SLAVE_VECTOR_BASE = 0x70;
    /** ICW3 of the master: a slave on IR2. */
    static final int MASTER_ICW3 = 1 << CASCADE_IRQ;
    /** ICW3 of the slave: its ID, 2. */
    static final int SLAVE_ICW3 = CASCADE_IRQ;
    /** Everything masked except the cascade. */
    static final int BIOS_MASTER_MASK = 0xFF & ~(1 << CASCADE_IRQ);
    static final int BIOS_SLAVE_MASK = 0xFF;

    private static final int BYTE_MASK = 0xFF;
    private static final int BITS_PER_BYTE = 8;

    private final Pic8259 master = new Pic8259(true, ELCR_MASTER_WRITABLE);
    private final Pic8259 slave = new Pic8259(false, ELCR_SLAVE_WRITABLE);
    private final Runnable wakeVcpu;

    /** INTR as of the last state change. */
    private volatile boolean intr;
    /** The thread that samples INTR and acknowledges: the vCPU. */
    private volatile Thread vcpuThread;

    // ---- Counters (under the monitor) ----
    private long reads;
    private long writes;
    private long unexpectedSizes;
    private long missedReads;
    private long missedWrites;
    private long acknowledges;
    private long spuriousMaster;
    private long spuriousSlave;
    private long badLines;

    /** @param wakeVcpu runs (outside the lock) when INTR rises on a thread other than the vCPU's */
    public CascadedPic(Runnable wakeVcpu) {
        this.wakeVcpu = wakeVcpu;
        reset();
    }

    /** The power-on state (as a PC BIOS leaves it). Line levels are kept: devices still drive them. */
    public synchronized void reset() {
        master.initialize(BIOS_MASTER_VECTOR_BASE, MASTER_ICW3, BIOS_MASTER_MASK);
        slave.initialize(BIOS_SLAVE_VECTOR_BASE, SLAVE_ICW3, BIOS_SLAVE_MASK);
        master.writeElcr(0);
        slave.writeElcr(0);
        updateOutputs();
    }

    // =====================================================================================
    // InterruptLines: devices, any thread
    // =====================================================================================

    @Override
    public void setLevel(int irq, boolean high) {
        boolean rose;
        synchronized (this) {
            if (irq < 0 || irq >= ISA_IRQS) {
                badLines++;
                return;
            }
            if (irq == CASCADE_IRQ) {
                irq = IRQ2_REDIRECT;
            }
            boolean before = intr;
            if (irq < SLAVE_FIRST_IRQ) {
                master.setInput(irq, high);
            } else {
                slave.setInput(irq - SLAVE_FIRST_IRQ, high);
            }
            updateOutputs();
            rose = !before && intr;
        }
        if (rose && Thread.currentThread() != vcpuThread) {
            wakeVcpu.run();
        }
    }

    // =====================================================================================
    // InterruptController: the kernel, on the vCPU thread
    // =====================================================================================

    @Override
    public boolean interruptPending() {
        Thread current = Thread.currentThread();
        if (vcpuThread != current) {
            vcpuThread = current;
        }
        return intr;
    }

    /** The INTA cycle of the pair (data sheet, "Interrupt Sequence", cascade mode). */
    @Override
    public synchronized int acknowledge() {
        vcpuThread = Thread.currentThread();
        acknowledges++;
        int vector;
        int level = master.acknowledge();
        if (level < 0) {
            // The request went away before INTA: the master answers with IR7's vector, ISR untouched.
            spuriousMaster++;
            vector = master.vector(Pic8259.SPURIOUS_LEVEL);
        } else if (master.hasSlaveAt(level)) {
            // The slave supplies the vector; the master's IR2 stays in service either way.
            int slaveLevel = slave.acknowledge();
            if (slaveLevel < 0) {
                spuriousSlave++;
                vector = slave.vector(Pic8259.SPURIOUS_LEVEL);
            } else {
                vector = slave.vector(slaveLevel);
            }
        } else {
            vector = master.vector(level);
        }
        updateOutputs();
        return vector;
    }

    // =====================================================================================
    // PortIoDevice: the guest, on the vCPU thread
    // =====================================================================================

    /** A port read; wider accesses are split into byte cycles (ISA), and counted. */
    public int ioRead(int port, int size) {
        boolean rose;
        int value = 0;
        synchronized (this) {
            boolean before = intr;
            if (size != 1) {
                unexpectedSizes++;
            }
            for (int i = 0; i < size; i++) {
                value |= readRegister(port + i) << (BITS_PER_BYTE * i);
            }
            updateOutputs();
            rose = !before && intr;
        }
        wakeIfForeign(rose);
        return value;
    }

    /** A port write; wider accesses are split into byte cycles (ISA), and counted. */
    public void ioWrite(int port, int size, int value) {
        boolean rose;
        synchronized (this) {
            boolean before = intr;
            if (size != 1) {
                unexpectedSizes++;
            }
            for (int i = 0; i < size; i++) {
                writeRegister(port + i, (value >>> (BITS_PER_BYTE * i)) & BYTE_MASK);
            }
            updateOutputs();
            rose = !before && intr;
        }
        wakeIfForeign(rose);
    }

    private void wakeIfForeign(boolean rose) {
        if (rose && Thread.currentThread() != vcpuThread) {
            wakeVcpu.run();
        }
    }

    private int readRegister(int port) {
        switch (port) {
            case MASTER_BASE + Pic8259.OFS_COMMAND -> {
                // The guest reads the master's IRR or ISR (per OCW3), or takes a poll.
                reads++;
                return master.readCommand();
            }
            case MASTER_BASE + Pic8259.OFS_DATA -> {
                // The guest reads the master's mask.
                reads++;
                return master.readData();
            }
            case SLAVE_BASE + Pic8259.OFS_COMMAND -> {
                // The guest reads the slave's IRR or ISR, or polls it.
                reads++;
                return slave.readCommand();
            }
            case SLAVE_BASE + Pic8259.OFS_DATA -> {
                // The guest reads the slave's mask.
                reads++;
                return slave.readData();
            }
            case ELCR_MASTER -> {
                // The guest reads which of IRQ0-7 are level-triggered.
                reads++;
                return master.readElcr();
            }
            case ELCR_SLAVE -> {
                // The guest reads which of IRQ8-15 are level-triggered.
                reads++;
                return slave.readElcr();
            }
            default -> {
                missedReads++;
                return BYTE_MASK;
            }
        }
    }

    private void writeRegister(int port, int value) {
        switch (port) {
            case MASTER_BASE + Pic8259.OFS_COMMAND -> {
                // The guest sends ICW1, OCW2 (EOI, priority) or OCW3 to the master.
                writes++;
                master.writeCommand(value);
            }
            case MASTER_BASE + Pic8259.OFS_DATA -> {
                // The guest sends ICW2-4 during initialization, else the master's mask.
                writes++;
                master.writeData(value);
            }
            case SLAVE_BASE + Pic8259.OFS_COMMAND -> {
                // The guest sends ICW1, OCW2 or OCW3 to the slave.
                writes++;
                slave.writeCommand(value);
            }
            case SLAVE_BASE + Pic8259.OFS_DATA -> {
                // The guest sends the slave's ICW2-4, else its mask.
                writes++;
                slave.writeData(value);
            }
            case ELCR_MASTER -> {
                // The guest makes some of IRQ3-7 level-triggered (PCI interrupts).
                writes++;
                master.writeElcr(value);
            }
            case ELCR_SLAVE -> {
                // The guest makes some of IRQ9-15 level-triggered.
                writes++;
                slave.writeElcr(value);
            }
            default -> missedWrites++;
        }
    }

    /** The slave's INT drives the master's IR2; the master's INT is INTR. */
    private void updateOutputs() {
        master.setInput(CASCADE_IRQ, slave.interruptOutput());
        intr = master.interruptOutput();
    }

    // ---- for tests and the console ----

    synchronized Pic8259 master() {
        return master;
    }

    synchronized Pic8259 slave() {
        return slave;
    }

    public synchronized long reads() {
        return reads;
    }

    public synchronized long writes() {
        return writes;
    }

    public synchronized long unexpectedSizes() {
        return unexpectedSizes;
    }

    public synchronized long missedReads() {
        return missedReads;
    }

    public synchronized long missedWrites() {
        return missedWrites;
    }

    public synchronized long spuriousMaster() {
        return spuriousMaster;
    }

    public synchronized long spuriousSlave() {
        return spuriousSlave;
    }

    public synchronized long badLines() {
        return badLines;
    }

    @Override
    public synchronized String toString() {
        return String.format("pic8259: master irr=%02x isr=%02x imr=%02x base=%02x, slave irr=%02x isr=%02x imr=%02x base=%02x; "
                + "reads=%d writes=%d unexpectedSizes=%d missedReads=%d missedWrites=%d acks=%d spurious=%d/%d badLines=%d",
                master.irr(), master.isr(), master.imr(), master.vectorBase(), slave.irr(), slave.isr(), slave.imr(),
                slave.vectorBase(), reads, writes, unexpectedSizes, missedReads, missedWrites, acknowledges, spuriousMaster,
                spuriousSlave, badLines);
    }
}
