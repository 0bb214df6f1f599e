package org.hotvisor.vmx.cpu.vmx;

import static org.hotvisor.api.vmx.VmcsField.*;
import static org.hotvisor.vmx.cpu.vmx.VmxCapabilities.*;
import static org.hotvisor.vmx.cpu.vmx.VmxFixture.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ServiceLoader;
import org.hotvisor.api.vmx.ExitControl;
import org.hotvisor.api.vmx.PinBasedControl;
import org.hotvisor.api.vmx.ProcessorControl;
import org.hotvisor.api.vmx.VmInstructionError;
import org.hotvisor.api.vmx.VmcsField;
import org.hotvisor.api.vmx.VmxProcessor;
import org.hotvisor.api.vmx.VmxStatus;
import org.junit.jupiter.api.Test;

/** The capability MSRs (SDM 3D Appendix A) and their agreement with the VM-entry checks. */
class CapabilityMsrTest {

    private final VmxProcessor service = new VmxProcessorService();
    private final VmxFixture fixture = new VmxFixture();

    private static int low(long msr) {
        return (int) msr;
    }

    private static int high(long msr) {
        return (int) (msr >>> 32);
    }

    @Test
    void basicReportsRevisionSizeMemoryTypeAndTrueControls() {
        long basic = service.capabilityMsr(IA32_VMX_BASIC);
        assertEquals(VMCS_REVISION_ID, basic & 0x7FFF_FFFF);
        assertEquals(0, basic & 1L << 31);
        assertEquals(4096, (basic >>> 32) & 0x1FFF);
        assertEquals(0, basic & 1L << 48, "no 32-bit physical-address limit");
        assertEquals(6, (basic >>> 50) & 0xF);
        assertTrue((basic & 1L << 54) != 0, "INS/OUTS instruction information");
        assertTrue((basic & 1L << 55) != 0, "TRUE control MSRs");
    }

    @Test
    void controlMsrsAreSelfConsistent() {
        int[][] pairs = {
            {IA32_VMX_PINBASED_CTLS, IA32_VMX_TRUE_PINBASED_CTLS},
            {IA32_VMX_PROCBASED_CTLS, IA32_VMX_TRUE_PROCBASED_CTLS},
            {IA32_VMX_EXIT_CTLS, IA32_VMX_TRUE_EXIT_CTLS},
            {IA32_VMX_ENTRY_CTLS, IA32_VMX_TRUE_ENTRY_CTLS},
        };
        for (int[] pair : pairs) {
            long plain = service.capabilityMsr(pair[0]);
            long truth = service.capabilityMsr(pair[1]);
            assertEquals(low(plain), low(plain) & high(plain), "must-be-1 bits are allowed-1");
            assertEquals(low(truth), low(truth) & low(plain), "TRUE must-be-1 is a subset");
            assertEquals(high(plain), high(truth), "same allowed-1 settings");
        }
        long proc2 = service.capabilityMsr(IA32_VMX_PROCBASED_CTLS2);
        assertEquals(0, low(proc2));
    }

    @Test
    void defaultOneClassesAreMustBeOneInTheNonTrueMsrs() {
        assertEquals(0x16, low(service.capabilityMsr(IA32_VMX_PINBASED_CTLS)) & 0x16);
        assertEquals(0x0401E172, low(service.capabilityMsr(IA32_VMX_PROCBASED_CTLS)) & 0x0401E172);
        assertEquals(0x36DFF, low(service.capabilityMsr(IA32_VMX_EXIT_CTLS)) & 0x36DFF);
        assertEquals(0x11FF, low(service.capabilityMsr(IA32_VMX_ENTRY_CTLS)) & 0x11FF);
    }

    @Test
    void externalInterruptExitingIsRequired() {
        assertTrue(PinBasedControl.EXTERNAL_INTERRUPT_EXITING.isSet(low(service.capabilityMsr(IA32_VMX_TRUE_PINBASED_CTLS))));
    }

    @Test
    void miscReportsTimerRateActivityStatesAndCr3Targets() {
        long misc = service.capabilityMsr(IA32_VMX_MISC);
        assertEquals(0, misc & 0x1F);
        assertTrue((misc & 1L << 5) != 0);
        assertEquals(0x7, (misc >>> 6) & 0x7);
        assertEquals(4, (misc >>> 16) & 0x1FF);
        assertEquals(0, misc & 1L << 29, "VMWRITE to VM-exit information is not allowed");
    }

    @Test
    void fixedBitsAndEnumeration() {
        assertEquals(0x8000_0021L, service.capabilityMsr(IA32_VMX_CR0_FIXED0));
        long fixed1 = service.capabilityMsr(IA32_VMX_CR0_FIXED1);
        assertEquals(0x8000_0021L, 0x8000_0021L & fixed1);
        assertEquals(0x2000, service.capabilityMsr(IA32_VMX_CR4_FIXED0));
        assertEquals(0x2020, 0x2020 & service.capabilityMsr(IA32_VMX_CR4_FIXED1));
        int highest = 0;
        for (VmcsField f : VmcsField.values()) {
            highest = Math.max(highest, (f.encoding() >>> 1) & 0x1FF);
        }
        assertEquals((long) highest << 1, service.capabilityMsr(IA32_VMX_VMCS_ENUM));
        long ept = service.capabilityMsr(IA32_VMX_EPT_VPID_CAP);
        assertTrue((ept & 1L << 6) != 0 && (ept & 1L << 14) != 0);
        assertEquals(0, service.capabilityMsr(IA32_VMX_VMFUNC));
        assertEquals(0, service.capabilityMsr(0x492));
    }

