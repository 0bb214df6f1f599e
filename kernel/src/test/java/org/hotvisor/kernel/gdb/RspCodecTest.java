package org.hotvisor.kernel.gdb;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The remote serial protocol's framing, as the gdb manual specifies it. */
class RspCodecTest {
    private static String framed(String data) {
        return new String(RspCodec.frame(data), StandardCharsets.ISO_8859_1);
    }

    private static InputStream in(String wire) {
        return new ByteArrayInputStream(wire.getBytes(StandardCharsets.ISO_8859_1));
    }

    @Test
    void checksumIsTheSumOfTheDataModulo256() {
        assertEquals("$OK#9a", framed("OK"));
        assertEquals("$#00", framed(""));
        assertEquals("$S05#b8", framed("S05"));
        assertEquals("$qSupported#37", framed("qSupported"));
    }

    @Test
    void specialCharactersAreEscapedAndTheChecksumCoversTheEscapes() {
        // '#' (0x23) -> '}' 0x03; '}' (0x7d) -> '}' ']'; '*' -> '}' 0x0a; '$' -> '}' 0x04
        assertEquals("$a}\u0003b#" + String.format("%02x", ('a' + '}' + 3 + 'b') & 0xFF), framed("a#b"));
        assertEquals("$}]}\n}\u0004#" + String.format("%02x", ('}' + ']' + '}' + 10 + '}' + 4) & 0xFF), framed("}*$"));
    }

    @Test
    void readsPacketsInterruptsAndAcks() throws IOException {
        InputStream s = in("+$g#67-\u0003$m7c00,4#c7");
        assertEquals(new RspCodec.Ack(true), RspCodec.read(s));
        assertEquals(new RspCodec.Packet("g", true), RspCodec.read(s));
        assertEquals(new RspCodec.Ack(false), RspCodec.read(s));
        assertInstanceOf(RspCodec.Interrupt.class, RspCodec.read(s));
        RspCodec.Packet p = (RspCodec.Packet) RspCodec.read(s);
        assertEquals("m7c00,4", p.data());
        assertEquals(true, p.checksumOk(), "checksum 0x" + Integer.toHexString(
                RspCodec.checksum("m7c00,4".getBytes(StandardCharsets.ISO_8859_1), 0, 7)));
        assertInstanceOf(RspCodec.Eof.class, RspCodec.read(s));
    }

    @Test
    void aBadChecksumIsReportedNotThrown() throws IOException {
        assertEquals(new RspCodec.Packet("g", false), RspCodec.read(in("$g#00")));
        assertEquals(new RspCodec.Packet("g", false), RspCodec.read(in("$g#zz")));
    }

    @Test
    void noiseIsSkippedAndARestartedPacketWins() throws IOException {
        assertEquals(new RspCodec.Packet("g", true), RspCodec.read(in("xyz$garbage$g#67")));
        assertInstanceOf(RspCodec.Eof.class, RspCodec.read(in("$g#6")));
    }

    @Test
    void escapesAndRunLengthEncodingAreDecoded() {
        assertEquals("a#b", RspCodec.decode("a}\u0003b".getBytes(StandardCharsets.ISO_8859_1)));
        assertEquals("0000", RspCodec.decode("0* ".getBytes(StandardCharsets.ISO_8859_1)), "' ' is 32: 3 more");
        assertEquals(framed("a#b"), new String(RspCodec.frame(RspCodec.decode("a}\u0003b".getBytes(StandardCharsets.ISO_8859_1))),
                StandardCharsets.ISO_8859_1));
    }

    @Test
    void registersAreLittleEndianAddressesBigEndian() {
        assertEquals("107c0000", RspCodec.littleEndianHex(0x7c10, 4));
        assertEquals(0x7c10, RspCodec.parseLittleEndian("107c0000"));
        assertEquals(0x7c10, RspCodec.parseHexNumber("7c10"));
        assertEquals("fa31c0", RspCodec.hex(new byte[] {(byte) 0xfa, 0x31, (byte) 0xc0}));
        assertArrayEquals(new byte[] {(byte) 0xfa, 0x31, (byte) 0xc0}, RspCodec.unhex("FA31c0"));
        assertThrows(IllegalArgumentException.class, () -> RspCodec.unhex("abc"));
        assertThrows(IllegalArgumentException.class, () -> RspCodec.parseHexNumber("7g"));
        assertThrows(IllegalArgumentException.class, () -> RspCodec.parseHexNumber(""));
    }
}
