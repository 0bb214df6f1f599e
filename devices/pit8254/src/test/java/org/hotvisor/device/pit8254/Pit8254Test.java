package org.hotvisor.device.pit8254;

import org.hotvisor.device.testkit.ManualClock;
import static org.hotvisor.device.pit8254.Pit8254.nanosAt;
import static org.hotvisor.device.pit8254.Pit8254.ticksAt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.Test;
import org.hotvisor.device.testkit.RecordingLines;

/** Intel 8254 data sheet statements, on the PC's ports with a hand-driven virtual clock. */
class Pit8254Test {
    private static final int IRQ0 = 0;
    private static final int CH0 = 0x40;
    private static final int CH2 = 0x42;
    private static final int CONTROL = 0x43;
    private static final int PORT_B = 0x61;

    private final ManualClock clock = new ManualClock();
    private final RecordingLines lines = new RecordingLines();
    private final Pit8254 pit = new Pit8254(clock, lines, IRQ0);

    private void out(int port, int value) {
        pit.ioWrite(port, 1, value);
    }

    private int in(int port) {
        return pit.ioRead(port, 1);
    }

    private void writeCount(int port, int count) {
        out(port, count & 0xFF);
        out(port, count >>> 8);
    }

    private int readCount(int port) {
        return in(port) | in(port) << 8;
    }

    private void advanceToTick(long tick) {
        clock.advanceTo(nanosAt(tick));
    }

    @Test
    void ticksAndNanosecondsConvertExactly() {
        assertEquals(Pit8254.PIT_HZ, ticksAt(1_000_000_000L));
        for (long t : new long[] {0, 1, 17, 1_193_181, 1_193_183, 123_456_789_012L}) {
            assertEquals(t, ticksAt(nanosAt(t)));
            if (t > 0) {
                assertEquals(t - 1, ticksAt(nanosAt(t) - 1), "nanosAt is the first instant of the tick");
            }
        }
    }

    @Test
    void mode0OutGoesHighNPlusOneClocksAfterTheCountIsWrittenAndRaisesIrq0Once() {
        out(CONTROL, 0x30); // counter 0, LSB then MSB, mode 0
        writeCount(CH0, 100);
        advanceToTick(100);
        assertEquals(0, lines.risingEdges(IRQ0));
        advanceToTick(101);
        assertEquals(1, lines.risingEdges(IRQ0), "OUT0 rose at terminal count");
        advanceToTick(100_000);
        assertEquals(1, lines.risingEdges(IRQ0), "and stays high: no more interrupts");
        assertEquals(true, lines.high(IRQ0));
    }

    @Test
    void mode0CountsDownAndWrapsPastZero() {
        out(CONTROL, 0x30);
        writeCount(CH0, 100);
        advanceToTick(31);
        out(CONTROL, 0x00); // latch counter 0
        assertEquals(70, readCount(CH0));
        advanceToTick(103);
        out(CONTROL, 0x00);
        assertEquals(0xFFFE, readCount(CH0));
    }

    @Test
    void mode2RateGeneratorReloadsAndInterruptsOncePerPeriod() {
        out(CONTROL, 0x34); // counter 0, LSB then MSB, mode 2
        writeCount(CH0, 1000);
        int edgesAfterProgramming = lines.risingEdges(IRQ0); // OUT went high with the control word
        assertEquals(1, edgesAfterProgramming);
        advanceToTick(1 + 3 * 1000);
        assertEquals(edgesAfterProgramming + 3, lines.risingEdges(IRQ0));
        assertEquals(3, pit.interrupts());
        advanceToTick(1 + 3 * 1000 + 500);
        out(CONTROL, 0x00);
        assertEquals(500, readCount(CH0), "reloaded with 1000 at each period and counting down");
    }

    @Test
    void aNewMode2CountTakesEffectAtTheEndOfThePeriod() {
        out(CONTROL, 0x34);
        writeCount(CH0, 1000);
        advanceToTick(501);
        writeCount(CH0, 100);
        out(CONTROL, 0x00);
        assertEquals(500, readCount(CH0), "the current period runs out first");
        advanceToTick(1001 + 100 + 100);
        assertEquals(1 + 3, lines.risingEdges(IRQ0));
    }

    @Test
    void theCounterLatchFreezesTheCountUntilItIsRead() {
        out(CONTROL, 0x34);
        writeCount(CH0, 1000);
        advanceToTick(101);
        out(CONTROL, 0x00);
        advanceToTick(301);
        assertEquals(900, readCount(CH0));
        assertEquals(700, readCount(CH0), "the latch was released by reading it");
    }

    @Test
    void aSecondLatchBeforeReadingIsIgnored() {
        out(CONTROL, 0x34);
        writeCount(CH0, 1000);
        advanceToTick(101);
        out(CONTROL, 0x00);
        advanceToTick(201);
        out(CONTROL, 0x00);
        assertEquals(900, readCount(CH0));
    }

    @Test
    void readBackReportsOutNullCountAndTheControlBits() {
        out(CONTROL, 0x34);
        out(CONTROL, 0xE2); // read-back: status only, counter 0
        assertEquals(0x80 | 0x40 | 0x30 | 0x04, in(CH0), "OUT high, null count, RW=3, mode 2");
        writeCount(CH0, 1000);
        advanceToTick(1);
        out(CONTROL, 0xE2);
        assertEquals(0x80 | 0x30 | 0x04, in(CH0), "the count reached the counting element");
    }

