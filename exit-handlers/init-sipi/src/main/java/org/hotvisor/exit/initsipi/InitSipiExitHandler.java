package org.hotvisor.exit.initsipi;

import org.hotvisor.api.ExitAction;
import org.hotvisor.api.ExitHandler;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.GuestRegisters;
import org.hotvisor.api.HandlesExit;
import org.hotvisor.api.Register;
import org.hotvisor.api.VmExit;
import org.hotvisor.api.vmx.VmcsField;
import org.hotvisor.api.vmx.VmxProcessor;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * INIT (exit reason 3) and start-up IPI (exit reason 4), the application-processor bring-up of
 * SDM 3A 9.4 ("Multiple-Processor Initialization"): in VMX non-root operation both signals are VM
 * exits (SDM 3C 26.2) and the VMM emulates what the processor would do.
 * <ul>
 * <li>INIT on an application processor: the INIT state of SDM 3A 10.1 Table 10-1 (real mode at
 *     F000:FFF0, CS base FFFF0000, CR0 60000010H, EDX = signature), then the wait-for-SIPI activity
 *     state (SDM 3C 25.4.2, 27.7.2). INIT on vCPU 0 is the platform reset: PASS, so the kernel's
 *     default performs it (a bundle cannot: MachineControl.reset would send INIT again).</li>
 * <li>SIPI: real mode at CS.selector = vector &lt;&lt; 8, CS.base = vector &lt;&lt; 12, IP 0
 *     (SDM 3A 9.4.4 / 11.6.1 "start-up IPI"), activity state active. The vector is exit
 *     qualification bits 7:0 (SDM 3C 28.2.1).</li>
 * </ul>
 * Every change is a staged VMWRITE or register write, committed when the handler returns.
 */
@Component(service = ExitHandler.class, immediate = true)
@HandlesExit(reason = {ExitReason.INIT_SIGNAL, ExitReason.SIPI})
public final class InitSipiExitHandler implements ExitHandler {
    static final int ACTIVITY_ACTIVE = 0, ACTIVITY_WAIT_FOR_SIPI = 3;
    /** SDM 3A 10.1 Table 10-1: CR0 after INIT keeps CD and NW set, ET 1. */
    static final long CR0_INIT = 0x6000_0010L;
    static final long CR0_PE = 1, CR0_PG = 1L << 31;
    /** IA32_VMX_CR0_FIXED0 / CR4_FIXED0 (SDM 3D A.7, A.8): bits fixed to 1 in VMX operation. */
    static final int IA32_VMX_CR0_FIXED0 = 0x486, IA32_VMX_CR4_FIXED0 = 0x488;
    /** Without a processor service to ask: NE (CR0 bit 5) and VMXE (CR4 bit 13), what every VT-x part fixes. */
    static final long CR0_FIXED_FALLBACK = 1L << 5, CR4_FIXED_FALLBACK = 1L << 13;
    static final long RESET_CS_SELECTOR = 0xF000, RESET_CS_BASE = 0xFFFF_0000L, RESET_IP = 0xFFF0;
    static final long REAL_MODE_LIMIT = 0xFFFF;
    /** Access rights (SDM 3C 25.4.1): present accessed code/data, LDT. */
    static final int AR_CODE = 0x9B, AR_DATA = 0x93, AR_LDT = 0x82;
    /**
     * TR after INIT: Table 10-1 says only "present, R/W"; a busy 32-bit TSS (type 11, as KVM's reset
     * state) passes VM entry in every mode, while type 3 fails it once the AP enters IA-32e mode
     * before its first LTR (SDM 3C 27.3.1.2), as kvm-unit-tests' APs do.
     */
    static final int AR_TSS32_BUSY = 0x8B;
    static final long RFLAGS_INIT = 0x2, DR7_INIT = 0x400;
    /** EDX after INIT: the processor signature (family 6, as the CPUID handler reports). */
    static final long EDX_SIGNATURE = 0x600;
    static final int SIPI_VECTOR_MASK = 0xFF, SIPI_SELECTOR_SHIFT = 8, REAL_MODE_BASE_SHIFT = 4;
    private static final int GPRS = 16, RDX = 2;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile VmxProcessor processor;

    @Override
    public ExitAction handle(VmExit exit) {
        ExitReason reason = exit.reason();
        if (reason == ExitReason.INIT_SIGNAL) {
            if (exit.vcpu().index() == 0) {
                return ExitAction.PASS; // the platform reset: the kernel's default
            }
            enterInitState(exit);
            return ExitAction.RESUME;
        }
        if (reason == ExitReason.SIPI) {
            startup(exit, (int) exit.qualification() & SIPI_VECTOR_MASK);
            return ExitAction.RESUME;
        }
        return ExitAction.PASS;
    }

    static void startup(VmExit exit, int vector) {
        long selector = (long) vector << SIPI_SELECTOR_SHIFT;
        exit.vmwrite(VmcsField.GUEST_CS_SELECTOR.encoding(), selector);
        exit.vmwrite(VmcsField.GUEST_CS_BASE.encoding(), selector << REAL_MODE_BASE_SHIFT);
        exit.vmwrite(VmcsField.GUEST_RIP.encoding(), 0);
        exit.vmwrite(VmcsField.GUEST_ACTIVITY_STATE.encoding(), ACTIVITY_ACTIVE);
    }

