package org.hotvisor.vmx.cpu.vmx;

import java.lang.System.Logger.Level;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.vmx.EntryControl;
import org.hotvisor.api.vmx.ExitControl;
import org.hotvisor.api.vmx.LogicalProcessor;
import org.hotvisor.api.vmx.PinBasedControl;
import org.hotvisor.api.vmx.SecondaryControl;
import org.hotvisor.api.vmx.VmInstructionError;
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
 * <p><b>Dirty tracking</b> ({@link DirtyFields}): the cached VMCS records which checks and loads
 * each changed field makes necessary, whether a VMWRITE or a VM exit (saving a value the guest
 * changed) changed it. An entry re-runs only those checks, in their SDM order, so it fails exactly
 * as the whole sequence would; it copies only what changed into the core and calls
 * {@code X86Core.stateLoaded()} only when the core's derived state (mode, segment caches, paging)
 * depends on something that changed. VMPTRLD and VMLAUNCH make everything dirty.
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
 * <p><b>VMCS shadowing</b> (SDM 3C 25.10): VMPTRLD accepts a region with the shadow-VMCS
 * indicator, VMLAUNCH/VMRESUME with it current fail with VMfailInvalid (27.1); guest VMREAD and
 * VMWRITE that the bitmaps do not make exit access the link-pointer region ({@link ShadowVmcs}).
 *
 * <p><b>Platform signals</b>: {@link #signalInit()}, {@link #signalStartup(int)} and
 * {@link #signalSmi()} post to the core, which exits with reason 3, 4, 5 or 6 at an instruction
 * boundary (see {@code org.hotvisor.vmx.cpu.x86.PlatformSignals}).
 *
 * <p><b>Not modelled</b>: error 26 (VM entry with events blocked by MOV SS; the Java host has no
 * MOV-SS shadow), SMM and the dual-monitor treatment (errors 16-25; SMIs exit as SMM VM exits would
 * under it, but no SMM is entered).
 *
 * <p><b>Threading</b>: one thread drives a processor; only {@link #requestExit()} and the three
 * signal methods may be called from another thread.
 */
public final class VmxLogicalProcessor implements LogicalProcessor {

    private static final System.Logger LOG = System.getLogger(VmxLogicalProcessor.class.getName());

    /** VMX-abort indicators (SDM 3C 28.7). */
    static final int ABORT_SAVING_GUEST_MSRS = 1;
    static final int ABORT_LOADING_HOST_MSRS = 4;

    private static final long NO_VMCS = -1L;
    private static final VmxStatus[] STATUSES = VmxStatus.values();
    private static final int SUCCEED = VmxStatus.SUCCEED.ordinal();
    private static final int FAIL_INVALID = VmxStatus.FAIL_INVALID.ordinal();
    private static final int FAIL_VALID = VmxStatus.FAIL_VALID.ordinal();
    private static final int REVISION_MASK = 0x7FFF_FFFF;
    private static final int ENTRY_FAILURE = ExitReason.ENTRY_FAILURE_BIT;
    private static final int BASIC_REASON_MASK = 0xFFFF;
    /** SDM 3C Appendix C: basic exit reason 1 (a constant: an enum constant's field is a load per exit). */
    private static final int EXTERNAL_INTERRUPT_EXIT = 1;
    private static final int AR_SAVED_BITS = 0x1F0FF;
    private static final long SELECTOR_MASK = 0xFFFF;
    private static final long LOW_32 = 0xFFFF_FFFFL;
    private static final long DESCRIPTOR_TABLE_LIMIT_MASK = 0xFFFF;
    private static final int RSP = 4;
    /** CF, PF, AF, ZF, SF, OF: the lazy flags {@code setRflags} hands to the core; no derived state reads them. */
    private static final long RFLAGS_STATUS_FLAGS = 0x8D5;
    /** RAX..RDI: the registers the 32-bit interpreter uses. */
    private static final int LEGACY_GPRS = 8;
    private static final int DR6 = 6;
    private static final int DR7 = 7;
    private static final int SEGMENT_REGISTERS = 8;

    private final X86Core core;
    private final byte[] hostMemory;
    private final byte[] guestRam;
    private final EntryChecks checks;

    private boolean inVmxOperation;
    private long vmxonPointer = NO_VMCS;
    private Vmcs current;
    /** The current VMCS region carries the shadow-VMCS indicator (SDM 3C 25.10): VM entry fails with it. */
    private boolean currentIsShadow;
    /**
     * {@link #lastStatus()} as a {@link VmxStatus} ordinal: a primitive field, because storing an
     * object reference on every VMREAD/VMWRITE would cost a GC write barrier.
     */
    private int lastStatus = SUCCEED;

    // Control bits the entry/exit path tests on every round trip, as constants (an enum constant's
    // field is a memory load the JIT cannot fold).
    private static final int ENTRY_LOAD_DEBUG_CONTROLS = EntryControl.LOAD_DEBUG_CONTROLS.mask(),
            ENTRY_LOAD_IA32_PAT = EntryControl.LOAD_IA32_PAT.mask(), ENTRY_LOAD_IA32_EFER = EntryControl.LOAD_IA32_EFER.mask(),
            ENTRY_IA32E_MODE_GUEST = EntryControl.IA32E_MODE_GUEST.mask();
    private static final int EXIT_ACKNOWLEDGE_INTERRUPT = ExitControl.ACKNOWLEDGE_INTERRUPT_ON_EXIT.mask(),
            EXIT_SAVE_PREEMPTION_TIMER = ExitControl.SAVE_VMX_PREEMPTION_TIMER_VALUE.mask(),
            EXIT_SAVE_DEBUG_CONTROLS = ExitControl.SAVE_DEBUG_CONTROLS.mask(), EXIT_SAVE_IA32_PAT = ExitControl.SAVE_IA32_PAT.mask(),
            EXIT_SAVE_IA32_EFER = ExitControl.SAVE_IA32_EFER.mask();
    private static final int PIN_PREEMPTION_TIMER = PinBasedControl.ACTIVATE_VMX_PREEMPTION_TIMER.mask();
    /** Set by a VMX abort (SDM 3C 28.7): the processor is shut down. */
    private boolean shutdown;
    /**
     * The core's derived state (mode, segment caches, paging) may not match its architectural
     * state: the next successful entry calls {@code X86Core.stateLoaded()} instead of skipping it.
     */
    private boolean coreStateStale = true;
    /** Entries that called {@code X86Core.stateLoaded()} (statistics; the tests check what is skipped). */
    long stateLoadedCalls;

    public VmxLogicalProcessor(byte[] guestRam, byte[] hostMemory) {
        this(new X86Core(guestRam, hostMemory), guestRam, hostMemory);
    }

    VmxLogicalProcessor(X86Core core, byte[] guestRam, byte[] hostMemory) {
        this.core = core;
        this.guestRam = guestRam;
        this.hostMemory = hostMemory;
        this.checks = new EntryChecks(hostMemory, guestRam);
        core.shadowVmcs = new ShadowVmcs(this, hostMemory);
    }

    /** The core (package-private, for tests). */
    X86Core core() {
        return core;
    }

    /** The VM-entry checks with their statistics (package-private, for tests). */
    EntryChecks checks() {
        return checks;
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
        lastStatus = SUCCEED;
        return VmxStatus.SUCCEED;
    }

    private VmxStatus failInvalid() {
        lastStatus = FAIL_INVALID;
        return VmxStatus.FAIL_INVALID;
    }

    private VmxStatus fail(VmInstructionError error) {
        if (current == null) {
            return failInvalid();
        }
        current.write(Slot.VM_INSTRUCTION_ERROR, error.number());
        lastStatus = FAIL_VALID;
        return VmxStatus.FAIL_VALID;
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
        return STATUSES[lastStatus];
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
        // bit 31 (shadow-VMCS indicator) is allowed: this processor supports "VMCS shadowing" (SDM 3C 31.3 VMPTRLD)
        if ((revision & REVISION_MASK) != VmxCapabilities.VMCS_REVISION_ID
                || (revision & VmcsLayout.SHADOW_VMCS_INDICATOR) != 0
                        && (VmxCapabilities.PROC2_MAY_BE_1 & SecondaryControl.VMCS_SHADOWING.mask()) == 0) {
            return fail(VmInstructionError.VMPTRLD_INCORRECT_REVISION);
        }
        currentIsShadow = (revision & VmcsLayout.SHADOW_VMCS_INDICATOR) != 0;
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

    // A current VMCS implies VMX operation and no VMX abort: VMXOFF and a VMX abort drop it, and
    // only VMPTRLD in VMX operation sets it. So "current == null" is the whole VMfailInvalid test
    // of VMREAD, VMWRITE, VMLAUNCH and VMRESUME.

    @Override
    public long vmread(int encoding) {
        Vmcs v = current;
        if (v == null) {
            failInvalid();
            return 0;
        }
        int slot = VmcsLayout.slot(encoding);
        if (slot < 0) {
            fail(VmInstructionError.UNSUPPORTED_VMCS_COMPONENT);
            return 0;
        }
        lastStatus = SUCCEED;
        long value = v.values[slot];
        return (encoding & VmcsLayout.ENCODING_ACCESS_HIGH) != 0 ? value >>> 32 : value;
    }

    @Override
    public VmxStatus vmwrite(int encoding, long value) {
        Vmcs v = current;
        if (v == null) {
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
        long[] values = v.values;
        long old = values[slot];
        long updated = (encoding & VmcsLayout.ENCODING_ACCESS_HIGH) != 0
                ? (old & LOW_32) | value << 32
                : VmcsLayout.truncate(slot, value);
        if (updated != old) {
            values[slot] = updated;
            v.dirty |= DirtyFields.of(slot);
        }
        lastStatus = SUCCEED;
        return VmxStatus.SUCCEED;
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

    // The entry and exit paths below keep their rare cases (refusals, MSR lists, injection, full
    // checks) in methods of their own: a hot method over C2's inlining limit (325 bytes of
    // bytecode) is a call, and a call spills every live register, on each of them per exit.
    private VmxStatus enter(boolean launch) {
        Vmcs v = current;
        if (v == null || currentIsShadow || v.launchState != (launch ? VmcsLayout.LAUNCH_STATE_CLEAR : VmcsLayout.LAUNCH_STATE_LAUNCHED)) {
            return refuseEntry(v, launch);
        }
        if (launch) {
            v.dirty = DirtyFields.ALL;
        }
        if (checks.failure != null) {
            checks.failure = null; // a reference store costs a card mark: only after a failure
        }
        int checksDue = v.dirty & DirtyFields.CHECKS;
        if ((checksDue != 0 || v.guestChecksEveryEntry) && !checksPass(v, checksDue)) {
            return lastStatus();
        }
        long[] values = v.values;
        load(v);
        if (values[Slot.VM_ENTRY_MSR_LOAD_COUNT] != 0 && !loadGuestMsrList(v)) {
            return lastStatus();
        }
        if (launch) {
            v.launchState = VmcsLayout.LAUNCH_STATE_LAUNCHED;
        }
        if (coreStateStale) {
            core.stateLoaded();
            coreStateStale = false;
            stateLoadedCalls++;
        } else {
            zeroExtendGprs();
        }
        if ((values[Slot.VM_ENTRY_INTR_INFO_FIELD] & EntryChecks.INTR_VALID) == 0) {
            core.run();
        } else {
            injectThenRun(v);
        }
        vmExit(v);
        return lastStatus();
    }

    /** SDM 3C 27.1 (31.3 VMLAUNCH/VMRESUME): why there is no entry at all. */
    private VmxStatus refuseEntry(Vmcs v, boolean launch) {
        if (v == null || currentIsShadow) {
            return failInvalid(); // SDM 3C 27.1: no current VMCS, or a shadow VMCS, is VMfailInvalid
        }
        if (launch) {
            return fail(VmInstructionError.VMLAUNCH_NONCLEAR_VMCS);
        }
        return fail(v.launchState == VmcsLayout.LAUNCH_STATE_LAUNCHED_BEFORE_VMXOFF
                ? VmInstructionError.VMRESUME_AFTER_VMXOFF : VmInstructionError.VMRESUME_NONLAUNCHED_VMCS);
    }

    /**
     * The checks due: most entries after an exit only changed fields of the 27.3.1.4/27.3.1.5
     * rules (RIP, RFLAGS, interruptibility...) to values that pass at a glance.
     */
    private boolean checksPass(Vmcs v, int checksDue) {
        long rflags = v.values[Slot.GUEST_RFLAGS];
        if (checksDue == DirtyFields.CHECK_GUEST_EVENTS && !v.guestChecksEveryEntry
                && ((rflags ^ v.checkedRflags) & EntryChecks.RFLAGS_VM) == 0 && EntryChecks.eventStatePlain(v.values)) {
            checks.qualification = EntryChecks.QUALIFICATION_DEFAULT;
            v.checkedProc = (int) v.values[Slot.CPU_BASED_VM_EXEC_CONTROL];
            v.checkedRflags = rflags;
            v.dirty &= ~DirtyFields.CHECKS;
            return true;
        }
        return entryChecksPass(v);
    }

    /** SDM 3C 27.4: the VM-entry MSR-load list; false (and an exit with reason 34) if an entry fails. */
    private boolean loadGuestMsrList(Vmcs v) {
        long[] values = v.values;
        int failedMsr = MsrLists.loadGuestMsrs(core, hostMemory, values[Slot.VM_ENTRY_MSR_LOAD_ADDR],
                (int) values[Slot.VM_ENTRY_MSR_LOAD_COUNT]);
        core.systemStateChanged = true; // the list may have loaded IA32_EFER or IA32_PAT (27.4)
        coreStateStale = true;          // ... which the core's derived state depends on
        if (failedMsr == 0) {
            return true;
        }
        // the list may have changed guest MSRs in the core: the next entry reloads them from the VMCS
        v.dirty |= DirtyFields.LOAD_GUEST;
        checks.failure = "SDM 3C 27.4: VM-entry MSR-load entry names an MSR that cannot be loaded";
        LOG.log(Level.DEBUG, "VM entry failed (exit 34): MSR-load entry {0}", failedMsr);
        entryFailure(ExitReason.ENTRY_FAILURE_MSR_LOADING.number(), failedMsr);
        return false;
    }

    /** Event injection (SDM 3C 27.6) or a pending MTF VM exit (27.7) at this entry, then the guest. */
    private void injectThenRun(Vmcs v) {
        long[] values = v.values;
        int info = (int) values[Slot.VM_ENTRY_INTR_INFO_FIELD];
        if (((info >>> EntryChecks.INTR_TYPE_SHIFT) & EntryChecks.INTR_TYPE_MASK) == EntryChecks.TYPE_OTHER_EVENT) {
            // SDM 3C 27.7: a pending MTF VM exit is injected: it occurs before any guest instruction
            ExitInfo exit = core.exit;
            exit.clear();
            exit.reason = ExitReason.MONITOR_TRAP_FLAG.number();
            return;
        }
        // SDM 3C 27.6 / 27.7: an injected event is delivered and leaves the guest active
        core.activityState = EntryChecks.ACTIVITY_ACTIVE;
        core.injectEvent(info, (int) values[Slot.VM_ENTRY_EXCEPTION_ERROR_CODE], (int) values[Slot.VM_ENTRY_INSTRUCTION_LEN]);
        core.run();
    }

    /**
     * SDM 3C 27.2 and 27.3.1: runs the checks whose fields changed since they last passed
     * ({@link DirtyFields}); a skipped rule reads only unchanged fields, so it would pass again,
     * and the rules that run keep their order, so the first failure is the one the whole
     * sequence finds. Reports a failure (VMfailValid 7 or 8, or a VM exit with reason 33) and
     * returns false, or marks the checks clean and returns true.
     */
    private boolean entryChecksPass(Vmcs v) {
        long[] values = v.values;
        int dirty = v.dirty;
        int proc = (int) values[Slot.CPU_BASED_VM_EXEC_CONTROL];
        long rflags = values[Slot.GUEST_RFLAGS];
        if ((dirty & DirtyFields.CHECK_PROC_RESERVED) != 0
                && ((proc ^ v.checkedProc) & DirtyFields.PROC_BITS_READ_BY_OTHER_RULES) != 0) {
            dirty |= DirtyFields.CHECK_CONTROLS | DirtyFields.CHECK_GUEST;
        }
        if ((dirty & DirtyFields.CHECK_GUEST_EVENTS) != 0 && ((rflags ^ v.checkedRflags) & EntryChecks.RFLAGS_VM) != 0) {
            dirty |= DirtyFields.CHECK_GUEST; // 27.3.1.2: RFLAGS.VM selects the virtual-8086 segment rules
        }
        if (v.guestChecksEveryEntry) {
            dirty |= DirtyFields.CHECK_GUEST;
        }
        boolean controlsValid = (dirty & DirtyFields.CHECK_CONTROLS) != 0
                ? checks.controlsValid(v)
                : (dirty & (DirtyFields.CHECK_PROC_RESERVED | DirtyFields.CHECK_ENTRY_INTERRUPTION)) == 0
                        || checks.changedControlsValid(v, dirty);
        if (!controlsValid) {
            LOG.log(Level.DEBUG, "VM entry failed (error 7): {0}", checks.failure);
            fail(VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS);
            return false;
        }
        if ((dirty & DirtyFields.CHECK_HOST) != 0 && !checks.hostStateValid(v)) {
            LOG.log(Level.DEBUG, "VM entry failed (error 8): {0}", checks.failure);
            fail(VmInstructionError.ENTRY_INVALID_HOST_STATE);
            return false;
        }
        boolean fullGuest = (dirty & DirtyFields.CHECK_GUEST) != 0;
        boolean guestValid = fullGuest
                ? checks.guestStateValid(v)
                : (dirty & DirtyFields.CHECK_GUEST_EVENTS) == 0 || checks.changedGuestStateValid(v);
        if (!guestValid) {
            LOG.log(Level.DEBUG, "VM entry failed (exit 33): {0}", checks.failure);
            entryFailure(ExitReason.ENTRY_FAILURE_GUEST_STATE.number(), checks.qualification);
            return false;
        }
        if (fullGuest) {
            v.guestChecksEveryEntry = checks.guestChecksReadMemory;
        }
        v.checkedProc = proc;
        v.checkedRflags = rflags;
        v.dirty &= ~DirtyFields.CHECKS;
        return true;
    }

    /** SDM 3C 27.8: a VM-entry failure after the 27.2 checks, reported as a VM exit with bit 31. */
    private void entryFailure(int basicReason, int qualification) {
        Vmcs v = current;
        long[] values = v.values;
        values[Slot.VM_EXIT_REASON] = Integer.toUnsignedLong(basicReason | ENTRY_FAILURE);
        values[Slot.EXIT_QUALIFICATION] = qualification;
        // 28.6 as part of the 27.8 exit: the host MSR list
        if (!MsrLists.checkHostMsrs(hostMemory, values[Slot.VM_EXIT_MSR_LOAD_ADDR], (int) values[Slot.VM_EXIT_MSR_LOAD_COUNT])) {
            vmxAbort(ABORT_LOADING_HOST_MSRS);
            return;
        }
        succeed();
    }

    /**
     * SDM 3C 27.3.2 and the controls the core consults: copies what changed since the last entry
     * ({@link DirtyFields} load bits) and what the core may have changed behind the VMCS.
     */
    private void load(Vmcs v) {
        int dirty = v.dirty;
        if ((dirty & (DirtyFields.LOAD_CONTROLS | DirtyFields.LOAD_PROC | DirtyFields.LOAD_GUEST)) != 0) {
            // loaded values may differ from what saving would store (28.3.2), and the exit
            // controls decide what is saved: compare at the next exit
            core.systemStateChanged = true;
        }
        long[] values = v.values;
        VmxControls c = core.controls;
        if ((dirty & DirtyFields.LOAD_CONTROLS) != 0) {
            loadControls(v);
        } else {
            if ((dirty & DirtyFields.LOAD_PROC) != 0) {
                c.procBased = (int) values[Slot.CPU_BASED_VM_EXEC_CONTROL];
                c.procBased2 = EntryChecks.effectiveSecondary(v);
            }
            if ((dirty & DirtyFields.LOAD_TSC_OFFSET) != 0) {
                c.tscOffset = values[Slot.TSC_OFFSET];
            }
            if ((dirty & DirtyFields.LOAD_READ_SHADOWS) != 0) {
                c.cr0ReadShadow = values[Slot.CR0_READ_SHADOW];
                c.cr4ReadShadow = values[Slot.CR4_READ_SHADOW];
            }
        }
        // SDM 3C 26.5.1: the timer starts from the VMCS value at every entry (the core counts down its copy)
        c.preemptionTimerValue = values[Slot.VMX_PREEMPTION_TIMER_VALUE];
        if ((dirty & DirtyFields.LOAD_GUEST) != 0) {
            loadGuestState(v);
        } else if ((dirty & DirtyFields.LOAD_GUEST_SINGLE_FIELDS) != 0) {
            loadChangedGuestFields(v, dirty);
        }
        loadVolatileGuestState(v);
        v.dirty &= ~DirtyFields.LOADS;
    }

    /** Copies the VM-execution, VM-exit and VM-entry controls the core consults (SDM 3C 25.6-25.8). */
    private void loadControls(Vmcs v) {
        long[] values = v.values;
        VmxControls c = core.controls;
        c.pinBased = (int) values[Slot.PIN_BASED_VM_EXEC_CONTROL];
        c.procBased = (int) values[Slot.CPU_BASED_VM_EXEC_CONTROL];
        c.procBased2 = EntryChecks.effectiveSecondary(v);
        c.exceptionBitmap = (int) values[Slot.EXCEPTION_BITMAP];
        c.pageFaultErrorCodeMask = (int) values[Slot.PAGE_FAULT_ERROR_CODE_MASK];
        c.pageFaultErrorCodeMatch = (int) values[Slot.PAGE_FAULT_ERROR_CODE_MATCH];
        c.cr0GuestHostMask = values[Slot.CR0_GUEST_HOST_MASK];
        c.cr0ReadShadow = values[Slot.CR0_READ_SHADOW];
        c.cr4GuestHostMask = values[Slot.CR4_GUEST_HOST_MASK];
        c.cr4ReadShadow = values[Slot.CR4_READ_SHADOW];
        c.cr3TargetCount = (int) values[Slot.CR3_TARGET_COUNT];
        for (int i = 0; i < Slot.CR3_TARGET_VALUES.length; i++) {
            c.cr3TargetValues[i] = values[Slot.CR3_TARGET_VALUES[i]];
        }
        c.ioBitmapA = values[Slot.IO_BITMAP_A];
        c.ioBitmapB = values[Slot.IO_BITMAP_B];
        c.msrBitmap = values[Slot.MSR_BITMAP];
        c.tscOffset = values[Slot.TSC_OFFSET];
        c.tprThreshold = (int) values[Slot.TPR_THRESHOLD];
        c.virtualApicPageAddress = values[Slot.VIRTUAL_APIC_PAGE_ADDR];
        c.vmreadBitmap = values[Slot.VMREAD_BITMAP];
        c.vmwriteBitmap = values[Slot.VMWRITE_BITMAP];
        c.preemptionTimerActive = PinBasedControl.ACTIVATE_VMX_PREEMPTION_TIMER.isSet(c.pinBased);
        c.preemptionTimerRateShift = VmxCapabilities.PREEMPTION_TIMER_RATE;
        c.xssExitingBitmap = values[Slot.XSS_EXIT_BITMAP];
        c.pleGap = (int) values[Slot.PLE_GAP];   // SDM 3C 25.6.13
        c.pleWindow = (int) values[Slot.PLE_WINDOW];
        c.exitControls = (int) values[Slot.VM_EXIT_CONTROLS];
        c.entryControls = (int) values[Slot.VM_ENTRY_CONTROLS];
    }

    /**
     * SDM 3C 27.3.2: loads the whole guest-state area into the core (after the checks passed);
     * the core then recomputes its mode, segment caches and paging state ({@code stateLoaded}).
     */
    private void loadGuestState(Vmcs v) {
        long[] values = v.values;
        core.cr0 = values[Slot.GUEST_CR0];
        core.cr3 = values[Slot.GUEST_CR3];
        core.cr4 = values[Slot.GUEST_CR4];
        core.sysenterCs = values[Slot.GUEST_SYSENTER_CS];
        core.sysenterEsp = values[Slot.GUEST_SYSENTER_ESP];
        core.sysenterEip = values[Slot.GUEST_SYSENTER_EIP];
        for (int i = 0; i < SEGMENT_REGISTERS; i++) {
            core.segments[i].load((int) values[Slot.SEGMENT_SELECTOR[i]], values[Slot.SEGMENT_BASE[i]],
                    (int) values[Slot.SEGMENT_LIMIT[i]], (int) values[Slot.SEGMENT_ACCESS_RIGHTS[i]]);
        }
        core.gdtrBase = values[Slot.GUEST_GDTR_BASE];
        core.gdtrLimit = (int) values[Slot.GUEST_GDTR_LIMIT];
        core.idtrBase = values[Slot.GUEST_IDTR_BASE];
        core.idtrLimit = (int) values[Slot.GUEST_IDTR_LIMIT];
        core.rip = values[Slot.GUEST_RIP];
        core.setRflags(values[Slot.GUEST_RFLAGS]);
        core.interruptibility = (int) values[Slot.GUEST_INTERRUPTIBILITY_INFO];
        core.activityState = (int) values[Slot.GUEST_ACTIVITY_STATE];
        core.pendingDebugExceptions = values[Slot.GUEST_PENDING_DBG_EXCEPTIONS];
        coreStateStale = true;
    }

    /**
     * SDM 3C 27.3.2 for the guest fields a VMM rewrites around every exit. RIP, the interruptibility
     * and activity states and the pending debug exceptions feed no derived state of the core (it
     * reads them afresh when it runs); RFLAGS goes through {@code setRflags} for the lazy status
     * flags, and a change of any other RFLAGS bit (VM, AC, IOPL...: mode and CPL-dependent checks)
     * makes the core recompute its derived state.
     */
    private void loadChangedGuestFields(Vmcs v, int dirty) {
        long[] values = v.values;
        if ((dirty & DirtyFields.LOAD_RIP) != 0) {
            core.rip = values[Slot.GUEST_RIP];
        }
        if ((dirty & DirtyFields.LOAD_RFLAGS) != 0) {
            long rflags = values[Slot.GUEST_RFLAGS];
            if (((rflags ^ core.rflags()) & ~RFLAGS_STATUS_FLAGS) != 0) {
                coreStateStale = true;
            }
            core.setRflags(rflags);
        }
        if ((dirty & DirtyFields.LOAD_INTERRUPTIBILITY) != 0) {
            core.interruptibility = (int) values[Slot.GUEST_INTERRUPTIBILITY_INFO];
        }
        if ((dirty & DirtyFields.LOAD_ACTIVITY) != 0) {
            core.activityState = (int) values[Slot.GUEST_ACTIVITY_STATE];
        }
        if ((dirty & DirtyFields.LOAD_PENDING_DEBUG) != 0) {
            core.pendingDebugExceptions = values[Slot.GUEST_PENDING_DBG_EXCEPTIONS];
        }
    }

    /**
     * SDM 3C 27.3.2: the guest state loaded at every entry because its copy in the core may differ
     * from the VMCS without a VMWRITE: RSP ({@link #setGpr} 4), DR7 and IA32_DEBUGCTL, IA32_PAT and
     * IA32_EFER (the guest may change them and the exit need not save them), the PDPTEs (read from
     * guest memory without EPT), and IA32_EFER.LMA/LME from "IA-32e mode guest" (27.3.2.1).
     */
    private void loadVolatileGuestState(Vmcs v) {
        X86Core core = this.core;
        long[] values = v.values;
        int entry = (int) values[Slot.VM_ENTRY_CONTROLS];
        core.gpr[RSP] = values[Slot.GUEST_RSP];
        long changed = 0; // a change makes the core recompute its derived state (data breakpoints...)
        if ((entry & ENTRY_LOAD_DEBUG_CONTROLS) != 0) {
            long dr7 = values[Slot.GUEST_DR7];
            long debugCtl = values[Slot.GUEST_IA32_DEBUGCTL];
            changed = (dr7 ^ core.dr7) | (debugCtl ^ core.debugCtl);
            core.dr7 = dr7;
            core.debugCtl = debugCtl;
        }
        if ((entry & ENTRY_LOAD_IA32_PAT) != 0) {
            long pat = values[Slot.GUEST_IA32_PAT];
            changed |= pat ^ core.pat;
            core.pat = pat;
        }
        long efer;
        if ((entry & ENTRY_LOAD_IA32_EFER) != 0) {
            efer = values[Slot.GUEST_IA32_EFER];
        } else {
            // 27.3.2.1: LMA follows "IA-32e mode guest"; LME too when CR0.PG = 1
            boolean ia32e = (entry & ENTRY_IA32E_MODE_GUEST) != 0;
            efer = ia32e ? core.efer | EntryChecks.EFER_LMA : core.efer & ~EntryChecks.EFER_LMA;
            if ((core.cr0 & VmxCapabilities.CR0_PG) != 0) {
                efer = ia32e ? efer | EntryChecks.EFER_LME : efer & ~EntryChecks.EFER_LME;
            }
        }
        changed |= efer ^ core.efer;
        core.efer = efer;
        if (changed != 0) {
            coreStateStale = true;
        }
        if (checks.paePaging) {
            System.arraycopy(checks.pdptes, 0, core.pdpte, 0, core.pdpte.length);
        }
    }

    /**
     * What {@code X86Core.stateLoaded()} does to the GPRs, for entries that need nothing else of
     * it: the interpreter has no 64-bit mode and keeps RAX..RDI zero-extended 32-bit values, while
     * {@link #setGpr} and GUEST_RSP may carry bits 63:32.
     */
    private void zeroExtendGprs() {
        if ((core.efer & EntryChecks.EFER_LMA) != 0) {
            return;   // IA-32e mode: all 64 bits of every GPR are live
        }
        long[] gpr = core.gpr;
        for (int i = 0; i < LEGACY_GPRS; i++) {
            gpr[i] &= LOW_32;
        }
    }

    // ------------------------------------------------------------------ VM exit (SDM 3C chapter 28)

    private void vmExit(Vmcs v) {
        ExitInfo exit = core.exit;
        long[] values = v.values;
        int exitControls = (int) values[Slot.VM_EXIT_CONTROLS];
        // 28.2 VM-exit information (read by no entry check: plain stores)
        values[Slot.VM_EXIT_REASON] = Integer.toUnsignedLong(exit.reason);
        values[Slot.EXIT_QUALIFICATION] = exit.qualification;
        values[Slot.GUEST_LINEAR_ADDRESS] = exit.guestLinearAddress;
        values[Slot.GUEST_PHYSICAL_ADDRESS] = exit.guestPhysicalAddress;
        int interruptionInfo = exit.interruptionInfo;
        if ((exit.reason & BASIC_REASON_MASK) == EXTERNAL_INTERRUPT_EXIT
                && (exitControls & EXIT_ACKNOWLEDGE_INTERRUPT) == 0) {
            interruptionInfo &= ~EntryChecks.INTR_VALID; // 28.2.2: not acknowledged, so not reported
        }
        values[Slot.VM_EXIT_INTR_INFO] = Integer.toUnsignedLong(interruptionInfo);
        values[Slot.VM_EXIT_INTR_ERROR_CODE] = Integer.toUnsignedLong(exit.interruptionErrorCode);
        values[Slot.IDT_VECTORING_INFO_FIELD] = Integer.toUnsignedLong(exit.idtVectoringInfo);
        values[Slot.IDT_VECTORING_ERROR_CODE] = Integer.toUnsignedLong(exit.idtVectoringErrorCode);
        values[Slot.VM_EXIT_INSTRUCTION_LEN] = Integer.toUnsignedLong(exit.instructionLength);
        values[Slot.VMX_INSTRUCTION_INFO] = Integer.toUnsignedLong(exit.instructionInfo);
        values[Slot.IO_RCX] = exit.ioRcx;
        values[Slot.IO_RSI] = exit.ioRsi;
        values[Slot.IO_RDI] = exit.ioRdi;
        values[Slot.IO_RIP] = exit.ioRip;
        updateEntryFields(v);
        saveGuestState(v, exitControls);
        if ((values[Slot.VM_EXIT_MSR_STORE_COUNT] | values[Slot.VM_EXIT_MSR_LOAD_COUNT]) != 0 && !exitMsrListsDone(values)) {
            return;
        }
        succeed();
    }

    /**
     * SDM 3C 28.2: a VM exit clears the valid bit of the VM-entry interruption-information field
     * and stores IA32_EFER.LMA into "IA-32e mode guest" (IA32_VMX_MISC bit 5). Each is written
     * only when it changes. (A method of its own keeps {@link #vmExit} under C2's inlining limit.)
     */
    private void updateEntryFields(Vmcs v) {
        long[] values = v.values;
        long entryInfo = values[Slot.VM_ENTRY_INTR_INFO_FIELD];
        if ((entryInfo & EntryChecks.INTR_VALID) != 0) {
            v.write(Slot.VM_ENTRY_INTR_INFO_FIELD, entryInfo & ~Integer.toUnsignedLong(EntryChecks.INTR_VALID));
        }
        long entryControls = values[Slot.VM_ENTRY_CONTROLS];
        boolean lma = (core.efer & EntryChecks.EFER_LMA) != 0;
        if (((entryControls & ENTRY_IA32E_MODE_GUEST) != 0) != lma) {
            v.write(Slot.VM_ENTRY_CONTROLS, lma ? entryControls | ENTRY_IA32E_MODE_GUEST : entryControls & ~ENTRY_IA32E_MODE_GUEST);
        }
    }

    /** SDM 3C 28.4 and 28.6: the VM-exit MSR-store and MSR-load lists; false after a VMX abort. */
    private boolean exitMsrListsDone(long[] values) {
        if (!MsrLists.storeGuestMsrs(core, hostMemory, values[Slot.VM_EXIT_MSR_STORE_ADDR],
                (int) values[Slot.VM_EXIT_MSR_STORE_COUNT])) {
            vmxAbort(ABORT_SAVING_GUEST_MSRS);
            return false;
        }
        if (!MsrLists.checkHostMsrs(hostMemory, values[Slot.VM_EXIT_MSR_LOAD_ADDR], (int) values[Slot.VM_EXIT_MSR_LOAD_COUNT])) {
            vmxAbort(ABORT_LOADING_HOST_MSRS);
            return false;
        }
        return true;
    }

    /**
     * SDM 3C 28.3: saves the guest state from the core into the guest-state area. A value that
     * differs from the VMCS marks the entry checks that read it dirty ({@link Vmcs#save}); the
     * core keeps it, so nothing needs loading again.
     */
    private void saveGuestState(Vmcs v, int exitControls) {
        X86Core core = this.core;
        // what a guest changes between most exits
        v.save(Slot.GUEST_RIP, core.rip);
        v.save(Slot.GUEST_RSP, core.gpr[RSP]);
        v.save(Slot.GUEST_RFLAGS, core.rflags());
        v.save(Slot.GUEST_PENDING_DBG_EXCEPTIONS, core.pendingDebugExceptions);
        v.save(Slot.GUEST_INTERRUPTIBILITY_INFO, Integer.toUnsignedLong(core.interruptibility));
        v.save(Slot.GUEST_ACTIVITY_STATE, Integer.toUnsignedLong(core.activityState));
        if ((exitControls & EXIT_SAVE_PREEMPTION_TIMER) != 0) {
            v.save(Slot.VMX_PREEMPTION_TIMER_VALUE, core.controls.preemptionTimerValue & LOW_32);
        }
        // the rest rarely changes: one branch-free comparison first, field by field only if it differs
        if (!core.systemStateChanged) {
            return; // nothing of it was written since the last exit's comparison
        }
        core.systemStateChanged = false;
        boolean paePagingWithEpt = paePaging(core) && SecondaryControl.ENABLE_EPT.isSet(core.controls.procBased2);
        if (rarelyChangedStateDiffers(v.values, exitControls, paePagingWithEpt)) {
            saveRarelyChangedState(v, exitControls, paePagingWithEpt);
        }
    }

    /** 28.3.4: with EPT, PDPTEs are saved when the guest was using PAE paging. */
    private static boolean paePaging(X86Core core) {
        return (core.cr0 & VmxCapabilities.CR0_PG) != 0 && (core.cr4 & EntryChecks.CR4_PAE) != 0
                && (core.efer & EntryChecks.EFER_LMA) == 0;
    }

    /**
     * Whether any field {@link #saveRarelyChangedState} writes differs from the core's value, or
     * the core's value has bits the field drops (then the VMCS can never equal it).
     */
    /** Non-zero if segment register i (ES..TR order) differs from its guest-state fields. */
    private static long segmentDiff(long[] values, int i, Segment s) {
        return ((values[Slot.GUEST_ES_SELECTOR + i] ^ s.selector) | (values[Slot.GUEST_ES_BASE + i] ^ s.base))
                | ((values[Slot.GUEST_ES_LIMIT + i] ^ (s.limit & LOW_32))
                | (values[Slot.GUEST_ES_AR_BYTES + i] ^ s.accessRights));
    }

    private boolean rarelyChangedStateDiffers(long[] values, int exitControls, boolean paePagingWithEpt) {
        X86Core core = this.core;
        // independent partial results: a single chain of ORs would serialise ~45 dependent operations
        long registers = ((values[Slot.GUEST_CR0] ^ core.cr0) | (values[Slot.GUEST_CR3] ^ core.cr3))
                | ((values[Slot.GUEST_CR4] ^ core.cr4) | (values[Slot.GUEST_SYSENTER_CS] ^ core.sysenterCs));
        long tables = ((values[Slot.GUEST_SYSENTER_ESP] ^ core.sysenterEsp) | (values[Slot.GUEST_SYSENTER_EIP] ^ core.sysenterEip))
                | (((values[Slot.GUEST_GDTR_BASE] ^ core.gdtrBase) | (values[Slot.GUEST_GDTR_LIMIT] ^ core.gdtrLimit))
                | ((values[Slot.GUEST_IDTR_BASE] ^ core.idtrBase) | (values[Slot.GUEST_IDTR_LIMIT] ^ core.idtrLimit)));
        long segments = ((segmentDiff(values, 0, core.es) | segmentDiff(values, 1, core.cs))
                | (segmentDiff(values, 2, core.ss) | segmentDiff(values, 3, core.ds)))
                | ((segmentDiff(values, 4, core.fs) | segmentDiff(values, 5, core.gs))
                | (segmentDiff(values, 6, core.ldtr) | segmentDiff(values, 7, core.tr)));
        long diff = registers | tables | segments;
        if ((exitControls & EXIT_SAVE_DEBUG_CONTROLS) != 0) {
            diff |= (values[Slot.GUEST_DR7] ^ core.dr7) | (values[Slot.GUEST_IA32_DEBUGCTL] ^ core.debugCtl);
        }
        if ((exitControls & EXIT_SAVE_IA32_PAT) != 0) {
            diff |= values[Slot.GUEST_IA32_PAT] ^ core.pat;
        }
        if ((exitControls & EXIT_SAVE_IA32_EFER) != 0) {
            diff |= values[Slot.GUEST_IA32_EFER] ^ core.efer;
        }
        if (paePagingWithEpt) {
            long[] pdpte = core.pdpte;
            for (int i = 0; i < Slot.PDPTES.length; i++) {
                diff |= values[Slot.GUEST_PDPTE0 + i] ^ pdpte[i];
            }
        }
        return diff != 0;
    }

    /**
     * 28.3 for control registers, MSRs, segment and descriptor-table registers and PDPTEs. When
     * saving drops bits the core holds (28.3.2: access-rights reserved bits; selector, limit and
     * IA32_SYSENTER_CS widths), the core's copy differs from the VMCS, so the next entry loads the
     * guest state again as the SDM's entry would.
     */
    private void saveRarelyChangedState(Vmcs v, int exitControls, boolean paePagingWithEpt) {
        X86Core core = this.core;
        v.save(Slot.GUEST_CR0, core.cr0);
        v.save(Slot.GUEST_CR3, core.cr3);
        v.save(Slot.GUEST_CR4, core.cr4);
        if ((exitControls & EXIT_SAVE_DEBUG_CONTROLS) != 0) {
            v.save(Slot.GUEST_DR7, core.dr7);
            v.save(Slot.GUEST_IA32_DEBUGCTL, core.debugCtl);
        }
        long sysenterCs = core.sysenterCs;
        v.save(Slot.GUEST_SYSENTER_CS, sysenterCs & LOW_32);
        v.save(Slot.GUEST_SYSENTER_ESP, core.sysenterEsp);
        v.save(Slot.GUEST_SYSENTER_EIP, core.sysenterEip);
        if ((exitControls & EXIT_SAVE_IA32_PAT) != 0) {
            v.save(Slot.GUEST_IA32_PAT, core.pat);
        }
        if ((exitControls & EXIT_SAVE_IA32_EFER) != 0) {
            v.save(Slot.GUEST_IA32_EFER, core.efer);
        }
        long dropped = sysenterCs >>> 32;
        Segment[] segments = core.segments;
        for (int i = 0; i < SEGMENT_REGISTERS; i++) {
            Segment s = segments[i];
            int selector = s.selector;
            int accessRights = s.accessRights;
            v.save(Slot.GUEST_ES_SELECTOR + i, selector & SELECTOR_MASK);
            v.save(Slot.GUEST_ES_BASE + i, s.base);
            v.save(Slot.GUEST_ES_LIMIT + i, s.limit & LOW_32);
            v.save(Slot.GUEST_ES_AR_BYTES + i, accessRights & AR_SAVED_BITS); // 28.3.2: reserved bits saved as 0
            dropped |= (selector & ~SELECTOR_MASK) | (accessRights & ~AR_SAVED_BITS);
        }
        int gdtrLimit = core.gdtrLimit;
        int idtrLimit = core.idtrLimit;
        v.save(Slot.GUEST_GDTR_BASE, core.gdtrBase);
        v.save(Slot.GUEST_GDTR_LIMIT, gdtrLimit & DESCRIPTOR_TABLE_LIMIT_MASK);
        v.save(Slot.GUEST_IDTR_BASE, core.idtrBase);
        v.save(Slot.GUEST_IDTR_LIMIT, idtrLimit & DESCRIPTOR_TABLE_LIMIT_MASK);
        dropped |= (gdtrLimit | idtrLimit) & ~DESCRIPTOR_TABLE_LIMIT_MASK;
        if (dropped != 0) {
            v.dirty |= DirtyFields.LOAD_GUEST;
        }
        if (paePagingWithEpt) {
            for (int i = 0; i < Slot.PDPTES.length; i++) {
                v.save(Slot.GUEST_PDPTE0 + i, core.pdpte[i]);
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
        coreStateStale = true; // breakpoints: the core derives its data-access path from DR0-DR3 and DR7
        switch (index) {
            case 0, 1, 2, 3 -> core.dr[index] = value;
            case DR6 -> core.dr6 = value;
            case DR7 -> {
                core.dr7 = value;
                core.systemStateChanged = true;
            }
            default -> throw new IllegalArgumentException("no debug register DR" + index);
        }
    }

    // ------------------------------------------------------------------ the platform around the processor

    /** Thread-safe; recognised by the core at the next instruction boundary ({@code PlatformSignals}). */
    @Override
    public void signalInit() {
        core.signals.postInit();
    }

    /** Thread-safe; exit 4 only in the wait-for-SIPI activity state, else discarded. */
    @Override
    public void signalStartup(int vector) {
        core.signals.postStartup(vector);
    }

    /** Thread-safe; exit 5 (I/O SMI) right after an I/O instruction the core retired, else 6. */
    @Override
    public void signalSmi() {
        core.signals.postSmi();
    }

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
        if (v != null && ((int) v.values[Slot.PIN_BASED_VM_EXEC_CONTROL] & PIN_PREEMPTION_TIMER) != 0
                && ((int) v.values[Slot.VM_EXIT_CONTROLS] & EXIT_SAVE_PREEMPTION_TIMER) != 0) {
            long ticks = cycles >>> VmxCapabilities.PREEMPTION_TIMER_RATE;
            v.write(Slot.VMX_PREEMPTION_TIMER_VALUE, Math.max(0, v.values[Slot.VMX_PREEMPTION_TIMER_VALUE] - ticks));
        }
    }

    @Override
    public void setA20(boolean enabled) {
        core.setA20(enabled);
    }

    @Override
    public void flushGuestTlb() {
        core.flushTlb();
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
