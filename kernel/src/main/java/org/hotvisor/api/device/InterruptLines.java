package org.hotvisor.api.device;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The ISA interrupt lines 0-15, provided by the interrupt controller (the 8259 PIC bundle).
 * Devices drive them; the controller decides what the CPU sees.
 */
@ProviderType
public interface InterruptLines {
    /** Sets the level of an IRQ line (edge-triggered lines interrupt on a low-to-high transition). */
    void setLevel(int irq, boolean high);

    /** A low-high-low pulse: one edge. */
    default void pulse(int irq) {
        setLevel(irq, true);
        setLevel(irq, false);
    }
}
