package org.hotvisor.vmx.cpu.x86;

/**
 * The VMCS that VMREAD and VMWRITE reach in VMX non-root operation when "VMCS shadowing" is 1 and
 * the VMREAD/VMWRITE bitmap does not make them exit: the one the VMCS link pointer of the current
 * VMCS references (SDM 3C 25.10, 31.3). The VMX layer implements it; the core knows no VMCS format.
 * Outcomes follow SDM 3C 31.2: {@link #SUCCEED}, {@link #FAIL_INVALID}, or a VM-instruction error
 * number for VMfailValid (SDM 3C 31.4).
 */
public interface VmcsShadowAccess {
    int SUCCEED = 0;
    int FAIL_INVALID = -1;

    /** False when the VMCS link pointer is all ones (VMfailInvalid, SDM 3C 31.3 VMREAD/VMWRITE). */
    boolean linkPointerValid();

    /** VMREAD of the shadow VMCS: the field value; {@link #lastStatus()} tells whether it succeeded. */
    long read(int encoding);

    /** The outcome of the last {@link #read}. */
    int lastStatus();

    /** VMWRITE of the shadow VMCS: the outcome. */
    int write(int encoding, long value);
}
