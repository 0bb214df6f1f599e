package org.hotvisor.vmx.cpu.vmx;

import static org.hotvisor.api.vmx.ControlBit.maskOf;

import org.hotvisor.api.vmx.EntryControl;
import org.hotvisor.api.vmx.ExitControl;
import org.hotvisor.api.vmx.PinBasedControl;
import org.hotvisor.api.vmx.ProcessorControl;
import org.hotvisor.api.vmx.SecondaryControl;

/**
 * The VMX capability MSRs (SDM 3D Appendix A): exactly what this processor implements. VM entry
 * checks the controls against these same values, so a VMM that follows the MSRs passes.
 *
 * <p>Control MSRs (A.3-A.5): bits 31:0 are the allowed 0-settings (a 1 means the control must be
 * 1), bits 63:32 the allowed 1-settings (a 0 means the control must be 0). The non-TRUE MSRs
 * report the "default1" class as must-be-1; the TRUE MSRs (IA32_VMX_BASIC bit 55) report which of
 * them may be 0 here.
 *
 * <p>Design decisions:
 * <ul>
 *   <li>External-interrupt exiting must be 1 (reported in both pin-based MSRs): the VMM's kick
 *       ({@code requestExit}) is modelled as a host interrupt that always exits with reason 1,
 *       which is only SDM behaviour when this control is 1.
 *   <li>EPT maps guest-physical [0, guestRam.length) flat; the EPTP is checked (27.2.1.1) but
 *       the EPT paging structures are not walked, so no EPT page sizes, A/D flags or INVEPT are
 *       reported. VPID, the TPR shadow and APIC virtualization, posted interrupts,
 *       PML and IA-32e mode guests are not implemented and not reported. "Enable VM functions" is
 *       reported with no VM function (IA32_VMX_VMFUNC = 0).
 *   <li>The host is a 64-bit VMM: the logical processor is in IA-32e mode in VMX root operation.
 *       Guests are 32-bit at most (the core has no IA-32e mode): "IA-32e mode guest" must be 0.
 * </ul>
 */
public final class VmxCapabilities {

    public static final int IA32_VMX_BASIC = 0x480;
    public static final int IA32_VMX_PINBASED_CTLS = 0x481;
    public static final int IA32_VMX_PROCBASED_CTLS = 0x482;
    public static final int IA32_VMX_EXIT_CTLS = 0x483;
    public static final int IA32_VMX_ENTRY_CTLS = 0x484;
    public static final int IA32_VMX_MISC = 0x485;
    public static final int IA32_VMX_CR0_FIXED0 = 0x486;
    public static final int IA32_VMX_CR0_FIXED1 = 0x487;
    public static final int IA32_VMX_CR4_FIXED0 = 0x488;
    public static final int IA32_VMX_CR4_FIXED1 = 0x489;
    public static final int IA32_VMX_VMCS_ENUM = 0x48A;
    public static final int IA32_VMX_PROCBASED_CTLS2 = 0x48B;
    public static final int IA32_VMX_EPT_VPID_CAP = 0x48C;
    public static final int IA32_VMX_TRUE_PINBASED_CTLS = 0x48D;
    public static final int IA32_VMX_TRUE_PROCBASED_CTLS = 0x48E;
    public static final int IA32_VMX_TRUE_EXIT_CTLS = 0x48F;
    public static final int IA32_VMX_TRUE_ENTRY_CTLS = 0x490;
    public static final int IA32_VMX_VMFUNC = 0x491;

    /** VMCS revision identifier, IA32_VMX_BASIC bits 30:0 ("HOTV"; bit 31 is always 0, SDM 3D A.1). */
    public static final int VMCS_REVISION_ID = 0x484F5456;

    /** Physical-address width (MAXPHYADDR) for the "beyond physical-address width" checks: the core's paging width. */
    public static final int PHYSICAL_ADDRESS_WIDTH = 36;

    /** IA32_VMX_BASIC fields (SDM 3D A.1). */
    private static final int BASIC_REGION_SIZE_SHIFT = 32;
    private static final int BASIC_MEMORY_TYPE_SHIFT = 50;
    private static final long BASIC_INS_OUTS_INFO = 1L << 54;
    private static final long BASIC_TRUE_CONTROLS = 1L << 55;
    private static final long MEMORY_TYPE_UC = 0;
    private static final long MEMORY_TYPE_WB = 6;

