package org.hotvisor.exit.cpuid;

/**
 * The feature bits of CPUID leaf 1 (SDM Vol. 2A, CPUID, Table 3-10 "Feature Information Returned
 * in the EDX Register" and Table 3-11 for ECX). A bit is set by default ONLY if the vmx-cpu and
 * the handlers implement the feature: today a Pentium-class 32-bit integer CPU.
 */
final class CpuFeatures {
    private CpuFeatures() {
    }

    // ---- leaf 1 EDX ------------------------------------------------------------- advertised?
    /** x87 FPU on chip. No: the CPU has no x87 yet (a guest needs FPU emulation). */
    static final int EDX_FPU = 1 << 0;
    /** Virtual-8086 mode enhancements (CR4.VME/PVI). No. */
    static final int EDX_VME = 1 << 1;
    /** Debugging extensions (CR4.DE, I/O breakpoints). No. */
    static final int EDX_DE = 1 << 2;
    /** Page size extension: 4-MByte pages (CR4.PSE). YES. */
    static final int EDX_PSE = 1 << 3;
    /** Time-stamp counter, RDTSC, CR4.TSD. YES. */
    static final int EDX_TSC = 1 << 4;
    /** RDMSR/WRMSR. YES: the msr exit handler implements the architectural MSRs. */
    static final int EDX_MSR = 1 << 5;
    /** Physical address extension (CR4.PAE, 3-level paging). YES. */
    static final int EDX_PAE = 1 << 6;
    /** Machine-check exception (CR4.MCE). No. */
    static final int EDX_MCE = 1 << 7;
    /** CMPXCHG8B. YES. */
    static final int EDX_CX8 = 1 << 8;
    /** On-chip local APIC. No: no LAPIC device yet (a device bundle may add one and this bit). */
    static final int EDX_APIC = 1 << 9;
    /** SYSENTER/SYSEXIT. No, not yet (the SYSENTER MSRs exist, the instructions do not). */
    static final int EDX_SEP = 1 << 11;
    /** Memory type range registers. YES: the msr exit handler holds the MTRRs. */
    static final int EDX_MTRR = 1 << 12;
    /** Global pages (CR4.PGE). No. */
    static final int EDX_PGE = 1 << 13;
    /** Machine-check architecture. No. */
    static final int EDX_MCA = 1 << 14;
    /** CMOVcc (and FCMOVcc if FPU). YES. */
    static final int EDX_CMOV = 1 << 15;
    /** Page attribute table (IA32_PAT). YES: IA32_PAT lives in the VMCS guest PAT field. */
    static final int EDX_PAT = 1 << 16;
    /** 36-bit page size extension. No. */
    static final int EDX_PSE36 = 1 << 17;
    /** CLFLUSH. No. */
    static final int EDX_CLFSH = 1 << 19;
    /** Max-APIC-IDs field (leaf 1 EBX[23:16]) valid: set automatically with more than one logical processor. */
    static final int EDX_HTT = 1 << 28;
    // MMX (23), FXSR (24), SSE (25), SSE2 (26): no, no SIMD state yet.

    /** The default leaf 1 EDX: PSE, TSC, MSR, PAE, CX8, MTRR, CMOV, PAT = 0x00019178. */
    static final int DEFAULT_LEAF1_EDX =
            EDX_PSE | EDX_TSC | EDX_MSR | EDX_PAE | EDX_CX8 | EDX_MTRR | EDX_CMOV | EDX_PAT;

    // ---- leaf 1 ECX ----
    /** VMX. Not offered by default: no nested VMX. */
    static final int ECX_VMX = 1 << 5;
    /**
     * XSAVE/XRSTOR, XSETBV/XGETBV, XCR0, CR4.OSXSAVE. YES: the vmx-cpu implements the XSAVE feature
     * set for state component 0 (x87) and {@link XsetbvExitHandler} emulates XSETBV; leaf 0xD
     * describes it.
     */
    static final int ECX_XSAVE = 1 << 26;
    /** OSXSAVE: a copy of the guest's CR4.OSXSAVE, filled in per CPUID (not configurable). */
    static final int ECX_OSXSAVE = 1 << 27;
    /** Bit 31: reserved for hypervisor use, "a hypervisor is present" by convention. YES. */
    static final int ECX_HYPERVISOR = 1 << 31;

    /** The default leaf 1 ECX: XSAVE and the hypervisor bit = 0x84000000. */
    static final int DEFAULT_LEAF1_ECX = ECX_XSAVE | ECX_HYPERVISOR;

    // ---- leaf 0xD (SDM Vol. 2A, CPUID leaf 0DH; SDM Vol. 1 13.2) ----
    /** XCR0 bits the processor supports: x87 only (the vmx-cpu's XCR0 is fixed at 1). */
    static final long SUPPORTED_XCR0 = 1;
    /** IA32_XSS bits the processor supports: none (no supervisor state component). */
    static final long SUPPORTED_XSS = 0;
    /** XSAVE area size for x87 only, standard and compacted: 512-byte legacy region + 64-byte header. */
    static final int XSAVE_AREA_SIZE = 512 + 64;
    /** Leaf 0xD subleaf 1 EAX: XSAVEOPT (bit 0) and XSAVEC with the compacted XRSTOR (bit 1). YES. */
    static final int XSAVE_SUBLEAF1_XSAVEOPT = 1 << 0, XSAVE_SUBLEAF1_XSAVEC = 1 << 1;
    /** Leaf 0xD subleaf 1 EAX bit 2: XGETBV with ECX = 1 (XINUSE). No. */
    static final int XSAVE_SUBLEAF1_XGETBV_ECX1 = 1 << 2;
    /**
     * Leaf 0xD subleaf 1 EAX bit 3: XSAVES/XRSTORS and IA32_XSS. Reported exactly when the VMM's
     * VMCS enables them ("enable XSAVES/XRSTORS", SDM 3C 26.3: otherwise they are #UD).
     */
    static final int XSAVE_SUBLEAF1_XSAVES = 1 << 3;
}
