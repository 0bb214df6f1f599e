package org.hotvisor.vmx.cpu.vmx;

import static org.hotvisor.api.vmx.VmcsField.*;

import java.lang.System.Logger.Level;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.vmx.EntryControl;
import org.hotvisor.api.vmx.ExitControl;
import org.hotvisor.api.vmx.LogicalProcessor;
import org.hotvisor.api.vmx.PinBasedControl;
import org.hotvisor.api.vmx.SecondaryControl;
import org.hotvisor.api.vmx.VmInstructionError;
import org.hotvisor.api.vmx.VmcsField;
import org.hotvisor.api.vmx.VmxStatus;
import org.hotvisor.vmx.cpu.x86.ExitInfo;
import org.hotvisor.vmx.cpu.x86.Segment;
import org.hotvisor.vmx.cpu.x86.VmxControls;
import org.hotvisor.vmx.cpu.x86.X86Core;

/**
 * One logical processor with VT-x: the root side (VMX instructions, VMCS, VM entry and VM exit)
 * around an {@link X86Core} that runs the guest in VMX non-root operation.
 *
 * <p><b>VMX instructions</b> follow the SDM 3C chapter 31 pseudocode and the 31.2 conventions:
 * VMfail(n) is VMfailValid(n) (error number in the VM-instruction error field) when there is a
 * current VMCS and VMfailInvalid otherwise. An instruction that would raise #UD because the
 * processor is not in VMX operation reports {@link VmxStatus#FAIL_INVALID} (the host cannot take
 * an exception). Host CPL, CR0/CR4 and IA32_FEATURE_CONTROL preconditions of VMXON hold by
 * construction and are not modelled. Error numbers (SDM 3C 31.4):
 * <ul>
 *   <li>VMXON: address not 4-KiB aligned or outside host memory, or wrong revision identifier
 *       (bits 30:0) or bit 31 set: VMfailInvalid; in VMX root operation: VMfail(15)
 *   <li>VMCLEAR: bad address: VMfail(2); the VMXON pointer: VMfail(3)
 *   <li>VMPTRLD: bad address: VMfail(9); the VMXON pointer: VMfail(10); revision identifier
 *       mismatch or shadow-VMCS indicator set (no VMCS shadowing): VMfail(11)
 *   <li>VMREAD/VMWRITE without a current VMCS: VMfailInvalid; unsupported component: 12;
 *       VMWRITE to a VM-exit information field: 13 (IA32_VMX_MISC bit 29 is 0)
 *   <li>VMLAUNCH/VMRESUME without a current VMCS: VMfailInvalid; VMLAUNCH with a non-clear VMCS: 4;
 *       VMRESUME of a VMCS launched in an earlier VMX session that ended with VMXOFF (no VMCLEAR): 6;
 *       VMRESUME with a non-launched VMCS: 5; invalid controls: 7; invalid host state: 8
 * </ul>
 *
 * <p><b>VMCS caching</b>: only the current VMCS is cached ({@link Vmcs}); VMPTRLD of another VMCS,
 * VMCLEAR and VMXOFF write it back to its region in host memory (layout in {@link VmcsLayout}), so a
 * VMCS survives replacing this object: VMCLEAR, create a new processor, VMXON, VMPTRLD, VMLAUNCH.
 *
 * <p><b>VM entry</b> (SDM 3C chapter 27): the checks of {@link EntryChecks} (27.2 controls and host
 * state, then 27.3.1 guest state), loading of the guest state and the controls into the core
 * (27.3.2), PDPTEs (27.3.1.6), the VM-entry MSR-load list (27.4), launch state "launched" only
 * after all that succeeded (31.3 VMLAUNCH), event injection (27.6) and activity state (27.7):
 * injecting an event makes the guest active; "other event" (pending MTF) exits with reason 37
 * before any instruction. A VM-entry failure after the checks of 27.2 is a VM exit with bit 31
 * set (27.8): only the exit reason and exit qualification are written, the guest-state area and
 * the VM-entry interruption-information field are not modified.
 *
 * <p><b>VM exit</b> (SDM 3C chapter 28): the VM-exit information fields from the core (28.2; the
 * interruption information of an external-interrupt exit is valid only with "acknowledge interrupt
 * on exit"), the valid bit of the VM-entry interruption information is cleared and "IA-32e mode
 * guest" receives IA32_EFER.LMA (28.2, IA32_VMX_MISC bit 5), the guest state is saved (28.3), the
 * VM-exit MSR-store list is written (28.4). Host state (28.5) is only checked at entry: control
 * returns to the Java caller. The VM-exit MSR-load list is checked (28.6). A failure while saving
 * MSRs or checking the host list is a VMX abort (28.7): the abort indicator is written to the VMCS
 * region, the processor shuts down and every later VMX instruction reports VMfailInvalid.
 *
 * <p><b>State outside the VMCS</b>: the GPRs (RSP is gpr 4 of the core: GUEST_RSP is loaded into
 * it at entry and saved from it at exit, so between exits it holds the guest's RSP), CR2,
 * DR0-DR3 and DR6 belong to the core and keep the guest's values across exits. DR7 is in the
 * VMCS (with "load/save debug controls"); {@link #dr(int)} 7 reads the core's current value.
 *
 * <p><b>Not modelled</b>: error 26 (VM entry with events blocked by MOV SS; the Java host has no
 * MOV-SS shadow), SMM and the dual-monitor treatment (errors 16-25), VMCS shadowing.
 *
 * <p><b>Threading</b>: one thread drives a processor; only {@link #requestExit()} may be called
 * from another thread.
 */
