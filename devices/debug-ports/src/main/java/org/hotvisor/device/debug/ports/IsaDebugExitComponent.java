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

/** isa-debug-exit as a port-I/O service (pid {@value #PID}). */
@Component(name = IsaDebugExitComponent.PID, configurationPid = IsaDebugExitComponent.PID, service = PortIoDevice.class)
@Designate(ocd = IsaDebugExitComponent.Config.class)
public final class IsaDebugExitComponent implements PortIoDevice {
    static final String PID = "org.hotvisor.device.isa-debug-exit";
    private static final System.Logger LOG = System.getLogger(IsaDebugExitComponent.class.getName());

    @ObjectClassDefinition(name = "Hotvisor isa-debug-exit", description = "Writing V stops the VM with status (V << 1) | 1.")
    @interface Config {
        @AttributeDefinition(name = "I/O ports", description = "The four-port window; the first is the base.")
        String hotvisor_io_ports() default "0xf4-0xf7";
    }

    @Reference
    private MachineControl machine;

    private IsaDebugExit device;

    @Activate
    void activate(Config config) {
        int base = IsaBus.firstPort(config.hotvisor_io_ports());
        if (base < 0) {
            LOG.log(System.Logger.Level.ERROR, "isa-debug-exit: bad ports \"{0}\"; using 0xf4", config.hotvisor_io_ports());
            base = IsaDebugExit.DEFAULT_BASE;
        }
        device = new IsaDebugExit(base, machine);
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
