package org.hotvisor.vmx.cpu.vmx;

import java.util.Objects;
import org.hotvisor.api.vmx.LogicalProcessor;
import org.hotvisor.api.vmx.VmxProcessor;
import org.osgi.service.component.annotations.Component;

/**
 * The software VT-x processor: a Declarative Services component in OSGi and a
 * {@link java.util.ServiceLoader} provider outside it (META-INF/services).
 */
@Component(service = VmxProcessor.class)
public final class VmxProcessorService implements VmxProcessor {

    /** Public no-argument constructor: required by both SCR and ServiceLoader. */
    public VmxProcessorService() {
    }

    @Override
    public LogicalProcessor createLogicalProcessor(byte[] guestRam, byte[] hostMemory) {
        Objects.requireNonNull(guestRam, "guestRam");
        Objects.requireNonNull(hostMemory, "hostMemory");
        if (hostMemory.length < 2 * VmcsLayout.REGION_SIZE) {
            throw new IllegalArgumentException("host memory must hold at least a VMXON region and a VMCS (8 KiB), got "
                    + hostMemory.length + " bytes");
        }
        return new VmxLogicalProcessor(guestRam, hostMemory);
    }

    @Override
    public long capabilityMsr(int msrIndex) {
        return VmxCapabilities.msr(msrIndex);
    }

    @Override
    public String model() {
        return String.format("Hotvisor software VT-x (VMCS revision %#x, EPT, unrestricted guest)",
                VmxCapabilities.VMCS_REVISION_ID);
    }
}
