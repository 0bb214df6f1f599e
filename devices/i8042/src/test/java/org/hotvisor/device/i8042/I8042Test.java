package org.hotvisor.device.i8042;

import org.hotvisor.device.testkit.RecordingMachine;
import static org.hotvisor.device.i8042.I8042.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.hotvisor.device.testkit.RecordingLines;

/** The 8042 as the PS/2 technical reference describes it, and port 0x92. */
class I8042Test {
    private final RecordingLines lines = new RecordingLines();
    private final RecordingMachine machine = new RecordingMachine();
    private final I8042 kbc = new I8042(lines, machine);

    private void command(int cmd) {
        kbc.ioWrite(PORT_STATUS_COMMAND, 1, cmd);
    }

    private void data(int value) {
        kbc.ioWrite(PORT_DATA, 1, value);
    }

    private int status() {
        return kbc.ioRead(PORT_STATUS_COMMAND, 1);
    }

    private int read() {
        return kbc.ioRead(PORT_DATA, 1);
    }

    @Test
    void writing0xFETo0x64ResetsTheMachine() {
        command(CMD_PULSE_RESET);
        assertEquals(List.of("reset i8042 reset"), machine.events);
        assertEquals(1, kbc.resets());
    }

    @Test
    void pulseCommandsWithoutBit0LowDoNotReset() {
        command(0xFF);
        command(0xF1);
        assertTrue(machine.events.isEmpty());
    }

    @Test
    void theSelfTestAnswers0x55AndSetsTheSystemFlag() {
        data(0); // clear the pending-command state; the keyboard acks
        read();
        command(CMD_WRITE_COMMAND_BYTE);
        data(0);
        assertEquals(0, status() & STATUS_SYS);
        command(CMD_SELF_TEST);
        assertEquals(STATUS_OBF, status() & STATUS_OBF);
        assertEquals(SELF_TEST_PASSED, read());
        assertEquals(0, status() & STATUS_OBF);
        assertEquals(STATUS_SYS, status() & STATUS_SYS);
    }

    @Test
    void theInterfaceTestAnswersZero() {
        command(CMD_TEST_KBD);
        assertEquals(0x00, read());
    }

    @Test
    void theCommandByteIsWrittenVia0x64And0x60AndReadBack() {
        command(CMD_WRITE_COMMAND_BYTE);
        data(0x65);
        command(CMD_READ_COMMAND_BYTE);
        assertEquals(0x65, read());
    }

    @Test
    void statusBit3TellsWhetherTheLastWriteWasACommand() {
        command(CMD_ENABLE_KBD);
        assertEquals(STATUS_COMMAND, status() & STATUS_COMMAND);
        data(0xF4);
        assertEquals(0, status() & STATUS_COMMAND);
    }

    @Test
    void writingTheOutputPortGatesA20AndBit0LowResets() {
        command(CMD_WRITE_OUTPUT_PORT);
        data(OUT_RESET_HIGH); // A20 off, reset line high
        assertFalse(machine.a20);
        command(CMD_READ_OUTPUT_PORT);
        assertEquals(0, read() & OUT_A20);
        command(CMD_WRITE_OUTPUT_PORT);
        data(OUT_RESET_HIGH | OUT_A20);
        assertTrue(machine.a20);
        assertTrue(machine.events.stream().noneMatch(e -> e.startsWith("reset")));
        command(CMD_WRITE_OUTPUT_PORT);
        data(OUT_A20);
        assertEquals("reset i8042 output port reset", machine.events.get(machine.events.size() - 1));
    }

    @Test
    void commandsDdAndDfDisableAndEnableA20() {
        command(CMD_DISABLE_A20);
        assertFalse(machine.a20);
        command(CMD_ENABLE_A20);
        assertTrue(machine.a20);
    }

