package org.hotvisor.vmx.cpu.vmx;

import static org.hotvisor.api.vmx.VmcsField.*;
import static org.hotvisor.vmx.cpu.vmx.VmxFixture.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.vmx.PinBasedControl;
import org.hotvisor.api.vmx.ProcessorControl;
import org.hotvisor.api.vmx.VmInstructionError;
import org.hotvisor.api.vmx.VmcsField;
import org.hotvisor.api.vmx.VmxStatus;
import org.junit.jupiter.api.Test;

/**
 * Dirty tracking of the cached VMCS ({@link DirtyFields}): a VM entry re-runs only the checks whose
 * fields changed since they last passed, and loads only what changed, yet finds every failure the
 * whole SDM 3C 27.2/27.3 sequence finds, with the same error, exit qualification and rule.
 */
class DirtyTrackingTest {

    private static final long ENTRY_FAILURE_33 = Integer.toUnsignedLong(ExitReason.ENTRY_FAILURE_BIT | 33);
    private static final long RFLAGS_FIXED = 0x2;
    private static final long RFLAGS_IF = 1L << 9;
    private static final long RFLAGS_VM = 1L << 17;
    private static final long VALID = 1L << 31;
    private static final int TYPE_EXTERNAL = 0, TYPE_NMI = 2 << 8, TYPE_HARDWARE = 3 << 8, TYPE_SOFTWARE_INT = 4 << 8;
    private static final long DELIVER_ERROR_CODE = 1L << 11;
    private static final int ACTIVITY_HLT = 1;

    private final VmxFixture fixture = new VmxFixture();
    private final VmxLogicalProcessor p = fixture.readyProcessor();
    private final EntryChecks checks = p.checks();

    // ------------------------------------------------------------------ helpers

    /** VMLAUNCH of the real-mode guest: CPUID exits at 0000:7C00 having changed nothing. */
    private void cleanExit() {
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertEquals(ExitReason.CPUID.number(), p.vmread(VM_EXIT_REASON));
        assertEquals(0, p.currentVmcs().dirty & DirtyFields.CHECKS, "an exit that changed nothing leaves nothing to check");
    }

    private void set(VmcsField field, long value) {
        write(p, field, value);
    }

    private long[] groupRuns() {
        return new long[] {checks.controlsGroupRuns, checks.hostGroupRuns, checks.guestGroupRuns};
    }

    private void assertGroupRunsSince(long[] before, int controls, int host, int guest) {
        long[] now = groupRuns();
        assertEquals(controls, now[0] - before[0], "whole controls group runs");
        assertEquals(host, now[1] - before[1], "whole host-state group runs");
        assertEquals(guest, now[2] - before[2], "whole guest-state group runs");
    }

    /** What the whole 27.2/27.3.1 sequence says about the current VMCS, from a fresh checker. */
    private record Verdict(int error, String rule, long qualification) {
        static final int PASS = 0;
        static final int GUEST_FAILURE = 33;
    }

    private Verdict fullChecks() {
        EntryChecks reference = new EntryChecks(fixture.hostMemory, fixture.guestRam);
        Vmcs v = p.currentVmcs();
        if (!reference.controlsValid(v)) {
            return new Verdict(VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS.number(), reference.failure, 0);
        }
        if (!reference.hostStateValid(v)) {
            return new Verdict(VmInstructionError.ENTRY_INVALID_HOST_STATE.number(), reference.failure, 0);
        }
        if (!reference.guestStateValid(v)) {
            return new Verdict(Verdict.GUEST_FAILURE, reference.failure, reference.qualification);
        }
        return new Verdict(Verdict.PASS, null, 0);
    }

