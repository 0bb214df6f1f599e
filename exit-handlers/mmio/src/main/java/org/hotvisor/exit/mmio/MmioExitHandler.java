package org.hotvisor.exit.mmio;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.hotvisor.api.ExitAction;
import org.hotvisor.api.ExitHandler;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.HandlesExit;
import org.hotvisor.api.VmExit;
import org.hotvisor.api.device.MmioDevice;
import org.hotvisor.exit.routing.ShellCommands;
import org.hotvisor.exit.routing.Whiteboard;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.Designate;

/**
 * EPT violations (exit reason 48) caused by guest data accesses outside RAM, routed to the
 * {@link MmioDevice} whiteboard. The address map is immutable and swapped through a volatile
 * field on every (un)registration, so the vCPU thread routes with a binary search, allocating
 * nothing and taking no lock.
 *
 * <p>The processor reports the access size (1, 2, 4 or 8) and, for writes, the data; a read is
 * completed with {@link VmExit#completeRead}. Either way the handler returns
 * {@link ExitAction#RESUME}: the processor re-executes the instruction, whose access at that
 * address then takes the completed value instead of exiting again.
 *
 * <p>Rules, as on QEMU's memory bus:
 * <ul>
 * <li>Unclaimed addresses read all ones and drop writes; each is counted per address
 *     ({@code mmio:unclaimed}).</li>
 * <li>An access that does not fit in one device's segment (it straddles a range end, or spans
 *     two devices or a hole) is split into byte accesses, each routed on its own, and a read is
 *     assembled little-endian from the bytes.</li>
 * <li>Instruction fetches and page walks through MMIO are not data accesses the devices can
 *     answer: the handler passes them on (the kernel's default stops the VM with a report).</li>
 * <li>A device that throws is reported by name; the exception goes to the kernel's fault policy
 *     (by default the VM pauses) with nothing staged, so the guest sees no partial access.</li>
 * </ul>
 */
@Component(name = MmioExitHandler.PID, service = ExitHandler.class, immediate = true)
@HandlesExit(reason = ExitReason.EPT_VIOLATION)
@Designate(ocd = MmioConfig.class)
public final class MmioExitHandler implements ExitHandler {
    /** ConfigAdmin PID (and component name). */
    public static final String PID = "org.hotvisor.exit.mmio";

    private static final System.Logger LOG = System.getLogger(PID);
    private static final int BITS_PER_BYTE = 8;
    private static final int BYTE_MASK = 0xFF;
    private static final int MAX_ACCESS_SIZE = Long.BYTES;

    private final Whiteboard<MmioMap.Binding, MmioMap> devices = new Whiteboard<>(MmioMap.EMPTY, MmioMap::build);
    private final UnclaimedCounts unclaimed = new UnclaimedCounts();
    private volatile boolean logUnclaimed;
    /** Exits passed on because they were not data accesses (fetches, page walks, odd sizes). */
    private final java.util.concurrent.atomic.AtomicLong passed = new java.util.concurrent.atomic.AtomicLong();

    private ServiceRegistration<MmioCommands> commandRegistration;

    // ---- life cycle and configuration ----

    @Activate
    void activate(BundleContext context, Map<String, Object> properties) {
        configure(properties);
        if (context != null) {
            commandRegistration = context.registerService(MmioCommands.class, new MmioCommands(this), MmioCommands.serviceProperties());
        }
    }

    @Modified
    void modified(Map<String, Object> properties) {
        configure(properties);
    }

    @Deactivate
    void deactivate() {
        ServiceRegistration<MmioCommands> registration = commandRegistration;
        commandRegistration = null;
        ShellCommands.unregister(registration);
    }

    void configure(Map<String, ?> properties) {
        Map<String, ?> p = properties == null ? Map.of() : properties;
        Object log = p.get("log.unclaimed");
        logUnclaimed = log != null && Boolean.parseBoolean(String.valueOf(log).trim());
    }

    // ---- the MmioDevice whiteboard ----

