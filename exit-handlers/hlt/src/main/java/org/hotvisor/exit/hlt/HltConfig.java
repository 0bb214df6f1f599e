package org.hotvisor.exit.hlt;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

/** Configuration of the HLT handler, PID {@value HltExitHandler#PID}. */
@ObjectClassDefinition(
        name = "Hotvisor HLT exit handler",
        description = "Idles a halted vCPU on the virtual clock until an interrupt can wake it; powers the VM off when none can.")
@interface HltConfig {

    @AttributeDefinition(description = "HLT with RFLAGS.IF = 1, no interrupt pending and no timer armed: stop = power off "
            + "(nothing can ever wake the guest except host input); wait = idle in idle.slice.nanos steps until an "
            + "interrupt arrives (for guests woken by host input, e.g. a keyboard).",
            options = {@Option(label = "power off", value = "stop"), @Option(label = "wait", value = "wait")})
    String idle_forever() default "stop";

    @AttributeDefinition(description = "HLT with RFLAGS.IF = 0: stop = power off at once (an INTR can never be delivered; "
            + "the 'cli; hlt' idiom ends the guest); wait = idle on the timers until an interrupt is pending, for guests "
            + "that expect an NMI to wake them (any pending event wakes, since the API does not tell NMI from INTR).",
            options = {@Option(label = "power off", value = "stop"), @Option(label = "wait for an NMI", value = "wait")})
    String interrupts_disabled() default "stop";

    @AttributeDefinition(description = "Virtual nanoseconds per idle step while waiting with no timer armed.")
    long idle_slice_nanos() default HltExitHandler.DEFAULT_IDLE_SLICE_NANOS;
}
