package org.hotvisor.exit.io;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import org.hotvisor.api.device.PortIoDevice;

/**
 * An immutable port-to-device table: 256 pages of 256 ports, a page allocated only where a device
 * claims a port (a flat 65536-entry table per build allocated about 35 MB during start-up, as the
 * devices bind one by one, and filled the young generation). Built on every bind, unbind or
 * property change and swapped in whole, so routing is two array loads on the vCPU thread.
 * On overlap the higher {@code service.ranking} wins; at equal ranking the older service (lower
 * {@code service.id}), as OSGi orders services.
 */
final class PortMap {
    /** One registered PortIoDevice with its parsed ranges. */
    record Binding(PortIoDevice device, int[] ranges, int ranking, long serviceId, String label) {
    }

    private static final int PAGE_SHIFT = 8;
    private static final int PAGE_SIZE = 1 << PAGE_SHIFT;
    private static final int PAGES = PortRanges.PORT_COUNT >>> PAGE_SHIFT;
    /** Shared by every page without a device (never written). */
    private static final PortIoDevice[] NO_DEVICES = new PortIoDevice[PAGE_SIZE];
    private static final Binding[] NO_OWNERS = new Binding[PAGE_SIZE];

    static final PortMap EMPTY = build(List.of());

    private final PortIoDevice[][] devices;
    private final Binding[][] owners;
    private final List<Binding> bindings;

    private PortMap(PortIoDevice[][] devices, Binding[][] owners, List<Binding> bindings) {
        this.devices = devices;
        this.owners = owners;
        this.bindings = bindings;
    }

    static PortMap build(Collection<Binding> bindings) {
        List<Binding> ordered = new ArrayList<>(bindings);
        // Paint the weakest first so the strongest claim of each port is painted last.
        ordered.sort(Comparator.comparingInt(Binding::ranking).thenComparing(Comparator.comparingLong(Binding::serviceId).reversed()));
        PortIoDevice[][] devices = new PortIoDevice[PAGES][];
        Binding[][] owners = new Binding[PAGES][];
        Arrays.fill(devices, NO_DEVICES);
        Arrays.fill(owners, NO_OWNERS);
        for (Binding b : ordered) {
            int[] r = b.ranges();
            for (int i = 0; i < r.length; i += 2) {
                for (int port = r[i]; port <= r[i + 1]; port++) {
                    int page = port >>> PAGE_SHIFT;
                    if (devices[page] == NO_DEVICES) {
                        devices[page] = new PortIoDevice[PAGE_SIZE];
                        owners[page] = new Binding[PAGE_SIZE];
                    }
                    devices[page][port & (PAGE_SIZE - 1)] = b.device();
                    owners[page][port & (PAGE_SIZE - 1)] = b;
                }
            }
        }
        return new PortMap(devices, owners, List.copyOf(ordered.reversed()));
    }

    /** The device claiming a port (0-0xFFFF), or null. Hot path: two array loads. */
    PortIoDevice device(int port) {
        return devices[(port >>> PAGE_SHIFT) & (PAGES - 1)][port & (PAGE_SIZE - 1)];
    }

    Binding owner(int port) {
        return owners[(port >>> PAGE_SHIFT) & (PAGES - 1)][port & (PAGE_SIZE - 1)];
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
            Binding owner = owner(port);
            int start = port;
            while (port + 1 < PortRanges.PORT_COUNT && owner(port + 1) == owner) {
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
