package org.hotvisor.device.i8042;

import org.hotvisor.api.device.MachineControl;
import org.hotvisor.api.device.PortIoDevice;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** System Control Port A (0x92) as a port-I/O service (pid {@value #PID}). */
@Component(name = SystemControlPortAComponent.PID, configurationPid = SystemControlPortAComponent.PID,
        service = PortIoDevice.class, property = PortIoDevice.PORTS + "=0x92")
@Designate(ocd = SystemControlPortAComponent.Config.class)
public final class SystemControlPortAComponent implements PortIoDevice {
    static final String PID = "org.hotvisor.device.port92";
    private static final System.Logger LOG = System.getLogger(SystemControlPortAComponent.class.getName());

    /** Nothing to configure yet. */
    @ObjectClassDefinition(name = "Hotvisor port 0x92", description = "Fast A20 gate and fast reset.")
    @interface Config {
    }

    @Reference
    private MachineControl machine;

    private SystemControlPortA port;

    @Activate
    void activate(Config config) {
        port = new SystemControlPortA(machine);
    }

    @Deactivate
    void deactivate() {
        LOG.log(System.Logger.Level.DEBUG, "{0}", port);
    }

    @Override
    public int ioRead(int p, int size) {
        return port.ioRead(p, size);
    }

    @Override
    public void ioWrite(int p, int size, int value) {
        port.ioWrite(p, size, value);
    }

    @Override
    public String toString() {
        return String.valueOf(port);
    }
}