public final class VmxLogicalProcessor implements LogicalProcessor {

    private static final System.Logger LOG = System.getLogger(VmxLogicalProcessor.class.getName());

    /** VMX-abort indicators (SDM 3C 28.7). */
    static final int ABORT_SAVING_GUEST_MSRS = 1;
    static final int ABORT_LOADING_HOST_MSRS = 4;

    private static final long NO_VMCS = -1L;
    private static final int REVISION_MASK = 0x7FFF_FFFF;
    private static final int ENTRY_FAILURE = ExitReason.ENTRY_FAILURE_BIT;
    private static final int BASIC_REASON_MASK = 0xFFFF;
    private static final int AR_SAVED_BITS = 0x1F0FF;
    private static final long SELECTOR_MASK = 0xFFFF;
    private static final long LIMIT_MASK = 0xFFFF_FFFFL;
    private static final long DESCRIPTOR_TABLE_LIMIT_MASK = 0xFFFF;
    private static final int RSP = 4;
    private static final int DR6 = 6;
    private static final int DR7 = 7;
    private static final int SEGMENT_REGISTERS = 8;

    private static final VmcsField[] SEGMENT_SELECTOR = {GUEST_ES_SELECTOR, GUEST_CS_SELECTOR, GUEST_SS_SELECTOR,
            GUEST_DS_SELECTOR, GUEST_FS_SELECTOR, GUEST_GS_SELECTOR, GUEST_LDTR_SELECTOR, GUEST_TR_SELECTOR};
    private static final VmcsField[] SEGMENT_BASE = {GUEST_ES_BASE, GUEST_CS_BASE, GUEST_SS_BASE, GUEST_DS_BASE,
            GUEST_FS_BASE, GUEST_GS_BASE, GUEST_LDTR_BASE, GUEST_TR_BASE};
    private static final VmcsField[] SEGMENT_LIMIT = {GUEST_ES_LIMIT, GUEST_CS_LIMIT, GUEST_SS_LIMIT, GUEST_DS_LIMIT,
            GUEST_FS_LIMIT, GUEST_GS_LIMIT, GUEST_LDTR_LIMIT, GUEST_TR_LIMIT};
    private static final VmcsField[] SEGMENT_ACCESS_RIGHTS = {GUEST_ES_AR_BYTES, GUEST_CS_AR_BYTES, GUEST_SS_AR_BYTES,
            GUEST_DS_AR_BYTES, GUEST_FS_AR_BYTES, GUEST_GS_AR_BYTES, GUEST_LDTR_AR_BYTES, GUEST_TR_AR_BYTES};
    private static final VmcsField[] CR3_TARGETS = {CR3_TARGET_VALUE0, CR3_TARGET_VALUE1, CR3_TARGET_VALUE2,
            CR3_TARGET_VALUE3};
    private static final VmcsField[] PDPTES = {GUEST_PDPTE0, GUEST_PDPTE1, GUEST_PDPTE2, GUEST_PDPTE3};

    private final X86Core core;
    private final byte[] hostMemory;
    private final byte[] guestRam;
    private final EntryChecks checks;

    private boolean inVmxOperation;
    private long vmxonPointer = NO_VMCS;
    private Vmcs current;
    private VmxStatus lastStatus = VmxStatus.SUCCEED;
    /** Set by a VMX abort (SDM 3C 28.7): the processor is shut down. */
    private boolean shutdown;

