package org.hotvisor.kernel.dispatch;

import org.hotvisor.api.ExitHandler;

/**
 * One registered handler as the dispatch table holds it.
 *
 * @param handler the service object
 * @param bundle the providing bundle's symbolic name, for statistics and traces
 * @param serviceId the service id, to tell two registrations of one bundle apart
 * @param ranking service.ranking; the highest serves first
 */
public record HandlerEntry(ExitHandler handler, String bundle, long serviceId, int ranking) {}
