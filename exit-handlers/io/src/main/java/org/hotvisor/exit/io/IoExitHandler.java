package org.hotvisor.exit.io;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;
import org.hotvisor.api.ExitAction;
import org.hotvisor.api.ExitHandler;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.GuestMemory;
import org.hotvisor.api.GuestRegisters;
import org.hotvisor.api.HandlesExit;
import org.hotvisor.api.Register;
import org.hotvisor.api.VmExit;
import org.hotvisor.api.device.PortIoDevice;
import org.hotvisor.api.vmx.VmcsField;
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
 * I/O instructions (exit reason 30): IN, OUT, INS and OUTS, with or without REP, routed to the
 * {@link PortIoDevice} whiteboard. The port table is immutable and swapped through a volatile
 * field on every (un)registration, so the vCPU thread routes with one array load, allocating
 * nothing and taking no lock.
 *
 * <p>Unclaimed ports behave like an empty ISA bus: reads return all ones, writes are dropped;
 * each is counted per port and shown by the Gogo command {@code io:unclaimed}.
 */
@Component(name = IoExitHandler.PID, service = ExitHandler.class, immediate = true)
@HandlesExit(reason = ExitReason.IO_INSTRUCTION)
@Designate(ocd = IoConfig.class)
public final class IoExitHandler implements ExitHandler {
    /** ConfigAdmin PID (and component name). */
    public static final String PID = "org.hotvisor.exit.io";
    static final int DEFAULT_REP_CHUNK = 1 << 20;

    private static final System.Logger LOG = System.getLogger(PID);

    /** RFLAGS.DF, bit 10: string instructions decrement (SDM Vol. 1 3.4.3.3). */
    static final long RFLAGS_DF = 1L << 10;
    private static final int RSI = Register.RSI.ordinal();
    private static final int RDI = Register.RDI.ordinal();
    private static final long PAGE_SIZE = 0x1000;
    private static final long PAGE_OFFSET_MASK = PAGE_SIZE - 1;
    private static final long LINEAR_32_MASK = 0xFFFF_FFFFL;

    /** #PF, vector 14, and its error-code bits (SDM Vol. 3A 4.7). */
    static final int VECTOR_PAGE_FAULT = 14;
    static final int PF_PRESENT = 1 << 0;
    static final int PF_WRITE = 1 << 1;
    static final int PF_USER = 1 << 2;
    /** Segment access rights: DPL in bits 6:5; CPL is SS.DPL (SDM 3C 25.4.1). */
    private static final int AR_DPL_SHIFT = 5;
    private static final int AR_DPL_MASK = 0x3;

    private final Whiteboard<PortMap.Binding, PortMap> devices = new Whiteboard<>(PortMap.EMPTY, PortMap::build);

    /** Unclaimed accesses: [2 * port] reads, [2 * port + 1] writes. Allocated once; lock-free increments. */
    private final AtomicLongArray unclaimed = new AtomicLongArray(2 * PortRanges.PORT_COUNT);

    private volatile int repChunk = DEFAULT_REP_CHUNK;
    private volatile boolean logUnclaimed;

    private ServiceRegistration<IoCommands> commandRegistration;

    // ---- life cycle and configuration ----

    @Activate
    void activate(BundleContext context, Map<String, Object> properties) {
        configure(properties);
        if (context != null) {
            commandRegistration = context.registerService(IoCommands.class, new IoCommands(this), IoCommands.serviceProperties());
        }
    }

    @Modified
    void modified(Map<String, Object> properties) {
        configure(properties);
    }

    @Deactivate
    void deactivate() {
        ServiceRegistration<IoCommands> registration = commandRegistration;
        commandRegistration = null;
        ShellCommands.unregister(registration);
    }

    void configure(Map<String, ?> properties) {
        Map<String, ?> p = properties == null ? Map.of() : properties;
        int chunk = DEFAULT_REP_CHUNK;
        Object chunkValue = p.get("rep.chunk");
        if (chunkValue != null) {
            try {
                chunk = Integer.decode(String.valueOf(chunkValue).trim());
            } catch (NumberFormatException e) {
                LOG.log(Level.WARNING, "rep.chunk=''{0}'' is not a number; using {1}", chunkValue, DEFAULT_REP_CHUNK);
            }
            if (chunk < 1) {
                LOG.log(Level.WARNING, "rep.chunk={0} must be at least 1; using {1}", chunk, DEFAULT_REP_CHUNK);
                chunk = DEFAULT_REP_CHUNK;
            }
        }
        repChunk = chunk;
        Object log = p.get("log.unclaimed");
        logUnclaimed = log != null && Boolean.parseBoolean(String.valueOf(log).trim());
    }

