package org.hotvisor.device.lapic;

import static org.hotvisor.device.lapic.ApicRegisters.*;
import static org.junit.jupiter.api.Assertions.*;

import org.hotvisor.api.Vcpu;
import org.hotvisor.api.device.ApicBus;
import org.hotvisor.device.testkit.ManualClock;
import org.hotvisor.exit.testkit.FakeVcpu;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** IPIs and bus messages between four APICs, as kvm-unit-tests' smp.c and apic.c send them. */
class ApicSystemTest {
    static final int CPUS = 4;
    FakeVcpu[] vcpus;
    ApicSystem system;

    @BeforeEach
    void setUp() {
        vcpus = new FakeVcpu[CPUS];
        for (int i = 0; i < CPUS; i++) {
            vcpus[i] = new FakeVcpu(i);
        }
        system = new ApicSystem(CPUS, 36, new ManualClock(), i -> i < vcpus.length ? (Vcpu) vcpus[i] : null);
        for (int i = 0; i < CPUS; i++) {
            LocalApicTest.enable(system.apic(i));
        }
    }

    void icr(int from, int low, int destination) {
        LocalApic a = system.apic(from);
        a.writeRegister(ICR_HIGH, destination << 24, false);
        a.writeRegister(ICR_LOW, low, false);
    }

    static int mode(int deliveryMode) {
        return deliveryMode << ICR_DELIVERY_MODE_SHIFT;
    }

    @Test
    void initSipiSipiToAllButSelfStartsEveryAp() {
        int allButSelf = SHORTHAND_ALL_BUT_SELF << ICR_SHORTHAND_SHIFT;
        system.apic(2).writeRegister(TPR, 0x20, false);
        icr(0, allButSelf | mode(ApicBus.INIT) | ICR_LEVEL_ASSERT, 0);
        icr(0, allButSelf | mode(ApicBus.STARTUP) | 0x9A, 0);
        for (int i = 1; i < CPUS; i++) {
            assertEquals(1, vcpus[i].inits, "INIT to vCPU " + i);
            assertEquals(0x9A, vcpus[i].lastStartupVector, "SIPI to vCPU " + i);
        }
        assertEquals(0, vcpus[0].inits, "not the sender");
        assertEquals(-1, vcpus[0].lastStartupVector);
        assertEquals(0, system.apic(2).readRegister(TPR), "INIT reset the AP's APIC");
        assertEquals(2 << 24, system.apic(2).readRegister(ID), "INIT keeps the APIC ID");
    }

    @Test
    void initLevelDeassertIsIgnored() {
        icr(0, mode(ApicBus.INIT) | ICR_TRIGGER_LEVEL, 1);
        assertEquals(0, vcpus[1].inits);
    }

    @Test
    void fixedIpiReachesThePhysicalDestinationAndKicksIt() {
        icr(1, mode(ApicBus.FIXED) | 0x41, 3);
        assertTrue(system.apic(3).requested(0x41));
        assertEquals(1, vcpus[3].kicks);
        assertFalse(system.apic(2).requested(0x41));
    }

    @Test
    void selfAndAllIncludingSelfShorthands() {
        icr(2, (SHORTHAND_SELF << ICR_SHORTHAND_SHIFT) | 0x51, 0);
        assertTrue(system.apic(2).requested(0x51));
        assertFalse(system.apic(0).requested(0x51));
        icr(2, (SHORTHAND_ALL << ICR_SHORTHAND_SHIFT) | 0x52, 0);
        for (int i = 0; i < CPUS; i++) {
            assertTrue(system.apic(i).requested(0x52));
        }
    }

    @Test
    void physicalBroadcastReachesEveryone() {
        icr(0, 0xCF, XAPIC_BROADCAST);
        for (int i = 0; i < CPUS; i++) {
            assertTrue(system.apic(i).requested(0xCF));
        }
    }

    @Test
    void nmiIpiGoesToTheVcpu() {
        icr(1, mode(ApicBus.NMI) | ICR_LEVEL_ASSERT, 0);
        assertEquals(1, vcpus[0].nmis);
    }

