package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.Guest.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Exceptions and interrupts: IVT and IDT delivery, privilege changes through the TSS, the
 * exception bitmap, #DF and triple fault, IDT-vectoring information, task gates, VM-entry
 * injection, interrupt shadows, window exits, MTF, the preemption timer and host kicks.
 */
class EventsTest {
    static final int EXIT_EXCEPTION = 0, EXIT_EXTERNAL = 1, EXIT_TRIPLE = 2, EXIT_INTR_WINDOW = 7, EXIT_NMI_WINDOW = 8,
            EXIT_TASK_SWITCH = 9, EXIT_HLT = 12, EXIT_IO = 30, EXIT_MTF = 37, EXIT_PREEMPTION = 52;
    static final int PROC_INTR_WINDOW = 1 << 2, PROC_NMI_WINDOW = 1 << 22, PROC_MTF = 1 << 27;
    static final int PIN_PREEMPTION_TIMER = 1 << 6;

    // REAL_INT21 (16-bit, org 0x1000): mov ax, 0x1234 / int 0x21 / hlt
    static final byte[] REAL_INT21 = hex("b83412cd21f4");
    // REAL_HANDLER (16-bit, org 0x2000): mov bx, sp / out 0xF4, al / iret
    static final byte[] REAL_HANDLER = hex("89e3e6f4cf");
    // REAL_DIV0 (16-bit, org 0x1000): xor bx, bx / mov ax, 7 / div bl / hlt
    static final byte[] REAL_DIV0 = hex("31dbb80700f6f3f4");
    // STI_WINDOW (16-bit, org 0x1000): sti / nop / nop / hlt
    static final byte[] STI_WINDOW = hex("fb9090f4");
    // MOVSS_WINDOW (16-bit, org 0x1000): mov ax, 0 / mov ss, ax / nop / nop / hlt
    static final byte[] MOVSS_WINDOW = hex("b800008ed09090f4");
    // LOOP_FOREVER (16-bit, org 0x1000): l: inc ax / jmp l
    static final byte[] LOOP_FOREVER = hex("40ebfd");
    // TF_STEP (16-bit, org 0x1000): pushf / pop ax / or ax, 0x100 / push ax / popf / nop / nop / hlt
    static final byte[] TF_STEP = hex("9c580d0001509d9090f4");
    // USER_INT80 (32-bit, org 0x400000): mov eax, 0x11 / int 0x80 / mov ebx, eax / hlt
    static final byte[] USER_INT80 = hex("b811000000cd8089c3f4");
    // KERNEL_INT80 (32-bit, org 0x500000): mov eax,[esp] / mov ecx,[esp+4] / mov edx,[esp+8] / mov esi,[esp+12]
    //   / mov edi,[esp+16] / add eax, 0 / hlt
    static final byte[] KERNEL_INT80 = hex("8b04248b4c24048b5424088b74240c8b7c241083c000f4");
    // USER_CLI (32-bit, org 0x400000): cli / hlt
    static final byte[] USER_CLI = hex("faf4");
    // KERNEL_GP (32-bit, org 0x500000): mov eax, [esp] / mov ecx, [esp+4] / hlt
    static final byte[] KERNEL_GP = hex("8b04248b4c2404f4");
    // LOAD_BAD_DS (32-bit, org 0x100000): mov ax, 0x1234 / mov ds, ax / hlt
    static final byte[] LOAD_BAD_DS = hex("66b834128ed8f4");
    // INT40 (32-bit, org 0x100000): int 0x40 / hlt
    static final byte[] INT40 = hex("cd40f4");
    // INT41 (32-bit, org 0x100000): int 0x41 / hlt
    static final byte[] INT41 = hex("cd41f4");

    private static Guest real(byte[] code) {
        Guest g = new Guest(1 << 20).realMode(0x1000).load(0x1000, code).load(0x2000, REAL_HANDLER);
        g.core.controls.procBased |= Guest.PROC_UNCONDITIONAL_IO | Guest.PROC_HLT_EXITING;
        g.core.gpr[X86Core.ESP] = 0x7000;
        return g;
    }

    private static void ivt(Guest g, int vector, int segment, int offset) {
        g.putShort(vector * 4, offset);
        g.putShort(vector * 4 + 2, segment);
    }

