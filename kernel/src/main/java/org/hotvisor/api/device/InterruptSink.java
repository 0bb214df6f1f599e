package org.hotvisor.api.device;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The CPU side of the INTR pin, provided by the kernel. An interrupt controller calls
 * {@link #intrAsserted()} when INTR may have gone high while a vCPU runs (a device raised a line
 * from another thread), so the vCPU exits and the kernel can inject.
 */
@ProviderType
public interface InterruptSink {
    void intrAsserted();

    /** Raises an NMI on the bootstrap vCPU. */
    void nmi();
}
