package org.hotvisor.exit.io;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import org.hotvisor.api.device.PortIoDevice;

/**
 * An immutable port-to-device table: one entry per port (65536). Built on every bind, unbind or
 * property change and swapped in whole, so routing is a single array load on the vCPU thread.
 * On overlap the higher {@code service.ranking} wins; at equal ranking the older service (lower
 * {@code service.id}), as OSGi orders services.
 */
final class PortMap {
    /** One registered PortIoDevice with its parsed ranges. */
    record Binding(PortIoDevice device, int[] ranges, int ranking, long serviceId, String label) {
    }

    static final PortMap EMPTY = build(List.of());

    private final PortIoDevice[] devices;
    private final Binding[] owners;
    private final List<Binding> bindings;

    private PortMap(PortIoDevice[] devices, Binding[] owners, List<Binding> bindings) {
        this.devices = devices;
        this.owners = owners;
        this.bindings = bindings;
    }

    static PortMap build(Collection<Binding> bindings) {
        List<Binding> ordered = new ArrayList<>(bindings);
        // Paint the weakest first so the strongest claim of each port is painted last.
        ordered.sort(Comparator.comparingInt(Binding::ranking).thenComparing(Comparator.comparingLong(Binding::serviceId).reversed()));
        PortIoDevice[] devices = new PortIoDevice[PortRanges.PORT_COUNT];
        Binding[] owners = new Binding[PortRanges.PORT_COUNT];
        for (Binding b : ordered) {
            int[] r = b.ranges();
            for (int i = 0; i < r.length; i += 2) {
                for (int port = r[i]; port <= r[i + 1]; port++) {
                    devices[port] = b.device();
                    owners[port] = b;
                }
            }
        }
        return new PortMap(devices, owners, List.copyOf(ordered.reversed()));
    }

    /** The device claiming a port, or null. Hot path: one array load. */
    PortIoDevice device(int port) {
        return devices[port];
    }

    Binding owner(int port) {
        return owners[port];
    }

    /** The bindings, strongest first. */
    List<Binding> bindings() {
        return bindings;
    }

    /** The port map as text: one line per run of consecutive ports owned by the same device. */
    String describe() {
        StringBuilder sb = new StringBuilder();
        int port = 0;
        while (port < PortRanges.PORT_COUNT) {
            Binding owner = owners[port];
            int start = port;
            while (port + 1 < PortRanges.PORT_COUNT && owners[port + 1] == owner) {
                port++;
            }
            if (owner != null) {
                sb.append(String.format("%-13s -> %s (service.id %d, ranking %d)%n",
                        PortRanges.format(start, port), owner.label(), owner.serviceId(), owner.ranking()));
            }
            port++;
        }
        if (sb.isEmpty()) {
            sb.append("no port I/O devices registered").append(System.lineSeparator());
        }
        return sb.toString();
    }
}
