package org.hotvisor.device.acpi.pm;

import org.hotvisor.api.device.MachineControl;
import org.hotvisor.api.device.PortIoDevice;
import org.hotvisor.api.device.VirtualClock;

/**
 * The ACPI fixed-hardware power-management registers of a PIIX4-style chipset at the PM base
 * (0xB000, where SeaBIOS puts QEMU's): the PM1a event block (PM1_STS at +0, PM1_EN at +2), the
 * PM1a control block (PM1_CNT at +4) and the PM timer (PM_TMR at +8). References are to the
 * ACPI Specification 6.0, 4.8.3 "PM1 Event Grouping", 4.8.3.2 "PM1 Control Registers",
 * 4.8.3.3 "Power Management Timer".
 *
 * <p>The timer counts at 3.579545 MHz from virtual time, so a deterministic VM reads the same
 * values on every run. It is 24 bits wide unless {@code extended} (the FADT's TMR_VAL_EXT flag
 * must agree). TMR_STS is worked out when read: it is set once the counter's top bit has changed
 * since it was last cleared; a virtual-clock timer is armed for the next change only while
 * TMR_EN is set, so the SCI can be raised on time.
 *
 * <p>The SCI is a level: high while SCI_EN and any enabled status bit are set. SCI_EN starts at
 * 1: there is no SMI_CMD port, so the platform is in ACPI mode from reset (FADT SMI_CMD = 0).
 * Writing SLP_EN with SLP_TYP = the configured S5 value powers the machine off with status 0;
 * other sleep types are counted and ignored (no S1-S4).
 */
public final class AcpiPm implements PortIoDevice {
    public static final int DEFAULT_BASE = 0xB000;

    // ---- register offsets from the PM base ----
    static final int PM1_STS = 0x0;
    static final int PM1_EN = 0x2;
    static final int PM1_CNT = 0x4;
    static final int PM_TMR = 0x8;
    static final int PM_TMR_LEN = 4;
    /** Ports decoded from the base: 0x0-0xB (0x6-0x7 are unused and read all ones). */
    static final int PORT_COUNT = 12;

    // ---- PM1_STS / PM1_EN bits (ACPI 6.0 Tables 4-16, 4-17) ----
    static final int TMR_STS = 1 << 0;
    static final int BM_STS = 1 << 4;
    static final int GBL_STS = 1 << 5;
    static final int PWRBTN_STS = 1 << 8;
    static final int SLPBTN_STS = 1 << 9;
    static final int RTC_STS = 1 << 10;
    static final int WAK_STS = 1 << 15;
    static final int STS_DEFINED = TMR_STS | BM_STS | GBL_STS | PWRBTN_STS | SLPBTN_STS | RTC_STS | WAK_STS;
    static final int TMR_EN = 1 << 0;
    static final int GBL_EN = 1 << 5;
    static final int PWRBTN_EN = 1 << 8;
    static final int SLPBTN_EN = 1 << 9;
    static final int RTC_EN = 1 << 10;
    static final int EN_DEFINED = TMR_EN | GBL_EN | PWRBTN_EN | SLPBTN_EN | RTC_EN;

    // ---- PM1_CNT bits (ACPI 6.0 Table 4-18) ----
    static final int SCI_EN = 1 << 0;
    static final int BM_RLD = 1 << 1;
    /** Write-only, reads 0. */
    static final int GBL_RLS = 1 << 2;
    static final int SLP_TYP_SHIFT = 10;
    static final int SLP_TYP_MASK = 0x7;
    /** Write-only, reads 0. */
    static final int SLP_EN = 1 << 13;
    static final int CNT_STORED = SCI_EN | BM_RLD | (SLP_TYP_MASK << SLP_TYP_SHIFT);

    // ---- the timer (ACPI 6.0 4.8.3.3): 3.579545 MHz ----
    static final long TIMER_HZ = 3_579_545;
    static final long NANOS_PER_SECOND = 1_000_000_000L;
    static final int TIMER_BITS_24 = 24;
    static final int TIMER_BITS_32 = 32;

    /** The S5 sleep type this platform answers to; the DSDT's \_S5 package must say the same. */
    public static final int DEFAULT_S5_SLP_TYP = 0;
    static final String S5_REASON = "ACPI S5";

    private static final int BYTE_MASK = 0xFF;
    private static final int BITS_PER_BYTE = 8;

    private final int base;
    private final VirtualClock clock;
    private final MachineControl machine;
    private final IntLine sci;
    private final int s5SlpTyp;
    private final int timerBits;
    private final long timerMask;
    private final VirtualClock.Timer carryTimer;

    private int status;
    private int enable;
    private int control = SCI_EN;
    /** How many times the counter's top bit has changed up to the last look at TMR_STS. */
    private long carriesSeen;
    private boolean sciLevel;

    long unsupportedSleeps;
    long ignoredWrites;

    /** An interrupt line the SCI drives: (level). */
    @FunctionalInterface
    public interface IntLine {
        void set(boolean high);
    }

    public AcpiPm(int base, VirtualClock clock, MachineControl machine, IntLine sci, int s5SlpTyp, boolean extended) {
        this.base = base;
        this.clock = clock;
        this.machine = machine;
        this.sci = sci;
        this.s5SlpTyp = s5SlpTyp & SLP_TYP_MASK;
        this.timerBits = extended ? TIMER_BITS_32 : TIMER_BITS_24;
        this.timerMask = (1L << timerBits) - 1;
        this.carryTimer = clock.newTimer("acpi-pm timer carry", this::carry);
        this.carriesSeen = carries(ticks(clock.nanos()));
    }

