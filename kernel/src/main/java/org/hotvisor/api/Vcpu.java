package org.hotvisor.api;

import org.osgi.annotation.versioning.ProviderType;

/** A virtual CPU of the running VM. */
@ProviderType
public interface Vcpu {
    /** 0 for the bootstrap processor. */
    int index();

    /** Guest instructions this vCPU has retired since the VM started. */
    long instructionsRetired();

    /** Whether an external interrupt (INTR) or NMI is waiting for this vCPU. */
    boolean interruptPending();

    /** The guest's RFLAGS.IF as of this exit. */
    boolean interruptsEnabled();

    /**
     * Per-vCPU storage that outlives handler bundles: a handler keeps state that must survive a
     * hot swap here (MSR values, for instance), keyed by a name of its own.
     */
    <T> T state(String key, java.util.function.Supplier<T> initial);
}
