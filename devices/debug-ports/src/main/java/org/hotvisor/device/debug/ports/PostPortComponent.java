package org.hotvisor.device.debug.ports;

import org.hotvisor.api.device.PortIoDevice;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** The POST code port as a port-I/O service (pid {@value #PID}). */
@Component(name = PostPortComponent.PID, configurationPid = PostPortComponent.PID, service = PortIoDevice.class)
@Designate(ocd = PostPortComponent.Config.class)
public final class PostPortComponent extends PortComponent {
    static final String PID = "org.hotvisor.device.post";

    @ObjectClassDefinition(name = "Hotvisor POST port", description = "Latches the last POST code written.")
    @interface Config {
        @AttributeDefinition(name = "I/O port")
        String hotvisor_io_ports() default "0x80";
    }


    @Activate
    void activate(Config config) {
        int port = portOr(config.hotvisor_io_ports(), PostPort.DEFAULT_PORT, "post");
        device = new PostPort(port);
    }

}
