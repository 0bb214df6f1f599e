package org.hotvisor.device.cmos.rtc;

import org.hotvisor.device.testkit.ManualClock;
import static org.hotvisor.device.cmos.rtc.Mc146818.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.hotvisor.device.testkit.RecordingLines;

/** MC146818A data sheet statements (and the PC's CMOS map), with a hand-driven virtual clock. */
class Mc146818Test {
    private static final int IRQ8 = 8;
    private static final long BASE = Instant.parse("2026-01-01T00:00:00Z").getEpochSecond();
    private static final long SECOND = 1_000_000_000L;

    private final ManualClock clock = new ManualClock();
    private final RecordingLines lines = new RecordingLines();
    private Mc146818 rtc = new Mc146818(clock, lines, IRQ8, BASE, 32L << 20);

    private int cmos(int index) {
        rtc.ioWrite(PORT_INDEX, 1, index);
        return rtc.ioRead(PORT_DATA, 1);
    }

    private void setCmos(int index, int value) {
        rtc.ioWrite(PORT_INDEX, 1, index);
        rtc.ioWrite(PORT_DATA, 1, value);
    }

    @Test
    void atStartTheClockShowsTheBaseTimeInBcd() {
        assertEquals(0x00, cmos(REG_SECONDS));
        assertEquals(0x00, cmos(REG_MINUTES));
        assertEquals(0x00, cmos(REG_HOURS));
        assertEquals(5, cmos(REG_DAY_OF_WEEK), "2026-01-01 is a Thursday; Sunday is 1");
        assertEquals(0x01, cmos(REG_DAY_OF_MONTH));
        assertEquals(0x01, cmos(REG_MONTH));
        assertEquals(0x26, cmos(REG_YEAR));
        assertEquals(0x20, cmos(CMOS_CENTURY));
    }

    @Test
    void virtualTimeAdvancesTheClock() {
        clock.advanceTo(31L * 86_400 * SECOND + 3_661 * SECOND + SECOND / 2);
        assertEquals(0x01, cmos(REG_SECONDS));
        assertEquals(0x01, cmos(REG_MINUTES));
        assertEquals(0x01, cmos(REG_HOURS));
        assertEquals(0x01, cmos(REG_DAY_OF_MONTH));
        assertEquals(0x02, cmos(REG_MONTH), "February the first");
    }

    @Test
    void binaryDataModeAnd12HourFormatShowPmInBit7() {
        setCmos(REG_B, B_DM_BINARY); // binary, 12-hour
        clock.advanceTo(13 * 3600 * SECOND + 5 * 60 * SECOND);
        assertEquals(HOUR_PM | 1, cmos(REG_HOURS));
        assertEquals(5, cmos(REG_MINUTES));
        assertEquals(26, cmos(REG_YEAR));
    }

    @Test
    void readingRegisterCClearsIrqfAndLowersIrq8() {
        setCmos(REG_B, B_24_HOUR | B_UIE);
        clock.advanceTo(SECOND - 1);
        assertFalse(lines.high(IRQ8));
        clock.advanceTo(SECOND);
        assertTrue(lines.high(IRQ8), "the update-ended interrupt came at the second boundary");
        assertEquals(C_IRQF | C_UF | C_PF, cmos(REG_C), "PF too: the 1024 Hz rate runs, its interrupt is just disabled");
        assertFalse(lines.high(IRQ8));
        assertEquals(0, cmos(REG_C));
        clock.advanceTo(2 * SECOND);
        assertEquals(2, lines.risingEdges(IRQ8));
    }

    @Test
    void flagsAreSetEvenWhenTheirInterruptIsDisabled() {
        clock.advanceTo(3 * SECOND);
        assertEquals(C_UF | C_PF, cmos(REG_C), "updates and periodic ticks happened; no IRQF");
        assertEquals(0, lines.risingEdges(IRQ8));
    }

