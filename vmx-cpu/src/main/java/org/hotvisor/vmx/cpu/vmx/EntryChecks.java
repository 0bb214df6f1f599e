package org.hotvisor.vmx.cpu.vmx;

import static org.hotvisor.api.vmx.VmcsField.*;

import org.hotvisor.api.vmx.EntryControl;
import org.hotvisor.api.vmx.ExitControl;
import org.hotvisor.api.vmx.PinBasedControl;
import org.hotvisor.api.vmx.ProcessorControl;
import org.hotvisor.api.vmx.SecondaryControl;
import org.hotvisor.api.vmx.VmcsField;

/**
 * The VM-entry checks (SDM 3C chapter 27). Each failing rule is recorded in {@link #failure} as a
 * constant text naming its section, so a VMM author (or a test) can see which rule a VMCS broke.
 *
 * <p><b>27.2.1.1 VM-execution control fields</b> (failure: VM-instruction error 7)
 * <ul>
 *   <li>reserved bits of the pin-based, primary and (if activated) secondary processor-based
 *       controls per the TRUE capability MSRs (A.3.1-A.3.3)
 *   <li>CR3-target count &le; 4 (IA32_VMX_MISC bits 24:16)
 *   <li>use I/O bitmaps: both addresses 4-KiB aligned and the pages inside host memory
 *   <li>use MSR bitmaps: address 4-KiB aligned and the page inside host memory
 *   <li>NMI exiting = 0 implies virtual NMIs = 0; virtual NMIs = 0 implies NMI-window exiting = 0
 *   <li>enable EPT: EPTP memory type supported (UC or WB), bits 5:3 = 3 (4-level walk), bit 6 = 0
 *       (accessed/dirty flags not supported), bits 11:7 = 0, no bits beyond the physical-address width
 *   <li>unrestricted guest = 1 implies enable EPT = 1
 *   <li>VMCS shadowing: VMREAD- and VMWRITE-bitmap addresses 4-KiB aligned, pages inside host memory
 *   <li>enable VM functions: no bit set in the VM-function controls beyond IA32_VMX_VMFUNC (none)
 * </ul>
 * <b>27.2.1.2 VM-exit control fields</b> (error 7): reserved bits (A.4); "save VMX-preemption timer
 * value" = 1 requires "activate VMX-preemption timer" = 1; VM-exit MSR-store and MSR-load areas
 * (count &gt; 0): address bits 3:0 = 0 and the whole area inside host memory, count &le; 512.
 *
 * <p><b>27.2.1.3 VM-entry control fields</b> (error 7): reserved bits (A.5); VM-entry
 * interruption-information field when valid: type not 1 (reserved) and type 7 only with MTF
 * support, vector 2 for NMI, &le; 31 for hardware exceptions, 0 for "other event"; deliver-error-code
 * = 1 iff (unrestricted guest = 0 or guest CR0.PE = 1) and hardware exception with vector 8, 10-14
 * or 17; bits 30:12 = 0; error code bits 31:16 = 0 when delivered; instruction length 1-15 for
 * software interrupts/exceptions; VM-entry MSR-load area as for the exit areas.
 *
 * <p><b>27.2.2-27.2.4 host-state area</b> (error 8): host CR0/CR4 against the FIXED0/FIXED1 MSRs;
 * CR3 within the physical-address width; IA32_SYSENTER_ESP/EIP canonical; load IA32_PAT: every
 * entry a valid memory type (0, 1, 4-7); load IA32_EFER: reserved bits 0, LMA and LME equal to
 * "host address-space size"; selectors ES..TR with RPL = TI = 0; CS and TR selectors not 0; SS not 0
 * when host address-space size = 0; FS, GS, GDTR, IDTR and TR bases canonical; the processor is in
 * IA-32e mode (a 64-bit VMM) so "host address-space size" must be 1; with size 1: CR4.PAE = 1
 * and RIP canonical; with size 0: "IA-32e mode guest" = 0, CR4.PCIDE = 0, RIP bits 63:32 = 0.
 *
 * <p><b>27.3.1 guest-state area</b> (failure: VM exit 33 with bit 31, qualification 0 unless noted)
 * <ul>
 *   <li>27.3.1.1: CR0 against FIXED0/FIXED1 (PE and PG exempt with unrestricted guest); CR0.PG = 1
 *       requires CR0.PE = 1; CR4 against FIXED0/FIXED1; load debug controls: IA32_DEBUGCTL reserved
 *       bits (5:2, 63:16) = 0 and DR7 bits 63:32 = 0; IA-32e mode guest: CR0.PG = CR4.PAE = 1,
 *       otherwise CR4.PCIDE = 0; CR3 within the physical-address width; IA32_SYSENTER_ESP/EIP
 *       canonical; load IA32_PAT: valid memory types; load IA32_EFER: reserved bits 0, LMA =
 *       "IA-32e mode guest", and LME = "IA-32e mode guest" when CR0.PG = 1
 *   <li>27.3.1.2 selectors: TR.TI = 0; LDTR.TI = 0 if usable; RPL(SS) = RPL(CS) unless
 *       virtual-8086 or unrestricted guest. Bases: virtual-8086 base = selector &lt;&lt; 4; TR, FS,
 *       GS (and usable LDTR) canonical; CS and usable SS/DS/ES bits 63:32 = 0. Limits: virtual-8086
 *       0xFFFF. Access rights: virtual-8086 0xF3; otherwise CS type 9/11/13/15 (or 3 with
 *       unrestricted guest), usable SS type 3/7, usable DS/ES/FS/GS accessed and readable if code;
 *       S = 1; DPL rules (CS type 3: 0; non-conforming: = SS.DPL; conforming: &le; SS.DPL;
 *       SS.DPL = RPL(SS) without unrestricted guest and 0 in real mode or with CS type 3; data DPL
 *       &ge; RPL without unrestricted guest); P = 1; bits 11:8 and 31:17 = 0; CS.D/B = 0 when CS.L
 *       = 1 in IA-32e mode guest; granularity consistent with the limit. TR: type 11 (or 3 outside
 *       IA-32e mode), S = 0, P = 1, usable, G consistent. Usable LDTR: type 2, S = 0, P = 1, G consistent.
 *   <li>27.3.1.3: GDTR/IDTR bases canonical, limits bits 31:16 = 0
 *   <li>27.3.1.4: RIP bits 63:32 = 0 unless IA-32e mode guest with CS.L = 1 (then canonical);
 *       RFLAGS reserved bits (63:22, 15, 5, 3) = 0 and bit 1 = 1; VM = 0 in IA-32e mode or with
 *       CR0.PE = 0; IF = 1 when injecting an external interrupt
 *   <li>27.3.1.5: activity state supported (0-3); HLT requires SS.DPL = 0; STI/MOV-SS blocking
 *       requires the active state; injected events allowed in HLT (external interrupt, NMI, #DB, #MC,
 *       MTF), shutdown (NMI, #MC) and wait-for-SIPI (none); interruptibility bits 31:4 = 0 (no
 *       SGX), not both STI and MOV-SS, STI blocking requires RFLAGS.IF = 1, no STI/MOV-SS blocking
 *       when injecting an external interrupt, no MOV-SS blocking when injecting an NMI, no SMI
 *       blocking outside SMM, no NMI blocking when injecting an NMI with virtual NMIs; an NMI
 *       injected under STI blocking fails with qualification 3 (implementation-specific, this
 *       implementation chooses to fail); pending debug exceptions reserved bits (11:4, 13, 63:15
 *       except 14) = 0 and BS consistent with RFLAGS.TF and IA32_DEBUGCTL.BTF when STI/MOV-SS
 *       blocking or HLT; VMCS link pointer all-ones, or 4-KiB aligned in host memory with this
 *       revision identifier and a shadow-VMCS indicator equal to "VMCS shadowing", not the
 *       current-VMCS pointer (qualification 4)
 *   <li>27.3.1.6: with PAE paging (CR0.PG = CR4.PAE = 1, not IA-32e mode) each present PDPTE
 *       (from the VMCS with EPT, else from guest memory at CR3) has reserved bits 2:1, 8:5 and
 *       63:MAXPHYADDR clear (qualification 2); a PDPT outside guest RAM also fails
 * </ul>
 */