    // ---- pin-based (SDM 3D A.3.1; default1 class: bits 1, 2, 4) ----
    public static final int PIN_DEFAULT1 = 1 << 1 | 1 << 2 | 1 << 4;
    public static final int PIN_MUST_BE_1 = PIN_DEFAULT1 | PinBasedControl.EXTERNAL_INTERRUPT_EXITING.mask();
    public static final int PIN_TRUE_MUST_BE_1 = PIN_MUST_BE_1;
    public static final int PIN_MAY_BE_1 = PIN_MUST_BE_1 | maskOf(
            PinBasedControl.NMI_EXITING,
            PinBasedControl.VIRTUAL_NMIS,
            PinBasedControl.ACTIVATE_VMX_PREEMPTION_TIMER);

    // ---- primary processor-based (A.3.2; default1: bits 1, 4-6, 8, 13-16, 26) ----
    public static final int PROC_DEFAULT1 = 1 << 1 | 1 << 4 | 1 << 5 | 1 << 6 | 1 << 8 | 1 << 13 | 1 << 14
            | 1 << 15 | 1 << 16 | 1 << 26;
    public static final int PROC_MUST_BE_1 = PROC_DEFAULT1;
    /** CR3-load and CR3-store exiting may be 0 (the TRUE MSR says so); the other default1 bits are reserved-1. */
    public static final int PROC_TRUE_MUST_BE_1 = PROC_DEFAULT1
            & ~maskOf(ProcessorControl.CR3_LOAD_EXITING, ProcessorControl.CR3_STORE_EXITING);
    public static final int PROC_MAY_BE_1 = PROC_DEFAULT1 | maskOf(
            ProcessorControl.INTERRUPT_WINDOW_EXITING,
            ProcessorControl.USE_TSC_OFFSETTING,
            ProcessorControl.HLT_EXITING,
            ProcessorControl.INVLPG_EXITING,
            ProcessorControl.MWAIT_EXITING,
            ProcessorControl.RDPMC_EXITING,
            ProcessorControl.RDTSC_EXITING,
            ProcessorControl.CR3_LOAD_EXITING,
            ProcessorControl.CR3_STORE_EXITING,
            ProcessorControl.CR8_LOAD_EXITING,
            ProcessorControl.CR8_STORE_EXITING,
            ProcessorControl.NMI_WINDOW_EXITING,
            ProcessorControl.MOV_DR_EXITING,
            ProcessorControl.UNCONDITIONAL_IO_EXITING,
            ProcessorControl.USE_IO_BITMAPS,
            ProcessorControl.MONITOR_TRAP_FLAG,
            ProcessorControl.USE_MSR_BITMAPS,
            ProcessorControl.MONITOR_EXITING,
            ProcessorControl.PAUSE_EXITING,
            ProcessorControl.ACTIVATE_SECONDARY_CONTROLS);

    // ---- secondary processor-based (A.3.3: no must-be-1 bits) ----
    public static final int PROC2_MAY_BE_1 = maskOf(
            SecondaryControl.ENABLE_EPT,
            SecondaryControl.DESCRIPTOR_TABLE_EXITING,
            SecondaryControl.ENABLE_RDTSCP,
            SecondaryControl.WBINVD_EXITING,
            SecondaryControl.UNRESTRICTED_GUEST,
            SecondaryControl.PAUSE_LOOP_EXITING,
            SecondaryControl.RDRAND_EXITING,
            SecondaryControl.ENABLE_INVPCID,
            SecondaryControl.ENABLE_VM_FUNCTIONS,
            SecondaryControl.VMCS_SHADOWING,
            SecondaryControl.RDSEED_EXITING,
            SecondaryControl.ENABLE_XSAVES_XRSTORS);