    @Test
    void logicalFlatAndClusterDestinations() {
        for (int i = 0; i < CPUS; i++) {
            system.apic(i).writeRegister(LDR, (1 << i) << 24, false);
        }
        icr(0, ICR_LOGICAL | 0x61, 0b1010);
        assertTrue(system.apic(1).requested(0x61));
        assertTrue(system.apic(3).requested(0x61));
        assertFalse(system.apic(0).requested(0x61));
        assertFalse(system.apic(2).requested(0x61));
        // Cluster model: cluster 1 members 1 and 2 on APICs 2 and 3.
        for (int i = 0; i < CPUS; i++) {
            system.apic(i).writeRegister(DFR, 0x0FFF_FFFF, false);
        }
        system.apic(2).writeRegister(LDR, 0x11 << 24, false);
        system.apic(3).writeRegister(LDR, 0x12 << 24, false);
        icr(0, ICR_LOGICAL | 0x62, 0x12);
        assertTrue(system.apic(3).requested(0x62));
        assertFalse(system.apic(2).requested(0x62));
        assertFalse(system.apic(1).requested(0x62), "cluster 0 LDR 0x02 does not match cluster 1");
    }

    @Test
    void x2apicLogicalClusterDestination() {
        for (int i = 0; i < CPUS; i++) {
            system.apic(i).writeApicBase(DEFAULT_BASE | BASE_ENABLE | BASE_EXTD | (i == 0 ? BASE_BSP : 0));
        }
        // Cluster 0, members 2 and 3 (x2APIC IDs 2 and 3).
        assertTrue(system.apic(0).x2apicWrite(0x830, (long) 0b1100 << 32 | ICR_LOGICAL | 0x63));
        assertTrue(system.apic(2).requested(0x63));
        assertTrue(system.apic(3).requested(0x63));
        assertFalse(system.apic(1).requested(0x63));
    }

    @Test
    void lowestPriorityPicksTheLowestTpr() {
        system.apic(0).writeRegister(TPR, 0x40, false);
        system.apic(1).writeRegister(TPR, 0x30, false);
        system.apic(2).writeRegister(TPR, 0x10, false);
        system.apic(3).writeRegister(TPR, 0x20, false);
        icr(0, mode(ApicBus.LOWEST_PRIORITY) | 0x71, XAPIC_BROADCAST);
        for (int i = 0; i < CPUS; i++) {
            assertEquals(i == 2, system.apic(i).requested(0x71), "APIC " + i);
        }
    }

    @Test
    void illegalVectorIsASendError() {
        icr(0, 0x05, 1);
        assertFalse(system.apic(1).requested(0x05));
        system.apic(0).writeRegister(ESR, 0, false);
        assertEquals(ESR_SEND_ILLEGAL_VECTOR, system.apic(0).readRegister(ESR));
    }

    @Test
    void messagesForMissingVcpusAreCountedNotThrown() {
        ApicSystem two = new ApicSystem(4, 36, new ManualClock(), i -> i < 2 ? (Vcpu) vcpus[i] : null);
        LocalApicTest.enable(two.apic(0));
        two.apic(0).writeRegister(ICR_HIGH, 3 << 24, false);
        two.apic(0).writeRegister(ICR_LOW, mode(ApicBus.INIT) | ICR_LEVEL_ASSERT, false);
        assertEquals(1, two.undeliverable());
        icr(0, 0x44, 9);
        assertEquals(1, system.undeliverable(), "no APIC with ID 9");
    }

    @Test
    void busMessagesFromTheIoApicAreLevelAware() {
        int[] eoi = {-1};
        system.eoiListener(v -> eoi[0] = v);
        system.deliver(1, false, ApicBus.FIXED, 0x78, true);
        LocalApic target = system.apic(1);
        assertTrue(target.requested(0x78));
        assertTrue(target.levelTriggered(0x78));
        assertEquals(0x78, target.acknowledge());
        target.writeRegister(EOI, 0, false);
        assertEquals(0x78, eoi[0]);
        system.deliver(0b0100, true, ApicBus.FIXED, 0x79, false);
        assertFalse(system.apic(2).requested(0x79), "LDR 0: no logical match");
    }

    @Test
    void platformResetPowersEveryApicOn() {
        system.apic(3).writeRegister(TPR, 0x30, false);
        system.apic(3).writeApicBase(0xFED0_0000L | BASE_ENABLE);
        system.powerOn();
        assertEquals(0, system.apic(3).readRegister(TPR));
        assertEquals(DEFAULT_BASE | BASE_ENABLE, system.apic(3).apicBase());
    }
}
