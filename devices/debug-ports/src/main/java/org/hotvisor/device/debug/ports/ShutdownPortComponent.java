package org.hotvisor.device.debug.ports;

import org.hotvisor.api.device.MachineControl;
import org.hotvisor.api.device.PortIoDevice;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** The Bochs/QEMU "Shutdown" port as a port-I/O service (pid {@value #PID}). */
@Component(name = ShutdownPortComponent.PID, configurationPid = ShutdownPortComponent.PID, service = PortIoDevice.class)
@Designate(ocd = ShutdownPortComponent.Config.class)
public final class ShutdownPortComponent extends PortComponent {
    static final String PID = "org.hotvisor.device.shutdown-port";

    @ObjectClassDefinition(name = "Hotvisor shutdown port", description = "Writing \"Shutdown\" byte by byte powers the VM off with status 0.")
    @interface Config {
        @AttributeDefinition(name = "I/O port")
        String hotvisor_io_ports() default "0x8900";
    }

    @Reference
    private MachineControl machine;


    @Activate
    void activate(Config config) {
        int port = portOr(config.hotvisor_io_ports(), ShutdownPort.DEFAULT_PORT, "shutdown port");
        device = new ShutdownPort(port, machine);
    }

}
