package org.hotvisor.device.lapic;

import static org.hotvisor.device.lapic.ApicRegisters.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.concurrent.atomic.AtomicLong;
import org.hotvisor.api.ExitAction;
import org.hotvisor.api.Vcpu;
import org.hotvisor.device.testkit.ManualClock;
import org.hotvisor.exit.testkit.FakeVcpu;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Each vCPU's IA32_APIC_BASE in its state map, for the CPUID handler (the contract in {@link PublishedApicBase}). */
class PublishedApicBaseTest {
    static final long BSP_POWER_ON = DEFAULT_BASE | BASE_ENABLE | BASE_BSP;
    static final long AP_POWER_ON = DEFAULT_BASE | BASE_ENABLE;

    FakeVcpu[] vcpus;
    ApicSystem system;
    ApicExits exits;

    @BeforeEach
    void setUp() {
        vcpus = new FakeVcpu[] {new FakeVcpu(0), new FakeVcpu(1)};
        system = new ApicSystem(2, 36, new ManualClock(), i -> (Vcpu) vcpus[i]);
        exits = new ApicExits(system);
    }

    static long published(FakeVcpu vcpu) {
        Object holder = vcpu.stateMap().get(PublishedApicBase.KEY);
        assertInstanceOf(AtomicLong.class, holder, "an AtomicLong under " + PublishedApicBase.KEY);
        return ((AtomicLong) holder).get();
    }

    @Test
    void powerOnPublishesEveryVcpusBase() {
        assertEquals("org.hotvisor.device.lapic/apicBase", PublishedApicBase.KEY, "the key exit-handlers/cpuid reads");
        assertEquals(BSP_POWER_ON, published(vcpus[0]));
        assertEquals(AP_POWER_ON, published(vcpus[1]));
    }

    @Test
    void wrmsrDisableAndReenableArePublishedForTheExitingVcpuOnly() {
        ApicTestExit ap = new ApicTestExit(vcpus[1]);
        assertEquals(ExitAction.EMULATED, exits.handle(ap.msr(true, IA32_APIC_BASE, DEFAULT_BASE)));
        assertEquals(DEFAULT_BASE, published(vcpus[1]), "EN clear");
        assertEquals(BSP_POWER_ON, published(vcpus[0]), "the BSP's APIC untouched");
        assertEquals(ExitAction.EMULATED, exits.handle(ap.msr(true, IA32_APIC_BASE, DEFAULT_BASE | BASE_ENABLE)));
        assertEquals(AP_POWER_ON, published(vcpus[1]), "EN set again");
        assertEquals(ExitAction.EMULATED, exits.handle(ap.msr(true, IA32_APIC_BASE, DEFAULT_BASE | BASE_ENABLE | BASE_EXTD)));
        assertEquals(AP_POWER_ON | BASE_EXTD, published(vcpus[1]), "x2APIC mode");
    }

    @Test
    void aRejectedWrmsrPublishesNothing() {
        ApicTestExit bsp = new ApicTestExit(vcpus[0]);
        assertEquals(ExitAction.RESUME, exits.handle(bsp.msr(true, IA32_APIC_BASE, DEFAULT_BASE | BASE_EXTD)), "EXTD without EN: #GP");
        assertEquals(13, bsp.base.injectedVector);
        assertEquals(BSP_POWER_ON, published(vcpus[0]));
    }

    @Test
    void platformResetPublishesThePowerOnBase() {
        system.apic(0).writeApicBase(DEFAULT_BASE);
        assertEquals(DEFAULT_BASE | BASE_BSP, published(vcpus[0]), "the BSP flag stays the processor's");
        system.powerOn();
        assertEquals(BSP_POWER_ON, published(vcpus[0]));
    }

    @Test
    void aHolderCreatedFirstByTheCpuidHandlerIsTheOneUpdated() {
        FakeVcpu early = new FakeVcpu(0);
        AtomicLong cpuidsHolder = new AtomicLong(BASE_ENABLE);
        early.stateMap().put(PublishedApicBase.KEY, cpuidsHolder);
        ApicSystem late = new ApicSystem(1, 36, new ManualClock(), i -> early);
        assertEquals(BSP_POWER_ON, cpuidsHolder.get());
        late.apic(0).writeApicBase(DEFAULT_BASE);
        assertSame(cpuidsHolder, early.stateMap().get(PublishedApicBase.KEY));
        assertEquals(DEFAULT_BASE | BASE_BSP, cpuidsHolder.get());
    }

    @Test
    void aVcpuUnknownAtStartIsBoundByItsFirstApicBaseWrite() {
        ApicSystem noVm = new ApicSystem(1, 36, new ManualClock(), i -> null);
        FakeVcpu vcpu = new FakeVcpu(0);
        ApicTestExit exit = new ApicTestExit(vcpu);
        assertEquals(ExitAction.EMULATED, new ApicExits(noVm).handle(exit.msr(true, IA32_APIC_BASE, DEFAULT_BASE)));
        assertEquals(DEFAULT_BASE | BASE_BSP, published(vcpu));
    }

    @Test
    void aForeignObjectUnderTheKeyIsLeftAloneAndTheApicStillWorks() {
        FakeVcpu odd = new FakeVcpu(0);
        odd.stateMap().put(PublishedApicBase.KEY, "not ours");
        ApicSystem withOdd = new ApicSystem(1, 36, new ManualClock(), i -> odd);
        ApicTestExit exit = new ApicTestExit(odd);
        assertEquals(ExitAction.EMULATED, new ApicExits(withOdd).handle(exit.msr(true, IA32_APIC_BASE, DEFAULT_BASE)));
        assertEquals(DEFAULT_BASE | BASE_BSP, withOdd.apic(0).apicBase());
        assertEquals("not ours", odd.stateMap().get(PublishedApicBase.KEY));
    }

    @Test
    void aNewLookupRebindsEveryApic() {
        FakeVcpu[] next = {new FakeVcpu(0), new FakeVcpu(1)};
        system.apic(1).writeApicBase(DEFAULT_BASE);
        system.vcpus(i -> next[i]);
        assertEquals(BSP_POWER_ON, published(next[0]));
        assertEquals(DEFAULT_BASE, published(next[1]), "the current value, at once");
    }
}
