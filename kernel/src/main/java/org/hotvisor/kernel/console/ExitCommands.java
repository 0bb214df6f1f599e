package org.hotvisor.kernel.console;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Descriptor;
import org.hotvisor.api.ExitReason;
import org.hotvisor.kernel.command.VmCommands;
import org.hotvisor.kernel.stats.ExitStatistics;
import org.hotvisor.kernel.stats.ExitTrace;
import org.hotvisor.kernel.stats.StatsReport;
import org.hotvisor.kernel.vm.Machine;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * The console's {@code exit:} commands: statistics as perf kvm stat reports them, a kvm_stat-like
 * live view of exit rates, a live JSON trace, and the handler table.
 */
@Component(service = ExitCommands.class, property = {
    "osgi.command.scope=exit",
    "osgi.command.function=stats", "osgi.command.function=top", "osgi.command.function=trace",
    "osgi.command.function=handlers"})
public final class ExitCommands {
    static final long REFRESH_MILLIS = 1000;
    static final long INPUT_POLL_MILLIS = 100;
    static final int MAX_TOP_SECONDS = 24 * 3600;
    /** ANSI: cursor home, erase the screen (kvm_stat redraws its window the same way). */
    static final String CLEAR_SCREEN = "\033[H\033[2J";

    private final Machine vm;

    @Activate
    public ExitCommands(@Reference Machine vm) {
        this.vm = vm;
    }

    // ---------------------------------------------------------------- stats

    @Descriptor("exit statistics like perf kvm stat report: sort by count, time, avg, max or reason; 'reset' zeroes them after the report; 'json' for JSON")
    public String stats(@Descriptor("[count|time|avg|max|reason] [reset] [json]") String... args) {
        StatsReport.SortKey sort = StatsReport.SortKey.COUNT;
        boolean reset = false, json = false;
        for (String a : args) {
            String w = a.toLowerCase(Locale.ROOT);
            switch (w) {
                case "reset" -> reset = true;
                case "json" -> json = true;
                case "count", "time", "avg", "max", "reason" -> sort = StatsReport.SortKey.valueOf(w.toUpperCase(Locale.ROOT));
                default -> {
                    return "usage: exit:stats [count|time|avg|max|reason] [reset] [json]";
                }
            }
        }
        ExitStatistics.Snapshot s = vm.statistics();
        String report = json ? StatsReport.json(s) : StatsReport.table(s, sort);
        if (reset) {
            vm.resetStatistics();
            report += "(statistics reset)\n";
        }
        return report;
    }

    // ---------------------------------------------------------------- top

    @Descriptor("live exit rates per reason, refreshed every second like kvm_stat, until Enter or Ctrl-C (or for SECONDS)")
    public void top(CommandSession session, @Descriptor("[SECONDS]") String... args) throws IOException {
        int seconds = 0;
        if (args.length > 1) {
            out(session).println("usage: exit:top [SECONDS]");
            return;
        }
        if (args.length == 1) {
            try {
                seconds = Integer.parseInt(args[0].trim());
            } catch (NumberFormatException e) {
                seconds = -1;
            }
            if (seconds < 1 || seconds > MAX_TOP_SECONDS) {
                out(session).println("exit:top: SECONDS must be 1 to " + MAX_TOP_SECONDS);
                return;
            }
        }
        PrintStream out = out(session);
        Keyboard keyboard = new Keyboard(session == null ? null : session.getKeyboard());
        ExitStatistics.Snapshot previous = vm.statistics();
        long start = System.nanoTime();
        long last = start;
        for (int frame = 1; seconds == 0 || frame <= seconds; frame++) {
            long due = start + frame * REFRESH_MILLIS * 1_000_000;
            boolean stop = false;
            while (System.nanoTime() < due) {
                try {
                    if (keyboard.pressed(Math.min(INPUT_POLL_MILLIS, Math.max(1, (due - System.nanoTime()) / 1_000_000)))) {
                        stop = true;
                        break;
                    }
                } catch (InterruptedException e) { // Ctrl-C: Gogo interrupts the command
                    Thread.currentThread().interrupt();
                    stop = true;
                    break;
                }
            }
            if (stop) {
                break;
            }
            long now = System.nanoTime();
            ExitStatistics.Snapshot current = vm.statistics();
            out.print(CLEAR_SCREEN + render(previous, current, (now - last) / 1e9, (now - start) / 1e9, seconds == 0));
            out.flush();
            previous = current;
            last = now;
        }
    }

