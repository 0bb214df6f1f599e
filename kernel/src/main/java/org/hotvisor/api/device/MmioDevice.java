package org.hotvisor.api.device;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A device mapped into guest-physical space outside RAM; guest accesses reach it through the
 * EPT-violation exit. Register it with {@value #RANGES}, e.g. {@code "0xfee00000-0xfee00fff"}.
 */
@ConsumerType
public interface MmioDevice {
    /** Service property: the guest-physical ranges claimed. */
    String RANGES = "hotvisor.mmio.ranges";

    long mmioRead(long address, int size);

    void mmioWrite(long address, int size, long value);
}
