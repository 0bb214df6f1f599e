package org.hotvisor.device.cmos.rtc;

import java.time.Instant;
import java.time.format.DateTimeParseException;
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

/** The MC146818 RTC and CMOS RAM as a port-I/O service (pid {@value #PID}). */
@Component(name = CmosRtcComponent.PID, configurationPid = CmosRtcComponent.PID, service = PortIoDevice.class,
        property = PortIoDevice.PORTS + "=" + Mc146818.PORTS)
@Designate(ocd = CmosRtcComponent.Config.class)
public final class CmosRtcComponent implements PortIoDevice {
    static final String PID = "org.hotvisor.device.cmos-rtc";
    static final String DEFAULT_EPOCH = "2026-01-01T00:00:00Z";
    static final String HOST_CLOCK = "host";
    private static final int ISA_IRQS = 16;
    private static final System.Logger LOG = System.getLogger(CmosRtcComponent.class.getName());

    @ObjectClassDefinition(name = "Hotvisor CMOS RTC", description = "MC146818 clock and CMOS RAM at 0x70/0x71.")
    @interface Config {
        @AttributeDefinition(name = "Base time", description = "The RTC time when the VM starts, ISO-8601 (UTC); \"host\" for the host clock. "
                + "A fixed time keeps runs deterministic.")
        String base_epoch() default DEFAULT_EPOCH;

        @AttributeDefinition(name = "IRQ", min = "0", max = "15")
        int irq() default 8;
    }

    @Reference
    private VirtualClock clock;

    @Reference
    private MachineControl machine;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile InterruptLines interruptLines;

    private Mc146818 rtc;

    @Activate
    void activate(Config config) {
        int irq = config.irq();
        if (irq < 0 || irq >= ISA_IRQS) {
            LOG.log(System.Logger.Level.ERROR, "cmos-rtc: bad irq {0}; using 8", irq);
            irq = 8;
        }
        rtc = new Mc146818(clock, this::setLevel, irq, baseSeconds(config.base_epoch()), machine.ramSize());
    }

    @Deactivate
    void deactivate() {
        rtc.close();
        LOG.log(System.Logger.Level.DEBUG, "{0}", rtc);
    }

    /** The configured base time in seconds since 1970; bad values fall back to the default (and are logged). */
    static long baseSeconds(String base) {
        if (HOST_CLOCK.equalsIgnoreCase(base == null ? "" : base.trim())) {
            return Instant.now().getEpochSecond();
        }
        try {
            return Instant.parse(base.trim()).getEpochSecond();
        } catch (DateTimeParseException | NullPointerException e) {
            LOG.log(System.Logger.Level.ERROR, "cmos-rtc: bad base.epoch \"{0}\"; using {1}", base, DEFAULT_EPOCH);
            return Instant.parse(DEFAULT_EPOCH).getEpochSecond();
        }
    }

    private void setLevel(int irq, boolean high) {
        InterruptLines l = interruptLines;
        if (l != null) {
            l.setLevel(irq, high);
        }
    }

    @Override
    public int ioRead(int port, int size) {
        return rtc.ioRead(port, size);
    }

    @Override
    public void ioWrite(int port, int size, int value) {
        rtc.ioWrite(port, size, value);
    }

    @Override
    public String toString() {
        return String.valueOf(rtc);
    }
}