    // ---- the PortIoDevice whiteboard ----

    @Reference(service = PortIoDevice.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindDevice(PortIoDevice device, Map<String, Object> properties) {
        List<String> problems = new ArrayList<>();
        int[] ranges = PortRanges.parse(properties.get(PortIoDevice.PORTS), problems);
        PortMap.Binding b = new PortMap.Binding(device, ranges, Whiteboard.ranking(properties), Whiteboard.serviceId(properties),
                Whiteboard.label(device, properties));
        for (String problem : problems) {
            LOG.log(Level.WARNING, "{0}: {1}", b.label(), problem);
        }
        devices.put(b.serviceId(), b);
    }

    void updatedDevice(PortIoDevice device, Map<String, Object> properties) {
        bindDevice(device, properties); // same service.id: replaces the old binding
    }

    void unbindDevice(PortIoDevice device, Map<String, Object> properties) {
        devices.remove(Whiteboard.serviceId(properties));
    }

    PortMap portMap() {
        return devices.map();
    }

    long unclaimedReads(int port) {
        return unclaimed.get(2 * port);
    }

    long unclaimedWrites(int port) {
        return unclaimed.get(2 * port + 1);
    }

    void resetUnclaimed() {
        for (int i = 0; i < unclaimed.length(); i++) {
            unclaimed.set(i, 0);
        }
    }

    // ---- the exit ----

    @Override
    public ExitAction handle(VmExit exit) {
        long q = exit.qualification();
        int size = IoQualification.size(q);
        if (!IoQualification.validSize(size)) {
            LOG.log(Level.WARNING, "I/O exit with an undefined size encoding, qualification 0x{0}; passing it on",
                    Long.toHexString(q));
            return ExitAction.PASS;
        }
        int port = IoQualification.port(q);
        PortMap map = devices.map();
        if (IoQualification.isString(q)) {
            return stringIo(exit, map, port, size, IoQualification.isIn(q), IoQualification.isRep(q));
        }
        GuestRegisters regs = exit.registers();
        if (IoQualification.isIn(q)) {
            long value = read(map, port, size) & 0xFFFF_FFFFL;
            long rax = regs.rax();
            // IN AL/AX merges into RAX; IN EAX writes a 32-bit register, which zero-extends (SDM Vol. 1 3.4.1.1).
            regs.setRax(size == 4 ? value : (rax & ~(long) IoQualification.sizeMask(size)) | value);
        } else {
            write(map, port, size, (int) regs.rax() & IoQualification.sizeMask(size));
        }
        return ExitAction.EMULATED;
    }

    private int read(PortMap map, int port, int size) {
        PortIoDevice device = map.device(port);
        if (device == null) {
            countUnclaimed(port, false, size);
            return IoQualification.sizeMask(size);
        }
        return device.ioRead(port, size) & IoQualification.sizeMask(size);
    }

    private void write(PortMap map, int port, int size, int value) {
        PortIoDevice device = map.device(port);
        if (device == null) {
            countUnclaimed(port, true, size);
            return;
        }
        device.ioWrite(port, size, value);
    }

    private void countUnclaimed(int port, boolean write, int size) {
        long n = unclaimed.incrementAndGet(2 * port + (write ? 1 : 0));
        if (n == 1 && logUnclaimed) {
            LOG.log(Level.INFO, "unclaimed {0} of {1} byte(s) at port 0x{2}", write ? "write" : "read", size,
                    Integer.toHexString(port));
        }
    }

    /**
     * INS/OUTS, REP-prefixed or not (SDM Vol. 2A INS/INSB/INSW/INSD and OUTS/OUTSB/OUTSW/OUTSD):
     * the element count comes from RCX masked to the address size, the step from RFLAGS.DF, the
     * first element's linear address from the guest-linear-address field (SDM 3C 28.2.1). The
     * whole REP string is done in this exit (up to {@code rep.chunk} iterations); a page fault on
     * an element stops it with the completed iterations reflected in RSI/RDI/RCX and #PF injected.
     */
    private ExitAction stringIo(VmExit exit, PortMap map, int port, int size, boolean in, boolean rep) {
        GuestRegisters regs = exit.registers();
        int info = exit.instructionInfo();
        long addressMask = StringIoInfo.addressMask(info);
        if (addressMask == 0) {
            LOG.log(Level.WARNING, "INS/OUTS exit with undefined address size in instruction information 0x{0}; passing it on",
                    Integer.toHexString(info));
            return ExitAction.PASS;
        }
        long count = rep ? regs.rcx() & addressMask : 1;
        if (count == 0) {
            return ExitAction.EMULATED; // REP with (E)CX = 0 performs no iteration
        }
        int indexRegister = in ? RDI : RSI;
        long index = regs.gpr(indexRegister);
        long step = (regs.get(Register.RFLAGS) & RFLAGS_DF) != 0 ? -size : size;
        // Segment base = first linear address - first offset; every element is base + offset (mod address size).
        long segmentBase = exit.guestLinearAddress() - (index & addressMask);
        boolean linear32 = addressMask != -1L; // outside 64-bit mode linear addresses are 32 bits
        GuestMemory memory = exit.memory();
        long limit = Math.min(count, repChunk);
        long done = 0;
        boolean faulted = false;
        while (done < limit) {
            long linear = segmentBase + (index & addressMask);
            if (linear32) {
                linear &= LINEAR_32_MASK;
            }
            // An element may straddle two pages: translate both parts before any side effect.
            long gpa = memory.translate(linear, in);
            long firstPageBytes = PAGE_SIZE - (linear & PAGE_OFFSET_MASK);
            long nextLinear = linear32 ? (linear + firstPageBytes) & LINEAR_32_MASK : linear + firstPageBytes;
            long gpaNext = firstPageBytes < size && gpa >= 0 ? memory.translate(nextLinear, in) : 0;
            if (gpa < 0 || gpaNext < 0) {
                injectPageFault(exit, gpa < 0 ? linear : nextLinear, in);
                faulted = true;
                break;
            }
            if (in) {
                int value = read(map, port, size);
                storeElement(memory, gpa, gpaNext, (int) firstPageBytes, size, value);
            } else {
                write(map, port, size, loadElement(memory, gpa, gpaNext, (int) Math.min(firstPageBytes, size), size));
            }
            index = (index & ~addressMask) | ((index + step) & addressMask);
            done++;
        }
        regs.setGpr(indexRegister, updated(regs.gpr(indexRegister), index, addressMask));
        if (rep) {
            regs.setRcx(updated(regs.rcx(), count - done, addressMask));
        }
        if (faulted || done < count) {
            return ExitAction.RESUME; // RIP stays on the instruction: the rest continues on re-execution
        }
        return ExitAction.EMULATED;
    }

    /**
     * A register after a string iteration: 16-bit address size changes only bits 15:0; 32-bit
     * writes the 32-bit register (zero-extended, SDM Vol. 1 3.4.1.1); 64-bit writes it whole.
     */
    private static long updated(long oldValue, long newValue, long addressMask) {
        if (addressMask == 0xFFFFL) {
            return (oldValue & ~0xFFFFL) | (newValue & 0xFFFFL);
        }
        return newValue & addressMask;
    }

    private static int loadElement(GuestMemory memory, long gpa, long gpaNext, int firstBytes, int size) {
        if (firstBytes >= size) {
            return switch (size) {
                case 1 -> memory.read8(gpa);
                case 2 -> memory.read16(gpa);
                default -> memory.read32(gpa);
            };
        }
        int value = 0;
        for (int i = 0; i < size; i++) {
            int b = i < firstBytes ? memory.read8(gpa + i) : memory.read8(gpaNext + (i - firstBytes));
            value |= (b & 0xFF) << (8 * i);
        }
        return value;
    }

    private static void storeElement(GuestMemory memory, long gpa, long gpaNext, int firstPageBytes, int size, int value) {
        if (firstPageBytes >= size) {
            switch (size) {
                case 1 -> memory.write8(gpa, value);
                case 2 -> memory.write16(gpa, value);
                default -> memory.write32(gpa, value);
            }
            return;
        }
        for (int i = 0; i < size; i++) {
            int b = (value >>> (8 * i)) & 0xFF;
            if (i < firstPageBytes) {
                memory.write8(gpa + i, b);
            } else {
                memory.write8(gpaNext + (i - firstPageBytes), b);
            }
        }
    }

    /**
     * #PF for a string element whose page is not present or not writable (SDM Vol. 3A 4.7): CR2 =
     * the faulting linear address; error code P = page present (a protection fault), W/R = the
     * access was a write (INS), U/S = CPL 3.
     */
    private static void injectPageFault(VmExit exit, long linear, boolean write) {
        int errorCode = 0;
        if (write && exit.memory().translate(linear, false) >= 0) {
            errorCode |= PF_PRESENT;
        }
        if (write) {
            errorCode |= PF_WRITE;
        }
        int cpl = (int) (exit.vmread(VmcsField.GUEST_SS_AR_BYTES.encoding()) >>> AR_DPL_SHIFT) & AR_DPL_MASK;
        if (cpl == 3) {
            errorCode |= PF_USER;
        }
        exit.registers().set(Register.CR2, linear);
        exit.injectException(VECTOR_PAGE_FAULT, errorCode);
    }
}