    @Test
    void readBackOfStatusAndCountReturnsTheStatusFirst() {
        out(CONTROL, 0x34);
        writeCount(CH0, 1000);
        advanceToTick(11);
        out(CONTROL, 0xC2); // read-back: count and status, counter 0
        assertEquals(0xB4, in(CH0));
        assertEquals(990, readCount(CH0));
    }

    @Test
    void bcdCountsInDecimal() {
        out(CONTROL, 0x35); // counter 0, LSB then MSB, mode 2, BCD
        writeCount(CH0, 0x0100); // 100 decimal
        advanceToTick(1 + 58);
        out(CONTROL, 0x00);
        assertEquals(0x0042, readCount(CH0));
        advanceToTick(1 + 2 * 100);
        assertEquals(1 + 2, lines.risingEdges(IRQ0));
    }

    @Test
    void lsbOnlyAccessReadsAndWritesOneByte() {
        out(CONTROL, 0x10); // counter 0, LSB only, mode 0
        out(CH0, 0x20);
        advanceToTick(1 + 2);
        assertEquals(0x1E, in(CH0));
        assertEquals(0x1E, in(CH0), "no flip-flop: every read is the LSB");
    }

    @Test
    void mode4StrobesOutLowForOneClockAtTerminalCount() {
        out(CONTROL, 0x38); // counter 0, LSB then MSB, mode 4
        writeCount(CH0, 50);
        int before = lines.risingEdges(IRQ0);
        advanceToTick(1 + 50);
        assertEquals(before, lines.risingEdges(IRQ0), "OUT is low during the terminal-count clock");
        advanceToTick(1 + 51);
        assertEquals(before + 1, lines.risingEdges(IRQ0));
        advanceToTick(100_000);
        assertEquals(before + 1, lines.risingEdges(IRQ0), "one strobe per count written");
    }

    @Test
    void mode3SquareWaveOnCounter2ShowsInPortBBit5() {
        out(CONTROL, 0xB6); // counter 2, LSB then MSB, mode 3
        writeCount(CH2, 100);
        out(PORT_B, Pit8254.PORT_B_GATE2);
        long start = 1; // the gate rose at tick 0: the count is loaded at the next clock
        advanceToTick(start + 10);
        assertEquals(Pit8254.PORT_B_OUT2, in(PORT_B) & Pit8254.PORT_B_OUT2, "first half-period high");
        advanceToTick(start + 60);
        assertEquals(0, in(PORT_B) & Pit8254.PORT_B_OUT2, "second half-period low");
        advanceToTick(start + 100);
        assertEquals(Pit8254.PORT_B_OUT2, in(PORT_B) & Pit8254.PORT_B_OUT2);
        assertEquals(0, lines.risingEdges(IRQ0), "counter 2 does not interrupt");
    }

    @Test
    void aLowGateStopsAMode0CountOnCounter2() {
        out(PORT_B, Pit8254.PORT_B_GATE2);
        out(CONTROL, 0xB0); // counter 2, LSB then MSB, mode 0
        writeCount(CH2, 1000);
        advanceToTick(101);
        out(PORT_B, 0);      // gate low: counting stops
        advanceToTick(501);
        out(CONTROL, 0x80);  // latch counter 2
        assertEquals(900, readCount(CH2));
    }

    @Test
    void mode1IsAOneShotTriggeredByTheGate() {
        out(CONTROL, 0xB2); // counter 2, LSB then MSB, mode 1
        writeCount(CH2, 10);
        assertEquals(Pit8254.PORT_B_OUT2, in(PORT_B) & Pit8254.PORT_B_OUT2, "OUT high while waiting for a trigger");
        out(PORT_B, Pit8254.PORT_B_GATE2);
        advanceToTick(1 + 5);
        assertEquals(0, in(PORT_B) & Pit8254.PORT_B_OUT2, "low from the clock after the trigger");
        advanceToTick(1 + 10);
        assertEquals(Pit8254.PORT_B_OUT2, in(PORT_B) & Pit8254.PORT_B_OUT2, "high again at terminal count");
    }

    @Test
    void portBKeepsItsWritableBitsAndTheRefreshBitToggles() {
        out(PORT_B, 0xFF);
        assertEquals(Pit8254.PORT_B_WRITABLE, in(PORT_B) & Pit8254.PORT_B_WRITABLE);
        int first = in(PORT_B) & Pit8254.PORT_B_REFRESH;
        advanceToTick(Pit8254.REFRESH_PERIOD_TICKS);
        assertNotEquals(first, in(PORT_B) & Pit8254.PORT_B_REFRESH);
    }

    @Test
    void theControlPortReadsAsAnOpenBusAndOtherPortsAreMissed() {
        assertEquals(0xFF, in(CONTROL));
        assertEquals(0xFF, in(0x44));
        out(0x60, 0);
        assertEquals(1, pit.missedReads());
        assertEquals(1, pit.missedWrites());
    }

    @Test
    void reprogrammingCounter0StopsTheOldTimer() {
        out(CONTROL, 0x34);
        writeCount(CH0, 100);
        out(CONTROL, 0x30); // mode 0, no count yet: OUT low, nothing scheduled
        assertEquals(Long.MAX_VALUE, clock.nextDeadline());
        pit.close();
    }
}
