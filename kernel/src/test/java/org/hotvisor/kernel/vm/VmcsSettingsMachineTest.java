package org.hotvisor.kernel.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.hotvisor.api.vmx.ProcessorControl;
import org.hotvisor.api.vmx.VmcsField;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** --set applied by the machine: after the kernel's VMWRITEs, before VMLAUNCH; refusals stop the VM as a user error. */
class VmcsSettingsMachineTest {
    private final FakeVmx cpu = new FakeVmx();
    private Machine vm;

    @AfterEach
    void stop() throws InterruptedException {
        FakeVmx.stopAndAwait(vm);
    }

    private Machine started(String set) throws Exception {
        vm = cpu.machine(set);
        vm.start();
        // withProcessor waits for the vCPU's next exit: set-up and VMLAUNCH are done by then.
        vm.withProcessor(c -> c.vmread(VmcsField.GUEST_RIP));
        return vm;
    }

    /** Whether each port exits under the bitmaps, as "[true, false, ...]". */
    private String exits(int... ports) {
        return vm.withProcessor(c -> {
            java.util.List<Boolean> l = new java.util.ArrayList<>();
            for (int p : ports) {
                l.add(ExitBitmaps.ioPortExits(c, vm, p));
            }
            return l.toString();
        });
    }

    @Test
    void fieldsOverrideTheKernelsOwnWrites() throws Exception {
        started("exception-bitmap=0x8,cr0-guest-host-mask=0x8,cr3-target-count=1,cr3-target-value0=0x1000,tpr-threshold=2");
        assertEquals(0x8, cpu.field(VmcsField.EXCEPTION_BITMAP), "the kernel writes 0 first");
        assertEquals(0x8, cpu.field(VmcsField.CR0_GUEST_HOST_MASK), "the kernel writes the fixed bits first");
        assertEquals(1, cpu.field(VmcsField.CR3_TARGET_COUNT));
        assertEquals(0x1000, cpu.field(VmcsField.CR3_TARGET_VALUE0));
        assertEquals(2, cpu.field(VmcsField.TPR_THRESHOLD));
    }

    @Test
    void ioBitmapExitsOnTheListedPortsOnly() throws Exception {
        started("io-bitmap=0x60-0x64,io-bitmap=0x62:off,io-bitmap=0x8000");
        int proc = (int) cpu.field(VmcsField.CPU_BASED_VM_EXEC_CONTROL);
        assertTrue(ProcessorControl.USE_IO_BITMAPS.isSet(proc));
        assertFalse(ProcessorControl.UNCONDITIONAL_IO_EXITING.isSet(proc));
        assertEquals("[false, true, false, true, true, false]", exits(0x5f, 0x60, 0x62, 0x64, 0x8000, 0xf4));
        long a = cpu.field(VmcsField.IO_BITMAP_A), b = cpu.field(VmcsField.IO_BITMAP_B);
        assertEquals(0b0001_1011, vm.readHostMemory(a + (0x60 >> 3)) , "SDM 3C 25.6.4: bit n of byte p/8 in A");
        assertEquals(1, vm.readHostMemory(b), "port 0x8000 is bit 0 of bitmap B");
    }

    @Test
    void byDefaultEveryMsrExitsButTheSyscallMsrsTheProcessorKeeps() throws Exception {
        started("");
        assertTrue(ProcessorControl.USE_MSR_BITMAPS.isSet((int) cpu.field(VmcsField.CPU_BASED_VM_EXEC_CONTROL)));
        for (long msr : new long[] {0x10, 0x1B, 0xC000_0080L, 0xC000_0100L, 0xC000_0101L}) {
            assertEquals("[true, true]", msrExits(msr), String.format("MSR 0x%x exits", msr));
        }
        for (long msr : new long[] {0xC000_0081L, 0xC000_0082L, 0xC000_0083L, 0xC000_0084L, 0xC000_0102L, 0xC000_0103L}) {
            assertEquals("[false, false]", msrExits(msr), String.format("MSR 0x%x passes through", msr));
        }
    }

    private String msrExits(long msr) throws Exception {
        return vm.withProcessor(c -> java.util.List.of(ExitBitmaps.msrExits(c, vm, false, msr),
                ExitBitmaps.msrExits(c, vm, true, msr))).toString();
    }

    @Test
    void onlyOffEntriesMeanEveryOtherPortExits() throws Exception {
        started("io-bitmap=0x80:off");
        assertEquals("[true, false]", exits(0x70, 0x80));
    }

    @Test
    void msrBitmapUsesTheFourPartsOfSdm25_6_9() throws Exception {
        started("msr-bitmap=read:0x10,msr-bitmap=write:0xc0000080");
        assertTrue(ProcessorControl.USE_MSR_BITMAPS.isSet((int) cpu.field(VmcsField.CPU_BASED_VM_EXEC_CONTROL)));
        long base = cpu.field(VmcsField.MSR_BITMAP);
        assertEquals(1, vm.readHostMemory(base + ExitBitmaps.MSR_READ_LOW + 2), "read-low: MSR 0x10 is byte 2 bit 0");
        assertEquals(1, vm.readHostMemory(base + ExitBitmaps.MSR_WRITE_HIGH + 0x10), "write-high: 0xC0000080 is byte 0x10 bit 0");
        assertEquals(0, vm.readHostMemory(base + ExitBitmaps.MSR_WRITE_LOW + 2), "WRMSR 0x10 does not exit");
        assertEquals(Boolean.TRUE, vm.withProcessor(c -> ExitBitmaps.msrExits(c, vm, true, 0x4000_0000L)), "an MSR without a bit always exits");
    }

    @Test
    void withoutIoBitmapTheKernelKeepsEveryPortExiting() throws Exception {
        started("");
        assertTrue(ProcessorControl.UNCONDITIONAL_IO_EXITING.isSet((int) cpu.field(VmcsField.CPU_BASED_VM_EXEC_CONTROL)));
    }

    @Test
    void aControlWordIsAdjustedAndAFieldTheProcessorRefusesStopsTheVmAsAUserError() throws Exception {
        started("pin-based-vm-exec-control=0x8");
        assertEquals(0x16 | 0x8, cpu.field(VmcsField.PIN_BASED_VM_EXEC_CONTROL), "must-be-1 bits added");
        vm.stop(0, "next");

        FakeVmx refusing = new FakeVmx();
        refusing.unsupported.add(VmcsField.TSC_MULTIPLIER.encoding());
        Machine m = refusing.machine("tsc-multiplier=2");
        m.start();
        assertTrue(m.awaitStop(5000));
        assertEquals(StopStatus.USER_ERROR, m.exitStatus());
        assertEquals("VMWRITE TSC_MULTIPLIER failed: FAIL_VALID (VM-instruction error 12)", m.stopReason());

        Machine forbidden = new FakeVmx().machine("virtualize-apic-accesses=on");
        forbidden.start();
        assertTrue(forbidden.awaitStop(5000));
        assertEquals(StopStatus.USER_ERROR, forbidden.exitStatus());
        assertTrue(forbidden.stopReason().contains("does not support SECONDARY_VM_EXEC_CONTROL control bits 0x1"), forbidden.stopReason());
    }
}
