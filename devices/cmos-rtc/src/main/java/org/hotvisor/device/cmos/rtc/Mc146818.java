package org.hotvisor.device.cmos.rtc;

import org.hotvisor.api.device.InterruptLines;
import org.hotvisor.api.device.VirtualClock;

/**
 * The PC's Motorola MC146818 real-time clock with its 128 bytes of CMOS RAM, at the index port
 * 0x70 (bit 7 masks NMI) and the data port 0x71.
 *
 * <p>Time is a base (the configured epoch) plus virtual time, so a deterministic VM sees the same
 * dates on every run. Nothing ticks: the time registers are computed when read, the flags of
 * register C are worked out for the interval since they were last looked at, and a virtual-clock
 * timer is armed only for the next enabled interrupt (periodic, alarm, update-ended) while IRQ8
 * is low. No date arithmetic allocates.
 *
 * <p>References are to the MC146818A data sheet (Motorola): "Time, Calendar and Alarm
 * Locations", "Register A" ... "Register D", "Update Cycle", "Interrupts". All calls come on the
 * vCPU thread (port I/O and clock timers).
 */
public final class Mc146818 {

    // ---- Ports ----
    static final int PORT_INDEX = 0x70;
    static final int PORT_DATA = 0x71;
    public static final String PORTS = "0x70-0x71";
    /** Port 0x70 bit 7: NMI disabled (the PC's NMI gate, not part of the RTC). */
    static final int INDEX_NMI_DISABLE = 0x80;
    static final int INDEX_MASK = 0x7F;

    // ---- Time, calendar and alarm locations ----
    static final int REG_SECONDS = 0x00;
    static final int REG_SECONDS_ALARM = 0x01;
    static final int REG_MINUTES = 0x02;
    static final int REG_MINUTES_ALARM = 0x03;
    static final int REG_HOURS = 0x04;
    static final int REG_HOURS_ALARM = 0x05;
    static final int REG_DAY_OF_WEEK = 0x06;
    static final int REG_DAY_OF_MONTH = 0x07;
    static final int REG_MONTH = 0x08;
    static final int REG_YEAR = 0x09;
    static final int REG_A = 0x0A;
    static final int REG_B = 0x0B;
    static final int REG_C = 0x0C;
    static final int REG_D = 0x0D;

    // ---- The PC's CMOS RAM map (IBM PC/AT) ----
    /** First byte covered by the AT checksum. */
    static final int CMOS_CHECKSUM_FIRST = 0x10;
    static final int CMOS_BASE_MEMORY_LOW = 0x15;
    static final int CMOS_BASE_MEMORY_HIGH = 0x16;
    static final int CMOS_EXTENDED_MEMORY_LOW = 0x17;
    static final int CMOS_EXTENDED_MEMORY_HIGH = 0x18;
    /** Last byte covered by the AT checksum. */
    static final int CMOS_CHECKSUM_LAST = 0x2D;
    static final int CMOS_CHECKSUM_HIGH = 0x2E;
    static final int CMOS_CHECKSUM_LOW = 0x2F;
    /** The extended-memory size again, as the POST found it. */
    static final int CMOS_POST_EXTENDED_MEMORY_LOW = 0x30;
    static final int CMOS_POST_EXTENDED_MEMORY_HIGH = 0x31;
    /** Century, BCD (the ACPI FADT points here). */
    static final int CMOS_CENTURY = 0x32;
    /** Memory above 16 MiB in 64 KiB units (SeaBIOS/QEMU convention). */
    static final int CMOS_HIGH_MEMORY_LOW = 0x34;
    static final int CMOS_HIGH_MEMORY_HIGH = 0x35;
    static final int CMOS_SIZE = 128;

