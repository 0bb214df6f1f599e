package org.hotvisor.it.swap;

import java.util.Hashtable;
import org.hotvisor.api.ExitAction;
import org.hotvisor.api.ExitHandler;
import org.hotvisor.api.VmExit;
import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;

/**
 * Packaged at test time into bundles of several "generations" (manifest header X-Generation).
 * Answers CPUID leaf 0x48560000 with EBX = its generation and counts every exit it handles in
 * per-vCPU state (which survives the swaps); other leaves pass to the stock handler.
 */
public final class CountingCpuidHandler implements ExitHandler, BundleActivator {
    public static final long LEAF = 0x4856_0000L;
    public static final String COUNT_KEY = "it.handled";
    private int generation;

    @Override
    public void start(BundleContext context) {
        generation = Integer.parseInt(context.getBundle().getHeaders().get("X-Generation"));
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(ExitHandler.EXIT_REASON, "CPUID");
        props.put("service.ranking", Integer.parseInt(context.getBundle().getHeaders().get("X-Ranking")));
        props.put("it.generation", generation);
        context.registerService(ExitHandler.class, this, props);
    }

    @Override
    public void stop(BundleContext context) {
        // the framework unregisters the service
    }

    @Override
    public ExitAction handle(VmExit exit) {
        if ((exit.registers().rax() & 0xFFFF_FFFFL) != LEAF) {
            return ExitAction.PASS;
        }
        long[] count = exit.vcpu().state(COUNT_KEY, () -> new long[1]);
        count[0]++;
        exit.registers().setRax(count[0] & 0xFFFF_FFFFL);
        exit.registers().setRbx(generation);
        exit.registers().setRcx(0);
        exit.registers().setRdx(0);
        return ExitAction.EMULATED;
    }
}
