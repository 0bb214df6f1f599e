package org.hotvisor.exit.initsipi;

import static org.junit.jupiter.api.Assertions.*;

import org.hotvisor.api.ExitAction;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.Register;
import org.hotvisor.api.vmx.VmcsField;
import org.hotvisor.exit.testkit.FakeMemory;
import org.hotvisor.exit.testkit.FakeVcpu;
import org.hotvisor.exit.testkit.FakeVmExit;
import org.junit.jupiter.api.Test;

class InitSipiExitHandlerTest {
    final InitSipiExitHandler handler = new InitSipiExitHandler();

    static FakeVmExit exit(int vcpu, ExitReason reason, long qualification) {
        FakeVmExit e = new FakeVmExit(new FakeVcpu(vcpu), new FakeMemory(4096));
        e.reason = reason;
        e.qualification = qualification;
        return e;
    }

    @Test
    void initOnAnApEntersTheInitStateWaitingForSipi() {
        FakeVmExit e = exit(2, ExitReason.INIT_SIGNAL, 0);
        e.registers.setRax(0x1234);
        e.registers.set(Register.CR2, 0xdead);
        assertEquals(ExitAction.RESUME, handler.handle(e));
        assertEquals(InitSipiExitHandler.ACTIVITY_WAIT_FOR_SIPI, e.field(VmcsField.GUEST_ACTIVITY_STATE));
        assertEquals(0xF000, e.field(VmcsField.GUEST_CS_SELECTOR));
        assertEquals(0xFFFF_0000L, e.field(VmcsField.GUEST_CS_BASE));
        assertEquals(0xFFF0, e.field(VmcsField.GUEST_RIP));
        assertEquals(0x6000_0030L, e.field(VmcsField.GUEST_CR0), "CD, NW, ET plus NE (fixed in VMX operation)");
        assertEquals(0x6000_0010L, e.field(VmcsField.CR0_READ_SHADOW), "the guest reads the architectural value");
        assertEquals(0x2, e.field(VmcsField.GUEST_RFLAGS));
        assertEquals(0x93, e.field(VmcsField.GUEST_SS_AR_BYTES));
        assertEquals(0x8B, e.field(VmcsField.GUEST_TR_AR_BYTES),
                "TR a busy 32-bit TSS: the VM entry after an AP's switch to IA-32e mode, before its LTR, accepts it (SDM 3C 27.3.1.2)");
        assertEquals(0, e.registers.rax());
        assertEquals(0x600, e.registers.rdx(), "EDX = processor signature");
        assertEquals(0, e.registers.get(Register.CR2));
    }

    @Test
    void initOnVcpuZeroIsThePlatformResetOfTheKernel() {
        FakeVmExit e = exit(0, ExitReason.INIT_SIGNAL, 0);
        assertEquals(ExitAction.PASS, handler.handle(e));
        assertEquals(0, e.vmwrites);
    }

    @Test
    void sipiStartsRealModeAtVectorTimes4096() {
        FakeVmExit e = exit(1, ExitReason.SIPI, 0x9A);
        assertEquals(ExitAction.RESUME, handler.handle(e));
        assertEquals(0x9A00, e.field(VmcsField.GUEST_CS_SELECTOR));
        assertEquals(0x9_A000, e.field(VmcsField.GUEST_CS_BASE));
        assertEquals(0, e.field(VmcsField.GUEST_RIP));
        assertEquals(InitSipiExitHandler.ACTIVITY_ACTIVE, e.field(VmcsField.GUEST_ACTIVITY_STATE));
    }

    @Test
    void otherReasonsPass() {
        assertEquals(ExitAction.PASS, handler.handle(exit(1, ExitReason.HLT, 0)));
    }
}
