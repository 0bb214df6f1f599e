package org.hotvisor.device.lapic;

import static org.hotvisor.device.lapic.ApicRegisters.*;
import static org.junit.jupiter.api.Assertions.*;

import org.hotvisor.api.Vcpu;
import org.hotvisor.api.device.InterruptController;
import org.hotvisor.device.testkit.ManualClock;
import org.hotvisor.exit.testkit.FakeVcpu;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class LocalApicTest {
    static final int TIMER_VECTOR = 0x30;
    ManualClock clock;
    FakeVcpu[] vcpus;
    ApicSystem system;
    LocalApic bsp;
    LocalApic ap;

    @BeforeEach
    void setUp() {
        clock = new ManualClock();
        vcpus = new FakeVcpu[] {new FakeVcpu(0), new FakeVcpu(1)};
        system = new ApicSystem(2, 36, clock, i -> i < vcpus.length ? (Vcpu) vcpus[i] : null);
        bsp = system.apic(0);
        ap = system.apic(1);
    }

    static void enable(LocalApic apic) {
        apic.writeRegister(SVR, SVR_SOFTWARE_ENABLE | 0xFF, false);
    }

    @Test
    void powerOnStateIsWhatFirmwareLeaves() {
        assertEquals(0x50014, bsp.readRegister(VERSION));
        assertEquals(0, bsp.readRegister(ID));
        assertEquals(1 << 24, ap.readRegister(ID));
        assertEquals(0xFF, bsp.readRegister(SVR));
        assertEquals(0xFFFF_FFFF, bsp.readRegister(DFR));
        assertEquals(0xFEE0_0900L, bsp.apicBase(), "enabled, BSP");
        assertEquals(0xFEE0_0800L, ap.apicBase(), "enabled, not BSP");
        assertEquals(LINT0_BSP_EXTINT, bsp.readRegister(LVT_LINT0), "the BSP's LINT0 passes the 8259 through");
        assertEquals(LVT_MASKED, ap.readRegister(LVT_LINT0));
        assertEquals(LVT_MASKED, bsp.readRegister(LVT_TIMER));
        assertTrue(bsp.mmioDecodes(0xFEE0_0030L));
        assertFalse(bsp.mmioDecodes(0xFEE0_1000L));
    }

    @Test
    void highestRequestAbovePriorityIsDeliveredAndEoiUnblocksTheNext() {
        enable(bsp);
        bsp.acceptFixed(0x41, false);
        bsp.acceptFixed(0x82, false);
        assertTrue(bsp.interruptPending());
        assertEquals(0x82, bsp.acknowledge());
        assertEquals(0x80, bsp.readRegister(PPR), "PPR = in-service class");
        assertFalse(bsp.interruptPending(), "0x41's class is below the in-service 0x82");
        assertTrue(bsp.inService(0x82));
        bsp.writeRegister(EOI, 0, false);
        assertFalse(bsp.inService(0x82));
        assertTrue(bsp.interruptPending());
        assertEquals(0x41, bsp.acknowledge());
    }

    @Test
    void tprMasksLowerClassesAndInTheSameClassToo() {
        enable(bsp);
        bsp.writeRegister(TPR, 0x45, false);
        bsp.acceptFixed(0x4F, false);
        assertFalse(bsp.interruptPending(), "same class as TPR: blocked (IRRV[7:4] must exceed PPR[7:4])");
        assertEquals(0xFF, bsp.acknowledge(), "an INTA with nothing deliverable reads the spurious vector");
        assertTrue(bsp.requested(0x4F), "a spurious INTA leaves IRR alone");
        assertEquals(0x45, bsp.readRegister(PPR));
        bsp.writeRegister(TPR, 0x30, false);
        assertTrue(bsp.interruptPending());
    }

    @Test
    void softwareDisabledApicDropsFixedInterruptsAndKeepsLvtsMasked() {
        bsp.acceptFixed(0x50, false);
        assertFalse(bsp.requested(0x50));
        assertEquals(1, bsp.dropped());
        bsp.writeRegister(LVT_TIMER, 0x30, false);
        assertEquals(LVT_MASKED | 0x30, bsp.readRegister(LVT_TIMER), "mask cannot be cleared while software disabled");
        enable(bsp);
        bsp.writeRegister(LVT_LINT1, 0x400, false);
        assertEquals(0x400, bsp.readRegister(LVT_LINT1));
        bsp.writeRegister(SVR, 0xFF, false);
        assertEquals(LVT_MASKED | 0x400, bsp.readRegister(LVT_LINT1), "software disable masks every LVT");
    }

    @Test
    void illegalVectorIsAReceiveErrorLatchedByAnEsrWrite() {
        enable(bsp);
        bsp.acceptFixed(0x0E, false);
        assertEquals(0, bsp.readRegister(ESR), "errors appear only after an ESR write");
        bsp.writeRegister(ESR, 0, false);
        assertEquals(ESR_RECEIVE_ILLEGAL_VECTOR, bsp.readRegister(ESR));
        bsp.writeRegister(ESR, 0, false);
        assertEquals(0, bsp.readRegister(ESR));
    }

    @Test
    void levelTriggeredEoiSendsAnEoiMessageEdgeDoesNot() {
        int[] eois = {0, -1};
        system.eoiListener(v -> {
            eois[0]++;
            eois[1] = v;
        });
        enable(bsp);
        bsp.acceptFixed(0x60, true);
        assertTrue(bsp.levelTriggered(0x60));
        assertEquals(0x60, bsp.acknowledge());
        bsp.writeRegister(EOI, 0, false);
        assertEquals(1, eois[0]);
        assertEquals(0x60, eois[1]);
        bsp.acceptFixed(0x61, false);
        bsp.acknowledge();
        bsp.writeRegister(EOI, 0, false);
        assertEquals(1, eois[0], "edge-triggered: no EOI message");
    }

    @Test
    void deliveryFromAnotherThreadKicksTheVcpu() throws Exception {
        enable(ap);
        ap.interruptPending(); // this thread becomes the vCPU thread
        ap.acceptFixed(0x70, false);
        assertEquals(0, vcpus[1].kicks, "the vCPU's own thread needs no kick");
        ap.acknowledge();
        ap.writeRegister(EOI, 0, false);
        Thread other = new Thread(() -> ap.acceptFixed(0x71, false));
        other.start();
        other.join();
        assertEquals(1, vcpus[1].kicks);
    }

    // ---- the 8259 through LINT0 ----

    static final class FakePic implements InterruptController {
        boolean pending;
        int acks;

        @Override
        public boolean interruptPending() {
            return pending;
        }

        @Override
        public int acknowledge() {
            acks++;
            pending = false;
            return 0x08;
        }
    }

    @Test
    void extIntPassesTheEightyTwoFiftyNineThroughOnTheBspAndWhenDisabled() {
        FakePic pic = new FakePic();
        system.pic(pic);
        pic.pending = true;
        assertTrue(bsp.interruptPending(), "BSP LINT0 = ExtINT");
        assertFalse(ap.interruptPending(), "AP LINT0 masked");
        assertEquals(0x08, bsp.acknowledge());
        assertEquals(1, pic.acks);
        pic.pending = true;
        assertTrue(ap.writeApicBase(0xFEE0_0000L), "globally disabled");
        assertTrue(ap.interruptPending(), "a globally disabled APIC passes INTR straight through");
        enable(bsp);
        bsp.acceptFixed(0x90, false);
        assertEquals(0x90, bsp.acknowledge(), "the APIC's own request goes first");
    }

    // ---- IA32_APIC_BASE ----

    @Test
    void apicBaseTransitionsFollowTheX2apicStateMachine() {
        long base = DEFAULT_BASE | BASE_BSP;
        assertTrue(bsp.writeApicBase(base | BASE_ENABLE | BASE_EXTD), "xAPIC -> x2APIC");
        assertTrue(bsp.x2apic());
        assertFalse(bsp.writeApicBase(base | BASE_EXTD), "x2APIC -> invalid");
        assertFalse(bsp.writeApicBase(base | BASE_ENABLE), "x2APIC -> xAPIC");
        assertTrue(bsp.writeApicBase(base), "x2APIC -> disabled");
        assertFalse(bsp.writeApicBase(base | BASE_EXTD), "disabled -> invalid");
        assertFalse(bsp.writeApicBase(base | BASE_ENABLE | BASE_EXTD), "disabled -> x2APIC");
        assertTrue(bsp.writeApicBase(base | BASE_ENABLE), "disabled -> xAPIC");
        assertFalse(bsp.writeApicBase(base | BASE_ENABLE | 1), "reserved low bit");
        assertFalse(bsp.writeApicBase(base | BASE_ENABLE | 1L << 36), "above MAXPHYADDR");
        assertTrue(bsp.writeApicBase(0xFED4_0000L | BASE_ENABLE), "relocation");
        assertEquals(0xFED4_0000L | BASE_ENABLE | BASE_BSP, bsp.apicBase(), "the BSP bit is the processor's");
        assertTrue(bsp.mmioDecodes(0xFED4_0030L));
        assertFalse(bsp.mmioDecodes(0xFEE0_0030L));
    }

    @Test
    void disablingResetsRegistersAndTheWrittenId() {
        enable(ap);
        ap.writeRegister(ID, 7 << 24, false);
        ap.writeRegister(TPR, 0x20, false);
        assertEquals(7 << 24, ap.readRegister(ID), "the xAPIC ID is writable");
        assertTrue(ap.writeApicBase(DEFAULT_BASE));
        assertTrue(ap.writeApicBase(DEFAULT_BASE | BASE_ENABLE));
        assertEquals(1 << 24, ap.readRegister(ID));
        assertEquals(0, ap.readRegister(TPR));
        assertEquals(SVR_RESET, ap.readRegister(SVR));
    }

    // ---- x2APIC MSRs ----

    @Test
    void x2apicRegistersAndTheirGeneralProtectionRules() {
        int msrId = 0x802, msrEoi = 0x80B, msrLdr = 0x80D, msrDfr = 0x80E, msrIcr = 0x830, msrIcrHigh = 0x831, msrSelf = 0x83F;
        assertFalse(ap.x2apicReadable(msrId), "x2APIC MSRs #GP in xAPIC mode");
        assertFalse(ap.x2apicWrite(0x808, 0));
        assertTrue(ap.writeApicBase(DEFAULT_BASE | BASE_ENABLE | BASE_EXTD));
        assertTrue(ap.x2apicReadable(msrId));
        assertEquals(1, ap.x2apicRead(msrId));
        assertEquals((0L << 16) | 1 << 1, ap.x2apicRead(msrLdr), "LDR = cluster 0, bit 1");
        assertFalse(ap.x2apicWrite(msrId, 5), "ID is read-only");
        assertFalse(ap.x2apicWrite(msrLdr, 5), "LDR is read-only");
        assertFalse(ap.x2apicReadable(msrDfr), "no DFR in x2APIC mode");
        assertFalse(ap.x2apicReadable(msrIcrHigh), "no ICR high half");
        assertFalse(ap.x2apicReadable(msrEoi), "EOI is write-only");
        assertFalse(ap.x2apicReadable(msrSelf), "SELF IPI is write-only");
        assertFalse(ap.x2apicWrite(msrEoi, 1), "non-zero EOI");
        assertTrue(ap.x2apicWrite(msrEoi, 0));
        assertFalse(ap.x2apicWrite(0x808, 1L << 32), "bits 63:32 reserved outside the ICR");
        assertTrue(ap.x2apicWrite(0x80F, SVR_SOFTWARE_ENABLE | 0xFF));
        assertFalse(ap.x2apicWrite(msrSelf, 0x100), "SELF IPI reserved bits");
        assertTrue(ap.x2apicWrite(msrSelf, 0x55));
        assertTrue(ap.requested(0x55));
        assertTrue(ap.x2apicWrite(msrIcr, 0x0000_0001_0000_0066L));
        assertEquals(0x0000_0001_0000_0066L, ap.x2apicRead(msrIcr), "the ICR is one 64-bit MSR");
        assertTrue(ap.requested(0x66), "fixed IPI to x2APIC ID 1 (itself)");
    }

    // ---- timer ----

    void startTimer(LocalApic apic, int lvt, int divide, int initial) {
        enable(apic);
        apic.writeRegister(TIMER_DIVIDE, divide, false);
        apic.writeRegister(LVT_TIMER, lvt, false);
        apic.writeRegister(TIMER_INITIAL, initial, false);
    }

    @Test
    void oneShotCountsDownOnceAndInterrupts() {
        startTimer(bsp, TIMER_VECTOR, 0xB, 1000);
        clock.advanceBy(400);
        assertEquals(600, bsp.readRegister(TIMER_CURRENT));
        assertFalse(bsp.requested(TIMER_VECTOR));
        clock.advanceBy(600);
        assertTrue(bsp.requested(TIMER_VECTOR));
        assertEquals(0, bsp.readRegister(TIMER_CURRENT));
        assertEquals(1000, bsp.readRegister(TIMER_INITIAL));
        bsp.acknowledge();
        bsp.writeRegister(EOI, 0, false);
        clock.advanceBy(5000);
        assertFalse(bsp.requested(TIMER_VECTOR), "one shot");
    }

    @Test
    void periodicReloadsAndTheDividerSlowsTheCount() {
        startTimer(bsp, TIMER_VECTOR | TIMER_PERIODIC << LVT_TIMER_MODE_SHIFT, 0x0, 100); // divide by 2: 200 ns a period
        clock.advanceBy(50);
        assertEquals(75, bsp.readRegister(TIMER_CURRENT));
        int ticks = 0;
        for (int i = 0; i < 3; i++) {
            clock.advanceBy(200);
            if (bsp.requested(TIMER_VECTOR)) {
                ticks++;
                bsp.acknowledge();
                bsp.writeRegister(EOI, 0, false);
            }
        }
        assertEquals(3, ticks);
        assertEquals(75, bsp.readRegister(TIMER_CURRENT), "reloaded each period");
    }

    @Test
    void maskedTimerCountsWithoutInterrupting() {
        startTimer(bsp, TIMER_VECTOR | LVT_MASKED, 0xB, 100);
        clock.advanceBy(150);
        assertFalse(bsp.requested(TIMER_VECTOR));
        assertEquals(0, bsp.readRegister(TIMER_CURRENT));
    }

    @Test
    void modeChangesKeepTheCountAsKvmUnitTestsExpect() {
        int periodic = TIMER_VECTOR | LVT_MASKED | TIMER_PERIODIC << LVT_TIMER_MODE_SHIFT;
        int oneShot = TIMER_VECTOR | LVT_MASKED;
        startTimer(bsp, oneShot, 0xB, 1000);
        clock.advanceBy(600);
        bsp.writeRegister(LVT_TIMER, periodic, false);
        assertEquals(400, bsp.readRegister(TIMER_CURRENT), "not reset by the mode change");
        clock.advanceBy(500);
        assertEquals(900, bsp.readRegister(TIMER_CURRENT), "periodic: wrapped to the initial count");
        clock.advanceBy(500);
        bsp.writeRegister(LVT_TIMER, oneShot, false);
        assertEquals(400, bsp.readRegister(TIMER_CURRENT), "one-shot continues the current period");
        clock.advanceBy(400);
        assertEquals(0, bsp.readRegister(TIMER_CURRENT));
        bsp.writeRegister(LVT_TIMER, periodic, false);
        clock.advanceBy(100);
        assertEquals(0, bsp.readRegister(TIMER_CURRENT), "an expired one-shot stays at zero in periodic mode");
    }

    @Test
    void tscDeadlineFiresOnceAndClearsTheMsr() {
        startTimer(bsp, TIMER_VECTOR | TIMER_TSC_DEADLINE << LVT_TIMER_MODE_SHIFT, 0xB, 0);
        bsp.writeRegister(TIMER_INITIAL, 50, false);
        assertEquals(0, bsp.readRegister(TIMER_INITIAL), "initial count ignored in TSC-deadline mode");
        bsp.writeTscDeadline(300);
        assertEquals(300, bsp.tscDeadline());
        clock.advanceBy(299);
        assertFalse(bsp.requested(TIMER_VECTOR));
        clock.advanceBy(1);
        assertTrue(bsp.requested(TIMER_VECTOR));
        assertEquals(0, bsp.tscDeadline(), "the MSR clears when the deadline fires");
        bsp.writeTscDeadline(clock.nanos() - 10);
        bsp.acknowledge();
        bsp.writeRegister(EOI, 0, false);
        clock.advanceBy(0);
        assertTrue(bsp.requested(TIMER_VECTOR), "a deadline in the past fires at once");
        bsp.writeRegister(LVT_TIMER, TIMER_VECTOR, false);
        bsp.writeTscDeadline(1_000_000);
        assertEquals(0, bsp.tscDeadline(), "ignored outside TSC-deadline mode");
    }

    @Test
    void mmioReadsNarrowAndIgnoresPartialWrites() {
        assertEquals(0x14, bsp.mmioRead(VERSION, 1));
        assertEquals(0x05, bsp.mmioRead(VERSION + 2, 1));
        assertEquals(0x50014, bsp.mmioRead(VERSION, 8));
        assertEquals(0, bsp.mmioRead(VERSION + 4, 4), "bytes between registers read 0");
        bsp.mmioWrite(TPR, 1, 0x20);
        assertEquals(0, bsp.readRegister(TPR), "sub-dword writes are dropped");
        bsp.mmioWrite(TPR, 4, 0x20);
        assertEquals(0x20, bsp.readRegister(TPR));
    }

    @Test
    void highestBitScansAll256() {
        int[] bits = new int[8];
        assertEquals(-1, LocalApic.highestBit(bits));
        bits[0] = 1 << 16;
        assertEquals(16, LocalApic.highestBit(bits));
        bits[7] = 1 << 31;
        assertEquals(255, LocalApic.highestBit(bits));
    }

    @Test
    void divideConfigurationEncoding() {
        assertEquals(0, LocalApic.divideShift(0xB), "0b1011: divide by 1");
        assertEquals(1, LocalApic.divideShift(0x0), "divide by 2");
        assertEquals(7, LocalApic.divideShift(0xA), "0b1010: divide by 128");
    }
}
