package org.hotvisor.device.pit8254;

/**
 * One counter of the Intel 8254: control word, count register, counting element, output latch
 * and status latch. Nothing ticks: the count and OUT are functions of the PIT clock tick at which
 * they are asked for, measured from the tick at which the counting element was loaded.
 *
 * <p>References are to the Intel 8254 data sheet (order no. 231164): "Control Word Format",
 * "Counter Latch Command", "Read-Back Command", "Status Byte", "Modes 0-5", "Gate".
 */
final class PitCounter {

    // ---- Control word fields (bits 5:4 RW, 3:1 mode, 0 BCD) ----
    static final int RW_SHIFT = 4;
    static final int RW_MASK = 0x3;
    /** RW = 00 is the counter latch command. */
    static final int RW_LATCH = 0;
    static final int RW_LSB = 1;
    static final int RW_MSB = 2;
    static final int RW_LSB_THEN_MSB = 3;
    static final int MODE_SHIFT = 1;
    static final int MODE_MASK = 0x7;
    static final int CONTROL_BCD = 0x01;

    // ---- Modes ----
    static final int MODE_INTERRUPT_ON_TERMINAL_COUNT = 0;
    static final int MODE_ONE_SHOT = 1;
    static final int MODE_RATE_GENERATOR = 2;
    static final int MODE_SQUARE_WAVE = 3;
    static final int MODE_SOFTWARE_STROBE = 4;
    static final int MODE_HARDWARE_STROBE = 5;
    /** Modes 6 and 7 are modes 2 and 3 (bit 2 is a don't-care for them). */
    private static final int MODE_DONT_CARE_BIT = 0x4;

    // ---- Status byte (read-back) ----
    static final int STATUS_OUT = 0x80;
    static final int STATUS_NULL_COUNT = 0x40;
    private static final int STATUS_CONTROL_MASK = 0x3F;

    /** No tick: the counting element is not loaded, or OUT will not rise again. */
    static final long NONE = Long.MIN_VALUE;
    private static final int BINARY_MODULUS = 0x10000;
    private static final int BCD_MODULUS = 10000;
    /** Mode 2 with a count of 1 is illegal (data sheet); 1 in mode 2 or 3 would toggle every clock. */
    private static final int MIN_PERIODIC_COUNT = 2;
    private static final int BYTE_MASK = 0xFF;
    private static final int BITS_PER_BYTE = 8;

    // ---- The counter's registers ----
    private int mode;
    private int rw = RW_LSB;
    private boolean bcd;
    /** The count register as written (BCD digits in BCD mode). */
    private int countRegister;
    private boolean countWritten;
    /** The count the counting element was loaded with, in clocks (0 written means the modulus). */
    private long loadedCount;
    /** The tick at which the counting element holds {@link #loadedCount}, or {@link #NONE}. */
    private long loadTick = NONE;
    /** Modes 2 and 3: a count written while counting takes over at the end of the period. */
    private long pendingTick = NONE;
    private long pendingCount;
    private boolean gate;
    /** Elapsed clocks when the gate stopped the count (modes 0, 2, 3, 4). */
    private long frozenElapsed;
    private boolean nullCount = true;
    /** Write flip-flop for LSB-then-MSB: the LSB is in. */
    private boolean msbWriteNext;
    private int lsbWritten;
    /** Read flip-flop for LSB-then-MSB. */
    private boolean msbReadNext;
    private boolean countLatched;
    private int latchedCount;
    private boolean statusLatched;
    private int latchedStatus;

    /** @param gate the GATE input's level (channels 0 and 1 are tied high on the PC) */
    PitCounter(boolean gate) {
        this.gate = gate;
    }

    // =====================================================================================
    // Commands
    // =====================================================================================

    /** A control word for this counter (RW != 00): all control logic resets, OUT takes its initial level. */
    void writeControl(int control) {
        int m = (control >>> MODE_SHIFT) & MODE_MASK;
        mode = m > MODE_HARDWARE_STROBE ? m & ~MODE_DONT_CARE_BIT : m;
        rw = (control >>> RW_SHIFT) & RW_MASK;
        bcd = (control & CONTROL_BCD) != 0;
        countWritten = false;
        loadTick = NONE;
        pendingTick = NONE;
        nullCount = true;
        msbWriteNext = false;
        msbReadNext = false;
        countLatched = false;
        statusLatched = false;
    }

    /** The counter latch command: the count is frozen for reading until it has been read. */
    void latchCount(long tick) {
        if (!countLatched) {
            latchedCount = readableCount(tick);
            countLatched = true;
            msbReadNext = false;
        }
    }

