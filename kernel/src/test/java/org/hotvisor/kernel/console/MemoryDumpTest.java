package org.hotvisor.kernel.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** vm:x / vm:xp formatting, checked against what QEMU's monitor prints for the same bytes. */
class MemoryDumpTest {
    private static final byte[] BOOT = {(byte) 0xfa, 0x31, (byte) 0xc0, (byte) 0x8e, (byte) 0xd8, (byte) 0x8e, (byte) 0xc0,
        (byte) 0x8e, (byte) 0xd0, (byte) 0xbc, 0x00, 0x7c, (byte) 0xfc, (byte) 0xba, (byte) 0xfb, 0x03};

    @ParameterizedTest
    @CsvSource({
        "'',1,x,4", "/16xb,16,x,1", "/4xw,4,x,4", "/2g,2,x,8", "/8dh,8,d,2", "/c,1,c,1", "/3cw,3,c,1", "/s,1,s,1",
        "/5i,5,i,1", "/bx,1,x,1", "/2uh,2,u,2", "/o,1,o,4"})
    void specs(String text, int count, char format, int size) {
        assertEquals(new MemoryDump.Spec(count, format, size), MemoryDump.Spec.parse(text));
    }

    @Test
    void badSpecsSayWhy() {
        assertEquals("unknown format letter 'q' (formats x d u o c s i, sizes b h w g)",
                assertThrows(IllegalArgumentException.class, () -> MemoryDump.Spec.parse("/4q")).getMessage());
        assertThrows(IllegalArgumentException.class, () -> MemoryDump.Spec.parse("16xb"));
        assertThrows(IllegalArgumentException.class, () -> MemoryDump.Spec.parse("/0x"));
        assertThrows(IllegalArgumentException.class, () -> MemoryDump.Spec.parse("/99999999999x"));
    }

    @Test
    void bytesInHexEightPerLineAsQemu() {
        // (qemu) x /16xb 0x7c00
        assertEquals("""
                00007c00: 0xfa 0x31 0xc0 0x8e 0xd8 0x8e 0xc0 0x8e
                00007c08: 0xd0 0xbc 0x00 0x7c 0xfc 0xba 0xfb 0x03
                """, MemoryDump.units(0x7c00, BOOT, MemoryDump.Spec.parse("/16xb"), false));
    }

    @Test
    void wordsAreLittleEndianSixteenBytesPerLineAndPhysicalAddressesHaveSixteenDigits() {
        // (qemu) xp /4xw 0x7c00
        assertEquals("""
                0000000000007c00: 0x8ec031fa 0x8ec08ed8 0x7c00bcd0 0x03fbbafc
                """, MemoryDump.units(0x7c00, BOOT, MemoryDump.Spec.parse("/4xw"), true));
        assertEquals("00007c00: 0x8ec08ed88ec031fa\n", MemoryDump.units(0x7c00, BOOT, MemoryDump.Spec.parse("/1xg"), false));
    }

    @Test
    void decimalIsSignedUnsignedIsNotOctalHasItsPrefix() {
        byte[] b = {(byte) 0xff, (byte) 0xff, 0x10, 0x00};
        assertEquals("00001000:    -1    16\n", MemoryDump.units(0x1000, b, MemoryDump.Spec.parse("/2dh"), false));
        assertEquals("00001000: 65535    16\n", MemoryDump.units(0x1000, b, MemoryDump.Spec.parse("/2uh"), false));
        assertEquals("00001000: 0377 0377 020   0\n", MemoryDump.units(0x1000, b, MemoryDump.Spec.parse("/4ob"), false));
    }

    @Test
    void charactersAreQuotedWithCEscapes() {
        byte[] b = {'H', 'i', '\n', 0, '\'', '\\', (byte) 0x80, ' '};
        assertEquals("00000000: 'H' 'i' '\\n' '\\x00' '\\'' '\\\\' '\\x80' ' '\n",
                MemoryDump.units(0, b, MemoryDump.Spec.parse("/8c"), false));
    }

    @Test
    void aShortReadPrintsWhatThereIs() {
        assertEquals("00007c00: 0xfa 0x31 0xc0\n", MemoryDump.units(0x7c00, new byte[] {(byte) 0xfa, 0x31, (byte) 0xc0},
                MemoryDump.Spec.parse("/8xb"), false));
        assertEquals("", MemoryDump.units(0x7c00, new byte[] {1, 2}, MemoryDump.Spec.parse("/1xw"), false));
    }

    @Test
    void stringsStopAtTheNul() {
        byte[] b = "Hello\r\n\0world\0".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        assertEquals("00007d00: \"Hello\\r\\n\"\n00007d08: \"world\"\n", MemoryDump.strings(0x7d00, b, 2, false));
        assertEquals("00007d00: \"Hel\"...\n", MemoryDump.strings(0x7d00, new byte[] {'H', 'e', 'l'}, 1, false));
    }

    @Test
    void instructionsAreShownAsTheirBytes() {
        assertEquals("""
                00007c00: fa
                00007c01: 31 c0
                00007c03: 8e d8
                00007c05: 8e c0
                """, MemoryDump.instructions(0x7c00, BOOT, 4, false, false));
    }

    @ParameterizedTest
    @CsvSource({"0x7c00,31744", "31744,31744", "0000:7c00,31744", "07c0:0010,31760", "0xFFFF_FFFF,4294967295", "f000:fff0,1048560"})
    void addresses(String text, long value) {
        assertEquals(value, MemoryDump.parseAddress(text));
    }

    @Test
    void badAddresses() {
        assertThrows(IllegalArgumentException.class, () -> MemoryDump.parseAddress("here"));
        assertThrows(IllegalArgumentException.class, () -> MemoryDump.parseAddress("-5"));
        assertThrows(IllegalArgumentException.class, () -> MemoryDump.parseAddress("10000:0"));
    }
}
