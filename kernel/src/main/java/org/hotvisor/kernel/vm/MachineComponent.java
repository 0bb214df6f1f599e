package org.hotvisor.kernel.vm;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import org.hotvisor.api.Vm;
import org.hotvisor.api.device.HostConsole;
import org.hotvisor.api.device.InterruptController;
import org.hotvisor.api.device.InterruptSink;
import org.hotvisor.api.device.MachineControl;
import org.hotvisor.api.device.VirtualClock;
import org.hotvisor.api.vmx.VmxProcessor;
import org.hotvisor.kernel.dispatch.ExitDispatcher;
import org.hotvisor.kernel.loader.ImageException;
import org.hotvisor.kernel.loader.LoadOptions;
import org.hotvisor.kernel.stats.ExitTrace;
import org.hotvisor.kernel.stats.StatsReport;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.framework.startlevel.BundleStartLevel;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes the VM and its machine services (Vm, MachineControl, InterruptSink, VirtualClock,
 * HostConsole) and runs the session the launcher asked for through framework properties:
 * {@code hotvisor.mode=run} boots an image headless and reports the outcome as a service with
 * {@code hotvisor.run.status}; {@code console} loads the demo paused.
 */
@Component(immediate = true, service = {})
public final class MachineComponent {
    private static final Logger LOG = LoggerFactory.getLogger(MachineComponent.class);

    /** Service property of the run outcome the launcher waits for. */
    public static final String RUN_STATUS = "hotvisor.run.status";
    public static final String RUN_MESSAGE = "hotvisor.run.message";

    private final ExitDispatcher dispatcher;
    private final BundleContext context;
    private final Machine machine;
    private final List<ServiceRegistration<?>> registrations = new ArrayList<>();
    private volatile ServiceRegistration<?> result;
    private volatile boolean active = true;

    @Activate
    public MachineComponent(BundleContext context, @Reference ExitDispatcher dispatcher) {
        this.context = context;
        this.dispatcher = dispatcher;
        String mode = prop("hotvisor.mode", "console");
        Machine m;
        String setupError = null;
        VmcsSettings vmcsSettings = VmcsSettings.NONE;
        try {
            vmcsSettings = VmcsSettings.parse(prop("hotvisor.set", "")); // control bits, VMCS fields, bitmaps
        } catch (IllegalArgumentException e) {
            setupError = e.getMessage();
        }
        long mem = parseLong(prop("hotvisor.mem", String.valueOf(128L << 20)), 128L << 20);
        boolean hostClock = "host".equals(prop("hotvisor.clock", "run".equals(mode) ? "deterministic" : "host"));
        int cpus = cpus(prop(CPUS_PROPERTY, "1"));
        m = new Machine(new Machine.Settings(mem, hostClock, vmcsSettings).withCpus(cpus), dispatcher,
                new HostConsoleImpl(!"run".equals(mode)), preallocatedRam(context, mem));
        this.machine = m;
        register(new String[] {Vm.class.getName(), MachineControl.class.getName(), InterruptSink.class.getName(),
            Machine.class.getName()}, m);
        register(new String[] {VirtualClock.class.getName()}, m.clock());
        register(new String[] {HostConsole.class.getName()}, m.console());
        String err = setupError;
        Thread session = new Thread(() -> session(mode, err), "hotvisor-session");
        session.setDaemon(true);
        session.start();
    }

    /** Service property of the launcher's {@code Supplier<byte[]>} of zeroed guest RAM: its length. */
    static final String PREALLOCATED_RAM_BYTES = "hotvisor.guest.ram.bytes";

    /**
     * The zeroed guest RAM the launcher allocated on another thread while Felix started (a
     * {@code Supplier<byte[]>} service with the RAM size as a property), or null: then the
     * machine allocates its own, as it does without the launcher (tests, the harness).
     */
    static byte[] preallocatedRam(BundleContext context, long bytes) {
        if (context == null) {
            return null;
        }
        try {
            ServiceReference<?>[] refs = context.getServiceReferences(java.util.function.Supplier.class.getName(),
                    "(" + PREALLOCATED_RAM_BYTES + "=" + bytes + ")");
            if (refs == null) {
                return null; // no launcher (tests, the harness) or another size
            }
            for (ServiceReference<?> ref : refs) {
                Object supplier = context.getService(ref);
                try {
                    if (supplier instanceof java.util.function.Supplier<?> s && s.get() instanceof byte[] ram
                            && ram.length == bytes) {
                        LOG.debug("guest RAM: {} bytes preallocated by the launcher", bytes);
                        return ram;
                    }
                } finally {
                    context.ungetService(ref);
                }
            }
        } catch (org.osgi.framework.InvalidSyntaxException | RuntimeException e) {
            return null; // the machine allocates its own
        }
        return null;
    }

