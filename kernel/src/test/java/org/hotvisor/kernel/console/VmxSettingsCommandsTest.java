package org.hotvisor.kernel.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.hotvisor.api.vmx.ProcessorControl;
import org.hotvisor.api.vmx.VmcsField;
import org.hotvisor.kernel.vm.ExitBitmaps;
import org.hotvisor.kernel.vm.Machine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** vmx:vmcs set (the --set parser) and vmx:msrbitmap against the toy processor. */
class VmxSettingsCommandsTest {
    private static final byte[] LOOP = {(byte) 0x90, (byte) 0xEB, (byte) 0xFD};

    private Machine vm;
    private VmxCommands vmx;

    @BeforeEach
    void boot() throws Exception {
        vm = ToyCpu.machine(LOOP);
        vmx = new VmxCommands(vm, new GuestDebugger(vm));
    }

    @AfterEach
    void stop() {
        vm.stop(0, "test over");
    }

    private long read(VmcsField f) {
        return vm.withProcessor(c -> c.vmread(f));
    }

    @Test
    void vmcsSetWritesAFieldByItsDashedName() {
        assertEquals("EXCEPTION_BITMAP 0x0 -> 0x4000, effective at the next VM entry", vmx.vmcs("set", "exception-bitmap", "0x4000"));
        assertEquals(0x4000, read(VmcsField.EXCEPTION_BITMAP));
        assertEquals("PLE_GAP 0x0 -> 0x80, effective at the next VM entry", vmx.vmcs("set", "PLE_GAP", "128"));
    }

    @Test
    void vmcsSetRefusesReadOnlyUnknownAndMalformed() {
        assertEquals("vmx:vmcs: VM_EXIT_REASON is a read-only VM-exit information field (SDM 3C 25.9)",
                vmx.vmcs("set", "vm-exit-reason", "1"));
        assertTrue(vmx.vmcs("set", "flux-capacitor", "1").contains("unknown VMX control or VMCS field"));
        assertTrue(vmx.vmcs("set", "ple-gap", "lots").contains("is not a number"));
    }

    @Test
    void vmcsSetAdjustsAControlWordByTheCapabilityMsrs() {
        String out = vmx.vmcs("set", "pin-based-vm-exec-control", "0x8");
        assertTrue(out.endsWith("-> 0x1e (must-be-1 bits added: 0x16), effective at the next VM entry"), out);
        assertEquals(0x1E, read(VmcsField.PIN_BASED_VM_EXEC_CONTROL));
        assertTrue(vmx.vmcs("set", "secondary-vm-exec-control", "1").startsWith("refused: "));
    }

    @Test
    void vmcsSetTakesEveryOtherSetFormToo() {
        assertTrue(vmx.vmcs("set", "hlt-exiting", "off").startsWith("proc.hlt-exiting off"));
        String ports = vmx.vmcs("set", "io-bitmap", "0x60-0x64:off");
        assertTrue(ports.endsWith("ports 0x0060-0x0064: run without exits, effective at the next VM entry"), ports);
        assertEquals(Boolean.FALSE, vm.withProcessor(c -> ExitBitmaps.ioPortExits(c, vm, 0x62)));
        assertEquals(Boolean.TRUE, vm.withProcessor(c -> ExitBitmaps.ioPortExits(c, vm, 0x65)), "switched from unconditional: the rest still exit");
        assertTrue(vmx.vmcs("set", "msr-bitmap", "read:0x10:off").contains("RDMSR of MSR 0x10: runs without an exit"));
    }

    @Test
    void msrBitmapShowsTheKernelsDefaultAndSwitchesSingleMsrs() {
        // the kernel's default bitmap: everything exits but the SYSCALL MSRs the processor keeps
        String initial = vmx.msrbitmap();
        assertTrue(initial.startsWith("MSR bitmap") && initial.contains("RDMSR without exits: 0xc0000081-0xc0000084, 0xc0000102-0xc0000103"), initial);
        assertTrue(ProcessorControl.USE_MSR_BITMAPS.isSet((int) read(VmcsField.CPU_BASED_VM_EXEC_CONTROL)));
        String out = vmx.msrbitmap("read", "0xc0000080", "off");
        assertEquals("RDMSR of MSR 0xc0000080: runs without an exit (MSR bitmap byte 0x410 bit 0), effective at the next VM entry", out);
        vmx.msrbitmap("write", "0x10-0x11", "off");
        String shown = vmx.msrbitmap();
        assertTrue(shown.contains("0xc0000080"), shown);
        assertTrue(shown.contains("WRMSR without exits: 0x10-0x11, 0xc0000081"), shown);
        assertEquals(Boolean.FALSE, vm.withProcessor(c -> ExitBitmaps.msrExits(c, vm, true, 0x11)));
        assertTrue(vmx.msrbitmap("read", "0x2000", "off").contains("SDM 3C 25.6.9"));
        assertTrue(vmx.msrbitmap("read", "0x10").startsWith("usage:"));
    }
}
