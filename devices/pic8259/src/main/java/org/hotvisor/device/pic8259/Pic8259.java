package org.hotvisor.device.pic8259;

/**
 * One Intel 8259A programmable interrupt controller: its fields are the chip's registers and
 * initialization state. It knows nothing of threads or of its partner; {@link CascadedPic} wires
 * two of them as on the PC/AT and serializes access.
 *
 * <p>References are to the Intel 8259A data sheet (order no. 231468): "Interrupt Sequence",
 * "Initialization Command Words", "Operation Command Words", "Edge and Level Triggered Modes",
 * "The Special Mask Mode", "Poll Command". The 8086 mode (ICW4 uPM = 1) is assumed for vectors.
 */
final class Pic8259 {

    // ---- Port offsets (address line A0) ----
    /** A0 = 0: ICW1, OCW2, OCW3 on write; IRR, ISR or the poll word on read. */
    static final int OFS_COMMAND = 0;
    /** A0 = 1: ICW2-ICW4 during initialization, then OCW1 (the IMR); IMR on read. */
    static final int OFS_DATA = 1;

    // ---- ICW1 (A0 = 0, D4 = 1) ----
    /** Distinguishes ICW1 from OCW2/OCW3 on the command port. */
    static final int ICW1_SELECT = 0x10;
    /** ICW4 will follow. */
    static final int ICW1_IC4 = 0x01;
    /** Single 8259A: no ICW3. */
    static final int ICW1_SINGLE = 0x02;
    /** Call address interval 4 (8080 mode only; ignored). */
    static final int ICW1_ADI = 0x04;
    /** Level-triggered mode for all eight inputs. */
    static final int ICW1_LTIM = 0x08;

    // ---- ICW2: vector base (T7-T3); the low three bits are the IR level in 8086 mode ----
    static final int ICW2_VECTOR_MASK = 0xF8;

    // ---- ICW4 ----
    /** 8086/8088 mode (else 8080/8085). */
    static final int ICW4_UPM = 0x01;
    /** Automatic end of interrupt. */
    static final int ICW4_AEOI = 0x02;
    /** Buffered mode and master/slave select (no effect here). */
    static final int ICW4_BUFFER_MASK = 0x0C;
    /** Special fully nested mode (on the master: a slave's higher-priority requests nest). */
    static final int ICW4_SFNM = 0x10;

    // ---- OCW2 (A0 = 0, D4 = 0, D3 = 0): R, SL, EOI in bits 7:5, level in 2:0 ----
    static final int OCW2_COMMAND_MASK = 0xE0;
    static final int OCW2_LEVEL_MASK = 0x07;
    static final int OCW2_ROTATE_AEOI_CLEAR = 0x00;
    static final int OCW2_NONSPECIFIC_EOI = 0x20;
    static final int OCW2_NOP = 0x40;
    static final int OCW2_SPECIFIC_EOI = 0x60;
    static final int OCW2_ROTATE_AEOI_SET = 0x80;
    static final int OCW2_ROTATE_NONSPECIFIC_EOI = 0xA0;
    static final int OCW2_SET_PRIORITY = 0xC0;
    static final int OCW2_ROTATE_SPECIFIC_EOI = 0xE0;

    // ---- OCW3 (A0 = 0, D4 = 0, D3 = 1) ----
    static final int OCW3_SELECT = 0x08;
    /** RIS: read ISR (else IRR) on the next command-port read; takes effect only with RR. */
    static final int OCW3_READ_ISR = 0x01;
    /** RR: the read-register selection in RIS is valid. */
    static final int OCW3_READ_REGISTER = 0x02;
    /** P: the next command-port read is a poll. */
    static final int OCW3_POLL = 0x04;
    /** SMM: special mask mode on or off; takes effect only with ESMM. */
    static final int OCW3_SMM = 0x20;
    /** ESMM: the SMM bit is valid. */
    static final int OCW3_ESMM = 0x40;

    /** Poll word bit 7: an interrupt was pending; bits 2:0 are its level. */
    static final int POLL_INTERRUPT = 0x80;

    static final int LEVELS = 8;
    private static final int LEVEL_MASK = LEVELS - 1;
    /** The lowest-priority level after ICW1: IR0 is served first. */
    private static final int DEFAULT_LOWEST_PRIORITY = 7;
    /** The vector a spurious acknowledge returns: IR7's (data sheet, "Interrupt Sequence"). */
    static final int SPURIOUS_LEVEL = 7;

    /** Which ICW the data port expects next. */
    private enum InitStep { READY, ICW2, ICW3, ICW4 }

