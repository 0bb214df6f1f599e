package org.hotvisor.device.pci.host;

import org.hotvisor.api.device.MachineControl;
import org.hotvisor.api.device.PortIoDevice;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** PCI configuration mechanism #1 with the i440FX host bridge at 00:00.0, as a port-I/O service (pid {@value #PID}). */
@Component(name = PciHostComponent.PID, configurationPid = PciHostComponent.PID, service = PortIoDevice.class)
@Designate(ocd = PciHostComponent.Config.class)
public final class PciHostComponent implements PortIoDevice {
    static final String PID = "org.hotvisor.device.pci-host";
    static final int HOST_BRIDGE_DEVICE = 0;
    static final int HOST_BRIDGE_FUNCTION = 0;
    private static final System.Logger LOG = System.getLogger(PciHostComponent.class.getName());

    @ObjectClassDefinition(name = "Hotvisor PCI host", description = "PCI configuration mechanism #1 (0xCF8/0xCFC) and an i440FX host bridge.")
    @interface Config {
        @AttributeDefinition(name = "I/O ports", description = "CONFIG_ADDRESS and CONFIG_DATA; the first port is CONFIG_ADDRESS.")
        String hotvisor_io_ports() default "0xcf8-0xcff";
    }

    @Reference
    private MachineControl machine;

    private PciHost host;

    @Activate
    void activate(Config config) {
        host = new PciHost(basePort(config.hotvisor_io_ports()));
        host.attach(HOST_BRIDGE_DEVICE, HOST_BRIDGE_FUNCTION, new I440fxHostBridge(machine.ramSize()));
    }

    static int basePort(String ports) {
        try {
            int port = Integer.decode(ports.split("[,-]", 2)[0].trim());
            if (port >= 0 && port + PciHost.PORT_COUNT - 1 <= 0xFFFF) {
                return port;
            }
        } catch (NumberFormatException | NullPointerException e) {
            // reported below
        }
        LOG.log(System.Logger.Level.ERROR, "pci-host: bad port \"{0}\"; using 0x{1}", ports, Integer.toHexString(PciHost.DEFAULT_BASE));
        return PciHost.DEFAULT_BASE;
    }

    @Override
    public int ioRead(int port, int size) {
        return host.ioRead(port, size);
    }

    @Override
    public void ioWrite(int port, int size, int value) {
        host.ioWrite(port, size, value);
    }

    @Override
    public String toString() {
        return String.valueOf(host);
    }
}