    @Test
    void realModeIntPushesFlagsCsIpAndVectorsThroughTheIvt() {
        Guest g = real(REAL_INT21);
        ivt(g, 0x21, 0, 0x2000);
        g.core.setRflags(0x202);
        assertEquals(EXIT_IO, g.run());
        assertEquals(0x6FFA, g.reg(X86Core.EBX) & 0xFFFF, "SP in the handler");
        assertEquals(0x1005, g.getShort(0x6FFA), "return IP after INT 21h");
        assertEquals(0, g.getShort(0x6FFC), "CS");
        assertEquals(0x202, g.getShort(0x6FFE), "FLAGS image");
        assertEquals(0, g.core.rflags() & Alu.IF, "IF cleared by the interrupt");
        g.core.rip += g.core.exit.instructionLength;
        assertEquals(EXIT_HLT, g.run(), "IRET returns to the HLT");
        assertEquals(0x1005, g.core.rip);
        assertEquals(Alu.IF, g.core.rflags() & Alu.IF, "IRET restores IF");
    }

    @Test
    void realModeDivideErrorIsAFaultAtTheDiv() {
        Guest g = real(REAL_DIV0);
        ivt(g, 0, 0, 0x2000);
        assertEquals(EXIT_IO, g.run());
        assertEquals(0x1005, g.getShort(0x6FFA), "#DE pushes the address of DIV");
    }

    @Test
    void exceptionBitmapTurnsTheFaultIntoAnExit() {
        Guest g = real(REAL_DIV0);
        g.core.controls.exceptionBitmap = 1;   // #DE
        assertEquals(EXIT_EXCEPTION, g.run());
        ExitInfo e = g.core.exit;
        assertEquals(0x8000_0300, e.interruptionInfo, "valid, hardware exception, vector 0");
        assertEquals(0, e.instructionLength);
        assertEquals(0x1005, g.core.rip, "RIP at the faulting DIV");
        assertEquals(0, e.idtVectoringInfo);
    }

    private static Guest kernelAndUser() {
        Guest g = new Guest(8 << 20).protectedMode(0x100000);
        g.core.controls.procBased |= Guest.PROC_HLT_EXITING;
        return g;
    }

