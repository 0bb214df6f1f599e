package org.hotvisor.kernel.dispatch;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.hotvisor.api.ExitAction;
import org.hotvisor.api.ExitHandler;
import org.hotvisor.api.ExitReason;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleEvent;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.SynchronousBundleListener;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The whiteboard exit dispatcher. Every {@link ExitHandler} service with {@code hotvisor.exit.reason}
 * lands in an immutable {@link DispatchTable} that is rebuilt and swapped on each service event, so
 * the vCPU hot path reads one volatile field and allocates nothing.
 *
 * <p>Hot swap: when the bundle that serves a reason starts stopping (an update), exits of that
 * reason wait for a replacement registration, up to {@code swap.wait.ms}; then the next handler or
 * the built-in default takes them. An uninstall ends the wait at once.
 */
@Component(service = ExitDispatcher.class, immediate = true, configurationPid = ExitDispatcher.PID)
@Designate(ocd = ExitDispatcher.Config.class)
public final class ExitDispatcher implements SynchronousBundleListener {
    /** Configuration PID: {@code deploy/org.hotvisor.kernel.dispatcher.cfg}. */
    public static final String PID = "org.hotvisor.kernel.dispatcher";

    @ObjectClassDefinition(name = "Hotvisor exit dispatcher", description = "Handler hot-swap and fault policy")
    public @interface Config {
        @AttributeDefinition(description = "How long an exit waits for the replacement of a handler being updated, ms")
        long swap_wait_ms() default 2000;

        @AttributeDefinition(description = "Default policy after a handler throws: pause, inject-ud, inject-gp, next")
        String fault_policy() default "pause";

        @AttributeDefinition(description = "Per-reason policies, e.g. CPUID=next, RDMSR=inject-gp")
        String[] fault_policy_by_reason() default {};

        @AttributeDefinition(description = "A handler running longer than this (ms) is reported")
        long handler_budget_ms() default 100;
    }

    private static final Logger LOG = LoggerFactory.getLogger(ExitDispatcher.class);

    private final Map<Long, DispatchTable.Registration> registrations = new HashMap<>();
    private volatile DispatchTable table = DispatchTable.EMPTY;

    /** Per reason: System.nanoTime() deadline of a pending swap, or 0. */
    private final AtomicLongArray swapDeadline = new AtomicLongArray(ExitReason.TABLE_SIZE);
    /** Set before the first swap deadline is armed and never cleared: until then awaitSwap reads nothing else. */
    private volatile boolean swapsBegun;
    /** Per bundle id being updated: the reasons whose exits wait for it. */
    private final Map<Long, Set<Integer>> swapsByBundle = new HashMap<>();

    private volatile long swapWaitNanos = 2_000_000_000L;
    private volatile long budgetNanos = 100_000_000L;
    private volatile FaultPolicy[] faultPolicies = filled(FaultPolicy.PAUSE);
    private BundleContext context;

    /** For plain-Java use (the handler test bench): no OSGi, handlers added directly. */
    public ExitDispatcher() {}

    @Activate
    void activate(BundleContext context, Config config) {
        this.context = context;
        modified(config);
        context.addBundleListener(this);
    }

    @Modified
    void modified(Config config) {
        swapWaitNanos = Math.max(0, config.swap_wait_ms()) * 1_000_000L;
        budgetNanos = Math.max(1, config.handler_budget_ms()) * 1_000_000L;
        FaultPolicy[] policies = filled(FaultPolicy.parse(config.fault_policy()));
        for (String entry : config.fault_policy_by_reason()) {
            int eq = entry.indexOf('=');
            if (eq < 0) {
                LOG.warn("fault.policy.by.reason entry '" + entry + "' is not REASON=POLICY; ignored");
                continue;
            }
            try {
                policies[ExitReason.parse(entry.substring(0, eq)).number()] = FaultPolicy.parse(entry.substring(eq + 1));
            } catch (IllegalArgumentException e) {
                LOG.warn(e.getMessage() + "; ignored");
            }
        }
        faultPolicies = policies;
    }

    @Deactivate
    void deactivate() {
        if (context != null) {
            context.removeBundleListener(this);
        }
    }

    private static FaultPolicy[] filled(FaultPolicy p) {
        FaultPolicy[] a = new FaultPolicy[ExitReason.TABLE_SIZE];
        Arrays.fill(a, p);
        return a;
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, service = ExitHandler.class)
    void bindHandler(ServiceReference<ExitHandler> ref, ExitHandler handler) {
        add(ref.getBundle().getSymbolicName(), (Long) ref.getProperty(Constants.SERVICE_ID), ranking(ref),
                ref.getProperty(ExitHandler.EXIT_REASON), handler);
    }

    void updatedHandler(ServiceReference<ExitHandler> ref, ExitHandler handler) {
        bindHandler(ref, handler);
    }

    void unbindHandler(ServiceReference<ExitHandler> ref) {
        remove((Long) ref.getProperty(Constants.SERVICE_ID));
    }

