package org.hotvisor.device.i8042;

import org.hotvisor.api.device.InterruptLines;
import org.hotvisor.api.device.MachineControl;

/**
 * A minimal Intel 8042 keyboard controller as PC firmware and kernels use it: the status
 * register, the controller commands that matter for booting (self-tests, command byte, output
 * port with A20 and the reset line, pulses), and a keyboard that answers its own commands but
 * never types. There is no mouse: bytes for it vanish.
 *
 * <p>References: IBM PS/2 Hardware Interface Technical Reference, "Keyboard/Auxiliary Device
 * Controller" (status bits, command byte, controller commands). All calls come on the vCPU thread.
 */
public final class I8042 {

    // ---- Ports ----
    static final int PORT_DATA = 0x60;
    /** Status on read, controller command on write. */
    static final int PORT_STATUS_COMMAND = 0x64;
    public static final String PORTS = "0x60,0x64";

    // ---- Status register ----
    /** Output buffer full: a byte waits at 0x60. */
    static final int STATUS_OBF = 0x01;
    /** Input buffer full: never, commands complete at once. */
    static final int STATUS_IBF = 0x02;
    /** System flag: set by a passed self-test (command byte bit 2). */
    static final int STATUS_SYS = 0x04;
    /** The last write went to 0x64 (a command), not 0x60. */
    static final int STATUS_COMMAND = 0x08;
    /** Keyboard not inhibited (the key lock is open). */
    static final int STATUS_UNLOCKED = 0x10;
    /** The byte in the output buffer comes from the auxiliary (mouse) port. */
    static final int STATUS_AUX_DATA = 0x20;

    // ---- Command byte ----
    static final int CB_KBD_INT = 0x01;
    static final int CB_AUX_INT = 0x02;
    static final int CB_SYS = 0x04;
    static final int CB_KBD_DISABLE = 0x10;
    static final int CB_AUX_DISABLE = 0x20;
    static final int CB_TRANSLATE = 0x40;
    /** As a PC BIOS leaves it: keyboard interrupt, system flag, scan-code translation. */
    static final int BIOS_COMMAND_BYTE = CB_KBD_INT | CB_SYS | CB_TRANSLATE;

    // ---- Output port ----
    /** Bit 0: the processor reset line, active low. */
    static final int OUT_RESET_HIGH = 0x01;
    /** Bit 1: the A20 gate. */
    static final int OUT_A20 = 0x02;
    /** Bit 4: keyboard output buffer full (IRQ1). */
    static final int OUT_KBD_OBF = 0x10;
    /** Bit 5: auxiliary output buffer full (IRQ12). */
    static final int OUT_AUX_OBF = 0x20;
    /** Bits 6-7: keyboard clock and data lines, idle high. */
    static final int OUT_KBD_LINES = 0xC0;

    // ---- Input port ----
    /** Bit 7: keyboard not inhibited. */
    static final int IN_UNLOCKED = 0x80;

    // ---- Controller commands (written to 0x64) ----
    static final int CMD_READ_COMMAND_BYTE = 0x20;
    static final int CMD_WRITE_COMMAND_BYTE = 0x60;
    static final int CMD_DISABLE_AUX = 0xA7;
    static final int CMD_ENABLE_AUX = 0xA8;
    static final int CMD_TEST_AUX = 0xA9;
    static final int CMD_SELF_TEST = 0xAA;
    static final int CMD_TEST_KBD = 0xAB;
    static final int CMD_DISABLE_KBD = 0xAD;
    static final int CMD_ENABLE_KBD = 0xAE;
    static final int CMD_READ_INPUT_PORT = 0xC0;
    static final int CMD_READ_OUTPUT_PORT = 0xD0;
    static final int CMD_WRITE_OUTPUT_PORT = 0xD1;
    static final int CMD_WRITE_KBD_BUFFER = 0xD2;
    static final int CMD_WRITE_AUX_BUFFER = 0xD3;
    static final int CMD_WRITE_TO_AUX = 0xD4;
    static final int CMD_DISABLE_A20 = 0xDD;
    static final int CMD_ENABLE_A20 = 0xDF;
    /** 0xF0-0xFF pulse output-port bits 3:0 low where the command has a 0; 0xFE pulses the reset line. */
    static final int CMD_PULSE_FIRST = 0xF0;
    static final int CMD_PULSE_RESET = 0xFE;

