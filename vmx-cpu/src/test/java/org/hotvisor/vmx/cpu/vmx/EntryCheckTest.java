package org.hotvisor.vmx.cpu.vmx;

import static org.hotvisor.api.vmx.VmcsField.*;
import static org.hotvisor.vmx.cpu.vmx.VmxFixture.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.hotvisor.api.ExitReason;
import org.hotvisor.api.vmx.EntryControl;
import org.hotvisor.api.vmx.ExitControl;
import org.hotvisor.api.vmx.PinBasedControl;
import org.hotvisor.api.vmx.ProcessorControl;
import org.hotvisor.api.vmx.SecondaryControl;
import org.hotvisor.api.vmx.VmInstructionError;
import org.hotvisor.api.vmx.VmcsField;
import org.hotvisor.api.vmx.VmxStatus;
import org.junit.jupiter.api.Test;

/** VM-entry checks (SDM 3C 27.2, 27.3.1) and VM-entry failures (27.8). */
class EntryCheckTest {

    private final VmxFixture fixture = new VmxFixture();
    private final VmxLogicalProcessor p = fixture.readyProcessor();

    private static final long ENTRY_FAILURE_33 = Integer.toUnsignedLong(ExitReason.ENTRY_FAILURE_BIT | 33);
    private static final long ENTRY_FAILURE_34 = Integer.toUnsignedLong(ExitReason.ENTRY_FAILURE_BIT | 34);

    private void set(VmcsField field, long value) {
        write(p, field, value);
    }

    private void assertError(VmInstructionError error, String rule) {
        assertEquals(VmxStatus.FAIL_VALID, p.vmlaunch());
        assertEquals(error.number(), p.vmread(VM_INSTRUCTION_ERROR));
        assertTrue(p.lastEntryFailure().contains(rule), p.lastEntryFailure());
    }

    private void assertControlError(String rule) {
        assertError(VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS, rule);
    }

    private void assertHostError(String rule) {
        assertError(VmInstructionError.ENTRY_INVALID_HOST_STATE, rule);
    }

    private void assertGuestFailure(String rule, long qualification) {
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertEquals(ENTRY_FAILURE_33, p.vmread(VM_EXIT_REASON));
        assertEquals(qualification, p.vmread(EXIT_QUALIFICATION));
        assertTrue(p.lastEntryFailure().contains(rule), p.lastEntryFailure());
    }

    @Test
    void theRealModeRecipePassesEveryCheck() {
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertNull(p.lastEntryFailure());
        assertTrue((p.vmread(VM_EXIT_REASON) & ExitReason.ENTRY_FAILURE_BIT) == 0);
    }

    // ---- error 7: controls

    @Test
    void cr3TargetCountAboveFourIsError7() {
        set(CR3_TARGET_COUNT, 5);
        assertControlError("27.2.1.1: CR3-target count");
    }

    @Test
    void misalignedIoBitmapIsError7() {
        set(CPU_BASED_VM_EXEC_CONTROL, PROC | ProcessorControl.USE_IO_BITMAPS.mask());
        set(IO_BITMAP_A, IO_BITMAP_A_PAGE + 8);
        set(IO_BITMAP_B, IO_BITMAP_B_PAGE);
        assertControlError("I/O-bitmap");
    }

    @Test
    void msrBitmapOutsideHostMemoryIsError7() {
        set(CPU_BASED_VM_EXEC_CONTROL, PROC | ProcessorControl.USE_MSR_BITMAPS.mask());
        set(MSR_BITMAP, HOST_MEMORY_SIZE);
        assertControlError("MSR-bitmap");
    }

    @Test
    void virtualNmisWithoutNmiExitingIsError7() {
        set(PIN_BASED_VM_EXEC_CONTROL, PIN | PinBasedControl.VIRTUAL_NMIS.mask());
        assertControlError("virtual NMIs requires NMI exiting");
    }

    @Test
    void nmiWindowExitingWithoutVirtualNmisIsError7() {
        set(CPU_BASED_VM_EXEC_CONTROL, PROC | ProcessorControl.NMI_WINDOW_EXITING.mask());
        assertControlError("NMI-window exiting requires virtual NMIs");
    }

    @Test
    void unrestrictedGuestWithoutEptIsError7() {
        set(SECONDARY_VM_EXEC_CONTROL, SecondaryControl.UNRESTRICTED_GUEST.mask());
        assertControlError("unrestricted guest requires enable EPT");
    }

