package org.hotvisor.exit.routing;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;
import org.osgi.framework.Constants;

/**
 * The devices bound from a service whiteboard, keyed by {@code service.id}, and the immutable
 * routing map built from them. Every bind, update or unbind rebuilds the map under a lock and
 * swaps it in through a volatile field, so the vCPU thread routes through {@link #map()} with no
 * lock and no allocation.
 *
 * @param <B> one bound device with its parsed properties
 * @param <M> the routing map built from all bindings
 */
public final class Whiteboard<B, M> {
    private final Object lock = new Object();
    private final Map<Long, B> bindings = new HashMap<>();
    private final Function<Collection<B>, M> build;
    private volatile M map;

    public Whiteboard(M empty, Function<Collection<B>, M> build) {
        this.map = empty;
        this.build = build;
    }

    /** Binds, or with the same service.id rebinds (a property update), and rebuilds the map. */
    public void put(long serviceId, B binding) {
        synchronized (lock) {
            bindings.put(serviceId, binding);
            map = build.apply(bindings.values());
        }
    }

    public void remove(long serviceId) {
        synchronized (lock) {
            bindings.remove(serviceId);
            map = build.apply(bindings.values());
        }
    }

    /** The current routing map: hot path, one volatile read. */
    public M map() {
        return map;
    }

    /** The service's {@code service.id}, or -1 when absent (a hand-made binding in a test). */
    public static long serviceId(Map<String, ?> properties) {
        return properties.get(Constants.SERVICE_ID) instanceof Long id ? id : -1L;
    }

    /** The service's {@code service.ranking}, 0 when absent or not an Integer (OSGi Core 5.2.5). */
    public static int ranking(Map<String, ?> properties) {
        return properties.get(Constants.SERVICE_RANKING) instanceof Integer ranking ? ranking : 0;
    }

    /** The name a device is reported by: its DS {@code component.name}, else its class name. */
    public static String label(Object device, Map<String, ?> properties) {
        Object componentName = properties.get("component.name");
        return componentName != null ? String.valueOf(componentName) : device.getClass().getName();
    }
}
