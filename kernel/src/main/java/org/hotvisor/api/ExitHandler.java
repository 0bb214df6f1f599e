package org.hotvisor.api;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Handles VM exits of one or more reasons. Register an implementation as a service with the
 * property {@value #EXIT_REASON} (easiest: annotate the component with {@link HandlesExit}).
 *
 * <p>The dispatcher calls the highest-ranked handler for the exit's reason ({@code service.ranking});
 * a handler that returns {@link ExitAction#PASS} hands the exit to the next-ranked one.
 * Handlers run on the vCPU thread; they must not block indefinitely.
 */
@ConsumerType
public interface ExitHandler {

    /** Service property: the exit reasons handled, as names ("CPUID") or numbers ("10"). */
    String EXIT_REASON = "hotvisor.exit.reason";

    /**
     * Handles one exit. Register writes made through {@link VmExit#registers()} are staged and
     * committed only if this method returns normally.
     *
     * @return what the vCPU does next
     * @throws Exception to report a handler fault; the guest state stays untouched and the
     *     per-reason fault policy decides what happens next
     */
    ExitAction handle(VmExit exit) throws Exception;
}