    // ---- Register A ----
    /** Update in progress (read only). */
    static final int A_UIP = 0x80;
    /** Divider control, bits 6:4. */
    static final int A_DV_MASK = 0x70;
    /** DV = 010: the 32.768 kHz time base, running. */
    static final int A_DV_32768 = 0x20;
    /** DV = 11x: the divider chain is held in reset. */
    static final int A_DV_RESET = 0x60;
    /** Rate select for the periodic interrupt, bits 3:0. */
    static final int A_RS_MASK = 0x0F;
    static final int A_WRITABLE = A_DV_MASK | A_RS_MASK;

    // ---- Register B ----
    /** Halts updates so software can set the time; also clears UIE. */
    static final int B_SET = 0x80;
    static final int B_PIE = 0x40;
    static final int B_AIE = 0x20;
    static final int B_UIE = 0x10;
    /** Square-wave output enable (no pin here). */
    static final int B_SQWE = 0x08;
    /** Data mode: binary (else BCD). */
    static final int B_DM_BINARY = 0x04;
    /** 24-hour mode (else 12-hour with bit 7 of the hour = PM). */
    static final int B_24_HOUR = 0x02;
    /** Daylight saving enable (not modelled). */
    static final int B_DSE = 0x01;

    // ---- Register C (read only; reading clears it) ----
    static final int C_IRQF = 0x80;
    static final int C_PF = 0x40;
    static final int C_AF = 0x20;
    static final int C_UF = 0x10;

    // ---- Register D ----
    /** Valid RAM and time: the battery is fine. */
    static final int D_VRT = 0x80;

    /** The locations that count time (the alarm bytes sit between them). */
    private static final int[] TIME_REGISTERS = {REG_SECONDS, REG_MINUTES, REG_HOURS, REG_DAY_OF_WEEK, REG_DAY_OF_MONTH, REG_MONTH, REG_YEAR};
    /** Alarm bytes 0xC0-0xFF match every value ("don't care"). */
    static final int ALARM_DONT_CARE = 0xC0;
    static final int HOUR_PM = 0x80;

    // ---- Time ----
    static final long NANOS_PER_SECOND = 1_000_000_000L;
    /** UIP rises 244 us before each update (data sheet, "Update Cycle"). */
    static final long UIP_LEAD_NANOS = 244_000;
    /** After the divider leaves reset, the first update comes 500 ms later. */
    static final long FIRST_UPDATE_AFTER_RESET_NANOS = 500_000_000L;
    static final long TIME_BASE_HZ = 32_768;
    /** Register A and B as a PC BIOS leaves them: 32.768 kHz, 1024 Hz periodic rate; 24-hour BCD. */
    static final int BIOS_REGISTER_A = A_DV_32768 | 0x06;
    static final int BIOS_REGISTER_B = B_24_HOUR;
    static final int BASE_MEMORY_KIB = 640;
    static final long KIB = 1024;
    static final long MIB = 1024 * KIB;
    static final long HIGH_MEMORY_START = 16 * MIB;
    static final long HIGH_MEMORY_UNIT = 64 * KIB;
    static final int WORD_FIELD_MAX = 0xFFFF;
    private static final int DEFAULT_CENTURY = 20;
    private static final int BYTE_MASK = 0xFF;
    private static final int BITS_PER_BYTE = 8;
    private static final long NONE = Long.MAX_VALUE;

    // ---- Wiring ----
    private final VirtualClock clock;
    private final InterruptLines lines;
    private final int irq;
    private final VirtualClock.Timer timer;

    // ---- The chip's registers ----
    /** CMOS RAM; the time bytes 0-9 here are live only while the clock is halted (SET or divider reset). */
    private final byte[] cmos = new byte[CMOS_SIZE];
    private int index;
    private boolean nmiDisabled;

    // ---- The time base ----
    /** The RTC time, in seconds since 1970 (local = UTC), at {@link #phaseNanos}. */
    private long originSeconds;
    /** A virtual instant at which an update (a second boundary) happened. */
    private long phaseNanos;
    /** The virtual time up to which register C's flags have been worked out. */
    private long flagsCheckedNanos;
    private boolean irqHigh;

