package org.hotvisor.device.pc.testdev;

import java.util.List;
import org.hotvisor.api.device.InterruptLines;
import org.hotvisor.api.device.MmioDevice;
import org.hotvisor.api.device.PortIoDevice;
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
 * pc-testdev as one service that is both a port-I/O and an MMIO device (pid {@value #PID}): the
 * I/O handler routes its ports, the MMIO handler its iomem window.
 */
@Component(name = PcTestdevComponent.PID, configurationPid = PcTestdevComponent.PID, service = {PortIoDevice.class, MmioDevice.class})
@Designate(ocd = PcTestdevComponent.Config.class)
public final class PcTestdevComponent implements PortIoDevice, MmioDevice {
    static final String PID = "org.hotvisor.device.pc-testdev";
    private static final System.Logger LOG = System.getLogger(PcTestdevComponent.class.getName());

    @ObjectClassDefinition(name = "Hotvisor pc-testdev", description = "QEMU's pc-testdev: latch at 0xE0, flush-page 0xE4, "
            + "IRQ lines from 0x2000, 64 KiB iomem at 0xFF000000.")
    @interface Config {
        @AttributeDefinition(name = "I/O ports", description = "Two ranges: the latch block (latch at +0, flush-page at +4, byte latch "
                + "at +8) and the 24 IRQ-line ports. The default stops at +7: 0xe9 is debugcon's; claim 0xe0-0xeb to add the byte latch.")
        String hotvisor_io_ports() default "0xe0-0xe7,0x2000-0x2017";

        @AttributeDefinition(name = "MMIO ranges", description = "The iomem window (64 KiB); its first address is the base.")
        String hotvisor_mmio_ranges() default "0xff000000-0xff00ffff";
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile InterruptLines interruptLines;

    private PcTestdev device;

    @Activate
    void activate(Config config) {
        List<Long> ports = firsts(config.hotvisor_io_ports());
        List<Long> mmio = firsts(config.hotvisor_mmio_ranges());
        int portBase = ports.size() >= 1 && fits(ports.get(0), PcTestdev.PORT_COUNT) ? ports.get(0).intValue() : badPorts(config);
        int irqBase = ports.size() >= 2 && fits(ports.get(1), PcTestdev.IRQ_LINES) ? ports.get(1).intValue() : badIrqPorts(config);
        long iomemBase = mmio.isEmpty() ? badMmio(config) : mmio.getFirst();
        device = new PcTestdev(portBase, irqBase, iomemBase, this::setLevel);
    }

    @Deactivate
    void deactivate() {
        LOG.log(System.Logger.Level.DEBUG, "{0}", device);
    }

    /** The first address of each comma-separated range; entries that do not parse are skipped. */
    static List<Long> firsts(String ranges) {
        if (ranges == null) {
            return List.of();
        }
        return java.util.Arrays.stream(ranges.split(","))
                .map(r -> r.split("-", 2)[0].trim())
                .flatMap(s -> {
                    try {
                        return java.util.stream.Stream.of(Long.decode(s));
                    } catch (NumberFormatException e) {
                        return java.util.stream.Stream.empty();
                    }
                })
                .toList();
    }

    private static boolean fits(long first, int count) {
        return first >= 0 && first + count - 1 <= 0xFFFF;
    }

    private static int badPorts(Config c) {
        LOG.log(System.Logger.Level.ERROR, "pc-testdev: bad ports \"{0}\"; latch at 0x{1}", c.hotvisor_io_ports(),
                Integer.toHexString(PcTestdev.DEFAULT_PORT_BASE));
        return PcTestdev.DEFAULT_PORT_BASE;
    }

    private static int badIrqPorts(Config c) {
        LOG.log(System.Logger.Level.ERROR, "pc-testdev: no IRQ-line range in \"{0}\"; using 0x{1}", c.hotvisor_io_ports(),
                Integer.toHexString(PcTestdev.DEFAULT_IRQ_BASE));
        return PcTestdev.DEFAULT_IRQ_BASE;
    }

    private static long badMmio(Config c) {
        LOG.log(System.Logger.Level.ERROR, "pc-testdev: bad MMIO range \"{0}\"; iomem at 0x{1}", c.hotvisor_mmio_ranges(),
                Long.toHexString(PcTestdev.DEFAULT_IOMEM_BASE));
        return PcTestdev.DEFAULT_IOMEM_BASE;
    }

    private void setLevel(int irq, boolean high) {
        InterruptLines l = interruptLines;
        if (l != null) {
            l.setLevel(irq, high);
        }
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
    public long mmioRead(long address, int size) {
        return device.mmioRead(address, size);
    }

    @Override
    public void mmioWrite(long address, int size, long value) {
        device.mmioWrite(address, size, value);
    }

    @Override
    public String toString() {
        return String.valueOf(device);
    }
}
