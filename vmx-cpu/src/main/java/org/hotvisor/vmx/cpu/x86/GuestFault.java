package org.hotvisor.vmx.cpu.x86;

/**
 * Control-flow signal: the current instruction raised a guest exception (vector and error code
 * are in {@link Events}). Preallocated and stackless, so raising it allocates nothing; it never
 * leaves the core.
 */
final class GuestFault extends RuntimeException {
    private static final long serialVersionUID = 1L;
    static final GuestFault INSTANCE = new GuestFault();

    private GuestFault() {
        super("guest exception", null, false, false);
    }
}
