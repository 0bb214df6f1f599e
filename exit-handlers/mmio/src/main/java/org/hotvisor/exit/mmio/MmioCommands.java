package org.hotvisor.exit.mmio;

import java.util.Hashtable;
import org.hotvisor.exit.routing.ShellCommands;

/**
 * Gogo shell commands {@code mmio:unclaimed} and {@code mmio:devices}. See {@link ShellCommands}.
 */
public final class MmioCommands {
    static final String SCOPE = "mmio";
    static final String[] FUNCTIONS = {"unclaimed", "devices"};

    private final MmioExitHandler handler;

    MmioCommands(MmioExitHandler handler) {
        this.handler = handler;
    }

    static Hashtable<String, Object> serviceProperties() {
        return ShellCommands.properties(SCOPE, FUNCTIONS);
    }

    /** mmio:unclaimed — per-address counts of reads and writes that no device claimed. */
    public String unclaimed() {
        return handler.unclaimed().describe();
    }

    /** mmio:unclaimed reset — clears the counts. */
    public String unclaimed(String action) {
        if ("reset".equals(action)) {
            handler.unclaimed().reset();
            return "unclaimed-MMIO counts cleared";
        }
        return "usage: mmio:unclaimed [reset]";
    }

    /** mmio:devices — the address map: which device owns which guest-physical ranges. */
    public String devices() {
        return handler.mmioMap().describe();
    }
}