    @Test
    void badEptPointerIsError7() {
        set(EPT_POINTER, EPT_PML4 | 6 | 2 << 3); // 3-level walk
        assertControlError("EPT pointer");
        set(EPT_POINTER, EPT_PML4 | 5 | 3 << 3); // memory type 5
        assertControlError("EPT pointer");
        set(EPT_POINTER, EPTP | 1 << 6); // A/D flags not supported
        assertControlError("EPT pointer");
    }

    @Test
    void enabledVmFunctionIsError7BecauseNoneIsImplemented() {
        set(SECONDARY_VM_EXEC_CONTROL, PROC2 | SecondaryControl.ENABLE_VM_FUNCTIONS.mask());
        set(VM_FUNCTION_CONTROL, 1); // EPTP switching
        assertControlError("VM-function controls");
        set(VM_FUNCTION_CONTROL, 0);
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
    }

    @Test
    void guestCr4BitsTheCoreImplementsAreAccepted() {
        set(GUEST_CR4, GUEST_CR4_VALUE | 1L << 20 | 1L << 9); // SMEP, OSFXSR
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertNull(p.lastEntryFailure());
    }

    @Test
    void guestCr4PcideIsExit33() {
        // CR4_FIXED1 allows PCIDE (IA-32e mode guests use it); outside IA-32e mode it fails 27.3.1.1
        set(GUEST_CR4, GUEST_CR4_VALUE | 1L << 17);
        assertGuestFailure("CR4.PCIDE = 1 outside IA-32e mode", 0);
    }

    @Test
    void guestCr3BeyondThePhysicalAddressWidthIsExit33() {
        set(GUEST_CR3, 1L << VmxCapabilities.PHYSICAL_ADDRESS_WIDTH);
        assertGuestFailure("guest CR3", 0);
    }

    @Test
    void savingTheTimerWithoutTheTimerIsError7() {
        set(VM_EXIT_CONTROLS, EXIT | ExitControl.SAVE_VMX_PREEMPTION_TIMER_VALUE.mask());
        assertControlError("save VMX-preemption timer value");
    }

    @Test
    void misalignedMsrLoadAreaIsError7() {
        set(VM_ENTRY_MSR_LOAD_COUNT, 1);
        set(VM_ENTRY_MSR_LOAD_ADDR, MSR_AREA + 8);
        assertControlError("VM-entry MSR-load");
    }

    @Test
    void reservedInterruptionTypeIsError7() {
        set(VM_ENTRY_INTR_INFO_FIELD, 1L << 31 | 1 << 8 | 0x20);
        assertControlError("reserved VM-entry interruption type");
    }

    @Test
    void nmiWithWrongVectorIsError7() {
        set(VM_ENTRY_INTR_INFO_FIELD, 1L << 31 | 2 << 8 | 3);
        assertControlError("vector inconsistent");
    }

    @Test
    void errorCodeForAnExceptionWithoutOneIsError7() {
        set(GUEST_CR0, GUEST_CR0_VALUE | 1); // protected mode: #GP delivers an error code, #UD does not
        set(VM_ENTRY_INTR_INFO_FIELD, 1L << 31 | 1 << 11 | 3 << 8 | 6);
        assertControlError("deliver-error-code");
    }

    @Test
    void errorCodeInRealModeWithUnrestrictedGuestIsError7() {
        set(VM_ENTRY_INTR_INFO_FIELD, 1L << 31 | 1 << 11 | 3 << 8 | 13); // #GP, but CR0.PE = 0
        assertControlError("deliver-error-code");
    }

    @Test
    void errorCodeWithReservedBitsIsError7() {
        set(GUEST_CR0, GUEST_CR0_VALUE | 1);
        set(VM_ENTRY_INTR_INFO_FIELD, 1L << 31 | 1 << 11 | 3 << 8 | 13);
        set(VM_ENTRY_EXCEPTION_ERROR_CODE, 0x1_0000);
        assertControlError("error code bits 31:16");
    }

    @Test
    void softwareInterruptWithoutInstructionLengthIsError7() {
        set(VM_ENTRY_INTR_INFO_FIELD, 1L << 31 | 4 << 8 | 0x21);
        set(VM_ENTRY_INSTRUCTION_LEN, 0);
        assertControlError("instruction length");
    }

    // ---- error 8: host state

    @Test
    void hostCr0WithoutPagingIsError8() {
        set(HOST_CR0, HOST_CR0_VALUE & ~0x8000_0000L);
        assertHostError("host CR0");
    }

    @Test
    void hostCr4WithoutVmxeIsError8() {
        set(HOST_CR4, 0x20);
        assertHostError("host CR4");
    }

