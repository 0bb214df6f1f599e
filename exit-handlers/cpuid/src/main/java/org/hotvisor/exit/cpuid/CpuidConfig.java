package org.hotvisor.exit.cpuid;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The CPU model's configuration, PID {@value CpuidExitHandler#PID}. Numbers may be written in
 * decimal or 0x-hex (hence String attributes). A {@code org.hotvisor.exit.cpuid.cfg} file in the
 * deploy folder is enough; changes apply to the next CPUID without restarting anything.
 */
@ObjectClassDefinition(
        name = "Hotvisor CPUID model",
        description = "What the guest's CPUID instruction reports: vendor, family/model/stepping, brand string and feature words.")
@interface CpuidConfig {

    @AttributeDefinition(description = "Vendor identification string, exactly 12 ASCII characters (CPUID leaf 0 EBX, EDX, ECX).")
    String vendor() default CpuModel.DEFAULT_VENDOR;

    @AttributeDefinition(description = "Brand string, up to 47 ASCII characters (CPUID leaves 0x80000002-0x80000004).")
    String brand() default CpuModel.DEFAULT_BRAND;

    @AttributeDefinition(description = "Display family, 0-0x10E (values from 0xF up use the extended family field).")
    String family() default "6";

    @AttributeDefinition(description = "Display model, 0-0xFF (above 0xF only with family 6 or 0xF and up, via the extended model field).")
    String model() default "1";

    @AttributeDefinition(description = "Stepping ID, 0-0xF.")
    String stepping() default "0";

    @AttributeDefinition(description = "CPUID leaf 1 EDX feature word; the default is the table in CpuFeatures.")
    String leaf1_edx() default "0x0789B979";

    @AttributeDefinition(description = "CPUID leaf 1 ECX feature word; bit 31 = hypervisor present (also gates the 0x40000000 leaves), bit 26 = XSAVE (also gates leaf 0xD and XSETBV emulation). OSXSAVE (bit 27) always mirrors the guest's CR4.OSXSAVE. VMX (bit 5) is not offered by default: no nested VMX.")
    String leaf1_ecx() default "0x84020001";

    @AttributeDefinition(description = "CPUID leaf 7 subleaf 0 EBX structured extended features.")
    String leaf7_ebx() default "0x401";

    @AttributeDefinition(description = "CPUID leaf 7 subleaf 0 ECX structured extended features.")
    String leaf7_ecx() default "0";

    @AttributeDefinition(description = "CPUID leaf 7 subleaf 0 EDX structured extended features.")
    String leaf7_edx() default "0";

    @AttributeDefinition(description = "CPUID leaf 0x80000001 ECX extended features (LAHF/SAHF is bit 0).")
    String ext1_ecx() default "0x1";

    @AttributeDefinition(description = "CPUID leaf 0x80000001 EDX extended features (SYSCALL 11, NX 20, LM 29). The CPU has no long mode yet.")
    String ext1_edx() default "0x2C100800";

    @AttributeDefinition(description = "Physical-address width reported in leaf 0x80000008 EAX[7:0] (36 with PAE).")
    String physical_address_bits() default "36";

    @AttributeDefinition(description = "Linear-address width reported in leaf 0x80000008 EAX[15:8].")
    String linear_address_bits() default "48";

    @AttributeDefinition(description = "Logical processors (cores, one thread each) per package, for leaves 1, 4 and 0xB.")
    String logical_processors() default "1";
}
