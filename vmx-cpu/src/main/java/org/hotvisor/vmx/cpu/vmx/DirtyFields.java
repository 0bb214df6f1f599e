package org.hotvisor.vmx.cpu.vmx;

import static org.hotvisor.api.vmx.VmcsField.*;

import org.hotvisor.api.vmx.ProcessorControl;
import org.hotvisor.api.vmx.VmcsField;

/**
 * What a change of each VMCS field obliges the next VM entry to redo: which group of VM-entry
 * checks must run again ({@code CHECK_*}) and which part of the state must be copied into the
 * core again ({@code LOAD_*}). {@link Vmcs#dirty} accumulates these bits.
 *
 * <p><b>Check bits.</b> A group of checks (SDM 3C 27.2.1 controls, 27.2.2-27.2.4 host state,
 * 27.3.1 guest state) is a fixed sequence of rules over VMCS fields. When the last entry passed
 * every rule and no field a rule reads has changed since, the rule passes again, so the group can
 * be skipped; when only fields read by a few rules changed, running those rules in their original
 * order finds the same first failure (and so the same error number, exit qualification and
 * {@link EntryChecks#failure} text) as the whole group. A field's check bits therefore name every
 * rule subset that reads it:
 * <ul>
 *   <li>{@link #CHECK_PROC_RESERVED}: the primary processor-based controls against
 *       IA32_VMX_TRUE_PROCBASED_CTLS (27.2.1.1). The other 27.2.1.1 rules read only bits
 *       {@link #PROC_BITS_READ_BY_OTHER_RULES} of that field; the entry compares them with the
 *       value of the last successful check and runs the whole controls and guest groups when they
 *       differ, so the interrupt-window bit a VMM toggles costs one rule.
 *   <li>{@link #CHECK_ENTRY_INTERRUPTION}: the VM-entry interruption-information rules (27.2.1.3),
 *       which also read the guest CR0.PE (deliver-error-code with unrestricted guest).
 *   <li>{@link #CHECK_GUEST_EVENTS}: the guest RIP and RFLAGS rules (27.3.1.4) and the non-register
 *       state rules (27.3.1.5), which read RIP, RFLAGS, the interruptibility and activity states,
 *       the pending debug exceptions and the VM-entry interruption information. RFLAGS.VM is also
 *       read by the segment rules (27.3.1.2): when it differs from the last successful check the
 *       entry runs the whole guest group.
 *   <li>{@link #CHECK_CONTROLS}, {@link #CHECK_HOST}, {@link #CHECK_GUEST}: the whole group.
 * </ul>
 * GUEST_RSP and the VMX-preemption timer value are read by no rule; neither are the exception
 * bitmap, the page-fault error-code mask and match, the CR0/CR4 guest/host masks and read shadows,
 * the CR3-target values and the TSC offset (SDM 3C 27.2.1.1 has no rule on them). Every other field
 * is conservatively taken as read by the whole group of its type; VM-exit information fields are
 * read by none.
 *
 * <p><b>Load bits.</b> The guest-state fields the core keeps up to date itself equal the VMCS after
 * the exit saved them (SDM 3C 28.3), so a VMWRITE is what makes them differ. {@link #LOAD_GUEST}
 * (control registers, segments, descriptor tables, MSRs, PDPTEs) reloads the whole guest state and
 * makes the core recompute its derived state ({@code X86Core.stateLoaded}); RIP, RFLAGS,
 * interruptibility, activity state and pending debug exceptions are loaded one by one. The fields
 * the VMM or the guest may change behind the VMCS are loaded at every entry whatever their bits:
 * GUEST_RSP (the VMM's {@code setGpr(4)}), the preemption-timer value (the core counts it down),
 * DR7/IA32_DEBUGCTL, IA32_PAT and IA32_EFER when their "load" entry control is 1 and the PDPTEs.
 */
final class DirtyFields {

    static final int CHECK_CONTROLS = 1;
    static final int CHECK_PROC_RESERVED = 1 << 1;
    static final int CHECK_ENTRY_INTERRUPTION = 1 << 2;
    static final int CHECK_HOST = 1 << 3;
    static final int CHECK_GUEST = 1 << 4;
    static final int CHECK_GUEST_EVENTS = 1 << 5;
    static final int CHECKS = CHECK_CONTROLS | CHECK_PROC_RESERVED | CHECK_ENTRY_INTERRUPTION | CHECK_HOST
            | CHECK_GUEST | CHECK_GUEST_EVENTS;

    static final int LOAD_CONTROLS = 1 << 8;
    static final int LOAD_PROC = 1 << 9;
    static final int LOAD_TSC_OFFSET = 1 << 10;
    static final int LOAD_READ_SHADOWS = 1 << 11;
    static final int LOAD_GUEST = 1 << 12;
    static final int LOAD_RIP = 1 << 13;
    static final int LOAD_RFLAGS = 1 << 14;
    static final int LOAD_INTERRUPTIBILITY = 1 << 15;
    static final int LOAD_ACTIVITY = 1 << 16;
    static final int LOAD_PENDING_DEBUG = 1 << 17;
    static final int LOADS = LOAD_CONTROLS | LOAD_PROC | LOAD_TSC_OFFSET | LOAD_READ_SHADOWS | LOAD_GUEST
            | LOAD_RIP | LOAD_RFLAGS | LOAD_INTERRUPTIBILITY | LOAD_ACTIVITY | LOAD_PENDING_DEBUG;
    /** The guest-state loads that may be done without the full {@link #LOAD_GUEST}. */
    static final int LOAD_GUEST_SINGLE_FIELDS = LOAD_RIP | LOAD_RFLAGS | LOAD_INTERRUPTIBILITY | LOAD_ACTIVITY
            | LOAD_PENDING_DEBUG;

