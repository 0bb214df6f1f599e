package org.hotvisor.device.uart16550;

import java.util.function.IntConsumer;
import org.hotvisor.api.device.InterruptLines;
import org.hotvisor.api.device.VirtualClock;

/**
 * A National Semiconductor PC16550D UART (the "16550A" of PC serial ports), register for
 * register. Its fields are the chip's registers; {@link #ioRead} and {@link #ioWrite} decode the
 * eight ports from the base.
 *
 * <p>Threads: the guest side runs on the vCPU thread and takes no lock. Host input arrives on a
 * host thread through {@link #hostReceive}, which only appends to a lock-free ring; the vCPU
 * moves it into the receiver FIFO at its next access (or timer), only as fast as the FIFO has
 * room (the host never overruns the guest). Transmission is instantaneous: THRE and TEMT never
 * drop. The host end of the cable is assumed to match the guest's line format: bytes pass
 * whole between host and guest whatever LCR says; only loopback honours the word length.
 *
 * <p>Datasheet references are to the PC16550D data sheet (National Semiconductor, June 1995):
 * section 8 "Registers" and Table IV "Interrupt Control Functions".
 */
public final class Uart16550 {

    // ---- Register offsets from the base port (datasheet Table II) ----
    /** RBR on read, THR on write; DLL (divisor latch, low byte) while LCR.DLAB = 1. */
    static final int OFS_DATA = 0;
    /** IER; DLM (divisor latch, high byte) while LCR.DLAB = 1. */
    static final int OFS_IER = 1;
    /** IIR on read, FCR on write. */
    static final int OFS_IIR_FCR = 2;
    /** Line control register. */
    static final int OFS_LCR = 3;
    /** Modem control register. */
    static final int OFS_MCR = 4;
    /** Line status register. */
    static final int OFS_LSR = 5;
    /** Modem status register. */
    static final int OFS_MSR = 6;
    /** Scratch register. */
    static final int OFS_SCR = 7;
    /** Ports the UART decodes. */
    public static final int PORT_COUNT = 8;

    // ---- IER: interrupt enable (datasheet 8.5) ----
    /** Enable received-data-available (and, in FIFO mode, character-timeout) interrupts. */
    static final int IER_ERBFI = 0x01;
    /** Enable transmitter-holding-register-empty interrupts. */
    static final int IER_ETBEI = 0x02;
    /** Enable receiver-line-status interrupts. */
    static final int IER_ELSI = 0x04;
    /** Enable modem-status interrupts. */
    static final int IER_EDSSI = 0x08;
    /** Bits 7:4 are always zero. */
    static final int IER_WRITABLE = 0x0F;

    // ---- IIR: interrupt identification (datasheet Table IV), highest priority first ----
    /** Bit 0 set: no interrupt pending. */
    static final int IIR_NO_INTERRUPT = 0x01;
    /** Priority 1: overrun, parity, framing error or break. Cleared by reading LSR. */
    static final int IIR_LINE_STATUS = 0x06;
    /** Priority 2: receiver data (or FIFO trigger level) available. Cleared by reading RBR. */
    static final int IIR_RX_DATA = 0x04;
    /** Priority 2: character timeout (FIFO mode). Cleared by reading RBR. */
    static final int IIR_CHAR_TIMEOUT = 0x0C;
    /** Priority 3: THR empty. Cleared by reading IIR (if it is the source) or writing THR. */
    static final int IIR_THR_EMPTY = 0x02;
    /** Priority 4: CTS, DSR, RI or DCD changed. Cleared by reading MSR. */
    static final int IIR_MODEM_STATUS = 0x00;
    /** Bits 7:6 are set while the FIFOs are enabled (FCR bit 0). */
    static final int IIR_FIFOS_ENABLED = 0xC0;

