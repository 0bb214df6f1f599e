package org.hotvisor.vmx.cpu.vmx;

import static org.hotvisor.api.vmx.VmcsField.*;
import static org.hotvisor.vmx.cpu.vmx.VmxFixture.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.hotvisor.api.ExitReason;
import org.hotvisor.api.vmx.ExitControl;
import org.hotvisor.api.vmx.PinBasedControl;
import org.hotvisor.api.vmx.ProcessorControl;
import org.hotvisor.api.vmx.VmxStatus;
import org.junit.jupiter.api.Test;

/** A real VMLAUNCH/VMRESUME of a tiny real-mode guest on the x86 core (SDM 3C 27, 28). */
class RealModeGuestTest {

    private final VmxFixture fixture = new VmxFixture();
    private final VmxLogicalProcessor p = fixture.readyProcessor();

    @Test
    void cpuidExitsWithReason10AndResumeContinues() {
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertNull(p.lastEntryFailure());
        assertEquals(ExitReason.CPUID.number(), p.vmread(VM_EXIT_REASON));
        assertEquals(2, p.vmread(VM_EXIT_INSTRUCTION_LEN));
        assertEquals(GUEST_START, p.vmread(GUEST_RIP));
        assertEquals(0x30, p.vmread(GUEST_CR0));
        assertEquals(0x9B, p.vmread(GUEST_CS_AR_BYTES) & 0xFF);

        p.vmwrite(GUEST_RIP, GUEST_START + 2); // the VMM emulated CPUID
        assertEquals(VmxStatus.SUCCEED, p.vmresume());
        assertEquals(ExitReason.CPUID.number(), p.vmread(VM_EXIT_REASON));
        assertEquals(GUEST_START + 2, p.vmread(GUEST_RIP));

        p.vmwrite(GUEST_RIP, GUEST_START + 4);
        assertEquals(VmxStatus.SUCCEED, p.vmresume());
        assertEquals(ExitReason.HLT.number(), p.vmread(VM_EXIT_REASON));
        assertEquals(1, p.vmread(VM_EXIT_INSTRUCTION_LEN));
    }

    @Test
    void gprsStayWithTheProcessorAcrossExits() {
        p.setGpr(0, 0x1234);
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertEquals(0x1234, p.gpr(0)); // CPUID exited before executing
        assertEquals(0x7000, p.vmread(GUEST_RSP));
    }

    @Test
    void injectedSoftwareInterruptGoesThroughTheIvt() {
        // IVT entry 0x21 -> 0000:0x7C02 (the second CPUID)
        fixture.guestRam[0x21 * 4] = 0x02;
        fixture.guestRam[0x21 * 4 + 1] = 0x7C;
        write(p, VM_ENTRY_INTR_INFO_FIELD, 1L << 31 | 4 << 8 | 0x21);
        write(p, VM_ENTRY_INSTRUCTION_LEN, 2);
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertEquals(ExitReason.CPUID.number(), p.vmread(VM_EXIT_REASON));
        assertEquals(GUEST_START + 2, p.vmread(GUEST_RIP));
        assertEquals(0x7000 - 6, p.vmread(GUEST_RSP)); // FLAGS, CS, IP pushed
        assertEquals(0, p.vmread(VM_ENTRY_INTR_INFO_FIELD) >>> 31, "28.2: exit clears the valid bit");
    }

    @Test
    void pendingMtfInjectionExitsWithReason37BeforeAnyInstruction() {
        write(p, CPU_BASED_VM_EXEC_CONTROL, PROC | ProcessorControl.MONITOR_TRAP_FLAG.mask());
        write(p, VM_ENTRY_INTR_INFO_FIELD, 1L << 31 | 7 << 8);
        long retired = p.instructionsRetired();
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertEquals(ExitReason.MONITOR_TRAP_FLAG.number(), p.vmread(VM_EXIT_REASON));
        assertEquals(GUEST_START, p.vmread(GUEST_RIP));
        assertEquals(retired, p.instructionsRetired());
    }

    @Test
    void injectingIntoAHaltedGuestWakesIt() {
        fixture.guestRam[0x30 * 4] = 0x02; // IVT entry 0x30 -> 0000:7C02 (CPUID)
        fixture.guestRam[0x30 * 4 + 1] = 0x7C;
        write(p, GUEST_ACTIVITY_STATE, 1);
        write(p, GUEST_RFLAGS, 0x202);
        write(p, VM_ENTRY_INTR_INFO_FIELD, 1L << 31 | 0x30); // external interrupt, vector 0x30
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertEquals(ExitReason.CPUID.number(), p.vmread(VM_EXIT_REASON));
        assertEquals(GUEST_START + 2, p.vmread(GUEST_RIP));
        assertEquals(0, p.vmread(GUEST_ACTIVITY_STATE));
    }

    @Test
    void kickBeforeEntryExitsWithExternalInterrupt() {
        p.requestExit();
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertEquals(ExitReason.EXTERNAL_INTERRUPT.number(), p.vmread(VM_EXIT_REASON));
        assertEquals(0, p.vmread(VM_EXIT_INTR_INFO) >>> 31, "not acknowledged: no interruption information");
    }

    @Test
    void kickWithAcknowledgeReportsTheVector() {
        write(p, VM_EXIT_CONTROLS, EXIT | ExitControl.ACKNOWLEDGE_INTERRUPT_ON_EXIT.mask());
        p.requestExit();
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertEquals(ExitReason.EXTERNAL_INTERRUPT.number(), p.vmread(VM_EXIT_REASON));
        assertEquals(1L << 31 | 0xEF, p.vmread(VM_EXIT_INTR_INFO));
    }

    @Test
    void preemptionTimerZeroExitsBeforeTheFirstInstruction() {
        write(p, PIN_BASED_VM_EXEC_CONTROL, PIN | PinBasedControl.ACTIVATE_VMX_PREEMPTION_TIMER.mask());
        write(p, VM_EXIT_CONTROLS, EXIT | ExitControl.SAVE_VMX_PREEMPTION_TIMER_VALUE.mask());
        write(p, VMX_PREEMPTION_TIMER_VALUE, 0);
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertEquals(ExitReason.PREEMPTION_TIMER.number(), p.vmread(VM_EXIT_REASON));
        assertEquals(GUEST_START, p.vmread(GUEST_RIP));
    }

    @Test
    void advanceTscCountsDownASavedPreemptionTimer() {
        write(p, PIN_BASED_VM_EXEC_CONTROL, PIN | PinBasedControl.ACTIVATE_VMX_PREEMPTION_TIMER.mask());
        write(p, VM_EXIT_CONTROLS, EXIT | ExitControl.SAVE_VMX_PREEMPTION_TIMER_VALUE.mask());
        write(p, VMX_PREEMPTION_TIMER_VALUE, 1000);
        long before = p.tsc();
        p.advanceTsc(300);
        assertEquals(before + 300, p.tsc());
        assertEquals(700, p.vmread(VMX_PREEMPTION_TIMER_VALUE));
    }
}
