package org.hotvisor.device.debug.ports;

import org.hotvisor.device.testkit.RecordingMachine;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The debug ports, stated the way their users rely on them. */
class DebugPortsTest {
    private final RecordingMachine machine = new RecordingMachine();

    // ---- isa-debug-exit ----

    @Test
    void writingZeroToIsaDebugExitStopsWithStatusOne() {
        IsaDebugExit exit = new IsaDebugExit(0xF4, machine);
        exit.ioWrite(0xF4, 1, 0);
        assertEquals(List.of("powerOff 1 isa-debug-exit"), machine.events);
    }

    @Test
    void isaDebugExitStatusIsValueShiftedLeftPlusOneAtTheAccessWidth() {
        IsaDebugExit exit = new IsaDebugExit(0xF4, machine);
        exit.ioWrite(0xF4, 1, 0x1234_5621);  // OUT 0xF4, AL: only 0x21 is written
        assertEquals((0x21 << 1) | 1, machine.status);
        exit.ioWrite(0xF4, 2, 0x1234_5621);  // OUT DX, AX
        assertEquals((0x5621 << 1) | 1, machine.status);
        exit.ioWrite(0xF4, 4, 0x1234_5621);  // OUT DX, EAX
        assertEquals((0x1234_5621 << 1) | 1, machine.status);
        assertEquals(0x1234_5621, exit.lastValue());
    }

    @Test
    void isaDebugExitDecodesAFourPortWindowOnly() {
        IsaDebugExit exit = new IsaDebugExit(0xF4, machine);
        exit.ioWrite(0xF7, 1, 3);
        assertEquals(7, machine.status);
        exit.ioWrite(0xF8, 1, 3);
        assertEquals(1, exit.missedWrites());
        assertEquals(1, exit.writes());
        assertEquals(0, exit.ioRead(0xF4, 1));
        assertEquals(0xFF, exit.ioRead(0xF3, 1));
        assertEquals(1, exit.missedReads());
    }

    @Test
    void isaDebugExitCountsAnOddSizeAndDoesNotExit() {
        IsaDebugExit exit = new IsaDebugExit(0xF4, machine);
        exit.ioWrite(0xF4, 3, 1);
        assertEquals(1, exit.unexpectedSizes());
        assertTrue(machine.events.isEmpty());
    }

    // ---- debug console ----

    @Test
    void debugConsoleReadsBackE9SoGuestsCanDetectIt() {
        DebugConsole con = new DebugConsole(0xE9, 0xE9, b -> { }, () -> { });
        assertEquals(0xE9, con.ioRead(0xE9, 1));
        assertEquals(0xFFE9, con.ioRead(0xE9, 2), "the upper byte lane is not driven");
        assertEquals(1, con.unexpectedSizes());
    }

    @Test
    void debugConsoleWritesWholeLinesToTheHost() {
        ByteArrayOutputStream host = new ByteArrayOutputStream();
        int[] flushes = {0};
        DebugConsole con = new DebugConsole(0xE9, 0xE9, host::write, () -> flushes[0]++);
        for (char c : "sum=1".toCharArray()) {
            con.ioWrite(0xE9, 1, c);
        }
        assertEquals("", host.toString(), "kept until the line ends, so it does not interleave with COM1");
        con.ioWrite(0xE9, 1, '\n');
        assertEquals("sum=1\n", host.toString());
        assertEquals(1, flushes[0]);
        con.ioWrite(0xE9, 1, '!');
        con.flushLine();
        assertEquals("sum=1\n!", host.toString(), "a partial line comes out at shutdown");
    }

    @Test
    void debugConsoleWritesALongLineWhenItsBufferIsFull() {
        ByteArrayOutputStream host = new ByteArrayOutputStream();
        DebugConsole con = new DebugConsole(0xE9, 0xE9, host::write, () -> { });
        for (int i = 0; i < DebugConsole.LINE_CAPACITY; i++) {
            con.ioWrite(0xE9, 1, 'x');
        }
        assertEquals(DebugConsole.LINE_CAPACITY, host.size());
    }

    @Test
    void debugConsoleTakesTheLowByteOfAWideWrite() {
        ByteArrayOutputStream host = new ByteArrayOutputStream();
        DebugConsole con = new DebugConsole(0xE9, 0xE9, host::write, () -> { });
        con.ioWrite(0xE9, 2, 0x0A41);
        con.flushLine();
        assertEquals("A", host.toString());
        assertEquals(1, con.unexpectedSizes());
        con.ioWrite(0xEA, 1, 'B');
        assertEquals(1, con.missedWrites());
    }

    // ---- POST port ----

    @Test
    void postPortLatchesTheLastCode() {
        PostPort post = new PostPort(0x80);
        post.ioWrite(0x80, 1, 0x55);
        post.ioWrite(0x80, 1, 0xAA);
        assertEquals(0xAA, post.lastCode());
        assertEquals(0xAA, post.ioRead(0x80, 1));
        assertEquals(2, post.writes());
        assertEquals(1, post.reads());
    }

    // ---- shutdown port ----

    @Test
    void writingShutdownByteByBytePowersOffWithStatusZero() {
        ShutdownPort port = new ShutdownPort(0x8900, machine);
        for (char c : "Shutdown".toCharArray()) {
            assertTrue(machine.events.isEmpty());
            port.ioWrite(0x8900, 1, c);
        }
        assertEquals(List.of("powerOff 0 shutdown port"), machine.events);
    }

    @Test
    void aWrongByteRestartsTheShutdownMatch() {
        ShutdownPort port = new ShutdownPort(0x8900, machine);
        for (char c : "ShutXShSShutdow".toCharArray()) {
            port.ioWrite(0x8900, 1, c);
        }
        assertTrue(machine.events.isEmpty());
        port.ioWrite(0x8900, 1, 'n');
        assertEquals(0, machine.status);
    }

    @Test
    void theShutdownPortReadsAsAnOpenBus() {
        ShutdownPort port = new ShutdownPort(0x8900, machine);
        assertEquals(0xFF, port.ioRead(0x8900, 1));
        assertEquals(0xFFFF, port.ioRead(0x8900, 2));
    }

    @Test
    void portListsParseToTheirFirstPort() {
        assertEquals(0xF4, IsaBus.firstPort("0xf4-0xf7"));
        assertEquals(0x402, IsaBus.firstPort("0x402"));
        assertEquals(-1, IsaBus.firstPort("e9"));
        assertEquals(0xFFFFFFFF, IsaBus.openBus(4));
    }
}
