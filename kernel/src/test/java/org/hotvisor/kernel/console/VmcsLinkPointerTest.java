package org.hotvisor.kernel.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.hotvisor.api.VmState;
import org.hotvisor.api.vmx.VmcsField;
import org.hotvisor.kernel.vm.Machine;
import org.junit.jupiter.api.Test;

/** The kernel's VMCS set-up leaves the link pointer all-ones while VMCS shadowing is off (SDM 3C 27.3.1.5). */
class VmcsLinkPointerTest {
    private static final byte[] LOOP = {(byte) 0x90, (byte) 0xEB, (byte) 0xFD}; // NOP; JMP $-1

    @Test
    void linkPointerIsAllOnesWithoutShadowing() throws Exception {
        Machine vm = ToyCpu.machine(LOOP);
        try {
            vm.start();
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (vm.vcpu(0).instructionsRetired() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(1); // past VMLAUNCH: the VMCS is set up
            }
            vm.pause();
            while (vm.state() != VmState.PAUSED && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertEquals(VmState.PAUSED, vm.state());
            Long link = vm.withProcessor(c -> ((ToyCpu) c).vmcs.get(VmcsField.VMCS_LINK_POINTER.encoding()));
            assertTrue(link != null, "the kernel writes the link pointer");
            assertEquals(-1L, (long) link, "a valid link pointer makes every entry re-check the guest state");
        } finally {
            vm.stop(0, "test over");
        }
    }
}