    // ---- FCR: FIFO control (datasheet 8.4) ----
    /** Enable both FIFOs; changing it clears them; other bits are programmed only with it set. */
    static final int FCR_FIFO_ENABLE = 0x01;
    /** Clear the receiver FIFO (self-clearing). */
    static final int FCR_RX_RESET = 0x02;
    /** Clear the transmitter FIFO (self-clearing). */
    static final int FCR_TX_RESET = 0x04;
    /** DMA mode select (RXRDY/TXRDY pins; no effect here). */
    static final int FCR_DMA_MODE = 0x08;
    /** Receiver trigger level, bits 7:6. */
    static final int FCR_TRIGGER_MASK = 0xC0;
    static final int FCR_TRIGGER_SHIFT = 6;
    /** Trigger levels for FCR bits 7:6 = 00, 01, 10, 11. */
    private static final int[] RX_TRIGGER_LEVELS = {1, 4, 8, 14};
    /** Depth of each FIFO. */
    static final int FIFO_DEPTH = 16;

    // ---- LCR: line control (datasheet 8.6) ----
    /** Word length: 00 = 5 bits ... 11 = 8 bits. */
    static final int LCR_WORD_LENGTH_MASK = 0x03;
    /** Two stop bits (1.5 with 5-bit words). */
    static final int LCR_TWO_STOP_BITS = 0x04;
    static final int LCR_PARITY_ENABLE = 0x08;
    static final int LCR_EVEN_PARITY = 0x10;
    static final int LCR_STICK_PARITY = 0x20;
    /** Holds the serial output in the spacing state: a break. */
    static final int LCR_SET_BREAK = 0x40;
    /** Divisor latch access bit: offsets 0 and 1 reach DLL and DLM. */
    static final int LCR_DLAB = 0x80;

    // ---- MCR: modem control (datasheet 8.7) ----
    static final int MCR_DTR = 0x01;
    static final int MCR_RTS = 0x02;
    static final int MCR_OUT1 = 0x04;
    /** On PC boards OUT2 gates the UART's interrupt output onto the ISA IRQ line. */
    static final int MCR_OUT2 = 0x08;
    /** Local loopback: TX feeds RX, the MCR outputs feed the MSR inputs. */
    static final int MCR_LOOP = 0x10;
    static final int MCR_WRITABLE = 0x1F;

    // ---- LSR: line status (datasheet 8.8) ----
    /** Data ready: a character is in RBR or the FIFO. */
    static final int LSR_DR = 0x01;
    /** Overrun error. */
    static final int LSR_OE = 0x02;
    /** Parity error (of the character at the top of the FIFO). */
    static final int LSR_PE = 0x04;
    /** Framing error. */
    static final int LSR_FE = 0x08;
    /** Break interrupt. */
    static final int LSR_BI = 0x10;
    /** Transmitter holding register (or FIFO) empty. */
    static final int LSR_THRE = 0x20;
    /** Transmitter empty: THR and the shift register. */
    static final int LSR_TEMT = 0x40;
    /** FIFO mode: at least one character in the FIFO has a PE, FE or BI error. */
    static final int LSR_FIFO_ERROR = 0x80;
    /** The errors a line-status interrupt reports. */
    static final int LSR_LINE_ERRORS = LSR_OE | LSR_PE | LSR_FE | LSR_BI;

    // ---- MSR: modem status (datasheet 8.9) ----
    static final int MSR_DCTS = 0x01;
    static final int MSR_DDSR = 0x02;
    /** Trailing edge of ring indicator: RI went from on to off. */
    static final int MSR_TERI = 0x04;
    static final int MSR_DDCD = 0x08;
    static final int MSR_CTS = 0x10;
    static final int MSR_DSR = 0x20;
    static final int MSR_RI = 0x40;
    static final int MSR_DCD = 0x80;
    static final int MSR_DELTAS = 0x0F;
    /** What the host side presents on the modem inputs: a terminal that is connected and ready. */
    static final int EXTERNAL_MODEM_INPUTS = MSR_CTS | MSR_DSR | MSR_DCD;

    // ---- Timing ----
    /** The PC's UART crystal, 1.8432 MHz; the baud generator divides it by 16 x divisor. */
    static final long UART_CLOCK_HZ = 1_843_200;
    static final int BAUD_CLOCK_SAMPLES = 16;
    /** Datasheet 8.5: the timeout fires after four character times without FIFO activity. */
    static final int CHAR_TIMEOUT_CHARACTERS = 4;
    /** Divisor the PC BIOS programs for 9600 baud; the latch itself is not reset by MR. */
    static final int DEFAULT_DIVISOR = 12;
    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    /** Host input waiting for the vCPU; a burst larger than this is dropped (and counted). */
    static final int HOST_INPUT_CAPACITY = 4096;

