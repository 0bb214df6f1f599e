package org.hotvisor.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Signal exits and the exit matrix from the command line, checked as issue #3's independent guests
 * check them: the reason, qualification and instruction length in {@code --trace} and the counts in
 * {@code --stats-json}. The platform's reset lines reach the guest as INIT (exit 3, SDM 3C 26.2);
 * {@code --set} switches exits with VMCS fields and the I/O and MSR bitmaps.
 */
class SignalExitsIT {
    private static final int RESET_DONE = (5 << 1) | 1, MATRIX_DONE = (3 << 1) | 1;

    /** A run's trace lines and statistics. */
    private record Run(Hotvisor.Result result, List<String> trace, String stats) {
        boolean traced(int reason, String qualification, int length, long rip) {
            String fields = String.format("\"reason\":%d,", reason);
            String rest = String.format("\"qualification\":\"%s\",\"length\":%d,\"rip\":\"0x%x\"", qualification, length, rip);
            return trace.stream().anyMatch(l -> l.contains(fields) && l.contains(rest));
        }

        boolean anyReason(int reason) {
            return trace.stream().anyMatch(l -> l.contains(String.format("\"reason\":%d,", reason)));
        }

        @Override
        public String toString() {
            return result + "\ntrace:\n" + String.join("\n", trace) + "\nstats:\n" + stats;
        }
    }

    private static Run run(Path image, String... set) throws Exception {
        Path trace = Hotvisor.tempFile("trace", ".jsonl");
        Path json = Hotvisor.tempFile("stats", ".json");
        List<String> args = new java.util.ArrayList<>(List.of("run", image.toString(), "--trace", trace.toString(),
                "--stats-json", json.toString(), "--timeout", "60"));
        for (String s : set) {
            args.addAll(List.of("--set", s));
        }
        Hotvisor.Result r = Hotvisor.run(args.toArray(String[]::new));
        return new Run(r, Files.readAllLines(trace, StandardCharsets.UTF_8), Files.readString(json));
    }

    // ---- INIT from the platform's reset lines

    @Test
    void i8042ResetPulseIsAnInitExitWithQualification0ThenThePlatformReset() throws Exception {
        Run r = run(Hotvisor.guest("signal-exits", "RESET"));
        assertEquals(RESET_DONE, r.result().status(), r.toString());
        assertTrue(r.trace().stream().anyMatch(l -> l.contains("\"reason\":3,\"name\":\"INIT_SIGNAL\"")
                && l.contains("\"qualification\":\"0x0\"")), r.toString());
        assertTrue(r.stats().contains("\"INIT_SIGNAL\": 1"), r.toString());
    }

    @Test
    void softResetThroughCf9IsTheSameInitExit() throws Exception {
        Run r = run(Hotvisor.guest("signal-exits", "RESET", "CF9"));
        assertEquals(RESET_DONE, r.result().status(), r.toString());
        assertTrue(r.stats().contains("\"INIT_SIGNAL\": 1"), r.toString());
    }

    // ---- the exit matrix: one guest, each exit on or off by --set

    @Test
    void byDefaultPortAndMsrAccessesExitAndInt3DoesNot() throws Exception {
        Run r = run(Hotvisor.guest("signal-exits"));
        assertEquals(MATRIX_DONE, r.result().status(), r.toString());
        assertEquals("M", r.result().stdout(), r.toString());
        assertFalse(r.anyReason(0), "exception bitmap 0: INT3 is delivered in the guest\n" + r);
        assertTrue(r.traced(30, "0x800040", 2, 0x7c29), "OUT 0x80,AL: port 0x80, immediate, OUT, 1 byte\n" + r);
        assertTrue(r.traced(31, "0x0", 2, 0x7c31), "RDMSR without MSR bitmaps exits\n" + r);
    }

    @Test
    void exceptionBitmapAndBitmapsOffSwitchEachExit() throws Exception {
        Run r = run(Hotvisor.guest("signal-exits"), "exception-bitmap=0x8,io-bitmap=0x80:off", "msr-bitmap=read:0x10:off");
        assertEquals(MATRIX_DONE, r.result().status(), r.toString());
        assertTrue(r.traced(0, "0x0", 1, 0x7c26), "INT3 under exception-bitmap bit 3: exit 0, length 1\n" + r);
        assertTrue(r.stats().contains("\"EXCEPTION_OR_NMI\": 1"), r.toString());
        assertFalse(r.traced(30, "0x800040", 2, 0x7c29), "port 0x80's bitmap bit is clear\n" + r);
        assertTrue(r.traced(30, "0xe90040", 2, 0x7c24), "every other port still exits\n" + r);
        assertFalse(r.anyReason(31), "RDMSR 0x10's read bit is clear: no exit\n" + r);
    }

    @Test
    void ioBitmapOnExitsOnTheListedPortsOnly() throws Exception {
        Run r = run(Hotvisor.guest("signal-exits"), "io-bitmap=0x80,io-bitmap=0xf4");
        assertEquals(MATRIX_DONE, r.result().status(), r.toString());
        assertEquals("", r.result().stdout(), "port 0xE9 runs without an exit: no device sees it\n" + r);
        assertTrue(r.traced(30, "0x800040", 2, 0x7c29), r.toString());
        assertFalse(r.trace().stream().anyMatch(l -> l.contains("\"qualification\":\"0xe90040\"")), r.toString());
    }

    @Test
    void aBadSetIsOneLineAndStatus2() throws Exception {
        Hotvisor.Result r = Hotvisor.run("run", Hotvisor.guest("signal-exits").toString(), "--set", "vm-exit-reason=1");
        assertEquals(2, r.status(), r.toString());
        assertEquals(1, r.stderr().strip().lines().count(), r.toString());
        assertTrue(r.stderr().contains("read-only"), r.toString());
    }
}