    /** SDM 3A 10.1 Table 10-1 (the INIT column) plus the wait-for-SIPI activity state. */
    void enterInitState(VmExit exit) {
        VmxProcessor p = processor;
        // Unrestricted guest lets PE and PG be 0; the other FIXED0 bits stay set in VMX operation.
        long cr0Fixed = p == null ? CR0_FIXED_FALLBACK : p.capabilityMsr(IA32_VMX_CR0_FIXED0) & ~(CR0_PE | CR0_PG);
        long cr4Fixed = p == null ? CR4_FIXED_FALLBACK : p.capabilityMsr(IA32_VMX_CR4_FIXED0);
        w(exit, VmcsField.GUEST_CR0, CR0_INIT | cr0Fixed);
        w(exit, VmcsField.CR0_READ_SHADOW, CR0_INIT);
        w(exit, VmcsField.GUEST_CR3, 0);
        w(exit, VmcsField.GUEST_CR4, cr4Fixed);
        w(exit, VmcsField.CR4_READ_SHADOW, 0);
        w(exit, VmcsField.GUEST_RFLAGS, RFLAGS_INIT);
        w(exit, VmcsField.GUEST_RIP, RESET_IP);
        w(exit, VmcsField.GUEST_RSP, 0);
        w(exit, VmcsField.GUEST_DR7, DR7_INIT);
        w(exit, VmcsField.GUEST_IA32_EFER, 0);
        segment(exit, VmcsField.GUEST_CS_SELECTOR, VmcsField.GUEST_CS_BASE, VmcsField.GUEST_CS_LIMIT, VmcsField.GUEST_CS_AR_BYTES,
                RESET_CS_SELECTOR, RESET_CS_BASE, AR_CODE);
        segment(exit, VmcsField.GUEST_ES_SELECTOR, VmcsField.GUEST_ES_BASE, VmcsField.GUEST_ES_LIMIT, VmcsField.GUEST_ES_AR_BYTES, 0, 0, AR_DATA);
        segment(exit, VmcsField.GUEST_SS_SELECTOR, VmcsField.GUEST_SS_BASE, VmcsField.GUEST_SS_LIMIT, VmcsField.GUEST_SS_AR_BYTES, 0, 0, AR_DATA);
        segment(exit, VmcsField.GUEST_DS_SELECTOR, VmcsField.GUEST_DS_BASE, VmcsField.GUEST_DS_LIMIT, VmcsField.GUEST_DS_AR_BYTES, 0, 0, AR_DATA);
        segment(exit, VmcsField.GUEST_FS_SELECTOR, VmcsField.GUEST_FS_BASE, VmcsField.GUEST_FS_LIMIT, VmcsField.GUEST_FS_AR_BYTES, 0, 0, AR_DATA);
        segment(exit, VmcsField.GUEST_GS_SELECTOR, VmcsField.GUEST_GS_BASE, VmcsField.GUEST_GS_LIMIT, VmcsField.GUEST_GS_AR_BYTES, 0, 0, AR_DATA);
        segment(exit, VmcsField.GUEST_LDTR_SELECTOR, VmcsField.GUEST_LDTR_BASE, VmcsField.GUEST_LDTR_LIMIT,
                VmcsField.GUEST_LDTR_AR_BYTES, 0, 0, AR_LDT);
        segment(exit, VmcsField.GUEST_TR_SELECTOR, VmcsField.GUEST_TR_BASE, VmcsField.GUEST_TR_LIMIT, VmcsField.GUEST_TR_AR_BYTES,
                0, 0, AR_TSS32_BUSY);
        w(exit, VmcsField.GUEST_GDTR_BASE, 0);
        w(exit, VmcsField.GUEST_GDTR_LIMIT, REAL_MODE_LIMIT);
        w(exit, VmcsField.GUEST_IDTR_BASE, 0);
        w(exit, VmcsField.GUEST_IDTR_LIMIT, REAL_MODE_LIMIT);
        GuestRegisters regs = exit.registers();
        for (int i = 0; i < GPRS; i++) {
            regs.setGpr(i, 0);
        }
        regs.setGpr(RDX, EDX_SIGNATURE);
        regs.set(Register.CR2, 0);
        w(exit, VmcsField.GUEST_INTERRUPTIBILITY_INFO, 0);
        w(exit, VmcsField.GUEST_PENDING_DBG_EXCEPTIONS, 0);
        w(exit, VmcsField.VM_ENTRY_INTR_INFO_FIELD, 0);
        w(exit, VmcsField.GUEST_ACTIVITY_STATE, ACTIVITY_WAIT_FOR_SIPI);
    }

    private static void w(VmExit exit, VmcsField field, long value) {
        exit.vmwrite(field.encoding(), value);
    }

    private static void segment(VmExit exit, VmcsField sel, VmcsField base, VmcsField limit, VmcsField ar, long selector,
            long baseValue, int rights) {
        w(exit, sel, selector);
        w(exit, base, baseValue);
        w(exit, limit, REAL_MODE_LIMIT);
        w(exit, ar, rights);
    }
}
