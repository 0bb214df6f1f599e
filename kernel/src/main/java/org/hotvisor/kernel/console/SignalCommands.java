package org.hotvisor.kernel.console;

import java.util.Locale;
import org.apache.felix.service.command.Descriptor;
import org.hotvisor.api.vmx.LogicalProcessor;
import org.hotvisor.api.vmx.VmcsField;
import org.hotvisor.kernel.vm.Machine;
import org.hotvisor.kernel.vm.VirtualCpu;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * {@code vm:signal init|sipi VECTOR|smi|nmi}: raises a platform signal on vCPU 0, as a chipset or
 * another processor's local APIC would. INIT, SIPI and SMI go to the VT-x processor's signal
 * lines ({@link LogicalProcessor#signalInit()} and friends), which exit with reasons 3, 4, 5/6 at
 * the next instruction boundary (the defaults then reset the platform, start the vCPU, or log
 * the SMI). NMI is injected at the next VM entry through the VM-entry interruption-information
 * field (SDM 3C 27.6, type 2 vector 2), as a VMM delivers a virtual NMI; it is refused while the
 * guest blocks NMIs (blocking by NMI, STI or MOV SS, wait-for-SIPI) or another event is being
 * injected, rather than queued.
 */
@Component(service = SignalCommands.class, property = {
    "osgi.command.scope=vm",
    "osgi.command.function=signal"})
public final class SignalCommands {
    static final int MAX_VECTOR = 0xFF;
    /** SDM 3C 25.8.3: valid (31), type 2 = NMI (10:8), vector 2. */
    static final long NMI_INJECTION = 0x8000_0000L | 2 << 8 | 2;
    static final int INTR_VALID = 1 << 31;
    /** SDM 3C 25.4.2 Table 25-3: blocking by STI, MOV SS, NMI. */
    static final long BLOCKS_NMI_INJECTION = 1 | 2 | 8;
    static final long ACTIVITY_WAIT_FOR_SIPI = 3;

    static final String USAGE = "usage: vm:signal init | sipi VECTOR | smi | nmi   (vCPU 0)";

    private final Machine vm;

    @Activate
    public SignalCommands(@Reference Machine vm) {
        this.vm = vm;
    }

    @Descriptor("raise INIT, a start-up IPI (with its vector), an SMI or an NMI on the selected vCPU (vm:cpu)")
    public String signal(@Descriptor("init | sipi VECTOR | smi | nmi") String... args) {
        if (args.length == 0) {
            return USAGE;
        }
        String what = args[0].toLowerCase(Locale.ROOT);
        boolean known = what.equals("init") || what.equals("sipi") || what.equals("smi") || what.equals("nmi");
        if (!known || what.equals("sipi") != (args.length == 2) || args.length > 2) {
            return USAGE;
        }
        if (what.equals("nmi")) {
            return nmi();
        }
        LogicalProcessor c = processor();
        if (c == null) {
            return "vm:signal: the vCPU has no processor yet (vm:start it first)";
        }
        switch (what) {
            case "init" -> {
                VirtualCpu v = vm.selectedVcpu();
                v.deliverInit(); // as the APIC's INIT message: an AP's INIT stays ordered before later SIPIs
                return "INIT raised: exit 3 at the next instruction boundary (vCPU " + v.index() + (v.index() == 0
                        ? " default: platform reset)" : " default: the INIT state, wait-for-SIPI)");
            }
            case "smi" -> {
                c.signalSmi();
                return "SMI raised: exit 5 (right after an I/O instruction) or 6 at the next instruction boundary";
            }
            case "sipi" -> {
                int vector;
                try {
                    long v = Long.decode(args[1]);
                    if (v < 0 || v > MAX_VECTOR) {
                        return "vm:signal: a SIPI vector is 0 to 0xff";
                    }
                    vector = (int) v;
                } catch (NumberFormatException e) {
                    return "vm:signal: not a vector: " + args[1];
                }
                vm.selectedVcpu().deliverStartup(vector);
                return String.format("SIPI 0x%02x sent: exit 4 if the vCPU is in wait-for-SIPI, else discarded", vector);
            }
            default -> {
                return USAGE;
            }
        }
    }

    private LogicalProcessor processor() {
        return vm.selectedVcpu().processorForInspection();
    }

    private String nmi() {
        try {
            return vm.withProcessor(c -> {
                if (((int) c.vmread(VmcsField.VM_ENTRY_INTR_INFO_FIELD) & INTR_VALID) != 0
                        || ((int) c.vmread(VmcsField.IDT_VECTORING_INFO_FIELD) & INTR_VALID) != 0) {
                    return "NMI refused: another event is being injected at the next entry; try again";
                }
                if ((c.vmread(VmcsField.GUEST_INTERRUPTIBILITY_INFO) & BLOCKS_NMI_INJECTION) != 0
                        || c.vmread(VmcsField.GUEST_ACTIVITY_STATE) == ACTIVITY_WAIT_FOR_SIPI) {
                    return "NMI refused: the guest blocks NMIs now (NMI, STI or MOV-SS blocking, or wait-for-SIPI)";
                }
                c.vmwrite(VmcsField.VM_ENTRY_INTR_INFO_FIELD, NMI_INJECTION);
                return "NMI injected at the next VM entry (vector 2)";
            });
        } catch (IllegalStateException e) {
            return "vm:signal: " + e.getMessage();
        }
    }
}