    @Test
    void keyboardDataRaisesIrq1WhenTheCommandByteEnablesIt() {
        command(CMD_WRITE_KBD_BUFFER);
        data(0x1C);
        assertTrue(lines.high(IRQ_KEYBOARD));
        assertEquals(0x1C, read());
        assertFalse(lines.high(IRQ_KEYBOARD));
        command(CMD_WRITE_COMMAND_BYTE);
        data(CB_SYS);
        command(CMD_WRITE_KBD_BUFFER);
        data(0x1C);
        assertFalse(lines.high(IRQ_KEYBOARD), "CB bit 0 clear: no interrupt");
    }

    @Test
    void eachQueuedByteIsAFreshIrq1Edge() {
        data(KBD_RESET); // keyboard: ACK then BAT passed
        assertEquals(1, lines.risingEdges(IRQ_KEYBOARD));
        assertEquals(KBD_ACK, read());
        assertEquals(2, lines.risingEdges(IRQ_KEYBOARD));
        assertEquals(KBD_BAT_PASSED, read());
        assertEquals(0, status() & STATUS_OBF);
    }

    @Test
    void auxLoopbackDataIsMarkedAndRaisesIrq12() {
        command(CMD_WRITE_COMMAND_BYTE);
        data(CB_SYS | CB_AUX_INT);
        command(CMD_WRITE_AUX_BUFFER);
        data(0x5A);
        assertEquals(STATUS_OBF | STATUS_AUX_DATA, status() & (STATUS_OBF | STATUS_AUX_DATA));
        assertTrue(lines.high(IRQ_AUX));
        assertEquals(0x5A, read());
        assertFalse(lines.high(IRQ_AUX));
    }

    @Test
    void theKeyboardIdentifiesAsAnMf2Keyboard() {
        command(CMD_WRITE_COMMAND_BYTE);
        data(CB_SYS);
        data(KBD_IDENTIFY);
        assertEquals(KBD_ACK, read());
        assertEquals(KBD_ID_FIRST, read());
        assertEquals(KBD_ID_SECOND, read());
    }

    @Test
    void setLedsTakesAParameterAndAcksBoth() {
        data(KBD_SET_LEDS);
        data(0x07);
        assertEquals(KBD_ACK, read());
        assertEquals(KBD_ACK, read());
        assertEquals(0, status() & STATUS_OBF);
    }

    @Test
    void unknownCommandsAreCountedAndOtherPortsMissed() {
        command(0x01);
        assertEquals(1, kbc.unknownCommands());
        assertEquals(0xFF, kbc.ioRead(0x61, 1));
        kbc.ioWrite(0x65, 1, 0);
        assertEquals(1, kbc.missedReads());
        assertEquals(1, kbc.missedWrites());
    }

    // ---- port 0x92 ----

    @Test
    void port92Bit1GatesA20AndTheReadReflectsIt() {
        SystemControlPortA port = new SystemControlPortA(machine);
        port.ioWrite(0x92, 1, 0);
        assertFalse(machine.a20);
        assertEquals(0, port.ioRead(0x92, 1) & SystemControlPortA.FAST_A20);
        int v = port.ioRead(0x92, 1);
        port.ioWrite(0x92, 1, (v | 2) & 0xFE); // the boot-sector idiom
        assertTrue(machine.a20);
        assertEquals(SystemControlPortA.FAST_A20, port.ioRead(0x92, 1) & SystemControlPortA.FAST_A20);
        assertTrue(machine.events.stream().noneMatch(e -> e.startsWith("reset")));
    }

    @Test
    void port92Bit0GoingHighResetsTheMachineOnce() {
        SystemControlPortA port = new SystemControlPortA(machine);
        port.ioWrite(0x92, 1, SystemControlPortA.FAST_RESET | SystemControlPortA.FAST_A20);
        port.ioWrite(0x92, 1, SystemControlPortA.FAST_RESET | SystemControlPortA.FAST_A20);
        assertEquals(1, port.resets());
        assertTrue(machine.events.contains("reset port 0x92 fast reset"));
    }
}