    // ---- Wiring ----
    private final int basePort;
    private final int irq;
    private final InterruptLines lines;
    /** Null: no virtual clock, the character timeout is immediate. */
    private final VirtualClock clock;
    private final VirtualClock.Timer charTimeoutTimer;
    private final Runnable wakeVcpu;
    private final IntConsumer transmitter;
    private final boolean irqGatedByOut2;
    private final ByteRing hostInput = new ByteRing(HOST_INPUT_CAPACITY);

    // ---- The chip's registers ----
    private int ier;
    private int fcr;
    private int lcr;
    private int mcr;
    private int msr;
    private int scr;
    private int dll = DEFAULT_DIVISOR;
    private int dlm;
    /** The last character read from RBR: an empty receiver keeps returning it. */
    private int rbr;
    /** LSR bits 4:1 latched since the last LSR read (OE, and PE/FE/BI of the top character). */
    private int lineErrors;
    /** LSR bit 7, latched until an LSR read finds no erroneous character left in the FIFO. */
    private boolean fifoErrorFlag;
    /** The THRE interrupt source: set when THR empties, cleared by an IIR read naming it or a THR write. */
    private boolean thrEmptyInterrupt;

    /** The receiver FIFO (one slot in 16450 mode), with each character's PE/FE/BI bits. */
    private final byte[] rxData = new byte[FIFO_DEPTH];
    private final byte[] rxErrors = new byte[FIFO_DEPTH];
    private int rxHead;
    private int rxCount;
    /** Characters in the FIFO that carry an error, for LSR bit 7. */
    private int rxErrorCharacters;
    /** Virtual time a character last entered or left the receiver FIFO. */
    private long lastRxActivityNanos;
    private long armedTimeoutNanos = -1;

    // ---- The interrupt output ----
    private boolean lineHigh;
    /** Published to the host thread: whether new input should raise the line at once. */
    private volatile boolean rxInterruptArmed;
    /** A host thread raised the line: the vCPU side must drive it again on its next update. */
    private volatile boolean lineRaisedByHost;

    // ---- Counters ----
    private long reads;
    private long writes;
    private long unexpectedSizes;
    private long missedReads;
    private long missedWrites;
    private long transmitted;
    private long received;
    private long overruns;

    /**
     * @param basePort the first of the eight ports (0x3F8 for COM1)
     * @param irq the ISA IRQ line (4 for COM1)
     * @param lines where the interrupt output goes
     * @param clock the machine's clock, or null (then the character timeout is immediate)
     * @param wakeVcpu run on a host thread after it raised the line (InterruptSink.intrAsserted)
     * @param transmitter receives each transmitted character (not in loopback)
     * @param irqGatedByOut2 whether MCR.OUT2 gates the interrupt line, as on PC boards
     */
    public Uart16550(int basePort, int irq, InterruptLines lines, VirtualClock clock, Runnable wakeVcpu,
            IntConsumer transmitter, boolean irqGatedByOut2) {
        this.basePort = basePort;
        this.irq = irq;
        this.lines = lines;
        this.clock = clock;
        this.wakeVcpu = wakeVcpu;
        this.transmitter = transmitter;
        this.irqGatedByOut2 = irqGatedByOut2;
        this.charTimeoutTimer = clock == null ? null : clock.newTimer("uart@" + Integer.toHexString(basePort), this::onCharTimeout);
        reset();
    }

    /** Master reset (datasheet Table III): everything but the divisor latch, RBR, THR and SCR. */
    public void reset() {
        ier = 0;
        fcr = 0;
        lcr = 0;
        mcr = 0;
        msr = EXTERNAL_MODEM_INPUTS;
        lineErrors = 0;
        fifoErrorFlag = false;
        thrEmptyInterrupt = false;
        clearRxFifo();
        updateInterrupt();
    }