    // ---- Scratch for date arithmetic (no allocation) ----
    private int civilYear;
    private int civilMonth;
    private int civilDay;

    // ---- Counters ----
    private long reads;
    private long writes;
    private long unexpectedSizes;
    private long missedReads;
    private long missedWrites;
    private long interrupts;

    /**
     * @param baseSeconds the RTC time (seconds since 1970, UTC) at virtual time {@code clock.nanos()} now
     * @param ramBytes guest RAM size, for the memory-size bytes
     */
    public Mc146818(VirtualClock clock, InterruptLines lines, int irq, long baseSeconds, long ramBytes) {
        this.clock = clock;
        this.lines = lines;
        this.irq = irq;
        this.timer = clock.newTimer("rtc", this::onTimer);
        long now = clock.nanos();
        originSeconds = baseSeconds;
        phaseNanos = now;
        flagsCheckedNanos = now;
        cmos[REG_A] = (byte) BIOS_REGISTER_A;
        cmos[REG_B] = (byte) BIOS_REGISTER_B;
        cmos[REG_D] = (byte) D_VRT;
        daysToCivil(Math.floorDiv(baseSeconds, 86_400L));
        cmos[CMOS_CENTURY] = (byte) toBcd(civilYear / 100);
        storeMemorySize(ramBytes);
    }

    /** The BIOS memory-size bytes, then the AT checksum over 0x10-0x2D. */
    private void storeMemorySize(long ramBytes) {
        storeWord(CMOS_BASE_MEMORY_LOW, BASE_MEMORY_KIB);
        long extendedKib = Math.max(0, ramBytes - MIB) / KIB;
        storeWord(CMOS_EXTENDED_MEMORY_LOW, (int) Math.min(extendedKib, WORD_FIELD_MAX));
        storeWord(CMOS_POST_EXTENDED_MEMORY_LOW, (int) Math.min(extendedKib, WORD_FIELD_MAX));
        long highUnits = Math.max(0, ramBytes - HIGH_MEMORY_START) / HIGH_MEMORY_UNIT;
        storeWord(CMOS_HIGH_MEMORY_LOW, (int) Math.min(highUnits, WORD_FIELD_MAX));
        int sum = 0;
        for (int i = CMOS_CHECKSUM_FIRST; i <= CMOS_CHECKSUM_LAST; i++) {
            sum += cmos[i] & BYTE_MASK;
        }
        cmos[CMOS_CHECKSUM_HIGH] = (byte) (sum >>> BITS_PER_BYTE);
        cmos[CMOS_CHECKSUM_LOW] = (byte) sum;
    }

    private void storeWord(int low, int value) {
        cmos[low] = (byte) value;
        cmos[low + 1] = (byte) (value >>> BITS_PER_BYTE);
    }

    /** Stops the interrupt timer (the device is going away). */
    public void close() {
        timer.cancel();
    }

    // =====================================================================================
    // Port I/O
    // =====================================================================================

    /** A port read; wider accesses are split into byte cycles (ISA), and counted. */
    public int ioRead(int port, int size) {
        if (size == 1) {
            return readPort(port);
        }
        unexpectedSizes++;
        int value = 0;
        for (int i = 0; i < size; i++) {
            value |= readPort(port + i) << (BITS_PER_BYTE * i);
        }
        return value;
    }

    /** A port write; wider accesses are split into byte cycles (ISA), and counted. */
    public void ioWrite(int port, int size, int value) {
        if (size != 1) {
            unexpectedSizes++;
        }
        for (int i = 0; i < size; i++) {
            writePort(port + i, (value >>> (BITS_PER_BYTE * i)) & BYTE_MASK);
        }
    }

    private int readPort(int port) {
        switch (port) {
            case PORT_INDEX -> {
                // The guest reads the index port, which is write-only.
                reads++;
                return BYTE_MASK;
            }
            case PORT_DATA -> {
                reads++;
                return readRegister(index);
            }
            default -> {
                missedReads++;
                return BYTE_MASK;
            }
        }
    }