    @Test
    void hostCsSelectorZeroIsError8() {
        set(HOST_CS_SELECTOR, 0);
        assertHostError("host CS or TR selector is 0");
    }

    @Test
    void hostTrSelectorZeroIsError8() {
        set(HOST_TR_SELECTOR, 0);
        assertHostError("host CS or TR selector is 0");
    }

    @Test
    void hostSelectorWithRplIsError8() {
        set(HOST_DS_SELECTOR, 0x3);
        assertHostError("RPL or TI");
        set(HOST_DS_SELECTOR, 0);
        set(HOST_SS_SELECTOR, 0x1C);
        assertHostError("RPL or TI");
    }

    @Test
    void hostAddressSpaceSizeZeroIsError8() {
        set(VM_EXIT_CONTROLS, EXIT & ~ExitControl.HOST_ADDRESS_SPACE_SIZE.mask());
        assertHostError("host address-space size must be 1");
    }

    @Test
    void nonCanonicalHostRipIsError8() {
        set(HOST_RIP, 0x0000_8000_0000_0000L);
        assertHostError("host RIP not canonical");
    }

    @Test
    void nonCanonicalHostBaseIsError8() {
        set(HOST_GS_BASE, 0x1234_0000_0000_0000L);
        assertHostError("base not canonical");
    }

    @Test
    void hostEferDisagreeingWithAddressSpaceSizeIsError8() {
        set(VM_EXIT_CONTROLS, EXIT | ExitControl.LOAD_IA32_EFER.mask());
        set(HOST_IA32_EFER, 0x100); // LME without LMA
        assertHostError("host IA32_EFER");
        set(HOST_IA32_EFER, 0xD01);
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
    }

    @Test
    void hostCr4WithoutPaeIsError8() {
        set(HOST_CR4, 0x2000);
        assertHostError("CR4.PAE");
    }

    // ---- exit 33: guest state

    @Test
    void guestStateFailureIsExit33AndLeavesTheVmcsUnlaunched() {
        set(GUEST_CR0, 0x10); // NE = 0
        set(VM_ENTRY_INTR_INFO_FIELD, 1L << 31 | 0x30);
        set(GUEST_RFLAGS, 0x202);
        assertGuestFailure("guest CR0", 0);
        // 27.8: guest state and the VM-entry interruption information are not modified
        assertEquals(0x10, p.vmread(GUEST_CR0));
        assertEquals(1L << 31 | 0x30, p.vmread(VM_ENTRY_INTR_INFO_FIELD));
        assertEquals(GUEST_START, p.vmread(GUEST_RIP));
        // the launch state stays clear: VMRESUME is refused, a corrected VMLAUNCH is accepted
        assertEquals(VmxStatus.FAIL_VALID, p.vmresume());
        assertEquals(5, p.vmread(VM_INSTRUCTION_ERROR));
        set(GUEST_CR0, GUEST_CR0_VALUE);
        set(VM_ENTRY_INTR_INFO_FIELD, 0);
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertNull(p.lastEntryFailure());
    }

    @Test
    void guestPagingWithoutProtectionIsExit33() {
        set(GUEST_CR0, GUEST_CR0_VALUE | 0x8000_0000L);
        assertGuestFailure("CR0.PG = 1 with CR0.PE = 0", 0);
    }

    @Test
    void protectedModeWithoutUnrestrictedGuestNeedsPeAndPg() {
        set(SECONDARY_VM_EXEC_CONTROL, SecondaryControl.ENABLE_EPT.mask());
        assertGuestFailure("guest CR0", 0);
    }

    @Test
    void guestCr4WithoutVmxeIsExit33() {
        set(GUEST_CR4, 0);
        assertGuestFailure("guest CR4", 0);
    }

    @Test
    void guestRflagsReservedBitsAreExit33() {
        set(GUEST_RFLAGS, 0);
        assertGuestFailure("RFLAGS", 0);
        set(GUEST_RFLAGS, 0x2 | 1 << 15);
        assertGuestFailure("RFLAGS", 0);
    }

    @Test
    void virtual8086InRealModeIsExit33() {
        for (VmcsField rights : new VmcsField[] {GUEST_ES_AR_BYTES, GUEST_CS_AR_BYTES, GUEST_SS_AR_BYTES,
                GUEST_DS_AR_BYTES, GUEST_FS_AR_BYTES, GUEST_GS_AR_BYTES}) {
            set(rights, 0xF3); // valid virtual-8086 segments, so only the mode is wrong
        }
        set(GUEST_RFLAGS, 0x2 | 1 << 17);
        assertGuestFailure("RFLAGS.VM", 0);
    }

