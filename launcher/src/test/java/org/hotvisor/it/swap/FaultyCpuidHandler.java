package org.hotvisor.it.swap;

import java.util.Hashtable;
import org.hotvisor.api.ExitAction;
import org.hotvisor.api.ExitHandler;
import org.hotvisor.api.VmExit;
import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;

/**
 * A handler bundle that misbehaves on CPUID: it scribbles on the guest's registers and then
 * throws (X-Mode: throw), or runs far past its time budget once (X-Mode: slow).
 */
public final class FaultyCpuidHandler implements ExitHandler, BundleActivator {
    private String mode;
    private boolean sleptOnce;

    @Override
    public void start(BundleContext context) {
        mode = context.getBundle().getHeaders().get("X-Mode");
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(ExitHandler.EXIT_REASON, "CPUID");
        props.put("service.ranking", 100);
        context.registerService(ExitHandler.class, this, props);
    }

    @Override
    public void stop(BundleContext context) {
        // the framework unregisters the service
    }

    @Override
    public ExitAction handle(VmExit exit) throws Exception {
        if ("slow".equals(mode)) {
            if (!sleptOnce) {
                sleptOnce = true;
                Thread.sleep(300);
            }
            return ExitAction.PASS;
        }
        exit.registers().setRax(0xDEAD);
        exit.registers().setRbx(0xBEEF);
        throw new IllegalStateException("faulty handler under test");
    }
}