    private void writePort(int port, int value) {
        switch (port) {
            case PORT_INDEX -> {
                // The guest selects a CMOS byte, and gates NMI with bit 7.
                writes++;
                index = value & INDEX_MASK;
                nmiDisabled = (value & INDEX_NMI_DISABLE) != 0;
            }
            case PORT_DATA -> {
                writes++;
                writeRegister(index, value);
            }
            default -> missedWrites++;
        }
    }

    private int readRegister(int reg) {
        long now = clock.nanos();
        switch (reg) {
            case REG_SECONDS, REG_MINUTES, REG_HOURS, REG_DAY_OF_WEEK, REG_DAY_OF_MONTH, REG_MONTH, REG_YEAR -> {
                // The guest reads the time (after waiting for UIP to fall, if it is careful).
                return halted() ? cmos[reg] & BYTE_MASK : timeField(reg, currentSeconds(now));
            }
            case REG_A -> {
                // The guest checks UIP before reading the time.
                return (cmos[REG_A] & A_WRITABLE) | (updateImminent(now) ? A_UIP : 0);
            }
            case REG_C -> {
                // The guest acknowledges the RTC interrupt: reading C returns the flags and clears them.
                updateFlags(now);
                int value = (cmos[REG_C] & ~C_IRQF & BYTE_MASK) | (interruptRequested() ? C_IRQF : 0);
                cmos[REG_C] = 0;
                updateIrq();
                schedule(now);
                return value;
            }
            default -> {
                // The guest reads an alarm byte, B, D or NVRAM (BIOS settings, memory size, century).
                return cmos[reg] & BYTE_MASK;
            }
        }
    }

    private void writeRegister(int reg, int value) {
        long now = clock.nanos();
        boolean alarm = reg == REG_SECONDS_ALARM || reg == REG_MINUTES_ALARM || reg == REG_HOURS_ALARM;
        if (alarm) {
            updateFlags(now); // the old alarm applies to the time before this write
        }
        switch (reg) {
            case REG_SECONDS, REG_MINUTES, REG_HOURS, REG_DAY_OF_WEEK, REG_DAY_OF_MONTH, REG_MONTH, REG_YEAR -> {
                // The guest sets the time (normally with SET held, field by field).
                if (halted()) {
                    cmos[reg] = (byte) value;
                } else {
                    updateFlags(now);
                    snapshotTime(now);
                    cmos[reg] = (byte) value;
                    long phaseSeconds = Math.floorDiv(now - phaseNanos, NANOS_PER_SECOND);
                    originSeconds = registersToSeconds() - phaseSeconds;
                    flagsCheckedNanos = now;
                    schedule(now);
                }
            }
            case REG_A -> {
                // The guest picks the time base (or holds the divider in reset) and the periodic rate.
                updateFlags(now);
                boolean wasReset = dividerReset();
                boolean wasHalted = halted();
                if (!wasHalted) {
                    snapshotTime(now);
                }
                cmos[REG_A] = (byte) (value & A_WRITABLE);
                if (wasReset && !dividerReset()) {
                    // Leaving divider reset: the first update comes 500 ms later.
                    phaseNanos = now + FIRST_UPDATE_AFTER_RESET_NANOS - NANOS_PER_SECOND;
                }
                resumeIfRunning(wasHalted, now);
                schedule(now);
            }
            case REG_B -> {
                // The guest halts updates to set the time, or enables interrupts, or picks the data format.
                updateFlags(now);
                boolean wasHalted = halted();
                if (!wasHalted) {
                    snapshotTime(now);
                }
                int b = value;
                if ((b & B_SET) != 0) {
                    b &= ~B_UIE; // data sheet: SET clears UIE
                }
                boolean setReleased = (cmos[REG_B] & B_SET) != 0 && (b & B_SET) == 0;
                cmos[REG_B] = (byte) b;
                if (setReleased && !dividerReset()) {
                    // Updates resume one second after SET is released.
                    phaseNanos = now;
                }
                resumeIfRunning(wasHalted, now);
                updateIrq(); // IRQF follows the enables at once
                schedule(now);
            }
            case REG_C, REG_D -> {
                // The guest writes a read-only status register: ignored.
            }
            default ->
                // The guest writes an alarm byte or NVRAM.
                cmos[reg] = (byte) value;
        }
        if (alarm) {
            schedule(now);
        }
    }

