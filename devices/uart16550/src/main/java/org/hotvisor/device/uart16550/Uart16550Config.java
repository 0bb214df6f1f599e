package org.hotvisor.device.uart16550;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * One serial port. Without any configuration the bundle provides COM1; each factory
 * configuration of {@value Uart16550Component#PID} is one port (COM2: ports 0x2f8-0x2ff, IRQ 3;
 * COM3: 0x3e8-0x3ef, IRQ 4; COM4: 0x2e8-0x2ef, IRQ 3).
 */
@ObjectClassDefinition(name = "Hotvisor 16550A UART", description = "A PC serial port (16550A with FIFOs).")
@interface Uart16550Config {

    @AttributeDefinition(name = "I/O ports", description = "The eight ports the UART decodes; the first is the base.")
    String hotvisor_io_ports() default Uart16550Component.COM1_PORTS;

    @AttributeDefinition(name = "IRQ", description = "ISA interrupt line, 0-15.", min = "0", max = "15")
    int irq() default Uart16550Component.COM1_IRQ;

    @AttributeDefinition(name = "Name", description = "The port's name in logs and thread names.")
    String name() default "COM1";

    @AttributeDefinition(name = "Output file", description = "If set, the port talks to this file (output only) instead of the console.", required = false)
    String output_file() default "";

    @AttributeDefinition(name = "TCP port", description = "If not 0, the port is a TCP server on 127.0.0.1 at this port instead of the console.", min = "0", max = "65535")
    int tcp_port() default 0;

    @AttributeDefinition(name = "OUT2 gates IRQ", description = "As on PC boards, the interrupt reaches the PIC only while MCR.OUT2 is set.")
    boolean irq_gated_by_out2() default true;
}
