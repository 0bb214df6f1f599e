package org.hotvisor.api.vmx;

/** VM-entry controls (SDM 3C 25.8.1, Table 25-15). */
public enum EntryControl implements ControlBit {
    LOAD_DEBUG_CONTROLS(2),
    IA32E_MODE_GUEST(9),
    ENTRY_TO_SMM(10),
    DEACTIVATE_DUAL_MONITOR_TREATMENT(11),
    LOAD_IA32_PERF_GLOBAL_CTRL(13),
    LOAD_IA32_PAT(14),
    LOAD_IA32_EFER(15),
    LOAD_IA32_BNDCFGS(16),
    CONCEAL_VMX_FROM_PT(17),
    LOAD_IA32_RTIT_CTL(18),
    LOAD_CET_STATE(20),
    LOAD_GUEST_IA32_LBR_CTL(21),
    LOAD_PKRS(22);

    private final int bit;

    EntryControl(int bit) {
        this.bit = bit;
    }

    @Override
    public int bit() {
        return bit;
    }

    @Override
    public VmcsField field() {
        return VmcsField.VM_ENTRY_CONTROLS;
    }
}
