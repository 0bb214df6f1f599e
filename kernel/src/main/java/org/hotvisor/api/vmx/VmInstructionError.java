package org.hotvisor.api.vmx;

/** VM-instruction error numbers (SDM 3C 31.4, "VM Instruction Error Numbers"). */
public enum VmInstructionError {
    VMCALL_IN_VMX_ROOT(1),
    VMCLEAR_INVALID_ADDRESS(2),
    VMCLEAR_VMXON_POINTER(3),
    VMLAUNCH_NONCLEAR_VMCS(4),
    VMRESUME_NONLAUNCHED_VMCS(5),
    VMRESUME_AFTER_VMXOFF(6),
    ENTRY_INVALID_CONTROL_FIELDS(7),
    ENTRY_INVALID_HOST_STATE(8),
    VMPTRLD_INVALID_ADDRESS(9),
    VMPTRLD_VMXON_POINTER(10),
    VMPTRLD_INCORRECT_REVISION(11),
    UNSUPPORTED_VMCS_COMPONENT(12),
    VMWRITE_READ_ONLY_COMPONENT(13),
    VMXON_IN_VMX_ROOT(15),
    ENTRY_INVALID_EXECUTIVE_VMCS_POINTER(16),
    ENTRY_NONLAUNCHED_EXECUTIVE_VMCS(17),
    ENTRY_EXECUTIVE_VMCS_NOT_VMXON_POINTER(18),
    VMCALL_NONCLEAR_VMCS(19),
    VMCALL_INVALID_EXIT_CONTROLS(20),
    VMCALL_INCORRECT_MSEG_REVISION(22),
    VMXOFF_UNDER_DUAL_MONITOR(23),
    VMCALL_INVALID_SMM_MONITOR_FEATURES(24),
    ENTRY_INVALID_EXECUTIVE_CONTROLS(25),
    ENTRY_EVENTS_BLOCKED_BY_MOV_SS(26),
    INVALID_INVEPT_INVVPID_OPERAND(28);

    private final int number;

    VmInstructionError(int number) {
        this.number = number;
    }

    public int number() {
        return number;
    }

    /** The error for a number, or {@code null}. */
    public static VmInstructionError of(int number) {
        for (VmInstructionError e : values()) {
            if (e.number == number) {
                return e;
            }
        }
        return null;
    }
}
