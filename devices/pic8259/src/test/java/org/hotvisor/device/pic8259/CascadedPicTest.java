package org.hotvisor.device.pic8259;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Intel 8259A data sheet statements, checked on the PC/AT pair. */
class CascadedPicTest {
    private static final int MASTER_CMD = 0x20;
    private static final int MASTER_DATA = 0x21;
    private static final int SLAVE_CMD = 0xA0;
    private static final int SLAVE_DATA = 0xA1;
    private static final int OCW3_READ_IRR = 0x0A;
    private static final int OCW3_READ_ISR = 0x0B;
    private static final int NONSPECIFIC_EOI = 0x20;

    private final AtomicInteger wakeups = new AtomicInteger();
    private final CascadedPic pic = new CascadedPic(wakeups::incrementAndGet);

    private void out(int port, int value) {
        pic.ioWrite(port, 1, value);
    }

    private int in(int port) {
        return pic.ioRead(port, 1);
    }

    /** The Linux/BIOS style initialization: vectors 0x20 and 0x28, cascade on IR2, 8086 mode. */
    private void initialize(int icw4) {
        out(MASTER_CMD, 0x11);   // ICW1: edge, cascade, ICW4 follows
        out(MASTER_DATA, 0x20);  // ICW2: vectors 0x20-0x27
        out(MASTER_DATA, 0x04);  // ICW3: slave on IR2
        out(MASTER_DATA, icw4);  // ICW4
        out(SLAVE_CMD, 0x11);
        out(SLAVE_DATA, 0x28);
        out(SLAVE_DATA, 0x02);   // ICW3: slave ID 2
        out(SLAVE_DATA, icw4);
        out(MASTER_DATA, 0x00);  // OCW1: everything unmasked
        out(SLAVE_DATA, 0x00);
    }

    @Test
    void atPowerOnTheBiosVectorBasesApplyAndOnlyTheCascadeIsUnmasked() {
        assertEquals(0xFB, in(MASTER_DATA));
        assertEquals(0xFF, in(SLAVE_DATA));
        pic.setLevel(0, true);
        assertFalse(pic.interruptPending(), "IRQ0 is masked");
        out(MASTER_DATA, 0xFA);
        assertTrue(pic.interruptPending());
        assertEquals(0x08, pic.acknowledge());
    }

    @Test
    void icwSequenceThenOcw3_0x0AReadsIrrAnd0x0BReadsIsr() {
        initialize(0x01);
        out(MASTER_DATA, 0xFF);
        pic.setLevel(1, true);
        out(MASTER_CMD, OCW3_READ_IRR);
        assertEquals(0x02, in(MASTER_CMD));
        out(MASTER_CMD, OCW3_READ_ISR);
        assertEquals(0x00, in(MASTER_CMD));
        assertFalse(pic.interruptPending(), "masked by OCW1");
        out(MASTER_DATA, 0x00);
        assertEquals(0x21, pic.acknowledge());
        assertEquals(0x02, in(MASTER_CMD), "ISR still selected for reading");
    }

    @Test
    void icw1ClearsTheMaskAndTheInServiceRegister() {
        initialize(0x01);
        pic.setLevel(3, true);
        pic.acknowledge();
        out(MASTER_DATA, 0xF0);
        out(MASTER_CMD, 0x11);
        assertTrue(pic.master().initializing());
        assertEquals(0, pic.master().isr());
        assertEquals(0, pic.master().imr());
    }

    @Test
    void anEdgeTriggeredLineInterruptsOncePerRisingEdge() {
        initialize(0x01);
        pic.setLevel(4, true);
        assertEquals(0x24, pic.acknowledge());
        out(MASTER_CMD, NONSPECIFIC_EOI);
        assertFalse(pic.interruptPending(), "the line is still high, but there was no new edge");
        pic.setLevel(4, false);
        pic.setLevel(4, true);
        assertTrue(pic.interruptPending());
    }

    @Test
    void aPulseIsLatchedUntilAcknowledged() {
        initialize(0x01);
        pic.pulse(0);
        assertTrue(pic.interruptPending());
        assertEquals(0x20, pic.acknowledge());
    }

