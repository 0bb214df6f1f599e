package org.hotvisor.device.pic8259;

import org.hotvisor.api.device.InterruptController;
import org.hotvisor.api.device.InterruptLines;
import org.hotvisor.api.device.InterruptSink;
import org.hotvisor.api.device.PortIoDevice;
import org.hotvisor.api.device.ResetListener;
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
 * The cascaded 8259A pair as one component with three faces: the guest's ports, the devices'
 * interrupt lines, and the kernel's interrupt controller (pid {@value #PID}).
 */
@Component(name = Pic8259Component.PID, configurationPid = Pic8259Component.PID,
        service = {PortIoDevice.class, InterruptLines.class, InterruptController.class, ResetListener.class},
        property = PortIoDevice.PORTS + "=" + CascadedPic.PORTS)
@Designate(ocd = Pic8259Component.Config.class)
public final class Pic8259Component implements PortIoDevice, InterruptLines, InterruptController, ResetListener {
    static final String PID = "org.hotvisor.device.pic8259";
    private static final System.Logger LOG = System.getLogger(Pic8259Component.class.getName());

    @ObjectClassDefinition(name = "Hotvisor 8259A PIC pair", description = "Master 0x20, slave 0xA0 on IRQ2, ELCR 0x4D0/0x4D1.")
    @interface Config {
        @AttributeDefinition(name = "Level-triggered IRQs 0-7", description = "ELCR1 at power-on (bits 0-2 are ignored).", min = "0", max = "255")
        int elcr_master() default 0;

        @AttributeDefinition(name = "Level-triggered IRQs 8-15", description = "ELCR2 at power-on (bits 0 and 5 are ignored).", min = "0", max = "255")
        int elcr_slave() default 0;
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile InterruptSink interruptSink;

    private CascadedPic pic;

    @Activate
    void activate(Config config) {
        pic = new CascadedPic(this::wakeVcpu);
        pic.ioWrite(CascadedPic.ELCR_MASTER, 1, config.elcr_master());
        pic.ioWrite(CascadedPic.ELCR_SLAVE, 1, config.elcr_slave());
    }

    @Deactivate
    void deactivate() {
        LOG.log(System.Logger.Level.DEBUG, "{0}", pic);
    }

    private void wakeVcpu() {
        InterruptSink sink = interruptSink;
        if (sink != null) {
            sink.intrAsserted();
        }
    }

    @Override
    public int ioRead(int port, int size) {
        return pic.ioRead(port, size);
    }

    @Override
    public void ioWrite(int port, int size, int value) {
        pic.ioWrite(port, size, value);
    }

    @Override
    public void setLevel(int irq, boolean high) {
        pic.setLevel(irq, high);
    }

    @Override
    public boolean interruptPending() {
        return pic.interruptPending();
    }

    @Override
    public int acknowledge() {
        return pic.acknowledge();
    }

    @Override
    public String toString() {
        return String.valueOf(pic);
    }

    /** A platform reset: both 8259s return to their power-on state. */
    @Override
    public void machineReset() {
        pic.reset();
    }
}
