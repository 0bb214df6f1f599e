package org.hotvisor.exit.mmio;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.hotvisor.api.device.MmioDevice;

/**
 * An immutable guest-physical-address map: disjoint, sorted segments, each owned by one device.
 * Built on every bind, unbind or property change and swapped in whole, so routing on the vCPU
 * thread is a binary search over a long array: no allocation, no lock. On overlap the higher
 * {@code service.ranking} wins; at equal ranking the older service (lower {@code service.id}),
 * as OSGi orders services. A weaker device keeps the parts of its ranges nobody stronger claims.
 */
final class MmioMap {
    /** One registered MmioDevice with its parsed ranges. */
    record Binding(MmioDevice device, long[] ranges, int ranking, long serviceId, String label) {
    }

    /** A painted segment while building. */
    private record Segment(long first, long last, Binding owner) {
    }

    static final MmioMap EMPTY = build(List.of());

    private final long[] firsts;
    private final long[] lasts;
    private final MmioDevice[] devices;
    private final Binding[] owners;
    private final List<Binding> bindings;

    private MmioMap(long[] firsts, long[] lasts, MmioDevice[] devices, Binding[] owners, List<Binding> bindings) {
        this.firsts = firsts;
        this.lasts = lasts;
        this.devices = devices;
        this.owners = owners;
        this.bindings = bindings;
    }

    static MmioMap build(Collection<Binding> bindings) {
        List<Binding> ordered = new ArrayList<>(bindings);
        // Paint the weakest first so the strongest claim of each address is painted last.
        ordered.sort(Comparator.comparingInt(Binding::ranking).thenComparing(Comparator.comparingLong(Binding::serviceId).reversed()));
        TreeMap<Long, Segment> painted = new TreeMap<>();
        for (Binding b : ordered) {
            long[] r = b.ranges();
            for (int i = 0; i < r.length; i += 2) {
                paint(painted, r[i], r[i + 1], b);
            }
        }
        List<Segment> merged = new ArrayList<>();
        for (Segment s : painted.values()) {
            Segment last = merged.isEmpty() ? null : merged.getLast();
            if (last != null && last.owner() == s.owner() && last.last() + 1 == s.first()) {
                merged.set(merged.size() - 1, new Segment(last.first(), s.last(), s.owner()));
            } else {
                merged.add(s);
            }
        }
        int n = merged.size();
        long[] firsts = new long[n];
        long[] lasts = new long[n];
        MmioDevice[] devices = new MmioDevice[n];
        Binding[] owners = new Binding[n];
        for (int i = 0; i < n; i++) {
            Segment s = merged.get(i);
            firsts[i] = s.first();
            lasts[i] = s.last();
            devices[i] = s.owner().device();
            owners[i] = s.owner();
        }
        return new MmioMap(firsts, lasts, devices, owners, List.copyOf(ordered.reversed()));
    }

    /** Gives [first, last] to {@code owner}, trimming or splitting whatever was painted there before. */
    private static void paint(TreeMap<Long, Segment> painted, long first, long last, Binding owner) {
        Map.Entry<Long, Segment> below = painted.floorEntry(first);
        Long from = below != null && below.getValue().last() >= first ? below.getKey() : Long.valueOf(first);
        List<Segment> overlapped = new ArrayList<>(painted.subMap(from, true, last, true).values());
        for (Segment s : overlapped) {
            painted.remove(s.first());
            if (s.first() < first) {
                painted.put(s.first(), new Segment(s.first(), first - 1, s.owner()));
            }
            if (s.last() > last) {
                painted.put(last + 1, new Segment(last + 1, s.last(), s.owner()));
            }
        }
        painted.put(first, new Segment(first, last, owner));
    }

    /** The index of the segment holding {@code address}, or -1. Hot path: a binary search, no allocation. */
    int segmentOf(long address) {
        int low = 0;
        int high = firsts.length - 1;
        while (low <= high) {
            int mid = (low + high) >>> 1;
            if (firsts[mid] <= address) {
                low = mid + 1;
            } else {
                high = mid - 1;
            }
        }
        return high >= 0 && address <= lasts[high] ? high : -1;
    }

    /** The index of the first segment starting above {@code address}, or the segment count. */
    int nextSegmentAfter(long address) {
        int low = 0;
        int high = firsts.length;
        while (low < high) {
            int mid = (low + high) >>> 1;
            if (firsts[mid] <= address) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        return low;
    }

    int segmentCount() {
        return firsts.length;
    }

    long first(int segment) {
        return firsts[segment];
    }

    long last(int segment) {
        return lasts[segment];
    }

    MmioDevice device(int segment) {
        return devices[segment];
    }

    Binding owner(int segment) {
        return owners[segment];
    }

    /** The device claiming one address, or null. */
    MmioDevice deviceAt(long address) {
        int s = segmentOf(address);
        return s < 0 ? null : devices[s];
    }

    /** The bindings, strongest first. */
    List<Binding> bindings() {
        return bindings;
    }

    /** The map as text: one line per segment. */
    String describe() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < firsts.length; i++) {
            Binding owner = owners[i];
            sb.append(String.format("%-23s -> %s (service.id %d, ranking %d)%n",
                    MmioRanges.format(firsts[i], lasts[i]), owner.label(), owner.serviceId(), owner.ranking()));
        }
        if (sb.isEmpty()) {
            sb.append("no MMIO devices registered").append(System.lineSeparator());
        }
        return sb.toString();
    }
}