    /**
     * VMRESUME (the guest exits at its first instruction boundary: a host kick) and asserts the
     * outcome equals the whole check sequence's verdict; returns it.
     */
    private Verdict resumeAgreesWithFullChecks() {
        Verdict expected = fullChecks();
        p.requestExit();
        VmxStatus status = p.vmresume();
        switch (expected.error()) {
            case Verdict.PASS -> {
                assertEquals(VmxStatus.SUCCEED, status);
                assertNull(p.lastEntryFailure());
                assertEquals(0, p.vmread(VM_EXIT_REASON) & ExitReason.ENTRY_FAILURE_BIT, "no VM-entry failure");
            }
            case Verdict.GUEST_FAILURE -> {
                assertEquals(VmxStatus.SUCCEED, status);
                assertEquals(ENTRY_FAILURE_33, p.vmread(VM_EXIT_REASON));
                assertEquals(expected.qualification(), p.vmread(EXIT_QUALIFICATION));
                assertEquals(expected.rule(), p.lastEntryFailure());
            }
            default -> {
                assertEquals(VmxStatus.FAIL_VALID, status);
                assertEquals(expected.error(), p.vmread(VM_INSTRUCTION_ERROR));
                assertEquals(expected.rule(), p.lastEntryFailure());
            }
        }
        return expected;
    }

    private void assertControlError(String rule) {
        Verdict v = resumeAgreesWithFullChecks();
        assertEquals(VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS.number(), v.error());
        assertTrue(v.rule().contains(rule), v.rule());
    }

    private void assertHostError(String rule) {
        Verdict v = resumeAgreesWithFullChecks();
        assertEquals(VmInstructionError.ENTRY_INVALID_HOST_STATE.number(), v.error());
        assertTrue(v.rule().contains(rule), v.rule());
    }

    private void assertGuestFailure(String rule) {
        Verdict v = resumeAgreesWithFullChecks();
        assertEquals(Verdict.GUEST_FAILURE, v.error());
        assertTrue(v.rule().contains(rule), v.rule());
    }

    private void guestCode(int address, int... bytes) {
        for (int i = 0; i < bytes.length; i++) {
            fixture.guestRam[address + i] = (byte) bytes[i];
        }
    }

    // ------------------------------------------------------------------ the kernel's round trip

    @Test
    void kernelStyleRoundTripsRunNoWholeGroupAfterTheFirstEntry() {
        cleanExit();
        long[] before = groupRuns();
        long stateLoads = p.stateLoadedCalls;
        for (int i = 0; i < 10; i++) {
            // what the kernel writes around every exit: RIP past CPUID, interruptibility, timer, window bit
            set(GUEST_RIP, GUEST_START + (i % 2) * 2);
            set(GUEST_INTERRUPTIBILITY_INFO, 0);
            set(VMX_PREEMPTION_TIMER_VALUE, 0xFFFF_FFFFL);
            set(CPU_BASED_VM_EXEC_CONTROL, i % 2 == 0 ? PROC : PROC | ProcessorControl.INTERRUPT_WINDOW_EXITING.mask());
            set(TSC_OFFSET, i);
            set(CR0_READ_SHADOW, 0x10 | i % 2);
            assertEquals(VmxStatus.SUCCEED, p.vmresume());
            assertNull(p.lastEntryFailure());
            long reason = p.vmread(VM_EXIT_REASON);
            assertTrue(reason == ExitReason.CPUID.number() || reason == ExitReason.INTERRUPT_WINDOW.number(), "exit " + reason);
        }
        assertGroupRunsSince(before, 0, 0, 0);
        assertEquals(stateLoads, p.stateLoadedCalls, "nothing the core derives state from changed");
        assertEquals(9, p.core().controls.tscOffset);
        assertEquals(0x11, p.core().controls.cr0ReadShadow);
    }

    // ------------------------------------------------------------------ bad values in fast fields are still caught

    @Test
    void ripBeyond4GiBIsCaughtAfterACleanExit() {
        cleanExit();
        long[] before = groupRuns();
        set(GUEST_RIP, 1L << 32 | GUEST_START);
        assertGuestFailure("27.3.1.4: guest RIP");
        assertGroupRunsSince(before, 0, 0, 0);
    }

