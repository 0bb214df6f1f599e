package org.hotvisor.launcher;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.osgi.framework.AllServiceListener;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceEvent;
import org.osgi.framework.ServiceReference;

/**
 * Waits for the kernel's outcome service ({@code (hotvisor.run.status=*)}). Meanwhile it watches
 * for signs that none will come: the framework stopping, a kernel component failing to activate,
 * or no VM service (nor outcome) within the start-up watchdog period. It listens to all services,
 * not just those whose classes the launcher's class loader shares: the outcome is a plain
 * Object, and the VM's interface is invisible to (or, in tests, a different class in) the launcher.
 */
final class OutcomeWatcher implements AllServiceListener {
    /** How often the waiting thread looks at the framework and SCR. */
    private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

    private final BundleContext context;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private Outcome.Finished finished;
    private boolean vmSeen;

    OutcomeWatcher(BundleContext context) {
        this.context = context;
    }

    /** Listens from now on; call before starting the bundles so no registration is missed. */
    void listen() {
        try {
            context.addServiceListener(this, "(|" + RunRequest.RESULT_FILTER + RunRequest.VM_FILTER + ")");
        } catch (InvalidSyntaxException impossible) {
            throw new IllegalStateException(impossible);
        }
    }

    @Override
    public void serviceChanged(ServiceEvent event) {
        if (event.getType() == ServiceEvent.REGISTERED || event.getType() == ServiceEvent.MODIFIED) {
            record(event.getServiceReference());
        }
    }

    private void record(ServiceReference<?> reference) {
        lock.lock();
        try {
            Object status = reference.getProperty(RunRequest.RESULT_STATUS);
            if (status == null) {
                vmSeen = true;
            } else if (finished == null) {
                Object message = reference.getProperty(RunRequest.RESULT_MESSAGE);
                finished = status instanceof Number number
                        ? new Outcome.Finished(number.intValue(), message == null ? "" : Failures.firstLine(message.toString()))
                        : new Outcome.Finished(ExitStatus.INTERNAL_ERROR, "internal error: the kernel reported a status that is not a number: " + status);
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits for the outcome until {@code deadlineNanos} (a System.nanoTime value; Long.MAX_VALUE:
     * no limit). Gives up as broken if neither a VM nor an outcome appears by {@code watchdogNanos}.
     */
    Outcome await(HotvisorFramework framework, long deadlineNanos, long watchdogNanos) throws InterruptedException {
        return await(framework, deadlineNanos, watchdogNanos, false);
    }

    /** Waits until the kernel registered its VM (returns null), reported an outcome, or broke. */
    Outcome awaitVm(HotvisorFramework framework, long watchdogNanos) throws InterruptedException {
        return await(framework, Long.MAX_VALUE, watchdogNanos, true);
    }

    private Outcome await(HotvisorFramework framework, long deadlineNanos, long watchdogNanos, boolean untilVm)
            throws InterruptedException {
        Bundle kernel = framework.kernelBundle();
        while (true) {
            lock.lock();
            try {
                if (finished != null) {
                    return finished;
                }
                if (untilVm && vmSeen) {
                    return null;
                }
                long now = System.nanoTime();
                if (deadlineNanos != Long.MAX_VALUE && now - deadlineNanos >= 0) {
                    return new Outcome.TimedOut();
                }
                changed.awaitNanos(deadlineNanos == Long.MAX_VALUE ? POLL_NANOS : Math.min(POLL_NANOS, deadlineNanos - now));
                if (finished != null) {
                    return finished;
                }
            } finally {
                lock.unlock();
            }
            if (framework.stopped()) {
                return new Outcome.Broken("the OSGi framework stopped before the kernel reported an outcome");
            }
            if (!vmSeen()) {
                if (kernel.getState() != Bundle.ACTIVE) {
                    return new Outcome.Broken("the kernel bundle stopped before the guest ran");
                }
                String failure = ComponentDiagnostics.failedActivation(context, kernel);
                if (failure != null) {
                    return new Outcome.Broken(failure);
                }
                if (System.nanoTime() - watchdogNanos >= 0) {
                    String why = ComponentDiagnostics.explain(context, kernel);
                    return new Outcome.Broken("the kernel registered no VM within the start-up watchdog period"
                            + (why.isEmpty() ? "" : ": " + why));
                }
            }
        }
    }

    /** Picks up services registered before {@link #listen()} (there should be none) or missed. */
    void scanExisting() {
        try {
            for (String filter : new String[] {RunRequest.VM_FILTER, RunRequest.RESULT_FILTER}) {
                ServiceReference<?>[] references = context.getAllServiceReferences(null, filter);
                if (references != null) {
                    for (ServiceReference<?> reference : references) {
                        record(reference);
                    }
                }
            }
        } catch (InvalidSyntaxException impossible) {
            throw new IllegalStateException(impossible);
        }
    }

    private boolean vmSeen() {
        lock.lock();
        try {
            return vmSeen;
        } finally {
            lock.unlock();
        }
    }
}
