package org.hotvisor.vmx.cpu.x86;

/**
 * Control-flow signal: a VM exit was recorded in {@link X86Core#exit} deep inside an instruction or
 * event delivery. Preallocated and stackless; it never leaves the core.
 */
final class VmExitSignal extends RuntimeException {
    private static final long serialVersionUID = 1L;
    static final VmExitSignal INSTANCE = new VmExitSignal();

    private VmExitSignal() {
        super("VM exit", null, false, false);
    }
}