    public VmxLogicalProcessor(byte[] guestRam, byte[] hostMemory) {
        this(new X86Core(guestRam, hostMemory), guestRam, hostMemory);
    }

    VmxLogicalProcessor(X86Core core, byte[] guestRam, byte[] hostMemory) {
        this.core = core;
        this.guestRam = guestRam;
        this.hostMemory = hostMemory;
        this.checks = new EntryChecks(hostMemory, guestRam);
    }

    /** The core (package-private, for tests). */
    X86Core core() {
        return core;
    }

    /** The current VMCS or null (package-private, for tests). */
    Vmcs currentVmcs() {
        return current;
    }

    /** The SDM rule the last failed VM entry broke, with its section number; null if none failed yet. */
    public String lastEntryFailure() {
        return checks.failure;
    }

    // ------------------------------------------------------------------ status conventions (SDM 3C 31.2)

    private VmxStatus succeed() {
        return lastStatus = VmxStatus.SUCCEED;
    }

    private VmxStatus failInvalid() {
        return lastStatus = VmxStatus.FAIL_INVALID;
    }

    private VmxStatus fail(VmInstructionError error) {
        if (current == null) {
            return failInvalid();
        }
        current.set(VM_INSTRUCTION_ERROR, error.number());
        return lastStatus = VmxStatus.FAIL_VALID;
    }

    /** A VMCS or VMXON region address: 4-KiB aligned, not beyond the physical-address width, inside host memory. */
    private boolean validRegionAddress(long address) {
        return (address & EntryChecks.PAGE_MASK) == 0 && address >= 0
                && address <= hostMemory.length - VmcsLayout.REGION_SIZE;
    }

    private int revisionAt(long address) {
        return Vmcs.readInt(hostMemory, (int) address + VmcsLayout.OFFSET_REVISION);
    }

    @Override
    public VmxStatus lastStatus() {
        return lastStatus;
    }

    // ------------------------------------------------------------------ VMX instructions (SDM 3C 31.3)

    @Override
    public VmxStatus vmxon(long vmxonRegion) {
        if (shutdown) {
            return failInvalid();
        }
        if (inVmxOperation) {
            return fail(VmInstructionError.VMXON_IN_VMX_ROOT);
        }
        if (!validRegionAddress(vmxonRegion)) {
            return failInvalid();
        }
        int revision = revisionAt(vmxonRegion);
        if (revision != VmxCapabilities.VMCS_REVISION_ID) { // bits 30:0 must match and bit 31 must be 0
            return failInvalid();
        }
        inVmxOperation = true;
        vmxonPointer = vmxonRegion;
        current = null;
        return succeed();
    }

    @Override
    public VmxStatus vmxoff() {
        if (!inVmxOperation || shutdown) {
            return failInvalid();
        }
        if (current != null) {
            // Without VMCLEAR the VMCS stays "launched" for a VMX session that has ended: VMRESUME fails with 6.
            if (current.launchState == VmcsLayout.LAUNCH_STATE_LAUNCHED) {
                current.launchState = VmcsLayout.LAUNCH_STATE_LAUNCHED_BEFORE_VMXOFF;
            }
            current.store(hostMemory);
            current = null;
        }
        inVmxOperation = false;
        vmxonPointer = NO_VMCS;
        return succeed();
    }

    @Override
    public VmxStatus vmclear(long vmcsAddress) {
        if (!inVmxOperation || shutdown) {
            return failInvalid();
        }
        if (!validRegionAddress(vmcsAddress)) {
            return fail(VmInstructionError.VMCLEAR_INVALID_ADDRESS);
        }
        if (vmcsAddress == vmxonPointer) {
            return fail(VmInstructionError.VMCLEAR_VMXON_POINTER);
        }
        if (current != null && current.address == vmcsAddress) {
            current.launchState = VmcsLayout.LAUNCH_STATE_CLEAR;
            current.store(hostMemory);
            current = null;
        } else {
            Vmcs.clearInMemory(hostMemory, vmcsAddress);
        }
        return succeed();
    }

