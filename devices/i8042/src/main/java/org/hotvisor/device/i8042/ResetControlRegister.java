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
public final class ResetControlRegister {
    public static final int PORT = 0xCF9;
    /** Bit 1: 1 = hard (system) reset, 0 = soft reset (INIT). */
    static final int SYSTEM_RESET = 0x02;
    /** Bit 2: writing 1 resets the CPU; not stored. */
    static final int RESET_CPU = 0x04;
    /** Bit 3 (ICH): a full reset drops power briefly; kept, no other effect. */
    static final int FULL_RESET = 0x08;
    static final int STORED = SYSTEM_RESET | FULL_RESET;
    private static final int BITS_PER_BYTE = 8;

    private final MachineControl machine;
    private int value;

    private long reads;
    private long writes;
    private long unexpectedSizes;
    private long missedReads;
    private long missedWrites;
    private long softResets;
    private long hardResets;

    public ResetControlRegister(MachineControl machine) {
        this.machine = machine;
    }

    public int ioRead(int port, int size) {
        if (port != PORT) {
            missedReads++;
            return openBus(size);
        }
        reads++;
        if (size != 1) {
            unexpectedSizes++;
            return value | ~0xFF & openBus(size);
        }
        return value;
    }

    public void ioWrite(int port, int size, int v) {
        if (port != PORT) {
            missedWrites++;
            return;
        }
        if (size != 1) {
            unexpectedSizes++;
        }
        writes++;
        int b = v & 0xFF;
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

    private static int openBus(int size) {
        return size >= Integer.BYTES ? -1 : (1 << (BITS_PER_BYTE * size)) - 1;
    }

    public long softResets() {
        return softResets;
    }

    public long hardResets() {
        return hardResets;
    }

    @Override
    public String toString() {
        return String.format("cf9: reads=%d writes=%d unexpectedSizes=%d missedReads=%d missedWrites=%d softResets=%d hardResets=%d",
                reads, writes, unexpectedSizes, missedReads, missedWrites, softResets, hardResets);
    }
}
