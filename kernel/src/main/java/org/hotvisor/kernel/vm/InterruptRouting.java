package org.hotvisor.kernel.vm;

import java.util.ArrayList;
import java.util.List;
import org.hotvisor.api.device.InterruptController;

/**
 * Which {@link InterruptController} each vCPU asks for INTR and INTA: the one registered for it
 * ({@code hotvisor.vcpu=N}, its local APIC), else, for vCPU 0 only, the unqualified one (the 8259
 * pair: its INTR output is wired to the bootstrap processor, as on a PC without APIC; an AP
 * without a local APIC has no interrupt source). Among several candidates the highest service
 * ranking wins, then the lowest service id (the OSGi rule). A controller for a vCPU the VM does
 * not have is ignored. Not on a hot path: the vCPUs read the chosen controller from a volatile field.
 */
final class InterruptRouting {
    /** No {@code hotvisor.vcpu} property: a controller for whichever vCPU has no own one. */
    static final int ANY_VCPU = -1;

    private record Candidate(InterruptController controller, int vcpu, int ranking, long serviceId) {
        boolean beats(Candidate other) {
            return other == null || ranking > other.ranking || (ranking == other.ranking && serviceId < other.serviceId);
        }
    }

    private final List<Candidate> candidates = new ArrayList<>();

    synchronized void add(InterruptController controller, int vcpu, int ranking, long serviceId) {
        remove(controller);
        candidates.add(new Candidate(controller, vcpu, ranking, serviceId));
    }

    synchronized void remove(InterruptController controller) {
        candidates.removeIf(c -> c.controller == controller);
    }

    /** The controller of every vCPU, index = vCPU (null: none). */
    synchronized InterruptController[] select(int vcpus) {
        Candidate fallback = null;
        Candidate[] own = new Candidate[vcpus];
        for (Candidate c : candidates) {
            if (c.vcpu == ANY_VCPU) {
                if (c.beats(fallback)) {
                    fallback = c;
                }
            } else if (c.vcpu >= 0 && c.vcpu < vcpus && c.beats(own[c.vcpu])) {
                own[c.vcpu] = c;
            }
        }
        InterruptController[] chosen = new InterruptController[vcpus];
        for (int i = 0; i < vcpus; i++) {
            Candidate c = own[i] != null ? own[i] : i == 0 ? fallback : null;
            chosen[i] = c == null ? null : c.controller;
        }
        return chosen;
    }

    /**
     * The vCPU of a {@code hotvisor.vcpu} property value (Integer, Long or a decimal string);
     * {@link #ANY_VCPU} when absent; a value that is none of these is {@code Integer.MIN_VALUE}
     * (matches no vCPU: a misconfigured controller is ignored rather than taking vCPU 0).
     */
    static int vcpuOf(Object property) {
        if (property == null) {
            return ANY_VCPU;
        }
        if (property instanceof Number n) {
            return n.intValue();
        }
        try {
            return Integer.parseInt(property.toString().trim());
        } catch (NumberFormatException e) {
            return Integer.MIN_VALUE;
        }
    }
}