    @Override
    public VmxStatus vmptrld(long vmcsAddress) {
        if (!inVmxOperation || shutdown) {
            return failInvalid();
        }
        if (!validRegionAddress(vmcsAddress)) {
            return fail(VmInstructionError.VMPTRLD_INVALID_ADDRESS);
        }
        if (vmcsAddress == vmxonPointer) {
            return fail(VmInstructionError.VMPTRLD_VMXON_POINTER);
        }
        int revision = revisionAt(vmcsAddress);
        // bit 31 (shadow-VMCS indicator) is only allowed with VMCS shadowing, which is not supported
        if ((revision & REVISION_MASK) != VmxCapabilities.VMCS_REVISION_ID
                || (revision & VmcsLayout.SHADOW_VMCS_INDICATOR) != 0) {
            return fail(VmInstructionError.VMPTRLD_INCORRECT_REVISION);
        }
        if (current != null) {
            if (current.address == vmcsAddress) {
                return succeed();
            }
            current.store(hostMemory);
        }
        current = Vmcs.load(hostMemory, vmcsAddress);
        return succeed();
    }

    @Override
    public long vmptrst() {
        if (!inVmxOperation || shutdown) {
            failInvalid();
            return NO_VMCS;
        }
        succeed();
        return current == null ? NO_VMCS : current.address;
    }

    @Override
    public long vmread(int encoding) {
        if (!inVmxOperation || current == null || shutdown) {
            failInvalid();
            return 0;
        }
        int slot = VmcsLayout.slot(encoding);
        if (slot < 0) {
            fail(VmInstructionError.UNSUPPORTED_VMCS_COMPONENT);
            return 0;
        }
        lastStatus = VmxStatus.SUCCEED;
        long value = current.values[slot];
        return VmcsLayout.isHighAccess(encoding) ? value >>> 32 : value;
    }

    @Override
    public VmxStatus vmwrite(int encoding, long value) {
        if (!inVmxOperation || current == null || shutdown) {
            return failInvalid();
        }
        int slot = VmcsLayout.slot(encoding);
        if (slot < 0) {
            return fail(VmInstructionError.UNSUPPORTED_VMCS_COMPONENT);
        }
        if (VmcsLayout.typeOfSlot(slot) == VmcsLayout.TYPE_EXIT_INFORMATION
                && !VmxCapabilities.VMWRITE_EXIT_INFORMATION_ALLOWED) {
            return fail(VmInstructionError.VMWRITE_READ_ONLY_COMPONENT);
        }
        long[] values = current.values;
        if (VmcsLayout.isHighAccess(encoding)) {
            values[slot] = (values[slot] & 0xFFFF_FFFFL) | value << 32;
        } else {
            values[slot] = VmcsLayout.truncate(slot, value);
        }
        return succeed();
    }

    @Override
    public VmxStatus vmlaunch() {
        return enter(true);
    }

    @Override
    public VmxStatus vmresume() {
        return enter(false);
    }

    // ------------------------------------------------------------------ VM entry (SDM 3C chapter 27)

    private VmxStatus enter(boolean launch) {
        if (!inVmxOperation || current == null || shutdown) {
            return failInvalid();
        }
        Vmcs v = current;
        if (launch && v.launchState != VmcsLayout.LAUNCH_STATE_CLEAR) {
            return fail(VmInstructionError.VMLAUNCH_NONCLEAR_VMCS);
        }
        if (!launch && v.launchState == VmcsLayout.LAUNCH_STATE_LAUNCHED_BEFORE_VMXOFF) {
            return fail(VmInstructionError.VMRESUME_AFTER_VMXOFF);
        }
        if (!launch && v.launchState != VmcsLayout.LAUNCH_STATE_LAUNCHED) {
            return fail(VmInstructionError.VMRESUME_NONLAUNCHED_VMCS);
        }
        if (!checks.controlsValid(v)) {
            LOG.log(Level.DEBUG, "VM entry failed (error 7): {0}", checks.failure);
            return fail(VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS);
        }
        if (!checks.hostStateValid(v)) {
            LOG.log(Level.DEBUG, "VM entry failed (error 8): {0}", checks.failure);
            return fail(VmInstructionError.ENTRY_INVALID_HOST_STATE);
        }
        if (!checks.guestStateValid(v)) {
            LOG.log(Level.DEBUG, "VM entry failed (exit 33): {0}", checks.failure);
            entryFailure(ExitReason.ENTRY_FAILURE_GUEST_STATE.number(), checks.qualification);
            return lastStatus;
        }
        loadControls(v);
        loadGuestState(v);
        int failedMsr = MsrLists.loadGuestMsrs(core, hostMemory, v.get(VM_ENTRY_MSR_LOAD_ADDR),
                v.get32(VM_ENTRY_MSR_LOAD_COUNT));
        if (failedMsr != 0) {
            checks.failure = "SDM 3C 27.4: VM-entry MSR-load entry names an MSR that cannot be loaded";
            LOG.log(Level.DEBUG, "VM entry failed (exit 34): MSR-load entry {0}", failedMsr);
            entryFailure(ExitReason.ENTRY_FAILURE_MSR_LOADING.number(), failedMsr);
            return lastStatus;
        }
        if (launch) {
            v.launchState = VmcsLayout.LAUNCH_STATE_LAUNCHED;
        }
        core.stateLoaded();
        int info = v.get32(VM_ENTRY_INTR_INFO_FIELD);
        if ((info & EntryChecks.INTR_VALID) != 0
                && ((info >>> EntryChecks.INTR_TYPE_SHIFT) & EntryChecks.INTR_TYPE_MASK) == EntryChecks.TYPE_OTHER_EVENT) {
            // SDM 3C 27.7: a pending MTF VM exit is injected: it occurs before any guest instruction
            ExitInfo exit = core.exit;
            exit.clear();
            exit.reason = ExitReason.MONITOR_TRAP_FLAG.number();
        } else {
            if ((info & EntryChecks.INTR_VALID) != 0) {
                // SDM 3C 27.6 / 27.7: an injected event is delivered and leaves the guest active
                core.activityState = EntryChecks.ACTIVITY_ACTIVE;
                core.injectEvent(info, v.get32(VM_ENTRY_EXCEPTION_ERROR_CODE), v.get32(VM_ENTRY_INSTRUCTION_LEN));
            }
            core.run();
        }
        vmExit(v);
        return lastStatus;
    }