    @Reference(service = MmioDevice.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindDevice(MmioDevice device, Map<String, Object> properties) {
        List<String> problems = new ArrayList<>();
        long[] ranges = MmioRanges.parse(properties.get(MmioDevice.RANGES), problems);
        MmioMap.Binding b = new MmioMap.Binding(device, ranges, Whiteboard.ranking(properties), Whiteboard.serviceId(properties),
                Whiteboard.label(device, properties));
        for (String problem : problems) {
            LOG.log(Level.WARNING, "{0}: {1}", b.label(), problem);
        }
        devices.put(b.serviceId(), b);
    }

    void updatedDevice(MmioDevice device, Map<String, Object> properties) {
        bindDevice(device, properties); // same service.id: replaces the old binding
    }

    void unbindDevice(MmioDevice device, Map<String, Object> properties) {
        devices.remove(Whiteboard.serviceId(properties));
    }

    MmioMap mmioMap() {
        return devices.map();
    }

    UnclaimedCounts unclaimed() {
        return unclaimed;
    }

    long passed() {
        return passed.get();
    }

    // ---- the exit ----

    @Override
    public ExitAction handle(VmExit exit) {
        long q = exit.qualification();
        int size = exit.accessSize();
        if (EptQualification.isFetch(q) || !EptQualification.isFinalTranslation(q) || !validSize(size)) {
            if (passed.incrementAndGet() == 1) {
                LOG.log(Level.WARNING, "EPT violation that is not a 1/2/4/8-byte data access (qualification 0x{0}, size {1}, "
                        + "guest-physical 0x{2}); passing it on", Long.toHexString(q), size, Long.toHexString(exit.guestPhysicalAddress()));
            }
            return ExitAction.PASS;
        }
        long address = exit.guestPhysicalAddress();
        MmioMap map = devices.map();
        if (EptQualification.isWrite(q)) {
            write(map, address, size, exit.accessData() & sizeMask(size));
        } else {
            exit.completeRead(read(map, address, size));
        }
        return ExitAction.RESUME;
    }

    static boolean validSize(int size) {
        return size == 1 || size == 2 || size == 4 || size == 8;
    }

    /** All ones at the width of an access: what an unclaimed read returns. */
    static long sizeMask(int size) {
        return size >= MAX_ACCESS_SIZE ? -1L : (1L << (BITS_PER_BYTE * size)) - 1;
    }

    long read(MmioMap map, long address, int size) {
        int segment = map.segmentOf(address);
        long lastByte = address + size - 1;
        if (segment >= 0 && lastByte <= map.last(segment)) {
            return callRead(map, segment, address, size) & sizeMask(size);
        }
        if (segment < 0 && unclaimedThrough(map, address, lastByte)) {
            countUnclaimed(address, false, size);
            return sizeMask(size);
        }
        // Straddles a segment end: byte by byte, each to its own owner (QEMU splits at region ends too).
        long value = 0;
        boolean counted = false;
        for (int i = 0; i < size; i++) {
            long a = address + i;
            int s = map.segmentOf(a);
            long b;
            if (s >= 0) {
                b = callRead(map, s, a, 1) & BYTE_MASK;
            } else {
                if (!counted) {
                    countUnclaimed(a, false, 1);
                    counted = true;
                }
                b = BYTE_MASK;
            }
            value |= b << (BITS_PER_BYTE * i);
        }
        return value;
    }

    void write(MmioMap map, long address, int size, long value) {
        int segment = map.segmentOf(address);
        long lastByte = address + size - 1;
        if (segment >= 0 && lastByte <= map.last(segment)) {
            callWrite(map, segment, address, size, value);
            return;
        }
        if (segment < 0 && unclaimedThrough(map, address, lastByte)) {
            countUnclaimed(address, true, size);
            return;
        }
        boolean counted = false;
        for (int i = 0; i < size; i++) {
            long a = address + i;
            int s = map.segmentOf(a);
            long b = (value >>> (BITS_PER_BYTE * i)) & BYTE_MASK;
            if (s >= 0) {
                callWrite(map, s, a, 1, b);
            } else if (!counted) {
                countUnclaimed(a, true, 1);
                counted = true;
            }
        }
    }

    /** Whether no segment starts in (address, lastByte]: the whole access falls in a hole. */
    private static boolean unclaimedThrough(MmioMap map, long address, long lastByte) {
        int next = map.nextSegmentAfter(address);
        return next >= map.segmentCount() || map.first(next) > lastByte;
    }

    private static long callRead(MmioMap map, int segment, long address, int size) {
        try {
            return map.device(segment).mmioRead(address, size);
        } catch (RuntimeException e) {
            throw deviceFailure(map, segment, "read", address, size, e);
        }
    }

    private static void callWrite(MmioMap map, int segment, long address, int size, long value) {
        try {
            map.device(segment).mmioWrite(address, size, value);
        } catch (RuntimeException e) {
            throw deviceFailure(map, segment, "write", address, size, e);
        }
    }

    /** Names the device in the report the kernel's fault policy prints (allocates: fault path only). */
    private static IllegalStateException deviceFailure(MmioMap map, int segment, String kind, long address, int size, RuntimeException e) {
        return new IllegalStateException(String.format("MMIO device %s failed on a %d-byte %s at 0x%x: %s",
                map.owner(segment).label(), size, kind, address, e), e);
    }

    private void countUnclaimed(long address, boolean write, int size) {
        long n = unclaimed.count(address, write);
        if (n == 1 && logUnclaimed) {
            LOG.log(Level.INFO, "unclaimed MMIO {0} of {1} byte(s) at 0x{2}", write ? "write" : "read", size,
                    Long.toHexString(address));
        }
    }
}
