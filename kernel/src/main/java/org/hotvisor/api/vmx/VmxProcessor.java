package org.hotvisor.api.vmx;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * The VT-x processor service, provided by the {@code vmx-cpu} bundle. The kernel asks it for one
 * {@link LogicalProcessor} per vCPU and drives each through the VMX instructions.
 */
@ConsumerType
public interface VmxProcessor {

    /**
     * Creates a logical processor in legacy (non-VMX) operation.
     *
     * @param guestRam backs guest-physical addresses [0, length): the EPT identity map of the VM's
     *     RAM. Accesses above it cause EPT-violation exits (SDM 3C 29.3.3); that is the MMIO path.
     * @param hostMemory host-physical memory private to the VMM: the VMXON region and the VMCS
     *     regions live here, at 4-KiB-aligned host-physical addresses {@code [0, length)}
     */
    LogicalProcessor createLogicalProcessor(byte[] guestRam, byte[] hostMemory);

    /** A VMX capability MSR (IA32_VMX_BASIC 0x480 ... IA32_VMX_VMFUNC 0x491), or 0 if not reported. */
    long capabilityMsr(int msrIndex);

    /** Human-readable model name for logs and {@code vm:info}. */
    String model();
}
