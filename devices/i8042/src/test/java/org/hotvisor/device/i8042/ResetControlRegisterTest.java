package org.hotvisor.device.i8042;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.hotvisor.device.testkit.RecordingMachine;
import org.junit.jupiter.api.Test;

/** The reset control register at 0xCF9 (PIIX4 "RC", ICH "RST_CNT"). */
class ResetControlRegisterTest {
    private final RecordingMachine machine = new RecordingMachine();
    private final ResetControlRegister rc = new ResetControlRegister(machine);

    @Test
    void bit2WithBit1ClearIsASoftResetAndBit1AloneOnlySelectsTheKind() {
        rc.ioWrite(0xCF9, 1, ResetControlRegister.SYSTEM_RESET); // select hard reset: no reset yet
        assertEquals(List.of(), machine.events);
        assertEquals(ResetControlRegister.SYSTEM_RESET, rc.ioRead(0xCF9, 1));
        rc.ioWrite(0xCF9, 1, ResetControlRegister.RESET_CPU);
        assertEquals(List.of("reset 0xCF9 soft reset (INIT)"), machine.events);
        assertEquals(1, rc.softResets());
        assertEquals(0, rc.ioRead(0xCF9, 1), "bit 2 is not stored");
    }

    @Test
    void bit2WithBit1SetIsAHardResetTakingTheSamePath() {
        rc.ioWrite(0xCF9, 1, 0x06); // the classic "outb 0x06, 0xcf9"
        assertEquals(List.of("reset 0xCF9 hard reset"), machine.events);
        assertEquals(1, rc.hardResets());
        assertEquals(ResetControlRegister.SYSTEM_RESET, rc.ioRead(0xCF9, 1));
    }

    @Test
    void otherPortsAndWideReadsAreOpenBus() {
        assertEquals(0xFF, rc.ioRead(0xCF8, 1));
        rc.ioWrite(0xCF8, 1, 0x06);
        assertTrue(machine.events.isEmpty());
        assertEquals(0xFF00, rc.ioRead(0xCF9, 2) & 0xFF00);
    }
}