    /** One kvm_stat frame: Event, Total, %Total, CurAvg/s, busiest first. */
    static String render(ExitStatistics.Snapshot previous, ExitStatistics.Snapshot current, double intervalSeconds,
            double elapsedSeconds, boolean interactive) {
        long total = current.totalExits();
        long totalDelta = 0;
        List<long[]> rows = new ArrayList<>(); // reason, total, delta
        for (int r = 0; r < current.count().length; r++) {
            long delta = Math.max(0, current.count()[r] - previous.count()[r]);
            totalDelta += delta;
            if (current.count()[r] > 0) {
                rows.add(new long[] {r, current.count()[r], delta});
            }
        }
        rows.sort((a, b) -> a[2] != b[2] ? Long.compare(b[2], a[2]) : Long.compare(b[1], a[1]));
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "hotvisor exit:top  %.0f s%s%n%n", elapsedSeconds,
                interactive ? "   (Enter or Ctrl-C ends)" : ""));
        b.append(String.format(Locale.ROOT, " %-32s %12s %7s %10s%n", "Event", "Total", "%Total", "CurAvg/s"));
        for (long[] row : rows) {
            ExitReason r = ExitReason.of((int) row[0]);
            String name = (r == null ? "REASON_" + row[0] : r.name()) + "(" + row[0] + ")";
            b.append(String.format(Locale.ROOT, " %-32s %12d %6.1f%% %10.0f%n", name, row[1], 100.0 * row[1] / Math.max(1, total),
                    row[2] / Math.max(1e-3, intervalSeconds)));
        }
        b.append(String.format(Locale.ROOT, " %-32s %12d %7s %10.0f%n", "Total", total, "", totalDelta / Math.max(1e-3, intervalSeconds)));
        return b.toString();
    }

    private static PrintStream out(CommandSession session) {
        PrintStream p = session == null ? null : session.getConsole();
        return p != null ? p : System.out;
    }

    /**
     * Enter on the session's keyboard, polled with available(): while a command runs the terminal
     * is in canonical mode, so a line becomes available at Enter. A blocking (or JLine timed)
     * read would wait for that line even after the time limit, and Ctrl-C could not end it.
     */
    private static final class Keyboard {
        private final InputStream in;

        Keyboard(InputStream in) {
            this.in = in;
        }

        /** Waits up to {@code millis}; whether a line came (it is consumed). */
        boolean pressed(long millis) throws InterruptedException {
            if (in != null) {
                try {
                    int n = in.available();
                    if (n > 0) {
                        in.read(new byte[n]);
                        return true;
                    }
                } catch (IOException e) {
                    // no usable keyboard: only the time limit and Ctrl-C end the view
                }
            }
            Thread.sleep(millis);
            return false;
        }
    }

    // ---------------------------------------------------------------- trace

    @Descriptor("live exit trace on the console, one JSON line per exit, optionally only some reasons (names or numbers); 'off' ends it")
    public String trace(CommandSession session, @Descriptor("on|off [REASON...]") String... args) {
        if (args.length == 0 || !(args[0].equalsIgnoreCase("on") || args[0].equalsIgnoreCase("off"))) {
            return "usage: exit:trace on [REASON...] | exit:trace off   (e.g. exit:trace on HLT IO_INSTRUCTION)";
        }
        if (args[0].equalsIgnoreCase("off")) {
            ExitTrace t = vm.trace();
            if (t == null) {
                return "no trace is on";
            }
            vm.trace(null);
            return "trace off";
        }
        int[] reasons = new int[args.length - 1];
        List<String> names = new ArrayList<>();
        try {
            for (int i = 1; i < args.length; i++) {
                ExitReason r = ExitReason.parse(args[i]);
                reasons[i - 1] = r.number();
                names.add(r.name() + "(" + r.number() + ")");
            }
        } catch (IllegalArgumentException e) {
            return "exit:trace: " + e.getMessage();
        }
        // Gogo releases command objects after each command: the trace lives in the machine, not here.
        String replaced = vm.trace() != null ? " (it replaces the trace that was on)" : "";
        ExitTrace t = new ExitTrace(new LiveWriter(out(session)));
        t.filter(Arrays.stream(reasons).distinct().toArray());
        vm.trace(t);
        return "trace on" + (names.isEmpty() ? ", every exit" : ": " + String.join(", ", names)) + replaced
                + "; exit:trace off ends it";
    }

    /** The trace's writer: each line reaches the console at once; closing it leaves the console open. */
    static final class LiveWriter extends BufferedWriter {
        LiveWriter(PrintStream console) {
            super(new OutputStreamWriter(new java.io.FilterOutputStream(console) {
                @Override
                public void write(byte[] b, int off, int len) {
                    console.write(b, off, len);
                }

                @Override
                public void close() {
                    console.flush(); // the console is the session's, not ours
                }
            }, StandardCharsets.UTF_8), 1024);
        }

        @Override
        public void write(String s) throws IOException {
            super.write(s);
            flush();
        }
    }

    // ---------------------------------------------------------------- handlers

    @Descriptor("each exit reason with its handler bundles, their ranking, and which one is active (as vm:handlers)")
    public String handlers() {
        return new VmCommands(vm).handlers();
    }
}