    @Test
    void aLevelTriggeredLineRequestsAgainAfterEoiWhileStillHigh() {
        initialize(0x01);
        pic.ioWrite(CascadedPic.ELCR_MASTER, 1, 0x20); // IRQ5 level-triggered
        pic.setLevel(5, true);
        assertEquals(0x25, pic.acknowledge());
        assertFalse(pic.interruptPending(), "in service blocks it");
        out(MASTER_CMD, NONSPECIFIC_EOI);
        assertTrue(pic.interruptPending(), "still high: requested again");
        pic.setLevel(5, false);
        assertFalse(pic.interruptPending());
    }

    @Test
    void icw1LtimMakesEveryInputLevelTriggered() {
        out(MASTER_CMD, 0x19);
        out(MASTER_DATA, 0x20);
        out(MASTER_DATA, 0x04);
        out(MASTER_DATA, 0x01);
        out(MASTER_DATA, 0x00);
        pic.setLevel(1, true);
        assertEquals(0x21, pic.acknowledge());
        out(MASTER_CMD, NONSPECIFIC_EOI);
        assertTrue(pic.interruptPending());
    }

    @Test
    void theElcrCannotMakeTheTimerKeyboardOrCascadeLevelTriggered() {
        pic.ioWrite(CascadedPic.ELCR_MASTER, 1, 0xFF);
        pic.ioWrite(CascadedPic.ELCR_SLAVE, 1, 0xFF);
        assertEquals(0xF8, pic.ioRead(CascadedPic.ELCR_MASTER, 1));
        assertEquals(0xDE, pic.ioRead(CascadedPic.ELCR_SLAVE, 1));
    }

    @Test
    void aHigherPriorityRequestNestsAndALowerOneWaitsForEoi() {
        initialize(0x01);
        pic.setLevel(3, true);
        assertEquals(0x23, pic.acknowledge());
        pic.setLevel(5, true);
        assertFalse(pic.interruptPending(), "IRQ5 waits behind IRQ3 in service");
        pic.setLevel(1, true);
        assertTrue(pic.interruptPending(), "IRQ1 has higher priority");
        assertEquals(0x21, pic.acknowledge());
        out(MASTER_CMD, NONSPECIFIC_EOI); // ends IRQ1, the highest in service
        assertEquals(0x08, pic.master().isr());
        out(MASTER_CMD, NONSPECIFIC_EOI); // ends IRQ3
        assertEquals(0x25, pic.acknowledge());
    }

    @Test
    void aSpecificEoiEndsTheNamedLevel() {
        initialize(0x01);
        pic.setLevel(3, true);
        pic.acknowledge();
        pic.setLevel(1, true);
        pic.acknowledge();
        out(MASTER_CMD, 0x63); // specific EOI, level 3
        assertEquals(0x02, pic.master().isr());
    }

    @Test
    void slaveRequestsArriveThroughIr2WithTheSlaveVector() {
        initialize(0x01);
        pic.setLevel(10, true);
        assertTrue(pic.interruptPending());
        assertEquals(0x2A, pic.acknowledge());
        assertEquals(0x04, pic.master().isr(), "the master's IR2 is in service");
        assertEquals(0x04, pic.slave().isr(), "and the slave's IR2 (IRQ10)");
        out(SLAVE_CMD, NONSPECIFIC_EOI);
        out(MASTER_CMD, NONSPECIFIC_EOI);
        assertEquals(0, pic.master().isr() | pic.slave().isr());
    }

    @Test
    void theIsaIrq2PinIsIrq9OnTheAt() {
        initialize(0x01);
        pic.setLevel(2, true);
        assertEquals(0x29, pic.acknowledge());
    }

    @Test
    void aMasterRequestThatVanishesBeforeIntaGivesSpuriousIrq7WithoutIsr() {
        initialize(0x01);
        pic.ioWrite(CascadedPic.ELCR_MASTER, 1, 0x20);
        pic.setLevel(5, true);
        assertTrue(pic.interruptPending());
        pic.setLevel(5, false); // the device withdrew its request
        assertEquals(0x27, pic.acknowledge());
        assertEquals(0, pic.master().isr());
        assertEquals(1, pic.spuriousMaster());
    }