    /** After a write to A or B: if the clock runs again, it runs from the time registers. */
    private void resumeIfRunning(boolean wasHalted, long now) {
        if (wasHalted && !halted()) {
            long phaseSeconds = Math.floorDiv(now - phaseNanos, NANOS_PER_SECOND);
            originSeconds = registersToSeconds() - phaseSeconds;
            flagsCheckedNanos = now;
        } else if (halted()) {
            flagsCheckedNanos = now;
        }
    }

    private boolean dividerReset() {
        return (cmos[REG_A] & A_DV_RESET) == A_DV_RESET;
    }

    /** Updates stop while SET is held or the divider chain is reset. */
    private boolean halted() {
        return (cmos[REG_B] & B_SET) != 0 || dividerReset();
    }

    private long currentSeconds(long now) {
        return originSeconds + Math.floorDiv(now - phaseNanos, NANOS_PER_SECOND);
    }

    /** The boundary (update instant) at which the clock shows {@code seconds}. */
    private long boundaryOf(long seconds) {
        return phaseNanos + (seconds - originSeconds) * NANOS_PER_SECOND;
    }

    private boolean updateImminent(long now) {
        if (halted()) {
            return false;
        }
        long intoSecond = Math.floorMod(now - phaseNanos, NANOS_PER_SECOND);
        return intoSecond >= NANOS_PER_SECOND - UIP_LEAD_NANOS;
    }

    // =====================================================================================
    // Interrupts
    // =====================================================================================

    /** Sets PF, AF and UF for what happened in (flagsCheckedNanos, now]. */
    private void updateFlags(long now) {
        long from = flagsCheckedNanos;
        if (now <= from) {
            return;
        }
        flagsCheckedNanos = now;
        int c = cmos[REG_C] & BYTE_MASK;
        long period = periodicNanos();
        if (period > 0 && Math.floorDiv(now - phaseNanos, period) > Math.floorDiv(from - phaseNanos, period)) {
            c |= C_PF;
        }
        if (!halted()) {
            long firstSecond = currentSeconds(from) + 1;
            long lastSecond = currentSeconds(now);
            if (lastSecond >= firstSecond) {
                c |= C_UF;
                long alarm = nextAlarmSecond(firstSecond);
                if (alarm <= lastSecond) {
                    c |= C_AF;
                }
            }
        }
        cmos[REG_C] = (byte) c;
    }

    /** IRQF = PF·PIE + AF·AIE + UF·UIE; IRQ8 is high while IRQF is set. */
    private void updateIrq() {
        boolean irqf = interruptRequested();
        int c = cmos[REG_C] & ~C_IRQF;
        cmos[REG_C] = (byte) (irqf ? c | C_IRQF : c);
        if (irqf != irqHigh) {
            irqHigh = irqf;
            if (irqf) {
                interrupts++;
            }
            lines.setLevel(irq, irqf);
        }
    }

    private boolean interruptRequested() {
        int b = cmos[REG_B];
        int c = cmos[REG_C];
        return ((c & C_PF) != 0 && (b & B_PIE) != 0) || ((c & C_AF) != 0 && (b & B_AIE) != 0)
                || ((c & C_UF) != 0 && (b & B_UIE) != 0);
    }

