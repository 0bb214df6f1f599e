package org.hotvisor.device.lapic;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.hotvisor.api.Vcpu;

/**
 * The one piece of APIC state other bundles read: each vCPU's IA32_APIC_BASE, kept in that
 * vCPU's state map ({@link Vcpu#state}) so the CPUID handler can report the APIC only while it is
 * globally enabled (SDM 3A 11.4.3: with IA32_APIC_BASE[11] clear, CPUID.01H:EDX[9] reads 0).
 *
 * <p>The contract (exit-handlers/cpuid repeats it; bundles share no private packages): key
 * {@value #KEY}, value a {@link AtomicLong} holding the vCPU's current IA32_APIC_BASE, written by
 * this bundle at power-on, platform reset and every accepted WRMSR. Whichever bundle asks first
 * creates it holding {@link ApicRegisters#BASE_ENABLE} (the power-on state: enabled).
 */
final class PublishedApicBase {
    /** The vCPU state key. */
    static final String KEY = "org.hotvisor.device.lapic/apicBase";
    /** Non-capturing: looking the holder up allocates nothing once it exists. */
    static final Supplier<Object> NEW_HOLDER = () -> new AtomicLong(ApicRegisters.BASE_ENABLE);
    private static final System.Logger LOG = System.getLogger(PublishedApicBase.class.getName());

    private PublishedApicBase() {
    }

    /** The vCPU's holder; null for no vCPU or a foreign object under our key (logged: nothing is published then). */
    static AtomicLong of(Vcpu vcpu) {
        if (vcpu == null) {
            return null;
        }
        Object holder = vcpu.state(KEY, NEW_HOLDER);
        if (holder instanceof AtomicLong base) {
            return base;
        }
        LOG.log(System.Logger.Level.WARNING, "vCPU {0} state {1} holds a {2}, not an AtomicLong: IA32_APIC_BASE not published",
                vcpu.index(), KEY, holder == null ? "null" : holder.getClass().getName());
        return null;
    }
}
