package org.hotvisor.vmx.cpu.vmx;

import static org.hotvisor.api.vmx.VmcsField.*;
import static org.hotvisor.vmx.cpu.vmx.VmxFixture.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.hotvisor.api.vmx.VmInstructionError;
import org.hotvisor.api.vmx.VmxStatus;
import org.junit.jupiter.api.Test;

/** The VMX instructions and their failure modes (SDM 3C 31.3, error numbers 31.4). */
class VmxInstructionTest {

    private final VmxFixture fixture = new VmxFixture();

    private static void assertFailValid(VmxLogicalProcessor p, VmxStatus status, VmInstructionError error) {
        assertEquals(VmxStatus.FAIL_VALID, status);
        assertEquals(error.number(), p.vmread(VM_INSTRUCTION_ERROR));
    }

    // ---- VMXON

    @Test
    void vmxonSucceedsWithAlignedRegionAndRevision() {
        VmxLogicalProcessor p = fixture.processor();
        assertEquals(VmxStatus.SUCCEED, p.vmxon(VMXON_REGION));
        assertEquals(-1L, p.vmptrst());
        assertEquals(VmxStatus.SUCCEED, p.lastStatus());
    }

    @Test
    void vmxonWithUnalignedRegionFailsInvalid() {
        assertEquals(VmxStatus.FAIL_INVALID, fixture.processor().vmxon(VMXON_REGION + 0x10));
    }

    @Test
    void vmxonOutsideHostMemoryFailsInvalid() {
        assertEquals(VmxStatus.FAIL_INVALID, fixture.processor().vmxon(HOST_MEMORY_SIZE));
        assertEquals(VmxStatus.FAIL_INVALID, fixture.processor().vmxon(-4096L));
    }

    @Test
    void vmxonWithWrongRevisionFailsInvalid() {
        Vmcs.writeInt(fixture.hostMemory, (int) VMXON_REGION, VmxCapabilities.VMCS_REVISION_ID + 1);
        assertEquals(VmxStatus.FAIL_INVALID, fixture.processor().vmxon(VMXON_REGION));
    }

    @Test
    void vmxonWithRevisionBit31SetFailsInvalid() {
        Vmcs.writeInt(fixture.hostMemory, (int) VMXON_REGION, VmxCapabilities.VMCS_REVISION_ID | 1 << 31);
        assertEquals(VmxStatus.FAIL_INVALID, fixture.processor().vmxon(VMXON_REGION));
    }

    @Test
    void vmxonInRootWithoutCurrentVmcsFailsInvalid() {
        VmxLogicalProcessor p = fixture.processor();
        p.vmxon(VMXON_REGION);
        assertEquals(VmxStatus.FAIL_INVALID, p.vmxon(VMXON_REGION));
    }

    @Test
    void vmxonInRootWithCurrentVmcsFailsValid15() {
        VmxLogicalProcessor p = fixture.processorWithCurrentVmcs();
        assertFailValid(p, p.vmxon(VMXON_REGION), VmInstructionError.VMXON_IN_VMX_ROOT);
    }

    @Test
    void instructionsOutsideVmxOperationFailInvalid() {
        VmxLogicalProcessor p = fixture.processor();
        assertEquals(VmxStatus.FAIL_INVALID, p.vmxoff());
        assertEquals(VmxStatus.FAIL_INVALID, p.vmclear(VMCS_A));
        assertEquals(VmxStatus.FAIL_INVALID, p.vmptrld(VMCS_A));
        assertEquals(-1L, p.vmptrst());
        assertEquals(VmxStatus.FAIL_INVALID, p.lastStatus());
        p.vmread(GUEST_RIP);
        assertEquals(VmxStatus.FAIL_INVALID, p.lastStatus());
        assertEquals(VmxStatus.FAIL_INVALID, p.vmwrite(GUEST_RIP, 0));
        assertEquals(VmxStatus.FAIL_INVALID, p.vmlaunch());
        assertEquals(VmxStatus.FAIL_INVALID, p.vmresume());
    }

    // ---- VMXOFF

