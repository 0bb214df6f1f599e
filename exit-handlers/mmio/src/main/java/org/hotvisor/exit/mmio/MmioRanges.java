package org.hotvisor.exit.mmio;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Parses the {@code hotvisor.mmio.ranges} service property: guest-physical addresses and
 * inclusive ranges such as "0xfec00000-0xfec00fff" or "0xfee00000-0xfee00fff,0xff000000-0xff00ffff"
 * (decimal accepted), given as a String, String[] or a collection. Bad entries are skipped and
 * reported, never thrown.
 */
final class MmioRanges {
    private MmioRanges() {
    }

    /**
     * The largest guest-physical address: MAXPHYADDR is at most 52 bits (SDM 3A 4.1.4), so no
     * access can reach beyond it.
     */
    static final long MAX_ADDRESS = (1L << 52) - 1;

    /** Returns [first0, last0, first1, last1, ...]; adds a message to {@code problems} per bad entry. */
    static long[] parse(Object property, List<String> problems) {
        List<String> entries = new ArrayList<>();
        if (property instanceof String s) {
            entries.add(s);
        } else if (property instanceof String[] array) {
            entries.addAll(List.of(array));
        } else if (property instanceof Collection<?> c) {
            for (Object o : c) {
                entries.add(String.valueOf(o));
            }
        } else if (property != null) {
            entries.add(String.valueOf(property));
        }
        List<long[]> ranges = new ArrayList<>();
        for (String entry : entries) {
            for (String part : entry.split(",")) {
                String text = part.trim();
                if (text.isEmpty()) {
                    continue;
                }
                int dash = text.indexOf('-');
                try {
                    long first = parseAddress(dash < 0 ? text : text.substring(0, dash));
                    long last = dash < 0 ? first : parseAddress(text.substring(dash + 1));
                    if (last < first) {
                        problems.add("MMIO range '" + text + "' ends before it starts");
                        continue;
                    }
                    ranges.add(new long[] {first, last});
                } catch (IllegalArgumentException e) {
                    problems.add("bad MMIO range entry '" + text + "': " + e.getMessage());
                }
            }
        }
        long[] out = new long[ranges.size() * 2];
        for (int i = 0; i < ranges.size(); i++) {
            out[2 * i] = ranges.get(i)[0];
            out[2 * i + 1] = ranges.get(i)[1];
        }
        return out;
    }

    private static long parseAddress(String text) {
        String t = text.trim();
        long value = t.startsWith("0x") || t.startsWith("0X") ? Long.parseUnsignedLong(t.substring(2), 16) : Long.parseLong(t);
        if (value < 0 || value > MAX_ADDRESS) {
            throw new IllegalArgumentException("address " + t + " is outside 0-0x" + Long.toHexString(MAX_ADDRESS));
        }
        return value;
    }

    /** "0xfec00000-0xfec00fff" or "0xfee00300" for one range. */
    static String format(long first, long last) {
        return first == last ? String.format("0x%08x", first) : String.format("0x%08x-0x%08x", first, last);
    }
}
