package org.hotvisor.device.debug.ports;

import org.hotvisor.api.device.PortIoDevice;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** The POST code port as a port-I/O service (pid {@value #PID}). */
@Component(name = PostPortComponent.PID, configurationPid = PostPortComponent.PID, service = PortIoDevice.class)
@Designate(ocd = PostPortComponent.Config.class)
public final class PostPortComponent implements PortIoDevice {
    static final String PID = "org.hotvisor.device.post";
    private static final System.Logger LOG = System.getLogger(PostPortComponent.class.getName());

    @ObjectClassDefinition(name = "Hotvisor POST port", description = "Latches the last POST code written.")
    @interface Config {
        @AttributeDefinition(name = "I/O port")
        String hotvisor_io_ports() default "0x80";
    }

    private PostPort device;

    @Activate
    void activate(Config config) {
        int port = IsaBus.firstPort(config.hotvisor_io_ports());
        if (port < 0) {
            LOG.log(System.Logger.Level.ERROR, "post: bad port \"{0}\"; using 0x80", config.hotvisor_io_ports());
            port = PostPort.DEFAULT_PORT;
        }
        device = new PostPort(port);
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
