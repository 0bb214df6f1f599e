package org.hotvisor.exit.msr;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

/** Configuration of the RDMSR/WRMSR handler, PID {@value MsrExitHandler#PID}. */
@ObjectClassDefinition(
        name = "Hotvisor MSR exit handler",
        description = "The architectural MSRs of each vCPU; MsrDevice services claim other ranges.")
@interface MsrConfig {

    @AttributeDefinition(description = "What RDMSR/WRMSR of an MSR nobody implements does: gp = #GP(0) as hardware "
            + "does; ignore-and-log = reads return 0, writes are dropped, each MSR logged once.",
            options = {@Option(label = "#GP(0)", value = "gp"), @Option(label = "ignore and log", value = "ignore-and-log")})
    String unknown_policy() default "gp";

    @AttributeDefinition(description = "MAXPHYADDR: bits above it are reserved in the MTRR base/mask and APIC base MSRs "
            + "(keep equal to the CPUID handler's physical.address.bits).")
    int physical_address_bits() default 36;

    @AttributeDefinition(description = "IA32_EFER bits the guest may set (SCE 0, LME 8, NXE 11). LMA (10) is read-only; "
            + "other bits are reserved and #GP.")
    String efer_writable() default "0x901";
}
