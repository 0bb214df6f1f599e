package org.hotvisor.device.debug.ports;

import org.hotvisor.api.device.MachineControl;
import org.hotvisor.api.device.PortIoDevice;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** isa-debug-exit as a port-I/O service (pid {@value #PID}). */
@Component(name = IsaDebugExitComponent.PID, configurationPid = IsaDebugExitComponent.PID, service = PortIoDevice.class)
@Designate(ocd = IsaDebugExitComponent.Config.class)
public final class IsaDebugExitComponent extends PortComponent {
    static final String PID = "org.hotvisor.device.isa-debug-exit";

    @ObjectClassDefinition(name = "Hotvisor isa-debug-exit", description = "Writing V stops the VM with status (V << 1) | 1.")
    @interface Config {
        @AttributeDefinition(name = "I/O ports", description = "The four-port window; the first is the base.")
        String hotvisor_io_ports() default "0xf4-0xf7";
    }

    @Reference
    private MachineControl machine;


    @Activate
    void activate(Config config) {
        int base = portOr(config.hotvisor_io_ports(), IsaDebugExit.DEFAULT_BASE, "isa-debug-exit");
        device = new IsaDebugExit(base, machine);
    }

}
