package org.hotvisor.launcher.fake;

import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;

/**
 * A stand-in kernel bundle for the launcher's tests, steered by the run request itself:
 * {@code --set fake.behaviour=...}: "result:STATUS:MESSAGE" publishes that outcome, "echo"
 * publishes status 0 with every hotvisor.* property in the message, "census" publishes status 0
 * with the {@link FakeDeviceActivator} bundles registered when the kernel started ("name@thread"
 * each), "fail" throws from start, "hang" does nothing.
 */
public final class FakeKernelActivator implements BundleActivator {
    private static final String[] PROPERTIES = {"hotvisor.mode", "hotvisor.image", "hotvisor.format", "hotvisor.loadAddr",
        "hotvisor.entry", "hotvisor.append", "hotvisor.modules", "hotvisor.mem", "hotvisor.stats", "hotvisor.statsJson",
        "hotvisor.trace", "hotvisor.set", "hotvisor.clock", "hotvisor.cpus"};

    @Override
    public void start(BundleContext context) {
        String behaviour = "hang";
        for (String setting : context.getProperty("hotvisor.set").split(",")) {
            if (setting.startsWith("fake.behaviour=")) {
                behaviour = setting.substring("fake.behaviour=".length());
            }
        }
        if (behaviour.equals("fail")) {
            throw new IllegalStateException("the fake kernel refuses to start");
        }
        if (behaviour.equals("echo")) {
            List<String> values = new ArrayList<>();
            for (String property : PROPERTIES) {
                values.add(property + "=" + context.getProperty(property).replace("\n", "\\n"));
            }
            publishLater(context, 0, String.join(" | ", values));
        } else if (behaviour.equals("census")) {
            publishLater(context, 0, census(context));
        } else if (behaviour.startsWith("result:")) {
            String[] parts = behaviour.split(":", 3);
            publishLater(context, Integer.parseInt(parts[1]), parts.length > 2 ? parts[2] : "");
        }
    }

    private static String census(BundleContext context) {
        List<String> devices = new ArrayList<>();
        try {
            ServiceReference<?>[] refs = context.getAllServiceReferences(null, "(" + FakeDeviceActivator.MARKER + "=*)");
            for (ServiceReference<?> r : refs == null ? new ServiceReference<?>[0] : refs) {
                devices.add(r.getProperty(FakeDeviceActivator.MARKER) + "@" + r.getProperty(FakeDeviceActivator.STARTED_BY));
            }
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
        devices.sort(null);
        return String.join(" ", devices);
    }

    /** From another thread, after the launcher is already waiting, as the real kernel does. */
    private static void publishLater(BundleContext context, int status, String message) {
        Thread publisher = new Thread(() -> {
            try {
                Thread.sleep(50);
            } catch (InterruptedException interrupted) {
                return;
            }
            Hashtable<String, Object> properties = new Hashtable<>();
            properties.put("hotvisor.run.status", status);
            properties.put("hotvisor.run.message", message);
            context.registerService(Object.class, new Object(), properties);
        }, "fake-kernel");
        publisher.setDaemon(true);
        publisher.start();
    }

    @Override
    public void stop(BundleContext context) {
        // services are unregistered by the framework
    }
}
