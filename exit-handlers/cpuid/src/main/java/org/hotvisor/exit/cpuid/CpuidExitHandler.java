package org.hotvisor.exit.cpuid;

import java.lang.System.Logger.Level;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.hotvisor.api.ExitAction;
import org.hotvisor.api.ExitHandler;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.GuestRegisters;
import org.hotvisor.api.HandlesExit;
import org.hotvisor.api.Register;
import org.hotvisor.api.Vcpu;
import org.hotvisor.api.VmExit;
import org.hotvisor.api.vmx.ProcessorControl;
import org.hotvisor.api.vmx.SecondaryControl;
import org.hotvisor.api.vmx.VmcsField;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.Designate;

/**
 * CPUID (exit reason 10; CPUID exits unconditionally in VMX non-root operation, SDM 3C 26.1.2):
 * answers from a precomputed {@link CpuModel}. Also XSETBV (reason 55, {@link XsetbvEmulation}),
 * so that XCR0 agrees with the model's leaf 0xD. The model is rebuilt on configuration change and
 * published through a volatile field, so the vCPU thread neither allocates nor locks.
 */
@Component(name = CpuidExitHandler.PID, service = ExitHandler.class)
@HandlesExit(reason = {ExitReason.CPUID, ExitReason.XSETBV})
@Designate(ocd = CpuidConfig.class)
public final class CpuidExitHandler implements ExitHandler {
    /** ConfigAdmin PID (and component name). */
    public static final String PID = "org.hotvisor.exit.cpuid";

    private static final System.Logger LOG = System.getLogger(PID);
    private static final long LOW_32 = 0xFFFF_FFFFL;
    /** CR4.OSXSAVE (SDM Vol. 3A 2.5). */
    static final long CR4_OSXSAVE = 1L << 18;
    /**
     * The lapic bundle publishes each vCPU's IA32_APIC_BASE under this vCPU state key, as an
     * {@link AtomicLong} (devices/lapic PublishedApicBase; whoever asks first creates it enabled).
     */
    static final String APIC_BASE_KEY = "org.hotvisor.device.lapic/apicBase";
    /** IA32_APIC_BASE[11], the APIC global enable (SDM 3A 11.4.4). */
    static final long APIC_BASE_ENABLE = 1L << 11;
    /** Non-capturing, so the per-exit lookup allocates nothing once the holder exists. */
    private static final Supplier<Object> NEW_APIC_BASE = () -> new AtomicLong(APIC_BASE_ENABLE);

    private volatile CpuModel model = CpuModel.defaults();

    /**
     * Present while a local-APIC bundle runs: then leaf 1 reports APIC, x2APIC and the TSC-deadline
     * timer, unless the vCPU's APIC is globally disabled.
     */
    @org.osgi.service.component.annotations.Reference(cardinality = org.osgi.service.component.annotations.ReferenceCardinality.OPTIONAL,
            policy = org.osgi.service.component.annotations.ReferencePolicy.DYNAMIC)
    volatile org.hotvisor.api.device.ApicBus apic;

    @Activate
    void activate(Map<String, Object> properties) {
        configure(properties);
    }

    @Modified
    void modified(Map<String, Object> properties) {
        configure(properties);
    }

    /** Rebuilds the table; the next CPUID on any vCPU sees it. */
    void configure(Map<String, ?> properties) {
        CpuModel next = CpuModel.from(properties);
        for (String problem : next.problems) {
            LOG.log(Level.WARNING, "CPUID configuration: {0}", problem);
        }
        model = next;
        LOG.log(Level.DEBUG, "CPUID model: vendor {0}, brand {1}", next.vendor, next.brand);
    }

    CpuModel model() {
        return model;
    }

    @Override
    public ExitAction handle(VmExit exit) {
        CpuModel m = model; // one volatile read: the whole exit sees one consistent table
        if (exit.rawReason() == ExitReason.XSETBV.number()) {
            return XsetbvEmulation.handle(exit, m);
        }
        GuestRegisters regs = exit.registers();
        int leaf = m.effectiveLeaf((int) regs.rax());
        int subleaf = (int) regs.rcx();
        int row = m.row(leaf, subleaf);
        int[] r = m.rows;
        int eax = r[row + CpuModel.EAX];
        int ebx = r[row + CpuModel.EBX];
        int ecx = r[row + CpuModel.ECX];
        int edx = r[row + CpuModel.EDX];

        if (leaf == CpuModel.LEAF_VERSION_FEATURES || leaf == CpuModel.LEAF_XSAVE || leaf == CpuModel.LEAF_TOPOLOGY) {
            return dynamicLeaf(exit, regs, m, leaf, subleaf, eax, ebx, ecx, edx);
        }
        return result(regs, eax, ebx, ecx, edx);
    }