    /** SDM 3C 27.8: a VM-entry failure after the 27.2 checks, reported as a VM exit with bit 31. */
    private void entryFailure(int basicReason, int qualification) {
        Vmcs v = current;
        v.set(VM_EXIT_REASON, Integer.toUnsignedLong(basicReason | ENTRY_FAILURE));
        v.set(EXIT_QUALIFICATION, qualification);
        // 28.6 as part of the 27.8 exit: the host MSR list
        if (!MsrLists.checkHostMsrs(hostMemory, v.get(VM_EXIT_MSR_LOAD_ADDR), v.get32(VM_EXIT_MSR_LOAD_COUNT))) {
            vmxAbort(ABORT_LOADING_HOST_MSRS);
            return;
        }
        succeed();
    }

    /** Copies the VM-execution, VM-exit and VM-entry controls the core consults (SDM 3C 25.6-25.8). */
    private void loadControls(Vmcs v) {
        VmxControls c = core.controls;
        c.pinBased = v.get32(PIN_BASED_VM_EXEC_CONTROL);
        c.procBased = v.get32(CPU_BASED_VM_EXEC_CONTROL);
        c.procBased2 = EntryChecks.effectiveSecondary(v);
        c.exceptionBitmap = v.get32(EXCEPTION_BITMAP);
        c.pageFaultErrorCodeMask = v.get32(PAGE_FAULT_ERROR_CODE_MASK);
        c.pageFaultErrorCodeMatch = v.get32(PAGE_FAULT_ERROR_CODE_MATCH);
        c.cr0GuestHostMask = v.get(CR0_GUEST_HOST_MASK);
        c.cr0ReadShadow = v.get(CR0_READ_SHADOW);
        c.cr4GuestHostMask = v.get(CR4_GUEST_HOST_MASK);
        c.cr4ReadShadow = v.get(CR4_READ_SHADOW);
        c.cr3TargetCount = v.get32(CR3_TARGET_COUNT);
        for (int i = 0; i < CR3_TARGETS.length; i++) {
            c.cr3TargetValues[i] = v.get(CR3_TARGETS[i]);
        }
        c.ioBitmapA = v.get(IO_BITMAP_A);
        c.ioBitmapB = v.get(IO_BITMAP_B);
        c.msrBitmap = v.get(MSR_BITMAP);
        c.tscOffset = v.get(TSC_OFFSET);
        c.tprThreshold = v.get32(TPR_THRESHOLD);
        c.virtualApicPageAddress = v.get(VIRTUAL_APIC_PAGE_ADDR);
        c.vmreadBitmap = v.get(VMREAD_BITMAP);
        c.vmwriteBitmap = v.get(VMWRITE_BITMAP);
        c.preemptionTimerActive = PinBasedControl.ACTIVATE_VMX_PREEMPTION_TIMER.isSet(c.pinBased);
        c.preemptionTimerValue = v.get(VMX_PREEMPTION_TIMER_VALUE);
        c.preemptionTimerRateShift = VmxCapabilities.PREEMPTION_TIMER_RATE;
        c.xssExitingBitmap = v.get(XSS_EXIT_BITMAP);
        c.exitControls = v.get32(VM_EXIT_CONTROLS);
        c.entryControls = v.get32(VM_ENTRY_CONTROLS);
    }

