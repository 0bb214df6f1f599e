package org.hotvisor.api.vmx;

/** Secondary processor-based VM-execution controls (SDM 3C 25.6.2, Table 25-7). */
public enum SecondaryControl implements ControlBit {
    VIRTUALIZE_APIC_ACCESSES(0),
    ENABLE_EPT(1),
    DESCRIPTOR_TABLE_EXITING(2),
    ENABLE_RDTSCP(3),
    VIRTUALIZE_X2APIC_MODE(4),
    ENABLE_VPID(5),
    WBINVD_EXITING(6),
    UNRESTRICTED_GUEST(7),
    APIC_REGISTER_VIRTUALIZATION(8),
    VIRTUAL_INTERRUPT_DELIVERY(9),
    PAUSE_LOOP_EXITING(10),
    RDRAND_EXITING(11),
    ENABLE_INVPCID(12),
    ENABLE_VM_FUNCTIONS(13),
    VMCS_SHADOWING(14),
    ENABLE_ENCLS_EXITING(15),
    RDSEED_EXITING(16),
    ENABLE_PML(17),
    EPT_VIOLATION_VE(18),
    CONCEAL_VMX_FROM_PT(19),
    ENABLE_XSAVES_XRSTORS(20),
    MODE_BASED_EXECUTE_CONTROL_FOR_EPT(22),
    SUB_PAGE_WRITE_PERMISSIONS_FOR_EPT(23),
    INTEL_PT_USES_GUEST_PHYSICAL_ADDRESSES(24),
    USE_TSC_SCALING(25),
    ENABLE_USER_WAIT_AND_PAUSE(26),
    ENABLE_PCONFIG(27),
    ENABLE_ENCLV_EXITING(28);

    private final int bit;

    SecondaryControl(int bit) {
        this.bit = bit;
    }

    @Override
    public int bit() {
        return bit;
    }

    @Override
    public VmcsField field() {
        return VmcsField.SECONDARY_VM_EXEC_CONTROL;
    }
}
