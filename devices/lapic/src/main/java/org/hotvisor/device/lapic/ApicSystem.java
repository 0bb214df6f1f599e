package org.hotvisor.device.lapic;

import static org.hotvisor.device.lapic.ApicRegisters.*;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;
import org.hotvisor.api.Vcpu;
import org.hotvisor.api.device.ApicBus;
import org.hotvisor.api.device.InterruptController;
import org.hotvisor.api.device.VirtualClock;

/**
 * The local APICs of every vCPU and the APIC bus between them (SDM 3A "Issuing Interprocessor
 * Interrupts", "Determining IPI Destination"; the I/O APIC and MSIs send on the same bus).
 * Delivery is immediate: a message reaches its targets before the sender's write returns, so
 * the ICR's delivery-status bit always reads idle. Routing walks the few APICs, allocation-free.
 */
final class ApicSystem implements ApicBus {
    private static final System.Logger LOG = System.getLogger(ApicSystem.class.getName());
    private static final int NO_TARGET = -1;

    private final LocalApic[] apics;
    private final long physicalAddressMask;
    private volatile IntFunction<Vcpu> vcpus;
    private volatile InterruptController pic;
    private volatile EoiListener eoiListener;
    /** Messages for a vCPU the VM does not have, SMIs and bus ExtINTs: counted, never thrown. */
    private final AtomicLong undeliverable = new AtomicLong();

    /**
     * @param cpus the number of local APICs (APIC ID = vCPU index)
     * @param physicalAddressBits MAXPHYADDR: IA32_APIC_BASE bits above it are reserved
     * @param vcpus the VM's vCPUs by index; null where the VM has none (yet)
     */
    ApicSystem(int cpus, int physicalAddressBits, VirtualClock clock, IntFunction<Vcpu> vcpus) {
        this.physicalAddressMask = (1L << physicalAddressBits) - 1;
        this.vcpus = vcpus;
        this.apics = new LocalApic[cpus];
        for (int i = 0; i < cpus; i++) {
            apics[i] = new LocalApic(i, this, clock);
        }
    }

    int size() {
        return apics.length;
    }

    LocalApic apic(int index) {
        return apics[index];
    }

    long physicalAddressMask() {
        return physicalAddressMask;
    }

    /** The vCPU of an APIC, or null if the VM has no such vCPU. */
    Vcpu vcpu(int index) {
        IntFunction<Vcpu> v = vcpus;
        return v == null ? null : v.apply(index);
    }

    void vcpus(IntFunction<Vcpu> lookup) {
        vcpus = lookup;
        for (LocalApic a : apics) {
            a.publishTo(vcpu(a.index()));
        }
    }

    InterruptController pic() {
        return pic;
    }

    void pic(InterruptController controller) {
        pic = controller;
    }

    long undeliverable() {
        return undeliverable.get();
    }

    /** A platform reset: every APIC back to its power-on state. */
    void powerOn() {
        for (LocalApic a : apics) {
            a.powerOn();
        }
    }

    /** The bundle is going away: no timer of ours may fire any more (the kernel's clock keeps timer objects). */
    void shutdown() {
        for (LocalApic a : apics) {
            a.shutdown();
        }
    }

    // =====================================================================================
    // ApicBus: the I/O APIC and MSIs (8-bit xAPIC destinations)
    // =====================================================================================

    @Override
    public void deliver(int destination, boolean logical, int deliveryMode, int vector, boolean levelTriggered) {
        route(null, destination & XAPIC_BROADCAST, logical, false, deliveryMode, vector, levelTriggered, false);
    }

    @Override
    public void eoiListener(EoiListener listener) {
        eoiListener = listener;
    }

    /** A local APIC's EOI of a level-triggered vector: the EOI message to the I/O APIC. */
    void endOfInterrupt(int vector) {
        EoiListener l = eoiListener;
        if (l != null) {
            l.endOfInterrupt(vector);
        }
    }

    // =====================================================================================
    // IPIs: a local APIC's ICR
    // =====================================================================================

