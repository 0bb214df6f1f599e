package org.hotvisor.exit.io;

import java.util.List;
import org.hotvisor.exit.routing.RangeList;

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
        long[] ranges = RangeList.parse(property, "port", PORT_COUNT - 1, problems);
        int[] ports = new int[ranges.length];
        for (int i = 0; i < ranges.length; i++) {
            ports[i] = (int) ranges[i];
        }
        return ports;
    }

    /** "0x3f8-0x3ff" or "0x60" for one range. */
    static String format(int first, int last) {
        return first == last ? String.format("0x%04x", first) : String.format("0x%04x-0x%04x", first, last);
    }
}
