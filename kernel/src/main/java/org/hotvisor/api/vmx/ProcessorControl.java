package org.hotvisor.api.vmx;

/** Primary processor-based VM-execution controls (SDM 3C 25.6.2, Table 25-6). */
public enum ProcessorControl implements ControlBit {
    INTERRUPT_WINDOW_EXITING(2),
    USE_TSC_OFFSETTING(3),
    HLT_EXITING(7),
    INVLPG_EXITING(9),
    MWAIT_EXITING(10),
    RDPMC_EXITING(11),
    RDTSC_EXITING(12),
    CR3_LOAD_EXITING(15),
    CR3_STORE_EXITING(16),
    ACTIVATE_TERTIARY_CONTROLS(17),
    CR8_LOAD_EXITING(19),
    CR8_STORE_EXITING(20),
    USE_TPR_SHADOW(21),
    NMI_WINDOW_EXITING(22),
    MOV_DR_EXITING(23),
    UNCONDITIONAL_IO_EXITING(24),
    USE_IO_BITMAPS(25),
    MONITOR_TRAP_FLAG(27),
    USE_MSR_BITMAPS(28),
    MONITOR_EXITING(29),
    PAUSE_EXITING(30),
    ACTIVATE_SECONDARY_CONTROLS(31);

    private final int bit;

    ProcessorControl(int bit) {
        this.bit = bit;
    }

    @Override
    public int bit() {
        return bit;
    }

    @Override
    public VmcsField field() {
        return VmcsField.CPU_BASED_VM_EXEC_CONTROL;
    }
}
