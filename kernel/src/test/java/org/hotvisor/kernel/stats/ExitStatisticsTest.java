package org.hotvisor.kernel.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The sampled timing of {@link ExitStatistics}: exact counts, exact rare reasons, estimated totals. */
class ExitStatisticsTest {
    private static final int CPUID = 10, IO = 30, HLT = 12;

    /** Runs n exits of a reason through the vCPU loop's protocol, each taking nanos when timed. */
    private static void exits(ExitStatistics s, int reason, int n, long nanos) {
        for (int i = 0; i < n; i++) {
            boolean timed = s.countAndSample(reason);
            s.handledBy(reason, "bundle");
            if (timed) {
                s.time(reason, nanos);
            }
        }
    }

    @Test
    void theFirstExitsOfEachReasonAreAllTimed() {
        ExitStatistics s = new ExitStatistics();
        exits(s, HLT, 3, 5_000);
        exits(s, CPUID, ExitStatistics.TIMED_FIRST, 100);
        ExitStatistics.Snapshot snap = s.snapshot();
        assertEquals(3, snap.count()[HLT]);
        assertEquals(3, snap.timed()[HLT]);
        assertEquals(15_000, snap.totalNanos()[HLT]);
        assertEquals(ExitStatistics.TIMED_FIRST, snap.timed()[CPUID]);
        assertEquals(100L * ExitStatistics.TIMED_FIRST, snap.totalNanos()[CPUID]);
    }

    @Test
    void afterThemAboutOneExitInTheSamplePeriodIsTimedAndCountsStayExact() {
        ExitStatistics s = new ExitStatistics();
        int n = 1_000_000;
        exits(s, IO, n, 50);
        ExitStatistics.Snapshot snap = s.snapshot();
        assertEquals(n, snap.count()[IO]);
        long sampled = snap.timed()[IO] - ExitStatistics.TIMED_FIRST;
        double expected = (n - ExitStatistics.TIMED_FIRST) / (double) ExitStatistics.SAMPLE_PERIOD;
        assertTrue(Math.abs(sampled - expected) < expected * 0.05, "sampled " + sampled + ", expected about " + expected);
        assertEquals(50L * n, snap.totalNanos()[IO], "the estimate of uniform exits is exact");
    }

    @Test
    void alternatingReasonsAreBothSampled() {
        // a strict CPUID, OUT, CPUID, OUT ... pattern must not alias with the sampler
        ExitStatistics s = new ExitStatistics();
        for (int i = 0; i < 200_000; i++) {
            exits(s, CPUID, 1, 80);
            exits(s, IO, 1, 120);
        }
        ExitStatistics.Snapshot snap = s.snapshot();
        long half = 200_000 / ExitStatistics.SAMPLE_PERIOD / 2; // an aliasing sampler would time all or none
        assertTrue(snap.timed()[CPUID] > half, "CPUID timed " + snap.timed()[CPUID]);
        assertTrue(snap.timed()[IO] > half, "IO timed " + snap.timed()[IO]);
        assertEquals(80L * 200_000, snap.totalNanos()[CPUID]);
        assertEquals(120L * 200_000, snap.totalNanos()[IO]);
    }

    @Test
    void coldFirstExitsDoNotSetTheAverageOfTheRest() {
        // the first exits run before the JIT compiled the handler: slow, but only they are slow
        ExitStatistics s = new ExitStatistics();
        exits(s, CPUID, ExitStatistics.TIMED_FIRST, 10_000);
        exits(s, CPUID, 100_000, 100);
        long total = s.snapshot().totalNanos()[CPUID];
        assertEquals(10_000L * ExitStatistics.TIMED_FIRST + 100L * 100_000, total);
    }

    @Test
    void guestTimeIsTheLoopTimeMinusTheEstimatedHandling() {
        ExitStatistics s = new ExitStatistics();
        exits(s, CPUID, 1_000, 100);
        s.loopNanos(1_000_000);
        assertEquals(1_000_000 - 100_000, s.guestNanos());
        assertEquals(s.guestNanos(), s.snapshot().guestNanos());
        s.reset(0);
        assertEquals(0, s.guestNanos());
        assertEquals(0, s.snapshot().timed()[CPUID]);
    }

    @Test
    void theJsonReportSaysHowManyExitsWereTimed() {
        ExitStatistics s = new ExitStatistics();
        exits(s, HLT, 2, 1_000);
        String json = StatsReport.json(s.snapshot());
        assertTrue(json.contains("\"count\": 2, \"timed\": 2"), json);
    }
}
