package org.hotvisor.example.tracer;

import org.hotvisor.api.ExitAction;
import org.hotvisor.api.ExitHandler;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.HandlesExit;
import org.hotvisor.api.VmExit;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.propertytypes.ServiceRanking;

/**
 * Logs every port I/O exit to stderr — port, direction, size and the value written — then passes
 * it on, so the stock I/O handler and the devices still do the work. A tracer observes; it never
 * changes what the guest sees.
 */
@Component(service = ExitHandler.class)
@HandlesExit(reason = ExitReason.IO_INSTRUCTION)
@ServiceRanking(100)
public class PortTracer implements ExitHandler {
    @Override
    public ExitAction handle(VmExit exit) {
        // SDM 3C 28.2.1, Table 28-5: size-1 in bits 2:0, IN in bit 3, string in bit 4, port in 31:16.
        long q = exit.qualification();
        int size = (int) (q & 7) + 1;
        boolean in = (q & 8) != 0;
        boolean string = (q & 16) != 0;
        int port = (int) (q >>> 16);
        String value = in || string ? "" : String.format(" value=0x%x", exit.registers().rax() & ((1L << (8 * size)) - 1));
        System.err.printf("[io-trace] #%d rip=0x%x %s%s port=0x%04x size=%d%s%n", exit.sequence(), exit.guestRip(),
                in ? "IN" : "OUT", string ? "S" : "", port, size, value);
        return ExitAction.PASS;
    }
}