    /** Arms the timer for the next enabled event, while IRQ8 is low (when it is high, nothing new can be signalled). */
    private void schedule(long now) {
        int b = cmos[REG_B];
        long next = NONE;
        if (!irqHigh) {
            long period = periodicNanos();
            if ((b & B_PIE) != 0 && period > 0) {
                next = Math.min(next, phaseNanos + period * (Math.floorDiv(now - phaseNanos, period) + 1));
            }
            if (!halted()) {
                long nextSecond = currentSeconds(now) + 1;
                if ((b & B_UIE) != 0) {
                    next = Math.min(next, boundaryOf(nextSecond));
                }
                if ((b & B_AIE) != 0) {
                    long alarm = nextAlarmSecond(nextSecond);
                    if (alarm != NONE) {
                        next = Math.min(next, boundaryOf(alarm));
                    }
                }
            }
        }
        if (next == NONE) {
            timer.cancel();
        } else {
            timer.armAt(next);
        }
    }

    private void onTimer() {
        long now = clock.nanos();
        updateFlags(now);
        updateIrq();
        schedule(now);
    }

    /** The periodic interrupt period for RS (data sheet, Table "Periodic Interrupt Rate"), or 0 if off. */
    long periodicNanos() {
        int rs = cmos[REG_A] & A_RS_MASK;
        if (rs == 0 || dividerReset()) {
            return 0;
        }
        // With the 32.768 kHz time base, RS = 1 and 2 give 256 and 128 Hz; RS = n >= 3 gives 65536 >> n Hz.
        int cycles = rs <= 2 ? 1 << (rs + 6) : 1 << (rs - 1);
        return cycles * NANOS_PER_SECOND / TIME_BASE_HZ;
    }

    /** The first second >= {@code from} whose time matches the three alarm bytes, or NONE (searches two days). */
    private long nextAlarmSecond(long from) {
        int secondAlarm = cmos[REG_SECONDS_ALARM] & BYTE_MASK;
        int minuteAlarm = cmos[REG_MINUTES_ALARM] & BYTE_MASK;
        int hourAlarm = cmos[REG_HOURS_ALARM] & BYTE_MASK;
        long dayStart = Math.floorDiv(from, 86_400L) * 86_400L;
        for (int day = 0; day < 2; day++, dayStart += 86_400L) {
            for (int h = 0; h < 24; h++) {
                long hourStart = dayStart + h * 3600L;
                if (hourStart + 3599 < from || !alarmMatches(hourAlarm, encodeHour(h))) {
                    continue;
                }
                for (int m = 0; m < 60; m++) {
                    long minuteStart = hourStart + m * 60L;
                    if (minuteStart + 59 < from || !alarmMatches(minuteAlarm, encode(m))) {
                        continue;
                    }
                    for (int s = 0; s < 60; s++) {
                        if (minuteStart + s >= from && alarmMatches(secondAlarm, encode(s))) {
                            return minuteStart + s;
                        }
                    }
                }
            }
        }
        return NONE;
    }

    private static boolean alarmMatches(int alarm, int value) {
        return (alarm & ALARM_DONT_CARE) == ALARM_DONT_CARE || alarm == value;
    }

    // =====================================================================================
    // Time registers <-> seconds
    // =====================================================================================

    /** One time register for {@code seconds}, in the current data mode and hour format. */
    private int timeField(int reg, long seconds) {
        long days = Math.floorDiv(seconds, 86_400L);
        int secondOfDay = (int) Math.floorMod(seconds, 86_400L);
        return switch (reg) {
            case REG_SECONDS -> encode(secondOfDay % 60);
            case REG_MINUTES -> encode(secondOfDay / 60 % 60);
            case REG_HOURS -> encodeHour(secondOfDay / 3600);
            case REG_DAY_OF_WEEK -> encode((int) Math.floorMod(days + 4, 7L) + 1); // 1970-01-01 was a Thursday; Sunday = 1
            default -> {
                daysToCivil(days);
                yield switch (reg) {
                    case REG_DAY_OF_MONTH -> encode(civilDay);
                    case REG_MONTH -> encode(civilMonth);
                    default -> encode(civilYear % 100);
                };
            }
        };
    }

