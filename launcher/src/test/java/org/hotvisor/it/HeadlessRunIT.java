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
 * {@code ./hotvisor run} end to end, as a user runs it: real Felix, real bundles, real guests,
 * checked by their output, the process status and the statistics and trace files.
 */
class HeadlessRunIT {

    @Test
    void demoGuestGreetsWithTheCpuidVendorAndPowersOff() throws Exception {
        Hotvisor.Result r = Hotvisor.run("demo");
        assertEquals(0, r.status(), r.toString());
        assertTrue(r.stdout().contains("Hello from a Hotvisor guest!"), r.toString());
        assertTrue(r.stdout().contains("GenuineIntel"), r.toString());
    }

    @Test
    void exitloopBenchRunsTwoMillionExitsThroughTheHandlerBundles() throws Exception {
        Path json = Hotvisor.tempFile("stats", ".json");
        Hotvisor.Result r = Hotvisor.run("run", Hotvisor.shared("bench/exitloop.img").toString(), "--format", "boot",
                "--stats-json", json.toString());
        assertEquals(1, r.status(), r.toString()); // isa-debug-exit V=0 → (0<<1)|1
        assertTrue(r.stdout().contains("exits done"), r.toString());
        String stats = Files.readString(json);
        assertTrue(stats.contains("\"CPUID\": 1000000"), stats);
        assertTrue(stats.contains("\"handler\": \"org.hotvisor.exit.cpuid\""), stats);
        assertTrue(stats.contains("\"handler\": \"org.hotvisor.exit.io\""), stats);
        assertTrue(stats.contains("\"instructions\": "), stats);
        assertTrue(stats.contains("\"guestNanos\": "), stats);
    }

    @Test
    void cpuloopBenchPrintsItsChecksum() throws Exception {
        Hotvisor.Result r = Hotvisor.run("run", Hotvisor.shared("bench/cpuloop.img").toString(), "--format", "boot");
        assertEquals(1, r.status(), r.toString());
        assertTrue(r.stdout().contains("sum=366e6a1b"), r.toString());
    }

    @Test
    void debugExitStatusFollowsQemusConvention() throws Exception {
        Hotvisor.Result r = Hotvisor.run("run", Hotvisor.guest("hello").toString());
        assertEquals((0x10 << 1) | 1, r.status(), r.toString());
        assertEquals("hi\n", r.stdout(), r.toString());
    }

    @Test
    void traceWritesOneJsonLinePerExit() throws Exception {
        Path trace = Hotvisor.tempFile("trace", ".jsonl");
        Hotvisor.Result r = Hotvisor.run("run", Hotvisor.guest("hello").toString(), "--trace", trace.toString());
        assertEquals(0x21, r.status(), r.toString());
        List<String> lines = Files.readAllLines(trace, StandardCharsets.UTF_8);
        List<String> cpuid = lines.stream().filter(l -> l.contains("\"name\":\"CPUID\"")).toList();
        assertEquals(2, cpuid.size(), String.join("\n", lines));
        String first = cpuid.get(0);
        for (String field : List.of("\"seq\":", "\"reason\":10", "\"qualification\":\"0x0\"", "\"length\":2",
                "\"rip\":\"0x7c", "\"bundle\":\"org.hotvisor.exit.cpuid\"", "\"nanos\":")) {
            assertTrue(first.contains(field), field + " missing in " + first);
        }
        // OUT 0xE9, AL: qualification = port 0xE9 in 31:16, immediate operand (bit 6), size 1.
        assertTrue(lines.stream().anyMatch(l -> l.contains("\"reason\":30") && l.contains("\"qualification\":\"0xe90040\"")
                && l.contains("\"length\":2")), String.join("\n", lines));
    }

    @Test
    void tripleFaultStopsWithItsOwnStatusAndOneLine() throws Exception {
        Hotvisor.Result r = Hotvisor.run("run", Hotvisor.guest("triple").toString());
        assertEquals(4, r.status(), r.toString());
        assertTrue(r.stderr().strip().startsWith("hotvisor: triple fault"), r.toString());
        assertEquals(1, r.stderr().strip().lines().count(), r.toString());
    }

