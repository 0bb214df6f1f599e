package org.hotvisor.api.vmx;

/** Primary VM-exit controls (SDM 3C 25.7.1, Table 25-13). */
public enum ExitControl implements ControlBit {
    SAVE_DEBUG_CONTROLS(2),
    HOST_ADDRESS_SPACE_SIZE(9),
    LOAD_IA32_PERF_GLOBAL_CTRL(12),
    ACKNOWLEDGE_INTERRUPT_ON_EXIT(15),
    SAVE_IA32_PAT(18),
    LOAD_IA32_PAT(19),
    SAVE_IA32_EFER(20),
    LOAD_IA32_EFER(21),
    SAVE_VMX_PREEMPTION_TIMER_VALUE(22),
    CLEAR_IA32_BNDCFGS(23),
    CONCEAL_VMX_FROM_PT(24),
    CLEAR_IA32_RTIT_CTL(25),
    CLEAR_IA32_LBR_CTL(26),
    LOAD_CET_STATE(28),
    LOAD_PKRS(29),
    SAVE_IA32_PERF_GLOBAL_CTL(30),
    ACTIVATE_SECONDARY_CONTROLS(31);

    private final int bit;

    ExitControl(int bit) {
        this.bit = bit;
    }

    @Override
    public int bit() {
        return bit;
    }

    @Override
    public VmcsField field() {
        return VmcsField.VM_EXIT_CONTROLS;
    }
}
