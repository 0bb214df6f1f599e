package org.hotvisor.device.debug.ports;

import org.hotvisor.api.device.MachineControl;
import org.hotvisor.api.device.PortIoDevice;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** The Bochs/QEMU "Shutdown" port as a port-I/O service (pid {@value #PID}). */
@Component(name = ShutdownPortComponent.PID, configurationPid = ShutdownPortComponent.PID, service = PortIoDevice.class)
@Designate(ocd = ShutdownPortComponent.Config.class)
public final class ShutdownPortComponent implements PortIoDevice {
    static final String PID = "org.hotvisor.device.shutdown-port";
    private static final System.Logger LOG = System.getLogger(ShutdownPortComponent.class.getName());

    @ObjectClassDefinition(name = "Hotvisor shutdown port", description = "Writing \"Shutdown\" byte by byte powers the VM off with status 0.")
    @interface Config {
        @AttributeDefinition(name = "I/O port")
        String hotvisor_io_ports() default "0x8900";
    }

    @Reference
    private MachineControl machine;

    private ShutdownPort device;

    @Activate
    void activate(Config config) {
        int port = IsaBus.firstPort(config.hotvisor_io_ports());
        if (port < 0) {
            LOG.log(System.Logger.Level.ERROR, "shutdown port: bad port \"{0}\"; using 0x8900", config.hotvisor_io_ports());
            port = ShutdownPort.DEFAULT_PORT;
        }
        device = new ShutdownPort(port, machine);
    }

    @Deactivate
    void deactivate() {
        LOG.log(System.Logger.Level.DEBUG, "{0}", device);
    }

    @Override
    public int ioRead(int port, int size) {
        return device.ioRead(port, size);
    }

    @Override
    public void ioWrite(int port, int size, int value) {
        device.ioWrite(port, size, value);
    }

    @Override
    public String toString() {
        return String.valueOf(device);
    }
}
