package org.hotvisor.exit.mmio;

import java.util.List;
import org.hotvisor.exit.routing.RangeList;

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
        return RangeList.parse(property, "MMIO address", MAX_ADDRESS, problems);
    }

    /** "0xfec00000-0xfec00fff" or "0xfee00300" for one range. */
    static String format(long first, long last) {
        return first == last ? String.format("0x%08x", first) : String.format("0x%08x-0x%08x", first, last);
    }
}
