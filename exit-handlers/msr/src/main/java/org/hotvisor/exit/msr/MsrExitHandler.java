package org.hotvisor.exit.msr;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.hotvisor.api.ExitAction;
import org.hotvisor.api.ExitHandler;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.GuestRegisters;
import org.hotvisor.api.HandlesExit;
import org.hotvisor.api.VmExit;
import org.hotvisor.api.device.MsrDevice;
import org.hotvisor.api.device.VirtualClock;
import org.osgi.framework.Constants;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.Designate;

/**
 * RDMSR (exit reason 31) and WRMSR (32): ECX selects the MSR, EDX:EAX carries the value (SDM
 * Vol. 2B RDMSR/WRMSR). {@link MsrDevice} services are asked first (their {@code hotvisor.msrs}
 * ranges), then the architectural MSRs; an MSR nobody implements takes #GP(0), or with
 * {@code unknown.policy = ignore-and-log} reads 0 and drops writes.
 */
@Component(name = MsrExitHandler.PID, service = ExitHandler.class)
@HandlesExit(reason = {ExitReason.RDMSR, ExitReason.WRMSR})
@Designate(ocd = MsrConfig.class)
public final class MsrExitHandler implements ExitHandler {
    /** ConfigAdmin PID (and component name). */
    public static final String PID = "org.hotvisor.exit.msr";
    static final int VECTOR_GP = 13;
    static final String POLICY_GP = "gp";
    static final String POLICY_IGNORE = "ignore-and-log";

    private static final System.Logger LOG = System.getLogger(PID);
    private static final long LOW_32 = 0xFFFF_FFFFL;

    private final VirtualClock clock;
    private volatile ArchitecturalMsrs architectural =
            new ArchitecturalMsrs(36, ArchitecturalMsrs.DEFAULT_EFER_WRITABLE);
    private volatile boolean ignoreUnknown;
    /** MSRs already logged under ignore-and-log: each is logged once. */
    private final Set<Integer> loggedUnknown = ConcurrentHashMap.newKeySet();

    private final Object bindLock = new Object();
    private final Map<Long, MsrRangeTable.Binding> bindings = new HashMap<>();
    private volatile MsrRangeTable devices = MsrRangeTable.EMPTY;

    @Activate
    public MsrExitHandler(@Reference(name = "clock") VirtualClock clock, Map<String, Object> properties) {
        this.clock = clock;
        configure(properties);
    }

    @Modified
    void modified(Map<String, Object> properties) {
        configure(properties);
    }

    void configure(Map<String, ?> properties) {
        Map<String, ?> p = properties == null ? Map.of() : properties;
        Object policy = p.get("unknown.policy");
        String policyText = policy == null ? POLICY_GP : String.valueOf(policy).trim();
        if (!policyText.equals(POLICY_GP) && !policyText.equals(POLICY_IGNORE)) {
            LOG.log(Level.WARNING, "unknown.policy=''{0}'' is neither gp nor ignore-and-log; using gp", policyText);
            policyText = POLICY_GP;
        }
        int physicalBits = 36;
        long eferWritable = ArchitecturalMsrs.DEFAULT_EFER_WRITABLE;
        try {
            Object bits = p.get("physical.address.bits");
            if (bits != null) {
                int b = Integer.decode(String.valueOf(bits).trim());
                if (b >= 32 && b <= 52) {
                    physicalBits = b;
                } else {
                    LOG.log(Level.WARNING, "physical.address.bits={0} is outside 32-52; using 36", b);
                }
            }
            Object efer = p.get("efer.writable");
            if (efer != null) {
                eferWritable = Long.decode(String.valueOf(efer).trim());
            }
        } catch (NumberFormatException e) {
            LOG.log(Level.WARNING, "MSR configuration: {0}; keeping defaults for the bad value", e.getMessage());
        }
        architectural = new ArchitecturalMsrs(physicalBits, eferWritable);
        ignoreUnknown = policyText.equals(POLICY_IGNORE);
    }

    // ---- the MsrDevice whiteboard ----

    @Reference(service = MsrDevice.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindDevice(MsrDevice device, Map<String, Object> properties) {
        synchronized (bindLock) {
            List<String> problems = new ArrayList<>();
            long[] ranges = MsrRangeTable.parse(properties.get(MsrDevice.MSRS), problems);
            Object componentName = properties.get("component.name");
            String label = componentName != null ? String.valueOf(componentName) : device.getClass().getName();
            for (String problem : problems) {
                LOG.log(Level.WARNING, "{0}: {1}", label, problem);
            }
            Object ranking = properties.get(Constants.SERVICE_RANKING);
            long id = serviceId(properties);
            bindings.put(id, new MsrRangeTable.Binding(device, ranges, ranking instanceof Integer r ? r : 0, id, label));
            devices = MsrRangeTable.build(bindings.values());
        }
    }

    void updatedDevice(MsrDevice device, Map<String, Object> properties) {
        bindDevice(device, properties);
    }

    void unbindDevice(MsrDevice device, Map<String, Object> properties) {
        synchronized (bindLock) {
            bindings.remove(serviceId(properties));
            devices = MsrRangeTable.build(bindings.values());
        }
    }

    private static long serviceId(Map<String, ?> properties) {
        return properties.get(Constants.SERVICE_ID) instanceof Long id ? id : -1L;
    }

    MsrRangeTable devices() {
        return devices;
    }

    // ---- the exit ----

    @Override
    public ExitAction handle(VmExit exit) {
        ExitReason reason = exit.reason();
        boolean write;
        if (reason == ExitReason.WRMSR) {
            write = true;
        } else if (reason == ExitReason.RDMSR) {
            write = false;
        } else {
            return ExitAction.PASS;
        }
        GuestRegisters regs = exit.registers();
        int index = (int) regs.rcx();
        long value = write ? (regs.rdx() & LOW_32) << 32 | (regs.rax() & LOW_32) : 0;

        MsrDevice device = devices.device(index);
        if (device != null) {
            try {
                if (write) {
                    device.wrmsr(index, value);
                } else {
                    setEdxEax(regs, device.rdmsr(index));
                }
                return ExitAction.EMULATED;
            } catch (IllegalArgumentException rejected) {
                return generalProtection(exit);
            }
        }

        ArchitecturalMsrs msrs = architectural;
        if (!msrs.implemented(index)) {
            return unknown(exit, index, write, value);
        }
        if (write) {
            return msrs.write(exit, clock, index, value) ? ExitAction.EMULATED : generalProtection(exit);
        }
        setEdxEax(regs, msrs.read(exit, clock, index));
        return ExitAction.EMULATED;
    }

    /** RDMSR loads EDX:EAX; as 32-bit register writes they clear bits 63:32 of RAX and RDX. */
    private static void setEdxEax(GuestRegisters regs, long value) {
        regs.setRax(value & LOW_32);
        regs.setRdx(value >>> 32);
    }

    private static ExitAction generalProtection(VmExit exit) {
        exit.injectException(VECTOR_GP, 0);
        return ExitAction.RESUME;
    }

    private ExitAction unknown(VmExit exit, int index, boolean write, long value) {
        if (!ignoreUnknown) {
            return generalProtection(exit);
        }
        if (loggedUnknown.add(index)) {
            LOG.log(Level.INFO, "{0} of unimplemented MSR 0x{1} ignored (value 0x{2}); further accesses are not logged",
                    write ? "WRMSR" : "RDMSR", Integer.toHexString(index), Long.toHexString(value));
        }
        if (!write) {
            setEdxEax(exit.registers(), 0);
        }
        return ExitAction.EMULATED;
    }
}