final class EntryChecks {

    /** Exit qualifications for VM-entry failures due to invalid guest state (SDM 3C 27.8). */
    static final int QUALIFICATION_DEFAULT = 0;
    static final int QUALIFICATION_PDPTE = 2;
    static final int QUALIFICATION_NMI_STI_BLOCKING = 3;
    static final int QUALIFICATION_VMCS_LINK_POINTER = 4;

    // interruption information (SDM 3C 25.8.3, Table 25-17)
    static final int INTR_VECTOR_MASK = 0xFF;
    static final int INTR_TYPE_SHIFT = 8;
    static final int INTR_TYPE_MASK = 7;
    static final int INTR_DELIVER_ERROR_CODE = 1 << 11;
    static final int INTR_RESERVED = 0x7FFF_F000;
    static final int INTR_VALID = 1 << 31;
    static final int TYPE_EXTERNAL_INTERRUPT = 0;
    static final int TYPE_RESERVED = 1;
    static final int TYPE_NMI = 2;
    static final int TYPE_HARDWARE_EXCEPTION = 3;
    static final int TYPE_SOFTWARE_INTERRUPT = 4;
    static final int TYPE_PRIVILEGED_SOFTWARE_EXCEPTION = 5;
    static final int TYPE_SOFTWARE_EXCEPTION = 6;
    static final int TYPE_OTHER_EVENT = 7;
    static final int VECTOR_NMI = 2;
    static final int VECTOR_DB = 1;
    static final int VECTOR_MC = 18;
    static final int MAX_EXCEPTION_VECTOR = 31;
    /** #DF #TS #NP #SS #GP #PF #AC deliver an error code. */
    static final int ERROR_CODE_VECTORS = 1 << 8 | 1 << 10 | 1 << 11 | 1 << 12 | 1 << 13 | 1 << 14 | 1 << 17;
    static final long ERROR_CODE_RESERVED = 0xFFFF_0000L;
    static final int MAX_INSTRUCTION_LENGTH = 15;

    // activity states (SDM 3C 25.4.2)
    static final int ACTIVITY_ACTIVE = 0;
    static final int ACTIVITY_HLT = 1;
    static final int ACTIVITY_SHUTDOWN = 2;
    static final int ACTIVITY_WAIT_FOR_SIPI = 3;

    // interruptibility state (SDM 3C 25.4.2, Table 25-3)
    static final int BLOCKING_BY_STI = 1;
    static final int BLOCKING_BY_MOV_SS = 1 << 1;
    static final int BLOCKING_BY_SMI = 1 << 2;
    static final int BLOCKING_BY_NMI = 1 << 3;
    static final int INTERRUPTIBILITY_RESERVED = 0xFFFF_FFF0;

    // pending debug exceptions (SDM 3C 25.4.2, Table 25-4)
    static final long PENDING_DEBUG_BS = 1L << 14;
    static final long PENDING_DEBUG_RESERVED = ~(0xFL | 1L << 12 | PENDING_DEBUG_BS);

