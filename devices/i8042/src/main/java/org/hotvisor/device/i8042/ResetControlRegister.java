package org.hotvisor.device.i8042;

import org.hotvisor.api.device.MachineControl;

/**
 * The Reset Control register at 0xCF9 of the PIIX/ICH south bridges: writing bit 2 (reset CPU)
 * resets the processor, bit 1 chooses a hard (1) or soft (0) reset. A soft reset is INIT; a hard
 * reset here takes the same path ({@link MachineControl#reset}: INIT to vCPU 0, whose default
 * handler reloads the image and resets every device), since Hotvisor has no power rails to cycle.
 * Bits 1 and 3 (full reset) read back as written; bit 2 reads 0, as on the chip.
 *
 * <p>Reference: Intel 82371AB PIIX4 datasheet, "RC - Reset Control Register (I/O CF9h)"; ICH
 * datasheets, "RST_CNT".
 */
public final class ResetControlRegister extends SingleByteRegister {
    public static final int PORT = 0xCF9;
    /** Bit 1: 1 = hard (system) reset, 0 = soft reset (INIT). */
    static final int SYSTEM_RESET = 0x02;
    /** Bit 2: writing 1 resets the CPU; not stored. */
    static final int RESET_CPU = 0x04;
    /** Bit 3 (ICH): a full reset drops power briefly; kept, no other effect. */
    static final int FULL_RESET = 0x08;
    static final int STORED = SYSTEM_RESET | FULL_RESET;

    private final MachineControl machine;
    private int value;
    private long softResets;
    private long hardResets;

    public ResetControlRegister(MachineControl machine) {
        super(PORT, "cf9");
        this.machine = machine;
    }

    @Override
    int read() {
        return value;
    }

    @Override
    void write(int b) {
        value = b & STORED;
        if ((b & RESET_CPU) != 0) {
            boolean hard = (b & SYSTEM_RESET) != 0;
            if (hard) {
                hardResets++;
            } else {
                softResets++;
            }
            machine.reset(hard ? "0xCF9 hard reset" : "0xCF9 soft reset (INIT)");
        }
    }

    public long softResets() {
        return softResets;
    }

    public long hardResets() {
        return hardResets;
    }

    @Override
    String counters() {
        return String.format(" softResets=%d hardResets=%d", softResets, hardResets);
    }
}