    // ---- Replies ----
    static final int SELF_TEST_PASSED = 0x55;
    static final int INTERFACE_TEST_PASSED = 0x00;

    // ---- The keyboard's own commands (written to 0x60) and replies ----
    static final int KBD_SET_LEDS = 0xED;
    static final int KBD_ECHO = 0xEE;
    static final int KBD_SCAN_CODE_SET = 0xF0;
    static final int KBD_IDENTIFY = 0xF2;
    static final int KBD_SET_TYPEMATIC = 0xF3;
    static final int KBD_RESET = 0xFF;
    static final int KBD_ACK = 0xFA;
    static final int KBD_BAT_PASSED = 0xAA;
    /** The MF2 keyboard ID, translated (0xAB 0x83 becomes 0xAB 0x41 with translation; we answer untranslated). */
    static final int KBD_ID_FIRST = 0xAB;
    static final int KBD_ID_SECOND = 0x83;

    static final int IRQ_KEYBOARD = 1;
    static final int IRQ_AUX = 12;
    static final int OUTPUT_QUEUE_CAPACITY = 16;
    private static final int BYTE_MASK = 0xFF;
    private static final int BITS_PER_BYTE = 8;
    private static final int NO_PENDING = -1;

    // ---- Wiring ----
    private final InterruptLines lines;
    private final MachineControl machine;

    // ---- The chip's registers ----
    private int status = STATUS_SYS | STATUS_UNLOCKED;
    private int commandByte = BIOS_COMMAND_BYTE;
    /** A controller command waiting for its data byte at 0x60, or NO_PENDING. */
    private int pendingCommand = NO_PENDING;
    /** A keyboard command waiting for its parameter byte, or NO_PENDING. */
    private int pendingKeyboardCommand = NO_PENDING;
    /** Bytes for the guest, oldest first, each tagged as keyboard or aux. */
    private final int[] queue = new int[OUTPUT_QUEUE_CAPACITY];
    private final boolean[] queueAux = new boolean[OUTPUT_QUEUE_CAPACITY];
    private int queueHead;
    private int queueCount;
    private boolean kbdIrqHigh;
    private boolean auxIrqHigh;

    // ---- Counters ----
    private long reads;
    private long writes;
    private long unexpectedSizes;
    private long missedReads;
    private long missedWrites;
    private long resets;
    private long unknownCommands;
    private long droppedBytes;

    public I8042(InterruptLines lines, MachineControl machine) {
        this.lines = lines;
        this.machine = machine;
    }

    // =====================================================================================
    // Port I/O
    // =====================================================================================

    public int ioRead(int port, int size) {
        if (size != 1) {
            // 8-bit ports: only the low byte lane is this device's; the rest reads as an open bus.
            unexpectedSizes++;
            int lanes = size >= Integer.BYTES ? -1 : (1 << (BITS_PER_BYTE * size)) - 1;
            return (readPort(port) | ~BYTE_MASK) & lanes;
        }
        return readPort(port);
    }

    public void ioWrite(int port, int size, int value) {
        if (size != 1) {
            unexpectedSizes++;
        }
        writePort(port, value & BYTE_MASK);
    }

    private int readPort(int port) {
        switch (port) {
            case PORT_DATA -> {
                // The guest takes the byte in the output buffer (a reply or a key).
                reads++;
                return readOutputBuffer();
            }
            case PORT_STATUS_COMMAND -> {
                // The guest polls the status: OBF before reading, IBF before writing.
                reads++;
                return status;
            }
            default -> {
                missedReads++;
                return BYTE_MASK;
            }
        }
    }