    // registers
    static final long CR4_PAE = 1L << 5;
    static final long CR4_PCIDE = 1L << 17;
    static final long EFER_SCE = 1L;
    static final long EFER_LME = 1L << 8;
    static final long EFER_LMA = 1L << 10;
    static final long EFER_NXE = 1L << 11;
    static final long EFER_RESERVED = ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE);
    static final long RFLAGS_TF = 1L << 8;
    static final long RFLAGS_IF = 1L << 9;
    static final long RFLAGS_VM = 1L << 17;
    static final long RFLAGS_FIXED1 = 1L << 1;
    static final long RFLAGS_RESERVED = ~0x3F_FFFFL | 1L << 15 | 1L << 5 | 1L << 3;
    static final long DEBUGCTL_BTF = 1L << 1;
    static final long DEBUGCTL_RESERVED = 0x3CL | ~0xFFFFL;
    static final long HIGH_32 = 0xFFFF_FFFF_0000_0000L;
    static final long DESCRIPTOR_TABLE_LIMIT_RESERVED = 0xFFFF_0000L;

    // selectors and access rights
    static final int SELECTOR_RPL_MASK = 3;
    static final int SELECTOR_TI = 1 << 2;
    static final int AR_TYPE_MASK = 0xF;
    static final int AR_ACCESSED = 1;
    static final int AR_READABLE = 1 << 1;
    static final int AR_CODE = 1 << 3;
    static final int AR_S = 1 << 4;
    static final int AR_DPL_SHIFT = 5;
    static final int AR_P = 1 << 7;
    static final int AR_RESERVED_11_8 = 0xF00;
    static final int AR_L = 1 << 13;
    static final int AR_DB = 1 << 14;
    static final int AR_G = 1 << 15;
    static final int AR_UNUSABLE = 1 << 16;
    static final int AR_RESERVED_31_17 = 0xFFFE_0000;
    static final int AR_VIRTUAL_8086 = 0xF3;
    static final int VIRTUAL_8086_LIMIT = 0xFFFF;
    static final int TYPE_DATA_RW_ACCESSED = 3;
    static final int TYPE_DATA_RW_EXPAND_DOWN_ACCESSED = 7;
    static final int TYPE_CODE_ACCESSED = 9;
    static final int TYPE_CODE_READ_ACCESSED = 11;
    static final int TYPE_CODE_CONFORMING_ACCESSED = 13;
    static final int TYPE_CODE_CONFORMING_READ_ACCESSED = 15;
    static final int TYPE_LDT = 2;
    static final int TYPE_BUSY_TSS_16 = 3;
    static final int TYPE_BUSY_TSS_32 = 11;
    static final int LIMIT_PAGE_OFFSET = 0xFFF;
    static final int LIMIT_HIGH_BITS = 0xFFF0_0000;

    // EPTP (SDM 3C 25.6.11, Table 25-9)
    static final long EPTP_MEMORY_TYPE_MASK = 7;
    static final long EPTP_WALK_LENGTH_MASK = 7L << 3;
    static final long EPTP_WALK_LENGTH_4 = 3L << 3;
    static final long EPTP_ACCESSED_DIRTY = 1L << 6;
    static final long EPTP_RESERVED_11_7 = 0xF80L;

    // PAE PDPTE (SDM 3A 4.4.1)
    static final long PDPTE_PRESENT = 1;
    static final long PDPTE_RESERVED_LOW = 0x1E6L;
    static final long PDPT_ADDRESS_MASK = 0xFFFF_FFE0L;

    static final long PAGE_MASK = 0xFFFL;
    static final int PAGE_SIZE = 4096;
    static final int MSR_ENTRY_SIZE = 16;
    static final long MSR_AREA_ALIGNMENT_MASK = 0xF;
    static final long NO_LINK_POINTER = -1L;
    static final int PAT_ENTRIES = 8;

    /** The rule the last failing check broke (a constant text with its SDM section), or null. */
    String failure;
    /** Exit qualification of the last guest-state failure. */
    int qualification;
    /** How often each whole group ran (statistics; the tests check what dirty tracking skips). */
    long controlsGroupRuns, hostGroupRuns, guestGroupRuns;

    private final byte[] hostMemory;
    private final byte[] guestRam;
    /** PDPTEs read by the last successful guest-state check with PAE paging. */
    final long[] pdptes = new long[4];
    boolean paePaging;
    /**
     * The last successful guest-state check read memory outside the VMCS (the VMCS link-pointer
     * region, or the PDPTEs at guest CR3 without EPT), which can change without a VMWRITE.
     */
    boolean guestChecksReadMemory;

    EntryChecks(byte[] hostMemory, byte[] guestRam) {
        this.hostMemory = hostMemory;
        this.guestRam = guestRam;
    }

    private boolean fail(String rule) {
        failure = rule;
        return false;
    }

    private boolean failGuest(String rule, int exitQualification) {
        failure = rule;
        qualification = exitQualification;
        return false;
    }

    static boolean canonical(long address) {
        return (address << 16 >> 16) == address;
    }

    static boolean beyondPhysicalWidth(long address) {
        return (address >>> VmxCapabilities.PHYSICAL_ADDRESS_WIDTH) != 0;
    }

    private boolean pageInHostMemory(long address) {
        return (address & PAGE_MASK) == 0 && address >= 0 && address <= hostMemory.length - PAGE_SIZE;
    }

    private boolean msrAreaValid(long address, long count) {
        if (count == 0) {
            return true;
        }
        return (address & MSR_AREA_ALIGNMENT_MASK) == 0 && count <= VmxCapabilities.MSR_LIST_MAX
                && address >= 0 && address + count * MSR_ENTRY_SIZE <= hostMemory.length;
    }

    private static boolean controlsAllowed(long value, int mustBe1, int mayBe1) {
        int v = (int) value;
        return (v & mustBe1) == mustBe1 && (v & ~mayBe1) == 0;
    }

    static boolean patValid(long pat) {
        for (int i = 0; i < PAT_ENTRIES; i++) {
            int type = (int) (pat >>> (i * 8)) & 0xFF;
            if (type == 2 || type == 3 || type > 7) {
                return false;
            }
        }
        return true;
    }

    static int effectiveSecondary(Vmcs v) {
        long[] values = v.values;
        return ProcessorControl.ACTIVATE_SECONDARY_CONTROLS.isSet((int) values[Slot.CPU_BASED_VM_EXEC_CONTROL])
                ? (int) values[Slot.SECONDARY_VM_EXEC_CONTROL] : 0;
    }

    private static final String PROC_RESERVED_RULE =
            "SDM 3C 27.2.1.1: reserved primary processor-based VM-execution control bits (A.3.2)";

    private static boolean procAllowed(int proc) {
        return controlsAllowed(proc, VmxCapabilities.PROC_TRUE_MUST_BE_1, VmxCapabilities.PROC_MAY_BE_1);
    }

    // ---------------------------------------------------------------- 27.2.1 controls

    /** SDM 3C 27.2.1: checks on the VMX controls; false means VMfailValid(7). */
    boolean controlsValid(Vmcs v) {
        failure = null;
        controlsGroupRuns++;
        int pin = v.get32(PIN_BASED_VM_EXEC_CONTROL);
        int proc = v.get32(CPU_BASED_VM_EXEC_CONTROL);
        int exit = v.get32(VM_EXIT_CONTROLS);
        int entry = v.get32(VM_ENTRY_CONTROLS);
        if (!controlsAllowed(pin, VmxCapabilities.PIN_TRUE_MUST_BE_1, VmxCapabilities.PIN_MAY_BE_1)) {
            return fail("SDM 3C 27.2.1.1: reserved pin-based VM-execution control bits (A.3.1)");
        }
        if (!procAllowed(proc)) {
            return fail(PROC_RESERVED_RULE);
        }
        if (ProcessorControl.ACTIVATE_SECONDARY_CONTROLS.isSet(proc)
                && !controlsAllowed(v.get32(SECONDARY_VM_EXEC_CONTROL), 0, VmxCapabilities.PROC2_MAY_BE_1)) {
            return fail("SDM 3C 27.2.1.1: reserved secondary processor-based VM-execution control bits (A.3.3)");
        }
        int proc2 = effectiveSecondary(v);
        if (v.get(CR3_TARGET_COUNT) > VmxCapabilities.CR3_TARGET_COUNT) {
            return fail("SDM 3C 27.2.1.1: CR3-target count greater than 4");
        }
        if (ProcessorControl.USE_IO_BITMAPS.isSet(proc)
                && !(pageInHostMemory(v.get(IO_BITMAP_A)) && pageInHostMemory(v.get(IO_BITMAP_B)))) {
            return fail("SDM 3C 27.2.1.1: I/O-bitmap address not 4-KiB aligned or outside host memory");
        }
        if (ProcessorControl.USE_MSR_BITMAPS.isSet(proc) && !pageInHostMemory(v.get(MSR_BITMAP))) {
            return fail("SDM 3C 27.2.1.1: MSR-bitmap address not 4-KiB aligned or outside host memory");
        }
        if (!PinBasedControl.NMI_EXITING.isSet(pin) && PinBasedControl.VIRTUAL_NMIS.isSet(pin)) {
            return fail("SDM 3C 27.2.1.1: virtual NMIs requires NMI exiting");
        }
        if (!PinBasedControl.VIRTUAL_NMIS.isSet(pin) && ProcessorControl.NMI_WINDOW_EXITING.isSet(proc)) {
            return fail("SDM 3C 27.2.1.1: NMI-window exiting requires virtual NMIs");
        }
        if (SecondaryControl.ENABLE_EPT.isSet(proc2) && !eptpValid(v.get(EPT_POINTER))) {
            return fail("SDM 3C 27.2.1.1: invalid EPT pointer (memory type, walk length, A/D, reserved bits)");
        }
        if (SecondaryControl.UNRESTRICTED_GUEST.isSet(proc2) && !SecondaryControl.ENABLE_EPT.isSet(proc2)) {
            return fail("SDM 3C 27.2.1.1: unrestricted guest requires enable EPT");
        }
        if (SecondaryControl.VMCS_SHADOWING.isSet(proc2)
                && !(pageInHostMemory(v.get(VMREAD_BITMAP)) && pageInHostMemory(v.get(VMWRITE_BITMAP)))) {
            return fail("SDM 3C 27.2.1.1: VMREAD/VMWRITE-bitmap address not 4-KiB aligned or outside host memory");
        }
        if (SecondaryControl.ENABLE_VM_FUNCTIONS.isSet(proc2)
                && (v.get(VM_FUNCTION_CONTROL) & ~VmxCapabilities.VM_FUNCTIONS) != 0) {
            return fail("SDM 3C 27.2.1.1: VM-function controls enable a function IA32_VMX_VMFUNC does not report");
        }
        // 27.2.1.2 VM-exit controls
        if (!controlsAllowed(exit, VmxCapabilities.EXIT_TRUE_MUST_BE_1, VmxCapabilities.EXIT_MAY_BE_1)) {
            return fail("SDM 3C 27.2.1.2: reserved VM-exit control bits (A.4)");
        }
        if (!PinBasedControl.ACTIVATE_VMX_PREEMPTION_TIMER.isSet(pin)
                && ExitControl.SAVE_VMX_PREEMPTION_TIMER_VALUE.isSet(exit)) {
            return fail("SDM 3C 27.2.1.2: save VMX-preemption timer value requires activate VMX-preemption timer");
        }
        if (!msrAreaValid(v.get(VM_EXIT_MSR_STORE_ADDR), v.get(VM_EXIT_MSR_STORE_COUNT))) {
            return fail("SDM 3C 27.2.1.2: VM-exit MSR-store address misaligned, more than 512 entries, or area outside host memory");
        }
        if (!msrAreaValid(v.get(VM_EXIT_MSR_LOAD_ADDR), v.get(VM_EXIT_MSR_LOAD_COUNT))) {
            return fail("SDM 3C 27.2.1.2: VM-exit MSR-load address misaligned, more than 512 entries, or area outside host memory");
        }
        // 27.2.1.3 VM-entry controls
        if (!controlsAllowed(entry, VmxCapabilities.ENTRY_TRUE_MUST_BE_1, VmxCapabilities.ENTRY_MAY_BE_1)) {
            return fail("SDM 3C 27.2.1.3: reserved VM-entry control bits (A.5)");
        }
        if (!entryInterruptionValid(v, proc, proc2)) {
            return false;
        }
        if (!msrAreaValid(v.get(VM_ENTRY_MSR_LOAD_ADDR), v.get(VM_ENTRY_MSR_LOAD_COUNT))) {
            return fail("SDM 3C 27.2.1.3: VM-entry MSR-load address misaligned, more than 512 entries, or area outside host memory");
        }
        return true;
    }

    /**
     * The 27.2.1 rules that read the fields a VMM rewrites around every exit, in the order of
     * {@link #controlsValid}: the primary processor-based reserved bits ({@link
     * DirtyFields#CHECK_PROC_RESERVED}) and the VM-entry interruption information ({@link
     * DirtyFields#CHECK_ENTRY_INTERRUPTION}). Valid only when every other field the controls group
     * reads is unchanged since it last passed (see {@link DirtyFields}).
     */
    boolean changedControlsValid(Vmcs v, int dirty) {
        failure = null;
        int proc = (int) v.values[Slot.CPU_BASED_VM_EXEC_CONTROL];
        if ((dirty & DirtyFields.CHECK_PROC_RESERVED) != 0 && !procAllowed(proc)) {
            return fail(PROC_RESERVED_RULE);
        }
        return (dirty & DirtyFields.CHECK_ENTRY_INTERRUPTION) == 0 || entryInterruptionValid(v, proc, effectiveSecondary(v));
    }

    private static boolean eptpValid(long eptp) {
        return VmxCapabilities.eptMemoryTypeSupported((int) (eptp & EPTP_MEMORY_TYPE_MASK))
                && (eptp & EPTP_WALK_LENGTH_MASK) == EPTP_WALK_LENGTH_4
                && (eptp & EPTP_ACCESSED_DIRTY) == 0
                && (eptp & EPTP_RESERVED_11_7) == 0
                && !beyondPhysicalWidth(eptp);
    }

    private boolean entryInterruptionValid(Vmcs v, int proc, int proc2) {
        int info = (int) v.values[Slot.VM_ENTRY_INTR_INFO_FIELD];
        if ((info & INTR_VALID) == 0) {
            return true;
        }
        int type = (info >>> INTR_TYPE_SHIFT) & INTR_TYPE_MASK;
        int vector = info & INTR_VECTOR_MASK;
        if (type == TYPE_RESERVED
                || type == TYPE_OTHER_EVENT && (VmxCapabilities.PROC_MAY_BE_1
                        & ProcessorControl.MONITOR_TRAP_FLAG.mask()) == 0) {
            return fail("SDM 3C 27.2.1.3: reserved VM-entry interruption type");
        }
        if (type == TYPE_NMI && vector != VECTOR_NMI
                || type == TYPE_HARDWARE_EXCEPTION && vector > MAX_EXCEPTION_VECTOR
                || type == TYPE_OTHER_EVENT && vector != 0) {
            return fail("SDM 3C 27.2.1.3: VM-entry interruption vector inconsistent with its type");
        }
        boolean protectedMode = !SecondaryControl.UNRESTRICTED_GUEST.isSet(proc2)
                || (v.values[Slot.GUEST_CR0] & VmxCapabilities.CR0_PE) != 0;
        boolean errorCodeExpected = protectedMode && type == TYPE_HARDWARE_EXCEPTION
                && (ERROR_CODE_VECTORS & (1 << vector)) != 0;
        if (((info & INTR_DELIVER_ERROR_CODE) != 0) != errorCodeExpected) {
            return fail("SDM 3C 27.2.1.3: deliver-error-code bit inconsistent with the event");
        }
        if ((info & INTR_RESERVED) != 0) {
            return fail("SDM 3C 27.2.1.3: VM-entry interruption-information bits 30:12 not 0");
        }
        if ((info & INTR_DELIVER_ERROR_CODE) != 0 && (v.values[Slot.VM_ENTRY_EXCEPTION_ERROR_CODE] & ERROR_CODE_RESERVED) != 0) {
            return fail("SDM 3C 27.2.1.3: VM-entry exception error code bits 31:16 not 0");
        }
        if (type == TYPE_SOFTWARE_INTERRUPT || type == TYPE_PRIVILEGED_SOFTWARE_EXCEPTION
                || type == TYPE_SOFTWARE_EXCEPTION) {
            long length = v.values[Slot.VM_ENTRY_INSTRUCTION_LEN];
            if (length < 1 || length > MAX_INSTRUCTION_LENGTH) {
                return fail("SDM 3C 27.2.1.3: VM-entry instruction length not in 1-15 for a software event");
            }
        }
        return true;
    }

    // ---------------------------------------------------------------- 27.2.2-27.2.4 host state

    private static final VmcsField[] HOST_SELECTORS = {HOST_ES_SELECTOR, HOST_CS_SELECTOR, HOST_SS_SELECTOR,
            HOST_DS_SELECTOR, HOST_FS_SELECTOR, HOST_GS_SELECTOR, HOST_TR_SELECTOR};

    /** SDM 3C 27.2.2-27.2.4: checks on the host-state area; false means VMfailValid(8). */
    boolean hostStateValid(Vmcs v) {
        failure = null;
        hostGroupRuns++;
        int exit = v.get32(VM_EXIT_CONTROLS);
        int entry = v.get32(VM_ENTRY_CONTROLS);
        boolean hostLongMode = ExitControl.HOST_ADDRESS_SPACE_SIZE.isSet(exit);
        long cr0 = v.get(HOST_CR0);
        long cr4 = v.get(HOST_CR4);
        if ((cr0 & VmxCapabilities.CR0_FIXED0) != VmxCapabilities.CR0_FIXED0 || (cr0 & ~VmxCapabilities.CR0_FIXED1) != 0) {
            return fail("SDM 3C 27.2.2: host CR0 violates IA32_VMX_CR0_FIXED0/FIXED1");
        }
        if ((cr4 & VmxCapabilities.CR4_FIXED0) != VmxCapabilities.CR4_FIXED0 || (cr4 & ~VmxCapabilities.CR4_FIXED1) != 0) {
            return fail("SDM 3C 27.2.2: host CR4 violates IA32_VMX_CR4_FIXED0/FIXED1");
        }
        if (beyondPhysicalWidth(v.get(HOST_CR3))) {
            return fail("SDM 3C 27.2.2: host CR3 sets bits beyond the physical-address width");
        }
        if (!canonical(v.get(HOST_IA32_SYSENTER_ESP)) || !canonical(v.get(HOST_IA32_SYSENTER_EIP))) {
            return fail("SDM 3C 27.2.2: host IA32_SYSENTER_ESP/EIP not canonical");
        }
        if (ExitControl.LOAD_IA32_PAT.isSet(exit) && !patValid(v.get(HOST_IA32_PAT))) {
            return fail("SDM 3C 27.2.2: host IA32_PAT has an invalid memory type");
        }
        if (ExitControl.LOAD_IA32_EFER.isSet(exit)) {
            long efer = v.get(HOST_IA32_EFER);
            if ((efer & EFER_RESERVED) != 0
                    || ((efer & EFER_LMA) != 0) != hostLongMode || ((efer & EFER_LME) != 0) != hostLongMode) {
                return fail("SDM 3C 27.2.2: host IA32_EFER reserved bits, or LMA/LME differ from host address-space size");
            }
        }
        // 27.2.3 segment and descriptor-table registers
        for (VmcsField selector : HOST_SELECTORS) {
            if ((v.get(selector) & (SELECTOR_RPL_MASK | SELECTOR_TI)) != 0) {
                return fail("SDM 3C 27.2.3: host selector with RPL or TI not 0");
            }
        }
        if (v.get(HOST_CS_SELECTOR) == 0 || v.get(HOST_TR_SELECTOR) == 0) {
            return fail("SDM 3C 27.2.3: host CS or TR selector is 0");
        }
        if (!hostLongMode && v.get(HOST_SS_SELECTOR) == 0) {
            return fail("SDM 3C 27.2.3: host SS selector is 0 with host address-space size 0");
        }
        if (!canonical(v.get(HOST_FS_BASE)) || !canonical(v.get(HOST_GS_BASE)) || !canonical(v.get(HOST_GDTR_BASE))
                || !canonical(v.get(HOST_IDTR_BASE)) || !canonical(v.get(HOST_TR_BASE))) {
            return fail("SDM 3C 27.2.3: host FS/GS/GDTR/IDTR/TR base not canonical");
        }
        // 27.2.4 address-space size: this processor runs a 64-bit VMM (IA32_EFER.LMA = 1 in root operation)
        if (!hostLongMode) {
            return fail("SDM 3C 27.2.4: the processor is in IA-32e mode, so host address-space size must be 1");
        }
        if ((cr4 & CR4_PAE) == 0) {
            return fail("SDM 3C 27.2.4: host address-space size 1 requires host CR4.PAE = 1");
        }
        if (!canonical(v.get(HOST_RIP))) {
            return fail("SDM 3C 27.2.4: host RIP not canonical");
        }
        if (!canonical(v.get(HOST_RSP))) {
            return fail("SDM 3C 27.2.4: host RSP not canonical");
        }
        assert !EntryControl.ENTRY_TO_SMM.isSet(entry); // excluded by the reserved-bit check
        return true;
    }

    // ---------------------------------------------------------------- 27.3.1 guest state

    /** SDM 3C 27.3.1: checks on the guest-state area; false means a VM-entry failure (exit 33, {@link #qualification}). */
    boolean guestStateValid(Vmcs v) {
        failure = null;
        guestGroupRuns++;
        qualification = QUALIFICATION_DEFAULT;
        paePaging = false;
        int proc2 = effectiveSecondary(v);
        int entry = v.get32(VM_ENTRY_CONTROLS);
        int pin = v.get32(PIN_BASED_VM_EXEC_CONTROL);
        boolean unrestricted = SecondaryControl.UNRESTRICTED_GUEST.isSet(proc2);
        boolean ia32e = EntryControl.IA32E_MODE_GUEST.isSet(entry);
        long cr0 = v.get(GUEST_CR0);
        long cr4 = v.get(GUEST_CR4);
        long rflags = v.get(GUEST_RFLAGS);
        boolean protectedMode = (cr0 & VmxCapabilities.CR0_PE) != 0;

        // 27.3.1.1 control registers, debug registers and MSRs
        long cr0MustBe1 = VmxCapabilities.CR0_FIXED0
                & (unrestricted ? ~(VmxCapabilities.CR0_PE | VmxCapabilities.CR0_PG) : -1L);
        if ((cr0 & cr0MustBe1) != cr0MustBe1 || (cr0 & ~VmxCapabilities.CR0_FIXED1) != 0) {
            return failGuest("SDM 3C 27.3.1.1: guest CR0 violates IA32_VMX_CR0_FIXED0/FIXED1", QUALIFICATION_DEFAULT);
        }
        if ((cr0 & VmxCapabilities.CR0_PG) != 0 && !protectedMode) {
            return failGuest("SDM 3C 27.3.1.1: guest CR0.PG = 1 with CR0.PE = 0", QUALIFICATION_DEFAULT);
        }
        if ((cr4 & VmxCapabilities.CR4_FIXED0) != VmxCapabilities.CR4_FIXED0 || (cr4 & ~VmxCapabilities.CR4_FIXED1) != 0) {
            return failGuest("SDM 3C 27.3.1.1: guest CR4 violates IA32_VMX_CR4_FIXED0/FIXED1", QUALIFICATION_DEFAULT);
        }
        if (EntryControl.LOAD_DEBUG_CONTROLS.isSet(entry)) {
            if ((v.get(GUEST_IA32_DEBUGCTL) & DEBUGCTL_RESERVED) != 0) {
                return failGuest("SDM 3C 27.3.1.1: guest IA32_DEBUGCTL reserved bits set", QUALIFICATION_DEFAULT);
            }
            if ((v.get(GUEST_DR7) & HIGH_32) != 0) {
                return failGuest("SDM 3C 27.3.1.1: guest DR7 bits 63:32 not 0", QUALIFICATION_DEFAULT);
            }
        }
        if (ia32e && ((cr0 & VmxCapabilities.CR0_PG) == 0 || (cr4 & CR4_PAE) == 0)) {
            return failGuest("SDM 3C 27.3.1.1: IA-32e mode guest requires CR0.PG = 1 and CR4.PAE = 1", QUALIFICATION_DEFAULT);
        }
        if (!ia32e && (cr4 & CR4_PCIDE) != 0) {
            return failGuest("SDM 3C 27.3.1.1: CR4.PCIDE = 1 outside IA-32e mode", QUALIFICATION_DEFAULT);
        }
        if (beyondPhysicalWidth(v.get(GUEST_CR3))) {
            return failGuest("SDM 3C 27.3.1.1: guest CR3 sets bits beyond the physical-address width", QUALIFICATION_DEFAULT);
        }
        if (!canonical(v.get(GUEST_SYSENTER_ESP)) || !canonical(v.get(GUEST_SYSENTER_EIP))) {
            return failGuest("SDM 3C 27.3.1.1: guest IA32_SYSENTER_ESP/EIP not canonical", QUALIFICATION_DEFAULT);
        }
        if (EntryControl.LOAD_IA32_PAT.isSet(entry) && !patValid(v.get(GUEST_IA32_PAT))) {
            return failGuest("SDM 3C 27.3.1.1: guest IA32_PAT has an invalid memory type", QUALIFICATION_DEFAULT);
        }
        if (EntryControl.LOAD_IA32_EFER.isSet(entry)) {
            long efer = v.get(GUEST_IA32_EFER);
            if ((efer & EFER_RESERVED) != 0) {
                return failGuest("SDM 3C 27.3.1.1: guest IA32_EFER reserved bits set", QUALIFICATION_DEFAULT);
            }
            if (((efer & EFER_LMA) != 0) != ia32e
                    || (cr0 & VmxCapabilities.CR0_PG) != 0 && ((efer & EFER_LME) != 0) != ia32e) {
                return failGuest("SDM 3C 27.3.1.1: guest IA32_EFER.LMA/LME differ from IA-32e mode guest", QUALIFICATION_DEFAULT);
            }
        }

        // 27.3.1.2 segment registers
        boolean virtual8086 = (rflags & RFLAGS_VM) != 0;
        if (!segmentsValid(v, unrestricted, ia32e, protectedMode, virtual8086)) {
            return false;
        }

        // 27.3.1.3 descriptor-table registers
        if (!canonical(v.get(GUEST_GDTR_BASE)) || !canonical(v.get(GUEST_IDTR_BASE))) {
            return failGuest("SDM 3C 27.3.1.3: guest GDTR/IDTR base not canonical", QUALIFICATION_DEFAULT);
        }
        if ((v.get(GUEST_GDTR_LIMIT) & DESCRIPTOR_TABLE_LIMIT_RESERVED) != 0
                || (v.get(GUEST_IDTR_LIMIT) & DESCRIPTOR_TABLE_LIMIT_RESERVED) != 0) {
            return failGuest("SDM 3C 27.3.1.3: guest GDTR/IDTR limit bits 31:16 not 0", QUALIFICATION_DEFAULT);
        }

        // 27.3.1.4 RIP and RFLAGS, 27.3.1.5 non-register state
        if (!eventStateValid(v, pin, entry, ia32e, protectedMode, rflags)) {
            return false;
        }

        // 27.3.1.6 PDPTEs
        if ((cr0 & VmxCapabilities.CR0_PG) != 0 && (cr4 & CR4_PAE) != 0 && !ia32e) {
            if (!pdptesValid(v, SecondaryControl.ENABLE_EPT.isSet(proc2))) {
                return failGuest("SDM 3C 27.3.1.6: a present PDPTE has reserved bits set (or the PDPT is outside guest RAM)",
                        QUALIFICATION_PDPTE);
            }
            paePaging = true;
        }
        guestChecksReadMemory = v.values[Slot.VMCS_LINK_POINTER] != NO_LINK_POINTER
                || paePaging && !SecondaryControl.ENABLE_EPT.isSet(proc2);
        return true;
    }

    /**
     * The usual case, which passes every 27.3.1.4/27.3.1.5 rule at a glance: no blocking, active,
     * no pending debug exceptions, no injection, no link pointer, plain RFLAGS, RIP below 4 GiB
     * (so canonical too).
     */
    static boolean eventStatePlain(long[] values) {
        long rflags = values[Slot.GUEST_RFLAGS];
        return (values[Slot.GUEST_INTERRUPTIBILITY_INFO] | values[Slot.GUEST_ACTIVITY_STATE]
                | values[Slot.GUEST_PENDING_DBG_EXCEPTIONS] | values[Slot.VM_ENTRY_INTR_INFO_FIELD] & INTR_VALID
                | values[Slot.GUEST_RIP] & HIGH_32 | rflags & (RFLAGS_RESERVED | RFLAGS_VM)) == 0
                && (rflags & RFLAGS_FIXED1) != 0 && values[Slot.VMCS_LINK_POINTER] == NO_LINK_POINTER;
    }

    /**
     * The 27.3.1 rules that read the fields a VMM rewrites around every exit (RIP, RFLAGS,
     * interruptibility and activity state, pending debug exceptions, VM-entry interruption
     * information): 27.3.1.4 and 27.3.1.5, in the order of {@link #guestStateValid}. Valid only
     * when every other field the guest group reads is unchanged since it last passed, RFLAGS.VM
     * included (see {@link DirtyFields}).
     */
    boolean changedGuestStateValid(Vmcs v) {
        if (failure != null) {
            failure = null; // a reference store costs a card mark: only after a failure
        }
        qualification = QUALIFICATION_DEFAULT;
        long[] values = v.values;
        long rflags = values[Slot.GUEST_RFLAGS];
        if (eventStatePlain(values)) {
            return true;
        }
        int entry = (int) values[Slot.VM_ENTRY_CONTROLS];
        return eventStateValid(v, (int) values[Slot.PIN_BASED_VM_EXEC_CONTROL], entry,
                EntryControl.IA32E_MODE_GUEST.isSet(entry), (values[Slot.GUEST_CR0] & VmxCapabilities.CR0_PE) != 0,
                rflags);
    }

    /** SDM 3C 27.3.1.4 (RIP and RFLAGS) and 27.3.1.5 (non-register state). */
    private boolean eventStateValid(Vmcs v, int pin, int entry, boolean ia32e, boolean protectedMode, long rflags) {
        long[] values = v.values;
        long rip = values[Slot.GUEST_RIP];
        boolean csLong = (values[Slot.GUEST_CS_AR_BYTES] & AR_L) != 0;
        if (ia32e && csLong ? !canonical(rip) : (rip & HIGH_32) != 0) {
            return failGuest("SDM 3C 27.3.1.4: guest RIP bits 63:32 not 0 (or not canonical in 64-bit mode)", QUALIFICATION_DEFAULT);
        }
        if ((rflags & RFLAGS_RESERVED) != 0 || (rflags & RFLAGS_FIXED1) == 0) {
            return failGuest("SDM 3C 27.3.1.4: guest RFLAGS reserved bits wrong (63:22, 15, 5, 3 must be 0, bit 1 must be 1)", QUALIFICATION_DEFAULT);
        }
        if ((rflags & RFLAGS_VM) != 0 && (ia32e || !protectedMode)) {
            return failGuest("SDM 3C 27.3.1.4: RFLAGS.VM = 1 in IA-32e mode or with CR0.PE = 0", QUALIFICATION_DEFAULT);
        }
        int entryInfo = (int) values[Slot.VM_ENTRY_INTR_INFO_FIELD];
        boolean injecting = (entryInfo & INTR_VALID) != 0;
        int injectType = (entryInfo >>> INTR_TYPE_SHIFT) & INTR_TYPE_MASK;
        int injectVector = entryInfo & INTR_VECTOR_MASK;
        if (injecting && injectType == TYPE_EXTERNAL_INTERRUPT && (rflags & RFLAGS_IF) == 0) {
            return failGuest("SDM 3C 27.3.1.4: RFLAGS.IF = 0 while injecting an external interrupt", QUALIFICATION_DEFAULT);
        }
        return nonRegisterStateValid(v, pin, rflags, entry, injecting, injectType, injectVector);
    }

    private boolean nonRegisterStateValid(Vmcs v, int pin, long rflags, int entry, boolean injecting,
            int injectType, int injectVector) {
        long[] values = v.values;
        long activity = values[Slot.GUEST_ACTIVITY_STATE];
        int interruptibility = (int) values[Slot.GUEST_INTERRUPTIBILITY_INFO];
        if (activity > ACTIVITY_WAIT_FOR_SIPI) {
            return failGuest("SDM 3C 27.3.1.5: activity state not supported (IA32_VMX_MISC bits 8:6)", QUALIFICATION_DEFAULT);
        }
        int ssDpl = ((int) values[Slot.GUEST_SS_AR_BYTES] >>> AR_DPL_SHIFT) & 3;
        if (activity == ACTIVITY_HLT && ssDpl != 0) {
            return failGuest("SDM 3C 27.3.1.5: HLT activity state with SS.DPL not 0", QUALIFICATION_DEFAULT);
        }
        if ((interruptibility & (BLOCKING_BY_STI | BLOCKING_BY_MOV_SS)) != 0 && activity != ACTIVITY_ACTIVE) {
            return failGuest("SDM 3C 27.3.1.5: STI or MOV-SS blocking requires the active state", QUALIFICATION_DEFAULT);
        }
        if (injecting && !injectionAllowedIn((int) activity, injectType, injectVector)) {
            return failGuest("SDM 3C 27.3.1.5: injected event not allowed in the guest activity state", QUALIFICATION_DEFAULT);
        }
        if ((interruptibility & INTERRUPTIBILITY_RESERVED) != 0) {
            return failGuest("SDM 3C 27.3.1.5: interruptibility-state reserved bits (31:4) set", QUALIFICATION_DEFAULT);
        }
        if ((interruptibility & (BLOCKING_BY_STI | BLOCKING_BY_MOV_SS)) == (BLOCKING_BY_STI | BLOCKING_BY_MOV_SS)) {
            return failGuest("SDM 3C 27.3.1.5: blocking by both STI and MOV SS", QUALIFICATION_DEFAULT);
        }
        if ((interruptibility & BLOCKING_BY_STI) != 0 && (rflags & RFLAGS_IF) == 0) {
            return failGuest("SDM 3C 27.3.1.5: blocking by STI with RFLAGS.IF = 0", QUALIFICATION_DEFAULT);
        }
        if (injecting && injectType == TYPE_EXTERNAL_INTERRUPT
                && (interruptibility & (BLOCKING_BY_STI | BLOCKING_BY_MOV_SS)) != 0) {
            return failGuest("SDM 3C 27.3.1.5: external interrupt injected under STI or MOV-SS blocking", QUALIFICATION_DEFAULT);
        }
        if (injecting && injectType == TYPE_NMI && (interruptibility & BLOCKING_BY_MOV_SS) != 0) {
            return failGuest("SDM 3C 27.3.1.5: NMI injected under MOV-SS blocking", QUALIFICATION_DEFAULT);
        }
        if ((interruptibility & BLOCKING_BY_SMI) != 0) {
            return failGuest("SDM 3C 27.3.1.5: blocking by SMI outside SMM", QUALIFICATION_DEFAULT);
        }
        if (injecting && injectType == TYPE_NMI && PinBasedControl.VIRTUAL_NMIS.isSet(pin)
                && (interruptibility & BLOCKING_BY_NMI) != 0) {
            return failGuest("SDM 3C 27.3.1.5: virtual NMI injected while virtual-NMI blocking", QUALIFICATION_DEFAULT);
        }
        if (injecting && injectType == TYPE_NMI && (interruptibility & BLOCKING_BY_STI) != 0) {
            return failGuest("SDM 3C 27.8: NMI injected under STI blocking (implementation-specific failure)",
                    QUALIFICATION_NMI_STI_BLOCKING);
        }
        long pendingDebug = values[Slot.GUEST_PENDING_DBG_EXCEPTIONS];
        if ((pendingDebug & PENDING_DEBUG_RESERVED) != 0) {
            return failGuest("SDM 3C 27.3.1.5: pending debug exceptions reserved bits set", QUALIFICATION_DEFAULT);
        }
        if ((interruptibility & (BLOCKING_BY_STI | BLOCKING_BY_MOV_SS)) != 0 || activity == ACTIVITY_HLT) {
            boolean singleStepPending = (rflags & RFLAGS_TF) != 0
                    && (values[Slot.GUEST_IA32_DEBUGCTL] & DEBUGCTL_BTF) == 0;
            if (((pendingDebug & PENDING_DEBUG_BS) != 0) != singleStepPending) {
                return failGuest("SDM 3C 27.3.1.5: pending debug exception BS inconsistent with RFLAGS.TF and DEBUGCTL.BTF",
                        QUALIFICATION_DEFAULT);
            }
        }
        long link = values[Slot.VMCS_LINK_POINTER];
        if (link != NO_LINK_POINTER) {
            if (!pageInHostMemory(link)) {
                return failGuest("SDM 3C 27.3.1.5: VMCS link pointer not 4-KiB aligned or outside host memory",
                        QUALIFICATION_VMCS_LINK_POINTER);
            }
            int revision = Vmcs.readInt(hostMemory, (int) link + VmcsLayout.OFFSET_REVISION);
            boolean shadowing = SecondaryControl.VMCS_SHADOWING.isSet(effectiveSecondary(v));
            if ((revision & ~VmcsLayout.SHADOW_VMCS_INDICATOR) != VmxCapabilities.VMCS_REVISION_ID
                    || ((revision & VmcsLayout.SHADOW_VMCS_INDICATOR) != 0) != shadowing) {
                return failGuest("SDM 3C 27.3.1.5: VMCS link pointer region has a wrong revision identifier or shadow indicator",
                        QUALIFICATION_VMCS_LINK_POINTER);
            }
            if (link == v.address) {
                return failGuest("SDM 3C 27.3.1.5: VMCS link pointer is the current-VMCS pointer",
                        QUALIFICATION_VMCS_LINK_POINTER);
            }
        }
        return true;
    }

    private static boolean injectionAllowedIn(int activity, int type, int vector) {
        return switch (activity) {
            case ACTIVITY_ACTIVE -> true;
            case ACTIVITY_HLT -> type == TYPE_EXTERNAL_INTERRUPT || type == TYPE_NMI
                    || type == TYPE_HARDWARE_EXCEPTION && (vector == VECTOR_DB || vector == VECTOR_MC)
                    || type == TYPE_OTHER_EVENT && vector == 0;
            case ACTIVITY_SHUTDOWN -> type == TYPE_NMI || type == TYPE_HARDWARE_EXCEPTION && vector == VECTOR_MC;
            default -> false;
        };
    }

    private boolean pdptesValid(Vmcs v, boolean ept) {
        if (ept) {
            pdptes[0] = v.get(GUEST_PDPTE0);
            pdptes[1] = v.get(GUEST_PDPTE1);
            pdptes[2] = v.get(GUEST_PDPTE2);
            pdptes[3] = v.get(GUEST_PDPTE3);
        } else {
            long table = v.get(GUEST_CR3) & PDPT_ADDRESS_MASK;
            if (table + 4 * Long.BYTES > guestRam.length) {
                return false;
            }
            for (int i = 0; i < 4; i++) {
                pdptes[i] = Vmcs.readLong(guestRam, (int) table + i * Long.BYTES);
            }
        }
        for (long pdpte : pdptes) {
            if ((pdpte & PDPTE_PRESENT) != 0 && ((pdpte & PDPTE_RESERVED_LOW) != 0 || beyondPhysicalWidth(pdpte))) {
                return false;
            }
        }
        return true;
    }

    // ---------------------------------------------------------------- 27.3.1.2 segments

    private static final VmcsField[] DATA_SELECTORS = {GUEST_DS_SELECTOR, GUEST_ES_SELECTOR, GUEST_FS_SELECTOR, GUEST_GS_SELECTOR};
    private static final VmcsField[] DATA_ACCESS_RIGHTS = {GUEST_DS_AR_BYTES, GUEST_ES_AR_BYTES, GUEST_FS_AR_BYTES, GUEST_GS_AR_BYTES};
    private static final VmcsField[] SEGMENT_SELECTORS = {GUEST_ES_SELECTOR, GUEST_CS_SELECTOR, GUEST_SS_SELECTOR,
            GUEST_DS_SELECTOR, GUEST_FS_SELECTOR, GUEST_GS_SELECTOR};
    private static final VmcsField[] SEGMENT_BASES = {GUEST_ES_BASE, GUEST_CS_BASE, GUEST_SS_BASE, GUEST_DS_BASE,
            GUEST_FS_BASE, GUEST_GS_BASE};
    private static final VmcsField[] SEGMENT_LIMITS = {GUEST_ES_LIMIT, GUEST_CS_LIMIT, GUEST_SS_LIMIT, GUEST_DS_LIMIT,
            GUEST_FS_LIMIT, GUEST_GS_LIMIT};
    private static final VmcsField[] SEGMENT_ACCESS_RIGHTS = {GUEST_ES_AR_BYTES, GUEST_CS_AR_BYTES, GUEST_SS_AR_BYTES,
            GUEST_DS_AR_BYTES, GUEST_FS_AR_BYTES, GUEST_GS_AR_BYTES};

    private static boolean granularityConsistent(int limit, int ar) {
        boolean g = (ar & AR_G) != 0;
        if ((limit & LIMIT_PAGE_OFFSET) != LIMIT_PAGE_OFFSET && g) {
            return false;
        }
        return (limit & LIMIT_HIGH_BITS) == 0 || g;
    }

    private static boolean usable(int ar) {
        return (ar & AR_UNUSABLE) == 0;
    }

    private boolean segmentsValid(Vmcs v, boolean unrestricted, boolean ia32e, boolean protectedMode, boolean virtual8086) {
        int trSelector = v.get32(GUEST_TR_SELECTOR);
        int ldtrSelector = v.get32(GUEST_LDTR_SELECTOR);
        int ldtrAr = v.get32(GUEST_LDTR_AR_BYTES);
        int csSelector = v.get32(GUEST_CS_SELECTOR);
        int ssSelector = v.get32(GUEST_SS_SELECTOR);
        int csAr = v.get32(GUEST_CS_AR_BYTES);
        int ssAr = v.get32(GUEST_SS_AR_BYTES);
        // selectors
        if ((trSelector & SELECTOR_TI) != 0) {
            return failGuest("SDM 3C 27.3.1.2: guest TR selector TI = 1", QUALIFICATION_DEFAULT);
        }
        if (usable(ldtrAr) && (ldtrSelector & SELECTOR_TI) != 0) {
            return failGuest("SDM 3C 27.3.1.2: usable guest LDTR selector TI = 1", QUALIFICATION_DEFAULT);
        }
        if (!virtual8086 && !unrestricted && (ssSelector & SELECTOR_RPL_MASK) != (csSelector & SELECTOR_RPL_MASK)) {
            return failGuest("SDM 3C 27.3.1.2: RPL(SS) differs from RPL(CS)", QUALIFICATION_DEFAULT);
        }
        // bases
        if (virtual8086) {
            for (int i = 0; i < SEGMENT_BASES.length; i++) {
                if (v.get(SEGMENT_BASES[i]) != v.get(SEGMENT_SELECTORS[i]) << 4) {
                    return failGuest("SDM 3C 27.3.1.2: virtual-8086 segment base is not selector << 4", QUALIFICATION_DEFAULT);
                }
            }
        }
        if (!canonical(v.get(GUEST_TR_BASE)) || !canonical(v.get(GUEST_FS_BASE)) || !canonical(v.get(GUEST_GS_BASE))
                || usable(ldtrAr) && !canonical(v.get(GUEST_LDTR_BASE))) {
            return failGuest("SDM 3C 27.3.1.2: guest TR/FS/GS/LDTR base not canonical", QUALIFICATION_DEFAULT);
        }
        if ((v.get(GUEST_CS_BASE) & HIGH_32) != 0
                || usable(ssAr) && (v.get(GUEST_SS_BASE) & HIGH_32) != 0
                || usable(v.get32(GUEST_DS_AR_BYTES)) && (v.get(GUEST_DS_BASE) & HIGH_32) != 0
                || usable(v.get32(GUEST_ES_AR_BYTES)) && (v.get(GUEST_ES_BASE) & HIGH_32) != 0) {
            return failGuest("SDM 3C 27.3.1.2: guest CS/SS/DS/ES base bits 63:32 not 0", QUALIFICATION_DEFAULT);
        }
        // limits and access rights
        if (virtual8086) {
            for (int i = 0; i < SEGMENT_LIMITS.length; i++) {
                if (v.get(SEGMENT_LIMITS[i]) != VIRTUAL_8086_LIMIT) {
                    return failGuest("SDM 3C 27.3.1.2: virtual-8086 segment limit is not 0xFFFF", QUALIFICATION_DEFAULT);
                }
                if (v.get(SEGMENT_ACCESS_RIGHTS[i]) != AR_VIRTUAL_8086) {
                    return failGuest("SDM 3C 27.3.1.2: virtual-8086 segment access rights are not 0xF3", QUALIFICATION_DEFAULT);
                }
            }
        } else if (!codeAndDataAccessRightsValid(v, unrestricted, ia32e, protectedMode, csAr, ssAr, ssSelector)) {
            return false;
        }
        // TR
        int trAr = v.get32(GUEST_TR_AR_BYTES);
        int trType = trAr & AR_TYPE_MASK;
        if (!(trType == TYPE_BUSY_TSS_32 || !ia32e && trType == TYPE_BUSY_TSS_16)) {
            return failGuest("SDM 3C 27.3.1.2: guest TR type is not a busy TSS (11, or 3 outside IA-32e mode)", QUALIFICATION_DEFAULT);
        }
        if ((trAr & AR_S) != 0 || (trAr & AR_P) == 0 || (trAr & AR_RESERVED_11_8) != 0 || !usable(trAr)
                || (trAr & AR_RESERVED_31_17) != 0 || !granularityConsistent(v.get32(GUEST_TR_LIMIT), trAr)) {
            return failGuest("SDM 3C 27.3.1.2: guest TR access rights (S, P, reserved, unusable, G)", QUALIFICATION_DEFAULT);
        }
        // LDTR
        if (usable(ldtrAr) && ((ldtrAr & AR_TYPE_MASK) != TYPE_LDT || (ldtrAr & AR_S) != 0 || (ldtrAr & AR_P) == 0
                || (ldtrAr & AR_RESERVED_11_8) != 0 || (ldtrAr & AR_RESERVED_31_17) != 0
                || !granularityConsistent(v.get32(GUEST_LDTR_LIMIT), ldtrAr))) {
            return failGuest("SDM 3C 27.3.1.2: usable guest LDTR access rights (type 2, S, P, reserved, G)", QUALIFICATION_DEFAULT);
        }
        return true;
    }

    private boolean codeAndDataAccessRightsValid(Vmcs v, boolean unrestricted, boolean ia32e, boolean protectedMode,
            int csAr, int ssAr, int ssSelector) {
        int csType = csAr & AR_TYPE_MASK;
        int csDpl = (csAr >>> AR_DPL_SHIFT) & 3;
        int ssDpl = (ssAr >>> AR_DPL_SHIFT) & 3;
        // CS
        boolean csTypeOk = csType == TYPE_CODE_ACCESSED || csType == TYPE_CODE_READ_ACCESSED
                || csType == TYPE_CODE_CONFORMING_ACCESSED || csType == TYPE_CODE_CONFORMING_READ_ACCESSED
                || unrestricted && csType == TYPE_DATA_RW_ACCESSED;
        if (!csTypeOk) {
            return failGuest("SDM 3C 27.3.1.2: guest CS type must be 9, 11, 13 or 15 (or 3 with unrestricted guest)", QUALIFICATION_DEFAULT);
        }
        if ((csAr & AR_S) == 0 || (csAr & AR_P) == 0) {
            return failGuest("SDM 3C 27.3.1.2: guest CS must have S = 1 and P = 1", QUALIFICATION_DEFAULT);
        }
        if (csType == TYPE_DATA_RW_ACCESSED && csDpl != 0
                || (csType == TYPE_CODE_ACCESSED || csType == TYPE_CODE_READ_ACCESSED) && csDpl != ssDpl
                || (csType == TYPE_CODE_CONFORMING_ACCESSED || csType == TYPE_CODE_CONFORMING_READ_ACCESSED) && csDpl > ssDpl) {
            return failGuest("SDM 3C 27.3.1.2: guest CS.DPL inconsistent with its type and SS.DPL", QUALIFICATION_DEFAULT);
        }
        if ((csAr & AR_RESERVED_11_8) != 0 || (csAr & AR_RESERVED_31_17) != 0) {
            return failGuest("SDM 3C 27.3.1.2: guest CS access-rights reserved bits set", QUALIFICATION_DEFAULT);
        }
        if (ia32e && (csAr & AR_L) != 0 && (csAr & AR_DB) != 0) {
            return failGuest("SDM 3C 27.3.1.2: guest CS.L = 1 with CS.D/B = 1 in IA-32e mode", QUALIFICATION_DEFAULT);
        }
        if (!granularityConsistent(v.get32(GUEST_CS_LIMIT), csAr)) {
            return failGuest("SDM 3C 27.3.1.2: guest CS granularity inconsistent with its limit", QUALIFICATION_DEFAULT);
        }
        // SS
        if (usable(ssAr)) {
            int ssType = ssAr & AR_TYPE_MASK;
            if (ssType != TYPE_DATA_RW_ACCESSED && ssType != TYPE_DATA_RW_EXPAND_DOWN_ACCESSED) {
                return failGuest("SDM 3C 27.3.1.2: usable guest SS type must be 3 or 7", QUALIFICATION_DEFAULT);
            }
            if ((ssAr & AR_S) == 0 || (ssAr & AR_P) == 0 || (ssAr & AR_RESERVED_11_8) != 0
                    || (ssAr & AR_RESERVED_31_17) != 0 || !granularityConsistent(v.get32(GUEST_SS_LIMIT), ssAr)) {
                return failGuest("SDM 3C 27.3.1.2: usable guest SS access rights (S, P, reserved, G)", QUALIFICATION_DEFAULT);
            }
        }
        if (!unrestricted && ssDpl != (ssSelector & SELECTOR_RPL_MASK)) {
            return failGuest("SDM 3C 27.3.1.2: guest SS.DPL differs from RPL(SS)", QUALIFICATION_DEFAULT);
        }
        if ((csType == TYPE_DATA_RW_ACCESSED || !protectedMode) && ssDpl != 0) {
            return failGuest("SDM 3C 27.3.1.2: guest SS.DPL must be 0 in real mode or with CS type 3", QUALIFICATION_DEFAULT);
        }
        // DS, ES, FS, GS
        for (int i = 0; i < DATA_ACCESS_RIGHTS.length; i++) {
            int ar = v.get32(DATA_ACCESS_RIGHTS[i]);
            if (!usable(ar)) {
                continue;
            }
            int type = ar & AR_TYPE_MASK;
            if ((type & AR_ACCESSED) == 0 || (type & AR_CODE) != 0 && (type & AR_READABLE) == 0) {
                return failGuest("SDM 3C 27.3.1.2: usable guest DS/ES/FS/GS must be accessed, and readable if code", QUALIFICATION_DEFAULT);
            }
            if ((ar & AR_S) == 0 || (ar & AR_P) == 0 || (ar & AR_RESERVED_11_8) != 0 || (ar & AR_RESERVED_31_17) != 0) {
                return failGuest("SDM 3C 27.3.1.2: usable guest DS/ES/FS/GS access rights (S, P, reserved)", QUALIFICATION_DEFAULT);
            }
            int dpl = (ar >>> AR_DPL_SHIFT) & 3;
            int rpl = v.get32(DATA_SELECTORS[i]) & SELECTOR_RPL_MASK;
            if (!unrestricted && type <= TYPE_CODE_READ_ACCESSED && dpl < rpl) {
                return failGuest("SDM 3C 27.3.1.2: guest data segment DPL below its selector's RPL", QUALIFICATION_DEFAULT);
            }
            if (!granularityConsistent(v.get32(SEGMENT_LIMITS[indexOfData(i)]), ar)) {
                return failGuest("SDM 3C 27.3.1.2: guest DS/ES/FS/GS granularity inconsistent with its limit", QUALIFICATION_DEFAULT);
            }
        }
        return true;
    }

    /** Maps an index of {@link #DATA_ACCESS_RIGHTS} (DS, ES, FS, GS) to the ES..GS order of the limit table. */
    private static int indexOfData(int i) {
        return switch (i) {
            case 0 -> 3; // DS
            case 1 -> 0; // ES
            case 2 -> 4; // FS
            default -> 5; // GS
        };
    }
}