    /** SDM 3C 27.3.2: loads the guest-state area into the core (after the checks passed). */
    private void loadGuestState(Vmcs v) {
        int entry = v.get32(VM_ENTRY_CONTROLS);
        boolean ia32e = EntryControl.IA32E_MODE_GUEST.isSet(entry);
        core.cr0 = v.get(GUEST_CR0);
        core.cr3 = v.get(GUEST_CR3);
        core.cr4 = v.get(GUEST_CR4);
        if (EntryControl.LOAD_DEBUG_CONTROLS.isSet(entry)) {
            core.dr7 = v.get(GUEST_DR7);
            core.debugCtl = v.get(GUEST_IA32_DEBUGCTL);
        }
        core.sysenterCs = v.get(GUEST_SYSENTER_CS);
        core.sysenterEsp = v.get(GUEST_SYSENTER_ESP);
        core.sysenterEip = v.get(GUEST_SYSENTER_EIP);
        if (EntryControl.LOAD_IA32_PAT.isSet(entry)) {
            core.pat = v.get(GUEST_IA32_PAT);
        }
        if (EntryControl.LOAD_IA32_EFER.isSet(entry)) {
            core.efer = v.get(GUEST_IA32_EFER);
        } else {
            // 27.3.2.1: LMA follows "IA-32e mode guest"; LME too when CR0.PG = 1
            long efer = ia32e ? core.efer | EntryChecks.EFER_LMA : core.efer & ~EntryChecks.EFER_LMA;
            if ((core.cr0 & VmxCapabilities.CR0_PG) != 0) {
                efer = ia32e ? efer | EntryChecks.EFER_LME : efer & ~EntryChecks.EFER_LME;
            }
            core.efer = efer;
        }
        for (int i = 0; i < SEGMENT_REGISTERS; i++) {
            core.segments[i].load(v.get32(SEGMENT_SELECTOR[i]), v.get(SEGMENT_BASE[i]), v.get32(SEGMENT_LIMIT[i]),
                    v.get32(SEGMENT_ACCESS_RIGHTS[i]));
        }
        core.gdtrBase = v.get(GUEST_GDTR_BASE);
        core.gdtrLimit = v.get32(GUEST_GDTR_LIMIT);
        core.idtrBase = v.get(GUEST_IDTR_BASE);
        core.idtrLimit = v.get32(GUEST_IDTR_LIMIT);
        core.rip = v.get(GUEST_RIP);
        core.gpr[RSP] = v.get(GUEST_RSP);
        core.setRflags(v.get(GUEST_RFLAGS));
        core.interruptibility = v.get32(GUEST_INTERRUPTIBILITY_INFO);
        core.activityState = v.get32(GUEST_ACTIVITY_STATE);
        core.pendingDebugExceptions = v.get(GUEST_PENDING_DBG_EXCEPTIONS);
        if (checks.paePaging) {
            System.arraycopy(checks.pdptes, 0, core.pdpte, 0, PDPTES.length);
        }
    }

    // ------------------------------------------------------------------ VM exit (SDM 3C chapter 28)

