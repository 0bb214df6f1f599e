package org.hotvisor.api.device;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * The APIC bus (since 1.1): interrupt messages to local APICs, as the I/O APIC's redirection
 * entries, MSIs and IPIs send them (SDM 3A 10.6, 10.11; Intel 82093AA datasheet). Provided by the
 * local-APIC bundle; consumed by the I/O APIC and by devices that send message-signalled
 * interrupts.
 */
@ConsumerType
public interface ApicBus {
    /** Delivery modes: ICR bits 10:8 (SDM 3A, "Interrupt Command Register"). */
    int FIXED = 0, LOWEST_PRIORITY = 1, SMI = 2, NMI = 4, INIT = 5, STARTUP = 6, EXTINT = 7;

    /**
     * Delivers one interrupt message. Thread-safe; never blocks on the target vCPU.
     *
     * @param destination APIC ID (physical mode, 0xFF = broadcast) or logical destination (logical mode)
     * @param logical whether {@code destination} is a logical destination
     * @param deliveryMode one of the constants above
     * @param vector the vector (fixed, lowest priority, start-up)
     * @param levelTriggered whether the source is level-triggered (the local APIC then sets TMR and
     *     sends an EOI message back through {@link #eoiListener})
     */
    void deliver(int destination, boolean logical, int deliveryMode, int vector, boolean levelTriggered);

    /** Receives end-of-interrupt broadcasts for level-triggered vectors (the I/O APIC's Remote IRR). */
    interface EoiListener {
        void endOfInterrupt(int vector);
    }

    /** Registers the listener for EOI messages (one: the I/O APIC), or null to remove it. */
    void eoiListener(EoiListener listener);
}