    /** Stops the character-timeout timer (the device is going away). */
    public void close() {
        if (charTimeoutTimer != null) {
            charTimeoutTimer.cancel();
        }
    }

    // =====================================================================================
    // Guest side (vCPU thread)
    // =====================================================================================

    /** A port read; wider accesses are split into byte cycles as the ISA bus does, and counted. */
    public int ioRead(int port, int size) {
        if (size == 1) {
            return readRegister(port);
        }
        unexpectedSizes++;
        int value = 0;
        for (int i = 0; i < size; i++) {
            value |= readRegister(port + i) << (8 * i);
        }
        return value;
    }

    /** A port write; wider accesses are split into byte cycles as the ISA bus does, and counted. */
    public void ioWrite(int port, int size, int value) {
        if (size != 1) {
            unexpectedSizes++;
            for (int i = 0; i < size; i++) {
                writeRegister(port + i, (value >>> (8 * i)) & 0xFF);
            }
            return;
        }
        writeRegister(port, value & 0xFF);
    }

    private int readRegister(int port) {
        int offset = port - basePort;
        if (offset < 0 || offset >= PORT_COUNT) {
            missedReads++;
            return 0xFF;
        }
        reads++;
        drainHostInput();
        int value;
        switch (offset) {
            case OFS_DATA ->
                // The guest reads a received character, or the divisor latch low byte while programming the baud rate.
                value = dlab() ? dll : readReceiverBuffer();
            case OFS_IER ->
                // The guest reads the interrupt enables, or the divisor latch high byte.
                value = dlab() ? dlm : ier;
            case OFS_IIR_FCR ->
                // The guest asks which interrupt is pending (its ISR loops on this until bit 0 is set).
                value = readInterruptIdentification();
            case OFS_LCR ->
                // The guest reads back the line format.
                value = lcr;
            case OFS_MCR ->
                // The guest reads back the modem control outputs.
                value = mcr;
            case OFS_LSR ->
                // The guest polls line status: data ready, THR empty, errors (reading clears the errors).
                value = readLineStatus();
            case OFS_MSR ->
                // The guest reads the modem inputs; reading clears the delta bits.
                value = readModemStatus();
            case OFS_SCR ->
                // The guest reads the scratch register (drivers use it to detect a 16450 or better).
                value = scr;
            default -> throw new AssertionError(offset);
        }
        updateInterrupt();
        return value;
    }

    private void writeRegister(int port, int value) {
        int offset = port - basePort;
        if (offset < 0 || offset >= PORT_COUNT) {
            missedWrites++;
            return;
        }
        writes++;
        drainHostInput();
        switch (offset) {
            case OFS_DATA -> {
                // The guest sends a character, or programs the divisor latch low byte.
                if (dlab()) {
                    dll = value;
                } else {
                    transmit(value);
                }
            }
            case OFS_IER -> {
                // The guest enables interrupts, or programs the divisor latch high byte.
                if (dlab()) {
                    dlm = value;
                } else {
                    writeInterruptEnable(value);
                }
            }
            case OFS_IIR_FCR ->
                // The guest enables, clears or sets the trigger level of the FIFOs.
                writeFifoControl(value);
            case OFS_LCR ->
                // The guest sets the line format, toggles DLAB, or sends a break.
                writeLineControl(value);
            case OFS_MCR ->
                // The guest drives DTR/RTS/OUT1/OUT2 or enters loopback.
                writeModemControl(value);
            case OFS_LSR, OFS_MSR -> {
                // The guest writes a status register: datasheet 8.8 reserves that for factory test; ignored.
            }
            case OFS_SCR ->
                // The guest stores a byte in the scratch register.
                scr = value;
            default -> throw new AssertionError(offset);
        }
        updateInterrupt();
    }

    private boolean dlab() {
        return (lcr & LCR_DLAB) != 0;
    }

    private boolean fifoEnabled() {
        return (fcr & FCR_FIFO_ENABLE) != 0;
    }

    private boolean loopback() {
        return (mcr & MCR_LOOP) != 0;
    }

    private int triggerLevel() {
        return RX_TRIGGER_LEVELS[(fcr & FCR_TRIGGER_MASK) >>> FCR_TRIGGER_SHIFT];
    }

