package org.hotvisor.api.device;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * The interrupt controller as the kernel sees it: the INTR pin and the interrupt-acknowledge
 * cycle. The kernel injects the acknowledged vector through the VM-entry interruption-information
 * field when the guest can take it, and otherwise sets interrupt-window exiting.
 */
@ConsumerType
public interface InterruptController {
    /**
     * Service property (since 1.1): the index of the vCPU whose local interrupt controller (local
     * APIC) this service is. The kernel asks vCPU N's controller, the highest-ranked service with
     * {@code hotvisor.vcpu=N}, and a vCPU without one asks the controller that has no such
     * property (the 8259 PIC, wired straight to INTR).
     */
    String VCPU = "hotvisor.vcpu";

    /** Whether INTR is asserted: an unmasked request is waiting for the CPU. */
    boolean interruptPending();

    /** The INTA cycle: returns the vector to deliver and updates ISR/IRR (spurious vectors included). */
    int acknowledge();
}
