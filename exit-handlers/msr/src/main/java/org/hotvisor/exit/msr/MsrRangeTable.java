package org.hotvisor.exit.msr;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;
import org.hotvisor.api.device.MsrDevice;

/**
 * An immutable table of the MSR ranges claimed by {@link MsrDevice} services: disjoint segments
 * sorted by start, found by binary search (MSR indices are 32-bit unsigned, held in longs). On
 * overlap the higher {@code service.ranking} wins, then the lower {@code service.id}. Rebuilt on
 * every (un)registration and swapped in whole through a volatile field.
 */
final class MsrRangeTable {
    /** One registered MsrDevice with its claimed ranges [first0, last0, first1, last1, ...]. */
    record Binding(MsrDevice device, long[] ranges, int ranking, long serviceId, String label) {
        boolean covers(long index) {
            for (int i = 0; i < ranges.length; i += 2) {
                if (index >= ranges[i] && index <= ranges[i + 1]) {
                    return true;
                }
            }
            return false;
        }
    }

    static final MsrRangeTable EMPTY = build(List.of());

    private final long[] starts;
    private final long[] ends;
    private final Binding[] owners;

    private MsrRangeTable(long[] starts, long[] ends, Binding[] owners) {
        this.starts = starts;
        this.ends = ends;
        this.owners = owners;
    }

    static MsrRangeTable build(Collection<Binding> bindings) {
        List<Binding> strongestFirst = new ArrayList<>(bindings);
        strongestFirst.sort(Comparator.comparingInt(Binding::ranking).reversed().thenComparingLong(Binding::serviceId));
        TreeSet<Long> bounds = new TreeSet<>();
        for (Binding b : strongestFirst) {
            for (int i = 0; i < b.ranges().length; i += 2) {
                bounds.add(b.ranges()[i]);
                bounds.add(b.ranges()[i + 1] + 1);
            }
        }
        List<long[]> segments = new ArrayList<>();
        List<Binding> segmentOwners = new ArrayList<>();
        Long[] points = bounds.toArray(new Long[0]);
        for (int i = 0; i + 1 < points.length; i++) {
            long first = points[i];
            long last = points[i + 1] - 1;
            Binding owner = null;
            for (Binding b : strongestFirst) {
                if (b.covers(first)) {
                    owner = b;
                    break;
                }
            }
            if (owner == null) {
                continue;
            }
            int n = segments.size();
            if (n > 0 && segmentOwners.get(n - 1) == owner && segments.get(n - 1)[1] + 1 == first) {
                segments.get(n - 1)[1] = last; // merge with the previous segment of the same owner
            } else {
                segments.add(new long[] {first, last});
                segmentOwners.add(owner);
            }
        }
        long[] starts = new long[segments.size()];
        long[] ends = new long[segments.size()];
        for (int i = 0; i < starts.length; i++) {
            starts[i] = segments.get(i)[0];
            ends[i] = segments.get(i)[1];
        }
        return new MsrRangeTable(starts, ends, segmentOwners.toArray(new Binding[0]));
    }

    /** The device owning an MSR index, or null. Allocation-free. */
    MsrDevice device(int index) {
        long key = index & 0xFFFF_FFFFL;
        int lo = 0;
        int hi = starts.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (key < starts[mid]) {
                hi = mid - 1;
            } else if (key > ends[mid]) {
                lo = mid + 1;
            } else {
                return owners[mid].device();
            }
        }
        return null;
    }

    /** The table as text, one line per segment. */
    String describe() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < starts.length; i++) {
            sb.append(String.format("0x%08x-0x%08x -> %s (service.id %d, ranking %d)%n", starts[i], ends[i],
                    owners[i].label(), owners[i].serviceId(), owners[i].ranking()));
        }
        return sb.toString();
    }

    /** Parses {@code hotvisor.msrs}: "0x800-0x8ff,0x1b" as String, String[] or a collection; bad entries reported. */
    static long[] parse(Object property, List<String> problems) {
        List<String> entries = new ArrayList<>();
        if (property instanceof String s) {
            entries.add(s);
        } else if (property instanceof String[] array) {
            entries.addAll(List.of(array));
        } else if (property instanceof Collection<?> c) {
            c.forEach(o -> entries.add(String.valueOf(o)));
        } else if (property != null) {
            entries.add(String.valueOf(property));
        }
        List<Long> out = new ArrayList<>();
        for (String entry : entries) {
            for (String part : entry.split(",")) {
                String text = part.trim();
                if (text.isEmpty()) {
                    continue;
                }
                int dash = text.indexOf('-');
                try {
                    long first = parseIndex(dash < 0 ? text : text.substring(0, dash));
                    long last = dash < 0 ? first : parseIndex(text.substring(dash + 1));
                    if (last < first) {
                        problems.add("MSR range '" + text + "' ends before it starts");
                        continue;
                    }
                    out.add(first);
                    out.add(last);
                } catch (IllegalArgumentException e) {
                    problems.add("bad MSR entry '" + text + "': " + e.getMessage());
                }
            }
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    private static long parseIndex(String text) {
        String t = text.trim();
        long value = t.startsWith("0x") || t.startsWith("0X") ? Long.parseLong(t.substring(2), 16) : Long.parseLong(t);
        if (value < 0 || value > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("MSR index " + t + " is outside 0-0xffffffff");
        }
        return value;
    }
}