    /** Adds (or replaces) a handler registration; the reasons are names or numbers, as a String, array or collection. */
    public synchronized void add(String bundle, long serviceId, int ranking, Object reasons, ExitHandler handler) {
        List<ExitReason> parsed = parseReasons(bundle, reasons);
        if (parsed.isEmpty()) {
            LOG.warn("exit handler from " + bundle + " declares no valid " + ExitHandler.EXIT_REASON + "; ignored");
            return;
        }
        registrations.put(serviceId, new DispatchTable.Registration(new HandlerEntry(handler, bundle, serviceId, ranking), parsed));
        rebuild();
        for (ExitReason r : parsed) {
            swapDeadline.set(r.number(), 0); // the replacement has arrived
        }
        swapsByBundle.values().forEach(s -> parsed.forEach(r -> s.remove(r.number())));
    }

    public synchronized void remove(long serviceId) {
        if (registrations.remove(serviceId) != null) {
            rebuild();
        }
    }

    private void rebuild() {
        table = DispatchTable.of(new ArrayList<>(registrations.values()));
    }

    private static int ranking(ServiceReference<?> ref) {
        return ref.getProperty(Constants.SERVICE_RANKING) instanceof Integer i ? i : 0;
    }

    private static List<ExitReason> parseReasons(String bundle, Object value) {
        List<ExitReason> out = new ArrayList<>();
        Collection<?> items = value instanceof Collection<?> c ? c
                : value instanceof Object[] a ? Arrays.asList(a)
                : value instanceof int[] ia ? Arrays.stream(ia).boxed().toList()
                : value == null ? List.of() : List.of(value);
        for (Object item : items) {
            for (String part : String.valueOf(item).split(",")) {
                if (part.isBlank()) {
                    continue;
                }
                try {
                    out.add(ExitReason.parse(part));
                } catch (IllegalArgumentException e) {
                    LOG.warn("exit handler from " + bundle + ": " + e.getMessage());
                }
            }
        }
        return out;
    }

    /** The current table (a snapshot). */
    public DispatchTable table() {
        return table;
    }

    public FaultPolicy faultPolicy(int basicReason) {
        return faultPolicies[basicReason];
    }

    public long budgetNanos() {
        return budgetNanos;
    }

    /**
     * Waits while the handler of {@code basicReason} is being swapped: until a new registration for
     * the reason arrives, or the wait bound passes. Returns the nanoseconds waited (0 on the fast path).
     */
    public long awaitSwap(int basicReason) {
        if (!swapsBegun) {
            return 0; // the common case: one plain-cost read instead of a per-reason volatile array read
        }
        long deadline = swapDeadline.get(basicReason);
        if (deadline == 0) {
            return 0;
        }
        long start = System.nanoTime();
        while (swapDeadline.get(basicReason) != 0 && System.nanoTime() - deadline < 0) {
            LockSupport.parkNanos(50_000);
        }
        swapDeadline.compareAndSet(basicReason, deadline, 0);
        return System.nanoTime() - start;
    }

    /** Whether a swap is pending for a reason (the console; the vCPU after its table read). */
    public boolean swapPending(int basicReason) {
        return swapsBegun && swapDeadline.get(basicReason) != 0;
    }

    @Override
    public void bundleChanged(BundleEvent event) {
        Bundle b = event.getBundle();
        switch (event.getType()) {
            case BundleEvent.STOPPING -> beginSwap(b);
            case BundleEvent.UNINSTALLED -> endSwap(b.getBundleId());
            default -> { }
        }
    }

    /** A bundle that serves reasons is stopping: exits of the reasons it serves first wait for its successor. */
    private synchronized void beginSwap(Bundle bundle) {
        String bsn = bundle.getSymbolicName();
        Set<Integer> reasons = new HashSet<>();
        DispatchTable t = table;
        for (int r = 0; r < ExitReason.TABLE_SIZE; r++) {
            HandlerEntry[] hs = t.handlers(r);
            if (hs.length > 0 && hs[0].bundle().equals(bsn)) {
                reasons.add(r);
            }
        }
        if (reasons.isEmpty() || swapWaitNanos == 0) {
            return;
        }
        long deadline = System.nanoTime() + swapWaitNanos;
        swapsBegun = true;
        for (int r : reasons) {
            swapDeadline.set(r, deadline);
        }
        swapsByBundle.put(bundle.getBundleId(), reasons);
    }

    private synchronized void endSwap(long bundleId) {
        Set<Integer> reasons = swapsByBundle.remove(bundleId);
        if (reasons != null) {
            reasons.forEach(r -> swapDeadline.set(r, 0));
        }
    }

    /** Calls one handler, turning an exception into {@code null} so the caller applies the fault policy. */
    public static ExitAction invoke(HandlerEntry entry, org.hotvisor.api.VmExit exit, Throwable[] fault) {
        try {
            ExitAction a = entry.handler().handle(exit);
            return a == null ? ExitAction.PASS : a;
        } catch (Throwable t) { // a handler may throw anything; the VM must survive it
            if (t instanceof VirtualMachineError vme && !(t instanceof StackOverflowError)) {
                LOG.error("handler " + entry.bundle() + " hit " + vme, vme);
            }
            fault[0] = t;
            return null;
        }
    }
}
