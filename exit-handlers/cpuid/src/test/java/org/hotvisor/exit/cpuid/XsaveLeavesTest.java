package org.hotvisor.exit.cpuid;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.hotvisor.api.ExitAction;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.Register;
import org.hotvisor.api.vmx.ProcessorControl;
import org.hotvisor.api.vmx.SecondaryControl;
import org.hotvisor.api.vmx.VmcsField;
import org.hotvisor.exit.testkit.FakeVmExit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * CPUID's XSAVE enumeration (leaf 1 ECX XSAVE/OSXSAVE, leaf 0xD) and the XSETBV emulation agree
 * with what the vmx-cpu implements: XCR0 = x87 only, a 576-byte area, XSAVEOPT/XSAVEC, XSAVES
 * when the VMCS enables it, no IA32_XSS bit.
 */
class XsaveLeavesTest {
    private static final long CR4_OSXSAVE = 1L << 18;
    private CpuidExitHandler handler;
    private FakeVmExit exit;

    @BeforeEach
    void setUp() {
        handler = new CpuidExitHandler();
        handler.activate(Map.of());
        exit = new FakeVmExit();
    }

    private long[] cpuid(long leaf, long subleaf) {
        exit.reason = ExitReason.CPUID;
        exit.registers.setRax(leaf);
        exit.registers.setRcx(subleaf);
        assertEquals(ExitAction.EMULATED, handler.handle(exit));
        return new long[] {exit.registers.rax(), exit.registers.rbx(), exit.registers.rcx(), exit.registers.rdx()};
    }

    private ExitAction xsetbv(long ecx, long edx, long eax) {
        exit.reason = ExitReason.XSETBV;
        exit.resetOutcome();
        exit.registers.setRcx(ecx);
        exit.registers.setRdx(edx);
        exit.registers.setRax(eax);
        return handler.handle(exit);
    }

    @Test
    void osxsaveMirrorsTheGuestCr4() {
        exit.registers.set(Register.CR4, 0);
        assertEquals(0, cpuid(1, 0)[2] & CpuFeatures.ECX_OSXSAVE);
        exit.registers.set(Register.CR4, CR4_OSXSAVE);
        assertEquals(Integer.toUnsignedLong(CpuFeatures.ECX_OSXSAVE | CpuFeatures.ECX_XSAVE | CpuFeatures.ECX_HYPERVISOR
                | CpuFeatures.ECX_SSE3 | CpuFeatures.ECX_PCID),
                cpuid(1, 0)[2] & 0xFFFF_FFFFL);
    }

    @Test
    void osxsaveCannotBeConfiguredOn() {
        handler.modified(Map.of("leaf1.ecx", "0x88000000"));   // OSXSAVE without XSAVE
        exit.registers.set(Register.CR4, CR4_OSXSAVE);
        assertEquals(0x8000_0000L, cpuid(1, 0)[2]);
    }

    @Test
    void leaf0dDescribesTheX87ComponentOnlyWithoutXsaves() {
        assertArrayEquals(new long[] {1, 576, 576, 0}, cpuid(0xD, 0), "XCR0 x87; 512 + 64 bytes");
        assertArrayEquals(new long[] {0x3, 576, 0, 0}, cpuid(0xD, 1), "XSAVEOPT, XSAVEC; no XSAVES, no XSS bits");
        assertArrayEquals(new long[4], cpuid(0xD, 2), "no AVX state");
        assertArrayEquals(new long[4], cpuid(0xD, 10), "no supervisor component without XSAVES");
        assertArrayEquals(new long[4], cpuid(0xD, 63));
    }

    @Test
    void withXsavesLeaf0dEnumeratesPasidState() {
        exit.setField(VmcsField.CPU_BASED_VM_EXEC_CONTROL, ProcessorControl.ACTIVATE_SECONDARY_CONTROLS.mask());
        exit.setField(VmcsField.SECONDARY_VM_EXEC_CONTROL, SecondaryControl.ENABLE_XSAVES_XRSTORS.mask());
        assertArrayEquals(new long[] {0xB, 576 + 8, 1 << 10, 0}, cpuid(0xD, 1), "IA32_XSS bit 10: PASID");
        assertArrayEquals(new long[] {8, 0, 1, 0}, cpuid(0xD, 10), "8 bytes, supervisor, not 64-byte aligned");
        assertArrayEquals(new long[4], cpuid(0xD, 9));
        assertArrayEquals(new long[4], cpuid(0xD, 11));
    }

    @Test
    void xsavesIsReportedWhenTheVmcsEnablesIt() {
        exit.setField(VmcsField.CPU_BASED_VM_EXEC_CONTROL, ProcessorControl.ACTIVATE_SECONDARY_CONTROLS.mask());
        exit.setField(VmcsField.SECONDARY_VM_EXEC_CONTROL, SecondaryControl.ENABLE_XSAVES_XRSTORS.mask());
        assertEquals(0xB, cpuid(0xD, 1)[0]);
        exit.setField(VmcsField.CPU_BASED_VM_EXEC_CONTROL, 0);
        assertEquals(0x3, cpuid(0xD, 1)[0], "secondary controls not activated: XSAVES is #UD");
    }

    @Test
    void withoutXsaveLeaf0dIsEmptyAndXsetbvIsUndefined() {
        handler.modified(Map.of("leaf1.ecx", "0x80000000"));
        assertArrayEquals(new long[4], cpuid(0xD, 0));
        assertArrayEquals(new long[4], cpuid(0xD, 1));
        assertEquals(ExitAction.RESUME, xsetbv(0, 0, 1));
        assertEquals(6, exit.injectedVector);
    }

    @Test
    void xsetbvAcceptsOnlyXcr0EqualToX87() {
        assertEquals(ExitAction.EMULATED, xsetbv(0, 0, 1));
        assertEquals(-1, exit.injectedVector);
        long[][] bad = {{1, 0, 1}, {0, 0, 0}, {0, 0, 3}, {0, 0, 7}, {0, 1, 1}};
        for (long[] b : bad) {
            assertEquals(ExitAction.RESUME, xsetbv(b[0], b[1], b[2]));
            assertEquals(13, exit.injectedVector, "ECX " + b[0] + " EDX:EAX " + b[1] + ":" + b[2]);
            assertEquals(0, exit.injectedErrorCode);
        }
    }
}
