package org.hotvisor.device.lapic;

import static org.hotvisor.device.lapic.ApicRegisters.*;

import org.hotvisor.api.ExitAction;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.GuestRegisters;
import org.hotvisor.api.VmExit;

/**
 * The guest's accesses to its own local APIC. Which APIC depends on which vCPU exits, and
 * neither MmioDevice nor MsrDevice calls say that: so the APIC handles the exits itself, ranked
 * above the generic MMIO and MSR handlers, and passes on everything that is not its own.
 * <ul>
 * <li>EPT violation (48) by a data access to the vCPU's xAPIC page: read or write a register,
 *     complete the access like exit-handlers/mmio (read: {@link VmExit#completeRead}), RESUME.</li>
 * <li>RDMSR (31) / WRMSR (32) of IA32_APIC_BASE, IA32_TSC_DEADLINE and the x2APIC range
 *     0x800-0x8FF: EMULATED, or #GP(0) where the SDM says so.</li>
 * </ul>
 * Allocation-free and lock-free apart from the APIC's own monitor.
 */
final class ApicExits {
    /** SDM 3C 28.2.1, "Exit Qualification for EPT Violations": bits 0-2 access type, 7 linear valid, 8 final translation. */
    static final long EPT_DATA_WRITE = 1L << 1;
    static final long EPT_FETCH = 1L << 2;
    static final long EPT_LINEAR_VALID = 1L << 7;
    static final long EPT_FINAL_TRANSLATION = 1L << 8;
    static final int VECTOR_GP = 13;
    private static final long LOW_32 = 0xFFFF_FFFFL;

    private final ApicSystem system;

    ApicExits(ApicSystem system) {
        this.system = system;
    }

    ExitAction handle(VmExit exit) {
        ExitReason reason = exit.reason();
        if (reason == null) {
            return ExitAction.PASS;
        }
        int cpu = exit.vcpu().index();
        if (cpu < 0 || cpu >= system.size()) {
            return ExitAction.PASS;
        }
        LocalApic apic = system.apic(cpu);
        return switch (reason) {
            case EPT_VIOLATION -> mmio(exit, apic);
            case RDMSR -> msr(exit, apic, false);
            case WRMSR -> msr(exit, apic, true);
            default -> ExitAction.PASS;
        };
    }

    /** Whether this bundle owns an MSR index. */
    static boolean ownsMsr(int index) {
        return index == IA32_APIC_BASE || index == IA32_TSC_DEADLINE || (index >= X2APIC_MSR_FIRST && index <= X2APIC_MSR_LAST);
    }

    private static ExitAction mmio(VmExit exit, LocalApic apic) {
        long q = exit.qualification();
        boolean pageWalk = (q & EPT_LINEAR_VALID) != 0 && (q & EPT_FINAL_TRANSLATION) == 0;
        int size = exit.accessSize();
        if ((q & EPT_FETCH) != 0 || pageWalk || !(size == 1 || size == 2 || size == 4 || size == 8)) {
            return ExitAction.PASS;
        }
        long address = exit.guestPhysicalAddress();
        if (!apic.mmioDecodes(address)) {
            return ExitAction.PASS;
        }
        int offset = (int) (address - apic.mmioBase());
        if ((q & EPT_DATA_WRITE) != 0) {
            apic.mmioWrite(offset, size, exit.accessData());
        } else {
            exit.completeRead(apic.mmioRead(offset, size));
        }
        return ExitAction.RESUME;
    }

    private static ExitAction msr(VmExit exit, LocalApic apic, boolean write) {
        GuestRegisters regs = exit.registers();
        int index = (int) regs.rcx();
        if (!ownsMsr(index)) {
            return ExitAction.PASS;
        }
        if (write) {
            long value = (regs.rdx() & LOW_32) << 32 | (regs.rax() & LOW_32);
            boolean ok = switch (index) {
                case IA32_APIC_BASE -> {
                    apic.publishTo(exit.vcpu()); // the vCPU the CPUID handler will ask about (a no-op once bound)
                    yield apic.writeApicBase(value);
                }
                case IA32_TSC_DEADLINE -> {
                    apic.writeTscDeadline(value);
                    yield true;
                }
                default -> apic.x2apicWrite(index, value);
            };
            return ok ? ExitAction.EMULATED : generalProtection(exit);
        }
        long value;
        switch (index) {
            case IA32_APIC_BASE -> value = apic.apicBase();
            case IA32_TSC_DEADLINE -> value = apic.tscDeadline();
            default -> {
                if (!apic.x2apicReadable(index)) {
                    return generalProtection(exit);
                }
                value = apic.x2apicRead(index);
            }
        }
        // RDMSR loads EDX:EAX; 32-bit register writes clear bits 63:32.
        regs.setRax(value & LOW_32);
        regs.setRdx(value >>> 32);
        return ExitAction.EMULATED;
    }

    private static ExitAction generalProtection(VmExit exit) {
        exit.injectException(VECTOR_GP, 0);
        return ExitAction.RESUME;
    }
}
