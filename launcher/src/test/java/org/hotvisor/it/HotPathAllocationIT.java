package org.hotvisor.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The vCPU thread allocates nothing per guest instruction and nothing per VM exit, checked with JFR
 * allocation profiling on the shipped distribution: each guest runs under {@code ./hotvisor} with a
 * flight recording of the vCPU thread's allocated bytes every 10 ms ({@code
 * jdk.ThreadAllocationStatistics}) and of its TLAB refills with stack traces.
 *
 * <p>The window is the middle of the run (40 % to 90 % of the vCPU thread's samples): after
 * set-up, the first decode of the guest's code and the JIT's warm-up, and before the end-of-run
 * report. Any allocation per exit or per instruction costs at least 16 bytes (the smallest
 * object), so the bound of a quarter of a byte per event leaves a margin of 64 while still
 * admitting one-time work that lands in the window, such as compiling a block that turned hot.
 */
class HotPathAllocationIT {
    private static final Pattern EXITS = Pattern.compile("Total samples: (\\d+)");
    private static final Pattern INSTRUCTIONS = Pattern.compile("Guest instructions: (\\d+)");
    private static final double MAX_BYTES_PER_EVENT = 0.25;

    /** kind: what the guest is bound by, and so what is counted (exits or instructions). */
    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
        "guests/bench, compute, ROUNDS=250, instructions",
        "guests/bench, memcopy, ROUNDS=600, instructions",
        "guests/bench, exits, ROUNDS=600000, exits",
        "guests/bench, timer, TICKS=300000, exits",
        "../shared/bench, exitloop, ROUNDS=3000000, exits",
    })
    void theVcpuThreadAllocatesNothingInTheSteadyState(String folder, String name, String define, String counted) throws Exception {
        Path img = Hotvisor.assemble(Hotvisor.root().resolve(folder).normalize(), name, define);
        Path jfr = Hotvisor.root().resolve("launcher/target/jfr/" + name + ".jfr");
        Files.createDirectories(jfr.getParent());
        Files.deleteIfExists(jfr);
        String recording = "-XX:StartFlightRecording:filename=" + jfr + ",settings=none"
                + ",+jdk.ThreadAllocationStatistics#enabled=true,+jdk.ThreadAllocationStatistics#period=10ms"
                + ",+jdk.ObjectAllocationInNewTLAB#enabled=true,+jdk.ObjectAllocationOutsideTLAB#enabled=true";
        // No CDS archive: a recording run must not write the distribution's archive.
        Hotvisor.Result r = Hotvisor.runIn(Hotvisor.root(), Map.of("HOTVISOR_JAVA_OPTS", recording, "HOTVISOR_CDS", "0"), null,
                "run", img.toString(), "--format", "boot", "--stats");
        assertEquals(1, r.status(), r.toString()); // isa-debug-exit 0 -> status 1
        String all = r.stdout() + r.stderr();
        Matcher guest = INSTRUCTIONS.matcher(all);
        Matcher exits = EXITS.matcher(all);
        assertTrue(guest.find() && exits.find(), "no statistics in the output:\n" + r);
        long events = counted.equals("exits") ? Long.parseLong(exits.group(1)) : Long.parseLong(guest.group(1));

        Window w = window(jfr);
        // The events in the window, at the average rate over the vCPU thread's sampled life: the
        // window lies after set-up and warm-up, where the rate is at least that.
        double eventsInWindow = events * w.seconds() / w.lifeSeconds();
        double perEvent = w.bytes() / eventsInWindow;
        String report = String.format("%s: %d bytes allocated by vcpu-0 in %.0f ms of its %.0f ms, %.0f %s in the window:"
                + " %.4f bytes per %s%n%s", name, w.bytes(), w.seconds() * 1e3, w.lifeSeconds() * 1e3, eventsInWindow, counted,
                perEvent, counted.substring(0, counted.length() - 1), w.sites());
        System.out.println(report);
        assertTrue(perEvent <= MAX_BYTES_PER_EVENT, report);
    }

    record Window(long bytes, double seconds, double lifeSeconds, String sites) {}

    /** The vCPU thread's allocation between its samples at 40 % and 90 %, and the TLAB refills then. */
    private static Window window(Path jfr) throws IOException {
        List<RecordedEvent> samples = new ArrayList<>();
        List<RecordedEvent> refills = new ArrayList<>();
        for (RecordedEvent e : RecordingFile.readAllEvents(jfr)) {
            boolean statistics = e.getEventType().getName().equals("jdk.ThreadAllocationStatistics");
            RecordedThread t = statistics ? e.getThread("thread") : e.getThread();
            if (t != null && "vcpu-0".equals(t.getJavaName())) {
                (statistics ? samples : refills).add(e);
            }
        }
        assertTrue(samples.size() >= 10, "only " + samples.size() + " allocation samples of vcpu-0 in " + jfr);
        samples.sort(Comparator.comparing(RecordedEvent::getStartTime));
        RecordedEvent from = samples.get(samples.size() * 4 / 10);
        RecordedEvent to = samples.get(samples.size() * 9 / 10);
        Instant start = from.getStartTime();
        Instant end = to.getStartTime();
        Map<String, Integer> sites = new LinkedHashMap<>();
        for (RecordedEvent e : refills) {
            if (!e.getStartTime().isBefore(start) && !e.getStartTime().isAfter(end)) {
                sites.merge(site(e), 1, Integer::sum);
            }
        }
        String listed = sites.entrySet().stream().map(s -> "  " + s.getValue() + "x " + s.getKey())
                .collect(Collectors.joining("\n"));
        return new Window(to.getLong("allocated") - from.getLong("allocated"),
                Duration.between(start, end).toNanos() / 1e9,
                Duration.between(samples.getFirst().getStartTime(), samples.getLast().getStartTime()).toNanos() / 1e9,
                listed.isEmpty() ? "  (no TLAB refill in the window)" : listed);
    }

    private static String site(RecordedEvent e) {
        StringBuilder sb = new StringBuilder(e.getClass("objectClass").getName());
        if (e.getStackTrace() != null) {
            for (RecordedFrame f : e.getStackTrace().getFrames().stream().limit(6).toList()) {
                sb.append(" < ").append(f.getMethod().getType().getName()).append('.').append(f.getMethod().getName())
                        .append(':').append(f.getLineNumber());
            }
        }
        return sb.toString();
    }
}
