package org.hotvisor.kernel.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.hotvisor.api.vmx.ControlBit;
import org.hotvisor.api.vmx.PinBasedControl;
import org.hotvisor.api.vmx.ProcessorControl;
import org.hotvisor.api.vmx.VmcsField;
import org.hotvisor.api.vmx.VmxProcessor;
import org.junit.jupiter.api.Test;

/** The one parser of --set and the console's vmx:vmcs set: control bits, VMCS fields, I/O and MSR bitmaps. */
class VmcsSettingsTest {
    private static String error(String spec) {
        return assertThrows(IllegalArgumentException.class, () -> VmcsSettings.parse(spec)).getMessage();
    }

    @Test
    void everyFormInOneCommaSeparatedList() {
        VmcsSettings s = VmcsSettings.parse("hlt-exiting=off, Exception-Bitmap=0x4000,PLE_GAP=128,cr3-target-value0=0x1000,"
                + "io-bitmap=0x60-0x64,io-bitmap=0x80:off,msr-bitmap=read:0x10,msr-bitmap=write:0xc0000080-0xc0000081:off");
        assertEquals(List.of(
                new VmcsSettings.ControlSwitch(ProcessorControl.HLT_EXITING, false),
                new VmcsSettings.FieldWrite(VmcsField.EXCEPTION_BITMAP, 0x4000),
                new VmcsSettings.FieldWrite(VmcsField.PLE_GAP, 128),
                new VmcsSettings.FieldWrite(VmcsField.CR3_TARGET_VALUE0, 0x1000),
                new VmcsSettings.PortRange(0x60, 0x64, true),
                new VmcsSettings.PortRange(0x80, 0x80, false),
                new VmcsSettings.MsrRange(false, 0x10, 0x10, true),
                new VmcsSettings.MsrRange(true, 0xC000_0080L, 0xC000_0081L, false)), s.items());
        assertEquals(Map.of(ProcessorControl.HLT_EXITING, false), s.controlBits());
        assertTrue(VmcsSettings.parse("").isEmpty());
        assertEquals(Map.of(ProcessorControl.RDTSC_EXITING, true), ControlNames.parseSettings("rdtsc-exiting=on,,"));
    }

    @Test
    void malformedOrUnknownEntriesAreOneLineErrorsNamingTheEntry() {
        assertEquals("--set warp-drive=on: unknown VMX control or VMCS field 'warp-drive' (vmx:controls and vmx:vmcs list the names)",
                error("warp-drive=on"));
        assertTrue(error("hlt-exiting").startsWith("--set takes NAME=VALUE"));
        assertTrue(error("hlt-exiting=maybe").contains("on or off"));
        assertTrue(error("exception-bitmap=lots").contains("'lots' is not a number"));
        assertTrue(error("vm-exit-reason=1").contains("VM_EXIT_REASON is a read-only VM-exit information field (SDM 3C 25.9)"));
        assertTrue(error("exit-qualification=1").contains("read-only"));
        assertTrue(error("ple-gap=0x100000000").contains("does not fit the 32-bit field PLE_GAP"));
        assertTrue(error("virtual-processor-id=0x10000").contains("16-bit"));
        assertTrue(error("io-bitmap=0x10000").contains("ports are 0 to 0xffff"));
        assertTrue(error("io-bitmap=0x64-0x60").contains("bad port range"));
        assertTrue(error("io-bitmap=0x60:maybe").contains(":on or :off"));
        assertTrue(error("msr-bitmap=0x10").contains("read|write:MSR"));
        assertTrue(error("msr-bitmap=exec:0x10").contains("read: or write:"));
        assertTrue(error("msr-bitmap=read:0x2000").contains("SDM 3C 25.6.9"), "0x2000 has no bit: it always exits");
        assertTrue(error("msr-bitmap=read:0x1fff-0xc0000000").contains("not all in"));
        assertTrue(error("use-tsc-offsetting=on,conceal-vmx-from-pt=on").contains("ambiguous"));
    }

    @Test
    void numbersAreDecimalOrHexAndNegativeValuesWrapToTheFieldWidth() {
        assertEquals(new VmcsSettings.FieldWrite(VmcsField.VMCS_LINK_POINTER, -1L), VmcsSettings.parseItem("vmcs-link-pointer=-1"));
        assertEquals(new VmcsSettings.FieldWrite(VmcsField.PAGE_FAULT_ERROR_CODE_MASK, 0xFFFF_FFFFL),
                VmcsSettings.parseItem("page-fault-error-code-mask=-1"));
        assertEquals(0x1234, VmcsSettings.parseNumber("0x12_34"));
        assertEquals(10, VmcsSettings.parseNumber("010"), "no octal surprise");
    }

    @Test
    void noVmcsFieldNameCollidesWithAControlName() {
        for (VmcsField f : VmcsField.values()) {
            assertEquals(null, ControlNames.lookup(f.name()), f.name());
        }
    }

    @Test
    void controlWordsReplaceTheKernelsThenBitmapsImplyTheirBitsThenExplicitBitsWin() {
        VmcsSetup.Controls base = VmcsSetup.Controls.defaults();
        VmcsSetup.Controls c = VmcsSettings.parse("pin-based-vm-exec-control=0x8,io-bitmap=0xf4,msr-bitmap=read:0x10").applyTo(base);
        assertEquals(0x8, c.pin(), "the whole word replaces the kernel's");
        assertTrue(ProcessorControl.USE_IO_BITMAPS.isSet(c.proc()));
        assertFalse(ProcessorControl.UNCONDITIONAL_IO_EXITING.isSet(c.proc()));
        assertTrue(ProcessorControl.USE_MSR_BITMAPS.isSet(c.proc()));
        VmcsSetup.Controls explicit = VmcsSettings.parse("io-bitmap=0xf4,unconditional-io-exiting=on,nmi-exiting=off").applyTo(base);
        assertTrue(ProcessorControl.UNCONDITIONAL_IO_EXITING.isSet(explicit.proc()), "an explicit bit wins over the implied one");
        assertFalse(PinBasedControl.NMI_EXITING.isSet(explicit.pin()));
        assertEquals(base, VmcsSettings.NONE.applyTo(base), "without --set the kernel's words stay");
    }

    @Test
    void aControlWordGoesThroughTheCapabilityAdjustment() {
        VmxProcessor p = new FakeVmx();
        assertEquals(0x16 | 0x8, VmcsSettings.adjustControlWord(p, VmcsField.PIN_BASED_VM_EXEC_CONTROL, 0x8), "must-be-1 bits added");
        String refused = assertThrows(IllegalArgumentException.class,
                () -> VmcsSettings.adjustControlWord(p, VmcsField.SECONDARY_VM_EXEC_CONTROL, 1)).getMessage();
        assertTrue(refused.contains("does not support SECONDARY_VM_EXEC_CONTROL control bits 0x1"), refused);
    }

    @Test
    void unusedControlBitTypeIsStillAControlBit() {
        ControlBit b = ControlNames.find("proc.hlt-exiting");
        assertEquals(ProcessorControl.HLT_EXITING, b);
    }
}