    @Test
    void vmxoffLeavesVmxOperationAndAllowsVmxonAgain() {
        VmxLogicalProcessor p = fixture.processorWithCurrentVmcs();
        assertEquals(VmxStatus.SUCCEED, p.vmxoff());
        assertEquals(VmxStatus.FAIL_INVALID, p.vmptrld(VMCS_A));
        assertEquals(VmxStatus.SUCCEED, p.vmxon(VMXON_REGION));
        assertEquals(-1L, p.vmptrst());
    }

    // ---- VMCLEAR

    @Test
    void vmclearWithInvalidAddressFailsWithError2() {
        VmxLogicalProcessor p = fixture.processorWithCurrentVmcs();
        assertFailValid(p, p.vmclear(VMCS_B + 8), VmInstructionError.VMCLEAR_INVALID_ADDRESS);
        assertFailValid(p, p.vmclear(HOST_MEMORY_SIZE), VmInstructionError.VMCLEAR_INVALID_ADDRESS);
    }

    @Test
    void vmclearWithInvalidAddressAndNoCurrentVmcsFailsInvalid() {
        VmxLogicalProcessor p = fixture.processor();
        p.vmxon(VMXON_REGION);
        assertEquals(VmxStatus.FAIL_INVALID, p.vmclear(VMCS_B + 8));
    }

    @Test
    void vmclearOfVmxonPointerFailsWithError3() {
        VmxLogicalProcessor p = fixture.processorWithCurrentVmcs();
        assertFailValid(p, p.vmclear(VMXON_REGION), VmInstructionError.VMCLEAR_VMXON_POINTER);
    }

    @Test
    void vmclearOfCurrentVmcsLeavesNoCurrentVmcs() {
        VmxLogicalProcessor p = fixture.processorWithCurrentVmcs();
        assertEquals(VMCS_A, p.vmptrst());
        assertEquals(VmxStatus.SUCCEED, p.vmclear(VMCS_A));
        assertEquals(-1L, p.vmptrst());
        assertEquals(VmxStatus.FAIL_INVALID, p.vmwrite(GUEST_RIP, 1));
    }

    @Test
    void vmclearFormatsAFreshRegion() {
        VmxLogicalProcessor p = fixture.processor();
        p.vmxon(VMXON_REGION);
        fixture.hostMemory[(int) VMCS_B + VmcsLayout.OFFSET_FIELDS + 8] = 0x55; // garbage
        assertEquals(VmxStatus.SUCCEED, p.vmclear(VMCS_B));
        assertEquals(VmcsLayout.FORMAT_TAG, Vmcs.readInt(fixture.hostMemory, (int) VMCS_B + VmcsLayout.OFFSET_FORMAT_TAG));
        assertEquals(0, fixture.hostMemory[(int) VMCS_B + VmcsLayout.OFFSET_FIELDS + 8]);
    }

    // ---- VMPTRLD / VMPTRST

    @Test
    void vmptrldWithInvalidAddressFailsWithError9() {
        VmxLogicalProcessor p = fixture.processorWithCurrentVmcs();
        assertFailValid(p, p.vmptrld(VMCS_B | 0x800), VmInstructionError.VMPTRLD_INVALID_ADDRESS);
        assertFailValid(p, p.vmptrld(1L << 40), VmInstructionError.VMPTRLD_INVALID_ADDRESS);
        assertEquals(VMCS_A, p.vmptrst());
    }

    @Test
    void vmptrldOfVmxonPointerFailsWithError10() {
        VmxLogicalProcessor p = fixture.processorWithCurrentVmcs();
        assertFailValid(p, p.vmptrld(VMXON_REGION), VmInstructionError.VMPTRLD_VMXON_POINTER);
    }

    @Test
    void vmptrldWithIncorrectRevisionFailsWithError11() {
        VmxLogicalProcessor p = fixture.processorWithCurrentVmcs();
        Vmcs.writeInt(fixture.hostMemory, (int) VMCS_B, 0x1234);
        assertFailValid(p, p.vmptrld(VMCS_B), VmInstructionError.VMPTRLD_INCORRECT_REVISION);
    }

