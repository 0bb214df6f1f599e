package org.hotvisor.api.device;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * The interrupt controller as the kernel sees it: the INTR pin and the interrupt-acknowledge
 * cycle. The kernel injects the acknowledged vector through the VM-entry interruption-information
 * field when the guest can take it, and otherwise sets interrupt-window exiting.
 */
@ConsumerType
public interface InterruptController {
    /** Whether INTR is asserted: an unmasked request is waiting for the CPU. */
    boolean interruptPending();

    /** The INTA cycle: returns the vector to deliver and updates ISR/IRR (spurious vectors included). */
    int acknowledge();
}