    private void vmExit(Vmcs v) {
        ExitInfo exit = core.exit;
        int exitControls = v.get32(VM_EXIT_CONTROLS);
        // 28.2 VM-exit information
        v.set(VM_EXIT_REASON, Integer.toUnsignedLong(exit.reason));
        v.set(EXIT_QUALIFICATION, exit.qualification);
        v.set(GUEST_LINEAR_ADDRESS, exit.guestLinearAddress);
        v.set(GUEST_PHYSICAL_ADDRESS, exit.guestPhysicalAddress);
        int interruptionInfo = exit.interruptionInfo;
        if ((exit.reason & BASIC_REASON_MASK) == ExitReason.EXTERNAL_INTERRUPT.number()
                && !ExitControl.ACKNOWLEDGE_INTERRUPT_ON_EXIT.isSet(exitControls)) {
            interruptionInfo &= ~EntryChecks.INTR_VALID; // 28.2.2: not acknowledged, so not reported
        }
        v.set(VM_EXIT_INTR_INFO, Integer.toUnsignedLong(interruptionInfo));
        v.set(VM_EXIT_INTR_ERROR_CODE, Integer.toUnsignedLong(exit.interruptionErrorCode));
        v.set(IDT_VECTORING_INFO_FIELD, Integer.toUnsignedLong(exit.idtVectoringInfo));
        v.set(IDT_VECTORING_ERROR_CODE, Integer.toUnsignedLong(exit.idtVectoringErrorCode));
        v.set(VM_EXIT_INSTRUCTION_LEN, exit.instructionLength);
        v.set(VMX_INSTRUCTION_INFO, Integer.toUnsignedLong(exit.instructionInfo));
        v.set(IO_RCX, exit.ioRcx);
        v.set(IO_RSI, exit.ioRsi);
        v.set(IO_RDI, exit.ioRdi);
        v.set(IO_RIP, exit.ioRip);
        // 28.2: VM exits clear the valid bit of the VM-entry interruption-information field ...
        v.set(VM_ENTRY_INTR_INFO_FIELD, v.get(VM_ENTRY_INTR_INFO_FIELD) & ~Integer.toUnsignedLong(EntryChecks.INTR_VALID));
        // ... and store IA32_EFER.LMA into "IA-32e mode guest" (IA32_VMX_MISC bit 5)
        v.set(VM_ENTRY_CONTROLS, EntryControl.IA32E_MODE_GUEST.set(v.get32(VM_ENTRY_CONTROLS),
                (core.efer & EntryChecks.EFER_LMA) != 0));
        saveGuestState(v, exitControls);
        if (!MsrLists.storeGuestMsrs(core, hostMemory, v.get(VM_EXIT_MSR_STORE_ADDR), v.get32(VM_EXIT_MSR_STORE_COUNT))) {
            vmxAbort(ABORT_SAVING_GUEST_MSRS);
            return;
        }
        if (!MsrLists.checkHostMsrs(hostMemory, v.get(VM_EXIT_MSR_LOAD_ADDR), v.get32(VM_EXIT_MSR_LOAD_COUNT))) {
            vmxAbort(ABORT_LOADING_HOST_MSRS);
            return;
        }
        succeed();
    }

    /** SDM 3C 28.3: saves the guest state from the core into the guest-state area. */
    private void saveGuestState(Vmcs v, int exitControls) {
        v.set(GUEST_CR0, core.cr0);
        v.set(GUEST_CR3, core.cr3);
        v.set(GUEST_CR4, core.cr4);
        if (ExitControl.SAVE_DEBUG_CONTROLS.isSet(exitControls)) {
            v.set(GUEST_DR7, core.dr7);
            v.set(GUEST_IA32_DEBUGCTL, core.debugCtl);
        }
        v.set(GUEST_SYSENTER_CS, core.sysenterCs);
        v.set(GUEST_SYSENTER_ESP, core.sysenterEsp);
        v.set(GUEST_SYSENTER_EIP, core.sysenterEip);
        if (ExitControl.SAVE_IA32_PAT.isSet(exitControls)) {
            v.set(GUEST_IA32_PAT, core.pat);
        }
        if (ExitControl.SAVE_IA32_EFER.isSet(exitControls)) {
            v.set(GUEST_IA32_EFER, core.efer);
        }
        for (int i = 0; i < SEGMENT_REGISTERS; i++) {
            Segment s = core.segments[i];
            v.set(SEGMENT_SELECTOR[i], s.selector & SELECTOR_MASK);
            v.set(SEGMENT_BASE[i], s.base);
            v.set(SEGMENT_LIMIT[i], s.limit & LIMIT_MASK);
            v.set(SEGMENT_ACCESS_RIGHTS[i], s.accessRights & AR_SAVED_BITS); // 28.3.2: reserved bits saved as 0
        }
        v.set(GUEST_GDTR_BASE, core.gdtrBase);
        v.set(GUEST_GDTR_LIMIT, core.gdtrLimit & DESCRIPTOR_TABLE_LIMIT_MASK);
        v.set(GUEST_IDTR_BASE, core.idtrBase);
        v.set(GUEST_IDTR_LIMIT, core.idtrLimit & DESCRIPTOR_TABLE_LIMIT_MASK);
        v.set(GUEST_RIP, core.rip);
        v.set(GUEST_RSP, core.gpr[RSP]);
        v.set(GUEST_RFLAGS, core.rflags());
        v.set(GUEST_PENDING_DBG_EXCEPTIONS, core.pendingDebugExceptions);
        v.set(GUEST_INTERRUPTIBILITY_INFO, Integer.toUnsignedLong(core.interruptibility));
        v.set(GUEST_ACTIVITY_STATE, core.activityState);
        if (ExitControl.SAVE_VMX_PREEMPTION_TIMER_VALUE.isSet(exitControls)) {
            v.set(VMX_PREEMPTION_TIMER_VALUE, core.controls.preemptionTimerValue);
        }
        // 28.3.4: with EPT, PDPTEs are saved when the guest was using PAE paging
        boolean paePaging = (core.cr0 & VmxCapabilities.CR0_PG) != 0 && (core.cr4 & EntryChecks.CR4_PAE) != 0
                && (core.efer & EntryChecks.EFER_LMA) == 0;
        if (paePaging && SecondaryControl.ENABLE_EPT.isSet(core.controls.procBased2)) {
            for (int i = 0; i < PDPTES.length; i++) {
                v.set(PDPTES[i], core.pdpte[i]);
            }
        }
    }

