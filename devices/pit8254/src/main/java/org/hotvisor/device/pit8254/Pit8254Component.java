package org.hotvisor.device.pit8254;

import org.hotvisor.api.device.InterruptLines;
import org.hotvisor.api.device.PortIoDevice;
import org.hotvisor.api.device.ResetListener;
import org.hotvisor.api.device.VirtualClock;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The 8254 PIT and port 0x61 as a port-I/O service (pid {@value #PID}). The PIC is bound
 * dynamically, so replacing it does not restart the timer.
 */
@Component(name = Pit8254Component.PID, configurationPid = Pit8254Component.PID, service = {PortIoDevice.class, ResetListener.class},
        property = PortIoDevice.PORTS + "=" + Pit8254.PORTS)
@Designate(ocd = Pit8254Component.Config.class)
public final class Pit8254Component implements PortIoDevice, ResetListener {
    static final String PID = "org.hotvisor.device.pit8254";
    private static final int ISA_IRQS = 16;
    private static final System.Logger LOG = System.getLogger(Pit8254Component.class.getName());

    @ObjectClassDefinition(name = "Hotvisor 8254 PIT", description = "Interval timer at 0x40-0x43 and System Control Port B at 0x61.")
    @interface Config {
        @AttributeDefinition(name = "IRQ", description = "The line counter 0's OUT drives.", min = "0", max = "15")
        int irq() default 0;
    }

    @Reference
    private VirtualClock clock;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile InterruptLines interruptLines;

    private volatile Pit8254 pit;
    private int irq;

    @Activate
    void activate(Config config) {
        int irq = config.irq();
        if (irq < 0 || irq >= ISA_IRQS) {
            LOG.log(System.Logger.Level.ERROR, "pit8254: bad irq {0}; using 0", irq);
            irq = 0;
        }
        this.irq = irq;
        pit = new Pit8254(clock, this::setLevel, irq);
    }

    /** A platform reset: the counters return to their unprogrammed power-on state. */
    @Override
    public void machineReset() {
        Pit8254 old = pit;
        pit = new Pit8254(clock, this::setLevel, irq);
        old.close();
    }

    @Deactivate
    void deactivate() {
        pit.close();
        LOG.log(System.Logger.Level.DEBUG, "{0}", pit);
    }

    private void setLevel(int irq, boolean high) {
        InterruptLines l = interruptLines;
        if (l != null) {
            l.setLevel(irq, high);
        }
    }

    @Override
    public int ioRead(int port, int size) {
        return pit.ioRead(port, size);
    }

    @Override
    public void ioWrite(int port, int size, int value) {
        pit.ioWrite(port, size, value);
    }

    @Override
    public String toString() {
        return String.valueOf(pit);
    }
}
