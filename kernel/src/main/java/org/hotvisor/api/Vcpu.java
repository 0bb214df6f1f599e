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

    // ---- signals from the platform (since 1.1): the local APIC's INIT, SIPI and NMI messages ----

    /**
     * Thread-safe: asserts INIT on this vCPU. In VMX non-root operation it causes a VM exit with
     * reason 3 (SDM 3C 26.2); the handler of that exit decides what INIT does.
     */
    void deliverInit();

    /**
     * Thread-safe: a start-up IPI with this vector. It causes a VM exit with reason 4 if the vCPU
     * is in the wait-for-SIPI activity state, and is discarded otherwise (SDM 3C 26.2).
     */
    void deliverStartup(int vector);

    /** Thread-safe: an NMI for this vCPU, injected at a VM entry where the guest does not block NMIs. */
    void deliverNmi();

    /**
     * Thread-safe: this vCPU's interrupt controller may have a new request: the vCPU leaves the
     * guest (or its idle HLT) at the next instruction boundary and looks again.
     */
    void kick();
}