    @Test
    void interruptFromRing3SwitchesToTheRing0StackFromTheTss() {
        Guest g = kernelAndUser();
        g.gate(0x80, Guest.SEL_CODE0, 0x500000, Guest.GATE_INT32, 3);
        g.load(0x400000, USER_INT80).load(0x500000, KERNEL_INT80);
        g.core.setRflags(0x202);
        g.user(0x400000, 0x300000);
        assertEquals(3, g.core.cpl);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0x400007, g.reg(X86Core.EAX), "return EIP");
        assertEquals(Guest.SEL_CODE3, g.reg(X86Core.ECX), "return CS");
        assertEquals(0x202, g.reg(X86Core.EDX), "EFLAGS image");
        assertEquals(0x300000, g.reg(X86Core.ESI), "old ESP");
        assertEquals(Guest.SEL_DATA3, g.reg(X86Core.EDI), "old SS");
        assertEquals(Guest.RING0_STACK - 20, g.reg(X86Core.ESP));
        assertEquals(0, g.core.cpl);
        assertEquals(Guest.SEL_CODE0, g.core.cs.selector);
        assertEquals(Guest.SEL_DATA0, g.core.ss.selector);
        assertEquals(0, g.core.rflags() & Alu.IF, "interrupt gate clears IF");
    }

    @Test
    void softwareInterruptThroughAGateWithTooLowDplIsAGeneralProtectionFault() {
        Guest g = kernelAndUser();
        g.gate(0x80, Guest.SEL_CODE0, 0x500000, Guest.GATE_INT32, 0);   // DPL 0: not callable from ring 3
        g.gate(13, Guest.SEL_CODE0, 0x500000, Guest.GATE_TRAP32, 0);
        g.load(0x400000, USER_INT80).load(0x500000, KERNEL_GP);
        g.user(0x400000, 0x300000);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0x80 * 8 + 2, g.reg(X86Core.EAX), "error code: IDT bit set, vector 0x80");
        assertEquals(0x400005, g.reg(X86Core.ECX), "the fault points at INT 80h");
    }

    @Test
    void cliInRing3WithIopl0RaisesGpWithErrorCode0() {
        Guest g = kernelAndUser();
        g.gate(13, Guest.SEL_CODE0, 0x500000, Guest.GATE_TRAP32, 0);
        g.load(0x400000, USER_CLI).load(0x500000, KERNEL_GP);
        g.core.setRflags(0x202);
        g.user(0x400000, 0x300000);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0, g.reg(X86Core.EAX), "error code");
        assertEquals(0x400000, g.reg(X86Core.ECX), "faulting EIP");
        assertEquals(Alu.IF, g.core.rflags() & Alu.IF, "trap gate keeps IF");
    }

    @Test
    void contributoryFaultDuringContributoryDeliveryBecomesDoubleFault() {
        Guest g = kernelAndUser();
        g.load(0x100000, LOAD_BAD_DS).load(0x500000, KERNEL_GP);
        // #GP(0x1230) from the bad selector; gate 13 is absent -> #NP during delivery -> #DF
        g.gate(8, Guest.SEL_CODE0, 0x500000, Guest.GATE_INT32, 0);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0, g.reg(X86Core.EAX), "#DF error code is 0");
        assertEquals(0x100004, g.reg(X86Core.ECX), "#DF return address: the instruction that faulted first");
    }

    @Test
    void faultWhileDeliveringDoubleFaultIsATripleFaultExit() {
        Guest g = kernelAndUser();
        g.load(0x100000, LOAD_BAD_DS);
        assertEquals(EXIT_TRIPLE, g.run());
    }

    @Test
    void exitDuringSoftwareInterruptDeliveryReportsIdtVectoringInfo() {
        Guest g = kernelAndUser();
        g.load(0x100000, INT40);
        g.gate(0x40, Guest.SEL_CODE0, 0x500000, Guest.GATE_INT32, 0);
        g.ram[Guest.IDT + 0x40 * 8 + 5] &= 0x7F;    // not present
        g.core.controls.exceptionBitmap = 1 << 11;   // #NP
        assertEquals(EXIT_EXCEPTION, g.run());
        ExitInfo e = g.core.exit;
        assertEquals(0x8000_0B0B, e.interruptionInfo, "#NP with error code");
        assertEquals(0x40 * 8 + 2, e.interruptionErrorCode, "IDT bit, EXT=0 for INT n");
        assertEquals(0x8000_0440, e.idtVectoringInfo, "software interrupt 0x40 was being delivered");
        assertEquals(2, e.instructionLength, "length of INT 40h for re-injection");
        assertEquals(0x100000, g.core.rip);
    }

    @Test
    void taskGateInTheIdtIsATaskSwitchExit() {
        Guest g = kernelAndUser();
        g.load(0x100000, INT41);
        g.gate(0x41, 0x30, 0, Guest.GATE_TASK, 0);
        assertEquals(EXIT_TASK_SWITCH, g.run());
        ExitInfo e = g.core.exit;
        assertEquals(0x30L | 3L << 30, e.qualification, "selector, source = IDT task gate");
        assertEquals(0x8000_0441, e.idtVectoringInfo);
        assertEquals(2, e.instructionLength);
    }

    @Test
    void injectedExternalInterruptIsDeliveredAtTheCurrentRip() {
        Guest g = real(LOOP_FOREVER);
        ivt(g, 0x30, 0, 0x2000);
        g.core.injectEvent(0x8000_0030, 0, 0);
        assertEquals(EXIT_IO, g.run());
        assertEquals(0x1000, g.getShort(0x6FFA));
    }

    @Test
    void injectedSoftwareInterruptReturnsPastTheInstruction() {
        Guest g = real(LOOP_FOREVER);
        ivt(g, 0x21, 0, 0x2000);
        g.core.injectEvent(0x8000_0421, 0, 2);
        assertEquals(EXIT_IO, g.run());
        assertEquals(0x1002, g.getShort(0x6FFA));
    }

    @Test
    void injectionWakesAHaltedProcessor() {
        Guest g = real(LOOP_FOREVER);
        ivt(g, 0x30, 0, 0x2000);
        g.core.activityState = X86Core.ACTIVITY_HLT;
        g.core.injectEvent(0x8000_0030, 0, 0);
        assertEquals(X86Core.ACTIVITY_ACTIVE, g.core.activityState);
        assertEquals(EXIT_IO, g.run());
    }

    @Test
    void stiBlocksTheInterruptWindowForOneInstruction() {
        Guest g = real(STI_WINDOW);
        g.core.controls.procBased |= PROC_INTR_WINDOW;
        assertEquals(EXIT_INTR_WINDOW, g.run());
        assertEquals(0x1002, g.core.rip, "after STI and the instruction in its shadow");
        assertEquals(0, g.core.interruptibility);
    }

    @Test
    void interruptWindowOpensAtOnceWhenIfIsSet() {
        Guest g = real(STI_WINDOW);
        g.core.setRflags(0x202);
        g.core.controls.procBased |= PROC_INTR_WINDOW;
        assertEquals(EXIT_INTR_WINDOW, g.run());
        assertEquals(0x1000, g.core.rip);
    }

    @Test
    void nmiWindowWaitsForNmiUnblocking() {
        Guest g = real(LOOP_FOREVER);
        g.core.controls.procBased |= PROC_NMI_WINDOW;
        g.core.interruptibility = X86Core.BLOCKING_BY_NMI;
        g.core.controls.pinBased |= PIN_PREEMPTION_TIMER;
        g.core.controls.preemptionTimerValue = 50;
        assertEquals(EXIT_PREEMPTION, g.run(), "blocked by NMI: no window");
        g.core.controls.pinBased &= ~PIN_PREEMPTION_TIMER;
        g.core.interruptibility = 0;
        assertEquals(EXIT_NMI_WINDOW, g.run());
    }

    @Test
    void monitorTrapFlagExitsAfterEachInstructionAndReportsMovSsBlocking() {
        Guest g = real(MOVSS_WINDOW);
        g.core.controls.procBased |= PROC_MTF;
        assertEquals(EXIT_MTF, g.run());
        assertEquals(0x1003, g.core.rip);
        assertEquals(EXIT_MTF, g.run());
        assertEquals(0x1005, g.core.rip);
        assertEquals(X86Core.BLOCKING_BY_MOV_SS, g.core.interruptibility, "in the MOV SS shadow");
        assertEquals(EXIT_MTF, g.run());
        assertEquals(0x1006, g.core.rip);
        assertEquals(0, g.core.interruptibility);
        assertEquals(3, g.core.instructionsRetired());
    }

    @Test
    void preemptionTimerExpiresAfterExactlyItsValueInInstructions() {
        Guest g = real(LOOP_FOREVER);
        g.core.controls.pinBased |= PIN_PREEMPTION_TIMER;
        g.core.controls.preemptionTimerValue = 1000;
        assertEquals(EXIT_PREEMPTION, g.run());
        assertEquals(1000, g.core.instructionsRetired());
        assertEquals(0, g.core.controls.preemptionTimerValue);
        // rate 3: the timer counts each time TSC bit 3 changes
        g.core.controls.preemptionTimerRateShift = 3;
        g.core.controls.preemptionTimerValue = 10;
        long tsc = g.core.tsc;
        assertEquals(EXIT_PREEMPTION, g.run());
        assertEquals(((tsc >>> 3) + 10) << 3, g.core.tsc);
    }

    @Test
    void requestExitFromAnotherThreadIsAHostKick() throws InterruptedException {
        Guest g = real(LOOP_FOREVER);
        Thread kicker = g.kickAfter(30);
        assertEquals(EXIT_EXTERNAL, g.run());
        kicker.join();
        assertEquals(0x8000_00EF, g.core.exit.interruptionInfo, "external interrupt, vector 0xEF");
        assertTrue(g.core.instructionsRetired() > 0);
    }

    @Test
    void hltWithoutHltExitingWaitsForAHostKick() throws InterruptedException {
        Guest g = real(hex("f4"));
        g.core.controls.procBased &= ~Guest.PROC_HLT_EXITING;
        Thread kicker = g.kickAfter(30);
        assertEquals(EXIT_EXTERNAL, g.run());
        kicker.join();
        assertEquals(X86Core.ACTIVITY_HLT, g.core.activityState);
        assertEquals(0x1001, g.core.rip);
    }

    @Test
    void hltWithThePreemptionTimerJumpsToItsExpiry() {
        Guest g = real(hex("f4"));
        g.core.controls.procBased &= ~Guest.PROC_HLT_EXITING;
        g.core.controls.pinBased |= PIN_PREEMPTION_TIMER;
        g.core.controls.preemptionTimerValue = 1_000_000;
        assertEquals(EXIT_PREEMPTION, g.run());
        assertEquals(1_000_000, g.core.tsc);
    }

    @Test
    void trapFlagRaisesDebugTrapAfterTheNextInstruction() {
        Guest g = real(TF_STEP);
        ivt(g, 1, 0, 0x2000);
        assertEquals(EXIT_IO, g.run());
        assertEquals(0x1008, g.getShort(0x6FFA), "#DB trap after the first NOP following POPF");
        assertTrue((g.core.dr6 & (1 << 14)) != 0, "DR6.BS");
        assertEquals(0, g.core.rflags() & Alu.TF, "TF cleared for the handler");
    }

    @Test
    void injectedNmiBlocksNmisUntilIret() {
        Guest g = real(LOOP_FOREVER);
        ivt(g, 2, 0, 0x2000);
        g.core.injectEvent(0x8000_0202, 0, 0);
        assertEquals(X86Core.BLOCKING_BY_NMI, g.core.interruptibility);
        assertEquals(EXIT_IO, g.run());
        g.core.rip += g.core.exit.instructionLength;
        g.core.controls.procBased |= PROC_NMI_WINDOW;
        assertEquals(EXIT_NMI_WINDOW, g.run(), "the window opens after IRET");
        assertEquals(0x1000, g.core.rip);
        assertEquals(0, g.core.interruptibility);
    }
}
