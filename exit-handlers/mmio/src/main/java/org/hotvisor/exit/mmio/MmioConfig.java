package org.hotvisor.exit.mmio;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** Configuration of the EPT-violation handler, PID {@value MmioExitHandler#PID}. */
@ObjectClassDefinition(
        name = "Hotvisor MMIO exit handler",
        description = "Routes EPT-violation exits (guest-physical accesses outside RAM) to MmioDevice services by their hotvisor.mmio.ranges.")
@interface MmioConfig {

    @AttributeDefinition(description = "Log the first access to each unclaimed guest-physical address.")
    boolean log_unclaimed() default false;
}
