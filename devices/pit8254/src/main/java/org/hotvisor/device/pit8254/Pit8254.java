package org.hotvisor.device.pit8254;

import org.hotvisor.api.device.InterruptLines;
import org.hotvisor.api.device.VirtualClock;

/**
 * The PC's Intel 8254 programmable interval timer (ports 0x40-0x43) and the timer bits of
 * System Control Port B (0x61). All three counters run from the 1.193182 MHz PIT clock, derived
 * from the machine's virtual clock: counts and OUT levels are computed from
 * {@link VirtualClock#nanos()} when the guest looks, and a virtual-clock timer raises IRQ0 at
 * each rising edge of counter 0's OUT. Nothing polls per instruction.
 *
 * <p>All calls come on the vCPU thread (port I/O and clock timers), so there is no lock.
 */
public final class Pit8254 {

    // ---- Ports ----
    static final int PORT_COUNTER0 = 0x40;
    static final int PORT_COUNTER1 = 0x41;
    static final int PORT_COUNTER2 = 0x42;
    /** Control word register (write only). */
    static final int PORT_CONTROL = 0x43;
    /** System Control Port B: counter 2 gate and speaker, OUT2 and refresh status. */
    static final int PORT_B = 0x61;
    /** The service property value that claims them. */
    public static final String PORTS = "0x40-0x43,0x61";

    // ---- Control word: bits 7:6 select the counter, or the read-back command ----
    static final int SC_SHIFT = 6;
    static final int SC_READ_BACK = 3;
    /** Read-back bit 5 (active low): latch the counts of the selected counters. */
    static final int READ_BACK_NO_COUNT = 0x20;
    /** Read-back bit 4 (active low): latch their status. */
    static final int READ_BACK_NO_STATUS = 0x10;
    /** Read-back bits 3:1 select counters 2, 1, 0. */
    static final int READ_BACK_COUNTER0 = 0x02;

    // ---- Port B bits ----
    /** Bit 0 (read/write): counter 2 GATE. */
    static final int PORT_B_GATE2 = 0x01;
    /** Bit 1 (read/write): speaker data enable (OUT2 reaches the speaker). */
    static final int PORT_B_SPEAKER = 0x02;
    /** Bits 2-3 (read/write): parity and channel check enables, kept but without effect. */
    static final int PORT_B_CHECK_ENABLES = 0x0C;
    /** Bit 4 (read only): toggles with every DRAM refresh request. */
    static final int PORT_B_REFRESH = 0x10;
    /** Bit 5 (read only): counter 2 OUT. */
    static final int PORT_B_OUT2 = 0x20;
    static final int PORT_B_WRITABLE = PORT_B_GATE2 | PORT_B_SPEAKER | PORT_B_CHECK_ENABLES;

    // ---- Time ----
    /** The PIT input clock: 14.31818 MHz / 12. */
    public static final long PIT_HZ = 1_193_182;
    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    /** Counter 1 as every PC BIOS programs it: a refresh request each 18 PIT clocks (15.09 us). */
    static final int REFRESH_PERIOD_TICKS = 18;
    static final int COUNTERS = 3;

    private static final int BYTE_MASK = 0xFF;
    private static final int BITS_PER_BYTE = 8;

    // ---- Wiring ----
    private final VirtualClock clock;
    private final InterruptLines lines;
    private final int irq;
    private final VirtualClock.Timer irqTimer;

    // ---- The chip's registers ----
    private final PitCounter[] counters = {new PitCounter(true), new PitCounter(true), new PitCounter(false)};
    /** Port B's writable bits. */
    private int portB;
    /** The level last driven on the IRQ line. */
    private boolean irqHigh;

    // ---- Counters ----
    private long reads;
    private long writes;
    private long unexpectedSizes;
    private long missedReads;
    private long missedWrites;
    private long interrupts;

    /** @param irq the line counter 0's OUT drives (IRQ0 on the PC) */
    public Pit8254(VirtualClock clock, InterruptLines lines, int irq) {
        this.clock = clock;
        this.lines = lines;
        this.irq = irq;
        this.irqTimer = clock.newTimer("pit-irq0", this::onOutRising);
    }

    /** Stops the IRQ0 timer (the device is going away). */
    public void close() {
        irqTimer.cancel();
    }

    // =====================================================================================
    // Port I/O
    // =====================================================================================

    /** A port read; wider accesses are split into byte cycles (ISA), and counted. */
    public int ioRead(int port, int size) {
        if (size == 1) {
            return readRegister(port);
        }
        unexpectedSizes++;
        int value = 0;
        for (int i = 0; i < size; i++) {
            value |= readRegister(port + i) << (BITS_PER_BYTE * i);
        }
        return value;
    }

    /** A port write; wider accesses are split into byte cycles (ISA), and counted. */
    public void ioWrite(int port, int size, int value) {
        if (size != 1) {
            unexpectedSizes++;
        }
        for (int i = 0; i < size; i++) {
            writeRegister(port + i, (value >>> (BITS_PER_BYTE * i)) & BYTE_MASK);
        }
    }

