package org.hotvisor.api.device;

import org.osgi.annotation.versioning.ProviderType;

/** What board-level devices may do to the machine: power it off, reset it, gate A20. */
@ProviderType
public interface MachineControl {
    /** Powers off: the VM stops with this process status and reason (isa-debug-exit uses (V<<1)|1). */
    void powerOff(int status, String reason);

    /** A platform reset (i8042 pulse, port 0x92 bit 0): the VM restarts from the loaded image. */
    void reset(String reason);

    /** Enables or masks address line 20. */
    void setA20(boolean enabled);

    boolean a20();

    /** Guest RAM size in bytes, for devices that report it (CMOS, fw_cfg). */
    long ramSize();
}