    @Test
    void hltWithInterruptsDisabledIsPowerOff() throws Exception {
        Hotvisor.Result r = Hotvisor.run("run", Hotvisor.guest("halt").toString());
        assertEquals(0, r.status(), r.toString());
    }

    @Test
    void withHltExitingOffTheGuestHaltsByItselfAndTimersStillWakeIt() throws Exception {
        // The CPU halts in activity state HLT; the kernel idles to the next timer instead of
        // spinning on preemption-timer exits, and a dead halt is still a power-off.
        Hotvisor.Result halt = Hotvisor.run("run", Hotvisor.guest("halt").toString(), "--set", "hlt-exiting=off",
                "--timeout", "60");
        assertEquals(0, halt.status(), halt.toString());
        Path json = Hotvisor.tempFile("stats", ".json");
        Hotvisor.Result r = Hotvisor.run("run", Hotvisor.guest("platform").toString(), "--set", "hlt-exiting=off",
                "--stats-json", json.toString());
        assertEquals((0x2a << 1) | 1, r.status(), r.toString());
        assertEquals("RTC 2026-01-01 00:00\n50 timer ticks\n", r.stdout(), r.toString());
        String stats = Files.readString(json);
        assertFalse(stats.contains("\"HLT\""), stats);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"PREEMPTION_TIMER\": (\\d+)").matcher(stats);
        assertTrue(m.find(), stats);
        assertTrue(Long.parseLong(m.group(1)) < 1000, "the halted vCPU spun on timer exits: " + stats);
    }

    @Test
    void hostStdinReachesTheGuestThroughCom1() throws Exception {
        Hotvisor.Result r = Hotvisor.runWithInput("hey", "run", Hotvisor.guest("echo").toString());
        assertEquals((5 << 1) | 1, r.status(), r.toString());
        assertEquals("hey\n", r.stdout(), r.toString());
    }

    @Test
    void timeoutEndsWith124() throws Exception {
        Hotvisor.Result r = Hotvisor.run("run", Hotvisor.guest("spin").toString(), "--timeout", "1");
        assertEquals(124, r.status(), r.toString());
    }

    @Test
    void setSwitchesVmxControlsByName() throws Exception {
        Path off = Hotvisor.tempFile("stats", ".json");
        Path on = Hotvisor.tempFile("stats", ".json");
        Hotvisor.Result r1 = Hotvisor.run("run", Hotvisor.guest("rdtsc").toString(), "--stats-json", off.toString());
        Hotvisor.Result r2 = Hotvisor.run("run", Hotvisor.guest("rdtsc").toString(), "--set", "rdtsc-exiting=on",
                "--stats-json", on.toString());
        assertEquals(0, r1.status(), r1.toString());
        assertEquals(0, r2.status(), r2.toString());
        assertFalse(Files.readString(off).contains("\"RDTSC\""), Files.readString(off));
        assertTrue(Files.readString(on).contains("\"RDTSC\": 3"), Files.readString(on));
    }

    @Test
    void platformGuestTakesTimerInterruptsReadsTheRtcAndPrintsInterruptDrivenIdenticallyEachRun() throws Exception {
        Path image = Hotvisor.guest("platform");
        Path json1 = Hotvisor.tempFile("stats", ".json");
        Path json2 = Hotvisor.tempFile("stats", ".json");
        Hotvisor.Result r1 = Hotvisor.run("run", image.toString(), "--stats-json", json1.toString());
        Hotvisor.Result r2 = Hotvisor.run("run", image.toString(), "--stats-json", json2.toString());
        assertEquals((0x2a << 1) | 1, r1.status(), r1.toString());
        // The RTC starts at the configured epoch (2026-01-01) and advances with the virtual clock.
        assertEquals("RTC 2026-01-01 00:00\n50 timer ticks\n", r1.stdout(), r1.toString());
        assertEquals(r1.stdout(), r2.stdout(), "the deterministic clock makes runs identical");
        String s1 = Files.readString(json1);
        assertEquals(s1.replaceAll("\"(guestNanos|mips|totalNanos|minNanos|avgNanos|maxNanos)\": [0-9.]+", ""),
                Files.readString(json2).replaceAll("\"(guestNanos|mips|totalNanos|minNanos|avgNanos|maxNanos)\": [0-9.]+", ""),
                "same exits, same counts, same instructions");
        // Interrupts reach the guest by injection; when it cannot take one, an interrupt-window exit.
        assertTrue(s1.contains("\"INTERRUPT_WINDOW\": "), s1);
        assertTrue(s1.contains("\"HLT\": "), s1);
    }

    @Test
    void i8042ResetRestartsTheGuestAndCmosNvramSurvivesIt() throws Exception {
        Hotvisor.Result r = Hotvisor.run("run", Hotvisor.guest("reset").toString());
        assertEquals((7 << 1) | 1, r.status(), r.toString());
        assertEquals("first boot\nafter reset\n", r.stdout(), r.toString());
    }

    @Test
    void com2FromAFactoryConfigurationWorksBesideCom1() throws Exception {
        // COM1 is a singleton component; extra UARTs are factory configurations of their own PID,
        // so configuring COM2 adds a port and never takes COM1 away. Both go to the console here.
        Path deploy = Hotvisor.tempDirectory("hv-deploy");
        Files.writeString(deploy.resolve("org.hotvisor.device.uart16550.port-com2.cfg"),
                "hotvisor.io.ports=0x2f8-0x2ff\nirq=3\nname=COM2\n");
        Hotvisor.Result r = Hotvisor.run("run", Hotvisor.guest("twoports").toString(), "--deploy", deploy.toString());
        assertEquals(7, r.status(), r.toString());
        assertEquals("one\ntwo\n", r.stdout(), r.toString());

        // The user's .cfg file is left exactly as written (FileInstall's write-back is off).
        Path cfg = deploy.resolve("org.hotvisor.device.uart16550.port-com2.cfg");
        assertEquals("hotvisor.io.ports=0x2f8-0x2ff\nirq=3\nname=COM2\n", Files.readString(cfg),
                "FileInstall must not rewrite the user's configuration file");
    }

    // ---- bad input: one line, status 2, never a stack trace

    private static void assertUserError(Hotvisor.Result r, String fragment) {
        assertEquals(2, r.status(), r.toString());
        String err = r.stderr().strip();
        assertEquals(1, err.lines().count(), "exactly one line on stderr:\n" + r);
        assertTrue(err.startsWith("hotvisor: "), r.toString());
        assertTrue(err.toLowerCase().contains(fragment.toLowerCase()), "expected '" + fragment + "' in: " + err);
        assertFalse(r.stderr().contains("Exception"), r.toString());
    }

    @Test
    void missingImage() throws Exception {
        assertUserError(Hotvisor.run("run", "/nonexistent/guest.img"), "guest.img");
    }

    @Test
    void garbageImage() throws Exception {
        Path junk = Hotvisor.tempFile("junk", ".bin");
        Files.write(junk, "this is not a guest image at all, just text".getBytes(StandardCharsets.US_ASCII));
        assertUserError(Hotvisor.run("run", junk.toString()), "format");
    }

    @Test
    void elfForAnotherMachine() throws Exception {
        byte[] elf = new byte[64];
        elf[0] = 0x7F; elf[1] = 'E'; elf[2] = 'L'; elf[3] = 'F';
        elf[4] = 1; elf[5] = 1; elf[6] = 1; elf[16] = 2; elf[18] = 40; // ELF32, LSB, ET_EXEC, EM_ARM
        Path p = Hotvisor.tempFile("arm", ".elf");
        Files.write(p, elf);
        assertUserError(Hotvisor.run("run", p.toString(), "--format", "elf"), "x86");
    }

    @Test
    void unknownOption() throws Exception {
        assertUserError(Hotvisor.run("run", Hotvisor.shared("bench/exitloop.img").toString(), "--frobnicate"), "--frobnicate");
    }

    @Test
    void unknownVmxControl() throws Exception {
        assertUserError(Hotvisor.run("run", Hotvisor.guest("halt").toString(), "--set", "warp-drive=on"), "warp-drive");
    }
}
