package org.hotvisor.device.pc.testdev;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PcTestdevTest {
    private final List<String> lines = new ArrayList<>();
    private final PcTestdev dev = new PcTestdev(0xE0, 0x2000, 0xFF00_0000L, (irq, high) -> lines.add(irq + (high ? "+" : "-")));

    @Test
    void latchReadsBackEachWidthAtItsLanes() {
        dev.ioWrite(0xE0, 4, 0x1234_5678);
        assertEquals(0x1234_5678, dev.ioRead(0xE0, 4));
        assertEquals(0x78, dev.ioRead(0xE0, 1));
        assertEquals(0x56, dev.ioRead(0xE1, 1));
        assertEquals(0x1234, dev.ioRead(0xE2, 2));
        dev.ioWrite(0xE1, 1, 0xAB);
        assertEquals(0x1234_AB78, dev.ioRead(0xE0, 4));
        dev.ioWrite(0xE2, 2, 0xCDEF);
        assertEquals(0xCDEF_AB78, dev.ioRead(0xE0, 4));
        dev.ioWrite(0xE0, 2, 0x0102);
        assertEquals(0xCDEF_0102, dev.ioRead(0xE0, 4));
    }

    @Test
    void accessesRunningPastTheLatchLoseTheBytesBeyond() {
        dev.ioWrite(0xE0, 4, 0);
        dev.ioWrite(0xE3, 2, 0xBBAA);
        assertEquals(0xAA00_0000, dev.ioRead(0xE0, 4));
        assertEquals(0x00AA, dev.ioRead(0xE3, 2));
    }

    @Test
    void byteLatchAt0xE8IsTheSameLatch() {
        dev.ioWrite(0xE8, 4, 0x0A0B_0C0D);
        assertEquals(0x0A0B_0C0D, dev.ioRead(0xE0, 4));
        dev.ioWrite(0xE2, 1, 0x77);
        assertEquals(0x77, dev.ioRead(0xEA, 1));
    }

    @Test
    void flushPageTakesDwordWritesOnly() {
        dev.ioWrite(0xE4, 4, 0x0010_0000);
        assertEquals(1, dev.flushes);
        dev.ioWrite(0xE4, 1, 0);
        assertEquals(1, dev.flushes);
        assertEquals(1, dev.invalidAccesses);
        assertEquals(0xFF, dev.ioRead(0xE4, 1));
    }

    @Test
    void irqPortsSetIsaLineLevelsAndDropTheIoApicOnes() {
        dev.ioWrite(0x2004, 1, 1);
        dev.ioWrite(0x2004, 1, 0);
        dev.ioWrite(0x200F, 1, 0x80);
        dev.ioWrite(0x2010, 1, 1);
        dev.ioWrite(0x2003, 2, 1); // 16-bit: invalid
        assertEquals(List.of("4+", "4-", "15+"), lines);
        assertEquals(1, dev.droppedIrqWrites);
        assertEquals(1, dev.invalidAccesses);
    }

    @Test
    void iomemIsLittleEndianMemoryAtEverySize() {
        dev.mmioWrite(0xFF00_0000L, 4, 0x1122_3344L);
        assertEquals(0x44, dev.mmioRead(0xFF00_0000L, 1));
        assertEquals(0x1122, dev.mmioRead(0xFF00_0002L, 2));
        assertEquals(0x1122_3344L, dev.mmioRead(0xFF00_0000L, 4));
        dev.mmioWrite(0xFF00_FFF8L, 8, 0x0102_0304_0506_0708L);
        assertEquals(0x0102_0304_0506_0708L, dev.mmioRead(0xFF00_FFF8L, 8));
        assertEquals(0, dev.mmioRead(0xFF00_1000L, 8), "iomem starts zeroed");
    }

    @Test
    void iomemOutsideTheWindowReadsOnesAndCounts() {
        assertEquals(0xFFFF, dev.mmioRead(0xFF01_0000L, 2));
        dev.mmioWrite(0xFEFF_FFFFL, 1, 0);
        assertEquals(3, dev.invalidAccesses);
    }

    @Test
    void configuredRangesGiveTheBases() {
        assertEquals(List.of(0xE0L, 0x2000L), PcTestdevComponent.firsts("0xe0-0xeb, 0x2000-0x2017"));
        assertEquals(List.of(0xFF00_0000L), PcTestdevComponent.firsts("0xff000000-0xff00ffff"));
        assertEquals(List.of(0x2000L), PcTestdevComponent.firsts("junk,0x2000"));
    }
}
