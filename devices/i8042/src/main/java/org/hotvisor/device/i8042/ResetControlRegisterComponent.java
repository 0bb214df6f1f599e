package org.hotvisor.device.i8042;

import org.hotvisor.api.device.MachineControl;
import org.hotvisor.api.device.PortIoDevice;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The reset control register (0xCF9) as a port-I/O service (pid {@value #PID}). Its ranking puts
 * it above the PCI host's 0xCF8-0xCFF claim for this one port, as the PIIX decodes byte accesses
 * to 0xCF9 itself (QEMU does the same); a dword at 0xCF8 (CONFIG_ADDRESS) is routed by its first
 * port and still reaches the PCI host.
 */
@Component(name = ResetControlRegisterComponent.PID, configurationPid = ResetControlRegisterComponent.PID,
        service = PortIoDevice.class, property = {PortIoDevice.PORTS + "=0xcf9", "service.ranking:Integer=1"})
@Designate(ocd = ResetControlRegisterComponent.Config.class)
public final class ResetControlRegisterComponent implements PortIoDevice {
    static final String PID = "org.hotvisor.device.resetcontrol";
    private static final System.Logger LOG = System.getLogger(ResetControlRegisterComponent.class.getName());

    /** Nothing to configure yet. */
    @ObjectClassDefinition(name = "Hotvisor port 0xCF9", description = "Reset control register: soft (INIT) and hard reset.")
    @interface Config {
    }

    @Reference
    private MachineControl machine;

    private ResetControlRegister register;

    @Activate
    void activate(Config config) {
        register = new ResetControlRegister(machine);
    }

    @Deactivate
    void deactivate() {
        LOG.log(System.Logger.Level.DEBUG, "{0}", register);
    }

    @Override
    public int ioRead(int p, int size) {
        return register.ioRead(p, size);
    }

    @Override
    public void ioWrite(int p, int size, int value) {
        register.ioWrite(p, size, value);
    }

    @Override
    public String toString() {
        return String.valueOf(register);
    }
}
