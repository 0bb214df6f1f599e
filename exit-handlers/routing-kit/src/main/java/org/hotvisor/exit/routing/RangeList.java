package org.hotvisor.exit.routing;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Parses a device's range service property ({@code hotvisor.io.ports}, {@code hotvisor.mmio.ranges}):
 * values and inclusive ranges such as "0x3f8-0x3ff" or "0x20-0x21,0xa0-0xa1" (hexadecimal with
 * 0x, else decimal), given as a String, String[] or a collection. Bad entries are skipped and
 * reported, never thrown: a device's bad configuration must not take the handler down.
 */
public final class RangeList {
    private static final String HEX_PREFIX = "0x";
    private static final int HEX_RADIX = 16;

    private RangeList() {
    }

    /**
     * Returns [first0, last0, first1, last1, ...], every value in 0..{@code maxValue}; adds a
     * message naming the {@code noun} ("port", "MMIO address") to {@code problems} per bad entry.
     */
    public static long[] parse(Object property, String noun, long maxValue, List<String> problems) {
        List<long[]> ranges = new ArrayList<>();
        for (String entry : entries(property)) {
            for (String part : entry.split(",")) {
                String text = part.trim();
                if (text.isEmpty()) {
                    continue;
                }
                int dash = text.indexOf('-');
                try {
                    long first = parseValue(dash < 0 ? text : text.substring(0, dash), noun, maxValue);
                    long last = dash < 0 ? first : parseValue(text.substring(dash + 1), noun, maxValue);
                    if (last < first) {
                        problems.add(noun + " range '" + text + "' ends before it starts");
                        continue;
                    }
                    ranges.add(new long[] {first, last});
                } catch (IllegalArgumentException e) {
                    problems.add("bad " + noun + " entry '" + text + "': " + e.getMessage());
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

    private static List<String> entries(Object property) {
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
        return entries;
    }

    private static long parseValue(String text, String noun, long maxValue) {
        String t = text.trim();
        boolean hex = t.regionMatches(true, 0, HEX_PREFIX, 0, HEX_PREFIX.length());
        // Unsigned: a hexadecimal value above Long.MAX_VALUE comes out negative and is refused below.
        long value = hex ? Long.parseUnsignedLong(t.substring(HEX_PREFIX.length()), HEX_RADIX) : Long.parseLong(t);
        if (value < 0 || value > maxValue) {
            throw new IllegalArgumentException(noun + " " + t + " is outside 0-0x" + Long.toHexString(maxValue));
        }
        return value;
    }
}
