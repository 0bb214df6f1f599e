package org.hotvisor.device.uart16550;

import java.io.IOException;
import java.nio.file.Path;
import org.hotvisor.api.device.HostConsole;
import org.hotvisor.api.device.InterruptLines;
import org.hotvisor.api.device.InterruptSink;
import org.hotvisor.api.device.PortIoDevice;
import org.hotvisor.api.device.ResetListener;
import org.hotvisor.api.device.VirtualClock;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * The UART as a port-I/O service: the shared body of {@link Com1Component} (COM1, always there)
 * and {@link ExtraPortComponent} (COM2-COM4, one per factory configuration).
 *
 * <p>The PIC's InterruptLines is bound dynamically so that replacing the PIC bundle does not
 * reset the serial port; the kernel's services are optional so that the port works (polled)
 * before the kernel provides them.
 */
public abstract class Uart16550Component implements PortIoDevice, ResetListener {
    static final String PID = "org.hotvisor.device.uart16550";
    static final String COM1_PORTS = "0x3f8-0x3ff";
    static final int COM1_IRQ = 4;
    private static final int ISA_IRQ_COUNT = 16;
    private static final System.Logger LOG = System.getLogger(Uart16550Component.class.getName());

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile InterruptLines interruptLines; // package-private: SCR injects it into the subclasses

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policyOption = ReferencePolicyOption.GREEDY)
    VirtualClock clock;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policyOption = ReferencePolicyOption.GREEDY)
    InterruptSink interruptSink;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policyOption = ReferencePolicyOption.GREEDY)
    HostConsole console;

    private Uart16550 uart;
    private HostSide hostSide = HostSide.UNPLUGGED;

    @Activate
    void activate(Uart16550Config config) {
        int base = firstPort(config.hotvisor_io_ports());
        int irq = config.irq();
        if (base < 0 || irq < 0 || irq >= ISA_IRQ_COUNT) {
            LOG.log(System.Logger.Level.ERROR, "{0}: bad configuration (ports \"{1}\", irq {2}); using COM1''s",
                    config.name(), config.hotvisor_io_ports(), irq);
            base = firstPort(COM1_PORTS);
            irq = COM1_IRQ;
        }
        hostSide = openHostSide(config);
        InterruptSink sink = interruptSink;
        Runnable wake = sink == null ? () -> { } : sink::intrAsserted;
        HostSide side = hostSide;
        uart = new Uart16550(base, irq, this::setLevel, clock, wake, side::transmit, config.irq_gated_by_out2());
        side.start(uart::hostReceive);
        LOG.log(System.Logger.Level.DEBUG, "{0} at 0x{1} irq {2}", config.name(), Integer.toHexString(base), irq);
    }

    @Deactivate
    void deactivate() {
        hostSide.close();
        uart.close();
        LOG.log(System.Logger.Level.DEBUG, "{0}", uart);
    }

    /** Forwards to whichever PIC is bound now; without one the line goes nowhere. */
    private void setLevel(int irq, boolean high) {
        InterruptLines l = interruptLines;
        if (l != null) {
            l.setLevel(irq, high);
        }
    }

    private HostSide openHostSide(Uart16550Config config) {
        try {
            if (config.tcp_port() > 0) {
                return new TcpHostSide(config.tcp_port(), config.name());
            }
            if (!config.output_file().isBlank()) {
                return new FileHostSide(Path.of(config.output_file()));
            }
        } catch (IOException | RuntimeException e) {
            // The guest still gets a working UART; only the cable is missing.
            LOG.log(System.Logger.Level.ERROR, config.name() + ": cannot open the host side; the port is unplugged", e);
            return HostSide.UNPLUGGED;
        }
        HostConsole c = console;
        return c == null ? HostSide.UNPLUGGED : new ConsoleHostSide(c);
    }

    /** The first port of a "0x3f8-0x3ff" style list, or -1 if it does not parse. */
    static int firstPort(String ports) {
        if (ports == null) {
            return -1;
        }
        String first = ports.split("[,-]", 2)[0].trim();
        try {
            int port = Integer.decode(first);
            return port >= 0 && port <= 0xFFFF - Uart16550.PORT_COUNT + 1 ? port : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    @Override
    public int ioRead(int port, int size) {
        return uart.ioRead(port, size);
    }

    @Override
    public void ioWrite(int port, int size, int value) {
        uart.ioWrite(port, size, value);
    }

    @Override
    public String toString() {
        return String.valueOf(uart);
    }

    /** A platform reset: the UART's registers return to their reset values (host side untouched). */
    @Override
    public void machineReset() {
        uart.reset();
    }
}
