package org.hotvisor.device.acpi.pm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.hotvisor.device.testkit.ManualClock;
import org.hotvisor.device.testkit.RecordingMachine;
import org.junit.jupiter.api.Test;

class AcpiPmTest {
    private static final int BASE = AcpiPm.DEFAULT_BASE;
    private static final int STS = BASE + AcpiPm.PM1_STS;
    private static final int EN = BASE + AcpiPm.PM1_EN;
    private static final int CNT = BASE + AcpiPm.PM1_CNT;
    private static final int TMR = BASE + AcpiPm.PM_TMR;

    private final ManualClock clock = new ManualClock();
    private final RecordingMachine machine = new RecordingMachine();
    private final List<Boolean> sci = new ArrayList<>();
    private final AcpiPm pm = new AcpiPm(BASE, clock, machine, sci::add, AcpiPm.DEFAULT_S5_SLP_TYP, false);

    @Test
    void timerCountsAt3579545HzOfVirtualTime() {
        assertEquals(0, pm.ioRead(TMR, 4));
        clock.advanceBy(1_000_000_000L);
        assertEquals(3_579_545, pm.ioRead(TMR, 4));
        clock.advanceBy(1_000L); // 1 us = 3.58 ticks
        assertEquals(3_579_548, pm.ioRead(TMR, 4));
    }

    @Test
    void tickConversionIsExactAndDoesNotOverflowForYears() {
        long tenYears = 10L * 365 * 24 * 3600 * 1_000_000_000L;
        assertEquals(tenYears / 1_000_000_000L * 3_579_545L, AcpiPm.ticks(tenYears));
        for (long t : new long[] {1, 2, 3_579_544, 3_579_545, 1L << 23, 123_456_789_012L}) {
            long n = AcpiPm.nanosAt(t);
            assertTrue(AcpiPm.ticks(n) >= t && AcpiPm.ticks(n - 1) < t, "first instant of tick " + t);
        }
    }

    @Test
    void timerIs24BitsByDefaultAnd32WhenExtended() {
        clock.advanceTo(AcpiPm.nanosAt((1L << 24) + 5));
        assertEquals(5, pm.ioRead(TMR, 4));
        AcpiPm wide = new AcpiPm(BASE, clock, machine, sci::add, 0, true);
        assertEquals((1L << 24) + 5, wide.ioRead(TMR, 4) & 0xFFFF_FFFFL);
        assertEquals(32, wide.timerBits());
    }

    @Test
    void timerBytesAndWordsReadTheirLanes() {
        clock.advanceTo(AcpiPm.nanosAt(0x123456));
        assertEquals(0x56, pm.ioRead(TMR, 1));
        assertEquals(0x34, pm.ioRead(TMR + 1, 1));
        assertEquals(0x12, pm.ioRead(TMR + 2, 1));
        assertEquals(0x3456, pm.ioRead(TMR, 2));
        pm.ioWrite(TMR, 4, 0); // read-only
        assertEquals(0x123456, pm.ioRead(TMR, 4));
    }

    @Test
    void tmrStsIsSetWhenTheTopBitChangesAndClearedByWritingOne() {
        clock.advanceTo(AcpiPm.nanosAt((1L << 23) - 1));
        assertEquals(0, pm.ioRead(STS, 2) & AcpiPm.TMR_STS);
        clock.advanceTo(AcpiPm.nanosAt(1L << 23));
        assertEquals(AcpiPm.TMR_STS, pm.ioRead(STS, 2) & AcpiPm.TMR_STS);
        pm.ioWrite(STS, 2, 0); // writing 0 leaves it
        assertEquals(AcpiPm.TMR_STS, pm.ioRead(STS, 2));
        pm.ioWrite(STS, 2, AcpiPm.TMR_STS);
        assertEquals(0, pm.ioRead(STS, 2));
    }

    @Test
    void withTmrEnTheSciRisesAtTheCarryAndFallsWhenStatusIsCleared() {
        pm.ioWrite(EN, 2, AcpiPm.TMR_EN);
        assertEquals(AcpiPm.TMR_EN, pm.ioRead(EN, 2));
        assertEquals(AcpiPm.nanosAt(1L << 23), clock.nextDeadline(), "armed for the first top-bit change");
        clock.advanceTo(AcpiPm.nanosAt(1L << 23));
        assertEquals(List.of(true), sci);
        pm.ioWrite(STS, 2, AcpiPm.TMR_STS);
        assertEquals(List.of(true, false), sci);
        assertEquals(AcpiPm.nanosAt(2L << 23), clock.nextDeadline(), "re-armed for the next change");
        pm.ioWrite(EN, 2, 0);
        assertEquals(Long.MAX_VALUE, clock.nextDeadline());
    }

    @Test
    void sciEnStartsSetAndGatesTheSci() {
        assertEquals(AcpiPm.SCI_EN, pm.ioRead(CNT, 2));
        pm.ioWrite(CNT, 2, 0);
        pm.ioWrite(EN, 2, AcpiPm.TMR_EN);
        clock.advanceTo(AcpiPm.nanosAt(1L << 23));
        assertTrue(sci.isEmpty(), "SCI_EN clear: no SCI");
        pm.ioWrite(CNT, 2, AcpiPm.SCI_EN);
        assertEquals(List.of(true), sci);
    }

    @Test
    void slpEnWithS5PowersOffAndSlpEnReadsZero() {
        pm.ioWrite(CNT, 2, AcpiPm.SCI_EN | AcpiPm.SLP_EN | (0 << AcpiPm.SLP_TYP_SHIFT));
        assertEquals(0, machine.status);
        assertEquals(List.of("powerOff 0 ACPI S5"), machine.events);
        assertEquals(AcpiPm.SCI_EN, pm.ioRead(CNT, 2), "SLP_EN is write-only");
    }

    @Test
    void otherSleepTypesAreCountedNotActedOn() {
        pm.ioWrite(CNT, 2, AcpiPm.SLP_EN | (1 << AcpiPm.SLP_TYP_SHIFT));
        assertTrue(machine.events.isEmpty());
        assertEquals(1, pm.unsupportedSleeps);
        assertEquals(1 << AcpiPm.SLP_TYP_SHIFT, pm.ioRead(CNT, 2), "SLP_TYP is kept");
        // Byte-wise, as some OSes write the high byte alone: SLP_TYP=5 (configured S5) + SLP_EN.
        AcpiPm other = new AcpiPm(BASE, clock, machine, sci::add, 5, false);
        other.ioWrite(CNT + 1, 1, (AcpiPm.SLP_EN | (5 << AcpiPm.SLP_TYP_SHIFT)) >>> 8);
        assertEquals(List.of("powerOff 0 ACPI S5"), machine.events);
    }

    @Test
    void aDwordAtThePm1EventBlockCoversStatusAndEnable() {
        clock.advanceTo(AcpiPm.nanosAt(1L << 23));
        pm.ioWrite(STS, 4, (AcpiPm.PWRBTN_EN << 16)); // EN in the upper word, no status cleared
        assertEquals(AcpiPm.TMR_STS | (AcpiPm.PWRBTN_EN << 16), pm.ioRead(STS, 4));
        assertEquals(0xFF, pm.ioRead(BASE + 6, 1), "unused port");
        assertFalse(sci.contains(true), "PWRBTN_EN alone raises nothing");
    }

    @Test
    void portsComeFromConfigurationWithAFallback() {
        assertEquals(0x600, AcpiPmComponent.basePort("0x600-0x60b"));
        assertEquals(AcpiPm.DEFAULT_BASE, AcpiPmComponent.basePort(""));
    }
}