    /**
     * Sends the message a guest wrote to {@code source}'s ICR. INIT level de-assert (level 0,
     * level-triggered) only resynchronises arbitration IDs on old processors: nothing to do.
     */
    void sendIpi(LocalApic source, int icrLow, int destination, boolean x2apicFormat) {
        int mode = (icrLow >>> ICR_DELIVERY_MODE_SHIFT) & ICR_DELIVERY_MODE_MASK;
        int vector = icrLow & ICR_VECTOR;
        boolean level = (icrLow & ICR_TRIGGER_LEVEL) != 0;
        if (mode == INIT && level && (icrLow & ICR_LEVEL_ASSERT) == 0) {
            return;
        }
        if ((mode == FIXED || mode == LOWEST_PRIORITY) && vector < FIRST_LEGAL_VECTOR) {
            source.sendError(); // SDM 3A "Error Status Register": send illegal vector
            return;
        }
        boolean logical = (icrLow & ICR_LOGICAL) != 0;
        int shorthand = (icrLow >>> ICR_SHORTHAND_SHIFT) & ICR_SHORTHAND_MASK;
        switch (shorthand) {
            case SHORTHAND_SELF -> deliverTo(source, mode, vector, level);
            case SHORTHAND_ALL -> route(null, x2apicFormat ? X2APIC_BROADCAST : XAPIC_BROADCAST, false, x2apicFormat, mode,
                    vector, level, true);
            case SHORTHAND_ALL_BUT_SELF -> route(source, x2apicFormat ? X2APIC_BROADCAST : XAPIC_BROADCAST, false, x2apicFormat,
                    mode, vector, level, true);
            default -> route(null, destination, logical, x2apicFormat, mode, vector, level, false);
        }
    }

    /**
     * Delivers to every matching APIC except {@code excluded}; lowest priority picks the one
     * matching APIC with the lowest TPR (ties: the lowest index), as a fixed interrupt.
     */
    private void route(LocalApic excluded, int destination, boolean logical, boolean x2apicFormat, int mode, int vector,
            boolean level, boolean shorthand) {
        if (mode == LOWEST_PRIORITY) {
            int best = NO_TARGET;
            int bestPriority = Integer.MAX_VALUE;
            for (LocalApic a : apics) {
                if (a != excluded && (shorthand || a.matches(destination, logical, x2apicFormat))) {
                    int p = a.taskPriority();
                    if (p < bestPriority) {
                        best = a.index();
                        bestPriority = p;
                    }
                }
            }
            if (best == NO_TARGET) {
                undeliverable.incrementAndGet();
            } else {
                deliverTo(apics[best], FIXED, vector, level);
            }
            return;
        }
        boolean any = false;
        for (LocalApic a : apics) {
            if (a != excluded && (shorthand || a.matches(destination, logical, x2apicFormat))) {
                any = true;
                deliverTo(a, mode, vector, level);
            }
        }
        if (!any && !shorthand) {
            undeliverable.incrementAndGet();
        }
    }

    /** One message at one APIC (SDM 3A "Delivery Mode"). */
    private void deliverTo(LocalApic target, int mode, int vector, boolean level) {
        switch (mode) {
            case FIXED, LOWEST_PRIORITY -> target.acceptFixed(vector, level);
            case NMI -> {
                Vcpu v = vcpu(target.index());
                if (v == null) {
                    undeliverable.incrementAndGet();
                } else {
                    v.deliverNmi();
                }
            }
            case INIT -> {
                Vcpu v = vcpu(target.index());
                if (v == null) {
                    undeliverable.incrementAndGet();
                    return;
                }
                // SDM 3A "INIT reset": the APIC's own registers reset; the vCPU's INIT is a VM exit (reason 3).
                target.initReset();
                v.deliverInit();
            }
            case STARTUP -> {
                Vcpu v = vcpu(target.index());
                if (v == null) {
                    undeliverable.incrementAndGet();
                } else {
                    v.deliverStartup(vector);
                }
            }
            default -> {
                // SMI and ExtINT messages: no SMM, and ExtINT comes through LINT0.
                if (undeliverable.incrementAndGet() == 1) {
                    LOG.log(System.Logger.Level.INFO, "APIC message with delivery mode {0} dropped (counted)", mode);
                }
            }
        }
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        for (LocalApic a : apics) {
            b.append(a).append(System.lineSeparator());
        }
        return b.append("undeliverable=").append(undeliverable.get()).toString();
    }
}
