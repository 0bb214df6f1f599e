package org.hotvisor.exit.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class WhiteboardTest {
    /** A "map" that is just the sorted bindings, so each rebuild is visible. */
    private final Whiteboard<String, List<String>> devices =
            new Whiteboard<>(List.of(), (Collection<String> bindings) -> List.copyOf(new TreeSet<>(bindings)));

    @Test
    void everyBindRebindAndUnbindRebuildsTheMap() {
        assertEquals(List.of(), devices.map());
        devices.put(1, "uart");
        devices.put(2, "pic");
        assertEquals(List.of("pic", "uart"), devices.map());
        devices.put(1, "uart-v2");
        assertEquals(List.of("pic", "uart-v2"), devices.map(), "same service.id: replaced");
        devices.remove(2);
        assertEquals(List.of("uart-v2"), devices.map());
        devices.remove(99);
        assertEquals(List.of("uart-v2"), devices.map(), "unknown service.id: nothing changes");
    }

    @Test
    void readsServiceIdRankingAndLabelWithDefaults() {
        Map<String, Object> full = Map.of("service.id", 42L, "service.ranking", 5, "component.name", "com1");
        assertEquals(42L, Whiteboard.serviceId(full));
        assertEquals(5, Whiteboard.ranking(full));
        assertEquals("com1", Whiteboard.label(new Object(), full));
        Map<String, Object> odd = Map.of("service.id", "42", "service.ranking", "5");
        assertEquals(-1L, Whiteboard.serviceId(odd));
        assertEquals(0, Whiteboard.ranking(odd), "a non-Integer ranking counts as 0");
        assertEquals(StringBuilder.class.getName(), Whiteboard.label(new StringBuilder(), odd));
    }
}