    private int rxCapacity() {
        return fifoEnabled() ? FIFO_DEPTH : 1;
    }

    private int wordMask() {
        return (1 << (5 + (lcr & LCR_WORD_LENGTH_MASK))) - 1;
    }

    private int readReceiverBuffer() {
        if (rxCount == 0) {
            return rbr;
        }
        int top = rxHead;
        rbr = rxData[top] & 0xFF;
        if (rxErrors[top] != 0) {
            rxErrorCharacters--;
        }
        rxHead = (top + 1) % FIFO_DEPTH;
        rxCount--;
        if (rxCount > 0) {
            // Datasheet 8.8: PE, FE and BI show when their character reaches the top of the FIFO.
            lineErrors |= rxErrors[rxHead];
        }
        markRxActivity();
        return rbr;
    }

    private int readInterruptIdentification() {
        int pending = pendingInterrupt();
        if (pending == IIR_THR_EMPTY) {
            // Table IV: reading IIR clears the THRE interrupt when it is the source reported.
            thrEmptyInterrupt = false;
        }
        return pending | (fifoEnabled() ? IIR_FIFOS_ENABLED : 0);
    }

    private int readLineStatus() {
        int value = lineStatus();
        lineErrors = 0;
        if (rxErrorCharacters == 0) {
            fifoErrorFlag = false;
        }
        return value;
    }

    private int lineStatus() {
        int value = LSR_THRE | LSR_TEMT | lineErrors;
        if (rxCount > 0) {
            value |= LSR_DR;
        }
        if (fifoEnabled() && fifoErrorFlag) {
            value |= LSR_FIFO_ERROR;
        }
        return value;
    }

    private int readModemStatus() {
        int value = msr;
        msr &= ~MSR_DELTAS;
        return value;
    }

    private void transmit(int value) {
        transmitted++;
        if (loopback()) {
            // Datasheet 8.7: in loopback the transmitter output is wired to the receiver input,
            // so the receiver assembles only the programmed word length.
            receive(value & wordMask(), 0);
        } else {
            // The host end always matches the guest's line format, so the whole byte goes out:
            // guests that never program LCR (reset value: 5 data bits) still print text.
            transmitter.accept(value);
        }
        // Transmission takes no time here: THR is empty again at once.
        thrEmptyInterrupt = true;
    }

    private void writeInterruptEnable(int value) {
        int enabling = value & ~ier;
        ier = value & IER_WRITABLE;
        if ((enabling & IER_ETBEI) != 0) {
            // Enabling ETBEI while THR is empty raises a THRE interrupt (drivers rely on it to start sending).
            thrEmptyInterrupt = true;
        }
    }

    private void writeFifoControl(int value) {
        if (((value ^ fcr) & FCR_FIFO_ENABLE) != 0) {
            // Datasheet 8.4: changing FCR bit 0 clears both FIFOs.
            clearRxFifo();
        }
        if ((value & FCR_FIFO_ENABLE) == 0) {
            // The other bits are programmed only together with FCR bit 0.
            fcr = 0;
            return;
        }
        if ((value & FCR_RX_RESET) != 0) {
            clearRxFifo();
        }
        // FCR_TX_RESET: the transmitter FIFO is always empty here. Both reset bits self-clear.
        fcr = value & (FCR_FIFO_ENABLE | FCR_DMA_MODE | FCR_TRIGGER_MASK);
    }

    private void writeLineControl(int value) {
        boolean breakStarts = (value & ~lcr & LCR_SET_BREAK) != 0;
        lcr = value;
        if (breakStarts && loopback()) {
            // The receiver sees the spacing line: one zero character with BI (datasheet 8.8, bit 4).
            receive(0, LSR_BI);
        }
    }

    private void writeModemControl(int value) {
        mcr = value & MCR_WRITABLE;
        updateModemInputs();
    }

