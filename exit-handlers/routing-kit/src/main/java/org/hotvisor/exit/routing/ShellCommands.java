package org.hotvisor.exit.routing;

import java.util.Hashtable;
import org.osgi.framework.ServiceRegistration;

/**
 * Registers Gogo shell commands. Gogo finds any service with the properties
 * osgi.command.scope and osgi.command.function and calls its public methods by name, so no
 * Gogo classes are needed at compile time.
 */
public final class ShellCommands {
    static final String SCOPE_PROPERTY = "osgi.command.scope";
    static final String FUNCTION_PROPERTY = "osgi.command.function";

    private ShellCommands() {
    }

    /** The service properties that make {@code functions} commands of {@code scope}. */
    public static Hashtable<String, Object> properties(String scope, String... functions) {
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(SCOPE_PROPERTY, scope);
        props.put(FUNCTION_PROPERTY, functions.clone());
        return props;
    }

    /** Unregisters, if registered: the framework unregisters a stopping bundle's services itself. */
    public static void unregister(ServiceRegistration<?> registration) {
        if (registration == null) {
            return;
        }
        try {
            registration.unregister();
        } catch (IllegalStateException alreadyGone) {
            // already unregistered by the framework
        }
    }
}