    /** Copies the running time into bytes 0-9, as the chip holds it when updates stop. */
    private void snapshotTime(long now) {
        long seconds = currentSeconds(now);
        for (int reg : TIME_REGISTERS) {
            cmos[reg] = (byte) timeField(reg, seconds);
        }
    }

    /** The time in bytes 0-9 (day of week ignored); guest garbage is clamped, never thrown. */
    private long registersToSeconds() {
        int second = clamp(decode(cmos[REG_SECONDS] & BYTE_MASK), 0, 59);
        int minute = clamp(decode(cmos[REG_MINUTES] & BYTE_MASK), 0, 59);
        int hour = clamp(decodeHour(cmos[REG_HOURS] & BYTE_MASK), 0, 23);
        int day = clamp(decode(cmos[REG_DAY_OF_MONTH] & BYTE_MASK), 1, 31);
        int month = clamp(decode(cmos[REG_MONTH] & BYTE_MASK), 1, 12);
        int yearInCentury = clamp(decode(cmos[REG_YEAR] & BYTE_MASK), 0, 99);
        int century = fromBcd(cmos[CMOS_CENTURY] & BYTE_MASK);
        if (century < 19 || century > 99) {
            century = DEFAULT_CENTURY;
        }
        long days = civilToDays(century * 100 + yearInCentury, month, day);
        return days * 86_400L + hour * 3600L + minute * 60L + second;
    }

    private static int clamp(int v, int min, int max) {
        return Math.max(min, Math.min(max, v));
    }

    private int encode(int value) {
        return (cmos[REG_B] & B_DM_BINARY) != 0 ? value : toBcd(value);
    }

    private int decode(int value) {
        return (cmos[REG_B] & B_DM_BINARY) != 0 ? value : fromBcd(value);
    }

    private int encodeHour(int hour24) {
        if ((cmos[REG_B] & B_24_HOUR) != 0) {
            return encode(hour24);
        }
        int hour12 = hour24 % 12 == 0 ? 12 : hour24 % 12;
        return encode(hour12) | (hour24 >= 12 ? HOUR_PM : 0);
    }

    private int decodeHour(int value) {
        if ((cmos[REG_B] & B_24_HOUR) != 0) {
            return decode(value);
        }
        int hour12 = decode(value & ~HOUR_PM);
        return hour12 % 12 + ((value & HOUR_PM) != 0 ? 12 : 0);
    }

    private static int toBcd(int v) {
        return (v / 10 % 10) << 4 | v % 10;
    }

    private static int fromBcd(int v) {
        return (v >>> 4) * 10 + (v & 0xF);
    }

    /** Days since 1970-01-01 to year/month/day (proleptic Gregorian; H. Hinnant's civil_from_days). */
    private void daysToCivil(long days) {
        long z = days + 719_468;
        long era = Math.floorDiv(z, 146_097L);
        long doe = z - era * 146_097;
        long yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        long mp = (5 * doy + 2) / 153;
        civilDay = (int) (doy - (153 * mp + 2) / 5 + 1);
        civilMonth = (int) (mp < 10 ? mp + 3 : mp - 9);
        civilYear = (int) (yoe + era * 400 + (civilMonth <= 2 ? 1 : 0));
    }

    /** Year/month/day to days since 1970-01-01 (H. Hinnant's days_from_civil). */
    static long civilToDays(int year, int month, int day) {
        long y = month <= 2 ? year - 1 : year;
        long era = Math.floorDiv(y, 400L);
        long yoe = y - era * 400;
        long doy = (153L * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
        long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146_097 + doe - 719_468;
    }

    // ---- for tests and the console ----

    public boolean nmiDisabled() {
        return nmiDisabled;
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

    /** Rising edges of IRQ8. */
    public long interrupts() {
        return interrupts;
    }

    @Override
    public String toString() {
        return String.format("cmos-rtc: reads=%d writes=%d unexpectedSizes=%d missedReads=%d missedWrites=%d irq8Edges=%d",
                reads, writes, unexpectedSizes, missedReads, missedWrites, interrupts);
    }
}