    /** The read-back command's status part: OUT, NULL COUNT and the programmed control bits. */
    void latchStatus(long tick) {
        if (!statusLatched) {
            catchUp(tick);
            latchedStatus = (out(tick) ? STATUS_OUT : 0) | (nullCount ? STATUS_NULL_COUNT : 0)
                    | ((rw << RW_SHIFT | mode << MODE_SHIFT | (bcd ? CONTROL_BCD : 0)) & STATUS_CONTROL_MASK);
            statusLatched = true;
        }
    }

    /** A byte written to the counter's port. */
    void writeCount(int value, long tick) {
        catchUp(tick);
        switch (rw) {
            case RW_LSB -> loadCountRegister(value & BYTE_MASK, tick);
            case RW_MSB -> loadCountRegister((value & BYTE_MASK) << BITS_PER_BYTE, tick);
            default -> {
                if (!msbWriteNext) {
                    lsbWritten = value & BYTE_MASK;
                    msbWriteNext = true;
                    if (mode == MODE_INTERRUPT_ON_TERMINAL_COUNT) {
                        // Mode 0: writing the first byte stops the count and drives OUT low.
                        loadTick = NONE;
                    }
                } else {
                    msbWriteNext = false;
                    loadCountRegister(lsbWritten | (value & BYTE_MASK) << BITS_PER_BYTE, tick);
                }
            }
        }
    }

    /** A byte read from the counter's port: a latched status first, then a latched count, else the live count. */
    int readCount(long tick) {
        if (statusLatched) {
            statusLatched = false;
            return latchedStatus;
        }
        int count;
        if (countLatched) {
            count = latchedCount;
        } else {
            count = readableCount(tick);
        }
        int value;
        switch (rw) {
            case RW_MSB -> {
                value = count >>> BITS_PER_BYTE;
                countLatched = false;
            }
            case RW_LSB_THEN_MSB -> {
                value = msbReadNext ? count >>> BITS_PER_BYTE : count;
                if (msbReadNext) {
                    countLatched = false;
                }
                msbReadNext = !msbReadNext;
            }
            default -> {
                value = count;
                countLatched = false;
            }
        }
        return value & BYTE_MASK;
    }

    /** The GATE input changes level at {@code tick}. */
    void setGate(boolean high, long tick) {
        catchUp(tick);
        if (high == gate) {
            return;
        }
        if (!high) {
            if (loadTick != NONE && gateStopsCounting()) {
                // Modes 0, 2, 3, 4: a low gate suspends counting (modes 2 and 3 also force OUT high).
                frozenElapsed = Math.max(0, tick - loadTick);
            }
        } else {
            switch (mode) {
                case MODE_INTERRUPT_ON_TERMINAL_COUNT, MODE_SOFTWARE_STROBE -> {
                    // Counting resumes where it stopped, from the next clock.
                    if (loadTick != NONE) {
                        loadTick = tick + 1 - frozenElapsed;
                    }
                }
                case MODE_RATE_GENERATOR, MODE_SQUARE_WAVE -> {
                    // A rising gate reloads the initial count at the next clock.
                    if (countWritten) {
                        applyPending();
                        loadTick = tick + 1;
                    }
                }
                default -> {
                    // Modes 1 and 5: a rising gate triggers, loading the count register at the next clock.
                    if (countWritten) {
                        loadedCount = decodedCount();
                        loadTick = tick + 1;
                    }
                }
            }
        }
        gate = high;
    }

    // =====================================================================================
    // The counting element and OUT as functions of time
    // =====================================================================================

    /** OUT at {@code tick} (data sheet, the waveforms of modes 0-5). */
    boolean out(long tick) {
        catchUp(tick);
        if (loadTick == NONE) {
            // After the control word: OUT low in mode 0, high in the others.
            return mode != MODE_INTERRUPT_ON_TERMINAL_COUNT;
        }
        long e = elapsed(tick);
        long n = loadedCount;
        return switch (mode) {
            case MODE_INTERRUPT_ON_TERMINAL_COUNT -> e >= n;
            case MODE_ONE_SHOT -> e < 0 || e >= n;
            case MODE_RATE_GENERATOR -> !gate || e < 0 || e % n != n - 1;
            case MODE_SQUARE_WAVE -> !gate || e < 0 || e % n < (n + 1) / 2;
            default -> e != n; // modes 4 and 5: one clock low at terminal count
        };
    }