    @Test
    void guestCsWithDataTypeWithoutUnrestrictedIsRefusedButAcceptedWithIt() {
        set(GUEST_CS_AR_BYTES, 0x93); // type 3 is allowed with unrestricted guest
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertNull(p.lastEntryFailure());
    }

    @Test
    void guestCsWithBadTypeIsExit33() {
        set(GUEST_CS_AR_BYTES, 0x91); // read-only data
        assertGuestFailure("guest CS type", 0);
    }

    @Test
    void realModeStackSegmentDplMustBeZero() {
        set(GUEST_SS_AR_BYTES, 0xF3);
        set(GUEST_CS_AR_BYTES, 0xFB);
        assertGuestFailure("SS.DPL must be 0", 0);
    }

    @Test
    void granularityInconsistentWithLimitIsExit33() {
        set(GUEST_DS_LIMIT, 0xFFFF_FFFFL); // G = 0 but limit above 1 MiB
        assertGuestFailure("granularity", 0);
    }

    @Test
    void trWithoutBusyTypeIsExit33() {
        set(GUEST_TR_AR_BYTES, 0x89); // available TSS
        assertGuestFailure("guest TR type", 0);
    }

    @Test
    void usableLdtrWithWrongTypeIsExit33() {
        set(GUEST_LDTR_AR_BYTES, 0x83);
        assertGuestFailure("LDTR", 0);
        set(GUEST_LDTR_AR_BYTES, 0x1_0000); // unusable: no checks
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
    }

    @Test
    void gdtrLimitAbove64KiBIsExit33() {
        set(GUEST_GDTR_LIMIT, 0x1_0000);
        assertGuestFailure("GDTR/IDTR limit", 0);
    }

    @Test
    void ripAbove4GiBOutsideLongModeIsExit33() {
        set(GUEST_RIP, 1L << 32);
        assertGuestFailure("guest RIP", 0);
    }

    @Test
    void stiBlockingWithInterruptsDisabledIsExit33() {
        set(GUEST_INTERRUPTIBILITY_INFO, 1);
        assertGuestFailure("blocking by STI with RFLAGS.IF = 0", 0);
    }

    @Test
    void hltWithStiBlockingIsExit33() {
        set(GUEST_RFLAGS, 0x202);
        set(GUEST_INTERRUPTIBILITY_INFO, 1);
        set(GUEST_ACTIVITY_STATE, 1);
        assertGuestFailure("requires the active state", 0);
    }

    @Test
    void unsupportedActivityStateIsExit33() {
        set(GUEST_ACTIVITY_STATE, 4);
        assertGuestFailure("activity state not supported", 0);
    }

    @Test
    void injectionNotAllowedInWaitForSipiIsExit33() {
        set(GUEST_ACTIVITY_STATE, 3);
        set(VM_ENTRY_INTR_INFO_FIELD, 1L << 31 | 2 << 8 | 2);
        assertGuestFailure("not allowed in the guest activity state", 0);
    }

    @Test
    void externalInterruptWithInterruptsDisabledIsExit33() {
        set(VM_ENTRY_INTR_INFO_FIELD, 1L << 31 | 0x20);
        assertGuestFailure("RFLAGS.IF = 0 while injecting", 0);
    }

    @Test
    void nmiUnderStiBlockingIsExit33WithQualification3() {
        set(GUEST_RFLAGS, 0x202);
        set(GUEST_INTERRUPTIBILITY_INFO, 1);
        set(VM_ENTRY_INTR_INFO_FIELD, 1L << 31 | 2 << 8 | 2);
        assertGuestFailure("NMI injected under STI blocking", 3);
    }

    @Test
    void pendingDebugExceptionReservedBitsAreExit33() {
        set(GUEST_PENDING_DBG_EXCEPTIONS, 1 << 4);
        assertGuestFailure("pending debug exceptions reserved", 0);
    }

    @Test
    void vmcsLinkPointerNotAllOnesIsExit33WithQualification4() {
        set(VMCS_LINK_POINTER, 0);
        assertGuestFailure("VMCS link pointer", 4);
        set(VMCS_LINK_POINTER, LINK_VMCS); // aligned, but the region has no revision identifier
        assertGuestFailure("VMCS link pointer", 4);
        fixture.writeRevision(LINK_VMCS);
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertNull(p.lastEntryFailure());
    }

