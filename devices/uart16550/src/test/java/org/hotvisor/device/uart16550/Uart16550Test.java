package org.hotvisor.device.uart16550;

import org.hotvisor.device.testkit.ManualClock;
import static org.hotvisor.device.uart16550.Uart16550.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.hotvisor.device.testkit.RecordingLines;

/** PC16550D datasheet statements, checked against the chip on COM1 (0x3F8, IRQ 4). */
class Uart16550Test {
    private static final int COM1 = 0x3F8;
    private static final int IRQ4 = 4;

    private final RecordingLines lines = new RecordingLines();
    private final ManualClock clock = new ManualClock();
    private final ByteArrayOutputStream host = new ByteArrayOutputStream();
    private final AtomicInteger wakeups = new AtomicInteger();
    private Uart16550 uart = new Uart16550(COM1, IRQ4, lines, clock, wakeups::incrementAndGet, host::write, true);

    private void out(int offset, int value) {
        uart.ioWrite(COM1 + offset, 1, value);
    }

    private int in(int offset) {
        return uart.ioRead(COM1 + offset, 1);
    }

    /** The usual driver start-up: 8N1, FIFOs on with the given trigger bits, OUT2 set so the IRQ reaches the PIC. */
    private void initialise(int fcrTrigger) {
        out(OFS_LCR, 0x03);
        out(OFS_IIR_FCR, FCR_FIFO_ENABLE | FCR_RX_RESET | FCR_TX_RESET | fcrTrigger);
        out(OFS_MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
    }

    @Test
    void afterResetLsrShowsTransmitterEmptyAndIirShowsNoInterrupt() {
        assertEquals(LSR_THRE | LSR_TEMT, in(OFS_LSR));
        assertEquals(IIR_NO_INTERRUPT, in(OFS_IIR_FCR));
        assertEquals(0, in(OFS_IER));
        assertEquals(0, in(OFS_LCR));
        assertEquals(0, in(OFS_MCR));
    }

    @Test
    void withDlabSetTheFirstTwoPortsAccessTheDivisorLatch() {
        out(OFS_IER, IER_ERBFI);
        out(OFS_LCR, LCR_DLAB | 0x03);
        out(OFS_DATA, 0x01); // 115200 baud
        out(OFS_IER, 0x00);
        assertEquals(0x01, in(OFS_DATA));
        assertEquals(0x00, in(OFS_IER));
        out(OFS_LCR, 0x03);
        assertEquals(IER_ERBFI, in(OFS_IER), "IER kept its value under the divisor latch");
        assertEquals(0, host.size(), "writing DLL transmits nothing");
    }

    @Test
    void theDivisorSetsTheCharacterTime() {
        out(OFS_LCR, LCR_DLAB | 0x03);
        out(OFS_DATA, 0x01);
        out(OFS_IER, 0x00);
        out(OFS_LCR, 0x03);
        // 10 bits at 115200 baud: 86.8 us per character, four of them for the timeout.
        assertEquals(347_222, uart.charTimeoutNanos());
    }

    @Test
    void writingThrTransmitsAndThrStaysEmpty() {
        out(OFS_LCR, 0x03);
        out(OFS_DATA, 'h');
        out(OFS_DATA, 'i');
        assertEquals("hi", host.toString());
        assertEquals(LSR_THRE | LSR_TEMT, in(OFS_LSR));
        assertEquals(2, uart.transmitted());
    }

    @Test
    void inLoopbackTheReceiverAssemblesOnlyTheWordLength() {
        out(OFS_LCR, 0x00); // 5 data bits
        out(OFS_MCR, MCR_LOOP);
        out(OFS_DATA, 0xFF);
        assertEquals(0x1F, in(OFS_DATA));
    }

    @Test
    void anUnprogrammedPortStillSendsWholeBytesToTheHost() {
        // Boot sectors print with OUT 0x3F8 and never touch LCR (reset value: 5 data bits).
        out(OFS_DATA, 's');
        assertEquals("s", host.toString());
    }

    @Test
    void hostInputSetsDataReadyAndReadingRbrClearsIt() {
        uart.hostReceive('x');
        assertEquals(LSR_DR, in(OFS_LSR) & LSR_DR);
        assertEquals('x', in(OFS_DATA));
        assertEquals(0, in(OFS_LSR) & LSR_DR);
        assertEquals('x', in(OFS_DATA), "an empty receiver keeps returning the last character");
    }

    @Test
    void receivedDataInterruptIsRaisedAndClearedByReadingRbr() {
        out(OFS_MCR, MCR_OUT2);
        out(OFS_IER, IER_ERBFI);
        uart.hostReceive('a');
        assertTrue(lines.high(IRQ4), "the host thread raises the line at once");
        assertEquals(1, wakeups.get(), "and wakes the vCPU");
        assertEquals(IIR_RX_DATA, in(OFS_IIR_FCR));
        assertEquals('a', in(OFS_DATA));
        assertEquals(IIR_NO_INTERRUPT, in(OFS_IIR_FCR));
        assertFalse(lines.high(IRQ4));
    }

    @Test
    void hostInputDoesNotRaiseTheLineWhileReceiveInterruptsAreDisabled() {
        out(OFS_MCR, MCR_OUT2);
        uart.hostReceive('a');
        assertFalse(lines.high(IRQ4));
        assertEquals(0, wakeups.get());
    }

    @Test
    void out2GatesTheInterruptOntoTheIsaLine() {
        out(OFS_IER, IER_ETBEI);
        assertEquals(IIR_THR_EMPTY, in(OFS_IIR_FCR) & ~IIR_FIFOS_ENABLED, "the chip has an interrupt pending");
        out(OFS_IER, 0);
        out(OFS_IER, IER_ETBEI);
        assertFalse(lines.high(IRQ4), "but without OUT2 the PC board keeps IRQ4 low");
        out(OFS_MCR, MCR_OUT2);
        assertTrue(lines.high(IRQ4));
    }

    @Test
    void withoutOut2GatingTheInterruptReachesTheLine() {
        uart = new Uart16550(COM1, IRQ4, lines, clock, () -> { }, host::write, false);
        out(OFS_IER, IER_ETBEI);
        assertTrue(lines.high(IRQ4));
    }

    @Test
    void enablingEtbeiWithThrEmptyRaisesThreAndReadingIirClearsIt() {
        out(OFS_MCR, MCR_OUT2);
        out(OFS_IER, IER_ETBEI);
        assertTrue(lines.high(IRQ4));
        assertEquals(IIR_THR_EMPTY, in(OFS_IIR_FCR));
        assertFalse(lines.high(IRQ4), "reading IIR cleared the THRE source");
        assertEquals(IIR_NO_INTERRUPT, in(OFS_IIR_FCR));
        out(OFS_DATA, 'z');
        assertTrue(lines.high(IRQ4), "the character left at once, so THR is empty again");
        assertEquals(2, lines.risingEdges(IRQ4));
    }

    @Test
    void fifoModeReportsC0InIirAndTheTriggerLevelGatesTheDataInterrupt() {
        initialise(0x40); // trigger level 4
        out(OFS_IER, IER_ERBFI);
        assertEquals(IIR_FIFOS_ENABLED | IIR_NO_INTERRUPT, in(OFS_IIR_FCR));
        for (char c : "abc".toCharArray()) {
            uart.hostReceive(c);
        }
        assertEquals(IIR_FIFOS_ENABLED | IIR_NO_INTERRUPT, in(OFS_IIR_FCR), "three characters are below the trigger level");
        uart.hostReceive('d');
        assertEquals(IIR_FIFOS_ENABLED | IIR_RX_DATA, in(OFS_IIR_FCR));
        assertEquals('a', in(OFS_DATA));
        assertEquals(IIR_FIFOS_ENABLED | IIR_NO_INTERRUPT, in(OFS_IIR_FCR), "below the trigger again, and no time has passed");
    }

    @Test
    void characterTimeoutFiresFourCharacterTimesAfterTheLastActivity() {
        initialise(0xC0); // trigger level 14
        out(OFS_IER, IER_ERBFI);
        uart.hostReceive('k');
        assertEquals(IIR_FIFOS_ENABLED | IIR_NO_INTERRUPT, in(OFS_IIR_FCR));
        assertFalse(lines.high(IRQ4));
        clock.advanceBy(uart.charTimeoutNanos() - 1);
        assertFalse(lines.high(IRQ4), "one nanosecond early");
        clock.advanceBy(1);
        assertTrue(lines.high(IRQ4), "the timer raised IRQ4 at the virtual instant");
        assertEquals(IIR_FIFOS_ENABLED | IIR_CHAR_TIMEOUT, in(OFS_IIR_FCR));
        assertEquals('k', in(OFS_DATA));
        assertEquals(IIR_FIFOS_ENABLED | IIR_NO_INTERRUPT, in(OFS_IIR_FCR));
        assertFalse(lines.high(IRQ4));
    }

    @Test
    void withoutAClockTheCharacterTimeoutIsImmediate() {
        uart = new Uart16550(COM1, IRQ4, lines, null, () -> { }, host::write, true);
        initialise(0xC0);
        out(OFS_IER, IER_ERBFI);
        uart.hostReceive('k');
        assertEquals(IIR_FIFOS_ENABLED | IIR_CHAR_TIMEOUT, in(OFS_IIR_FCR));
    }

    @Test
    void fcrWithoutBit0ProgramsNothingAndChangingBit0ClearsTheFifo() {
        out(OFS_IIR_FCR, 0xC0);
        assertEquals(IIR_NO_INTERRUPT, in(OFS_IIR_FCR), "FIFOs stay off");
        out(OFS_IIR_FCR, FCR_FIFO_ENABLE);
        uart.hostReceive('1');
        uart.hostReceive('2');
        assertEquals(LSR_DR, in(OFS_LSR) & LSR_DR);
        out(OFS_IIR_FCR, 0);
        assertEquals(0, in(OFS_LSR) & LSR_DR, "turning the FIFOs off cleared them");
    }

    @Test
    void fcrReceiverResetClearsTheReceiverFifo() {
        initialise(0);
        out(OFS_MCR, MCR_LOOP);
        out(OFS_DATA, 'a');
        out(OFS_DATA, 'b');
        out(OFS_IIR_FCR, FCR_FIFO_ENABLE | FCR_RX_RESET);
        assertEquals(0, in(OFS_LSR) & LSR_DR);
    }

    @Test
    void inLoopbackTransmittedCharactersAreReceivedAndNotSentToTheHost() {
        initialise(0);
        out(OFS_MCR, MCR_LOOP);
        out(OFS_DATA, 0x55);
        out(OFS_DATA, 0xAA);
        assertEquals(0, host.size());
        assertEquals(0x55, in(OFS_DATA));
        assertEquals(0xAA, in(OFS_DATA));
    }

    @Test
    void inLoopbackTheModemControlOutputsDriveTheModemStatusInputs() {
        out(OFS_MCR, MCR_LOOP);
        assertEquals(MSR_DCTS | MSR_DDSR | MSR_DDCD, in(OFS_MSR), "CTS, DSR and DCD dropped on entering loopback");
        out(OFS_MCR, MCR_LOOP | MCR_DTR | MCR_RTS | MCR_OUT1 | MCR_OUT2);
        assertEquals(MSR_CTS | MSR_DSR | MSR_RI | MSR_DCD | MSR_DCTS | MSR_DDSR | MSR_DDCD, in(OFS_MSR));
        assertEquals(MSR_CTS | MSR_DSR | MSR_RI | MSR_DCD, in(OFS_MSR), "reading MSR cleared the deltas");
        out(OFS_MCR, MCR_LOOP | MCR_DTR | MCR_RTS | MCR_OUT2);
        assertEquals(MSR_TERI, in(OFS_MSR) & MSR_DELTAS, "RI going off is a trailing edge");
    }

    @Test
    void hostInputWaitsWhileInLoopback() {
        out(OFS_MCR, MCR_LOOP);
        uart.hostReceive('h');
        assertEquals(0, in(OFS_LSR) & LSR_DR);
        out(OFS_MCR, 0);
        assertEquals('h', in(OFS_DATA));
    }

    @Test
    void modemStatusInterruptIsClearedByReadingMsr() {
        uart = new Uart16550(COM1, IRQ4, lines, clock, () -> { }, host::write, false);
        out(OFS_IER, IER_EDSSI);
        out(OFS_MCR, MCR_LOOP | MCR_RTS);
        assertEquals(IIR_MODEM_STATUS, in(OFS_IIR_FCR));
        assertTrue(lines.high(IRQ4));
        in(OFS_MSR);
        assertEquals(IIR_NO_INTERRUPT, in(OFS_IIR_FCR));
        assertFalse(lines.high(IRQ4));
    }

    @Test
    void aSeventeenthCharacterOverrunsTheFifoAndIsLost() {
        initialise(0xC0);
        out(OFS_MCR, MCR_LOOP);
        for (int i = 0; i < FIFO_DEPTH + 1; i++) {
            out(OFS_DATA, 'A' + i);
        }
        int lsr = in(OFS_LSR);
        assertEquals(LSR_OE | LSR_DR, lsr & (LSR_OE | LSR_DR));
        assertEquals(0, in(OFS_LSR) & LSR_OE, "reading LSR cleared OE");
        for (int i = 0; i < FIFO_DEPTH; i++) {
            assertEquals('A' + i, in(OFS_DATA));
        }
        assertEquals(0, in(OFS_LSR) & LSR_DR, "the seventeenth character never entered the FIFO");
        assertEquals(1, uart.overruns());
    }

    @Test
    void in16450ModeAnOverrunOverwritesRbr() {
        out(OFS_LCR, 0x03);
        out(OFS_MCR, MCR_LOOP);
        out(OFS_DATA, '1');
        out(OFS_DATA, '2');
        assertEquals(LSR_OE, in(OFS_LSR) & LSR_OE);
        assertEquals('2', in(OFS_DATA));
    }

    @Test
    void lineStatusHasPriorityOverReceivedDataAndThre() {
        uart = new Uart16550(COM1, IRQ4, lines, clock, () -> { }, host::write, false);
        out(OFS_MCR, MCR_LOOP);
        out(OFS_DATA, '1');
        out(OFS_DATA, '2'); // overrun in 16450 mode
        out(OFS_IER, IER_ERBFI | IER_ETBEI | IER_ELSI | IER_EDSSI);
        assertEquals(IIR_LINE_STATUS, in(OFS_IIR_FCR));
        in(OFS_LSR);
        assertEquals(IIR_RX_DATA, in(OFS_IIR_FCR));
        in(OFS_DATA);
        assertEquals(IIR_THR_EMPTY, in(OFS_IIR_FCR));
        assertEquals(IIR_MODEM_STATUS, in(OFS_IIR_FCR), "entering loopback changed CTS, DSR, DCD");
        in(OFS_MSR);
        assertEquals(IIR_NO_INTERRUPT, in(OFS_IIR_FCR));
    }

    @Test
    void aBreakInLoopbackReceivesAZeroCharacterWithBiAndTheFifoErrorBit() {
        initialise(0);
        out(OFS_MCR, MCR_LOOP);
        out(OFS_LCR, 0x03 | LCR_SET_BREAK);
        int lsr = in(OFS_LSR);
        assertEquals(LSR_DR | LSR_BI | LSR_FIFO_ERROR, lsr & (LSR_DR | LSR_BI | LSR_FIFO_ERROR));
        assertEquals(LSR_FIFO_ERROR, in(OFS_LSR) & (LSR_BI | LSR_FIFO_ERROR), "BI cleared; bit 7 stays while the character is in the FIFO");
        assertEquals(0, in(OFS_DATA));
        assertEquals(LSR_FIFO_ERROR, in(OFS_LSR) & LSR_FIFO_ERROR, "bit 7 clears at an LSR read once no error is left");
        assertEquals(0, in(OFS_LSR) & LSR_FIFO_ERROR);
    }

    @Test
    void theScratchRegisterHoldsAByte() {
        out(OFS_SCR, 0x5A);
        assertEquals(0x5A, in(OFS_SCR));
    }

    @Test
    void hostInputWaitsForRoomInsteadOfOverrunning() {
        initialise(0);
        for (int i = 0; i < FIFO_DEPTH + 4; i++) {
            uart.hostReceive('a' + i);
        }
        for (int i = 0; i < FIFO_DEPTH + 4; i++) {
            assertEquals('a' + i, in(OFS_DATA));
        }
        assertEquals(0, in(OFS_LSR) & (LSR_OE | LSR_DR));
        assertEquals(0, uart.overruns());
    }

    @Test
    void inputThatArrivesWhileTheLineIsLoweredStillRaisesIt() {
        uart = new Uart16550(COM1, IRQ4, (irq, high) -> {
            lines.setLevel(irq, high);
            if (!high && uart != null && !uart.hostInputWaiting() && lines.risingEdges(irq) == 1) {
                // A host thread slips in a byte between the vCPU's decision and its setLevel(false).
                uart.hostReceive('L');
            }
        }, clock, () -> { }, host::write, false);
        out(OFS_IER, IER_ERBFI);
        uart.hostReceive('a');
        assertEquals('a', in(OFS_DATA));
        assertTrue(lines.high(IRQ4), "the late byte re-raised the line");
        assertEquals(IIR_RX_DATA, in(OFS_IIR_FCR));
    }

    @Test
    void wideAccessesAreSplitIntoByteCyclesAndCounted() {
        out(OFS_LCR, LCR_DLAB);
        uart.ioWrite(COM1, 2, 0x0180); // DLL = 0x80, DLM = 0x01
        assertEquals(0x0180, uart.ioRead(COM1, 2));
        assertEquals(2, uart.unexpectedSizes());
    }

    @Test
    void portsOutsideTheUartAreCountedAsMissed() {
        assertEquals(0xFF, uart.ioRead(COM1 + PORT_COUNT, 1));
        uart.ioWrite(COM1 - 1, 1, 0);
        assertEquals(1, uart.missedReads());
        assertEquals(1, uart.missedWrites());
        assertEquals(0, uart.reads());
    }

    @Test
    void theFirstPortOfTheConfiguredRangeIsTheBase() {
        assertEquals(0x2F8, Uart16550Component.firstPort("0x2f8-0x2ff"));
        assertEquals(0x3E8, Uart16550Component.firstPort(" 0x3e8 "));
        assertEquals(-1, Uart16550Component.firstPort("com2"));
        assertEquals(-1, Uart16550Component.firstPort(null));
    }
}