    /** The first tick after {@code tick} at which OUT goes from low to high, or {@link #NONE}. */
    long nextRise(long tick) {
        catchUp(tick);
        if (loadTick == NONE || (gateStopsCounting() && !gate)) {
            return NONE;
        }
        long e = elapsed(tick);
        long n = loadedCount;
        return switch (mode) {
            case MODE_INTERRUPT_ON_TERMINAL_COUNT, MODE_ONE_SHOT -> e < n ? loadTick + n : NONE;
            case MODE_RATE_GENERATOR, MODE_SQUARE_WAVE -> loadTick + n * (Math.max(e, 0) / n + 1);
            default -> e <= n ? loadTick + n + 1 : NONE;
        };
    }

    /** The counting element at {@code tick}, in clocks (before BCD encoding). */
    long count(long tick) {
        catchUp(tick);
        if (loadTick == NONE) {
            return countWritten ? decodedCount() : 0;
        }
        long e = elapsed(tick);
        long n = loadedCount;
        if (e < 0) {
            return n;
        }
        return switch (mode) {
            case MODE_RATE_GENERATOR -> n - e % n;
            case MODE_SQUARE_WAVE -> {
                // Mode 3 counts down by two, once through each half-period.
                long phase = e % n;
                long highHalf = (n + 1) / 2;
                yield phase < highHalf ? n - 2 * phase : (n & ~1L) - 2 * (phase - highHalf);
            }
            default -> Math.floorMod(n - e, (long) modulus()); // modes 0, 1, 4, 5 wrap past zero
        };
    }

    // ---- internals ----

    private void loadCountRegister(int value, long tick) {
        countRegister = value;
        countWritten = true;
        nullCount = true;
        long n = decodedCount();
        switch (mode) {
            case MODE_INTERRUPT_ON_TERMINAL_COUNT, MODE_SOFTWARE_STROBE -> {
                // The count is loaded at the next clock; mode 0 OUT stays low until terminal count.
                loadedCount = n;
                loadTick = tick + 1;
                frozenElapsed = 0;
            }
            case MODE_RATE_GENERATOR, MODE_SQUARE_WAVE -> {
                if (loadTick == NONE) {
                    loadedCount = n;
                    loadTick = tick + 1;
                    frozenElapsed = 0;
                } else {
                    // A new count while counting takes effect at the end of the current period.
                    long e = Math.max(elapsed(tick), 0);
                    pendingTick = loadTick + loadedCount * (e / loadedCount + 1);
                    pendingCount = n;
                }
            }
            default -> {
                // Modes 1 and 5 wait for a gate trigger to load the count.
            }
        }
    }

    /** The count register in clocks: 0 is the modulus (65536, or 10000 in BCD). */
    private long decodedCount() {
        int n = bcd ? fromBcd(countRegister) : countRegister;
        if (n == 0) {
            n = modulus();
        }
        if ((mode == MODE_RATE_GENERATOR || mode == MODE_SQUARE_WAVE) && n < MIN_PERIODIC_COUNT) {
            n = MIN_PERIODIC_COUNT;
        }
        return n;
    }

    private int modulus() {
        return bcd ? BCD_MODULUS : BINARY_MODULUS;
    }

    private long elapsed(long tick) {
        if (!gate && gateStopsCounting()) {
            return frozenElapsed;
        }
        return tick - loadTick;
    }

    private boolean gateStopsCounting() {
        return mode != MODE_ONE_SHOT && mode != MODE_HARDWARE_STROBE;
    }

    /** Applies a pending reload whose time has come, and clears NULL COUNT once the element is loaded. */
    private void catchUp(long tick) {
        if (pendingTick != NONE && tick >= pendingTick && (gate || !gateStopsCounting())) {
            applyPending();
        }
        if (loadTick != NONE && tick >= loadTick && pendingTick == NONE) {
            nullCount = false;
        }
    }

    private void applyPending() {
        if (pendingTick != NONE) {
            loadTick = pendingTick;
            loadedCount = pendingCount;
            pendingTick = NONE;
        }
    }

    /** The count as the guest reads it: 16 bits, BCD-encoded in BCD mode. */
    private int readableCount(long tick) {
        long c = count(tick) % modulus();
        return bcd ? toBcd((int) c) : (int) c;
    }

    private static int fromBcd(int v) {
        return ((v >>> 12) & 0xF) * 1000 + ((v >>> 8) & 0xF) * 100 + ((v >>> 4) & 0xF) * 10 + (v & 0xF);
    }

    private static int toBcd(int v) {
        return (v / 1000 % 10) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10;
    }

    // ---- for tests and the console ----

    int mode() {
        return mode;
    }

    boolean gate() {
        return gate;
    }
}
