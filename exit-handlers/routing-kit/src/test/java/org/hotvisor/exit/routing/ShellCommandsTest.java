package org.hotvisor.exit.routing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Hashtable;
import org.junit.jupiter.api.Test;

class ShellCommandsTest {
    @Test
    void propertiesNameTheScopeAndACopyOfTheFunctions() {
        String[] functions = {"unclaimed", "devices"};
        Hashtable<String, Object> props = ShellCommands.properties("io", functions);
        functions[0] = "changed";
        assertEquals("io", props.get("osgi.command.scope"));
        assertArrayEquals(new String[] {"unclaimed", "devices"}, (String[]) props.get("osgi.command.function"));
    }

    @Test
    void unregisteringNothingIsHarmless() {
        ShellCommands.unregister(null);
    }
}
