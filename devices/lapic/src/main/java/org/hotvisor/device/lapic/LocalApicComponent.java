package org.hotvisor.device.lapic;

import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import org.hotvisor.api.ExitAction;
import org.hotvisor.api.ExitHandler;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.HandlesExit;
import org.hotvisor.api.Vcpu;
import org.hotvisor.api.Vm;
import org.hotvisor.api.VmExit;
import org.hotvisor.api.device.ApicBus;
import org.hotvisor.api.device.InterruptController;
import org.hotvisor.api.device.ResetListener;
import org.hotvisor.api.device.VirtualClock;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The local APICs as one component (pid {@value #PID}) with four faces:
 * <ul>
 * <li>an {@link ExitHandler} for EPT violations and RDMSR/WRMSR, ranked {@value #EXIT_RANKING}
 *     (above exit-handlers/mmio and msr), taking only the exiting vCPU's APIC page and MSRs;</li>
 * <li>one {@link InterruptController} per vCPU, with {@code hotvisor.vcpu=N}: LINT0 in ExtINT
 *     mode passes the 8259's requests through (the unqualified controller, the PIC);</li>
 * <li>the {@link ApicBus} for the I/O APIC and MSIs;</li>
 * <li>a {@link ResetListener}: a platform reset powers every APIC on again.</li>
 * </ul>
 * The number of APICs is the configuration's {@code cpus}, else the framework property
 * {@value #CPUS_PROPERTY} (the launcher's {@code --cpus}), else 1.
 */
@Component(name = LocalApicComponent.PID, configurationPid = LocalApicComponent.PID, immediate = true,
        service = {ExitHandler.class, ApicBus.class, ResetListener.class},
        property = Constants.SERVICE_RANKING + ":Integer=" + LocalApicComponent.EXIT_RANKING)
@HandlesExit(reason = {ExitReason.EPT_VIOLATION, ExitReason.RDMSR, ExitReason.WRMSR})
@Designate(ocd = LocalApicComponent.Config.class)
public final class LocalApicComponent implements ExitHandler, ApicBus, ResetListener {
    static final String PID = "org.hotvisor.device.lapic";
    static final String CPUS_PROPERTY = "hotvisor.cpus";
    /** Above the generic MMIO and MSR handlers (ranking 0): the APIC sees its accesses first. */
    static final int EXIT_RANKING = 100;
    /**
     * The per-vCPU controllers' ranking: above the 8259's 0, so a kernel that still binds one
     * unqualified controller takes vCPU 0's APIC (registered first), which passes the 8259 through.
     */
    static final int CONTROLLER_RANKING = 10;
    static final int MAX_CPUS = 255;
    private static final System.Logger LOG = System.getLogger(PID);

    @ObjectClassDefinition(name = "Hotvisor local APICs", description = "One xAPIC/x2APIC per vCPU; xAPIC page at 0xFEE00000.")
    @interface Config {
        @AttributeDefinition(description = "Number of local APICs; 0: the framework property hotvisor.cpus, else 1.", min = "0", max = "255")
        int cpus() default 0;

        @AttributeDefinition(description = "MAXPHYADDR: IA32_APIC_BASE bits from here up are reserved (match the CPUID handler).", min = "32", max = "52")
        int physical_address_bits() default 36;
    }

    private final ApicSystem system;
    private final ApicExits exits;
    private final List<ServiceRegistration<InterruptController>> controllers = new ArrayList<>();

    @Activate
    public LocalApicComponent(BundleContext context, Config config, @Reference(name = "clock") VirtualClock clock,
            @Reference(name = "vm") Vm vm) {
        int cpus = config.cpus() > 0 ? Math.min(config.cpus(), MAX_CPUS)
                : frameworkCpus(context == null ? null : context.getProperty(CPUS_PROPERTY));
        int bits = config.physical_address_bits();
        if (bits < 32 || bits > 52) {
            LOG.log(System.Logger.Level.WARNING, "physical.address.bits={0} outside 32-52; using 36", bits);
            bits = 36;
        }
        system = new ApicSystem(cpus, bits, clock, index -> vcpuOf(vm, index));
        exits = new ApicExits(system);
        if (context != null) {
            // vCPU 0 first: the lowest service id among equals (see CONTROLLER_RANKING).
            for (int i = 0; i < cpus; i++) {
                Dictionary<String, Object> props = new Hashtable<>();
                props.put(InterruptController.VCPU, i);
                props.put(Constants.SERVICE_RANKING, CONTROLLER_RANKING);
                controllers.add(context.registerService(InterruptController.class, system.apic(i), props));
            }
        }
    }

    /** The VM's vCPU, or null while the VM has fewer (a kernel without SMP runs vCPU 0 only). */
    private static Vcpu vcpuOf(Vm vm, int index) {
        return index >= 0 && index < vm.vcpuCount() ? vm.vcpu(index) : null;
    }

    /** The CPU count from the framework property; missing or bad: 1 (bad is logged). */
    static int frameworkCpus(String value) {
        if (value == null || value.isBlank()) {
            return 1;
        }
        try {
            int n = Integer.parseInt(value.trim());
            if (n >= 1 && n <= MAX_CPUS) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        LOG.log(System.Logger.Level.ERROR, "lapic: bad {0} \"{1}\"; one local APIC", CPUS_PROPERTY, value);
        return 1;
    }

    @Deactivate
    void deactivate() {
        for (ServiceRegistration<InterruptController> r : controllers) {
            try {
                r.unregister();
            } catch (IllegalStateException alreadyGone) {
                // the framework unregisters a stopping bundle's services itself
            }
        }
        controllers.clear();
        system.shutdown();
        LOG.log(System.Logger.Level.DEBUG, "{0}", system);
    }

    /** The 8259 pair (the controller without {@code hotvisor.vcpu}), for LINT0's ExtINT. */
    @Reference(name = "pic", service = InterruptController.class, cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY,
            target = "(!(" + InterruptController.VCPU + "=*))", unbind = "unbindPic")
    void bindPic(InterruptController pic) {
        system.pic(pic);
    }

    void unbindPic(InterruptController pic) {
        if (system.pic() == pic) {
            system.pic(null);
        }
    }

    ApicSystem system() {
        return system;
    }

    // ---- ExitHandler ----

    @Override
    public ExitAction handle(VmExit exit) {
        return exits.handle(exit);
    }

    // ---- ApicBus ----

    @Override
    public void deliver(int destination, boolean logical, int deliveryMode, int vector, boolean levelTriggered) {
        system.deliver(destination, logical, deliveryMode, vector, levelTriggered);
    }

    @Override
    public void eoiListener(EoiListener listener) {
        system.eoiListener(listener);
    }

    // ---- ResetListener ----

    @Override
    public void machineReset() {
        system.powerOn();
    }

    @Override
    public String toString() {
        return system.toString();
    }
}