    // ---- VM-exit (A.4; default1: bits 0-8, 10, 11, 13, 14, 16, 17) ----
    public static final int EXIT_DEFAULT1 = 0x1FF | 1 << 10 | 1 << 11 | 1 << 13 | 1 << 14 | 1 << 16 | 1 << 17;
    public static final int EXIT_MUST_BE_1 = EXIT_DEFAULT1;
    public static final int EXIT_TRUE_MUST_BE_1 = EXIT_DEFAULT1 & ~ExitControl.SAVE_DEBUG_CONTROLS.mask();
    public static final int EXIT_MAY_BE_1 = EXIT_DEFAULT1 | maskOf(
            ExitControl.HOST_ADDRESS_SPACE_SIZE,
            ExitControl.ACKNOWLEDGE_INTERRUPT_ON_EXIT,
            ExitControl.SAVE_IA32_PAT,
            ExitControl.LOAD_IA32_PAT,
            ExitControl.SAVE_IA32_EFER,
            ExitControl.LOAD_IA32_EFER,
            ExitControl.SAVE_VMX_PREEMPTION_TIMER_VALUE);

    // ---- VM-entry (A.5; default1: bits 0-8, 12) ----
    public static final int ENTRY_DEFAULT1 = 0x1FF | 1 << 12;
    public static final int ENTRY_MUST_BE_1 = ENTRY_DEFAULT1;
    public static final int ENTRY_TRUE_MUST_BE_1 = ENTRY_DEFAULT1 & ~EntryControl.LOAD_DEBUG_CONTROLS.mask();
    /** The core runs real, protected, virtual-8086 and IA-32e mode (64-bit and compatibility) guests. */
    public static final int ENTRY_MAY_BE_1 = ENTRY_DEFAULT1 | maskOf(
            EntryControl.IA32E_MODE_GUEST,
            EntryControl.LOAD_IA32_PAT,
            EntryControl.LOAD_IA32_EFER);

    // ---- IA32_VMX_MISC (A.6) ----
    /** Bits 4:0: the VMX-preemption timer counts down by 1 every 2^rate TSC ticks. */
    public static final int PREEMPTION_TIMER_RATE = 0;
    public static final long MISC_STORE_LMA_ON_EXIT = 1L << 5;
    public static final long MISC_ACTIVITY_HLT = 1L << 6;
    public static final long MISC_ACTIVITY_SHUTDOWN = 1L << 7;
    public static final long MISC_ACTIVITY_WAIT_FOR_SIPI = 1L << 8;
    public static final int CR3_TARGET_COUNT = 4;
    private static final int MISC_CR3_TARGETS_SHIFT = 16;
    /** Bit 29: VMWRITE may write the VM-exit information fields. Not supported (error 13). */
    public static final long MISC_VMWRITE_EXIT_INFO = 1L << 29;
    public static final boolean VMWRITE_EXIT_INFORMATION_ALLOWED = false;
    /**
     * Bits 27:25 (0): the recommended maximum number of MSRs in each MSR list is 512 * (N + 1).
     * Longer lists are "unpredictable" on hardware; this implementation refuses them in the
     * control checks (VM-instruction error 7).
     */
    public static final int MSR_LIST_MAX = 512;

    // ---- CR0/CR4 fixed bits (A.7, A.8) ----
    public static final long CR0_PE = 1L;
    public static final long CR0_NE = 1L << 5;
    public static final long CR0_PG = 1L << 31;
    /** PE, NE and PG must be 1 (PE and PG may be 0 in the guest with unrestricted guest, SDM 3C 27.3.1.1). */
    public static final long CR0_FIXED0 = CR0_PE | CR0_NE | CR0_PG;
    /** The CR0 bits that exist: PE MP EM TS ET NE WP AM NW CD PG. */
    public static final long CR0_FIXED1 = 0x3FL | 1L << 16 | 1L << 18 | 1L << 29 | 1L << 30 | CR0_PG;
    public static final long CR4_VMXE = 1L << 13;
    public static final long CR4_FSGSBASE = 1L << 16, CR4_PCIDE = 1L << 17;
    public static final long CR4_FIXED0 = CR4_VMXE;
    /**
     * The CR4 bits the core implements (its MOV-to-CR4 accepts exactly these): VME PVI TSD DE PSE
     * PAE MCE PGE PCE OSFXSR OSXMMEXCPT UMIP, VMXE SMXE, FSGSBASE PCIDE (IA-32e mode), OSXSAVE, SMEP SMAP.
     */
    public static final long CR4_FIXED1 = 0xFFFL | CR4_VMXE | 1L << 14 | CR4_FSGSBASE | CR4_PCIDE | 1L << 18 | 1L << 20
            | 1L << 21;

