package org.hotvisor.exit.io;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Parses the {@code hotvisor.io.ports} service property: ports and inclusive ranges such as
 * "0x3f8-0x3ff" or "0x20-0x21,0xa0-0xa1" (decimal accepted), given as a String, String[] or a
 * collection. Bad entries are skipped and reported, never thrown.
 */
final class PortRanges {
    private PortRanges() {
    }

    static final int PORT_COUNT = 0x10000;

    /** Returns [first0, last0, first1, last1, ...]; adds a message to {@code problems} per bad entry. */
    static int[] parse(Object property, List<String> problems) {
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
        List<int[]> ranges = new ArrayList<>();
        for (String entry : entries) {
            for (String part : entry.split(",")) {
                String text = part.trim();
                if (text.isEmpty()) {
                    continue;
                }
                int dash = text.indexOf('-');
                try {
                    int first = parsePort(dash < 0 ? text : text.substring(0, dash));
                    int last = dash < 0 ? first : parsePort(text.substring(dash + 1));
                    if (last < first) {
                        problems.add("port range '" + text + "' ends before it starts");
                        continue;
                    }
                    ranges.add(new int[] {first, last});
                } catch (IllegalArgumentException e) {
                    problems.add("bad port entry '" + text + "': " + e.getMessage());
                }
            }
        }
        int[] out = new int[ranges.size() * 2];
        for (int i = 0; i < ranges.size(); i++) {
            out[2 * i] = ranges.get(i)[0];
            out[2 * i + 1] = ranges.get(i)[1];
        }
        return out;
    }

    private static int parsePort(String text) {
        String t = text.trim();
        int value = t.startsWith("0x") || t.startsWith("0X") ? Integer.parseInt(t.substring(2), 16) : Integer.parseInt(t);
        if (value < 0 || value >= PORT_COUNT) {
            throw new IllegalArgumentException("port " + t + " is outside 0-0xffff");
        }
        return value;
    }

    /** "0x3f8-0x3ff" or "0x60" for one range. */
    static String format(int first, int last) {
        return first == last ? String.format("0x%04x", first) : String.format("0x%04x-0x%04x", first, last);
    }
}
