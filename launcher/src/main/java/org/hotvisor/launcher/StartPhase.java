package org.hotvisor.launcher;

import java.util.Set;

/**
 * The order bundles start in. ConfigAdmin first: FileInstall started before it stalls start-up
 * for about 2 s (shared/FELIX-ON-JAVA25.md). The kernel last among Hotvisor bundles, so every
 * device and exit handler is registered before the guest's first instruction.
 */
enum StartPhase {
    CONFIG_ADMIN,
    DECLARATIVE_SERVICES,
    FILE_INSTALL,
    OTHER,
    HOTVISOR,
    KERNEL,
    /** Gogo and JLine: interactive console only (their start-up cost is not worth it for a run). */
    CONSOLE;

    static final String KERNEL_BUNDLE = "org.hotvisor.kernel";
    private static final Set<String> DS_BUNDLES = Set.of("org.apache.felix.scr", "org.osgi.service.component",
            "org.osgi.util.promise", "org.osgi.util.function");

    static StartPhase of(String symbolicName) {
        if (symbolicName == null) {
            return OTHER;
        }
        if (symbolicName.equals("org.apache.felix.configadmin")) {
            return CONFIG_ADMIN;
        }
        if (DS_BUNDLES.contains(symbolicName)) {
            return DECLARATIVE_SERVICES;
        }
        if (symbolicName.equals("org.apache.felix.fileinstall")) {
            return FILE_INSTALL;
        }
        if (symbolicName.equals(KERNEL_BUNDLE)) {
            return KERNEL;
        }
        if (symbolicName.startsWith("org.hotvisor.")) {
            return HOTVISOR;
        }
        if (symbolicName.startsWith("org.apache.felix.gogo.") || symbolicName.equals("org.jline")
                || symbolicName.startsWith("org.jline.")) {
            return CONSOLE;
        }
        return OTHER;
    }

    /** The distribution's console jars: jline.jar and org.apache.felix.gogo.*.jar. */
    static boolean isConsoleJar(String fileName) {
        return fileName.equals("jline.jar") || fileName.startsWith("org.apache.felix.gogo.");
    }

    /** Platform and kernel bundles: Hotvisor cannot work without them. */
    boolean essential() {
        return this == CONFIG_ADMIN || this == DECLARATIVE_SERVICES || this == KERNEL;
    }
}
