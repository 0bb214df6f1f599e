package org.hotvisor.vmx.cpu.vmx;

import org.hotvisor.api.vmx.VmcsField;

/**
 * The cache slots ({@link VmcsLayout#slot(VmcsField)}) of the fields the VM-entry, VM-exit and
 * VMREAD/VMWRITE hot paths touch, as compile-time-foldable constants: {@code values[Slot.GUEST_RIP]}
 * is a single array access once the JIT has compiled the caller.
 */
final class Slot {

    static final int PIN_BASED_VM_EXEC_CONTROL = VmcsLayout.slot(VmcsField.PIN_BASED_VM_EXEC_CONTROL);
    static final int CPU_BASED_VM_EXEC_CONTROL = VmcsLayout.slot(VmcsField.CPU_BASED_VM_EXEC_CONTROL);
    static final int SECONDARY_VM_EXEC_CONTROL = VmcsLayout.slot(VmcsField.SECONDARY_VM_EXEC_CONTROL);
    static final int EXCEPTION_BITMAP = VmcsLayout.slot(VmcsField.EXCEPTION_BITMAP);
    static final int PAGE_FAULT_ERROR_CODE_MASK = VmcsLayout.slot(VmcsField.PAGE_FAULT_ERROR_CODE_MASK);
    static final int PAGE_FAULT_ERROR_CODE_MATCH = VmcsLayout.slot(VmcsField.PAGE_FAULT_ERROR_CODE_MATCH);
    static final int CR0_GUEST_HOST_MASK = VmcsLayout.slot(VmcsField.CR0_GUEST_HOST_MASK);
    static final int CR0_READ_SHADOW = VmcsLayout.slot(VmcsField.CR0_READ_SHADOW);
    static final int CR4_GUEST_HOST_MASK = VmcsLayout.slot(VmcsField.CR4_GUEST_HOST_MASK);
    static final int CR4_READ_SHADOW = VmcsLayout.slot(VmcsField.CR4_READ_SHADOW);
    static final int CR3_TARGET_COUNT = VmcsLayout.slot(VmcsField.CR3_TARGET_COUNT);
    static final int CR3_TARGET_VALUE0 = VmcsLayout.slot(VmcsField.CR3_TARGET_VALUE0);
    static final int CR3_TARGET_VALUE1 = VmcsLayout.slot(VmcsField.CR3_TARGET_VALUE1);
    static final int CR3_TARGET_VALUE2 = VmcsLayout.slot(VmcsField.CR3_TARGET_VALUE2);
    static final int CR3_TARGET_VALUE3 = VmcsLayout.slot(VmcsField.CR3_TARGET_VALUE3);
    static final int IO_BITMAP_A = VmcsLayout.slot(VmcsField.IO_BITMAP_A);
    static final int IO_BITMAP_B = VmcsLayout.slot(VmcsField.IO_BITMAP_B);
    static final int MSR_BITMAP = VmcsLayout.slot(VmcsField.MSR_BITMAP);
    static final int TSC_OFFSET = VmcsLayout.slot(VmcsField.TSC_OFFSET);
    static final int TPR_THRESHOLD = VmcsLayout.slot(VmcsField.TPR_THRESHOLD);
    static final int VIRTUAL_APIC_PAGE_ADDR = VmcsLayout.slot(VmcsField.VIRTUAL_APIC_PAGE_ADDR);
    static final int VMREAD_BITMAP = VmcsLayout.slot(VmcsField.VMREAD_BITMAP);
    static final int VMWRITE_BITMAP = VmcsLayout.slot(VmcsField.VMWRITE_BITMAP);
    static final int XSS_EXIT_BITMAP = VmcsLayout.slot(VmcsField.XSS_EXIT_BITMAP);
    static final int PLE_GAP = VmcsLayout.slot(VmcsField.PLE_GAP);
    static final int PLE_WINDOW = VmcsLayout.slot(VmcsField.PLE_WINDOW);
    static final int VM_EXIT_CONTROLS = VmcsLayout.slot(VmcsField.VM_EXIT_CONTROLS);
    static final int VM_ENTRY_CONTROLS = VmcsLayout.slot(VmcsField.VM_ENTRY_CONTROLS);
    static final int VM_EXIT_MSR_STORE_ADDR = VmcsLayout.slot(VmcsField.VM_EXIT_MSR_STORE_ADDR);
    static final int VM_EXIT_MSR_STORE_COUNT = VmcsLayout.slot(VmcsField.VM_EXIT_MSR_STORE_COUNT);
    static final int VM_EXIT_MSR_LOAD_ADDR = VmcsLayout.slot(VmcsField.VM_EXIT_MSR_LOAD_ADDR);
    static final int VM_EXIT_MSR_LOAD_COUNT = VmcsLayout.slot(VmcsField.VM_EXIT_MSR_LOAD_COUNT);
    static final int VM_ENTRY_MSR_LOAD_ADDR = VmcsLayout.slot(VmcsField.VM_ENTRY_MSR_LOAD_ADDR);
    static final int VM_ENTRY_MSR_LOAD_COUNT = VmcsLayout.slot(VmcsField.VM_ENTRY_MSR_LOAD_COUNT);
    static final int VM_ENTRY_INTR_INFO_FIELD = VmcsLayout.slot(VmcsField.VM_ENTRY_INTR_INFO_FIELD);
    static final int VM_ENTRY_EXCEPTION_ERROR_CODE = VmcsLayout.slot(VmcsField.VM_ENTRY_EXCEPTION_ERROR_CODE);
    static final int VM_ENTRY_INSTRUCTION_LEN = VmcsLayout.slot(VmcsField.VM_ENTRY_INSTRUCTION_LEN);
    static final int VM_INSTRUCTION_ERROR = VmcsLayout.slot(VmcsField.VM_INSTRUCTION_ERROR);
    static final int VM_EXIT_REASON = VmcsLayout.slot(VmcsField.VM_EXIT_REASON);
    static final int EXIT_QUALIFICATION = VmcsLayout.slot(VmcsField.EXIT_QUALIFICATION);
    static final int GUEST_LINEAR_ADDRESS = VmcsLayout.slot(VmcsField.GUEST_LINEAR_ADDRESS);
    static final int GUEST_PHYSICAL_ADDRESS = VmcsLayout.slot(VmcsField.GUEST_PHYSICAL_ADDRESS);
    static final int VM_EXIT_INTR_INFO = VmcsLayout.slot(VmcsField.VM_EXIT_INTR_INFO);
    static final int VM_EXIT_INTR_ERROR_CODE = VmcsLayout.slot(VmcsField.VM_EXIT_INTR_ERROR_CODE);
    static final int IDT_VECTORING_INFO_FIELD = VmcsLayout.slot(VmcsField.IDT_VECTORING_INFO_FIELD);
    static final int IDT_VECTORING_ERROR_CODE = VmcsLayout.slot(VmcsField.IDT_VECTORING_ERROR_CODE);
    static final int VM_EXIT_INSTRUCTION_LEN = VmcsLayout.slot(VmcsField.VM_EXIT_INSTRUCTION_LEN);
    static final int VMX_INSTRUCTION_INFO = VmcsLayout.slot(VmcsField.VMX_INSTRUCTION_INFO);
    static final int IO_RCX = VmcsLayout.slot(VmcsField.IO_RCX);
    static final int IO_RSI = VmcsLayout.slot(VmcsField.IO_RSI);
    static final int IO_RDI = VmcsLayout.slot(VmcsField.IO_RDI);
    static final int IO_RIP = VmcsLayout.slot(VmcsField.IO_RIP);
    static final int GUEST_CR0 = VmcsLayout.slot(VmcsField.GUEST_CR0);
    static final int GUEST_CR3 = VmcsLayout.slot(VmcsField.GUEST_CR3);
    static final int GUEST_CR4 = VmcsLayout.slot(VmcsField.GUEST_CR4);
    static final int GUEST_DR7 = VmcsLayout.slot(VmcsField.GUEST_DR7);
    static final int GUEST_IA32_DEBUGCTL = VmcsLayout.slot(VmcsField.GUEST_IA32_DEBUGCTL);
    static final int GUEST_SYSENTER_CS = VmcsLayout.slot(VmcsField.GUEST_SYSENTER_CS);
    static final int GUEST_SYSENTER_ESP = VmcsLayout.slot(VmcsField.GUEST_SYSENTER_ESP);
    static final int GUEST_SYSENTER_EIP = VmcsLayout.slot(VmcsField.GUEST_SYSENTER_EIP);
    static final int GUEST_IA32_PAT = VmcsLayout.slot(VmcsField.GUEST_IA32_PAT);
    static final int GUEST_IA32_EFER = VmcsLayout.slot(VmcsField.GUEST_IA32_EFER);
    static final int GUEST_ES_SELECTOR = VmcsLayout.slot(VmcsField.GUEST_ES_SELECTOR);
    static final int GUEST_CS_SELECTOR = VmcsLayout.slot(VmcsField.GUEST_CS_SELECTOR);
    static final int GUEST_SS_SELECTOR = VmcsLayout.slot(VmcsField.GUEST_SS_SELECTOR);
    static final int GUEST_DS_SELECTOR = VmcsLayout.slot(VmcsField.GUEST_DS_SELECTOR);
    static final int GUEST_FS_SELECTOR = VmcsLayout.slot(VmcsField.GUEST_FS_SELECTOR);
    static final int GUEST_GS_SELECTOR = VmcsLayout.slot(VmcsField.GUEST_GS_SELECTOR);
    static final int GUEST_LDTR_SELECTOR = VmcsLayout.slot(VmcsField.GUEST_LDTR_SELECTOR);
    static final int GUEST_TR_SELECTOR = VmcsLayout.slot(VmcsField.GUEST_TR_SELECTOR);
    static final int GUEST_ES_BASE = VmcsLayout.slot(VmcsField.GUEST_ES_BASE);
    static final int GUEST_CS_BASE = VmcsLayout.slot(VmcsField.GUEST_CS_BASE);
    static final int GUEST_SS_BASE = VmcsLayout.slot(VmcsField.GUEST_SS_BASE);
    static final int GUEST_DS_BASE = VmcsLayout.slot(VmcsField.GUEST_DS_BASE);
    static final int GUEST_FS_BASE = VmcsLayout.slot(VmcsField.GUEST_FS_BASE);
    static final int GUEST_GS_BASE = VmcsLayout.slot(VmcsField.GUEST_GS_BASE);
    static final int GUEST_LDTR_BASE = VmcsLayout.slot(VmcsField.GUEST_LDTR_BASE);
    static final int GUEST_TR_BASE = VmcsLayout.slot(VmcsField.GUEST_TR_BASE);
    static final int GUEST_ES_LIMIT = VmcsLayout.slot(VmcsField.GUEST_ES_LIMIT);
    static final int GUEST_CS_LIMIT = VmcsLayout.slot(VmcsField.GUEST_CS_LIMIT);
    static final int GUEST_SS_LIMIT = VmcsLayout.slot(VmcsField.GUEST_SS_LIMIT);
    static final int GUEST_DS_LIMIT = VmcsLayout.slot(VmcsField.GUEST_DS_LIMIT);
    static final int GUEST_FS_LIMIT = VmcsLayout.slot(VmcsField.GUEST_FS_LIMIT);
    static final int GUEST_GS_LIMIT = VmcsLayout.slot(VmcsField.GUEST_GS_LIMIT);
    static final int GUEST_LDTR_LIMIT = VmcsLayout.slot(VmcsField.GUEST_LDTR_LIMIT);
    static final int GUEST_TR_LIMIT = VmcsLayout.slot(VmcsField.GUEST_TR_LIMIT);
    static final int GUEST_ES_AR_BYTES = VmcsLayout.slot(VmcsField.GUEST_ES_AR_BYTES);
    static final int GUEST_CS_AR_BYTES = VmcsLayout.slot(VmcsField.GUEST_CS_AR_BYTES);
    static final int GUEST_SS_AR_BYTES = VmcsLayout.slot(VmcsField.GUEST_SS_AR_BYTES);
    static final int GUEST_DS_AR_BYTES = VmcsLayout.slot(VmcsField.GUEST_DS_AR_BYTES);
    static final int GUEST_FS_AR_BYTES = VmcsLayout.slot(VmcsField.GUEST_FS_AR_BYTES);
    static final int GUEST_GS_AR_BYTES = VmcsLayout.slot(VmcsField.GUEST_GS_AR_BYTES);
    static final int GUEST_LDTR_AR_BYTES = VmcsLayout.slot(VmcsField.GUEST_LDTR_AR_BYTES);
    static final int GUEST_TR_AR_BYTES = VmcsLayout.slot(VmcsField.GUEST_TR_AR_BYTES);
    static final int GUEST_GDTR_BASE = VmcsLayout.slot(VmcsField.GUEST_GDTR_BASE);
    static final int GUEST_GDTR_LIMIT = VmcsLayout.slot(VmcsField.GUEST_GDTR_LIMIT);
    static final int GUEST_IDTR_BASE = VmcsLayout.slot(VmcsField.GUEST_IDTR_BASE);
    static final int GUEST_IDTR_LIMIT = VmcsLayout.slot(VmcsField.GUEST_IDTR_LIMIT);
    static final int GUEST_RIP = VmcsLayout.slot(VmcsField.GUEST_RIP);
    static final int GUEST_RSP = VmcsLayout.slot(VmcsField.GUEST_RSP);
    static final int GUEST_RFLAGS = VmcsLayout.slot(VmcsField.GUEST_RFLAGS);
    static final int GUEST_PENDING_DBG_EXCEPTIONS = VmcsLayout.slot(VmcsField.GUEST_PENDING_DBG_EXCEPTIONS);
    static final int GUEST_INTERRUPTIBILITY_INFO = VmcsLayout.slot(VmcsField.GUEST_INTERRUPTIBILITY_INFO);
    static final int GUEST_ACTIVITY_STATE = VmcsLayout.slot(VmcsField.GUEST_ACTIVITY_STATE);
    static final int VMX_PREEMPTION_TIMER_VALUE = VmcsLayout.slot(VmcsField.VMX_PREEMPTION_TIMER_VALUE);
    static final int GUEST_PDPTE0 = VmcsLayout.slot(VmcsField.GUEST_PDPTE0);
    static final int GUEST_PDPTE1 = VmcsLayout.slot(VmcsField.GUEST_PDPTE1);
    static final int GUEST_PDPTE2 = VmcsLayout.slot(VmcsField.GUEST_PDPTE2);
    static final int GUEST_PDPTE3 = VmcsLayout.slot(VmcsField.GUEST_PDPTE3);
    static final int VMCS_LINK_POINTER = VmcsLayout.slot(VmcsField.VMCS_LINK_POINTER);