    @Test
    void vmptrldOfShadowVmcsSucceedsButVmEntryWithItFailsInvalid() {
        // VMCS shadowing is supported, so the shadow-VMCS indicator is accepted (SDM 3C 31.3 VMPTRLD) ...
        VmxLogicalProcessor p = fixture.processorWithCurrentVmcs();
        Vmcs.writeInt(fixture.hostMemory, (int) VMCS_B, VmxCapabilities.VMCS_REVISION_ID | 1 << 31);
        assertEquals(VmxStatus.SUCCEED, p.vmptrld(VMCS_B));
        assertEquals(VMCS_B, p.vmptrst());
        // ... but a shadow VMCS cannot be entered (SDM 3C 27.1, item 4)
        assertEquals(VmxStatus.FAIL_INVALID, p.vmlaunch());
        assertEquals(VmxStatus.FAIL_INVALID, p.vmresume());
    }

    @Test
    void vmptrldWithoutCurrentVmcsFailsInvalid() {
        VmxLogicalProcessor p = fixture.processor();
        p.vmxon(VMXON_REGION);
        assertEquals(VmxStatus.FAIL_INVALID, p.vmptrld(VMXON_REGION));
    }

    @Test
    void vmptrstReportsTheCurrentVmcs() {
        VmxLogicalProcessor p = fixture.processorWithCurrentVmcs();
        assertEquals(VMCS_A, p.vmptrst());
        p.vmclear(VMCS_B);
        p.vmptrld(VMCS_B);
        assertEquals(VMCS_B, p.vmptrst());
    }

    // ---- VMREAD / VMWRITE

    @Test
    void vmreadAndVmwriteWithoutCurrentVmcsFailInvalid() {
        VmxLogicalProcessor p = fixture.processor();
        p.vmxon(VMXON_REGION);
        assertEquals(0, p.vmread(GUEST_RIP));
        assertEquals(VmxStatus.FAIL_INVALID, p.lastStatus());
        assertEquals(VmxStatus.FAIL_INVALID, p.vmwrite(GUEST_RIP, 5));
    }

    @Test
    void unsupportedComponentFailsWithError12() {
        VmxLogicalProcessor p = fixture.processorWithCurrentVmcs();
        int[] unsupported = {
            0x482c,                       // unused index in the 32-bit guest-state group
            GUEST_RIP.encoding() | 1,     // high access to a natural-width field
            GUEST_CS_LIMIT.encoding() | 1, // high access to a 32-bit field
            GUEST_RIP.encoding() | 1 << 12, // reserved bit 12
            GUEST_RIP.encoding() | 1 << 15, // reserved bits 31:15
            0x6880,                       // index 64 of natural-width guest state
        };
        for (int encoding : unsupported) {
            p.vmread(encoding);
            assertEquals(VmxStatus.FAIL_VALID, p.lastStatus(), Integer.toHexString(encoding));
            assertEquals(12, p.vmread(VM_INSTRUCTION_ERROR));
            assertFailValid(p, p.vmwrite(encoding, 1), VmInstructionError.UNSUPPORTED_VMCS_COMPONENT);
        }
    }

    @Test
    void vmwriteToExitInformationFailsWithError13() {
        VmxLogicalProcessor p = fixture.processorWithCurrentVmcs();
        assertFailValid(p, p.vmwrite(VM_EXIT_REASON, 10), VmInstructionError.VMWRITE_READ_ONLY_COMPONENT);
        assertFailValid(p, p.vmwrite(EXIT_QUALIFICATION, 10), VmInstructionError.VMWRITE_READ_ONLY_COMPONENT);
        assertFailValid(p, p.vmwrite(GUEST_PHYSICAL_ADDRESS.highEncoding(), 10), VmInstructionError.VMWRITE_READ_ONLY_COMPONENT);
        assertEquals(0, p.vmread(EXIT_QUALIFICATION));
        assertEquals(VmxStatus.SUCCEED, p.lastStatus());
    }