    private int readRegister(int port) {
        long tick = tick();
        switch (port) {
            case PORT_COUNTER0, PORT_COUNTER1, PORT_COUNTER2 -> {
                // The guest reads a count (live, latched by a latch command, or a latched status byte).
                reads++;
                return counters[port - PORT_COUNTER0].readCount(tick);
            }
            case PORT_CONTROL -> {
                // The guest reads the control port, which the 8254 does not drive.
                reads++;
                return BYTE_MASK;
            }
            case PORT_B -> {
                // The guest checks OUT2 (speaker-timer calibration) or watches the refresh bit toggle.
                reads++;
                int value = portB;
                if (counters[2].out(tick)) {
                    value |= PORT_B_OUT2;
                }
                if ((tick / REFRESH_PERIOD_TICKS & 1) != 0) {
                    value |= PORT_B_REFRESH;
                }
                return value;
            }
            default -> {
                missedReads++;
                return BYTE_MASK;
            }
        }
    }

    private void writeRegister(int port, int value) {
        long tick = tick();
        switch (port) {
            case PORT_COUNTER0, PORT_COUNTER1, PORT_COUNTER2 -> {
                // The guest writes (part of) an initial count.
                writes++;
                counters[port - PORT_COUNTER0].writeCount(value, tick);
            }
            case PORT_CONTROL -> {
                // The guest programs a counter's mode, latches a count, or issues read-back.
                writes++;
                writeControl(value, tick);
            }
            case PORT_B -> {
                // The guest gates counter 2 and switches the speaker.
                writes++;
                portB = value & PORT_B_WRITABLE;
                counters[2].setGate((value & PORT_B_GATE2) != 0, tick);
            }
            default -> {
                missedWrites++;
                return;
            }
        }
        if (port == PORT_COUNTER0 || port == PORT_CONTROL) {
            driveIrq(tick);
        }
    }

    private void writeControl(int value, long tick) {
        int select = value >>> SC_SHIFT;
        if (select == SC_READ_BACK) {
            // Read-back: latch count and/or status of each selected counter.
            for (int c = 0; c < COUNTERS; c++) {
                if ((value & (READ_BACK_COUNTER0 << c)) == 0) {
                    continue;
                }
                if ((value & READ_BACK_NO_STATUS) == 0) {
                    counters[c].latchStatus(tick);
                }
                if ((value & READ_BACK_NO_COUNT) == 0) {
                    counters[c].latchCount(tick);
                }
            }
        } else if (((value >>> PitCounter.RW_SHIFT) & PitCounter.RW_MASK) == PitCounter.RW_LATCH) {
            counters[select].latchCount(tick);
        } else {
            counters[select].writeControl(value);
        }
    }

    // =====================================================================================
    // IRQ0 from counter 0's OUT
    // =====================================================================================

    /** Drives the line to OUT0 now and arms the timer for OUT0's next rising edge. */
    private void driveIrq(long tick) {
        boolean out = counters[0].out(tick);
        if (out != irqHigh) {
            setIrq(out);
        }
        armForNextRise(tick);
    }

    /** The timer: OUT0 rises now. The line may still be high from a low phase we did not visit; lower it first so the PIC sees the edge. */
    private void onOutRising() {
        long tick = tick();
        if (irqHigh) {
            setIrq(false);
        }
        setIrq(true);
        interrupts++;
        armForNextRise(tick);
    }

    private void armForNextRise(long tick) {
        long rise = counters[0].nextRise(tick);
        if (rise == PitCounter.NONE) {
            irqTimer.cancel();
        } else {
            irqTimer.armAt(nanosAt(rise));
        }
    }

    private void setIrq(boolean high) {
        irqHigh = high;
        lines.setLevel(irq, high);
    }

    // ---- time conversion, exact for any virtual time up to ~292 years ----

    private long tick() {
        return ticksAt(clock.nanos());
    }

    /** The PIT clock ticks completed by {@code nanos}. */
    static long ticksAt(long nanos) {
        return nanos / NANOS_PER_SECOND * PIT_HZ + nanos % NANOS_PER_SECOND * PIT_HZ / NANOS_PER_SECOND;
    }

    /** The first virtual nanosecond at which tick {@code tick} has completed. */
    static long nanosAt(long tick) {
        long rest = tick % PIT_HZ;
        return tick / PIT_HZ * NANOS_PER_SECOND + (rest * NANOS_PER_SECOND + PIT_HZ - 1) / PIT_HZ;
    }

    // ---- for tests and the console ----

    PitCounter counter(int index) {
        return counters[index];
    }

    public long reads() {
        return reads;
    }

    public long writes() {
        return writes;
    }

    public long unexpectedSizes() {
        return unexpectedSizes;
    }

    public long missedReads() {
        return missedReads;
    }

    public long missedWrites() {
        return missedWrites;
    }

    /** IRQ0 edges raised by counter 0. */
    public long interrupts() {
        return interrupts;
    }

    @Override
    public String toString() {
        return String.format("pit8254: reads=%d writes=%d unexpectedSizes=%d missedReads=%d missedWrites=%d irq0Edges=%d",
                reads, writes, unexpectedSizes, missedReads, missedWrites, interrupts);
    }
}