    /** Recomputes the MSR inputs (datasheet 8.7: in loopback, DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD) and their deltas. */
    private void updateModemInputs() {
        int inputs;
        if (loopback()) {
            inputs = 0;
            if ((mcr & MCR_DTR) != 0) {
                inputs |= MSR_DSR;
            }
            if ((mcr & MCR_RTS) != 0) {
                inputs |= MSR_CTS;
            }
            if ((mcr & MCR_OUT1) != 0) {
                inputs |= MSR_RI;
            }
            if ((mcr & MCR_OUT2) != 0) {
                inputs |= MSR_DCD;
            }
        } else {
            inputs = EXTERNAL_MODEM_INPUTS;
        }
        int changed = msr ^ inputs;
        int deltas = msr & MSR_DELTAS;
        if ((changed & MSR_CTS) != 0) {
            deltas |= MSR_DCTS;
        }
        if ((changed & MSR_DSR) != 0) {
            deltas |= MSR_DDSR;
        }
        if ((changed & MSR_RI) != 0 && (inputs & MSR_RI) == 0) {
            deltas |= MSR_TERI;
        }
        if ((changed & MSR_DCD) != 0) {
            deltas |= MSR_DDCD;
        }
        msr = (inputs & ~MSR_DELTAS) | deltas;
    }

    /** A character completes in the receiver shift register. */
    private void receive(int character, int errors) {
        received++;
        if (rxCount == rxCapacity()) {
            overruns++;
            lineErrors |= LSR_OE;
            if (fifoEnabled()) {
                // Datasheet 8.8: with a full FIFO the new character is lost; the FIFO is kept.
                return;
            }
            // 16450 mode: the new character overwrites RBR.
            clearRxFifo();
        }
        int slot = (rxHead + rxCount) % FIFO_DEPTH;
        rxData[slot] = (byte) character;
        rxErrors[slot] = (byte) errors;
        rxCount++;
        if (errors != 0) {
            rxErrorCharacters++;
            fifoErrorFlag = true;
        }
        if (rxCount == 1) {
            lineErrors |= errors;
        }
        markRxActivity();
    }

    private void clearRxFifo() {
        rxHead = 0;
        rxCount = 0;
        rxErrorCharacters = 0;
        fifoErrorFlag = false;
    }

    private void markRxActivity() {
        lastRxActivityNanos = clock == null ? 0 : clock.nanos();
    }

    /** Moves waiting host input into the receiver while there is room: the host never overruns the guest. */
    private void drainHostInput() {
        if (loopback()) {
            return; // datasheet 8.7: the serial input is disconnected in loopback
        }
        while (rxCount < rxCapacity()) {
            int b = hostInput.poll();
            if (b < 0) {
                return;
            }
            receive(b, 0); // like the output, host bytes arrive whole whatever the word length
        }
    }

    // ---- interrupts ----

    /** Table IV: the highest-priority pending source, as the IIR code. */
    private int pendingInterrupt() {
        if ((ier & IER_ELSI) != 0 && (lineErrors & LSR_LINE_ERRORS) != 0) {
            return IIR_LINE_STATUS;
        }
        if ((ier & IER_ERBFI) != 0 && rxCount > 0) {
            if (!fifoEnabled() || rxCount >= triggerLevel()) {
                return IIR_RX_DATA;
            }
            if (charTimeoutElapsed()) {
                return IIR_CHAR_TIMEOUT;
            }
        }
        if ((ier & IER_ETBEI) != 0 && thrEmptyInterrupt) {
            return IIR_THR_EMPTY;
        }
        if ((ier & IER_EDSSI) != 0 && (msr & MSR_DELTAS) != 0) {
            return IIR_MODEM_STATUS;
        }
        return IIR_NO_INTERRUPT;
    }

    private boolean charTimeoutElapsed() {
        return clock == null || clock.nanos() >= lastRxActivityNanos + charTimeoutNanos();
    }

    /** Four character times at the programmed divisor and line format. */
    long charTimeoutNanos() {
        int divisor = (dlm << 8) | dll;
        if (divisor == 0) {
            divisor = 1; // a zero divisor is undefined on the chip; take the fastest rate
        }
        int bits = 1 + 5 + (lcr & LCR_WORD_LENGTH_MASK) + ((lcr & LCR_PARITY_ENABLE) != 0 ? 1 : 0)
                + ((lcr & LCR_TWO_STOP_BITS) != 0 ? 2 : 1);
        return CHAR_TIMEOUT_CHARACTERS * bits * BAUD_CLOCK_SAMPLES * (long) divisor * NANOS_PER_SECOND / UART_CLOCK_HZ;
    }