    // ---- The chip's registers ----
    /** Interrupt request register. */
    private int irr;
    /** In-service register. */
    private int isr;
    /** Interrupt mask register (OCW1). */
    private int imr;
    /** The IR input levels as last driven, for edge detection. */
    private int inputs;
    /** Edge/level control (the PC's ELCR, not part of the 8259A): bit set = level-triggered. */
    private int elcr;
    private final int elcrWritable;
    private int vectorBase;
    /** ICW3: on a master, the inputs that have slaves; on a slave, its ID. */
    private int icw3;
    private int icw4;
    private boolean icw4Expected;
    private boolean single;
    private boolean levelTriggeredMode;
    private InitStep initStep = InitStep.READY;
    /** The level with the lowest priority; the one after it has the highest. */
    private int lowestPriority = DEFAULT_LOWEST_PRIORITY;
    private boolean rotateOnAutoEoi;
    private boolean specialMask;
    private boolean readIsr;
    private boolean pollNext;
    private final boolean master;

    Pic8259(boolean master, int elcrWritable) {
        this.master = master;
        this.elcrWritable = elcrWritable;
    }

    /** Loads the state a PC BIOS leaves: the same as the guest writing ICW1-ICW4 and OCW1. */
    void initialize(int vectorBase, int icw3, int mask) {
        writeCommand(ICW1_SELECT | ICW1_IC4);
        writeData(vectorBase);
        writeData(icw3);
        writeData(ICW4_UPM);
        writeData(mask);
    }

    // ---- the IR inputs ----

    /** An IR input changes level (data sheet, "Edge and Level Triggered Modes"). */
    void setInput(int level, boolean high) {
        int bit = 1 << level;
        if (levelTriggered(level)) {
            // Level mode: the request is the input itself.
            irr = high ? irr | bit : irr & ~bit;
        } else if (high && (inputs & bit) == 0) {
            // Edge mode: a low-to-high transition latches a request, which INTA consumes.
            irr |= bit;
        }
        inputs = high ? inputs | bit : inputs & ~bit;
    }

    boolean levelTriggered(int level) {
        return levelTriggeredMode || (elcr & (1 << level)) != 0;
    }

    // ---- priority resolution ----

    /** 0 is the highest priority, 7 the lowest, after rotation. */
    private int priority(int level) {
        return (level - lowestPriority - 1) & LEVEL_MASK;
    }

    /** The highest-priority level set in {@code bits}, or -1. */
    private int highestPriorityLevel(int bits) {
        if (bits == 0) {
            return -1;
        }
        for (int p = 0; p < LEVELS; p++) {
            int level = (lowestPriority + 1 + p) & LEVEL_MASK;
            if ((bits & (1 << level)) != 0) {
                return level;
            }
        }
        return -1;
    }

    /** The request the chip would present now: unmasked, and above everything in service that blocks it; or -1. */
    int deliverableLevel() {
        int request = highestPriorityLevel(irr & ~imr);
        if (request < 0) {
            return -1;
        }
        int blocking = isr;
        if (specialMask) {
            // Special mask mode: a masked level in service no longer blocks lower levels.
            blocking &= ~imr;
        }
        if (master && (icw4 & ICW4_SFNM) != 0) {
            // Special fully nested mode: a slave in service does not block its own higher-priority requests.
            blocking &= ~icw3;
        }
        int inService = highestPriorityLevel(blocking);
        if (inService >= 0 && priority(inService) <= priority(request)) {
            return -1;
        }
        return request;
    }

    /** The INT output. */
    boolean interruptOutput() {
        return deliverableLevel() >= 0;
    }

    /**
     * The INTA sequence for this chip: the highest deliverable request goes in service (unless
     * AEOI), an edge-triggered request is consumed.
     *
     * @return the level acknowledged, or -1 if the request vanished (the caller answers with IR7's vector)
     */
    int acknowledge() {
        int level = deliverableLevel();
        if (level < 0) {
            return -1;
        }
        int bit = 1 << level;
        if (!levelTriggered(level)) {
            irr &= ~bit;
        }
        if ((icw4 & ICW4_AEOI) != 0) {
            // Automatic EOI: the ISR bit is reset at the end of the INTA sequence.
            if (rotateOnAutoEoi) {
                lowestPriority = level;
            }
        } else {
            isr |= bit;
        }
        return level;
    }

    int vector(int level) {
        return vectorBase | level;
    }

    /** Whether {@code level} is wired to a slave (on a master in cascade mode). */
    boolean hasSlaveAt(int level) {
        return master && !single && (icw3 & (1 << level)) != 0;
    }

    // ---- port access ----

    int readCommand() {
        if (pollNext) {
            // Poll: this read is the acknowledge; bit 7 says whether there was a request.
            pollNext = false;
            int level = acknowledge();
            return level < 0 ? 0 : POLL_INTERRUPT | level;
        }
        // OCW3 chose which register the guest reads here.
        return readIsr ? isr : irr;
    }

