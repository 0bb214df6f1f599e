package org.hotvisor.launcher.fake;

import java.util.Hashtable;
import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;

/**
 * A stand-in device bundle: starts slowly, then registers a marker service naming its bundle and
 * the thread that started it ({@link FakeKernelActivator}'s "census" reports them).
 */
public final class FakeDeviceActivator implements BundleActivator {
    static final String MARKER = "fake.device";
    static final String STARTED_BY = "fake.started.by";

    @Override
    public void start(BundleContext context) throws InterruptedException {
        Thread.sleep(100); // long enough for a second starting thread to take the next bundle meanwhile
        Hashtable<String, Object> properties = new Hashtable<>();
        properties.put(MARKER, context.getBundle().getSymbolicName());
        properties.put(STARTED_BY, Thread.currentThread().getName());
        context.registerService(Object.class, new Object(), properties);
    }

    @Override
    public void stop(BundleContext context) {
        // services are unregistered by the framework
    }
}