    /** SDM 3C 28.7: VMX abort: the indicator goes to the VMCS region and the processor shuts down. */
    private void vmxAbort(int indicator) {
        Vmcs v = current;
        v.store(hostMemory);
        Vmcs.writeInt(hostMemory, (int) v.address + VmcsLayout.OFFSET_ABORT_INDICATOR, indicator);
        shutdown = true;
        current = null;
        LOG.log(Level.WARNING, "VMX abort {0} (SDM 3C 28.7): logical processor shut down", indicator);
        failInvalid();
    }

    // ------------------------------------------------------------------ state outside the VMCS

    @Override
    public long gpr(int index) {
        return core.gpr[index];
    }

    @Override
    public void setGpr(int index, long value) {
        core.gpr[index] = value;
    }

    @Override
    public long cr2() {
        return core.cr2;
    }

    @Override
    public void setCr2(long value) {
        core.cr2 = value;
    }

    @Override
    public long dr(int index) {
        return switch (index) {
            case 0, 1, 2, 3 -> core.dr[index];
            case DR6 -> core.dr6;
            case DR7 -> core.dr7;
            default -> throw new IllegalArgumentException("no debug register DR" + index);
        };
    }

    @Override
    public void setDr(int index, long value) {
        switch (index) {
            case 0, 1, 2, 3 -> core.dr[index] = value;
            case DR6 -> core.dr6 = value;
            case DR7 -> core.dr7 = value;
            default -> throw new IllegalArgumentException("no debug register DR" + index);
        }
    }

    // ------------------------------------------------------------------ the platform around the processor

    @Override
    public void requestExit() {
        core.requestExit();
    }

    @Override
    public long instructionsRetired() {
        return core.instructionsRetired();
    }

    @Override
    public long tsc() {
        return core.tsc;
    }

    /**
     * Advances the TSC. The VMX-preemption timer only counts in VMX non-root operation, but when
     * the current VMCS saves the timer value on exit ("save VMX-preemption timer value") the field
     * is the live countdown, so idle time is taken off it too (at the IA32_VMX_MISC rate).
     */
    @Override
    public void advanceTsc(long cycles) {
        if (cycles <= 0) {
            return;
        }
        core.tsc += cycles;
        Vmcs v = current;
        if (v != null && PinBasedControl.ACTIVATE_VMX_PREEMPTION_TIMER.isSet(v.get32(PIN_BASED_VM_EXEC_CONTROL))
                && ExitControl.SAVE_VMX_PREEMPTION_TIMER_VALUE.isSet(v.get32(VM_EXIT_CONTROLS))) {
            long ticks = cycles >>> VmxCapabilities.PREEMPTION_TIMER_RATE;
            v.set(VMX_PREEMPTION_TIMER_VALUE, Math.max(0, v.get(VMX_PREEMPTION_TIMER_VALUE) - ticks));
        }
    }

    @Override
    public void setA20(boolean enabled) {
        core.setA20(enabled);
    }

    @Override
    public void invalidateCode(long address, int length) {
        core.invalidateCode(address, length);
    }

    @Override
    public int mmioAccessSize() {
        return core.exit.mmioSize;
    }

    @Override
    public long mmioWriteData() {
        return core.exit.mmioData;
    }

    @Override
    public void completeMmioRead(long value) {
        core.completeMmioRead(value);
    }

    @Override
    public void completeMmioWrite() {
        core.completeMmioWrite();
    }

    @Override
    public long translateGuestLinear(long linear, boolean write) {
        return core.translateLinear(linear, write);
    }
}
