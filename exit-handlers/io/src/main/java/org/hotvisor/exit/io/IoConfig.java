package org.hotvisor.exit.io;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** Configuration of the I/O-instruction handler, PID {@value IoExitHandler#PID}. */
@ObjectClassDefinition(
        name = "Hotvisor port I/O exit handler",
        description = "Routes IN/OUT/INS/OUTS exits to PortIoDevice services by their hotvisor.io.ports ranges.")
@interface IoConfig {

    @AttributeDefinition(description = "Most iterations of one REP INS/OUTS done in one exit. A longer string is "
            + "finished over several exits (RIP stays on the instruction, RCX counts down), as hardware may "
            + "interrupt a REP string between iterations; this keeps a huge RCX from holding the vCPU thread.")
    int rep_chunk() default IoExitHandler.DEFAULT_REP_CHUNK;

    @AttributeDefinition(description = "Log the first access to each unclaimed port.")
    boolean log_unclaimed() default false;
}