    private boolean interruptOutputConnected() {
        // On PC boards the IRQ driver is enabled by OUT2; in loopback the OUT pins are forced inactive.
        return !irqGatedByOut2 || ((mcr & MCR_OUT2) != 0 && !loopback());
    }

    /** Drives the IRQ line from the pending sources; runs after every access and timer. */
    private void updateInterrupt() {
        boolean connected = interruptOutputConnected();
        boolean level;
        while (true) {
            level = connected && pendingInterrupt() != IIR_NO_INTERRUPT;
            rxInterruptArmed = connected && (ier & IER_ERBFI) != 0 && !loopback();
            boolean redrive = lineRaisedByHost;
            if (redrive) {
                lineRaisedByHost = false;
            }
            if (level != lineHigh || redrive) {
                lineHigh = level;
                lines.setLevel(irq, level);
            }
            // Input that arrived while we lowered the line must not be left waiting without an interrupt.
            if (level || hostInput.isEmpty() || loopback() || rxCount == rxCapacity()) {
                break;
            }
            drainHostInput();
        }
        armCharTimeout();
    }

    private void armCharTimeout() {
        if (charTimeoutTimer == null) {
            return;
        }
        if ((ier & IER_ERBFI) != 0 && fifoEnabled() && rxCount > 0 && rxCount < triggerLevel()) {
            long deadline = lastRxActivityNanos + charTimeoutNanos();
            if (clock.nanos() < deadline && (deadline != armedTimeoutNanos || !charTimeoutTimer.armed())) {
                armedTimeoutNanos = deadline;
                charTimeoutTimer.armAt(deadline);
            }
        } else if (charTimeoutTimer.armed()) {
            charTimeoutTimer.cancel();
        }
    }

    /** The character-timeout timer: runs on the vCPU thread at the virtual instant it was armed for. */
    private void onCharTimeout() {
        drainHostInput();
        updateInterrupt();
    }

    // =====================================================================================
    // Host side (any host thread)
    // =====================================================================================

    /**
     * A byte from the host (console, socket). Thread-safe. The byte waits in a ring until the
     * guest has room; if the guest takes receive interrupts, the line goes up now so an idle
     * vCPU wakes (the vCPU recomputes the true level at its next access).
     *
     * @return false if the host input ring was full and the byte was dropped
     */
    public boolean hostReceive(int b) {
        synchronized (hostInput) {
            // Host threads only: a console may call back on more than one thread.
            if (!hostInput.offer(b)) {
                return false;
            }
        }
        if (rxInterruptArmed) {
            lineRaisedByHost = true;
            lines.setLevel(irq, true);
            wakeVcpu.run();
        }
        return true;
    }

    /** Whether host input is waiting for room in the receiver. */
    public boolean hostInputWaiting() {
        return !hostInput.isEmpty();
    }

    // ---- counters and identity ----

    public int basePort() {
        return basePort;
    }

    public int irq() {
        return irq;
    }

    public long reads() {
        return reads;
    }

    public long writes() {
        return writes;
    }

    public long unexpectedSizes() {
        return unexpectedSizes;
    }

    public long missedReads() {
        return missedReads;
    }

    public long missedWrites() {
        return missedWrites;
    }

    public long transmitted() {
        return transmitted;
    }

    public long received() {
        return received;
    }

    public long overruns() {
        return overruns;
    }

    /** Host bytes dropped because the host input ring was full. */
    public long hostInputDropped() {
        return hostInput.dropped();
    }

    @Override
    public String toString() {
        return String.format("uart16550@0x%x irq %d: reads=%d writes=%d unexpectedSizes=%d missedReads=%d missedWrites=%d "
                + "tx=%d rx=%d overruns=%d hostDropped=%d", basePort, irq, reads, writes, unexpectedSizes, missedReads,
                missedWrites, transmitted, received, overruns, hostInput.dropped());
    }
}
