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
    /** x87 FPU on chip. YES: the vmx-cpu's x87 unit (exact double extended arithmetic, issue #7). */
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
    /** CLFLUSH (with the line size in leaf 1 EBX[15:8]). YES: the core checks the address (no caches). */
    static final int EDX_CLFSH = 1 << 19;
    /** Max-APIC-IDs field (leaf 1 EBX[23:16]) valid: set automatically with more than one logical processor. */
    static final int EDX_HTT = 1 << 28;
    /** MMX technology. YES. */
    static final int EDX_MMX = 1 << 23;
    /** FXSAVE/FXRSTOR and CR4.OSFXSR. YES. */
    static final int EDX_FXSR = 1 << 24;
    /** SSE. YES. */
    static final int EDX_SSE = 1 << 25;
    /** SSE2. YES. */
    static final int EDX_SSE2 = 1 << 26;

    /**
     * The default leaf 1 EDX: FPU, PSE, TSC, MSR, PAE, CX8, SEP, MTRR, PGE, CMOV, PAT, CLFSH, MMX, FXSR,
     * SSE, SSE2 = 0x0789B979. APIC (bit 9) is added per CPUID while a local-APIC bundle is present.
     */
    static final int DEFAULT_LEAF1_EDX = EDX_FPU | EDX_PSE | EDX_TSC | EDX_MSR | EDX_PAE | EDX_CX8 | EDX_SEP
            | EDX_MTRR | EDX_PGE | EDX_CMOV | EDX_PAT | EDX_CLFSH | EDX_MMX | EDX_FXSR | EDX_SSE | EDX_SSE2;

    // ---- leaf 1 ECX ----
    /** SSE3 (ADDSUBPS/PD, HADD/HSUB, MOVSLDUP/MOVSHDUP/MOVDDUP, LDDQU, FISTTP). YES. SSSE3 (bit 9): no. */
    static final int ECX_SSE3 = 1 << 0;
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
    /** PCID (CR4.PCIDE, CR3 bit 63). YES: the TLB honours it by flushing more, never less. */
    static final int ECX_PCID = 1 << 17;
    /** x2APIC and the TSC-deadline timer: added per CPUID while a local-APIC bundle is present. */
    static final int ECX_X2APIC = 1 << 21, ECX_TSC_DEADLINE = 1 << 24;

    /** The default leaf 1 ECX: SSE3, PCID, XSAVE and the hypervisor bit = 0x84020001. */
    static final int DEFAULT_LEAF1_ECX = ECX_SSE3 | ECX_PCID | ECX_XSAVE | ECX_HYPERVISOR;

    // ---- leaf 7 subleaf 0 EBX (SDM Vol. 2A, CPUID leaf 07H) ----
    /** FSGSBASE (RDFSBASE ... with CR4.FSGSBASE) and INVPCID. YES. SMEP, SMAP, PKU, LA57: no. */
    static final int LEAF7_EBX_FSGSBASE = 1 << 0, LEAF7_EBX_INVPCID = 1 << 10;
    static final int DEFAULT_LEAF7_EBX = LEAF7_EBX_FSGSBASE | LEAF7_EBX_INVPCID;

    // ---- leaf 80000001H (SDM Vol. 2A) ----
    /** ECX: LAHF/SAHF in 64-bit mode. YES. */
    static final int EXT1_ECX_LAHF_LM = 1 << 0;
    static final int DEFAULT_EXT1_ECX = EXT1_ECX_LAHF_LM;
    /** EDX: SYSCALL/SYSRET, NX (XD), 1-GByte pages, RDTSCP and IA32_TSC_AUX, Intel 64 (long mode). YES. */
    static final int EXT1_EDX_SYSCALL = 1 << 11, EXT1_EDX_NX = 1 << 20, EXT1_EDX_PAGE1GB = 1 << 26,
            EXT1_EDX_RDTSCP = 1 << 27, EXT1_EDX_LM = 1 << 29;
    static final int DEFAULT_EXT1_EDX = EXT1_EDX_SYSCALL | EXT1_EDX_NX | EXT1_EDX_PAGE1GB | EXT1_EDX_RDTSCP | EXT1_EDX_LM;
    /** Linear-address width (leaf 80000008H EAX[15:8]): 4-level paging. */
    static final int DEFAULT_LINEAR_BITS = 48;

    // ---- leaf 0xD (SDM Vol. 2A, CPUID leaf 0DH; SDM Vol. 1 13.2) ----
    /**
     * XCR0 bits offered to the guest: x87 only. The vmx-cpu also implements SSE state (XCR0 bit 1),
     * but a VMM cannot yet load a guest XCR0 (no root-mode XSETBV in the LogicalProcessor API), so
     * an XSETBV enabling bit 1 could not take effect: bit 1 is not offered until then.
     */
    static final long SUPPORTED_XCR0 = 1;
    /** IA32_XSS bits the processor supports: PASID state, component 10 (SDM Vol. 1 13.3, 13.5). */
    static final long SUPPORTED_XSS = 1L << 10;
    /** Leaf 0xD subleaf 10 (PASID state): 8 bytes, a supervisor component (ECX bit 0), no 64-byte alignment. */
    static final int PASID_SUBLEAF = 10, PASID_STATE_SIZE = 8, SUBLEAF_SUPERVISOR = 1;
    /** XSAVE area size for x87 only, standard and compacted: 512-byte legacy region + 64-byte header. */
    static final int XSAVE_AREA_SIZE = 512 + 64;
    /**
     * Compacted size with XCR0 | IA32_XSS = x87 | PASID (leaf 0xD subleaf 1 EBX). The SDM defines
     * EBX for the current XCR0 | IA32_XSS; the handler cannot read the guest's IA32_XSS (WRMSR does
     * not exit), so it reports the size with every supported supervisor component enabled.
     */
    static final int XSAVES_AREA_SIZE = XSAVE_AREA_SIZE + PASID_STATE_SIZE;
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
