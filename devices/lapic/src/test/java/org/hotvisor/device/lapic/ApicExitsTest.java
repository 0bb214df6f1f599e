package org.hotvisor.device.lapic;

import static org.hotvisor.device.lapic.ApicRegisters.*;
import static org.junit.jupiter.api.Assertions.*;

import org.hotvisor.api.ExitAction;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.Vcpu;
import org.hotvisor.device.testkit.ManualClock;
import org.hotvisor.exit.testkit.FakeVcpu;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The APIC's own exits: its page through EPT violations, its MSRs, and PASS for everything else. */
class ApicExitsTest {
    FakeVcpu[] vcpus;
    ApicSystem system;
    ApicExits exits;
    ApicTestExit bspExit;
    ApicTestExit apExit;

    @BeforeEach
    void setUp() {
        vcpus = new FakeVcpu[] {new FakeVcpu(0), new FakeVcpu(1)};
        system = new ApicSystem(2, 36, new ManualClock(), i -> (Vcpu) vcpus[i]);
        exits = new ApicExits(system);
        bspExit = new ApicTestExit(vcpus[0]);
        apExit = new ApicTestExit(vcpus[1]);
    }

    @Test
    void xapicPageReadsAndWritesTheExitingVcpusApic() {
        assertEquals(ExitAction.RESUME, exits.handle(apExit.access(false, DEFAULT_BASE + ID, 4, 0)));
        assertTrue(apExit.completed);
        assertEquals(1 << 24, apExit.completedValue, "vCPU 1 reads its own ID");
        assertEquals(ExitAction.RESUME, exits.handle(bspExit.access(true, DEFAULT_BASE + TPR, 4, 0x30)));
        assertEquals(0x30, system.apic(0).readRegister(TPR));
        assertEquals(0, system.apic(1).readRegister(TPR));
    }

    @Test
    void otherAddressesFetchesAndRelocatedPagesPass() {
        assertEquals(ExitAction.PASS, exits.handle(bspExit.access(false, 0xFEC0_0000L, 4, 0)), "the I/O APIC is not ours");
        bspExit.access(false, DEFAULT_BASE, 4, 0);
        bspExit.base.qualification = ApicExits.EPT_FETCH;
        assertEquals(ExitAction.PASS, exits.handle(bspExit), "instruction fetch");
        system.apic(1).writeApicBase(0xFED4_0000L | BASE_ENABLE);
        assertEquals(ExitAction.PASS, exits.handle(apExit.access(false, DEFAULT_BASE + VERSION, 4, 0)));
        assertEquals(ExitAction.RESUME, exits.handle(apExit.access(false, 0xFED4_0000L + VERSION, 4, 0)));
        assertEquals(VERSION_VALUE, apExit.completedValue);
        assertEquals(ExitAction.RESUME, exits.handle(bspExit.access(false, DEFAULT_BASE + VERSION, 4, 0)), "vCPU 0 still at the default");
        system.apic(0).writeApicBase(DEFAULT_BASE);
        assertEquals(ExitAction.PASS, exits.handle(bspExit.access(false, DEFAULT_BASE + VERSION, 4, 0)),
                "a disabled APIC decodes nothing: the MMIO handler answers all ones");
    }

    @Test
    void msrsOfTheApicAreEmulatedOthersPass() {
        assertEquals(ExitAction.EMULATED, exits.handle(bspExit.msr(false, IA32_APIC_BASE, 0)));
        assertEquals(0xFEE0_0900L, bspExit.edxEax());
        assertEquals(ExitAction.PASS, exits.handle(bspExit.msr(false, 0x10, 0)), "the TSC is the MSR handler's");
        assertEquals(ExitAction.RESUME, exits.handle(bspExit.msr(false, 0x802, 0)), "x2APIC MSR in xAPIC mode");
        assertEquals(13, bspExit.base.injectedVector);
        assertEquals(0, bspExit.base.injectedErrorCode);
        assertEquals(ExitAction.EMULATED, exits.handle(bspExit.msr(true, IA32_APIC_BASE, 0xFEE0_0000L | BASE_ENABLE | BASE_EXTD)));
        assertEquals(ExitAction.EMULATED, exits.handle(bspExit.msr(false, 0x803, 0)));
        assertEquals(VERSION_VALUE, bspExit.edxEax());
        assertEquals(-1, bspExit.base.injectedVector);
        assertEquals(ExitAction.RESUME, exits.handle(bspExit.msr(true, IA32_APIC_BASE, 0xFEE0_0000L | BASE_ENABLE)),
                "x2APIC -> xAPIC is #GP");
        assertEquals(13, bspExit.base.injectedVector);
    }

    @Test
    void tscDeadlineMsrRoundTrips() {
        LocalApicTest.enable(system.apic(0));
        system.apic(0).writeRegister(LVT_TIMER, 0x40 | TIMER_TSC_DEADLINE << LVT_TIMER_MODE_SHIFT, false);
        assertEquals(ExitAction.EMULATED, exits.handle(bspExit.msr(true, IA32_TSC_DEADLINE, 0x1_0000_1234L)));
        assertEquals(ExitAction.EMULATED, exits.handle(bspExit.msr(false, IA32_TSC_DEADLINE, 0)));
        assertEquals(0x1_0000_1234L, bspExit.edxEax());
    }

    @Test
    void unknownReasonsAndVcpusPass() {
        bspExit.base.reason = ExitReason.CPUID;
        assertEquals(ExitAction.PASS, exits.handle(bspExit));
        ApicTestExit stranger = new ApicTestExit(new FakeVcpu(5));
        assertEquals(ExitAction.PASS, exits.handle(stranger.msr(false, IA32_APIC_BASE, 0)), "no APIC for vCPU 5");
    }

    @Test
    void frameworkCpuCountParsing() {
        assertEquals(1, LocalApicComponent.frameworkCpus(null));
        assertEquals(4, LocalApicComponent.frameworkCpus(" 4 "));
        assertEquals(1, LocalApicComponent.frameworkCpus("four"));
        assertEquals(1, LocalApicComponent.frameworkCpus("0"));
    }
}