    /** Every allowed-1 control passes the control checks (with the controls it depends on). */
    @Test
    void everyAllowedControlPassesTheEntryChecks() {
        VmxLogicalProcessor p = fixture.readyProcessor();
        write(p, IO_BITMAP_A, IO_BITMAP_A_PAGE);
        write(p, IO_BITMAP_B, IO_BITMAP_B_PAGE);
        write(p, MSR_BITMAP, MSR_BITMAP_PAGE);
        EntryChecks checks = new EntryChecks(fixture.hostMemory, fixture.guestRam);
        Object[][] words = {
            {PIN_BASED_VM_EXEC_CONTROL, PIN, PIN_MAY_BE_1},
            {CPU_BASED_VM_EXEC_CONTROL, PROC, PROC_MAY_BE_1},
            {SECONDARY_VM_EXEC_CONTROL, PROC2, PROC2_MAY_BE_1},
            {VM_EXIT_CONTROLS, EXIT, EXIT_MAY_BE_1},
            {VM_ENTRY_CONTROLS, ENTRY, ENTRY_MAY_BE_1},
        };
        for (Object[] w : words) {
            VmcsField field = (VmcsField) w[0];
            int base = (Integer) w[1];
            int allowed = (Integer) w[2];
            for (int bit = 0; bit < 32; bit++) {
                if ((allowed & 1 << bit) == 0) {
                    continue;
                }
                write(p, PIN_BASED_VM_EXEC_CONTROL, PIN);
                write(p, field, base | 1 << bit);
                if (field == CPU_BASED_VM_EXEC_CONTROL && bit == ProcessorControl.NMI_WINDOW_EXITING.bit()
                        || field == PIN_BASED_VM_EXEC_CONTROL && bit == PinBasedControl.VIRTUAL_NMIS.bit()) {
                    write(p, PIN_BASED_VM_EXEC_CONTROL, PIN | PinBasedControl.NMI_EXITING.mask() | PinBasedControl.VIRTUAL_NMIS.mask());
                }
                if (field == VM_EXIT_CONTROLS && bit == ExitControl.SAVE_VMX_PREEMPTION_TIMER_VALUE.bit()) {
                    write(p, PIN_BASED_VM_EXEC_CONTROL, PIN | PinBasedControl.ACTIVATE_VMX_PREEMPTION_TIMER.mask());
                }
                assertTrue(checks.controlsValid(p.currentVmcs()), field + " bit " + bit + ": " + checks.failure);
                write(p, field, base);
            }
        }
    }

    /** Every control outside the allowed settings is refused with VM-instruction error 7. */
    @Test
    void everyControlOutsideTheMsrsFailsWithError7() {
        VmxLogicalProcessor p = fixture.readyProcessor();
        Object[][] words = {
            {PIN_BASED_VM_EXEC_CONTROL, PIN, IA32_VMX_TRUE_PINBASED_CTLS},
            {CPU_BASED_VM_EXEC_CONTROL, PROC, IA32_VMX_TRUE_PROCBASED_CTLS},
            {SECONDARY_VM_EXEC_CONTROL, PROC2, IA32_VMX_PROCBASED_CTLS2},
            {VM_EXIT_CONTROLS, EXIT, IA32_VMX_TRUE_EXIT_CTLS},
            {VM_ENTRY_CONTROLS, ENTRY, IA32_VMX_TRUE_ENTRY_CTLS},
        };
        int refused = 0;
        for (Object[] w : words) {
            VmcsField field = (VmcsField) w[0];
            int base = (Integer) w[1];
            long msr = service.capabilityMsr((Integer) w[2]);
            for (int bit = 0; bit < 32; bit++) {
                int flipped;
                if ((high(msr) & 1 << bit) == 0) {
                    flipped = base | 1 << bit;       // not allowed to be 1
                } else if ((low(msr) & 1 << bit) != 0) {
                    flipped = base & ~(1 << bit);    // not allowed to be 0
                } else {
                    continue;
                }
                write(p, field, flipped);
                assertEquals(VmxStatus.FAIL_VALID, p.vmlaunch(), field + " bit " + bit);
                assertEquals(VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS.number(), p.vmread(VM_INSTRUCTION_ERROR));
                write(p, field, base);
                refused++;
            }
        }
        assertTrue(refused > 60);
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertNull(p.lastEntryFailure());
    }

    @Test
    void serviceLoaderFindsTheProcessor() {
        VmxProcessor found = ServiceLoader.load(VmxProcessor.class).findFirst().orElseThrow();
        assertInstanceOf(VmxProcessorService.class, found);
        assertTrue(found.model().contains("VT-x"));
        assertInstanceOf(VmxLogicalProcessor.class, found.createLogicalProcessor(new byte[4096], new byte[8192]));
    }
}
