package org.hotvisor.api.device;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A device that owns model-specific registers (x2APIC, for instance). Register it with
 * {@value #MSRS}, e.g. {@code "0x800-0x8ff"}. The MSR handler routes RDMSR/WRMSR of those
 * indices here before its architectural table.
 */
@ConsumerType
public interface MsrDevice {
    /** Service property: the MSR indices claimed. */
    String MSRS = "hotvisor.msrs";

    /** @return the value; throw {@link IllegalArgumentException} to make the guest take #GP(0) */
    long rdmsr(int index);

    /** Throw {@link IllegalArgumentException} to make the guest take #GP(0). */
    void wrmsr(int index, long value);
}
