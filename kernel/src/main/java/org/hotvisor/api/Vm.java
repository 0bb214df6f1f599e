package org.hotvisor.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The VM hosted by the kernel, registered as a service. Life cycle: load, start, pause, resume,
 * reset, stop.
 */
@ProviderType
public interface Vm {
    VmState state();

    /** Starts the vCPUs of a loaded VM. */
    void start();

    /** Pauses every vCPU at its next exit; returns when all are paused. */
    void pause();

    void resume();

    /** Resets the machine to the state right after loading the image, keeping it paused or running as it was. */
    void reset();

    /** Stops the VM with the given status and reason; the state becomes {@link VmState#STOPPED}. */
    void stop(int status, String reason);

    /** The process status the VM stopped with (isa-debug-exit convention), or -1 while it has not stopped. */
    int exitStatus();

    /** Why the VM stopped, or {@code null} while it has not. */
    String stopReason();

    /** Waits until the VM has stopped, or the timeout (milliseconds, 0 = forever) passes; returns whether it stopped. */
    boolean awaitStop(long timeoutMillis) throws InterruptedException;

    int vcpuCount();

    Vcpu vcpu(int index);

    GuestMemory memory();
}
