package org.hotvisor.device.uart16550;

import org.hotvisor.api.device.PortIoDevice;
import org.hotvisor.api.device.ResetListener;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.metatype.annotations.Designate;

/**
 * COM2-COM4 (or any further 16550): one instance per factory configuration of
 * {@value #FACTORY_PID}, e.g. {@code deploy/org.hotvisor.device.uart16550.port-com2.cfg} with
 * {@code hotvisor.io.ports=0x2f8-0x2ff}, {@code irq=3}, {@code name=COM2}.
 */
@Component(name = ExtraPortComponent.FACTORY_PID, configurationPid = ExtraPortComponent.FACTORY_PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE, service = {PortIoDevice.class, ResetListener.class})
@Designate(ocd = Uart16550Config.class, factory = true)
public final class ExtraPortComponent extends Uart16550Component {
    static final String FACTORY_PID = "org.hotvisor.device.uart16550.port";
}