    /** Timer ticks since the VM started: nanos * 3579545 / 1e9, split so nothing overflows. */
    static long ticks(long nanos) {
        long seconds = nanos / NANOS_PER_SECOND;
        long rest = nanos % NANOS_PER_SECOND;
        return seconds * TIMER_HZ + rest * TIMER_HZ / NANOS_PER_SECOND;
    }

    /** The first virtual time at which the timer has counted {@code ticks}. */
    static long nanosAt(long ticks) {
        long seconds = ticks / TIMER_HZ;
        long rest = ticks % TIMER_HZ;
        return seconds * NANOS_PER_SECOND + (rest * NANOS_PER_SECOND + TIMER_HZ - 1) / TIMER_HZ;
    }

    /** Top-bit changes of the counter after {@code ticks}: one every 2^(bits-1) ticks. */
    private long carries(long ticks) {
        return ticks >>> (timerBits - 1);
    }

    /** PM_TMR: the counter, wrapping at its width. */
    long timerValue() {
        return ticks(clock.nanos()) & timerMask;
    }

    private void updateTimerStatus() {
        long c = carries(ticks(clock.nanos()));
        if (c != carriesSeen) {
            carriesSeen = c;
            status |= TMR_STS;
        }
    }

    /** Timer callback at a top-bit change while TMR_EN is set. */
    private void carry() {
        updateTimerStatus();
        updateSci();
    }

    private void armCarryTimer() {
        if ((enable & TMR_EN) != 0 && (status & TMR_STS) == 0) {
            long nextCarryTicks = (carriesSeen + 1) << (timerBits - 1);
            carryTimer.armAt(nanosAt(nextCarryTicks));
        } else {
            carryTimer.cancel();
        }
    }

    private void updateSci() {
        boolean level = (control & SCI_EN) != 0 && (status & enable) != 0;
        if (level != sciLevel) {
            sciLevel = level;
            sci.set(level);
        }
        armCarryTimer();
    }

    @Override
    public int ioRead(int port, int size) {
        int at = port - base;
        if (at >= PM_TMR && at < PM_TMR + PM_TMR_LEN) {
            long v = timerValue() >>> (BITS_PER_BYTE * (at - PM_TMR));
            return (int) v & sizeMask(size);
        }
        updateTimerStatus();
        int v = 0;
        for (int i = 0; i < size; i++) {
            v |= readByte(at + i) << (BITS_PER_BYTE * i);
        }
        return v;
    }

    private int readByte(int at) {
        return switch (at) {
            case PM1_STS, PM1_STS + 1 -> byteOf(status, at - PM1_STS);
            case PM1_EN, PM1_EN + 1 -> byteOf(enable, at - PM1_EN);
            case PM1_CNT, PM1_CNT + 1 -> byteOf(control, at - PM1_CNT); // SLP_EN and GBL_RLS are never stored
            case PM_TMR, PM_TMR + 1, PM_TMR + 2, PM_TMR + 3 -> (int) (timerValue() >>> (BITS_PER_BYTE * (at - PM_TMR))) & BYTE_MASK;
            default -> BYTE_MASK; // unused ports of the block
        };
    }

    @Override
    public void ioWrite(int port, int size, int value) {
        int at = port - base;
        updateTimerStatus();
        for (int i = 0; i < size; i++) {
            writeByte(at + i, (value >>> (BITS_PER_BYTE * i)) & BYTE_MASK);
        }
        updateSci();
    }

    private void writeByte(int at, int b) {
        switch (at) {
            case PM1_STS, PM1_STS + 1 -> status &= ~(shifted(b, at - PM1_STS) & STS_DEFINED); // write 1 to clear
            case PM1_EN, PM1_EN + 1 -> enable = replaceByte(enable, at - PM1_EN, b) & EN_DEFINED;
            case PM1_CNT -> control = replaceByte(control, 0, b) & CNT_STORED;
            case PM1_CNT + 1 -> {
                control = replaceByte(control, 1, b) & CNT_STORED;
                if ((shifted(b, 1) & SLP_EN) != 0) {
                    sleep((control >>> SLP_TYP_SHIFT) & SLP_TYP_MASK);
                }
            }
            default -> ignoredWrites++; // the timer is read-only; the rest is unused
        }
    }

    /** SLP_EN written (ACPI 6.0 4.8.3.2.1; 7.4.2 \_Sx): S5 is soft off. */
    private void sleep(int slpTyp) {
        if (slpTyp == s5SlpTyp) {
            machine.powerOff(0, S5_REASON);
        } else {
            unsupportedSleeps++;
        }
    }

    private static int byteOf(int register, int index) {
        return (register >>> (BITS_PER_BYTE * index)) & BYTE_MASK;
    }

    private static int shifted(int b, int index) {
        return b << (BITS_PER_BYTE * index);
    }

    private static int replaceByte(int register, int index, int b) {
        int shift = BITS_PER_BYTE * index;
        return (register & ~(BYTE_MASK << shift)) | (b << shift);
    }

    private static int sizeMask(int size) {
        return size >= Integer.BYTES ? -1 : (1 << (BITS_PER_BYTE * size)) - 1;
    }

    int timerBits() {
        return timerBits;
    }

    /** Drops the carry timer (the component is going away). */
    void close() {
        carryTimer.cancel();
    }

    @Override
    public String toString() {
        return String.format("acpi-pm@0x%x: PM1_STS=0x%04x PM1_EN=0x%04x PM1_CNT=0x%04x timer=%d-bit unsupportedSleeps=%d ignoredWrites=%d",
                base, status, enable, control, timerBits, unsupportedSleeps, ignoredWrites);
    }
}
