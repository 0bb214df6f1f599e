package org.hotvisor.vmx.cpu.vmx;

import static org.hotvisor.api.vmx.VmcsField.*;
import static org.hotvisor.vmx.cpu.vmx.VmxFixture.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import org.hotvisor.api.vmx.PinBasedControl;
import org.hotvisor.api.vmx.ProcessorControl;
import org.hotvisor.api.vmx.VmxStatus;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * INIT (3), SIPI (4), I/O SMI (5) and other SMI (6) through the whole processor: reason,
 * qualification, the saved RIP and activity state, blocking and priority (SDM 3C 26.2, 27.7.2,
 * 28.2.1, 32.15.2.3; SDM 3A 6.9). The real-mode guest of {@link VmxFixture} at 0000:7C00.
 */
class SignalExitsTest {
    static final int EXIT_HOST_KICK = 1, EXIT_INIT = 3, EXIT_SIPI = 4, EXIT_IO_SMI = 5, EXIT_OTHER_SMI = 6,
            EXIT_CPUID = 10, EXIT_HLT = 12, EXIT_PREEMPTION_TIMER = 52;
    static final int ACTIVE = 0, HLT = 1, SHUTDOWN = 2, WAIT_FOR_SIPI = 3;
    static final int BLOCKING_BY_STI = 1, BLOCKING_BY_MOV_SS = 2;
    static final int NOP = 0x90;

    final VmxFixture fixture = new VmxFixture();
    VmxLogicalProcessor p;

    @BeforeEach
    void ready() {
        p = fixture.readyProcessor();
    }

    void code(int... bytes) {
        for (int i = 0; i < bytes.length; i++) {
            fixture.guestRam[(int) GUEST_START + i] = (byte) bytes[i];
        }
        p.invalidateCode(GUEST_START, bytes.length);
    }

