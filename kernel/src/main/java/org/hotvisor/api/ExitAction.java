package org.hotvisor.api;

/** What an {@link ExitHandler} asks the vCPU loop to do after handling an exit. */
public enum ExitAction {
    /**
     * The handler emulated the exiting instruction: RIP advances by the VM-exit instruction length
     * (and STI/MOV-SS blocking is cleared, SDM 3C 26.7.1 rules for emulated instructions), then VM entry.
     */
    EMULATED,
    /** Re-enter the guest with RIP unchanged: after injecting an event, or to retry the instruction. */
    RESUME,
    /** Hand the exit to the next-ranked handler for this reason, or to the built-in default. */
    PASS,
    /** Stop the VM; the handler has called {@link VmExit#stop(int, String)} to say why. */
    STOP
}
