package org.hotvisor.kernel.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.hotvisor.kernel.command.VmCommands;
import org.hotvisor.kernel.vm.Machine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The console with two vCPUs: vm:info lists both, vm:cpu selects one, vm:regs takes a vCPU. */
class SmpConsoleTest {
    private Machine vm;

    @AfterEach
    void stop() {
        if (vm != null) {
            vm.stop(0, "test over");
        }
    }

    @Test
    void infoListsEveryVcpuAndCpuSelectsOne() throws Exception {
        vm = ToyCpu.machine(new byte[] {(byte) ToyCpu.JMP, (byte) 0xFE}, 2);
        vm.start();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while ((vm.vcpu(0).processorForInspection() == null || vm.vcpu(1).processorForInspection() == null)
                && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        vm.pause();
        DebugCommands cmd = new DebugCommands(null, vm, new GuestDebugger(vm));
        String info = cmd.vcpuList();
        assertTrue(info.contains("vCPUs: 2"), info);
        assertTrue(info.contains("* #0 paused at 0000:7c00"), info);
        assertTrue(info.contains("  #1 paused at f000:fff0") && info.contains("activity wait-for-SIPI"), info);
        assertTrue(cmd.cpu("1").startsWith("vCPU 1 of 2: paused at f000:fff0"), cmd.cpu());
        assertEquals(1, vm.selectedVcpu().index());
        assertTrue(cmd.vcpuList().contains("* #1"), "the selection is marked");
        assertTrue(cmd.cpu("2").contains("no vCPU 2"), cmd.cpu("2"));
        assertTrue(cmd.cpu("x").contains("not a vCPU number"));
        VmCommands vmc = new VmCommands(vm);
        assertTrue(vmc.regs().contains("f000"), "vm:regs shows the selected vCPU: " + vmc.regs());
        assertTrue(vmc.regs(0).contains("7c00"), vmc.regs(0));
        assertTrue(vmc.regs(5).contains("no vCPU 5"));
    }
}
