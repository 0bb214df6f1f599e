package org.hotvisor.exit.routing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RangeListTest {
    private static final long PORT_MAX = 0xffff;

    @Test
    void parsesHexDecimalSinglesAndRangesFromEveryPropertyShape() {
        List<String> problems = new ArrayList<>();
        assertArrayEquals(new long[] {0x20, 0x21, 0xa0, 0xa1, 96, 96},
                RangeList.parse("0x20-0x21, 0XA0-0xa1,96", "port", PORT_MAX, problems));
        assertArrayEquals(new long[] {0x3f8, 0x3ff, 0x60, 0x60},
                RangeList.parse(new String[] {"0x3f8-0x3ff", "0x60"}, "port", PORT_MAX, problems));
        assertArrayEquals(new long[] {1, 2}, RangeList.parse(List.of("1-2"), "port", PORT_MAX, problems));
        assertArrayEquals(new long[] {7, 7}, RangeList.parse(7, "port", PORT_MAX, problems));
        assertEquals(List.of(), problems);
        assertEquals(0, RangeList.parse(null, "port", PORT_MAX, problems).length);
    }

    @Test
    void skipsAndReportsBadEntriesWithoutThrowing() {
        List<String> problems = new ArrayList<>();
        long[] ranges = RangeList.parse(new String[] {"0x3f8-0x3ff", "banana", "0x10-0x5", "0x10000", ",,",
            "0xffffffffffffffff"}, "port", PORT_MAX, problems);
        assertArrayEquals(new long[] {0x3f8, 0x3ff}, ranges);
        assertEquals(4, problems.size(), problems.toString());
        assertTrue(problems.get(1).startsWith("port range '0x10-0x5' ends before it starts"), problems.toString());
        assertTrue(problems.get(2).contains("port 0x10000 is outside 0-0xffff"), problems.toString());
        assertTrue(problems.get(3).startsWith("bad port entry '0xffffffffffffffff'"), "above Long.MAX_VALUE: " + problems);
    }
}
