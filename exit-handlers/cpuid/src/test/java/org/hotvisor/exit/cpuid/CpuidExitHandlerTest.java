package org.hotvisor.exit.cpuid;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.hotvisor.api.ExitAction;
import org.hotvisor.api.ExitReason;
import org.hotvisor.exit.testkit.FakeMemory;
import org.hotvisor.exit.testkit.FakeVcpu;
import org.hotvisor.exit.testkit.FakeVmExit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class CpuidExitHandlerTest {
    private CpuidExitHandler handler;

    @BeforeEach
    void setUp() {
        handler = new CpuidExitHandler();
        handler.activate(Map.of());
    }

    /** Runs CPUID with EAX=leaf, ECX=subleaf on vCPU {@code vcpu}; returns {EAX, EBX, ECX, EDX} as unsigned longs. */
    private long[] cpuid(int vcpu, long rax, long rcx) {
        FakeVmExit exit = new FakeVmExit(new FakeVcpu(vcpu), new FakeMemory(16));
        exit.reason = ExitReason.CPUID;
        exit.registers.setRax(rax);
        exit.registers.setRcx(rcx);
        exit.registers.setRbx(0xDEAD_BEEF_0000_0000L);
        exit.registers.setRdx(0xDEAD_BEEF_0000_0000L);
        assertEquals(ExitAction.EMULATED, handler.handle(exit));
        return new long[] {exit.registers.rax(), exit.registers.rbx(), exit.registers.rcx(), exit.registers.rdx()};
    }

    private long[] cpuid(long leaf) {
        return cpuid(0, leaf, 0);
    }

    private static String ascii(long... words) {
        ByteBuffer bb = ByteBuffer.allocate(4 * words.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long w : words) {
            bb.putInt((int) w);
        }
        return new String(bb.array(), StandardCharsets.US_ASCII);
    }

    @Test
    void leaf0ReportsMaxBasicLeafAndVendorInEbxEdxEcxOrder() {
        long[] r = cpuid(0);
        assertEquals(0xD, r[0]);
        assertEquals("GenuineIntel", ascii(r[1], r[3], r[2]));
    }

    @Test
    void vendorChangeThroughModifiedAppliesToTheNextCpuid() {
        handler.modified(Map.of("vendor", "AuthenticAMD"));
        long[] r = cpuid(0);
        assertEquals("AuthenticAMD", ascii(r[1], r[3], r[2]));
        handler.modified(Map.of());
        r = cpuid(0);
        assertEquals("GenuineIntel", ascii(r[1], r[3], r[2]));
    }

    @Test
    void shortVendorIsPaddedAndReportedAsAProblem() {
        CpuModel m = CpuModel.from(Map.of("vendor", "Tiny"));
        assertEquals("Tiny        ", m.vendor);
        assertFalse(m.problems.isEmpty());
    }

    @Test
    void leaf1DefaultFeatureWordsAreExactlyTheImplementedOnes() {
        long[] r = cpuid(1);
        // FPU, PSE, TSC, MSR, PAE, CX8, MTRR, CMOV, PAT, CLFSH, MMX, FXSR, SSE, SSE2; no APIC, no SEP, no PGE.
        assertEquals(0x0789_B979L, r[3]);
        assertEquals(0L, r[3] & CpuFeatures.EDX_APIC);
        assertEquals(4, (r[1] >>> 8) & 0xFF, "CLFLUSH line size: 4 x 8 = 32 bytes, the L2 line of the cache model");
        assertEquals(0x8402_0001L, r[2], "SSE3, PCID, XSAVE and the hypervisor bit; no SSSE3, no VMX; OSXSAVE clear while CR4.OSXSAVE is");
        // family 6, model 1, stepping 0
        assertEquals(0x610L, r[0]);
    }

    @Test
    void metatypeDefaultsAgreeWithTheFeatureTable() throws Exception {
        assertEquals(CpuFeatures.DEFAULT_LEAF1_EDX,
                Integer.decode((String) CpuidConfig.class.getMethod("leaf1_edx").getDefaultValue()));
        assertEquals(CpuFeatures.DEFAULT_LEAF1_ECX,
                Integer.parseUnsignedInt(((String) CpuidConfig.class.getMethod("leaf1_ecx").getDefaultValue()).substring(2), 16));
    }

    @Test
    void leaf1FeatureWordsAndVersionAreConfigurable() {
        Map<String, Object> cfg = new HashMap<>();
        cfg.put("leaf1.edx", "0x00000011");
        cfg.put("leaf1.ecx", "0x80000020");
        cfg.put("family", "0x10");     // extended family 1 on top of 0xF
        cfg.put("model", "0x3A");      // extended model 3
        cfg.put("stepping", "9");
        handler.modified(cfg);
        long[] r = cpuid(1);
        assertEquals(0x11L, r[3]);
        assertEquals(0x8000_0020L, r[2]);
        assertEquals(0x0013_0FA9L, r[0]);
    }

    @Test
    void badConfigValuesKeepTheirDefaults() {
        handler.modified(Map.of("leaf1.edx", "lots", "family", "999"));
        long[] r = cpuid(1);
        assertEquals(0x0789_B979L, r[3]);
        assertEquals(0x610L, r[0]);
        assertEquals(2, handler.model().problems.size());
    }

    @Test
    void leaf1EbxCarriesTheInitialApicIdOfTheVcpu() {
        assertEquals(0L, cpuid(0, 1, 0)[1] >>> 24);
        assertEquals(3L, cpuid(3, 1, 0)[1] >>> 24);
    }

    @Test
    void upperHalvesOfRaxToRdxAreCleared() {
        long[] r = cpuid(0, 0xFFFF_FFFF_0000_0000L, 0xFFFF_FFFF_0000_0000L); // leaf 0, subleaf 0
        for (long v : r) {
            assertEquals(0L, v >>> 32);
        }
        assertEquals(0xDL, r[0]);
    }

    @Test
    void leaf2DescribesCachesAndTlbs() {
        long[] r = cpuid(2);
        assertEquals(0x01L, r[0] & 0xFF, "execute leaf 2 once");
        assertEquals(CpuModel.LEAF2_EAX & 0xFFFF_FFFFL, r[0]);
        assertEquals(CpuModel.LEAF2_EDX & 0xFFFF_FFFFL, r[3]);
        assertTrue(((r[3] >> 24) & 0xFF) == 0x0C || ((r[3] >> 0) & 0xFF) == 0x43);
    }

    @Test
    void leaf4EnumeratesThreeCachesThenNull() {
        long[] l1d = cpuid(0, 4, 0);
        assertEquals(1L, l1d[0] & 0x1F, "data cache");
        assertEquals(1L, (l1d[0] >> 5) & 7, "level 1");
        long size = ((l1d[1] >> 22) + 1) * (((l1d[1] >> 12) & 0x3FF) + 1) * ((l1d[1] & 0xFFF) + 1) * (l1d[2] + 1);
        assertEquals(16 * 1024, size);
        assertEquals(2L, cpuid(0, 4, 1)[0] & 0x1F, "instruction cache");
        long[] l2 = cpuid(0, 4, 2);
        assertEquals(3L, l2[0] & 0x1F);
        assertEquals(2L, (l2[0] >> 5) & 7);
        assertEquals(512 * 1024, ((l2[1] >> 22) + 1) * (((l2[1] >> 12) & 0x3FF) + 1) * ((l2[1] & 0xFFF) + 1) * (l2[2] + 1));
        assertArrayEquals(new long[4], cpuid(0, 4, 3));
        assertArrayEquals(new long[4], cpuid(0, 4, 1000));
    }

    @Test
    void leaf7Subleaf0ReportsFsgsbaseAndInvpcidByDefault() {
        assertArrayEquals(new long[] {0, 0x401, 0, 0}, cpuid(0, 7, 0));
        handler.modified(Map.of("leaf7.ebx", "0x1"));
        assertEquals(1L, cpuid(0, 7, 0)[1]);
        assertArrayEquals(new long[4], cpuid(0, 7, 1));
    }

    @Test
    void leafBTopologyLevelsAndX2ApicId() {
        long[] smt = cpuid(2, 0xB, 0);
        assertEquals(0L, smt[0] & 0x1F);
        assertEquals(1L, smt[1]);
        assertEquals(0x100L, smt[2], "level 0, type SMT");
        assertEquals(2L, smt[3], "x2APIC ID");
        long[] core = cpuid(2, 0xB, 1);
        assertEquals(0x201L, core[2], "level 1, type core");
        assertEquals(1L, core[1]);
        long[] invalid = cpuid(2, 0xB, 5);
        assertEquals(5L, invalid[2], "level number echoed, type invalid");
        assertEquals(0L, invalid[0]);
        assertEquals(0L, invalid[1]);
        assertEquals(2L, invalid[3]);
    }

    @Test
    void topologyFollowsConfiguredLogicalProcessors() {
        handler.modified(Map.of("logical.processors", "4"));
        long[] core = cpuid(0, 0xB, 1);
        assertEquals(2L, core[0] & 0x1F, "shift for 4 cores");
        assertEquals(4L, core[1]);
        long[] leaf1 = cpuid(1);
        assertTrue((leaf1[3] & CpuFeatures.EDX_HTT) != 0);
        assertEquals(4L, (leaf1[1] >> 16) & 0xFF);
        assertEquals(3L, cpuid(0, 4, 0)[0] >>> 26);
    }

    @Test
    void unimplementedLeavesWithinRangeReturnZeros() {
        assertArrayEquals(new long[4], cpuid(3));
        assertArrayEquals(new long[4], cpuid(0xA));
        assertArrayEquals(new long[4], cpuid(0x8000_0005L));
    }

    @Test
    void leavesAboveTheMaximumReturnTheHighestBasicLeafHonouringEcx() {
        assertArrayEquals(cpuid(0, 0xD, 1), cpuid(0, 0xE, 1));
        assertArrayEquals(cpuid(0, 0xD, 0), cpuid(0, 0x8000_0009L, 0));
        assertArrayEquals(cpuid(0, 0xD, 0), cpuid(0, 0x4000_0002L, 0));
        assertArrayEquals(cpuid(0, 0xD, 0), cpuid(0, 0xC000_0000L, 0));
        assertArrayEquals(cpuid(0, 0xD, 0), cpuid(0, 0xFFFF_FFFFL, 0));
    }

    @Test
    void hypervisorLeavesCarryOurSignature() {
        long[] r = cpuid(0x4000_0000L);
        assertEquals(0x4000_0001L, r[0]);
        assertEquals("HotvisorVMX!", ascii(r[1], r[2], r[3]));
        long[] info = cpuid(0x4000_0001L);
        assertEquals(CpuModel.HYPERVISOR_INTERFACE_REVISION, info[0]);
        assertEquals(CpuModel.HOTVISOR_VERSION, info[1]);
    }

    @Test
    void clearingTheHypervisorBitHidesTheHypervisorLeaves() {
        handler.modified(Map.of("leaf1.ecx", "0"));
        assertEquals(0L, cpuid(1)[2]);
        assertArrayEquals(cpuid(0, 0xD, 0), cpuid(0, 0x4000_0000L, 0));
    }

    @Test
    void aLocalApicBundleAddsApicX2apicAndTscDeadlineToLeaf1() {
        assertEquals(0L, cpuid(1)[3] & CpuFeatures.EDX_APIC, "no APIC without the lapic bundle");
        handler.apic = new org.hotvisor.api.device.ApicBus() {
            @Override public void deliver(int destination, boolean logical, int deliveryMode, int vector, boolean level) { }
            @Override public void eoiListener(EoiListener listener) { }
        };
        long[] r = cpuid(1);
        assertEquals(CpuFeatures.EDX_APIC, r[3] & CpuFeatures.EDX_APIC);
        assertEquals(CpuFeatures.ECX_X2APIC | CpuFeatures.ECX_TSC_DEADLINE,
                r[2] & (CpuFeatures.ECX_X2APIC | CpuFeatures.ECX_TSC_DEADLINE));
        handler.apic = null;
        assertEquals(0L, cpuid(1)[3] & CpuFeatures.EDX_APIC, "the bundle went away");
    }

    private static final org.hotvisor.api.device.ApicBus SOME_APIC_BUS = new org.hotvisor.api.device.ApicBus() {
        @Override public void deliver(int destination, boolean logical, int deliveryMode, int vector, boolean level) { }
        @Override public void eoiListener(EoiListener listener) { }
    };
    private static final long APIC_FEATURES_ECX = CpuFeatures.ECX_X2APIC | CpuFeatures.ECX_TSC_DEADLINE;

    /** CPUID leaf 1 on {@code vcpu}: {ECX, EDX}. */
    private long[] leaf1(FakeVcpu vcpu) {
        FakeVmExit exit = new FakeVmExit(vcpu, new FakeMemory(16));
        exit.reason = ExitReason.CPUID;
        exit.registers.setRax(1);
        assertEquals(ExitAction.EMULATED, handler.handle(exit));
        return new long[] {exit.registers.rcx(), exit.registers.rdx()};
    }

    @Test
    void aGloballyDisabledApicIsNotReportedOnThatVcpu() {
        handler.apic = SOME_APIC_BUS;
        FakeVcpu bsp = new FakeVcpu(0);
        FakeVcpu ap = new FakeVcpu(1);
        AtomicLong bspBase = new AtomicLong(0xFEE0_0900L);
        AtomicLong apBase = new AtomicLong(0xFEE0_0800L);
        bsp.stateMap().put(CpuidExitHandler.APIC_BASE_KEY, bspBase);
        ap.stateMap().put(CpuidExitHandler.APIC_BASE_KEY, apBase);
        assertEquals(CpuFeatures.EDX_APIC, leaf1(ap)[1] & CpuFeatures.EDX_APIC);

        apBase.set(0xFEE0_0000L); // WRMSR IA32_APIC_BASE with EN clear, as the lapic bundle publishes it
        long[] disabled = leaf1(ap);
        assertEquals(0L, disabled[1] & CpuFeatures.EDX_APIC, "SDM 3A 11.4.3: no APIC while IA32_APIC_BASE.EN = 0");
        assertEquals(0L, disabled[0] & APIC_FEATURES_ECX, "nor x2APIC or the TSC-deadline timer");
        assertEquals(CpuFeatures.EDX_APIC, leaf1(bsp)[1] & CpuFeatures.EDX_APIC, "the other vCPU's APIC is still enabled");

        apBase.set(0xFEE0_0800L);
        long[] enabled = leaf1(ap);
        assertEquals(CpuFeatures.EDX_APIC, enabled[1] & CpuFeatures.EDX_APIC, "re-enabled");
        assertEquals(APIC_FEATURES_ECX, enabled[0] & APIC_FEATURES_ECX);
        assertEquals(enabled[1], disabled[1] | CpuFeatures.EDX_APIC, "nothing else of EDX changes");
        assertEquals(enabled[0], disabled[0] | APIC_FEATURES_ECX, "nothing else of ECX changes");
    }

    @Test
    void withoutAPublishedBaseTheApicCountsAsEnabledAndTheHolderIsSharedWithTheLapic() {
        handler.apic = SOME_APIC_BUS;
        FakeVcpu vcpu = new FakeVcpu(0);
        assertEquals(CpuFeatures.EDX_APIC, leaf1(vcpu)[1] & CpuFeatures.EDX_APIC, "power-on: enabled");
        Object created = vcpu.stateMap().get(CpuidExitHandler.APIC_BASE_KEY);
        AtomicLong holder = assertInstanceOf(AtomicLong.class, created, "the lapic finds and updates the same holder");
        assertEquals(CpuidExitHandler.APIC_BASE_ENABLE, holder.get());
        holder.set(0);
        assertEquals(0L, leaf1(vcpu)[1] & CpuFeatures.EDX_APIC);
    }

    @Test
    void aForeignObjectUnderTheKeyLeavesTheApicReported() {
        handler.apic = SOME_APIC_BUS;
        FakeVcpu vcpu = new FakeVcpu(0);
        vcpu.stateMap().put(CpuidExitHandler.APIC_BASE_KEY, new long[] {0});
        assertEquals(CpuFeatures.EDX_APIC, leaf1(vcpu)[1] & CpuFeatures.EDX_APIC);
    }

    @Test
    void withoutTheLapicBundleADisabledBaseChangesNothing() {
        FakeVcpu vcpu = new FakeVcpu(0);
        vcpu.stateMap().put(CpuidExitHandler.APIC_BASE_KEY, new AtomicLong(0xFEE0_0000L));
        long[] r = leaf1(vcpu);
        assertEquals(0L, r[1] & CpuFeatures.EDX_APIC);
        assertEquals(0L, r[0] & APIC_FEATURES_ECX);
    }

    @Test
    void extendedLeaves() {
        assertEquals(0x8000_0008L, cpuid(0x8000_0000L)[0]);
        long[] f = cpuid(0x8000_0001L);
        assertEquals(1L, f[2], "LAHF/SAHF in 64-bit mode");
        assertEquals(0x2C10_0800L, f[3], "SYSCALL, NX, 1-GByte pages, RDTSCP, LM");
        long[] l2 = cpuid(0x8000_0006L);
        assertEquals(512L, l2[2] >>> 16);
        assertEquals(32L, l2[2] & 0xFF);
        assertEquals(0x3024L, cpuid(0x8000_0008L)[0], "48 linear, 36 physical bits");
    }

    @Test
    void brandStringIsNulTerminatedAndConfigurable() {
        StringBuilder sb = new StringBuilder();
        for (long leaf = 0x8000_0002L; leaf <= 0x8000_0004L; leaf++) {
            long[] r = cpuid(leaf);
            sb.append(ascii(r));
        }
        assertEquals(48, sb.length());
        assertEquals("Hotvisor Virtual CPU @ 1.00GHz", sb.toString().replace("\0", ""));
        assertEquals('\0', sb.charAt(47));

        handler.modified(Map.of("brand", "x".repeat(60)));
        long[] last = cpuid(0x8000_0004L);
        assertEquals(0L, last[3] >>> 24, "byte 47 stays NUL even when the brand is too long");
    }

    @Test
    void hotPathDoesNotAllocate() {
        var bean = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        FakeVmExit exit = new FakeVmExit(new FakeVcpu(0), new FakeMemory(16));
        long[] leaves = {0, 1, 2, 4, 7, 0xB, 0x4000_0000L, 0x8000_0002L, 0x1234};
        for (int warm = 0; warm < 20_000; warm++) {
            exit.registers.setRax(leaves[warm % leaves.length]);
            handler.handle(exit);
        }
        long tid = Thread.currentThread().threadId();
        long before = bean.getThreadAllocatedBytes(tid);
        for (int i = 0; i < 10_000; i++) {
            exit.registers.setRax(leaves[i % leaves.length]);
            exit.registers.setRcx(i & 3);
            handler.handle(exit);
        }
        long allocated = bean.getThreadAllocatedBytes(tid) - before;
        assertTrue(allocated < 4096, "CPUID allocated " + allocated + " bytes over 10000 exits");
    }

    @Test
    void leaf1WithTheLapicBoundDoesNotAllocate() {
        handler.apic = SOME_APIC_BUS;
        var bean = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        FakeVmExit exit = new FakeVmExit(new FakeVcpu(0), new FakeMemory(16));
        for (int warm = 0; warm < 20_000; warm++) {
            exit.registers.setRax(1);
            handler.handle(exit);
        }
        long tid = Thread.currentThread().threadId();
        long before = bean.getThreadAllocatedBytes(tid);
        for (int i = 0; i < 10_000; i++) {
            exit.registers.setRax(1);
            handler.handle(exit);
        }
        long allocated = bean.getThreadAllocatedBytes(tid) - before;
        assertTrue(allocated < 4096, "leaf 1 allocated " + allocated + " bytes over 10000 exits");
    }
}