    private void register(String[] classes, Object service) {
        registrations.add(context.registerService(classes, service, null));
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindProcessor(VmxProcessor p) {
        machine().processor(p);
    }

    void unbindProcessor(VmxProcessor p) {
        machine().processorGone(p);
    }

    /** The launcher's {@code --cpus}: the number of vCPUs (the loader's MADT lists as many local APICs). */
    static final String CPUS_PROPERTY = "hotvisor.cpus";

    /** The vCPU count of the framework property; a bad value is logged and means 1. */
    static int cpus(String value) {
        try {
            int n = Integer.parseInt(value.trim());
            if (n >= 1 && n <= Machine.Settings.MAX_CPUS) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        LOG.error("{}={} is not a vCPU count (1-{}); one vCPU", CPUS_PROPERTY, value, Machine.Settings.MAX_CPUS);
        return 1;
    }

    /**
     * Every interrupt controller: vCPU N takes the one with {@code hotvisor.vcpu=N} (its local
     * APIC), else the unqualified one (the 8259); dynamic, so the APIC bundle may come and go.
     */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, updated = "updatedInterruptController")
    void bindInterruptController(InterruptController ic, Map<String, Object> properties) {
        machine().addInterruptController(ic, properties.get(InterruptController.VCPU), ranking(properties),
                properties.get(Constants.SERVICE_ID) instanceof Long id ? id : Long.MAX_VALUE);
    }

    void updatedInterruptController(InterruptController ic, Map<String, Object> properties) {
        bindInterruptController(ic, properties);
    }

    void unbindInterruptController(InterruptController ic) {
        machine().removeInterruptController(ic);
    }

    private static int ranking(Map<String, Object> properties) {
        return properties.get(Constants.SERVICE_RANKING) instanceof Integer r ? r : 0;
    }

    private Machine machine() {
        return machine;
    }

    @Deactivate
    void deactivate() {
        active = false;
        machine.stop(StopStatus.STOPPED_BY_USER, "kernel stopped");
        for (ServiceRegistration<?> r : registrations) {
            try {
                r.unregister();
            } catch (IllegalStateException ignored) {
                // already gone with the bundle
            }
        }
        ServiceRegistration<?> r = result;
        if (r != null) {
            try {
                r.unregister();
            } catch (IllegalStateException ignored) {
                // already gone
            }
        }
    }

    public Machine vm() {
        return machine;
    }

    private String prop(String key, String dflt) {
        String v = context.getProperty(key);
        return v == null || v.isEmpty() ? dflt : v;
    }

    private static long parseLong(String s, long dflt) {
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            return dflt;
        }
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void bindResetListener(org.hotvisor.api.device.ResetListener l) {
        machine().addResetListener(l);
    }

    void unbindResetListener(org.hotvisor.api.device.ResetListener l) {
        machine().removeResetListener(l);
    }

    // ---------------------------------------------------------------- sessions

    private void session(String mode, String setupError) {
        try {
            awaitBundlesSettled();
            if ("run".equals(mode)) {
                awaitDeployDirectorySettled();
            }
            if (setupError != null) {
                publish(StopStatus.USER_ERROR, setupError);
                return;
            }
            LoadOptions options = loadOptions();
            String image = context.getProperty("hotvisor.image");
            if (image == null || image.isBlank()) {
                if ("run".equals(mode)) {
                    publish(StopStatus.USER_ERROR, "no image given");
                }
                return;
            }
            try {
                machine.load(Path.of(image), options);
            } catch (ImageException e) {
                if ("run".equals(mode)) {
                    publish(StopStatus.USER_ERROR, e.getMessage());
                } else {
                    LOG.error("cannot load {}: {}", image, e.getMessage());
                }
                return;
            }
            if (!"run".equals(mode)) {
                return; // console: loaded and paused until vm:start
            }
            String tracePath = context.getProperty("hotvisor.trace");
            if (tracePath != null && !tracePath.isBlank()) {
                machine.trace(new ExitTrace(Files.newBufferedWriter(Path.of(tracePath), StandardCharsets.UTF_8)));
            }
            machine.onStop(this::reportRun);
            pumpStdinToGuest();
            machine.startIfLoaded(() -> { }); // with --gdb, an attaching gdb may have started and held it already
        } catch (IOException e) {
            publish(StopStatus.USER_ERROR, "cannot write the trace: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.error("session failed", e);
            publish(StopStatus.INTERNAL_ERROR, "internal error: " + e);
        }
    }

    /** Headless runs: host stdin goes to the guest's console UART (COM1 by default), byte by byte. */
    private void pumpStdinToGuest() {
        Thread pump = new Thread(() -> {
            try {
                for (int b; active && (b = System.in.read()) >= 0; ) {
                    machine.console().input(b);
                }
            } catch (java.io.IOException e) {
                // stdin closed: the guest simply gets no more input
            }
        }, "hotvisor-stdin");
        pump.setDaemon(true);
        pump.start();
    }

    private void reportRun(Machine m) {
        ExitTrace t = m.trace();
        if (t != null) {
            t.close();
        }
        // Power-off (0) and isa-debug-exit (odd) end quietly, as under QEMU; Hotvisor's own
        // outcomes (even, non-zero: triple fault, entry failure, ...) say why in one line.
        int status = m.exitStatus();
        String message = status != 0 && status % 2 == 0 ? m.stopReason() : "";
        try {
            if (Boolean.parseBoolean(context.getProperty("hotvisor.stats"))) {
                System.err.print(StatsReport.table(m.statistics(), StatsReport.SortKey.COUNT));
            }
            String json = context.getProperty("hotvisor.statsJson");
            if (json != null && !json.isBlank()) {
                Files.writeString(Path.of(json), StatsReport.json(m.statistics()));
            }
        } catch (IOException | RuntimeException e) {
            message = "cannot write statistics: " + e.getMessage();
        }
        publish(m.exitStatus(), message);
    }

    private LoadOptions loadOptions() {
        String format = prop("hotvisor.format", "auto");
        long loadAddr = parseLong(prop("hotvisor.loadAddr", "-1"), -1);
        long entry = parseLong(prop("hotvisor.entry", "-1"), -1);
        String image = prop("hotvisor.image", "");
        String append = prop("hotvisor.append", "");
        String cmdline = append.isEmpty() ? image : image + " " + append;
        List<LoadOptions.Module> modules = new ArrayList<>();
        for (String line : prop("hotvisor.modules", "").split("\n")) {
            if (!line.isBlank()) {
                modules.add(LoadOptions.Module.parse(line)); // "path[=arguments]": the string is "path arguments"
            }
        }
        int cpus = machine.vcpuCount(); // the ACPI MADT lists one local APIC each
        return new LoadOptions(format, loadAddr, entry, cmdline, modules, cpus);
    }

    /**
     * Waits until what the deploy directory holds is in place: FileInstall installs its jars and
     * feeds its .cfg files to ConfigAdmin, and SCR activates the components they configure, all
     * asynchronously. Settled means no service event for a short quiet period (bounded).
     */
    private void awaitDeployDirectorySettled() throws InterruptedException {
        String dir = context.getProperty("hotvisor.deploy");
        if (dir == null || dir.isBlank()) {
            return;
        }
        List<String> configs = new ArrayList<>();
        boolean any;
        try (java.util.stream.Stream<Path> files = Files.list(Path.of(dir))) {
            List<String> names = files.map(f -> f.getFileName().toString()).filter(n -> !n.startsWith(".")).toList();
            any = names.stream().anyMatch(n -> n.endsWith(".jar") || n.endsWith(".cfg") || n.endsWith(".config"));
            names.stream().filter(n -> n.endsWith(".cfg") || n.endsWith(".config")).forEach(configs::add);
        } catch (IOException | RuntimeException e) {
            return;
        }
        if (!any) {
            return;
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        awaitConfigurations(configs, deadline);
        long[] lastEvent = {System.nanoTime()};
        org.osgi.framework.ServiceListener listener = e -> lastEvent[0] = System.nanoTime();
        context.addServiceListener(listener);
        try {
            while (System.nanoTime() - lastEvent[0] < QUIET_NANOS && System.nanoTime() < deadline && active) {
                Thread.sleep(20);
            }
        } finally {
            context.removeServiceListener(listener);
        }
    }

    private static final long QUIET_NANOS = 300_000_000L;

    /** Waits until ConfigAdmin holds the configuration FileInstall makes from each file (bounded). */
    private void awaitConfigurations(List<String> fileNames, long deadline) throws InterruptedException {
        if (fileNames.isEmpty()) {
            return;
        }
        while (System.nanoTime() < deadline && active) {
            org.osgi.framework.ServiceReference<org.osgi.service.cm.ConfigurationAdmin> ref =
                    context.getServiceReference(org.osgi.service.cm.ConfigurationAdmin.class);
            org.osgi.service.cm.ConfigurationAdmin ca = ref == null ? null : context.getService(ref);
            if (ca != null) {
                try {
                    boolean all = true;
                    for (String name : fileNames) {
                        // FileInstall records the source file in felix.fileinstall.filename (a URL).
                        all &= ca.listConfigurations("(felix.fileinstall.filename=*/" + name + ")") != null;
                    }
                    if (all) {
                        return;
                    }
                } catch (IOException | org.osgi.framework.InvalidSyntaxException e) {
                    return;
                } finally {
                    context.ungetService(ref);
                }
            }
            Thread.sleep(20);
        }
    }

    /** Waits until every bundle meant to start has started, so handlers and devices are in place before the guest runs. */
    private void awaitBundlesSettled() throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (active && System.nanoTime() < deadline) {
            boolean settled = context.getBundle(0).getState() == Bundle.ACTIVE;
            for (Bundle b : context.getBundles()) {
                BundleStartLevel sl = b.adapt(BundleStartLevel.class);
                boolean wanted = sl != null && sl.isPersistentlyStarted() && b.getHeaders().get("Fragment-Host") == null;
                if (wanted && b.getState() != Bundle.ACTIVE) {
                    settled = false;
                }
            }
            if (settled) {
                return;
            }
            Thread.sleep(5);
        }
    }

    private synchronized void publish(int status, String message) {
        if (result != null || !active) {
            return;
        }
        Dictionary<String, Object> props = new Hashtable<>();
        props.put(RUN_STATUS, status);
        props.put(RUN_MESSAGE, message == null ? "" : message);
        result = context.registerService(Object.class.getName(), new Object(), props);
    }
}
