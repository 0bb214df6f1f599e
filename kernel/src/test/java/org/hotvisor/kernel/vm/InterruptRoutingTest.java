package org.hotvisor.kernel.vm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.hotvisor.api.device.InterruptController;
import org.junit.jupiter.api.Test;

/** vCPU N: its own controller by ranking then service id; vCPU 0 alone falls back to the 8259. */
class InterruptRoutingTest {
    private static InterruptController named() {
        return new InterruptController() {
            @Override
            public boolean interruptPending() {
                return false;
            }

            @Override
            public int acknowledge() {
                return 0;
            }
        };
    }

    @Test
    void rankingThenLowestServiceIdWins() {
        InterruptRouting r = new InterruptRouting();
        InterruptController low = named(), high = named(), older = named(), newer = named();
        r.add(low, 1, 0, 5);
        r.add(high, 1, 20, 9);
        r.add(newer, 0, 10, 8);
        r.add(older, 0, 10, 7);
        assertArrayEquals(new InterruptController[] {older, high}, r.select(2));
    }

    @Test
    void controllersForMissingVcpusAndBadPropertiesAreIgnored() {
        InterruptRouting r = new InterruptRouting();
        InterruptController pic = named(), stray = named(), bad = named();
        r.add(pic, InterruptRouting.ANY_VCPU, 0, 1);
        r.add(stray, 5, 100, 2);
        r.add(bad, InterruptRouting.vcpuOf("x"), 100, 3);
        assertArrayEquals(new InterruptController[] {pic, null}, r.select(2));
        r.remove(pic);
        assertArrayEquals(new InterruptController[] {null, null}, r.select(2));
    }

    @Test
    void propertyValues() {
        assertEquals(InterruptRouting.ANY_VCPU, InterruptRouting.vcpuOf(null));
        assertEquals(3, InterruptRouting.vcpuOf(3));
        assertEquals(3, InterruptRouting.vcpuOf(3L));
        assertEquals(4, InterruptRouting.vcpuOf(" 4 "));
        assertEquals(Integer.MIN_VALUE, InterruptRouting.vcpuOf("four"));
    }
}