    private void writePort(int port, int value) {
        switch (port) {
            case PORT_DATA -> {
                // The guest sends a command's data byte, or a byte to the keyboard.
                writes++;
                status &= ~STATUS_COMMAND;
                writeData(value);
            }
            case PORT_STATUS_COMMAND -> {
                // The guest sends a controller command.
                writes++;
                status |= STATUS_COMMAND;
                command(value);
            }
            default -> missedWrites++;
        }
    }

    private void command(int cmd) {
        pendingCommand = NO_PENDING;
        switch (cmd) {
            case CMD_READ_COMMAND_BYTE -> enqueue(commandByte, false);
            case CMD_WRITE_COMMAND_BYTE, CMD_WRITE_OUTPUT_PORT, CMD_WRITE_KBD_BUFFER, CMD_WRITE_AUX_BUFFER, CMD_WRITE_TO_AUX ->
                pendingCommand = cmd;
            case CMD_DISABLE_AUX -> commandByte |= CB_AUX_DISABLE;
            case CMD_ENABLE_AUX -> commandByte &= ~CB_AUX_DISABLE;
            case CMD_TEST_AUX, CMD_TEST_KBD -> enqueue(INTERFACE_TEST_PASSED, false);
            case CMD_SELF_TEST -> {
                // A passed self-test sets the system flag.
                status |= STATUS_SYS;
                commandByte |= CB_SYS;
                enqueue(SELF_TEST_PASSED, false);
            }
            case CMD_DISABLE_KBD -> commandByte |= CB_KBD_DISABLE;
            case CMD_ENABLE_KBD -> commandByte &= ~CB_KBD_DISABLE;
            case CMD_READ_INPUT_PORT -> enqueue(IN_UNLOCKED, false);
            case CMD_READ_OUTPUT_PORT -> enqueue(outputPort(), false);
            case CMD_DISABLE_A20 -> machine.setA20(false);
            case CMD_ENABLE_A20 -> machine.setA20(true);
            default -> {
                if (cmd >= CMD_PULSE_FIRST) {
                    // Pulse command: a 0 in bit 0 pulses the reset line (0xFE is the classic reboot).
                    if ((cmd & OUT_RESET_HIGH) == 0) {
                        reset("i8042 reset");
                    }
                } else {
                    unknownCommands++;
                }
            }
        }
    }

    private void writeData(int value) {
        int cmd = pendingCommand;
        pendingCommand = NO_PENDING;
        switch (cmd) {
            case CMD_WRITE_COMMAND_BYTE -> {
                commandByte = value;
                status = (value & CB_SYS) != 0 ? status | STATUS_SYS : status & ~STATUS_SYS;
                updateIrqs();
            }
            case CMD_WRITE_OUTPUT_PORT -> writeOutputPort(value);
            case CMD_WRITE_KBD_BUFFER -> enqueue(value, false);
            case CMD_WRITE_AUX_BUFFER -> enqueue(value, true);
            case CMD_WRITE_TO_AUX -> droppedBytes++; // no mouse is attached
            default -> keyboard(value);
        }
    }

    /** The output port: A20 follows bit 1; bit 0 low asserts the reset line. */
    private void writeOutputPort(int value) {
        machine.setA20((value & OUT_A20) != 0);
        if ((value & OUT_RESET_HIGH) == 0) {
            reset("i8042 output port reset");
        }
    }

    private int outputPort() {
        int value = OUT_RESET_HIGH | OUT_KBD_LINES;
        if (machine.a20()) {
            value |= OUT_A20;
        }
        if ((status & STATUS_OBF) != 0) {
            value |= (status & STATUS_AUX_DATA) != 0 ? OUT_AUX_OBF : OUT_KBD_OBF;
        }
        return value;
    }

