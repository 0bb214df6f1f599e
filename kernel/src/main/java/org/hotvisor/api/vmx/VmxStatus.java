package org.hotvisor.api.vmx;

/** The outcome of a VMX instruction, as RFLAGS reports it (SDM 3C 31.2 conventions). */
public enum VmxStatus {
    /** VMsucceed: CF = ZF = 0. */
    SUCCEED,
    /** VMfailInvalid: CF = 1; there is no current VMCS to hold an error number. */
    FAIL_INVALID,
    /** VMfailValid: ZF = 1; the VM-instruction error field of the current VMCS says why. */
    FAIL_VALID
}