    @Test
    void thePeriodicInterruptFollowsTheRateSelect() {
        setCmos(REG_A, A_DV_32768 | 0x06); // 1024 Hz
        assertEquals(976_562, rtc.periodicNanos());
        setCmos(REG_B, B_24_HOUR | B_PIE);
        cmos(REG_C);
        clock.advanceTo(976_561);
        assertFalse(lines.high(IRQ8));
        clock.advanceTo(976_562);
        assertTrue(lines.high(IRQ8));
        assertEquals(C_IRQF | C_PF, cmos(REG_C));
        setCmos(REG_A, A_DV_32768 | 0x0F); // 2 Hz
        assertEquals(SECOND / 2, rtc.periodicNanos());
        setCmos(REG_A, A_DV_32768 | 0x01); // 256 Hz
        assertEquals(3_906_250, rtc.periodicNanos());
    }

    @Test
    void theAlarmInterruptFiresWhenTheTimeMatches() {
        setCmos(REG_SECONDS_ALARM, 0x05);
        setCmos(REG_MINUTES_ALARM, 0x00);
        setCmos(REG_HOURS_ALARM, 0x00);
        setCmos(REG_B, B_24_HOUR | B_AIE);
        clock.advanceTo(5 * SECOND - 1);
        assertFalse(lines.high(IRQ8));
        clock.advanceTo(5 * SECOND);
        assertTrue(lines.high(IRQ8));
        assertEquals(C_IRQF | C_AF | C_UF | C_PF, cmos(REG_C));
    }

    @Test
    void dontCareAlarmBytesMatchEverySecond() {
        setCmos(REG_SECONDS_ALARM, 0xFF);
        setCmos(REG_MINUTES_ALARM, 0xC0);
        setCmos(REG_HOURS_ALARM, 0xC0);
        setCmos(REG_B, B_24_HOUR | B_AIE);
        clock.advanceTo(SECOND);
        assertTrue(lines.high(IRQ8));
    }

    @Test
    void anAlarmAnHourAwayIsFoundWithoutTicking() {
        setCmos(REG_SECONDS_ALARM, 0x30);
        setCmos(REG_MINUTES_ALARM, 0x15);
        setCmos(REG_HOURS_ALARM, 0x01);
        setCmos(REG_B, B_24_HOUR | B_AIE);
        assertEquals((3600 + 15 * 60 + 30) * SECOND, clock.nextDeadline());
    }

    @Test
    void setHaltsUpdatesAndReleasingItRunsFromTheWrittenTime() {
        setCmos(REG_B, B_SET | B_24_HOUR);
        setCmos(REG_HOURS, 0x12);
        setCmos(REG_MINUTES, 0x34);
        setCmos(REG_SECONDS, 0x56);
        clock.advanceTo(10 * SECOND);
        assertEquals(0x56, cmos(REG_SECONDS), "frozen while SET");
        setCmos(REG_B, B_24_HOUR);
        clock.advanceTo(11 * SECOND - 1);
        assertEquals(0x56, cmos(REG_SECONDS));
        clock.advanceTo(11 * SECOND);
        assertEquals(0x57, cmos(REG_SECONDS), "the first update one second after SET was released");
        assertEquals(0x34, cmos(REG_MINUTES));
        assertEquals(0x12, cmos(REG_HOURS));
    }

    @Test
    void settingSetClearsUie() {
        setCmos(REG_B, B_24_HOUR | B_UIE);
        setCmos(REG_B, B_SET | B_24_HOUR | B_UIE);
        assertEquals(B_SET | B_24_HOUR, cmos(REG_B));
    }

    @Test
    void writingTheTimeWhileRunningKeepsCounting() {
        clock.advanceTo(SECOND / 2);
        setCmos(REG_MINUTES, 0x30);
        clock.advanceTo(SECOND);
        assertEquals(0x01, cmos(REG_SECONDS));
        assertEquals(0x30, cmos(REG_MINUTES));
    }

    @Test
    void uipIsSetDuringThe244MicrosecondsBeforeAnUpdate() {
        clock.advanceTo(SECOND - UIP_LEAD_NANOS - 1);
        assertEquals(0, cmos(REG_A) & A_UIP);
        clock.advanceTo(SECOND - UIP_LEAD_NANOS);
        assertEquals(A_UIP, cmos(REG_A) & A_UIP);
        clock.advanceTo(SECOND);
        assertEquals(0, cmos(REG_A) & A_UIP);
    }

