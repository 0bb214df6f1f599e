package org.hotvisor.device.uart16550;

import org.hotvisor.api.device.PortIoDevice;
import org.hotvisor.api.device.ResetListener;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.metatype.annotations.Designate;

/**
 * COM1: always present (0x3F8, IRQ4), configurable through the singleton PID
 * {@value Uart16550Component#PID}. A singleton, so adding COM2 never takes COM1 away.
 */
@Component(name = Uart16550Component.PID, configurationPid = Uart16550Component.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL, service = {PortIoDevice.class, ResetListener.class},
        property = PortIoDevice.PORTS + "=" + Uart16550Component.COM1_PORTS)
@Designate(ocd = Uart16550Config.class)
public final class Com1Component extends Uart16550Component {
}
