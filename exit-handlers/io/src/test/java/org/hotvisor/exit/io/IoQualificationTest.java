package org.hotvisor.exit.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class IoQualificationTest {

    @Test
    void sizeBits2to0AreSizeMinusOne() {
        assertEquals(1, IoQualification.size(0b000));
        assertEquals(2, IoQualification.size(0b001));
        assertEquals(4, IoQualification.size(0b011));
        assertFalse(IoQualification.validSize(IoQualification.size(0b010)));
        assertFalse(IoQualification.validSize(IoQualification.size(0b111)));
    }

    @Test
    void bit3IsDirectionIn() {
        assertTrue(IoQualification.isIn(1L << 3));
        assertFalse(IoQualification.isIn(0));
    }

    @Test
    void bit4IsStringBit5IsRepBit6IsImmediate() {
        assertTrue(IoQualification.isString(1L << 4));
        assertFalse(IoQualification.isString(1L << 5));
        assertTrue(IoQualification.isRep(1L << 5));
        assertFalse(IoQualification.isRep(1L << 4));
        assertTrue(IoQualification.isImmediate(1L << 6));
        assertFalse(IoQualification.isImmediate(1L << 5));
    }

    @Test
    void bits31to16ArePortAndHigherBitsAreIgnored() {
        assertEquals(0x3F8, IoQualification.port(0x03F8_0000L));
        assertEquals(0xFFFF, IoQualification.port(0xFFFF_0000L));
        assertEquals(0x1234, IoQualification.port(0xFFFF_FFFF_1234_0000L));
        assertEquals(0, IoQualification.port(0xFFFFL));
    }

    @Test
    void encodeIsTheInverseOfTheDecoders() {
        long q = IoQualification.encode(0x1F0, 2, true, true, true, false);
        assertEquals(0x01F0_0039L, q);
        assertEquals(2, IoQualification.size(q));
        assertTrue(IoQualification.isIn(q) && IoQualification.isString(q) && IoQualification.isRep(q));
        assertFalse(IoQualification.isImmediate(q));
        assertEquals("REP INSW port 0x1f0", IoQualification.describe(q));
        assertEquals("OUT imm8, AL port 0x80", IoQualification.describe(IoQualification.encode(0x80, 1, false, false, false, true)));
        assertEquals("IN EAX, DX port 0xcfc", IoQualification.describe(IoQualification.encode(0xCFC, 4, true, false, false, false)));
    }

    @Test
    void sizeMasks() {
        assertEquals(0xFF, IoQualification.sizeMask(1));
        assertEquals(0xFFFF, IoQualification.sizeMask(2));
        assertEquals(0xFFFF_FFFF, IoQualification.sizeMask(4));
    }

    @Test
    void instructionInformationAddressSizeAndSegment() {
        assertEquals(0xFFFFL, StringIoInfo.addressMask(StringIoInfo.encode(0, 3)));
        assertEquals(0xFFFF_FFFFL, StringIoInfo.addressMask(1 << 7));
        assertEquals(-1L, StringIoInfo.addressMask(2 << 7));
        assertEquals(0L, StringIoInfo.addressMask(3 << 7), "undefined address size");
        assertEquals(5, StringIoInfo.segment(5 << 15, false), "OUTS: segment from bits 17:15");
        assertEquals(StringIoInfo.SEG_ES, StringIoInfo.segment(5 << 15, true), "INS: always ES");
        assertEquals("GS", StringIoInfo.segmentName(5));
    }

    @Test
    void portRangesParseListsRangesAndRejectGarbage() {
        List<String> problems = new ArrayList<>();
        int[] r = PortRanges.parse("0x20-0x21, 0xa0-0xa1,96", problems);
        assertEquals(List.of(), problems);
        assertEquals(List.of(0x20, 0x21, 0xA0, 0xA1, 96, 96), java.util.Arrays.stream(r).boxed().toList());

        r = PortRanges.parse(new String[] {"0x3f8-0x3ff", "banana", "0x10-0x5", "0x10000"}, problems);
        assertEquals(List.of(0x3F8, 0x3FF), java.util.Arrays.stream(r).boxed().toList());
        assertEquals(3, problems.size());
        assertEquals(0, PortRanges.parse(null, problems).length);
    }
}
