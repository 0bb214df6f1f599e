package org.hotvisor.kernel.gdb;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.felix.service.command.Descriptor;
import org.hotvisor.api.VmState;
import org.hotvisor.kernel.console.GuestDebugger;
import org.hotvisor.kernel.vm.Machine;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gdbstub's life cycle: {@code --gdb PORT} (framework property {@value #GDB_PROPERTY}) opens
 * a server before the guest's first instruction and holds the vCPU there until gdb continues, as
 * QEMU's {@code -s -S}; {@code vm:gdb PORT} opens one from the console, {@code vm:gdb stop} closes
 * them.
 */
@Component(service = GdbServerComponent.class, immediate = true, property = {
    "osgi.command.scope=vm", "osgi.command.function=gdb"})
public final class GdbServerComponent {
    private static final Logger LOG = LoggerFactory.getLogger(GdbServerComponent.class);

    /** The launcher's --gdb PORT: "" or a TCP port. */
    public static final String GDB_PROPERTY = "hotvisor.gdb";
    static final int MAX_PORT = 0xFFFF;

    private final Machine vm;
    private final GuestDebugger debugger;
    private final Map<Integer, GdbServer> servers = new ConcurrentHashMap<>();

    @Activate
    public GdbServerComponent(BundleContext context, @Reference Machine vm, @Reference GuestDebugger debugger) {
        this.vm = vm;
        this.debugger = debugger;
        String property = context.getProperty(GDB_PROPERTY);
        if (property != null && !property.isBlank()) {
            startFromProperty(property.trim());
        }
    }

    private void startFromProperty(String property) {
        int port;
        try {
            port = parsePort(property);
        } catch (IllegalArgumentException e) {
            LOG.error("{}={}: {}", GDB_PROPERTY, property, e.getMessage());
            return;
        }
        // Before the session thread starts the guest: the vCPU parks before its first instruction.
        VmState state = vm.state();
        if (state == VmState.RUNNING) {
            LOG.warn("the guest started before the gdb server; pausing it now");
            vm.pause();
        } else if (state == VmState.EMPTY || state == VmState.LOADED) {
            debugger.holdAtFirstEntry();
        }
        try {
            GdbServer s = open(port);
            System.err.printf("hotvisor: gdb server on 127.0.0.1:%d; the guest waits for gdb's continue%n", s.port());
        } catch (IOException e) {
            LOG.error("cannot open the gdb server on 127.0.0.1:{}: {}", port, e.getMessage());
            System.err.printf("hotvisor: cannot open the gdb server on 127.0.0.1:%d: %s%n", port, e.getMessage());
        }
    }

    static int parsePort(String text) {
        int port;
        try {
            port = Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is not a TCP port");
        }
        if (port < 0 || port > MAX_PORT) {
            throw new IllegalArgumentException("a TCP port is 0 to 65535, not " + port);
        }
        return port;
    }

    private GdbServer open(int port) throws IOException {
        GdbServer s = new GdbServer(port, () -> new MachineTarget(vm, debugger));
        servers.put(s.port(), s);
        return s;
    }

    @Deactivate
    void deactivate() {
        servers.values().forEach(GdbServer::close);
        servers.clear();
    }

    @Descriptor("open a gdb remote-protocol server on 127.0.0.1:PORT (gdb: target remote 127.0.0.1:PORT); 'stop' closes it; without arguments, list them")
    public String gdb(@Descriptor("[PORT|stop]") String... args) {
        if (args.length == 0) {
            if (servers.isEmpty()) {
                return "no gdb server (vm:gdb PORT opens one)";
            }
            StringBuilder b = new StringBuilder();
            servers.forEach((p, s) -> b.append(String.format("gdb server on 127.0.0.1:%d, %s%n", p,
                    s.connected() ? "gdb connected" : "waiting for gdb")));
            return b.toString();
        }
        if (args.length != 1) {
            return "usage: vm:gdb [PORT|stop]";
        }
        if (args[0].equalsIgnoreCase("stop")) {
            int n = servers.size();
            deactivate();
            return n == 0 ? "no gdb server was open" : "closed " + n + " gdb server(s)";
        }
        try {
            int port = parsePort(args[0]);
            if (servers.containsKey(port)) {
                return "a gdb server already listens on 127.0.0.1:" + port;
            }
            GdbServer s = open(port);
            return String.format("gdb server on 127.0.0.1:%d: the VM stops when gdb connects (target remote 127.0.0.1:%d)",
                    s.port(), s.port());
        } catch (IllegalArgumentException | IOException e) {
            return "vm:gdb: " + e.getMessage();
        }
    }
}