    @Test
    void pdpteWithReservedBitsIsExit33WithQualification2() {
        set(GUEST_CR0, GUEST_CR0_VALUE | 0x8000_0001L);
        set(GUEST_CR4, GUEST_CR4_VALUE | 0x20);
        set(GUEST_CS_AR_BYTES, 0xC09B);
        set(GUEST_CS_LIMIT, 0xFFFF_FFFFL);
        set(GUEST_PDPTE0, 0x1000 | 1);
        set(GUEST_PDPTE1, 0x2000 | 1 | 1 << 1); // bit 1 reserved in a PAE PDPTE
        assertGuestFailure("PDPTE", 2);
        set(GUEST_PDPTE1, 0x2000 | 1);
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertNull(p.lastEntryFailure());
    }

    @Test
    void ia32eModeGuestWithoutPagingIsExit33() {
        // the control is supported now; a guest without CR0.PG/CR4.PAE fails the guest-state checks
        set(VM_ENTRY_CONTROLS, ENTRY | EntryControl.IA32E_MODE_GUEST.mask());
        assertGuestFailure("IA-32e mode guest requires CR0.PG", 0);
    }

    @Test
    void guestEferDisagreeingWithIa32eModeIsExit33() {
        set(VM_ENTRY_CONTROLS, ENTRY | EntryControl.LOAD_IA32_EFER.mask());
        set(GUEST_IA32_EFER, 0x400); // LMA without IA-32e mode guest
        assertGuestFailure("IA32_EFER.LMA/LME", 0);
    }

    @Test
    void invalidGuestPatIsExit33() {
        set(VM_ENTRY_CONTROLS, ENTRY | EntryControl.LOAD_IA32_PAT.mask());
        set(GUEST_IA32_PAT, 0x0007_0406_0007_0402L); // type 2 is reserved
        assertGuestFailure("IA32_PAT", 0);
    }

    // ---- exit 34: MSR loading

    @Test
    void unloadableMsrIsExit34WithItsEntryNumber() {
        Vmcs.writeInt(fixture.hostMemory, (int) MSR_AREA, MsrLists.IA32_SYSENTER_CS);
        Vmcs.writeLong(fixture.hostMemory, (int) MSR_AREA + 8, 0x10);
        Vmcs.writeInt(fixture.hostMemory, (int) MSR_AREA + 16, MsrLists.IA32_FS_BASE); // may not be loaded this way
        set(VM_ENTRY_MSR_LOAD_ADDR, MSR_AREA);
        set(VM_ENTRY_MSR_LOAD_COUNT, 2);
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertEquals(ENTRY_FAILURE_34, p.vmread(VM_EXIT_REASON));
        assertEquals(2, p.vmread(EXIT_QUALIFICATION));
        assertEquals(VmxStatus.FAIL_VALID, p.vmresume(), "the failed entry did not launch the VMCS");
    }

    @Test
    void entryMsrLoadAndExitMsrStoreReachTheCore() {
        Vmcs.writeInt(fixture.hostMemory, (int) MSR_AREA, MsrLists.IA32_SYSENTER_CS);
        Vmcs.writeLong(fixture.hostMemory, (int) MSR_AREA + 8, 0x10);
        Vmcs.writeInt(fixture.hostMemory, (int) MSR_AREA + 16, MsrLists.IA32_SYSENTER_CS);
        set(VM_ENTRY_MSR_LOAD_ADDR, MSR_AREA);
        set(VM_ENTRY_MSR_LOAD_COUNT, 1);
        set(VM_EXIT_MSR_STORE_ADDR, MSR_AREA + 16);
        set(VM_EXIT_MSR_STORE_COUNT, 1);
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertNull(p.lastEntryFailure());
        assertEquals(0x10, Vmcs.readLong(fixture.hostMemory, (int) MSR_AREA + 24));
        assertEquals(0x10, p.vmread(GUEST_SYSENTER_CS));
    }

    @Test
    void badExitMsrStoreEntryIsAVmxAbort() {
        Vmcs.writeInt(fixture.hostMemory, (int) MSR_AREA, 0x0000_0800); // an x2APIC MSR
        set(VM_EXIT_MSR_STORE_ADDR, MSR_AREA);
        set(VM_EXIT_MSR_STORE_COUNT, 1);
        assertEquals(VmxStatus.FAIL_INVALID, p.vmlaunch());
        assertEquals(VmxLogicalProcessor.ABORT_SAVING_GUEST_MSRS,
                Vmcs.readInt(fixture.hostMemory, (int) VMCS_A + VmcsLayout.OFFSET_ABORT_INDICATOR));
        assertEquals(VmxStatus.FAIL_INVALID, p.vmptrld(VMCS_A), "shut down after a VMX abort");
    }
}
