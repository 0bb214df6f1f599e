package org.hotvisor.device.fwcfg;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.hotvisor.api.device.MachineControl;
import org.hotvisor.api.device.PortIoDevice;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * fw_cfg as a port-I/O service (pid {@value #PID}). Besides the metatype keys, the configuration
 * may name files, like QEMU's {@code -fw_cfg name=...,file=...|string=...}:
 * {@code file.<name> = <host path>} or {@code string.<name> = <text>}, e.g.
 * {@code file.opt/org.example/blob = /tmp/blob.bin}. A file that cannot be read is logged and left out.
 */
@Component(name = FwCfgComponent.PID, configurationPid = FwCfgComponent.PID, service = PortIoDevice.class)
@Designate(ocd = FwCfgComponent.Config.class)
public final class FwCfgComponent implements PortIoDevice {
    static final String PID = "org.hotvisor.device.fw-cfg";
    /** The framework property the launcher sets from --cpus. */
    static final String CPUS_PROPERTY = "hotvisor.cpus";
    static final String FILE_PREFIX = "file.";
    static final String STRING_PREFIX = "string.";
    static final int DEFAULT_CPUS = 1;
    private static final System.Logger LOG = System.getLogger(FwCfgComponent.class.getName());

    @ObjectClassDefinition(name = "Hotvisor fw_cfg", description = "QEMU's firmware configuration device at 0x510/0x511. "
            + "Files: file.<name>=<host path> or string.<name>=<text>.")
    @interface Config {
        @AttributeDefinition(name = "I/O ports", description = "Selector and data port; the first is the selector.")
        String hotvisor_io_ports() default "0x510-0x511";

        @AttributeDefinition(description = "CPU count (key 0x05); 0: the framework property hotvisor.cpus, else 1.")
        int cpus() default 0;

        @AttributeDefinition(description = "Most CPUs (key 0x0f); 0: the CPU count.")
        int max_cpus() default 0;
    }

    @Reference
    private MachineControl machine;

    private FwCfg device;

    @Activate
    void activate(BundleContext context, Config config, Map<String, Object> properties) {
        int cpus = config.cpus() > 0 ? config.cpus() : frameworkCpus(context == null ? null : context.getProperty(CPUS_PROPERTY));
        int maxCpus = config.max_cpus() > 0 ? Math.max(config.max_cpus(), cpus) : cpus;
        FwCfgItems items = FwCfgItems.standard(machine.ramSize(), cpus, maxCpus);
        addConfiguredFiles(items, properties);
        device = new FwCfg(basePort(config.hotvisor_io_ports()), items);
    }

    @Deactivate
    void deactivate() {
        LOG.log(System.Logger.Level.DEBUG, "{0}", device);
    }

    /** The CPU count from the framework property; missing or bad: 1 (bad is logged). */
    static int frameworkCpus(String value) {
        if (value == null || value.isBlank()) {
            return DEFAULT_CPUS;
        }
        try {
            int n = Integer.parseInt(value.trim());
            if (n >= 1) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        LOG.log(System.Logger.Level.ERROR, "fw_cfg: bad {0} \"{1}\"; reporting {2} CPU", CPUS_PROPERTY, value, DEFAULT_CPUS);
        return DEFAULT_CPUS;
    }

    /** Adds the file.* and string.* entries of the configuration; bad ones are logged and skipped. */
    static void addConfiguredFiles(FwCfgItems items, Map<String, ?> properties) {
        Map<String, ?> sorted = new TreeMap<>(properties == null ? Map.of() : properties);
        for (Map.Entry<String, ?> e : sorted.entrySet()) {
            String key = e.getKey();
            try {
                if (key.startsWith(FILE_PREFIX)) {
                    Path path = Path.of(String.valueOf(e.getValue()).trim());
                    items.addFile(key.substring(FILE_PREFIX.length()), Files.readAllBytes(path));
                } else if (key.startsWith(STRING_PREFIX)) {
                    items.addFile(key.substring(STRING_PREFIX.length()), String.valueOf(e.getValue()).getBytes(StandardCharsets.UTF_8));
                }
            } catch (IOException | RuntimeException ex) {
                LOG.log(System.Logger.Level.ERROR, "fw_cfg: {0} left out: {1}", key, ex.toString());
            }
        }
    }

    /** The first port of a "0x510-0x511" list, or the default (logged) if it does not parse. */
    static int basePort(String ports) {
        try {
            int port = Integer.decode(ports.split("[,-]", 2)[0].trim());
            if (port >= 0 && port + FwCfg.PORT_COUNT - 1 <= 0xFFFF) {
                return port;
            }
        } catch (NumberFormatException | NullPointerException e) {
            // reported below
        }
        LOG.log(System.Logger.Level.ERROR, "fw_cfg: bad port \"{0}\"; using 0x{1}", ports, Integer.toHexString(FwCfg.DEFAULT_BASE));
        return FwCfg.DEFAULT_BASE;
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
    public String toString() {
        return String.valueOf(device);
    }
}