    /** Guest segment registers in the VMX encoding order (ES CS SS DS FS GS LDTR TR), as in {@code X86Core.segments}. */
    static final int[] SEGMENT_SELECTOR = {GUEST_ES_SELECTOR, GUEST_CS_SELECTOR, GUEST_SS_SELECTOR, GUEST_DS_SELECTOR,
            GUEST_FS_SELECTOR, GUEST_GS_SELECTOR, GUEST_LDTR_SELECTOR, GUEST_TR_SELECTOR};
    static final int[] SEGMENT_BASE = {GUEST_ES_BASE, GUEST_CS_BASE, GUEST_SS_BASE, GUEST_DS_BASE, GUEST_FS_BASE,
            GUEST_GS_BASE, GUEST_LDTR_BASE, GUEST_TR_BASE};
    static final int[] SEGMENT_LIMIT = {GUEST_ES_LIMIT, GUEST_CS_LIMIT, GUEST_SS_LIMIT, GUEST_DS_LIMIT, GUEST_FS_LIMIT,
            GUEST_GS_LIMIT, GUEST_LDTR_LIMIT, GUEST_TR_LIMIT};
    static final int[] SEGMENT_ACCESS_RIGHTS = {GUEST_ES_AR_BYTES, GUEST_CS_AR_BYTES, GUEST_SS_AR_BYTES,
            GUEST_DS_AR_BYTES, GUEST_FS_AR_BYTES, GUEST_GS_AR_BYTES, GUEST_LDTR_AR_BYTES, GUEST_TR_AR_BYTES};
    static final int[] CR3_TARGET_VALUES = {CR3_TARGET_VALUE0, CR3_TARGET_VALUE1, CR3_TARGET_VALUE2, CR3_TARGET_VALUE3};
    static final int[] PDPTES = {GUEST_PDPTE0, GUEST_PDPTE1, GUEST_PDPTE2, GUEST_PDPTE3};

    static {
        // the hot paths index these groups as GUEST_ES_SELECTOR + i etc. (encoding indices are consecutive)
        for (int[] group : new int[][] {SEGMENT_SELECTOR, SEGMENT_BASE, SEGMENT_LIMIT, SEGMENT_ACCESS_RIGHTS, PDPTES}) {
            for (int i = 0; i < group.length; i++) {
                if (group[i] != group[0] + i) {
                    throw new ExceptionInInitializerError("VMCS slots not consecutive: " + java.util.Arrays.toString(group));
                }
            }
        }
    }

    private Slot() {
    }
}
