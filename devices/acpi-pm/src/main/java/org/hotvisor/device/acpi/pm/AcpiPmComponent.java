package org.hotvisor.device.acpi.pm;

import org.hotvisor.api.device.InterruptLines;
import org.hotvisor.api.device.MachineControl;
import org.hotvisor.api.device.PortIoDevice;
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

/** ACPI PM1a registers and PM timer as a port-I/O service (pid {@value #PID}). */
@Component(name = AcpiPmComponent.PID, configurationPid = AcpiPmComponent.PID, service = PortIoDevice.class)
@Designate(ocd = AcpiPmComponent.Config.class)
public final class AcpiPmComponent implements PortIoDevice {
    static final String PID = "org.hotvisor.device.acpi-pm";
    static final int DEFAULT_SCI_IRQ = 9;
    private static final int ISA_IRQS = 16;
    private static final System.Logger LOG = System.getLogger(AcpiPmComponent.class.getName());

    @ObjectClassDefinition(name = "Hotvisor ACPI PM", description = "PM1a event/control blocks and the 3.579545 MHz PM timer (PM base 0xB000).")
    @interface Config {
        @AttributeDefinition(name = "I/O ports", description = "The PM block: PM1_STS/EN at +0, PM1_CNT at +4, PM_TMR at +8.")
        String hotvisor_io_ports() default "0xb000-0xb00b";

        @AttributeDefinition(description = "PM timer width: false = 24 bits, true = 32 bits (FADT TMR_VAL_EXT must agree).")
        boolean timer_32bit() default false;

        @AttributeDefinition(description = "SLP_TYP value that means S5 (soft off); the DSDT \\_S5 package must agree.", min = "0", max = "7")
        int s5_slp_typ() default AcpiPm.DEFAULT_S5_SLP_TYP;

        @AttributeDefinition(description = "ISA IRQ of the SCI (the FADT SCI_INT).", min = "0", max = "15")
        int sci_irq() default DEFAULT_SCI_IRQ;
    }

    @Reference
    private VirtualClock clock;

    @Reference
    private MachineControl machine;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile InterruptLines interruptLines;

    private AcpiPm pm;
    private int sciIrq;

    @Activate
    void activate(Config config) {
        sciIrq = config.sci_irq();
        if (sciIrq < 0 || sciIrq >= ISA_IRQS) {
            LOG.log(System.Logger.Level.ERROR, "acpi-pm: bad sci.irq {0}; using {1}", sciIrq, DEFAULT_SCI_IRQ);
            sciIrq = DEFAULT_SCI_IRQ;
        }
        int s5 = config.s5_slp_typ();
        if (s5 < 0 || s5 > AcpiPm.SLP_TYP_MASK) {
            LOG.log(System.Logger.Level.ERROR, "acpi-pm: bad s5.slp.typ {0}; using {1}", s5, AcpiPm.DEFAULT_S5_SLP_TYP);
            s5 = AcpiPm.DEFAULT_S5_SLP_TYP;
        }
        pm = new AcpiPm(basePort(config.hotvisor_io_ports()), clock, machine, this::setSci, s5, config.timer_32bit());
    }

    @Deactivate
    void deactivate() {
        pm.close();
        LOG.log(System.Logger.Level.DEBUG, "{0}", pm);
    }

    private void setSci(boolean high) {
        InterruptLines l = interruptLines;
        if (l != null) {
            l.setLevel(sciIrq, high);
        }
    }

    static int basePort(String ports) {
        try {
            int port = Integer.decode(ports.split("[,-]", 2)[0].trim());
            if (port >= 0 && port + AcpiPm.PORT_COUNT - 1 <= 0xFFFF) {
                return port;
            }
        } catch (NumberFormatException | NullPointerException e) {
            // reported below
        }
        LOG.log(System.Logger.Level.ERROR, "acpi-pm: bad port \"{0}\"; using 0x{1}", ports, Integer.toHexString(AcpiPm.DEFAULT_BASE));
        return AcpiPm.DEFAULT_BASE;
    }

    @Override
    public int ioRead(int port, int size) {
        return pm.ioRead(port, size);
    }

    @Override
    public void ioWrite(int port, int size, int value) {
        pm.ioWrite(port, size, value);
    }

    @Override
    public String toString() {
        return String.valueOf(pm);
    }
}