    /** A VMCS just made current (VMPTRLD), or about to be launched: everything is checked and loaded. */
    static final int ALL = CHECKS | LOADS;

    /**
     * Primary processor-based control bits read by 27.2.1.1 rules other than the reserved-bit rule:
     * secondary-control activation (also read by the guest-state group through the secondary
     * controls), I/O and MSR bitmaps, NMI-window exiting.
     */
    static final int PROC_BITS_READ_BY_OTHER_RULES = ProcessorControl.ACTIVATE_SECONDARY_CONTROLS.mask()
            | ProcessorControl.USE_IO_BITMAPS.mask() | ProcessorControl.USE_MSR_BITMAPS.mask()
            | ProcessorControl.NMI_WINDOW_EXITING.mask();

    /** Per slot: the bits a change of the field sets. */
    private static final int[] EFFECTS = new int[VmcsLayout.SLOTS];

    static {
        for (VmcsField field : VmcsField.values()) {
            int slot = VmcsLayout.slot(field);
            if (slot < 0) {
                continue;
            }
            EFFECTS[slot] = switch (VmcsLayout.typeOfSlot(slot)) {
                case VmcsLayout.TYPE_CONTROL -> CHECK_CONTROLS | LOAD_CONTROLS;
                case VmcsLayout.TYPE_GUEST_STATE -> CHECK_GUEST | LOAD_GUEST;
                case VmcsLayout.TYPE_HOST_STATE -> CHECK_HOST;
                default -> 0; // VM-exit information: read by no check, not loaded
            };
        }
        // controls read by the guest-state group too (27.3.1 reads pin-based, secondary and entry controls)
        effect(PIN_BASED_VM_EXEC_CONTROL, CHECK_CONTROLS | CHECK_GUEST | LOAD_CONTROLS);
        effect(SECONDARY_VM_EXEC_CONTROL, CHECK_CONTROLS | CHECK_GUEST | LOAD_CONTROLS);
        effect(VM_EXIT_CONTROLS, CHECK_CONTROLS | CHECK_HOST | LOAD_CONTROLS);
        effect(VM_ENTRY_CONTROLS, CHECK_CONTROLS | CHECK_HOST | CHECK_GUEST | LOAD_CONTROLS | LOAD_GUEST);
        // the fields a VMM rewrites around every exit
        effect(CPU_BASED_VM_EXEC_CONTROL, CHECK_PROC_RESERVED | LOAD_PROC);
        effect(VM_ENTRY_INTR_INFO_FIELD, CHECK_ENTRY_INTERRUPTION | CHECK_GUEST_EVENTS);
        effect(VM_ENTRY_EXCEPTION_ERROR_CODE, CHECK_ENTRY_INTERRUPTION);
        effect(VM_ENTRY_INSTRUCTION_LEN, CHECK_ENTRY_INTERRUPTION);
        effect(TSC_OFFSET, LOAD_TSC_OFFSET);
        effect(CR0_READ_SHADOW, LOAD_READ_SHADOWS);
        effect(CR4_READ_SHADOW, LOAD_READ_SHADOWS);
        effect(GUEST_RIP, CHECK_GUEST_EVENTS | LOAD_RIP);
        effect(GUEST_RFLAGS, CHECK_GUEST_EVENTS | LOAD_RFLAGS);
        effect(GUEST_INTERRUPTIBILITY_INFO, CHECK_GUEST_EVENTS | LOAD_INTERRUPTIBILITY);
        effect(GUEST_ACTIVITY_STATE, CHECK_GUEST_EVENTS | LOAD_ACTIVITY);
        effect(GUEST_PENDING_DBG_EXCEPTIONS, CHECK_GUEST_EVENTS | LOAD_PENDING_DEBUG);
        effect(GUEST_RSP, 0);
        effect(VMX_PREEMPTION_TIMER_VALUE, 0);
        // controls no entry check reads (SDM 3C 27.2.1.1 has no rule on them)
        for (VmcsField field : new VmcsField[] {EXCEPTION_BITMAP, PAGE_FAULT_ERROR_CODE_MASK,
                PAGE_FAULT_ERROR_CODE_MATCH, CR0_GUEST_HOST_MASK, CR4_GUEST_HOST_MASK, CR3_TARGET_VALUE0,
                CR3_TARGET_VALUE1, CR3_TARGET_VALUE2, CR3_TARGET_VALUE3}) {
            effect(field, LOAD_CONTROLS);
        }
        // the guest CR0.PE decides whether an injected exception delivers an error code (27.2.1.3)
        effect(GUEST_CR0, CHECK_GUEST | CHECK_ENTRY_INTERRUPTION | LOAD_GUEST);
    }

    private DirtyFields() {
    }

    private static void effect(VmcsField field, int bits) {
        EFFECTS[VmcsLayout.slot(field)] = bits;
    }

    /** The bits a change of the field in this slot sets. */
    static int of(int slot) {
        return EFFECTS[slot];
    }

    /** The check bits only: a change the core made itself and the VM exit saved needs no reload. */
    static int checksOf(int slot) {
        return EFFECTS[slot] & CHECKS;
    }
}
