package org.hotvisor.vmx.cpu.vmx;

import static org.hotvisor.api.vmx.VmcsField.*;
import static org.hotvisor.vmx.cpu.vmx.VmxFixture.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.hotvisor.api.vmx.SecondaryControl;
import org.hotvisor.api.vmx.VmInstructionError;
import org.hotvisor.api.vmx.VmcsField;
import org.hotvisor.api.vmx.VmxStatus;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * VMCS shadowing (SDM 3C 25.10, 31.3 VMREAD/VMWRITE, 26.1.3, 27.2.1.1, 27.3.1.5): a flat 32-bit
 * protected-mode guest at 0x7C00 runs VMREAD/VMWRITE, then HLT (HLT exiting).
 */
class VmcsShadowingTest {

    static final long VMREAD_BITMAP_PAGE = 0xA000;
    static final long VMWRITE_BITMAP_PAGE = 0xB000;
    static final int SHADOWING = SecondaryControl.VMCS_SHADOWING.mask();
    static final int EXIT_EXCEPTION = 0, EXIT_HLT = 12, EXIT_VMREAD = 23, EXIT_VMWRITE = 25;
    static final long CF = 1, ZF = 1 << 6;
    static final int EAX = 0, ECX = 1, EBX = 3;
    /** GUEST_RIP's encoding: a natural-width guest-state field the guest may write. */
    static final int FIELD = 0x681E;

    final VmxFixture fixture = new VmxFixture();
    VmxLogicalProcessor p;

    @BeforeEach
    void protectedModeGuestWithShadowing() {
        p = fixture.readyProcessor();
        set(GUEST_CR0, 0x31); // PE, ET, NE (unrestricted guest: paging off)
        for (VmcsField[] s : new VmcsField[][] {
                {GUEST_ES_SELECTOR, GUEST_ES_LIMIT, GUEST_ES_AR_BYTES}, {GUEST_SS_SELECTOR, GUEST_SS_LIMIT, GUEST_SS_AR_BYTES},
                {GUEST_DS_SELECTOR, GUEST_DS_LIMIT, GUEST_DS_AR_BYTES}, {GUEST_FS_SELECTOR, GUEST_FS_LIMIT, GUEST_FS_AR_BYTES},
                {GUEST_GS_SELECTOR, GUEST_GS_LIMIT, GUEST_GS_AR_BYTES}}) {
            set(s[0], 0x10);
            set(s[1], 0xFFFF_FFFFL);
            set(s[2], 0xC093);
        }
        set(GUEST_CS_SELECTOR, 0x08);
        set(GUEST_CS_LIMIT, 0xFFFF_FFFFL);
        set(GUEST_CS_AR_BYTES, 0xC09B);
        set(SECONDARY_VM_EXEC_CONTROL, PROC2 | SHADOWING);
        set(VMREAD_BITMAP, VMREAD_BITMAP_PAGE);
        set(VMWRITE_BITMAP, VMWRITE_BITMAP_PAGE);
        Vmcs.writeInt(fixture.hostMemory, (int) LINK_VMCS, VmxCapabilities.VMCS_REVISION_ID | VmcsLayout.SHADOW_VMCS_INDICATOR);
        set(VMCS_LINK_POINTER, LINK_VMCS);
    }

    void set(VmcsField f, long value) {
        write(p, f, value);
    }

    void code(int... bytes) {
        for (int i = 0; i < bytes.length; i++) {
            fixture.guestRam[(int) GUEST_START + i] = (byte) bytes[i];
        }
        p.invalidateCode(GUEST_START, bytes.length);
    }

    // 0F 78 C3 = VMREAD EBX, EAX (EAX holds the encoding); 0F 79 C3 = VMWRITE EAX, EBX (EBX the value)
    static final int[] VMREAD_EBX_EAX = {0x0F, 0x78, 0xC3};
    static final int[] VMWRITE_EAX_EBX = {0x0F, 0x79, 0xC3};
    static final int HLT = 0xF4;