    private void reset(String reason) {
        resets++;
        machine.reset(reason);
    }

    /** The keyboard's side: it acknowledges its commands; it never types. */
    private void keyboard(int value) {
        if (pendingKeyboardCommand != NO_PENDING) {
            // The parameter of SET LEDS, SET TYPEMATIC or SCAN CODE SET.
            pendingKeyboardCommand = NO_PENDING;
            enqueue(KBD_ACK, false);
            return;
        }
        switch (value) {
            case KBD_RESET -> {
                enqueue(KBD_ACK, false);
                enqueue(KBD_BAT_PASSED, false);
            }
            case KBD_ECHO -> enqueue(KBD_ECHO, false);
            case KBD_IDENTIFY -> {
                enqueue(KBD_ACK, false);
                enqueue(KBD_ID_FIRST, false);
                enqueue(KBD_ID_SECOND, false);
            }
            case KBD_SET_LEDS, KBD_SET_TYPEMATIC, KBD_SCAN_CODE_SET -> {
                pendingKeyboardCommand = value;
                enqueue(KBD_ACK, false);
            }
            default -> enqueue(KBD_ACK, false);
        }
    }

    // ---- the output buffer ----

    private void enqueue(int value, boolean aux) {
        if (queueCount == OUTPUT_QUEUE_CAPACITY) {
            droppedBytes++;
            return;
        }
        int slot = (queueHead + queueCount) % OUTPUT_QUEUE_CAPACITY;
        queue[slot] = value & BYTE_MASK;
        queueAux[slot] = aux;
        queueCount++;
        if (queueCount == 1) {
            loadOutputBuffer();
        }
    }

    private int readOutputBuffer() {
        if (queueCount == 0) {
            // Nothing new: the guest reads the last byte again, and OBF stays clear.
            return queue[(queueHead + OUTPUT_QUEUE_CAPACITY - 1) % OUTPUT_QUEUE_CAPACITY];
        }
        int value = queue[queueHead];
        queueHead = (queueHead + 1) % OUTPUT_QUEUE_CAPACITY;
        queueCount--;
        status &= ~(STATUS_OBF | STATUS_AUX_DATA);
        // Reading the buffer drops the interrupt; the next byte raises it again (a fresh edge).
        updateIrqs();
        if (queueCount > 0) {
            loadOutputBuffer();
        }
        return value;
    }

    private void loadOutputBuffer() {
        status |= STATUS_OBF;
        if (queueAux[queueHead]) {
            status |= STATUS_AUX_DATA;
        } else {
            status &= ~STATUS_AUX_DATA;
        }
        updateIrqs();
    }

    /** IRQ1 while keyboard data waits and CB bit 0 is set; IRQ12 likewise for aux data and bit 1. */
    private void updateIrqs() {
        boolean full = (status & STATUS_OBF) != 0;
        boolean aux = (status & STATUS_AUX_DATA) != 0;
        boolean kbd = full && !aux && (commandByte & CB_KBD_INT) != 0;
        boolean mouse = full && aux && (commandByte & CB_AUX_INT) != 0;
        if (kbd != kbdIrqHigh) {
            kbdIrqHigh = kbd;
            lines.setLevel(IRQ_KEYBOARD, kbd);
        }
        if (mouse != auxIrqHigh) {
            auxIrqHigh = mouse;
            lines.setLevel(IRQ_AUX, mouse);
        }
    }

    // ---- for tests and the console ----

    int commandByte() {
        return commandByte;
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

    public long resets() {
        return resets;
    }

    public long unknownCommands() {
        return unknownCommands;
    }

    @Override
    public String toString() {
        return String.format("i8042: reads=%d writes=%d unexpectedSizes=%d missedReads=%d missedWrites=%d resets=%d "
                + "unknownCommands=%d droppedBytes=%d", reads, writes, unexpectedSizes, missedReads, missedWrites, resets,
                unknownCommands, droppedBytes);
    }
}
