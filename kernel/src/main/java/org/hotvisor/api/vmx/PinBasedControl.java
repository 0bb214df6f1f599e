package org.hotvisor.api.vmx;

/** Pin-based VM-execution controls (SDM 3C 25.6.1, Table 25-5). */
public enum PinBasedControl implements ControlBit {
    EXTERNAL_INTERRUPT_EXITING(0),
    NMI_EXITING(3),
    VIRTUAL_NMIS(5),
    ACTIVATE_VMX_PREEMPTION_TIMER(6),
    PROCESS_POSTED_INTERRUPTS(7);

    private final int bit;

    PinBasedControl(int bit) {
        this.bit = bit;
    }

    @Override
    public int bit() {
        return bit;
    }

    @Override
    public VmcsField field() {
        return VmcsField.PIN_BASED_VM_EXEC_CONTROL;
    }
}