    private static ExitAction result(GuestRegisters regs, int eax, int ebx, int ecx, int edx) {
        // CPUID writes the 32-bit registers, which clears bits 63:32 of RAX..RDX (SDM Vol. 1 3.4.1.1).
        regs.setRax(eax & LOW_32);
        regs.setRbx(ebx & LOW_32);
        regs.setRcx(ecx & LOW_32);
        regs.setRdx(edx & LOW_32);
        return ExitAction.EMULATED;
    }

    /**
     * The leaves whose values depend on the vCPU and its state (APIC ID, APIC enable, CR4.OSXSAVE,
     * XSAVES, topology): kept out of {@link #handle} so that the common path stays small enough
     * for the JIT to inline into the dispatcher.
     */
    private ExitAction dynamicLeaf(VmExit exit, GuestRegisters regs, CpuModel m, int leaf, int subleaf,
            int eax, int ebx, int ecx, int edx) {
        int apicId = exit.vcpu().index(); // initial APIC ID = vCPU index
        if (leaf == CpuModel.LEAF_VERSION_FEATURES) {
            ebx |= (apicId & 0xFF) << CpuModel.INITIAL_APIC_ID_SHIFT;
            if (apic != null && apicGloballyEnabled(exit.vcpu())) {
                edx |= CpuFeatures.EDX_APIC;
                ecx |= CpuFeatures.ECX_X2APIC | CpuFeatures.ECX_TSC_DEADLINE;
            }
            // SDM Vol. 2A Table 3-10: OSXSAVE "reflects the setting of CR4.OSXSAVE"
            if (m.xsave && (regs.get(Register.CR4) & CR4_OSXSAVE) != 0) {
                ecx |= CpuFeatures.ECX_OSXSAVE;
            }
        } else if (leaf == CpuModel.LEAF_XSAVE && subleaf == CpuModel.XSAVE_EXTENSIONS_SUBLEAF && m.xsave
                && xsavesEnabled(exit)) {
            eax |= CpuFeatures.XSAVE_SUBLEAF1_XSAVES;
            ebx = CpuFeatures.XSAVES_AREA_SIZE;
            ecx = (int) CpuFeatures.SUPPORTED_XSS;
            edx = (int) (CpuFeatures.SUPPORTED_XSS >>> 32);
        } else if (leaf == CpuModel.LEAF_XSAVE && subleaf == CpuFeatures.PASID_SUBLEAF && !xsavesEnabled(exit)) {
            eax = ebx = ecx = edx = 0;   // supervisor components exist only with XSAVES/IA32_XSS
        } else if (leaf == CpuModel.LEAF_TOPOLOGY) {
            // SDM Vol. 2A, CPUID leaf 0BH: ECX[7:0] echoes the input level number, EDX is the x2APIC ID.
            ecx |= subleaf & CpuModel.LEVEL_NUMBER_MASK;
            edx = apicId;
        }
        return result(regs, eax, ebx, ecx, edx);
    }

    /**
     * SDM 3A 11.4.3: with IA32_APIC_BASE[11] clear the processor acts as one without a local APIC,
     * and CPUID.01H:EDX[9] reads 0. Unknown (nothing or a foreign object published): enabled, the
     * power-on state.
     */
    static boolean apicGloballyEnabled(Vcpu vcpu) {
        Object base = vcpu.state(APIC_BASE_KEY, NEW_APIC_BASE);
        return !(base instanceof AtomicLong published) || (published.get() & APIC_BASE_ENABLE) != 0;
    }

    /** SDM 3C 26.3: XSAVES/XRSTORS are #UD in the guest unless the VMCS enables them. */
    private static boolean xsavesEnabled(VmExit exit) {
        long primary = exit.vmread(VmcsField.CPU_BASED_VM_EXEC_CONTROL.encoding());
        long secondary = exit.vmread(VmcsField.SECONDARY_VM_EXEC_CONTROL.encoding());
        return ProcessorControl.ACTIVATE_SECONDARY_CONTROLS.isSet((int) primary)
                && SecondaryControl.ENABLE_XSAVES_XRSTORS.isSet((int) secondary);
    }
}