    static int[] concat(int[]... parts) {
        int n = 0;
        for (int[] part : parts) {
            n += part.length;
        }
        int[] all = new int[n];
        int at = 0;
        for (int[] part : parts) {
            System.arraycopy(part, 0, all, at, part.length);
            at += part.length;
        }
        return all;
    }

    long run() {
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch(), p.lastEntryFailure());
        return p.vmread(VM_EXIT_REASON);
    }

    long rflags() {
        return p.vmread(GUEST_RFLAGS);
    }

    /** The shadow VMCS as the root VMM sees it: VMPTRLD it, read, VMPTRLD the ordinary VMCS again. */
    long shadowField(VmcsField field) {
        assertEquals(VmxStatus.SUCCEED, p.vmptrld(LINK_VMCS));
        long value = p.vmread(field);
        assertEquals(VmxStatus.SUCCEED, p.lastStatus());
        assertEquals(VmxStatus.SUCCEED, p.vmptrld(VMCS_A));
        return value;
    }

    void setBit(long bitmap, int encoding) {
        fixture.hostMemory[(int) (bitmap + (encoding >>> 3))] |= (byte) (1 << (encoding & 7));
    }

    // ---------------------------------------------------------------- exits

    @Test
    void withShadowingOffVmreadAndVmwriteExitWithTheirInstructionInformation() {
        set(SECONDARY_VM_EXEC_CONTROL, PROC2);
        set(VMCS_LINK_POINTER, -1L);
        code(concat(VMREAD_EBX_EAX, VMWRITE_EAX_EBX, new int[] {HLT}));
        p.setGpr(EAX, FIELD);
        assertEquals(EXIT_VMREAD, run());
        assertEquals(3, p.vmread(VM_EXIT_INSTRUCTION_LEN));
        // SDM 3C 28.2.5 Table 28-15: register form (bit 10), reg1 EBX in 6:3, reg2 EAX in 31:28
        assertEquals(1 << 10 | EBX << 3, p.vmread(VMX_INSTRUCTION_INFO));
        assertEquals(GUEST_START, p.vmread(GUEST_RIP));
        write(p, GUEST_RIP, GUEST_START + 3);
        assertEquals(VmxStatus.SUCCEED, p.vmresume());
        assertEquals(EXIT_VMWRITE, p.vmread(VM_EXIT_REASON));
    }

    @Test
    void withShadowingOnAndClearBitmapsVmwriteAndVmreadUseTheShadowVmcsWithoutExiting() {
        // MOV EBX, 0x12345678; VMWRITE EAX, EBX; XOR EBX, EBX; VMREAD EBX, EAX; HLT
        code(concat(new int[] {0xBB, 0x78, 0x56, 0x34, 0x12}, VMWRITE_EAX_EBX, new int[] {0x31, 0xDB}, VMREAD_EBX_EAX,
                new int[] {HLT}));
        p.setGpr(EAX, FIELD);
        assertEquals(EXIT_HLT, run());
        assertEquals(0x1234_5678L, p.gpr(EBX));
        assertEquals(0, rflags() & (CF | ZF), "VMsucceed");
        assertEquals(0x1234_5678L, shadowField(GUEST_RIP));
        assertEquals(GUEST_START + 13, p.vmread(GUEST_RIP), "the ordinary VMCS keeps the guest RIP (at HLT)");
    }

    @Test
    void aVmreadToMemoryStoresThe32BitValue() {
        // VMREAD [0x8000], EAX; HLT (0F 78 05 disp32)
        code(0x0F, 0x78, 0x05, 0x00, 0x80, 0x00, 0x00, HLT);
        p.setGpr(EAX, VmcsField.GUEST_ES_SELECTOR.encoding());
        assertEquals(VmxStatus.SUCCEED, p.vmptrld(LINK_VMCS));
        write(p, GUEST_ES_SELECTOR, 0xBEEF);
        assertEquals(VmxStatus.SUCCEED, p.vmptrld(VMCS_A));
        fixture.guestRam[0x8002] = 0x55; // the upper half of the 32-bit store is zero
        assertEquals(EXIT_HLT, run());
        assertEquals(0xBEEF, Vmcs.readInt(fixture.guestRam, 0x8000));
    }

    @Test
    void theVmreadBitmapBitForTheFieldMakesOnlyVmreadExit() {
        setBit(VMREAD_BITMAP_PAGE, FIELD);
        code(concat(VMWRITE_EAX_EBX, VMREAD_EBX_EAX, new int[] {HLT}));
        p.setGpr(EAX, FIELD);
        assertEquals(EXIT_VMREAD, run());
        assertEquals(GUEST_START + 3, p.vmread(GUEST_RIP), "VMWRITE ran in the guest");
    }

    @Test
    void theVmwriteBitmapBitForTheFieldMakesVmwriteExit() {
        setBit(VMWRITE_BITMAP_PAGE, FIELD);
        code(concat(VMREAD_EBX_EAX, VMWRITE_EAX_EBX, new int[] {HLT}));
        p.setGpr(EAX, FIELD);
        assertEquals(EXIT_VMWRITE, run());
        assertEquals(GUEST_START + 3, p.vmread(GUEST_RIP));
    }

    @Test
    void anEncodingWithBitsAbove14AlwaysExits() {
        code(concat(VMREAD_EBX_EAX, new int[] {HLT}));
        p.setGpr(EAX, 0x1_0000 | FIELD);
        assertEquals(EXIT_VMREAD, run());
    }

    // ---------------------------------------------------------------- failures seen by the guest

    @Test
    void anAllOnesLinkPointerMakesVmreadFailInvalid() {
        set(VMCS_LINK_POINTER, -1L); // legal with shadowing on (SDM 3C 27.3.1.5 checks only other values)
        code(concat(VMREAD_EBX_EAX, new int[] {HLT}));
        p.setGpr(EAX, FIELD);
        p.setGpr(EBX, 0x77);
        assertEquals(EXIT_HLT, run());
        assertEquals(CF, rflags() & (CF | ZF), "VMfailInvalid");
        assertEquals(0x77, p.gpr(EBX), "destination untouched");
    }

    @Test
    void anUnsupportedComponentFailsValidWithError12InTheShadowVmcs() {
        int unsupported = 0x6FFE;
        assertTrue(VmcsLayout.slot(unsupported) < 0);
        code(concat(VMREAD_EBX_EAX, new int[] {HLT}));
        p.setGpr(EAX, unsupported);
        assertEquals(EXIT_HLT, run());
        assertEquals(ZF, rflags() & (CF | ZF), "VMfailValid");
        assertEquals(VmInstructionError.UNSUPPORTED_VMCS_COMPONENT.number(), shadowField(VM_INSTRUCTION_ERROR));
        assertNotEquals(12, p.vmread(VM_INSTRUCTION_ERROR), "the ordinary VMCS is not touched");
    }

    @Test
    void aVmwriteToAnExitInformationFieldFailsValidWithError13() {
        code(concat(VMWRITE_EAX_EBX, new int[] {HLT}));
        p.setGpr(EAX, VmcsField.VM_EXIT_REASON.encoding());
        assertEquals(EXIT_HLT, run());
        assertEquals(ZF, rflags() & (CF | ZF));
        assertEquals(VmInstructionError.VMWRITE_READ_ONLY_COMPONENT.number(), shadowField(VM_INSTRUCTION_ERROR));
    }

    @Test
    void atCpl3AShadowedVmreadRaisesGeneralProtection() {
        set(GUEST_CS_SELECTOR, 0x1B);
        set(GUEST_CS_AR_BYTES, 0xC0FB);
        set(GUEST_SS_SELECTOR, 0x23);
        set(GUEST_SS_AR_BYTES, 0xC0F3);
        set(EXCEPTION_BITMAP, 1 << 13);
        code(concat(VMREAD_EBX_EAX, new int[] {HLT}));
        p.setGpr(EAX, FIELD);
        assertEquals(EXIT_EXCEPTION, run());
        assertEquals(0x8000_0B0DL, p.vmread(VM_EXIT_INTR_INFO), "#GP(0), hardware exception with error code");
        assertEquals(GUEST_START, p.vmread(GUEST_RIP));
    }

    @Test
    void atCpl3AnExitingVmreadStillExits() {
        // SDM 3C 31.3: the VM exit comes before the CPL check
        set(SECONDARY_VM_EXEC_CONTROL, PROC2);
        set(VMCS_LINK_POINTER, -1L);
        set(GUEST_CS_SELECTOR, 0x1B);
        set(GUEST_CS_AR_BYTES, 0xC0FB);
        set(GUEST_SS_SELECTOR, 0x23);
        set(GUEST_SS_AR_BYTES, 0xC0F3);
        code(concat(VMREAD_EBX_EAX, new int[] {HLT}));
        assertEquals(EXIT_VMREAD, run());
    }

    // ---------------------------------------------------------------- VM-entry checks

    @Test
    void aMisalignedVmreadBitmapIsVmFailValid7() {
        set(VMREAD_BITMAP, VMREAD_BITMAP_PAGE + 8);
        assertEquals(VmxStatus.FAIL_VALID, p.vmlaunch());
        assertEquals(VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS.number(), p.vmread(VM_INSTRUCTION_ERROR));
        assertTrue(p.lastEntryFailure().contains("VMREAD/VMWRITE-bitmap"));
    }

    @Test
    void aVmwriteBitmapOutsideHostMemoryIsVmFailValid7() {
        set(VMWRITE_BITMAP, 0x10_0000);
        assertEquals(VmxStatus.FAIL_VALID, p.vmlaunch());
        assertEquals(VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS.number(), p.vmread(VM_INSTRUCTION_ERROR));
    }

    @Test
    void bitmapsAreNotCheckedWithShadowingOff() {
        set(SECONDARY_VM_EXEC_CONTROL, PROC2);
        set(VMCS_LINK_POINTER, -1L);
        set(VMREAD_BITMAP, 3);
        code(HLT);
        assertEquals(EXIT_HLT, run());
    }

    private void assertLinkPointerFailure(String rule) {
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertEquals(ExitReasonBits.ENTRY_FAILURE | 33, p.vmread(VM_EXIT_REASON));
        assertEquals(4, p.vmread(EXIT_QUALIFICATION));
        assertTrue(p.lastEntryFailure().contains(rule), p.lastEntryFailure());
    }

    @Test
    void aLinkPointerToAnOrdinaryVmcsWithShadowingOnIsExit33Qualification4() {
        fixture.writeRevision(LINK_VMCS); // no shadow-VMCS indicator
        assertLinkPointerFailure("shadow indicator");
    }

    @Test
    void aLinkPointerToAShadowVmcsWithShadowingOffIsExit33Qualification4() {
        set(SECONDARY_VM_EXEC_CONTROL, PROC2);
        assertLinkPointerFailure("shadow indicator");
    }

    @Test
    void aMisalignedLinkPointerIsExit33Qualification4() {
        set(VMCS_LINK_POINTER, LINK_VMCS + 0x10);
        assertLinkPointerFailure("4-KiB aligned");
    }

    @Test
    void aLinkPointerBeyondHostMemoryIsExit33Qualification4() {
        set(VMCS_LINK_POINTER, 1L << 40);
        assertLinkPointerFailure("4-KiB aligned");
    }

    @Test
    void aLinkPointerToTheCurrentVmcsIsExit33Qualification4() {
        set(SECONDARY_VM_EXEC_CONTROL, PROC2);
        set(VMCS_LINK_POINTER, VMCS_A);
        assertLinkPointerFailure("current-VMCS pointer");
    }

    @Test
    void theSecondaryCapabilityAllowsVmcsShadowing() {
        long msr = VmxCapabilities.msr(VmxCapabilities.IA32_VMX_PROCBASED_CTLS2);
        assertTrue((msr >>> 32 & SHADOWING) != 0);
    }

    /** Exit-reason bits used here. */
    static final class ExitReasonBits {
        static final long ENTRY_FAILURE = 1L << 31;
    }
}
