package org.hotvisor.exit.msr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.hotvisor.api.ExitAction;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.Register;
import org.hotvisor.api.device.MsrDevice;
import org.hotvisor.api.vmx.VmcsField;
import org.hotvisor.exit.testkit.FakeClock;
import org.hotvisor.exit.testkit.FakeMemory;
import org.hotvisor.exit.testkit.FakeVcpu;
import org.hotvisor.exit.testkit.FakeVmExit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MsrExitHandlerTest {
    private FakeClock clock;
    private MsrExitHandler handler;
    private FakeVmExit exit;
    private long nextServiceId = 1;

    @BeforeEach
    void setUp() {
        clock = new FakeClock();
        handler = new MsrExitHandler(clock, Map.of());
        exit = new FakeVmExit(new FakeVcpu(0), new FakeMemory(16));
    }

    private long rdmsr(int index) {
        exit.reason = ExitReason.RDMSR;
        exit.resetOutcome();
        exit.registers.setRcx(0xFFFF_FFFF_0000_0000L | (index & 0xFFFF_FFFFL)); // upper RCX bits are ignored
        exit.registers.setRax(0xAAAA_AAAA_AAAA_AAAAL);
        exit.registers.setRdx(0xBBBB_BBBB_BBBB_BBBBL);
        ExitAction action = handler.handle(exit);
        if (action == ExitAction.RESUME) {
            return Long.MIN_VALUE + 13; // marker: faulted
        }
        assertEquals(ExitAction.EMULATED, action);
        assertEquals(0L, exit.registers.rax() >>> 32, "upper RAX cleared");
        assertEquals(0L, exit.registers.rdx() >>> 32, "upper RDX cleared");
        return exit.registers.rdx() << 32 | exit.registers.rax();
    }

    private ExitAction wrmsr(int index, long value) {
        exit.reason = ExitReason.WRMSR;
        exit.resetOutcome();
        exit.registers.setRcx(index & 0xFFFF_FFFFL);
        exit.registers.setRax(0x5555_5555_0000_0000L | (value & 0xFFFF_FFFFL)); // upper halves are ignored
        exit.registers.setRdx(0x6666_6666_0000_0000L | (value >>> 32));
        return handler.handle(exit);
    }

    private void assertGp(ExitAction action) {
        assertEquals(ExitAction.RESUME, action);
        assertEquals(13, exit.injectedVector);
        assertEquals(0, exit.injectedErrorCode);
    }

    private void assertOk(ExitAction action) {
        assertEquals(ExitAction.EMULATED, action);
        assertEquals(-1, exit.injectedVector);
    }

    @Test
    void storedMsrsRoundTripThroughEdxEax() {
        long[][] cases = {
            {Msrs.IA32_STAR, 0x0023_0010_DEAD_BEEFL},
            {Msrs.IA32_CSTAR, 0xFFFF_8000_0000_0000L},
            {Msrs.IA32_LSTAR, 0xFFFF_8000_0000_1000L},
            {Msrs.IA32_FMASK, 0x0004_7700L},
            {Msrs.IA32_KERNEL_GS_BASE, 0x0000_7FFF_FFFF_F000L},
            {Msrs.IA32_MCG_STATUS, 0x5},
            {Msrs.IA32_MTRR_DEF_TYPE, 0xC06},
            {Msrs.IA32_MTRR_FIX64K_00000, 0x0606_0606_0606_0606L},
            {Msrs.IA32_MTRR_FIX4K_F8000, 0x0500_0000_0405_0106L},
            {Msrs.IA32_MTRR_PHYSBASE0 + 2, 0xF_FFFF_F006L},
            {Msrs.IA32_MTRR_PHYSBASE0 + 3, 0xF_FFFF_F800L},
        };
        for (long[] c : cases) {
            assertOk(wrmsr((int) c[0], c[1]));
            assertEquals(c[1], rdmsr((int) c[0]), () -> "MSR 0x" + Long.toHexString(c[0]));
        }
    }

    @Test
    void stateLivesInTheVcpuAsJdkTypesAndSurvivesANewHandler() {
        assertOk(wrmsr(Msrs.IA32_STAR, 0x1234));
        for (Object v : exit.vcpu.stateMap().values()) {
            assertTrue(v.getClass().getName().startsWith("java.") || v.getClass().isArray()
                    && v.getClass().getComponentType().isPrimitive(), v.getClass().getName());
        }
        handler = new MsrExitHandler(clock, Map.of()); // a hot swap: a fresh handler, the same vCPU
        assertEquals(0x1234L, rdmsr(Msrs.IA32_STAR));
    }

    @Test
    void vmcsBackedMsrsUseTheGuestStateFields() {
        assertOk(wrmsr(Msrs.IA32_SYSENTER_CS, 0x1_0000_0008L));
        assertEquals(0x8L, exit.field(VmcsField.GUEST_SYSENTER_CS), "32-bit field");
        assertOk(wrmsr(Msrs.IA32_SYSENTER_ESP, 0xC000_1000L));
        assertEquals(0xC000_1000L, exit.field(VmcsField.GUEST_SYSENTER_ESP));
        assertOk(wrmsr(Msrs.IA32_SYSENTER_EIP, 0xC010_0000L));
        assertEquals(0xC010_0000L, exit.field(VmcsField.GUEST_SYSENTER_EIP));
        assertOk(wrmsr(Msrs.IA32_FS_BASE, 0x7000_0000L));
        assertEquals(0x7000_0000L, exit.field(VmcsField.GUEST_FS_BASE));
        assertOk(wrmsr(Msrs.IA32_GS_BASE, 0xFFFF_8000_0000_0000L));
        assertEquals(0xFFFF_8000_0000_0000L, exit.field(VmcsField.GUEST_GS_BASE));
        exit.setField(VmcsField.GUEST_FS_BASE, 0x4242);
        assertEquals(0x4242L, rdmsr(Msrs.IA32_FS_BASE));
        assertOk(wrmsr(Msrs.IA32_PAT, 0x0007_0406_0007_0406L));
        assertEquals(0x0007_0406_0007_0406L, exit.field(VmcsField.GUEST_IA32_PAT));
        assertEquals(0x0007_0406_0007_0406L, rdmsr(Msrs.IA32_PAT));
    }

    @Test
    void nonCanonicalAddressesTakeGp() {
        int[] checked = {Msrs.IA32_FS_BASE, Msrs.IA32_GS_BASE, Msrs.IA32_KERNEL_GS_BASE, Msrs.IA32_LSTAR,
            Msrs.IA32_CSTAR, Msrs.IA32_SYSENTER_ESP, Msrs.IA32_SYSENTER_EIP};
        for (int msr : checked) {
            exit.clearVmcs();
            assertGp(wrmsr(msr, 0x0000_8000_0000_0000L));
            assertGp(wrmsr(msr, 0xFFFF_7FFF_FFFF_FFFFL));
            assertEquals(0, exit.vmwrites, "nothing written on #GP");
            assertOk(wrmsr(msr, 0x0000_7FFF_FFFF_FFFFL));
        }
    }

    @Test
    void eferReservedBitsLmeWhilePagingAndReadOnlyLma() {
        assertOk(wrmsr(Msrs.IA32_EFER, ArchitecturalMsrs.EFER_SCE | ArchitecturalMsrs.EFER_NXE));
        assertEquals(0x801L, exit.field(VmcsField.GUEST_IA32_EFER));
        assertGp(wrmsr(Msrs.IA32_EFER, 1L << 1));
        assertGp(wrmsr(Msrs.IA32_EFER, 1L << 63));

        exit.registers.set(Register.CR0, 0x8000_0011L); // paging on
        assertGp(wrmsr(Msrs.IA32_EFER, 0x801L | ArchitecturalMsrs.EFER_LME));
        assertOk(wrmsr(Msrs.IA32_EFER, 0x001L), "other bits may change while paging");
        exit.registers.set(Register.CR0, 0x11L); // paging off
        assertOk(wrmsr(Msrs.IA32_EFER, ArchitecturalMsrs.EFER_LME));
        assertEquals(ArchitecturalMsrs.EFER_LME, rdmsr(Msrs.IA32_EFER));

        // LMA is computed by the CPU: a written LMA is ignored, the current one kept.
        assertOk(wrmsr(Msrs.IA32_EFER, ArchitecturalMsrs.EFER_LME | ArchitecturalMsrs.EFER_LMA));
        assertEquals(ArchitecturalMsrs.EFER_LME, exit.field(VmcsField.GUEST_IA32_EFER));
        exit.setField(VmcsField.GUEST_IA32_EFER, ArchitecturalMsrs.EFER_LME | ArchitecturalMsrs.EFER_LMA);
        assertOk(wrmsr(Msrs.IA32_EFER, ArchitecturalMsrs.EFER_LME));
        assertEquals(ArchitecturalMsrs.EFER_LME | ArchitecturalMsrs.EFER_LMA, exit.field(VmcsField.GUEST_IA32_EFER));
    }

    private static void assertOk(ExitAction action, String message) {
        assertEquals(ExitAction.EMULATED, action, message);
    }

    @Test
    void eferWritableMaskIsConfigurable() {
        handler.modified(Map.of("efer.writable", "0x1"));
        assertGp(wrmsr(Msrs.IA32_EFER, ArchitecturalMsrs.EFER_NXE));
        assertOk(wrmsr(Msrs.IA32_EFER, ArchitecturalMsrs.EFER_SCE));
    }

    @Test
    void patRejectsReservedMemoryTypes() {
        assertGp(wrmsr(Msrs.IA32_PAT, 0x0000_0000_0000_0002L));
        assertGp(wrmsr(Msrs.IA32_PAT, 0x0300_0000_0000_0000L));
        assertGp(wrmsr(Msrs.IA32_PAT, 0x0000_0000_0000_0008L));
        assertOk(wrmsr(Msrs.IA32_PAT, 0x0706_0504_0100_0007L));
    }

    @Test
    void mtrrValidityAndReadOnlyCap() {
        assertEquals(0x508L, rdmsr(Msrs.IA32_MTRRCAP));
        assertGp(wrmsr(Msrs.IA32_MTRRCAP, 0));
        assertGp(wrmsr(Msrs.IA32_MTRR_DEF_TYPE, 0x2), "type 2 reserved");
        assertGp(wrmsr(Msrs.IA32_MTRR_DEF_TYPE, 0x1006), "bit 12 reserved");
        assertGp(wrmsr(Msrs.IA32_MTRR_FIX16K_A0000, 0x0007_0000_0000_0000L), "7 is a PAT-only type");
        assertGp(wrmsr(Msrs.IA32_MTRR_PHYSBASE0, 0x1000_0000_0006L), "above MAXPHYADDR 36");
        assertGp(wrmsr(Msrs.IA32_MTRR_PHYSBASE0, 0x106L), "bits 11:8 reserved");
        assertGp(wrmsr(Msrs.IA32_MTRR_PHYSBASE0, 0x3L), "type 3 reserved");
        assertGp(wrmsr(Msrs.IA32_MTRR_PHYSBASE0 + 1, 0x801L), "PHYSMASK bits 10:0 reserved");
        assertOk(wrmsr(Msrs.IA32_MTRR_PHYSBASE0 + 1, 0xF_F000_0800L));
        handler.modified(Map.of("physical.address.bits", "40"));
        assertOk(wrmsr(Msrs.IA32_MTRR_PHYSBASE0, 0xF0_0000_0006L));
    }

    private static void assertGp(ExitAction action, String why) {
        assertEquals(ExitAction.RESUME, action, why);
    }

    @Test
    void machineCheckMsrs() {
        assertEquals(0L, rdmsr(Msrs.IA32_MCG_CAP));
        assertGp(wrmsr(Msrs.IA32_MCG_CAP, 1));
        assertGp(wrmsr(Msrs.IA32_MCG_STATUS, 0x8));
    }

    @Test
    void apicBaseResetValueAndValidity() {
        assertEquals(0xFEE0_0900L, rdmsr(Msrs.IA32_APIC_BASE), "BSP, enabled");
        FakeVmExit ap = new FakeVmExit(new FakeVcpu(1), new FakeMemory(16));
        ap.reason = ExitReason.RDMSR;
        ap.registers.setRcx(Msrs.IA32_APIC_BASE);
        handler.handle(ap);
        assertEquals(0xFEE0_0800L, ap.registers.rax(), "an AP has no BSP flag");

        assertOk(wrmsr(Msrs.IA32_APIC_BASE, 0xFEC0_0100L));
        assertEquals(0xFEC0_0100L, rdmsr(Msrs.IA32_APIC_BASE), "disabled, moved");
        assertGp(wrmsr(Msrs.IA32_APIC_BASE, 0xFEE0_0C00L), "x2APIC is not offered");
        assertGp(wrmsr(Msrs.IA32_APIC_BASE, 0xFEE0_0901L), "bits 7:0 reserved");
        assertGp(wrmsr(Msrs.IA32_APIC_BASE, 0x10_FEE0_0900L), "above MAXPHYADDR");
    }

    @Test
    void miscEnableKeepsReadOnlyBits() {
        assertEquals(0x1801L, rdmsr(Msrs.IA32_MISC_ENABLE));
        assertOk(wrmsr(Msrs.IA32_MISC_ENABLE, 0x40_0000L)); // sets bit 22, clears fast strings, tries to clear 11/12
        assertEquals(0x40_1800L, rdmsr(Msrs.IA32_MISC_ENABLE));
    }

    @Test
    void tscReadIsClockPlusOffsetAndWritesMoveOffsetAndAdjust() {
        clock.now = 1_000_000;
        exit.setField(VmcsField.TSC_OFFSET, 500);
        assertEquals(1_000_500L, rdmsr(Msrs.IA32_TIME_STAMP_COUNTER));

        assertOk(wrmsr(Msrs.IA32_TIME_STAMP_COUNTER, 5_000_000));
        assertEquals(4_000_000L, exit.field(VmcsField.TSC_OFFSET));
        assertEquals(4_000_000L - 500, rdmsr(Msrs.IA32_TSC_ADJUST), "TSC_ADJUST moved by the same delta");
        clock.now = 1_000_100;
        assertEquals(5_000_100L, rdmsr(Msrs.IA32_TIME_STAMP_COUNTER));

        // Writing TSC_ADJUST back to 0 undoes the adjustment: the TSC moves by the delta.
        assertOk(wrmsr(Msrs.IA32_TSC_ADJUST, 0));
        assertEquals(500L, exit.field(VmcsField.TSC_OFFSET));
        assertEquals(1_000_600L, rdmsr(Msrs.IA32_TIME_STAMP_COUNTER));
    }

    @Test
    void unknownMsrTakesGpByDefault() {
        assertGp(wrmsr(0x1234_5678, 1));
        exit.registers.setRcx(0xC001_0015L);
        exit.reason = ExitReason.RDMSR;
        exit.resetOutcome();
        exit.registers.setRax(7);
        assertGp(handler.handle(exit));
        assertEquals(7L, exit.registers.rax(), "no register written on #GP");
    }

    @Test
    void unknownMsrIgnoreAndLogReadsZeroAndDropsWrites() {
        handler.modified(Map.of("unknown.policy", "ignore-and-log"));
        assertOk(wrmsr(0x1234_5678, 99));
        assertEquals(0L, rdmsr(0x1234_5678));
        assertEquals(0L, rdmsr(0xC001_0015));
        handler.modified(Map.of("unknown.policy", "gp"));
        assertGp(wrmsr(0x1234_5678, 99));
        handler.modified(Map.of("unknown.policy", "banana"));
        assertGp(wrmsr(0x1234_5678, 99));
    }

    // ---- MsrDevice routing ----

    static final class FakeMsrDevice implements MsrDevice {
        final long[] values = new long[0x1000]; // indices below 0x1000; 0 = never written
        final long tag;

        FakeMsrDevice(long tag) {
            this.tag = tag;
        }

        @Override
        public long rdmsr(int index) {
            if (index == 0x8FF) {
                throw new IllegalArgumentException("write-only");
            }
            long v = index >= 0 && index < values.length ? values[index] : 0;
            return v != 0 ? v : tag;
        }

        @Override
        public void wrmsr(int index, long value) {
            if (value < 0) {
                throw new IllegalArgumentException("reserved bit");
            }
            values[index] = value;
        }
    }

    private FakeMsrDevice bind(String msrs, Integer ranking, long tag) {
        FakeMsrDevice d = new FakeMsrDevice(tag);
        Map<String, Object> p = new HashMap<>();
        p.put(MsrDevice.MSRS, msrs);
        p.put("service.id", nextServiceId++);
        if (ranking != null) {
            p.put("service.ranking", ranking);
        }
        handler.bindDevice(d, p);
        return d;
    }

    @Test
    void devicesAreAskedBeforeTheArchitecturalTableByRangeAndRanking() {
        bind("0x800-0x8ff", null, 0xA);
        bind("0x830-0x83f, 0x1b", 5, 0xB);
        assertEquals(0xAL, rdmsr(0x800));
        assertEquals(0xBL, rdmsr(0x830), "higher ranking wins on overlap");
        assertEquals(0xAL, rdmsr(0x840));
        assertEquals(0xBL, rdmsr(Msrs.IA32_APIC_BASE), "a device may take an architectural MSR");
        assertGp(wrmsr(0x900, 1), "outside every range and unknown");

        assertOk(wrmsr(0x810, 0x1_2345_6789L));
        assertEquals(0x1_2345_6789L, rdmsr(0x810));
        assertGp(wrmsr(0x810, -1L), "IllegalArgumentException from the device is #GP(0)");
        assertEquals(Long.MIN_VALUE + 13, rdmsr(0x8FF));
        assertEquals(13, exit.injectedVector);

        handler.unbindDevice(null, Map.of("service.id", 2L));
        assertEquals(0xAL, rdmsr(0x830));
        assertEquals(0xFEE0_0900L, rdmsr(Msrs.IA32_APIC_BASE), "back to the architectural MSR");
    }

    @Test
    void rangeTableHandlesHighIndicesAndMerging() {
        bind("0xc0000000-0xc0000fff", null, 1);
        bind("0xc0000080", 10, 2);
        assertEquals(2L, rdmsr(Msrs.IA32_EFER));
        assertEquals(1L, rdmsr(Msrs.IA32_STAR));
        assertEquals(1L, rdmsr(0xC000_0000));
        assertEquals(1L, rdmsr(0xC000_0FFF));
        assertFalse(handler.devices().describe().isEmpty());
    }

    @Test
    void hotPathDoesNotAllocate() {
        var bean = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        bind("0x800-0x8ff", null, 1);
        int[] msrs = {Msrs.IA32_STAR, Msrs.IA32_PAT, Msrs.IA32_TIME_STAMP_COUNTER, 0x810, Msrs.IA32_MTRR_PHYSBASE0};
        for (int i = 0; i < 20_000; i++) {
            rdmsr(msrs[i % msrs.length]);
        }
        long tid = Thread.currentThread().threadId();
        long before = bean.getThreadAllocatedBytes(tid);
        for (int i = 0; i < 10_000; i++) {
            exit.reason = ExitReason.RDMSR;
            exit.registers.setRcx(msrs[i % msrs.length]);
            handler.handle(exit);
            exit.reason = ExitReason.WRMSR;
            exit.registers.setRax(6);
            exit.registers.setRdx(0);
            exit.registers.setRcx(Msrs.IA32_STAR);
            handler.handle(exit);
        }
        long allocated = bean.getThreadAllocatedBytes(tid) - before;
        assertTrue(allocated < 4096, "MSR exits allocated " + allocated + " bytes");
    }
}
