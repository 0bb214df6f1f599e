package org.hotvisor.exit.io;

import java.util.Hashtable;
import org.hotvisor.exit.routing.ShellCommands;

/**
 * Gogo shell commands {@code io:unclaimed} and {@code io:devices}. See {@link ShellCommands}.
 */
public final class IoCommands {
    static final String SCOPE = "io";
    static final String[] FUNCTIONS = {"unclaimed", "devices"};

    private final IoExitHandler handler;

    IoCommands(IoExitHandler handler) {
        this.handler = handler;
    }

    static Hashtable<String, Object> serviceProperties() {
        return ShellCommands.properties(SCOPE, FUNCTIONS);
    }

    /** io:unclaimed — per-port counts of reads and writes that no device claimed. */
    public String unclaimed() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("%-8s %12s %12s%n", "port", "reads", "writes"));
        long totalReads = 0;
        long totalWrites = 0;
        for (int port = 0; port < PortRanges.PORT_COUNT; port++) {
            long reads = handler.unclaimedReads(port);
            long writes = handler.unclaimedWrites(port);
            if (reads != 0 || writes != 0) {
                sb.append(String.format("0x%04x   %12d %12d%n", port, reads, writes));
                totalReads += reads;
                totalWrites += writes;
            }
        }
        sb.append(String.format("%-8s %12d %12d%n", "total", totalReads, totalWrites));
        return sb.toString();
    }

    /** io:unclaimed reset — clears the counts. */
    public String unclaimed(String action) {
        if ("reset".equals(action)) {
            handler.resetUnclaimed();
            return "unclaimed-port counts cleared";
        }
        return "usage: io:unclaimed [reset]";
    }

    /** io:devices — the port map: which device owns which ports. */
    public String devices() {
        return handler.portMap().describe();
    }
}
