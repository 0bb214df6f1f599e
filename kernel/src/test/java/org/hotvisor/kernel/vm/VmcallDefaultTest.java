package org.hotvisor.kernel.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.hotvisor.api.ExitAction;
import org.junit.jupiter.api.Test;

/** VMCALL's default answers as KVM does to a hypercall it does not know (kvm-unit-tests' vmexit and hypercall). */
class VmcallDefaultTest {
    @Test
    void cplZeroIn64BitModeGetsMinusKvmEnosys() {
        FakeExit x = new FakeExit().longMode();
        x.setGpr(0, -1L);
        assertEquals(ExitAction.EMULATED, DefaultExitHandlers.vmcall(x), "the guest goes on after the instruction");
        assertEquals(-1000L, x.gpr(0));
        assertEquals(-1, x.injectedVector, "no #UD");
    }

    @Test
    void outside64BitModeTheResultIs32Bits() {
        FakeExit x = new FakeExit();
        DefaultExitHandlers.vmcall(x);
        assertEquals(0xFFFF_FC18L, x.gpr(0));
    }

    @Test
    void aboveCplZeroGetsMinusKvmEperm() {
        FakeExit x = new FakeExit().longMode().cpl(3);
        DefaultExitHandlers.vmcall(x);
        assertEquals(-1L, x.gpr(0));
    }
}