    long launch() {
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch(), p.lastEntryFailure());
        return p.vmread(VM_EXIT_REASON);
    }

    long resume() {
        assertEquals(VmxStatus.SUCCEED, p.vmresume(), p.lastEntryFailure());
        return p.vmread(VM_EXIT_REASON);
    }

    // ---------------------------------------------------------------- INIT

    @Test
    void initPendingAtEntryExitsBeforeTheFirstInstruction() {
        p.signalInit();
        assertEquals(EXIT_INIT, launch());
        assertEquals(0, p.vmread(EXIT_QUALIFICATION));
        assertEquals(GUEST_START, p.vmread(GUEST_RIP));
        assertEquals(ACTIVE, p.vmread(GUEST_ACTIVITY_STATE));
        assertEquals(0, p.instructionsRetired());
    }

    @Test
    void afterAnInitExitTheGuestRunsOnWithoutAStrayHostKick() {
        p.signalInit();
        assertEquals(EXIT_INIT, launch());
        assertEquals(EXIT_CPUID, resume(), "CPUID, not a reason-1 exit left over from the signal");
    }

    @Test
    void initWakesHltAndTheSavedActivityStateStaysHlt() {
        write(p, GUEST_ACTIVITY_STATE, HLT);
        p.signalInit();
        assertEquals(EXIT_INIT, launch());
        assertEquals(HLT, p.vmread(GUEST_ACTIVITY_STATE));
        assertEquals(GUEST_START, p.vmread(GUEST_RIP));
    }

    @Test
    void initWakesShutdown() {
        write(p, GUEST_ACTIVITY_STATE, SHUTDOWN);
        p.signalInit();
        assertEquals(EXIT_INIT, launch());
        assertEquals(SHUTDOWN, p.vmread(GUEST_ACTIVITY_STATE));
    }

    @Test
    void movSsBlockingHoldsInitForOneInstructionAndTheSavedRipIsTheNextInstruction() {
        code(NOP, NOP, NOP);
        write(p, GUEST_INTERRUPTIBILITY_INFO, BLOCKING_BY_MOV_SS);
        p.signalInit();
        assertEquals(EXIT_INIT, launch());
        assertEquals(GUEST_START + 1, p.vmread(GUEST_RIP));
        assertEquals(1, p.instructionsRetired());
        assertEquals(0, p.vmread(GUEST_INTERRUPTIBILITY_INFO), "the blocking ended with that instruction");
    }

    @Test
    void stiBlockingHoldsInitForOneInstruction() {
        code(NOP, NOP, NOP);
        write(p, GUEST_RFLAGS, 0x202);
        write(p, GUEST_INTERRUPTIBILITY_INFO, BLOCKING_BY_STI);
        p.signalInit();
        assertEquals(EXIT_INIT, launch());
        assertEquals(GUEST_START + 1, p.vmread(GUEST_RIP));
    }

    @Test
    void initRaisedInRootOperationWaitsForTheNextEntry() {
        assertEquals(EXIT_CPUID, launch());
        p.signalInit(); // between exits, as from a device thread
        write(p, GUEST_RIP, GUEST_START + 2);
        assertEquals(EXIT_INIT, resume());
        assertEquals(GUEST_START + 2, p.vmread(GUEST_RIP));
    }

    // ---------------------------------------------------------------- SIPI

    @Test
    void sipiInWaitForSipiExitsWithTheVectorAsQualification() {
        write(p, GUEST_ACTIVITY_STATE, WAIT_FOR_SIPI);
        p.signalStartup(0x9A);
        assertEquals(EXIT_SIPI, launch());
        assertEquals(0x9A, p.vmread(EXIT_QUALIFICATION));
        assertEquals(WAIT_FOR_SIPI, p.vmread(GUEST_ACTIVITY_STATE));
        assertEquals(GUEST_START, p.vmread(GUEST_RIP), "no register state changes (SDM 3C 26.2)");
    }

    @Test
    void sipiWhenActiveIsDiscarded() {
        p.signalStartup(0x10);
        assertEquals(EXIT_CPUID, launch());
        assertEquals(1, p.core().signals.sipisDiscarded);
        write(p, GUEST_ACTIVITY_STATE, WAIT_FOR_SIPI);
        p.signalInit(); // a later INIT is blocked in wait-for-SIPI; the discarded SIPI must not come back
        p.signalStartup(0x20);
        assertEquals(EXIT_SIPI, resume());
        assertEquals(0x20, p.vmread(EXIT_QUALIFICATION));
    }

    @Test
    void sipiInHltIsDiscarded() {
        write(p, GUEST_ACTIVITY_STATE, HLT);
        p.signalStartup(0x10);
        p.signalSmi(); // something to end the HLT
        assertEquals(EXIT_OTHER_SMI, launch());
        assertEquals(1, p.core().signals.sipisDiscarded);
    }

    @Test
    void waitForSipiBlocksInitAndSmiUntilTheVmmLeavesIt() {
        write(p, GUEST_ACTIVITY_STATE, WAIT_FOR_SIPI);
        p.signalInit();
        p.signalSmi();
        p.signalStartup(0x08);
        assertEquals(EXIT_SIPI, launch());
        // the VMM starts the processor (SDM 3A 8.4.4: CS = vector << 8, IP = 0) and resumes
        write(p, GUEST_ACTIVITY_STATE, ACTIVE);
        write(p, GUEST_CS_SELECTOR, 0x0800);
        write(p, GUEST_CS_BASE, 0x8000);
        write(p, GUEST_RIP, 0);
        assertEquals(EXIT_OTHER_SMI, resume(), "SMI before INIT (SDM 3A 6.9)");
        assertEquals(EXIT_INIT, resume());
        assertEquals(0, p.vmread(GUEST_RIP));
    }

    @Test
    void thePreemptionTimerCausesNoExitInWaitForSipi() {
        write(p, PIN_BASED_VM_EXEC_CONTROL, PIN | PinBasedControl.ACTIVATE_VMX_PREEMPTION_TIMER.mask());
        write(p, VMX_PREEMPTION_TIMER_VALUE, 0);
        write(p, GUEST_ACTIVITY_STATE, WAIT_FOR_SIPI);
        Thread sender = Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                return;
            }
            p.signalStartup(0x42);
        });
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertEquals(EXIT_SIPI, launch()));
        assertEquals(0x42, p.vmread(EXIT_QUALIFICATION));
        sender.interrupt();
    }

    @Test
    void theHostKickStillEndsWaitForSipi() {
        write(p, GUEST_ACTIVITY_STATE, WAIT_FOR_SIPI);
        p.requestExit();
        assertEquals(EXIT_HOST_KICK, launch());
    }

    // ---------------------------------------------------------------- SMI

    @Test
    void smiWithNoIoInstructionBeforeItIsOtherSmi() {
        p.signalSmi();
        assertEquals(EXIT_OTHER_SMI, launch());
        assertEquals(0, p.vmread(EXIT_QUALIFICATION));
        assertEquals(GUEST_START, p.vmread(GUEST_RIP));
    }

    @Test
    void smiRightAfterAnUnexitedOutIsAnIoSmiWithTheInstructionsRegisters() {
        code(0xE6, 0x80, NOP); // OUT 0x80, AL (no I/O exiting: the core completes it)
        p.setGpr(1, 0x1111);
        p.setGpr(6, 0x2222);
        p.setGpr(7, 0x3333);
        write(p, GUEST_INTERRUPTIBILITY_INFO, BLOCKING_BY_MOV_SS); // holds the SMI until OUT retired
        p.signalSmi();
        assertEquals(EXIT_IO_SMI, launch());
        // SDM 3C 32.15.2.3: size 0 (1 byte), OUT, not string, immediate (bit 6), port in 31:16
        assertEquals(0x80L << 16 | 1 << 6, p.vmread(EXIT_QUALIFICATION));
        assertEquals(GUEST_START, p.vmread(IO_RIP), "I/O RIP addresses the I/O instruction");
        assertEquals(0x1111, p.vmread(IO_RCX));
        assertEquals(0x2222, p.vmread(IO_RSI));
        assertEquals(0x3333, p.vmread(IO_RDI));
        assertEquals(GUEST_START + 2, p.vmread(GUEST_RIP), "the guest RIP is after it");
    }

    @Test
    void smiRightAfterInsbReportsTheLinearAddressAndRegistersBeforeIt() {
        code(0x6C, NOP); // INSB: ES:DI <- port DX
        p.setGpr(2, 0x60);
        p.setGpr(7, 0x500);
        write(p, GUEST_INTERRUPTIBILITY_INFO, BLOCKING_BY_MOV_SS);
        p.signalSmi();
        assertEquals(EXIT_IO_SMI, launch());
        assertEquals(0x60L << 16 | 1 << 4 | 1 << 3, p.vmread(EXIT_QUALIFICATION), "IN, string, DX operand");
        assertEquals(0x500, p.vmread(GUEST_LINEAR_ADDRESS));
        assertEquals(0x500, p.vmread(IO_RDI), "RDI before INSB advanced it");
        assertEquals(0x501, p.gpr(7));
    }

    @Test
    void smiAfterAnotherInstructionIsOtherSmi() {
        code(NOP, NOP);
        write(p, GUEST_INTERRUPTIBILITY_INFO, BLOCKING_BY_MOV_SS);
        p.signalSmi();
        assertEquals(EXIT_OTHER_SMI, launch());
        assertEquals(0, p.vmread(EXIT_QUALIFICATION));
        assertEquals(GUEST_START + 1, p.vmread(GUEST_RIP));
    }

    @Test
    void anIoInstructionThatExitedDoesNotMakeTheNextSmiAnIoSmi() {
        write(p, CPU_BASED_VM_EXEC_CONTROL, PROC | ProcessorControl.UNCONDITIONAL_IO_EXITING.mask());
        code(0xE6, 0x80, NOP);
        assertEquals(30, launch());
        p.signalSmi();
        write(p, GUEST_RIP, GUEST_START + 2); // the VMM emulated the OUT
        assertEquals(EXIT_OTHER_SMI, resume());
    }

    @Test
    void smiComesBeforeInitAndBothBeforeTheHostKick() {
        p.requestExit();
        p.signalInit();
        p.signalSmi();
        assertEquals(EXIT_OTHER_SMI, launch());
        assertEquals(EXIT_INIT, resume());
        assertEquals(EXIT_HOST_KICK, resume());
        assertEquals(EXIT_CPUID, resume());
    }

    @Test
    void smiWakesHlt() {
        write(p, GUEST_ACTIVITY_STATE, HLT);
        p.signalSmi();
        assertEquals(EXIT_OTHER_SMI, launch());
        assertEquals(HLT, p.vmread(GUEST_ACTIVITY_STATE));
    }

    @Test
    void signalsComeBeforeThePreemptionTimer() {
        write(p, PIN_BASED_VM_EXEC_CONTROL, PIN | PinBasedControl.ACTIVATE_VMX_PREEMPTION_TIMER.mask());
        write(p, VMX_PREEMPTION_TIMER_VALUE, 0);
        p.signalInit();
        assertEquals(EXIT_INIT, launch());
        assertEquals(EXIT_PREEMPTION_TIMER, resume());
    }

    @Test
    void aSignalFromAnotherThreadStopsARunningGuest() {
        code(0xEB, 0xFE); // JMP $
        Thread sender = Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                return;
            }
            p.signalInit();
        });
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertEquals(EXIT_INIT, launch()));
        assertEquals(GUEST_START, p.vmread(GUEST_RIP));
        sender.interrupt();
    }

    @Test
    void hltExitingStillWorksAfterSignals() {
        code(0xF4);
        p.signalSmi();
        assertEquals(EXIT_OTHER_SMI, launch());
        assertEquals(EXIT_HLT, resume());
    }
}
