package org.hotvisor.api.device;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A device that returns to its power-on state when the machine resets (an i8042 pulse, port 0x92,
 * {@code vm:reset}). Register it as a service; the kernel calls every one on the vCPU thread
 * before the guest restarts.
 */
@ConsumerType
public interface ResetListener {
    void machineReset();
}