    @Test
    void everyApiFieldIsSupportedAndKeepsItsWidth() {
        VmxLogicalProcessor p = fixture.processorWithCurrentVmcs();
        long pattern = 0x8765_4321_FEDC_BA98L;
        for (org.hotvisor.api.vmx.VmcsField field : org.hotvisor.api.vmx.VmcsField.values()) {
            long expected = switch (field.width()) {
                case BITS16 -> pattern & 0xFFFF;
                case BITS32 -> pattern & 0xFFFF_FFFFL;
                default -> pattern;
            };
            if (field.readOnly()) {
                assertEquals(VmxStatus.FAIL_VALID, p.vmwrite(field, pattern), field.name());
                p.vmread(field);
                assertEquals(VmxStatus.SUCCEED, p.lastStatus(), field.name());
                continue;
            }
            assertEquals(VmxStatus.SUCCEED, p.vmwrite(field, pattern), field.name());
            assertEquals(expected, p.vmread(field), field.name());
            assertEquals(VmxStatus.SUCCEED, p.lastStatus(), field.name());
        }
    }

    @Test
    void highAccessReadsAndWritesBits63To32() {
        VmxLogicalProcessor p = fixture.processorWithCurrentVmcs();
        p.vmwrite(TSC_OFFSET, 0x1122_3344_5566_7788L);
        assertEquals(0x1122_3344L, p.vmread(TSC_OFFSET.highEncoding()));
        assertEquals(VmxStatus.SUCCEED, p.vmwrite(TSC_OFFSET.highEncoding(), 0xFFFF_FFFF_AABB_CCDDL));
        assertEquals(0xAABB_CCDD_5566_7788L, p.vmread(TSC_OFFSET));
        p.vmread(GUEST_PHYSICAL_ADDRESS.highEncoding());
        assertEquals(VmxStatus.SUCCEED, p.lastStatus());
    }

    @Test
    void narrowFieldsTruncateOnWriteAndZeroExtendOnRead() {
        VmxLogicalProcessor p = fixture.processorWithCurrentVmcs();
        p.vmwrite(GUEST_CS_SELECTOR, 0xFFFF_1234_5678L);
        assertEquals(0x5678, p.vmread(GUEST_CS_SELECTOR));
        p.vmwrite(GUEST_CS_LIMIT, -1L);
        assertEquals(0xFFFF_FFFFL, p.vmread(GUEST_CS_LIMIT));
        p.vmwrite(GUEST_RIP, -2L);
        assertEquals(-2L, p.vmread(GUEST_RIP));
    }

    // ---- VMLAUNCH / VMRESUME launch state

    @Test
    void vmlaunchWithoutCurrentVmcsFailsInvalid() {
        VmxLogicalProcessor p = fixture.processor();
        p.vmxon(VMXON_REGION);
        assertEquals(VmxStatus.FAIL_INVALID, p.vmlaunch());
        assertEquals(VmxStatus.FAIL_INVALID, p.vmresume());
    }

    @Test
    void vmresumeWithNonLaunchedVmcsFailsWithError5() {
        VmxLogicalProcessor p = fixture.readyProcessor();
        assertFailValid(p, p.vmresume(), VmInstructionError.VMRESUME_NONLAUNCHED_VMCS);
    }

    @Test
    void vmlaunchWithLaunchedVmcsFailsWithError4() {
        VmxLogicalProcessor p = fixture.readyProcessor();
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertFailValid(p, p.vmlaunch(), VmInstructionError.VMLAUNCH_NONCLEAR_VMCS);
    }

    @Test
    void vmresumeAfterVmxoffAndVmxonFailsWithError6() {
        VmxLogicalProcessor p = fixture.readyProcessor();
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertEquals(VmxStatus.SUCCEED, p.vmxoff());
        assertEquals(VmxStatus.SUCCEED, p.vmxon(VMXON_REGION));
        assertEquals(VmxStatus.SUCCEED, p.vmptrld(VMCS_A));
        assertFailValid(p, p.vmresume(), VmInstructionError.VMRESUME_AFTER_VMXOFF);
        assertFailValid(p, p.vmlaunch(), VmInstructionError.VMLAUNCH_NONCLEAR_VMCS);
        p.vmclear(VMCS_A);
        p.vmptrld(VMCS_A);
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
    }

    // ---- VMCS memory format

