package org.hotvisor.kernel.vm;

/**
 * Process statuses of a headless run. Odd values belong to isa-debug-exit ((V<<1)|1), so the
 * VMM's own reasons use even ones.
 */
public final class StopStatus {
    private StopStatus() {}

    /** Power-off: "Shutdown" on port 0x8900, or HLT with interrupts disabled and nothing pending. */
    public static final int POWER_OFF = 0;
    /** A user error: bad option, missing or malformed image. */
    public static final int USER_ERROR = 2;
    /** Hotvisor itself failed (no CPU bundle, an internal exception). */
    public static final int INTERNAL_ERROR = 3;
    /** The guest triple-faulted (exit reason 2). */
    public static final int TRIPLE_FAULT = 4;
    /** VM entry failed: VMfail from VMLAUNCH/VMRESUME, or an exit with bit 31 set (reasons 33, 34, 41). */
    public static final int ENTRY_FAILURE = 6;
    /** A handler fault stopped the VM, or a handler asked to stop without a status of its own. */
    public static final int HANDLER_STOP = 8;
    /** An exit nobody handles and whose built-in default is to stop. */
    public static final int UNHANDLED_EXIT = 10;
    /** The console's vm:stop. */
    public static final int STOPPED_BY_USER = 12;
    /** --timeout passed. */
    public static final int TIMEOUT = 124;
}