    int readData() {
        return imr;
    }

    void writeCommand(int value) {
        if ((value & ICW1_SELECT) != 0) {
            // ICW1: the guest (re)initializes the chip.
            icw1(value);
        } else if ((value & OCW3_SELECT) != 0) {
            // OCW3: the guest picks IRR/ISR for reading, polls, or toggles special mask mode.
            ocw3(value);
        } else {
            // OCW2: the guest ends an interrupt or changes priorities.
            ocw2(value);
        }
    }

    void writeData(int value) {
        switch (initStep) {
            case ICW2 -> {
                // The guest sets the vector base.
                vectorBase = value & ICW2_VECTOR_MASK;
                initStep = single ? (icw4Expected ? InitStep.ICW4 : InitStep.READY) : InitStep.ICW3;
            }
            case ICW3 -> {
                // The guest describes the cascade: slave inputs on the master, the ID on a slave.
                icw3 = value;
                initStep = icw4Expected ? InitStep.ICW4 : InitStep.READY;
            }
            case ICW4 -> {
                // The guest picks 8086 mode, AEOI, buffering, special fully nested mode.
                icw4 = value & (ICW4_UPM | ICW4_AEOI | ICW4_BUFFER_MASK | ICW4_SFNM);
                initStep = InitStep.READY;
            }
            case READY ->
                // OCW1: the guest masks or unmasks inputs.
                imr = value;
        }
    }

    int readElcr() {
        return elcr;
    }

    void writeElcr(int value) {
        elcr = value & elcrWritable;
        // A line switched to level mode requests while it is high; one switched to edge keeps its latch.
        irr = (irr & ~elcr) | (inputs & elcr);
    }

    /** ICW1 (data sheet, "Initialization Command Words"). */
    private void icw1(int value) {
        icw4Expected = (value & ICW1_IC4) != 0;
        single = (value & ICW1_SINGLE) != 0;
        levelTriggeredMode = (value & ICW1_LTIM) != 0;
        // The edge sense circuit is reset: an edge input needs a new low-to-high transition.
        irr = levelTriggeredMode ? inputs : inputs & elcr;
        imr = 0;
        isr = 0;
        lowestPriority = DEFAULT_LOWEST_PRIORITY;
        specialMask = false;
        readIsr = false;
        pollNext = false;
        rotateOnAutoEoi = false;
        if (!icw4Expected) {
            icw4 = 0;
        }
        initStep = InitStep.ICW2;
    }

    private void ocw2(int value) {
        int level = value & OCW2_LEVEL_MASK;
        switch (value & OCW2_COMMAND_MASK) {
            case OCW2_NONSPECIFIC_EOI -> {
                // The guest ends the highest-priority interrupt in service.
                int inService = highestPriorityLevel(isr);
                if (inService >= 0) {
                    isr &= ~(1 << inService);
                }
            }
            case OCW2_SPECIFIC_EOI ->
                // The guest ends the interrupt at a named level.
                isr &= ~(1 << level);
            case OCW2_ROTATE_NONSPECIFIC_EOI -> {
                // The guest ends the highest interrupt in service and makes it the lowest priority.
                int inService = highestPriorityLevel(isr);
                if (inService >= 0) {
                    isr &= ~(1 << inService);
                    lowestPriority = inService;
                }
            }
            case OCW2_ROTATE_SPECIFIC_EOI -> {
                // The guest ends a named interrupt and makes it the lowest priority.
                isr &= ~(1 << level);
                lowestPriority = level;
            }
            case OCW2_SET_PRIORITY ->
                // The guest names the lowest-priority level.
                lowestPriority = level;
            case OCW2_ROTATE_AEOI_SET ->
                // The guest asks for automatic rotation with AEOI.
                rotateOnAutoEoi = true;
            case OCW2_ROTATE_AEOI_CLEAR ->
                rotateOnAutoEoi = false;
            case OCW2_NOP -> {
                // The guest writes the no-operation command.
            }
            default -> throw new AssertionError(value);
        }
    }

    private void ocw3(int value) {
        if ((value & OCW3_ESMM) != 0) {
            specialMask = (value & OCW3_SMM) != 0;
        }
        if ((value & OCW3_POLL) != 0) {
            pollNext = true;
        }
        if ((value & OCW3_READ_REGISTER) != 0) {
            readIsr = (value & OCW3_READ_ISR) != 0;
        }
    }

    // ---- state for tests and the console ----

    int irr() {
        return irr;
    }

    int isr() {
        return isr;
    }

    int imr() {
        return imr;
    }

    int vectorBase() {
        return vectorBase;
    }

    boolean initializing() {
        return initStep != InitStep.READY;
    }
}