    @Test
    void leavingDividerResetGivesTheFirstUpdate500MillisecondsLater() {
        clock.advanceTo(SECOND / 4);
        setCmos(REG_A, A_DV_RESET | 0x06);
        clock.advanceTo(5 * SECOND);
        assertEquals(0x00, cmos(REG_SECONDS), "held");
        setCmos(REG_A, A_DV_32768 | 0x06);
        clock.advanceTo(5 * SECOND + SECOND / 2 - 1);
        assertEquals(0x00, cmos(REG_SECONDS));
        clock.advanceTo(5 * SECOND + SECOND / 2);
        assertEquals(0x01, cmos(REG_SECONDS));
    }

    @Test
    void registerDReportsValidTimeAndCAndDIgnoreWrites() {
        assertEquals(D_VRT, cmos(REG_D));
        setCmos(REG_D, 0);
        setCmos(REG_C, 0xFF);
        assertEquals(D_VRT, cmos(REG_D));
        assertEquals(0, cmos(REG_C));
    }

    @Test
    void theBiosMemorySizeBytesDescribe32MiB() {
        assertEquals(640, cmos(CMOS_BASE_MEMORY_LOW) | cmos(CMOS_BASE_MEMORY_HIGH) << 8);
        assertEquals(31 * 1024, cmos(CMOS_EXTENDED_MEMORY_LOW) | cmos(CMOS_EXTENDED_MEMORY_HIGH) << 8);
        assertEquals(31 * 1024, cmos(CMOS_POST_EXTENDED_MEMORY_LOW) | cmos(CMOS_POST_EXTENDED_MEMORY_HIGH) << 8);
        assertEquals(256, cmos(CMOS_HIGH_MEMORY_LOW) | cmos(CMOS_HIGH_MEMORY_HIGH) << 8, "16 MiB above 16 MiB in 64 KiB units");
        int sum = 0;
        for (int i = CMOS_CHECKSUM_FIRST; i <= CMOS_CHECKSUM_LAST; i++) {
            sum += cmos(i);
        }
        assertEquals(sum, cmos(CMOS_CHECKSUM_HIGH) << 8 | cmos(CMOS_CHECKSUM_LOW));
    }

    @Test
    void extendedMemoryIsCappedAt64MiB() {
        rtc = new Mc146818(clock, lines, IRQ8, BASE, 128L << 20);
        assertEquals(0xFFFF, cmos(CMOS_EXTENDED_MEMORY_LOW) | cmos(CMOS_EXTENDED_MEMORY_HIGH) << 8);
        assertEquals(112 * 16, cmos(CMOS_HIGH_MEMORY_LOW) | cmos(CMOS_HIGH_MEMORY_HIGH) << 8);
    }

    @Test
    void port0x70Bit7MasksNmiAndSelectsTheSameByte() {
        setCmos(0x40, 0xA5);
        rtc.ioWrite(PORT_INDEX, 1, 0x80 | 0x40);
        assertTrue(rtc.nmiDisabled());
        assertEquals(0xA5, rtc.ioRead(PORT_DATA, 1));
        assertEquals(0xFF, rtc.ioRead(PORT_INDEX, 1), "the index port is write-only");
    }

    @Test
    void garbageTimeRegistersAreClampedNotThrown() {
        setCmos(REG_B, B_SET | B_24_HOUR);
        setCmos(REG_MONTH, 0x99);
        setCmos(REG_DAY_OF_MONTH, 0xFF);
        setCmos(REG_HOURS, 0xFF);
        setCmos(REG_B, B_24_HOUR);
        assertEquals(0x12, cmos(REG_MONTH));
        assertEquals(0x31, cmos(REG_DAY_OF_MONTH));
        assertEquals(0x23, cmos(REG_HOURS));
    }

    @Test
    void civilDaysMatchTheCalendar() {
        assertEquals(0, civilToDays(1970, 1, 1));
        assertEquals(BASE / 86_400, civilToDays(2026, 1, 1));
        assertEquals(Instant.parse("2000-02-29T00:00:00Z").getEpochSecond() / 86_400, civilToDays(2000, 2, 29));
    }

    @Test
    void otherPortsAreMissed() {
        assertEquals(0xFF, rtc.ioRead(0x72, 1));
        rtc.ioWrite(0x73, 1, 0);
        assertEquals(1, rtc.missedReads());
        assertEquals(1, rtc.missedWrites());
    }
}
