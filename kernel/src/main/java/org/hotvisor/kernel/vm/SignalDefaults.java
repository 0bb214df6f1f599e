package org.hotvisor.kernel.vm;

import java.util.concurrent.atomic.AtomicBoolean;
import org.hotvisor.api.ExitAction;
import org.hotvisor.api.vmx.LogicalProcessor;
import org.hotvisor.api.vmx.VmcsField;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The kernel's defaults for the platform-signal exits (a handler bundle registered for the
 * reason replaces them, as for every default):
 * <ul>
 * <li>INIT (3) on vCPU 0: the platform reset ({@code Machine.performPlatformReset}). The
 *     platform's reset lines ({@code MachineControl.reset}: i8042 pulse, port 0x92, 0xCF9) reach
 *     the guest as this INIT exit, so a handler bundle for exit 3 can observe or veto them. On any other vCPU: the INIT state of SDM 3A 10.1 Table 10-1 (real mode at
 *     F000:FFF0, CS base FFFF0000) in the wait-for-SIPI activity state (SDM 3C 27.7.2), as an
 *     application processor waits for its start-up IPI.</li>
 * <li>SIPI (4): the vCPU starts in real mode at CS = vector &lt;&lt; 8, IP = 0 (SDM 3A 8.4.4,
 *     10.4), activity state active.</li>
 * <li>I/O SMI (5), other SMI (6): logged once, then the guest resumes. Hotvisor has no SMM: the
 *     VMM is the SMM monitor of the dual-monitor treatment and simply returns.</li>
 * </ul>
 * The guest state is written straight through the processor (a VMM's VMWRITEs), on the vCPU thread.
 */
final class SignalDefaults {
    private static final Logger LOG = LoggerFactory.getLogger(SignalDefaults.class);
    private static final AtomicBoolean SMI_LOGGED = new AtomicBoolean();

    static final int ACTIVITY_ACTIVE = 0, ACTIVITY_WAIT_FOR_SIPI = 3;
    /** SDM 3A 10.1 Table 10-1: CR0 after INIT keeps CD and NW; ET is 1. */
    static final long CR0_INIT = 0x6000_0010L;
    static final long CR0_PE = 1, CR0_PG = 1L << 31;
    static final int IA32_VMX_CR0_FIXED0 = 0x486, IA32_VMX_CR4_FIXED0 = 0x488;
    static final long RESET_CS_SELECTOR = 0xF000, RESET_CS_BASE = 0xFFFF_0000L, RESET_IP = 0xFFF0;
    static final long REAL_MODE_LIMIT = 0xFFFF;
    static final int AR_CODE = 0x9B, AR_DATA = 0x93, AR_LDT = 0x82;
    /**
     * TR after INIT: Table 10-1 says only "present, R/W"; a busy 32-bit TSS (type 11, as KVM's reset
     * state) passes VM entry in every mode, while type 3 fails it once the AP enters IA-32e mode
     * before its first LTR (SDM 3C 27.3.1.2).
     */
    static final int AR_TSS32_BUSY = 0x8B;
    static final long RFLAGS_INIT = 0x2, DR7_INIT = 0x400;
    /** SDM 3A 10.1 Table 10-1: EDX holds the processor signature (family 6 here). */
    static final long EDX_SIGNATURE = 0x600;
    private static final int SIPI_VECTOR_MASK = 0xFF, SIPI_CS_SHIFT = 8, REAL_MODE_BASE_SHIFT = 4;

    private SignalDefaults() {}

    static ExitAction init(ExitView exit, Machine machine) {
        if (exit.vcpu().index() == 0) {
            // Perform, not request: Machine.reset(String) would signal INIT again.
            machine.performPlatformReset("INIT signal (exit 3) on vCPU 0");
            return ExitAction.RESUME;
        }
        enterInitState(exit.cpu, machine);
        return ExitAction.RESUME;
    }

    static ExitAction startup(ExitView exit) {
        int vector = (int) exit.qualification & SIPI_VECTOR_MASK;
        LogicalProcessor c = exit.cpu;
        long selector = (long) vector << SIPI_CS_SHIFT;
        c.vmwrite(VmcsField.GUEST_CS_SELECTOR, selector);
        c.vmwrite(VmcsField.GUEST_CS_BASE, selector << REAL_MODE_BASE_SHIFT);
        c.vmwrite(VmcsField.GUEST_RIP, 0);
        c.vmwrite(VmcsField.GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
        return ExitAction.RESUME;
    }

    static ExitAction smi(ExitView exit) {
        if (SMI_LOGGED.compareAndSet(false, true)) {
            LOG.info("SMI (exit {}) at RIP 0x{}: Hotvisor has no SMM; the guest resumes (logged once)",
                    exit.rawReason() & 0xFFFF, Long.toHexString(exit.guestRip));
        }
        return ExitAction.RESUME;
    }

    /** SDM 3A 10.1 Table 10-1 (the INIT column) plus the wait-for-SIPI activity state. */
    static void enterInitState(LogicalProcessor c, Machine machine) {
        org.hotvisor.api.vmx.VmxProcessor p = machine.processorService();
        // VMX operation keeps the FIXED0 bits (NE; PE and PG may be 0 with unrestricted guest)
        long cr0Fixed = p == null ? 0 : p.capabilityMsr(IA32_VMX_CR0_FIXED0) & ~(CR0_PE | CR0_PG);
        long cr4Fixed = p == null ? 0 : p.capabilityMsr(IA32_VMX_CR4_FIXED0);
        c.vmwrite(VmcsField.GUEST_CR0, CR0_INIT | cr0Fixed);
        c.vmwrite(VmcsField.CR0_READ_SHADOW, CR0_INIT);
        c.vmwrite(VmcsField.GUEST_CR3, 0);
        c.vmwrite(VmcsField.GUEST_CR4, cr4Fixed);
        c.vmwrite(VmcsField.CR4_READ_SHADOW, 0);
        c.setCr2(0);
        c.vmwrite(VmcsField.GUEST_RFLAGS, RFLAGS_INIT);
        c.vmwrite(VmcsField.GUEST_RIP, RESET_IP);
        c.vmwrite(VmcsField.GUEST_RSP, 0);
        c.vmwrite(VmcsField.GUEST_DR7, DR7_INIT);
        c.vmwrite(VmcsField.GUEST_IA32_EFER, 0);
        segment(c, VmcsField.GUEST_CS_SELECTOR, VmcsField.GUEST_CS_BASE, VmcsField.GUEST_CS_LIMIT,
                VmcsField.GUEST_CS_AR_BYTES, RESET_CS_SELECTOR, RESET_CS_BASE, AR_CODE);
        VmcsField[][] data = {
            {VmcsField.GUEST_ES_SELECTOR, VmcsField.GUEST_ES_BASE, VmcsField.GUEST_ES_LIMIT, VmcsField.GUEST_ES_AR_BYTES},
            {VmcsField.GUEST_SS_SELECTOR, VmcsField.GUEST_SS_BASE, VmcsField.GUEST_SS_LIMIT, VmcsField.GUEST_SS_AR_BYTES},
            {VmcsField.GUEST_DS_SELECTOR, VmcsField.GUEST_DS_BASE, VmcsField.GUEST_DS_LIMIT, VmcsField.GUEST_DS_AR_BYTES},
            {VmcsField.GUEST_FS_SELECTOR, VmcsField.GUEST_FS_BASE, VmcsField.GUEST_FS_LIMIT, VmcsField.GUEST_FS_AR_BYTES},
            {VmcsField.GUEST_GS_SELECTOR, VmcsField.GUEST_GS_BASE, VmcsField.GUEST_GS_LIMIT, VmcsField.GUEST_GS_AR_BYTES},
        };
        for (VmcsField[] s : data) {
            segment(c, s[0], s[1], s[2], s[3], 0, 0, AR_DATA);
        }
        segment(c, VmcsField.GUEST_LDTR_SELECTOR, VmcsField.GUEST_LDTR_BASE, VmcsField.GUEST_LDTR_LIMIT,
                VmcsField.GUEST_LDTR_AR_BYTES, 0, 0, AR_LDT);
        segment(c, VmcsField.GUEST_TR_SELECTOR, VmcsField.GUEST_TR_BASE, VmcsField.GUEST_TR_LIMIT,
                VmcsField.GUEST_TR_AR_BYTES, 0, 0, AR_TSS32_BUSY);
        c.vmwrite(VmcsField.GUEST_GDTR_BASE, 0);
        c.vmwrite(VmcsField.GUEST_GDTR_LIMIT, REAL_MODE_LIMIT);
        c.vmwrite(VmcsField.GUEST_IDTR_BASE, 0);
        c.vmwrite(VmcsField.GUEST_IDTR_LIMIT, REAL_MODE_LIMIT);
        for (int i = 0; i < 16; i++) {
            c.setGpr(i, 0);
        }
        c.setGpr(2, EDX_SIGNATURE);
        c.vmwrite(VmcsField.GUEST_INTERRUPTIBILITY_INFO, 0);
        c.vmwrite(VmcsField.GUEST_PENDING_DBG_EXCEPTIONS, 0);
        c.vmwrite(VmcsField.VM_ENTRY_INTR_INFO_FIELD, 0);
        c.vmwrite(VmcsField.GUEST_ACTIVITY_STATE, ACTIVITY_WAIT_FOR_SIPI);
    }

    private static void segment(LogicalProcessor c, VmcsField sel, VmcsField base, VmcsField limit, VmcsField ar,
            long selector, long baseValue, int rights) {
        c.vmwrite(sel, selector);
        c.vmwrite(base, baseValue);
        c.vmwrite(limit, REAL_MODE_LIMIT);
        c.vmwrite(ar, rights);
    }
}