    @Test
    void rflagsReservedBitIsCaughtAfterACleanExit() {
        cleanExit();
        set(GUEST_RFLAGS, RFLAGS_FIXED | 1L << 15);
        assertGuestFailure("27.3.1.4: guest RFLAGS reserved bits");
    }

    @Test
    void rflagsWithoutBit1IsCaughtAfterACleanExit() {
        cleanExit();
        set(GUEST_RFLAGS, 0);
        assertGuestFailure("27.3.1.4: guest RFLAGS reserved bits");
    }

    @Test
    void rflagsVmRunsTheWholeGuestGroupBecauseTheSegmentRulesReadIt() {
        cleanExit();
        long[] before = groupRuns();
        set(GUEST_RFLAGS, RFLAGS_FIXED | RFLAGS_VM);
        // the virtual-8086 segment rules (27.3.1.2) come before the RFLAGS rules (27.3.1.4)
        assertGuestFailure("27.3.1.2: virtual-8086 segment access rights");
        assertGroupRunsSince(before, 0, 0, 1);
    }

    @Test
    void stiBlockingWithoutIfIsCaughtAfterACleanExit() {
        cleanExit();
        set(GUEST_INTERRUPTIBILITY_INFO, 1);
        assertGuestFailure("27.3.1.5: blocking by STI with RFLAGS.IF = 0");
    }

    @Test
    void interruptibilityReservedBitIsCaughtAfterACleanExit() {
        cleanExit();
        set(GUEST_INTERRUPTIBILITY_INFO, 1 << 4);
        assertGuestFailure("27.3.1.5: interruptibility-state reserved bits");
    }

    @Test
    void unsupportedActivityStateIsCaughtAfterACleanExit() {
        cleanExit();
        set(GUEST_ACTIVITY_STATE, 4);
        assertGuestFailure("27.3.1.5: activity state not supported");
    }