    @Test
    void aSlaveRequestThatVanishesGivesSpuriousIrq15AndLeavesMasterIr2InService() {
        initialize(0x01);
        pic.ioWrite(CascadedPic.ELCR_SLAVE, 1, 0x04); // IRQ10 level
        pic.setLevel(10, true);
        // The slave's request reached the master as an edge on IR2, latched there.
        pic.setLevel(10, false);
        assertEquals(0x2F, pic.acknowledge());
        assertEquals(0, pic.slave().isr());
        assertEquals(0x04, pic.master().isr(), "the OS must still EOI the master");
        assertEquals(1, pic.spuriousSlave());
    }

    @Test
    void autoEoiLeavesIsrClear() {
        initialize(0x03);
        pic.setLevel(6, true);
        assertEquals(0x26, pic.acknowledge());
        assertEquals(0, pic.master().isr());
    }

    @Test
    void rotateOnNonSpecificEoiMakesTheServedLevelTheLowest() {
        initialize(0x01);
        pic.setLevel(0, true);
        assertEquals(0x20, pic.acknowledge());
        out(MASTER_CMD, 0xA0); // rotate on non-specific EOI
        pic.setLevel(0, false);
        pic.setLevel(0, true);
        pic.setLevel(1, true);
        assertEquals(0x21, pic.acknowledge(), "IRQ0 is now the lowest priority");
    }

    @Test
    void rotateInAutoEoiModeRotatesOnEveryAcknowledge() {
        initialize(0x03);
        out(MASTER_CMD, 0x80);
        pic.setLevel(0, true);
        pic.setLevel(1, true);
        assertEquals(0x20, pic.acknowledge());
        pic.setLevel(0, false);
        pic.setLevel(0, true);
        assertEquals(0x21, pic.acknowledge(), "IRQ0 became the lowest after its acknowledge");
    }

    @Test
    void setPriorityNamesTheLowestLevel() {
        initialize(0x01);
        out(MASTER_CMD, 0xC3); // IR3 lowest: IR4 highest
        pic.setLevel(0, true);
        pic.setLevel(4, true);
        assertEquals(0x24, pic.acknowledge());
    }

    @Test
    void inSpecialMaskModeAMaskedLevelInServiceNoLongerBlocksLowerOnes() {
        initialize(0x01);
        pic.setLevel(1, true);
        assertEquals(0x21, pic.acknowledge());
        pic.setLevel(5, true);
        assertFalse(pic.interruptPending());
        out(MASTER_DATA, 0x02);  // mask IR1, which is in service
        out(MASTER_CMD, 0x68);   // OCW3: ESMM + SMM
        assertTrue(pic.interruptPending());
        assertEquals(0x25, pic.acknowledge());
        out(MASTER_CMD, 0x48);   // leave special mask mode
    }

    @Test
    void thePollCommandReturnsTheLevelAndPutsItInService() {
        initialize(0x01);
        pic.setLevel(6, true);
        out(MASTER_CMD, 0x0C); // OCW3: poll
        assertEquals(0x86, in(MASTER_CMD));
        assertEquals(0x40, pic.master().isr());
        out(MASTER_CMD, 0x0C);
        assertEquals(0x00, in(MASTER_CMD), "nothing more is pending");
    }

    @Test
    void intrRaisedOnAnotherThreadWakesTheVcpuButNotOnTheVcpuThread() throws Exception {
        initialize(0x01);
        pic.interruptPending(); // this thread is now the vCPU
        pic.setLevel(3, true);
        assertEquals(0, wakeups.get());
        pic.acknowledge();
        out(MASTER_CMD, NONSPECIFIC_EOI);
        Thread host = new Thread(() -> pic.setLevel(4, true));
        host.start();
        host.join();
        assertEquals(1, wakeups.get());
    }

    @Test
    void linesOutsideTheIsaRangeAreCountedAndIgnored() {
        pic.setLevel(16, true);
        pic.setLevel(-1, true);
        assertEquals(2, pic.badLines());
        assertFalse(pic.interruptPending());
    }

    @Test
    void a16BitWriteTo0x20ReachesBothPortsAndIsCounted() {
        initialize(0x01);
        pic.ioWrite(MASTER_CMD, 2, 0xFF0A); // OCW3 read IRR, then OCW1 0xFF
        assertEquals(0xFF, in(MASTER_DATA));
        assertEquals(1, pic.unexpectedSizes());
        assertEquals(0xFF, pic.ioRead(0x22, 1));
        assertEquals(1, pic.missedReads());
    }
}
