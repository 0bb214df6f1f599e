package org.hotvisor.kernel.stats;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import org.hotvisor.api.ExitReason;

/** Renders statistics as a {@code perf kvm stat report}-style table or as JSON. */
public final class StatsReport {
    private StatsReport() {}

    /** Sort keys for the table. */
    public enum SortKey { COUNT, TIME, REASON, AVG, MAX }

    private static String name(int reason) {
        ExitReason r = ExitReason.of(reason);
        return r == null ? "REASON_" + reason : r.name();
    }

    private static List<Integer> rows(ExitStatistics.Snapshot s, SortKey sort) {
        List<Integer> rows = new ArrayList<>();
        for (int i = 0; i < s.count().length; i++) {
            if (s.count()[i] > 0) {
                rows.add(i);
            }
        }
        Comparator<Integer> c = switch (sort) {
            case COUNT -> Comparator.comparingLong((Integer i) -> s.count()[i]).reversed();
            case TIME -> Comparator.comparingLong((Integer i) -> s.totalNanos()[i]).reversed();
            case AVG -> Comparator.comparingDouble((Integer i) -> s.totalNanos()[i] / (double) s.count()[i]).reversed();
            case MAX -> Comparator.comparingLong((Integer i) -> s.maxNanos()[i]).reversed();
            case REASON -> Comparator.comparingInt((Integer i) -> i);
        };
        rows.sort(c);
        return rows;
    }

    /** The table: one row per reason with count, share of exits, time share, min/avg/max time and handler. */
    public static String table(ExitStatistics.Snapshot s, SortKey sort) {
        long total = s.totalExits();
        long totalTime = 0;
        for (long t : s.totalNanos()) {
            totalTime += t;
        }
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%-26s %10s %8s %8s %10s %10s %10s  %s%n",
                "VM-EXIT", "Samples", "Samples%", "Time%", "Min", "Avg", "Max", "Handler"));
        for (int i : rows(s, sort)) {
            long n = s.count()[i];
            b.append(String.format(Locale.ROOT, "%-26s %10d %7.2f%% %7.2f%% %10s %10s %10s  %s%n",
                    name(i) + "(" + i + ")", n, 100.0 * n / Math.max(1, total),
                    100.0 * s.totalNanos()[i] / Math.max(1, totalTime),
                    nanos(s.minNanos()[i]), nanos(s.totalNanos()[i] / n), nanos(s.maxNanos()[i]),
                    s.handledBy()[i] == null ? "-" : s.handledBy()[i]));
        }
        b.append(String.format(Locale.ROOT, "%nTotal samples: %d, total time handling exits: %s%n", total, nanos(totalTime)));
        long timedExits = 0;
        for (long t : s.timed()) {
            timedExits += t;
        }
        if (timedExits < total) {
            b.append(String.format(Locale.ROOT, "Times from %d timed exits (the first %d of each reason, then 1 in %d)%n",
                    timedExits, ExitStatistics.TIMED_FIRST, ExitStatistics.SAMPLE_PERIOD));
        }
        double guestSec = s.guestNanos() / 1e9;
        b.append(String.format(Locale.ROOT, "Guest instructions: %d, guest run time: %.3f s, %.1f MIPS%n",
                s.instructions(), guestSec, guestSec > 0 ? s.instructions() / guestSec / 1e6 : 0.0));
        if (s.entryFailures() > 0) {
            b.append("VM-entry failures: ").append(s.entryFailures()).append('\n');
        }
        for (int i : rows(s, SortKey.REASON)) {
            if (s.faults()[i] > 0 || s.overBudget()[i] > 0 || s.swapWaitNanos()[i] > 0) {
                b.append(String.format(Locale.ROOT, "%s: handler faults %d, over budget %d, hot-swap wait %s (max %s)%n",
                        name(i), s.faults()[i], s.overBudget()[i], nanos(s.swapWaitNanos()[i]), nanos(s.maxSwapWaitNanos()[i])));
            }
        }
        return b.toString();
    }

    static String nanos(long ns) {
        if (ns == Long.MAX_VALUE) {
            return "-";
        }
        if (ns < 10_000) {
            return ns + "ns";
        }
        if (ns < 10_000_000) {
            return String.format(Locale.ROOT, "%.1fus", ns / 1e3);
        }
        return String.format(Locale.ROOT, "%.1fms", ns / 1e6);
    }

    /** The JSON form, with {@code instructions}, {@code guestNanos}, {@code exits} and per-reason rows. */
    public static String json(ExitStatistics.Snapshot s) {
        StringBuilder b = new StringBuilder(512);
        long total = s.totalExits();
        double guestSec = s.guestNanos() / 1e9;
        b.append("{\n  \"instructions\": ").append(s.instructions())
                .append(",\n  \"guestNanos\": ").append(s.guestNanos())
                .append(",\n  \"mips\": ").append(String.format(Locale.ROOT, "%.1f", guestSec > 0 ? s.instructions() / guestSec / 1e6 : 0.0))
                .append(",\n  \"exits\": ").append(total)
                .append(",\n  \"entryFailures\": ").append(s.entryFailures())
                .append(",\n  \"byReason\": {");
        String sep = "";
        for (int i : rows(s, SortKey.REASON)) {
            b.append(sep).append("\"").append(name(i)).append("\": ").append(s.count()[i]);
            sep = ", ";
        }
        b.append("},\n  \"reasons\": [");
        sep = "\n";
        for (int i : rows(s, SortKey.REASON)) {
            long n = s.count()[i];
            b.append(sep).append("    {\"reason\": ").append(i)
                    .append(", \"name\": \"").append(name(i)).append('"')
                    .append(", \"count\": ").append(n)
                    .append(", \"timed\": ").append(s.timed()[i])
                    .append(", \"share\": ").append(String.format(Locale.ROOT, "%.4f", n / (double) Math.max(1, total)))
                    .append(", \"totalNanos\": ").append(s.totalNanos()[i])
                    .append(", \"minNanos\": ").append(s.minNanos()[i])
                    .append(", \"avgNanos\": ").append(s.totalNanos()[i] / n)
                    .append(", \"maxNanos\": ").append(s.maxNanos()[i])
                    .append(", \"swapWaitNanos\": ").append(s.swapWaitNanos()[i])
                    .append(", \"faults\": ").append(s.faults()[i])
                    .append(", \"overBudget\": ").append(s.overBudget()[i])
                    .append(", \"handler\": ").append(s.handledBy()[i] == null ? "null" : '"' + s.handledBy()[i] + '"')
                    .append('}');
            sep = ",\n";
        }
        b.append("\n  ]\n}\n");
        return b.toString();
    }
}