    /** IA32_VMX_VMFUNC (A.11): the VM functions that may be enabled. None. */
    public static final long VM_FUNCTIONS = 0;

    // ---- EPT (A.10) ----
    public static final long EPT_CAP_WALK_LENGTH_4 = 1L << 6;
    public static final long EPT_CAP_MEMORY_TYPE_UC = 1L << 8;
    public static final long EPT_CAP_MEMORY_TYPE_WB = 1L << 14;

    private VmxCapabilities() {
    }

    private static long controlMsr(int mustBe1, int mayBe1) {
        return (long) mayBe1 << 32 | Integer.toUnsignedLong(mustBe1);
    }

    /** The value of a VMX capability MSR, or 0 if it is not reported. */
    public static long msr(int index) {
        return switch (index) {
            case IA32_VMX_BASIC -> VMCS_REVISION_ID
                    | (long) VmcsLayout.REGION_SIZE << BASIC_REGION_SIZE_SHIFT
                    | MEMORY_TYPE_WB << BASIC_MEMORY_TYPE_SHIFT
                    | BASIC_INS_OUTS_INFO
                    | BASIC_TRUE_CONTROLS;
            case IA32_VMX_PINBASED_CTLS -> controlMsr(PIN_MUST_BE_1, PIN_MAY_BE_1);
            case IA32_VMX_TRUE_PINBASED_CTLS -> controlMsr(PIN_TRUE_MUST_BE_1, PIN_MAY_BE_1);
            case IA32_VMX_PROCBASED_CTLS -> controlMsr(PROC_MUST_BE_1, PROC_MAY_BE_1);
            case IA32_VMX_TRUE_PROCBASED_CTLS -> controlMsr(PROC_TRUE_MUST_BE_1, PROC_MAY_BE_1);
            case IA32_VMX_PROCBASED_CTLS2 -> controlMsr(0, PROC2_MAY_BE_1);
            case IA32_VMX_EXIT_CTLS -> controlMsr(EXIT_MUST_BE_1, EXIT_MAY_BE_1);
            case IA32_VMX_TRUE_EXIT_CTLS -> controlMsr(EXIT_TRUE_MUST_BE_1, EXIT_MAY_BE_1);
            case IA32_VMX_ENTRY_CTLS -> controlMsr(ENTRY_MUST_BE_1, ENTRY_MAY_BE_1);
            case IA32_VMX_TRUE_ENTRY_CTLS -> controlMsr(ENTRY_TRUE_MUST_BE_1, ENTRY_MAY_BE_1);
            case IA32_VMX_MISC -> PREEMPTION_TIMER_RATE
                    | MISC_STORE_LMA_ON_EXIT
                    | MISC_ACTIVITY_HLT | MISC_ACTIVITY_SHUTDOWN | MISC_ACTIVITY_WAIT_FOR_SIPI
                    | (long) CR3_TARGET_COUNT << MISC_CR3_TARGETS_SHIFT
                    | (VMWRITE_EXIT_INFORMATION_ALLOWED ? MISC_VMWRITE_EXIT_INFO : 0);
            case IA32_VMX_CR0_FIXED0 -> CR0_FIXED0;
            case IA32_VMX_CR0_FIXED1 -> CR0_FIXED1;
            case IA32_VMX_CR4_FIXED0 -> CR4_FIXED0;
            case IA32_VMX_CR4_FIXED1 -> CR4_FIXED1;
            case IA32_VMX_VMCS_ENUM -> (long) VmcsLayout.HIGHEST_INDEX << 1;
            case IA32_VMX_EPT_VPID_CAP -> EPT_CAP_WALK_LENGTH_4 | EPT_CAP_MEMORY_TYPE_UC | EPT_CAP_MEMORY_TYPE_WB;
            // IA32_VMX_VMFUNC: "enable VM functions" is allowed, but no VM function is implemented
            // (the VM-function controls must be 0; VMFUNC in the guest exits with reason 59)
            case IA32_VMX_VMFUNC -> VM_FUNCTIONS;
            default -> 0;
        };
    }

    /** Supported EPT memory types (EPTP bits 2:0), per IA32_VMX_EPT_VPID_CAP. */
    static boolean eptMemoryTypeSupported(int type) {
        return type == MEMORY_TYPE_UC || type == MEMORY_TYPE_WB;
    }
}