    @Test
    void vmclearedVmcsMovesToANewProcessorWithItsFields() {
        VmxLogicalProcessor p = fixture.readyProcessor();
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertEquals(null, p.lastEntryFailure());
        long exitReason = p.vmread(VM_EXIT_REASON);
        p.vmwrite(TSC_OFFSET, 0x1234_5678_9ABC_DEF0L);
        p.vmwrite(GUEST_CS_SELECTOR, 0xF000);
        p.vmwrite(GUEST_CS_LIMIT, 0xFFFF_FFFFL);
        assertEquals(VmxStatus.SUCCEED, p.vmclear(VMCS_A));
        assertEquals(VmxStatus.SUCCEED, p.vmxoff());

        VmxLogicalProcessor q = fixture.processor();
        assertEquals(VmxStatus.SUCCEED, q.vmxon(VMXON_REGION));
        assertEquals(VmxStatus.SUCCEED, q.vmptrld(VMCS_A));
        assertEquals(0x1234_5678_9ABC_DEF0L, q.vmread(TSC_OFFSET));
        assertEquals(0xF000, q.vmread(GUEST_CS_SELECTOR));
        assertEquals(0xFFFF_FFFFL, q.vmread(GUEST_CS_LIMIT));
        assertEquals(exitReason, q.vmread(VM_EXIT_REASON));
        assertEquals(Integer.toUnsignedLong(PROC), q.vmread(CPU_BASED_VM_EXEC_CONTROL));
        // VMCLEAR made the launch state clear: VMRESUME is refused, VMLAUNCH is right
        assertFailValid(q, q.vmresume(), VmInstructionError.VMRESUME_NONLAUNCHED_VMCS);
        q.vmwrite(GUEST_CS_SELECTOR, 0);
        q.vmwrite(GUEST_CS_LIMIT, 0xFFFF);
        q.vmwrite(GUEST_RIP, GUEST_START);
        assertEquals(VmxStatus.SUCCEED, q.vmlaunch());
        assertEquals(null, q.lastEntryFailure());
    }

    @Test
    void switchingVmcsKeepsLaunchStateOfTheOther() {
        VmxLogicalProcessor p = fixture.readyProcessor();
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        p.vmwrite(GUEST_RIP, GUEST_START);
        assertEquals(VmxStatus.SUCCEED, p.vmclear(VMCS_B));
        assertEquals(VmxStatus.SUCCEED, p.vmptrld(VMCS_B));
        assertEquals(0, p.vmread(GUEST_RIP));
        assertEquals(VmxStatus.SUCCEED, p.vmptrld(VMCS_A));
        assertEquals(GUEST_START, p.vmread(GUEST_RIP));
        assertEquals(VmxStatus.SUCCEED, p.vmresume());
        assertEquals(null, p.lastEntryFailure());
    }

    @Test
    void vmptrldOfTheCurrentVmcsKeepsCachedValues() {
        VmxLogicalProcessor p = fixture.processorWithCurrentVmcs();
        p.vmwrite(GUEST_RSP, 0x1234);
        assertEquals(VmxStatus.SUCCEED, p.vmptrld(VMCS_A));
        assertEquals(0x1234, p.vmread(GUEST_RSP));
    }

    @Test
    void regionLayoutHoldsRevisionLaunchStateAndFieldsAtDocumentedOffsets() {
        VmxLogicalProcessor p = fixture.readyProcessor();
        p.vmlaunch();
        p.vmwrite(GUEST_RIP, 0xABCD);
        p.vmclear(VMCS_A);
        byte[] m = fixture.hostMemory;
        int base = (int) VMCS_A;
        assertEquals(VmxCapabilities.VMCS_REVISION_ID, Vmcs.readInt(m, base));
        assertEquals(0, Vmcs.readInt(m, base + VmcsLayout.OFFSET_ABORT_INDICATOR));
        assertEquals(VmcsLayout.LAUNCH_STATE_CLEAR, Vmcs.readInt(m, base + VmcsLayout.OFFSET_LAUNCH_STATE));
        assertEquals(0xABCD, Vmcs.readLong(m, base + VmcsLayout.regionOffset(VmcsLayout.slot(GUEST_RIP))));
        assertEquals(true, VmcsLayout.FIELDS_END <= VmcsLayout.REGION_SIZE);
    }
}
