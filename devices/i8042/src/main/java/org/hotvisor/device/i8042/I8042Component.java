package org.hotvisor.device.i8042;

import org.hotvisor.api.device.InterruptLines;
import org.hotvisor.api.device.MachineControl;
import org.hotvisor.api.device.PortIoDevice;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** The 8042 keyboard controller at 0x60/0x64 as a port-I/O service (pid {@value #PID}). */
@Component(name = I8042Component.PID, configurationPid = I8042Component.PID, service = PortIoDevice.class,
        property = PortIoDevice.PORTS + "=" + I8042.PORTS)
@Designate(ocd = I8042Component.Config.class)
public final class I8042Component implements PortIoDevice {
    static final String PID = "org.hotvisor.device.i8042";
    private static final System.Logger LOG = System.getLogger(I8042Component.class.getName());

    /** Nothing to configure yet; the PID exists so the device can be disabled or extended through ConfigAdmin. */
    @ObjectClassDefinition(name = "Hotvisor i8042", description = "Keyboard controller at 0x60/0x64: A20, reset, self-tests.")
    @interface Config {
    }

    @Reference
    private MachineControl machine;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile InterruptLines interruptLines;

    private I8042 controller;

    @Activate
    void activate(Config config) {
        controller = new I8042(this::setLevel, machine);
    }

    @Deactivate
    void deactivate() {
        LOG.log(System.Logger.Level.DEBUG, "{0}", controller);
    }

    private void setLevel(int irq, boolean high) {
        InterruptLines l = interruptLines;
        if (l != null) {
            l.setLevel(irq, high);
        }
    }

    @Override
    public int ioRead(int port, int size) {
        return controller.ioRead(port, size);
    }

    @Override
    public void ioWrite(int port, int size, int value) {
        controller.ioWrite(port, size, value);
    }

    @Override
    public String toString() {
        return String.valueOf(controller);
    }
}