    @Test
    void movSsBlockingWhileHaltedIsCaughtAfterACleanExit() {
        cleanExit();
        set(GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
        set(GUEST_INTERRUPTIBILITY_INFO, 2);
        assertGuestFailure("27.3.1.5: STI or MOV-SS blocking requires the active state");
    }

    @Test
    void pendingDebugExceptionReservedBitIsCaughtAfterACleanExit() {
        cleanExit();
        set(GUEST_PENDING_DBG_EXCEPTIONS, 1 << 4);
        assertGuestFailure("27.3.1.5: pending debug exceptions reserved bits");
    }

    @Test
    void reservedInterruptionTypeIsCaughtAfterACleanExit() {
        cleanExit();
        long[] before = groupRuns();
        set(VM_ENTRY_INTR_INFO_FIELD, VALID | 1 << 8);
        assertControlError("27.2.1.3: reserved VM-entry interruption type");
        assertGroupRunsSince(before, 0, 0, 0);
    }

    @Test
    void nmiWithTheWrongVectorIsCaughtAfterACleanExit() {
        cleanExit();
        set(VM_ENTRY_INTR_INFO_FIELD, VALID | TYPE_NMI | 3);
        assertControlError("27.2.1.3: VM-entry interruption vector inconsistent");
    }

    @Test
    void externalInterruptWithIfClearIsCaughtAfterACleanExit() {
        cleanExit();
        set(VM_ENTRY_INTR_INFO_FIELD, VALID | TYPE_EXTERNAL | 0x30);
        assertGuestFailure("27.3.1.4: RFLAGS.IF = 0 while injecting an external interrupt");
    }

    @Test
    void softwareInterruptWithoutLengthIsCaughtAfterACleanExit() {
        cleanExit();
        set(VM_ENTRY_INTR_INFO_FIELD, VALID | TYPE_SOFTWARE_INT | 0x21);
        set(VM_ENTRY_INSTRUCTION_LEN, 0);
        assertControlError("27.2.1.3: VM-entry instruction length");
    }

    @Test
    void errorCodeReservedBitsAreCaughtAfterACleanExit() {
        cleanExit();
        // protected mode, so #GP delivers an error code (27.2.1.3 reads the guest CR0.PE)
        set(GUEST_CR0, GUEST_CR0_VALUE | VmxCapabilities.CR0_PE);
        assertEquals(Verdict.PASS, resumeAgreesWithFullChecks().error());
        set(VM_ENTRY_INTR_INFO_FIELD, VALID | TYPE_HARDWARE | DELIVER_ERROR_CODE | 13);
        set(VM_ENTRY_EXCEPTION_ERROR_CODE, 0x1_0000);
        assertControlError("27.2.1.3: VM-entry exception error code bits 31:16");
    }

    @Test
    void guestCr0DecidesTheDeliverErrorCodeRule() {
        cleanExit();
        set(VM_ENTRY_INTR_INFO_FIELD, VALID | TYPE_HARDWARE | 13); // real mode: no error code, valid
        assertEquals(Verdict.PASS, resumeAgreesWithFullChecks().error());
        set(VM_ENTRY_INTR_INFO_FIELD, VALID | TYPE_HARDWARE | 13);
        set(GUEST_RIP, GUEST_START);
        set(GUEST_CR0, GUEST_CR0_VALUE | VmxCapabilities.CR0_PE); // now #GP must deliver an error code
        assertControlError("27.2.1.3: deliver-error-code bit inconsistent");
    }

    @Test
    void clearedMustBeOneProcBitIsCaughtByTheReservedBitRuleAlone() {
        cleanExit();
        long[] before = groupRuns();
        set(CPU_BASED_VM_EXEC_CONTROL, PROC & ~Integer.lowestOneBit(VmxCapabilities.PROC_TRUE_MUST_BE_1));
        assertControlError("27.2.1.1: reserved primary processor-based");
        assertGroupRunsSince(before, 0, 0, 0);
    }

    @Test
    void unsupportedProcBitIsCaughtAfterACleanExit() {
        cleanExit();
        int unsupported = Integer.lowestOneBit(~VmxCapabilities.PROC_MAY_BE_1);
        assertNotEquals(0, unsupported);
        set(CPU_BASED_VM_EXEC_CONTROL, PROC | unsupported);
        assertControlError("27.2.1.1: reserved primary processor-based");
    }

    @Test
    void deactivatingSecondaryControlsRunsTheWholeControlsAndGuestGroups() {
        cleanExit();
        long[] before = groupRuns();
        set(CPU_BASED_VM_EXEC_CONTROL, PROC & ~ProcessorControl.ACTIVATE_SECONDARY_CONTROLS.mask());
        // without "unrestricted guest" the real-mode CR0 (PE = 0) violates CR0_FIXED0
        assertGuestFailure("27.3.1.1: guest CR0 violates");
        assertGroupRunsSince(before, 1, 0, 1);
    }

    @Test
    void enablingIoBitmapsRunsTheBitmapAddressRule() {
        cleanExit();
        set(IO_BITMAP_A, IO_BITMAP_A_PAGE | 8); // unused, so not checked yet
        assertEquals(Verdict.PASS, resumeAgreesWithFullChecks().error());
        set(CPU_BASED_VM_EXEC_CONTROL, PROC | ProcessorControl.USE_IO_BITMAPS.mask());
        assertControlError("27.2.1.1: I/O-bitmap address");
    }

    @Test
    void nmiWindowExitingWithoutVirtualNmisIsCaughtAfterACleanExit() {
        cleanExit();
        set(CPU_BASED_VM_EXEC_CONTROL, PROC | ProcessorControl.NMI_WINDOW_EXITING.mask());
        assertControlError("27.2.1.1: NMI-window exiting requires virtual NMIs");
    }

    // ------------------------------------------------------------------ other fields run their whole group

    @Test
    void aDirtyGuestSegmentFieldRunsTheWholeGuestGroup() {
        cleanExit();
        long[] before = groupRuns();
        set(GUEST_CS_AR_BYTES, 0x91); // type 1 is no code segment
        assertGuestFailure("27.3.1.2: guest CS type");
        assertGroupRunsSince(before, 0, 0, 1);
    }

    @Test
    void aDirtyGuestCr3RunsTheWholeGuestGroup() {
        cleanExit();
        set(GUEST_CR3, 1L << VmxCapabilities.PHYSICAL_ADDRESS_WIDTH);
        assertGuestFailure("27.3.1.1: guest CR3");
    }

    @Test
    void aDirtyHostFieldRunsTheWholeHostGroup() {
        cleanExit();
        long[] before = groupRuns();
        set(HOST_CR4, VmxCapabilities.CR4_VMXE); // no PAE with a 64-bit host
        assertHostError("27.2.4: host address-space size 1 requires host CR4.PAE");
        assertGroupRunsSince(before, 0, 1, 0);
    }

    @Test
    void aDirtyExecutionControlRunsTheWholeControlsGroup() {
        cleanExit();
        long[] before = groupRuns();
        set(EPT_POINTER, EPT_PML4 | 6); // walk length 1
        assertControlError("27.2.1.1: invalid EPT pointer");
        assertGroupRunsSince(before, 1, 0, 0);
    }

    @Test
    void aDirtyPinBasedControlRunsTheControlsAndGuestGroups() {
        cleanExit();
        long[] before = groupRuns();
        set(PIN_BASED_VM_EXEC_CONTROL, PIN | PinBasedControl.ACTIVATE_VMX_PREEMPTION_TIMER.mask());
        assertEquals(Verdict.PASS, resumeAgreesWithFullChecks().error());
        assertGroupRunsSince(before, 1, 0, 1);
    }

    @Test
    void aValidDirtyFieldRunsOnlyItsGroupOnce() {
        cleanExit();
        long[] before = groupRuns();
        set(GUEST_GDTR_BASE, 0x1000);
        assertEquals(Verdict.PASS, resumeAgreesWithFullChecks().error());
        assertEquals(Verdict.PASS, resumeAgreesWithFullChecks().error());
        assertGroupRunsSince(before, 0, 0, 1);
        assertEquals(0x1000, p.core().gdtrBase);
    }

    @Test
    void aFailedEntryKeepsEverythingDirtyUntilTheChecksPass() {
        cleanExit();
        set(GUEST_RIP, 1L << 32);
        assertGuestFailure("27.3.1.4: guest RIP");
        set(GUEST_CS_AR_BYTES, 0x91);
        assertGuestFailure("27.3.1.2: guest CS type"); // the whole group: the earlier rule now fails first
        set(GUEST_CS_AR_BYTES, 0x9B);
        assertGuestFailure("27.3.1.4: guest RIP");
        set(GUEST_RIP, GUEST_START);
        assertEquals(Verdict.PASS, resumeAgreesWithFullChecks().error());
    }

    @Test
    void aVmcsLinkPointerRegionIsCheckedAtEveryEntry() {
        fixture.writeRevision(LINK_VMCS);
        set(VMCS_LINK_POINTER, LINK_VMCS);
        cleanExit();
        assertEquals(Verdict.PASS, resumeAgreesWithFullChecks().error());
        // no VMWRITE: the region in memory changed
        Vmcs.writeInt(fixture.hostMemory, (int) LINK_VMCS, VmxCapabilities.VMCS_REVISION_ID + 1);
        Verdict v = resumeAgreesWithFullChecks();
        assertEquals(Verdict.GUEST_FAILURE, v.error());
        assertEquals(EntryChecks.QUALIFICATION_VMCS_LINK_POINTER, v.qualification());
    }

    @Test
    void vmptrldAndVmlaunchMakeEverythingDirty() {
        cleanExit();
        assertEquals(VmxStatus.SUCCEED, p.vmclear(VMCS_A));
        assertEquals(VmxStatus.SUCCEED, p.vmptrld(VMCS_A));
        assertEquals(DirtyFields.ALL, p.currentVmcs().dirty);
        long[] before = groupRuns();
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertEquals(ExitReason.CPUID.number(), p.vmread(VM_EXIT_REASON));
        assertGroupRunsSince(before, 1, 1, 1);
    }

    // ------------------------------------------------------------------ state the guest changed

    @Test
    void aSegmentTheGuestLoadedIsSavedAndRechecked() {
        // CPUID; MOV AX, 0x1234; MOV DS, AX; CPUID
        guestCode((int) GUEST_START, 0x0F, 0xA2, 0xB8, 0x34, 0x12, 0x8E, 0xD8, 0x0F, 0xA2);
        cleanExit();
        set(GUEST_RIP, GUEST_START + 2);
        assertEquals(VmxStatus.SUCCEED, p.vmresume());
        assertEquals(ExitReason.CPUID.number(), p.vmread(VM_EXIT_REASON));
        assertEquals(0x1234, p.vmread(GUEST_DS_SELECTOR));
        assertEquals(0x12340, p.vmread(GUEST_DS_BASE));
        assertTrue((p.currentVmcs().dirty & DirtyFields.CHECK_GUEST) != 0, "28.3: a changed field is checked again");
        long[] before = groupRuns();
        assertEquals(Verdict.PASS, resumeAgreesWithFullChecks().error());
        assertGroupRunsSince(before, 0, 0, 1);
    }

    @Test
    void descriptorTablesTheGuestLoadedAreSavedAtTheNextExit() {
        // CPUID; LGDT [0x7E00]; LIDT [0x7E10]; CPUID; CPUID. The VMX layer compares the rarely
        // changed guest state only when the core says it wrote some (X86Core.systemStateChanged).
        guestCode((int) GUEST_START, 0x0F, 0xA2, 0x0F, 0x01, 0x16, 0x00, 0x7E, 0x0F, 0x01, 0x1E, 0x10, 0x7E,
                0x0F, 0xA2, 0x0F, 0xA2);
        guestCode(0x7E00, 0x27, 0x00, 0x45, 0x23, 0x01, 0x00);
        guestCode(0x7E10, 0x7F, 0x00, 0x00, 0x20, 0x00, 0x00);
        cleanExit();
        set(GUEST_RIP, GUEST_START + 2);
        assertEquals(VmxStatus.SUCCEED, p.vmresume());
        assertEquals(ExitReason.CPUID.number(), p.vmread(VM_EXIT_REASON));
        assertEquals(0x12345, p.vmread(GUEST_GDTR_BASE));
        assertEquals(0x27, p.vmread(GUEST_GDTR_LIMIT));
        assertEquals(0x2000, p.vmread(GUEST_IDTR_BASE));
        assertEquals(0x7F, p.vmread(GUEST_IDTR_LIMIT));
        // the VMM moves the GDT; the guest changes nothing before its next exit: the VMM's value stays
        set(GUEST_GDTR_BASE, 0x3000);
        set(GUEST_RIP, GUEST_START + 14);
        assertEquals(VmxStatus.SUCCEED, p.vmresume());
        assertEquals(ExitReason.CPUID.number(), p.vmread(VM_EXIT_REASON));
        assertEquals(0x3000, p.vmread(GUEST_GDTR_BASE));
        assertEquals(0x2000, p.vmread(GUEST_IDTR_BASE));
    }

    @Test
    void aSegmentBaseWrittenByTheVmmReachesTheCoresSegmentCache() {
        // CPUID; MOV AL, [0x0010]; CPUID
        guestCode((int) GUEST_START, 0x0F, 0xA2, 0xA0, 0x10, 0x00, 0x0F, 0xA2);
        fixture.guestRam[0x10] = 0x11;
        fixture.guestRam[0x2010] = 0x22;
        cleanExit();
        set(GUEST_DS_SELECTOR, 0x200);
        set(GUEST_DS_BASE, 0x2000);
        set(GUEST_RIP, GUEST_START + 2);
        assertEquals(VmxStatus.SUCCEED, p.vmresume());
        assertEquals(ExitReason.CPUID.number(), p.vmread(VM_EXIT_REASON));
        assertEquals(0x22, p.gpr(0) & 0xFF);
    }

    @Test
    void entryLoadsRspAndZeroExtendsGprsWithoutAFullLoad() {
        cleanExit();
        p.setGpr(0, 0xFFFF_FFFF_0000_1234L);
        p.setGpr(4, 0x5555);
        assertEquals(VmxStatus.SUCCEED, p.vmresume());
        assertEquals(ExitReason.CPUID.number(), p.vmread(VM_EXIT_REASON));
        assertEquals(0x1234, p.gpr(0), "the 32-bit core keeps GPRs zero-extended");
        assertEquals(0x7000, p.gpr(4), "SDM 3C 27.3.2: RSP comes from the guest-state area");
    }

    @Test
    void statusFlagsNeedNoStateReloadButOtherRflagsBitsDo() {
        cleanExit();
        long stateLoads = p.stateLoadedCalls;
        set(GUEST_RFLAGS, RFLAGS_FIXED | 1 | 1 << 6 | 1 << 11); // CF, ZF, OF: lazy flags only
        assertEquals(VmxStatus.SUCCEED, p.vmresume());
        assertEquals(RFLAGS_FIXED | 1 | 1 << 6 | 1 << 11, p.vmread(GUEST_RFLAGS));
        assertEquals(stateLoads, p.stateLoadedCalls);
        set(GUEST_RFLAGS, RFLAGS_FIXED | RFLAGS_IF);
        assertEquals(VmxStatus.SUCCEED, p.vmresume());
        assertEquals(stateLoads + 1, p.stateLoadedCalls);
    }

    @Test
    void controlRegistersAndSegmentsMakeTheCoreReloadItsState() {
        cleanExit();
        long stateLoads = p.stateLoadedCalls;
        set(GUEST_ES_BASE, 0x1000);
        assertEquals(VmxStatus.SUCCEED, p.vmresume());
        assertEquals(stateLoads + 1, p.stateLoadedCalls);
        set(GUEST_CR0, GUEST_CR0_VALUE | 1L << 16); // WP
        assertEquals(VmxStatus.SUCCEED, p.vmresume());
        assertEquals(stateLoads + 2, p.stateLoadedCalls);
        assertEquals(VmxStatus.SUCCEED, p.vmresume());
        assertEquals(stateLoads + 2, p.stateLoadedCalls);
    }

    @Test
    void aDataBreakpointSetBetweenExitsTakesEffect() {
        // CPUID; MOV [0x0010], AL; CPUID
        guestCode((int) GUEST_START, 0x0F, 0xA2, 0xA2, 0x10, 0x00, 0x0F, 0xA2);
        cleanExit();
        long stateLoads = p.stateLoadedCalls;
        p.setDr(0, 0x10);
        p.setDr(7, 1 | 1 << 16); // L0, break on data writes, 1 byte (SDM 3A 18.2.4)
        set(EXCEPTION_BITMAP, 1 << 1); // #DB exits
        set(GUEST_RIP, GUEST_START + 2);
        assertEquals(VmxStatus.SUCCEED, p.vmresume());
        assertEquals(stateLoads + 1, p.stateLoadedCalls, "DR7 feeds the core's data-access path");
        assertEquals(ExitReason.EXCEPTION_OR_NMI.number(), p.vmread(VM_EXIT_REASON));
        assertEquals(1, p.vmread(VM_EXIT_INTR_INFO) & 0xFF, "#DB");
    }

    @Test
    void rflagsWrittenByTheVmmReachTheCore() {
        cleanExit();
        set(GUEST_RFLAGS, RFLAGS_FIXED | RFLAGS_IF | 1); // IF and CF
        assertEquals(VmxStatus.SUCCEED, p.vmresume());
        assertEquals(RFLAGS_FIXED | RFLAGS_IF | 1, p.vmread(GUEST_RFLAGS));
    }

    // ------------------------------------------------------------------ differential: dirty tracking vs the whole sequence

    @Test
    void randomFieldChangesGetTheVerdictOfTheWholeCheckSequence() {
        Random random = new Random(0x5EED);
        List<VmcsField> fields = new ArrayList<>();
        for (VmcsField field : VmcsField.values()) {
            int slot = VmcsLayout.slot(field);
            boolean msrList = field == VM_EXIT_MSR_STORE_COUNT || field == VM_EXIT_MSR_LOAD_COUNT
                    || field == VM_ENTRY_MSR_LOAD_COUNT; // a bad list aborts the processor (28.7)
            if (slot >= 0 && VmcsLayout.typeOfSlot(slot) != VmcsLayout.TYPE_EXIT_INFORMATION && !msrList) {
                fields.add(field);
            }
        }
        // the fields a VMM rewrites around every exit, drawn more often
        VmcsField[] fast = {GUEST_RIP, GUEST_RSP, GUEST_RFLAGS, GUEST_INTERRUPTIBILITY_INFO, GUEST_ACTIVITY_STATE,
                GUEST_PENDING_DBG_EXCEPTIONS, VMX_PREEMPTION_TIMER_VALUE, VM_ENTRY_INTR_INFO_FIELD,
                VM_ENTRY_EXCEPTION_ERROR_CODE, VM_ENTRY_INSTRUCTION_LEN, CPU_BASED_VM_EXEC_CONTROL, TSC_OFFSET,
                CR0_READ_SHADOW, CR4_READ_SHADOW};
        cleanExit();
        int[] outcomes = new int[34];
        for (int round = 0; round < 1500; round++) {
            int changes = 1 + random.nextInt(3);
            VmcsField[] changed = new VmcsField[changes];
            long[] old = new long[changes];
            for (int i = 0; i < changes; i++) {
                VmcsField field = random.nextInt(2) == 0 ? fast[random.nextInt(fast.length)]
                        : fields.get(random.nextInt(fields.size()));
                changed[i] = field;
                old[i] = p.vmread(field);
                assertEquals(VmxStatus.SUCCEED, p.vmwrite(field, mutate(random, old[i])), field.name());
            }
            outcomes[resumeAgreesWithFullChecks().error()]++;
            // back to the recipe: undo the changes (newest first), then the real-mode state
            for (int i = changes - 1; i >= 0; i--) {
                p.vmwrite(changed[i], old[i]);
            }
            writeRealModeVmcs(p);
        }
        assertTrue(outcomes[Verdict.PASS] > 100 && outcomes[Verdict.GUEST_FAILURE] > 100
                && outcomes[VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS.number()] > 100
                && outcomes[VmInstructionError.ENTRY_INVALID_HOST_STATE.number()] > 10,
                "every kind of verdict occurs: " + java.util.Arrays.toString(outcomes));
    }

    private static long mutate(Random random, long value) {
        return switch (random.nextInt(6)) {
            case 0 -> value ^ 1L << random.nextInt(64);
            case 1 -> value ^ 1L << random.nextInt(32);
            case 2 -> value | 1L << random.nextInt(20);
            case 3 -> value & ~(1L << random.nextInt(20));
            case 4 -> random.nextBoolean() ? 0 : -1L;
            default -> random.nextLong();
        };
    }
}
