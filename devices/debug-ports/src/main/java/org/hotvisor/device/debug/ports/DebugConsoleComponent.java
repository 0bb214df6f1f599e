package org.hotvisor.device.debug.ports;

import java.io.IOException;
import java.nio.file.Path;
import org.hotvisor.api.device.HostConsole;
import org.hotvisor.api.device.PortIoDevice;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** The 0xE9 debug console as a port-I/O service (pid {@value #PID}): to the host console, or to a file. */
@Component(name = DebugConsoleComponent.PID, configurationPid = DebugConsoleComponent.PID, service = PortIoDevice.class)
@Designate(ocd = DebugConsoleComponent.Config.class)
public final class DebugConsoleComponent extends PortComponent {
    static final String PID = "org.hotvisor.device.debugcon";
    private static final System.Logger LOG = System.getLogger(DebugConsoleComponent.class.getName());

    @ObjectClassDefinition(name = "Hotvisor debug console", description = "Bytes written to the port go to the host (Bochs port E9 hack).")
    @interface Config {
        @AttributeDefinition(name = "I/O port", description = "0xe9 by default; OVMF uses 0x402.")
        String hotvisor_io_ports() default "0xe9";

        @AttributeDefinition(name = "Read-back value", description = "What a read returns, so guests can detect the port.", min = "0", max = "255")
        int readback() default DebugConsole.DEFAULT_READBACK;

        @AttributeDefinition(name = "Output file", description = "If set, output goes to this file instead of the console.", required = false)
        String output_file() default "";
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policyOption = ReferencePolicyOption.GREEDY)
    private HostConsole console;

    private DebugConsole debugConsole;
    private FileSink file;

    @Activate
    void activate(Config config) {
        int port = portOr(config.hotvisor_io_ports(), DebugConsole.DEFAULT_PORT, "debugcon");
        if (!config.output_file().isBlank()) {
            try {
                file = new FileSink(Path.of(config.output_file()));
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "debugcon: cannot open " + config.output_file() + "; output goes to the console", e);
            }
        }
        if (file != null) {
            FileSink out = file;
            device = debugConsole = new DebugConsole(port, config.readback(), out::write, out::flush);
        } else if (console != null) {
            HostConsole c = console;
            device = debugConsole = new DebugConsole(port, config.readback(), c::write, c::flush);
        } else {
            device = debugConsole = new DebugConsole(port, config.readback(), b -> { }, () -> { });
        }
    }

    @Deactivate
    void deactivate() {
        debugConsole.flushLine();
        if (file != null) {
            file.close();
        }
        LOG.log(System.Logger.Level.DEBUG, "{0}", device);
    }

}
