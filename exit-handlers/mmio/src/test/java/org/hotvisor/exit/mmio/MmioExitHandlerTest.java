package org.hotvisor.exit.mmio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.hotvisor.api.ExitAction;
import org.hotvisor.api.device.MmioDevice;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MmioExitHandlerTest {
    private MmioExitHandler handler;
    private final MmioExit exit = new MmioExit();
    private long nextServiceId = 1;

    /** A device backed by a little byte array at {@code base}, logging every access. */
    static final class RamDevice implements MmioDevice {
        final long base;
        final byte[] bytes;
        final List<String> log = new ArrayList<>();

        RamDevice(long base, int length) {
            this.base = base;
            this.bytes = new byte[length];
        }

        @Override
        public long mmioRead(long address, int size) {
            log.add("r" + size + "@" + Long.toHexString(address));
            long v = 0;
            for (int i = 0; i < size; i++) {
                v |= (bytes[(int) (address - base) + i] & 0xFFL) << (8 * i);
            }
            return v | 0xDEAD_0000_0000_0000L & (size < 8 ? -1L << (8 * size) : 0); // junk above the size: must be masked
        }

        @Override
        public void mmioWrite(long address, int size, long value) {
            log.add("w" + size + "@" + Long.toHexString(address) + "=" + Long.toHexString(value));
            for (int i = 0; i < size; i++) {
                bytes[(int) (address - base) + i] = (byte) (value >>> (8 * i));
            }
        }
    }

    @BeforeEach
    void setUp() {
        handler = new MmioExitHandler();
        handler.activate(null, Map.of());
    }

    private Map<String, Object> props(String ranges, Integer ranking) {
        Map<String, Object> p = new HashMap<>();
        p.put(MmioDevice.RANGES, ranges);
        p.put("service.id", nextServiceId++);
        p.put("component.name", "dev" + (nextServiceId - 1));
        if (ranking != null) {
            p.put("service.ranking", ranking);
        }
        return p;
    }

    private RamDevice bind(long base, int length, Integer ranking) {
        RamDevice d = new RamDevice(base, length);
        handler.bindDevice(d, props(MmioRanges.format(base, base + length - 1), ranking));
        return d;
    }

    private long read(long gpa, int size) {
        assertEquals(ExitAction.RESUME, handler.handle(exit.access(false, gpa, size, 0)));
        assertTrue(exit.completed, "a handled read is completed");
        return exit.completedValue;
    }

    private void write(long gpa, int size, long value) {
        assertEquals(ExitAction.RESUME, handler.handle(exit.access(true, gpa, size, value)));
        assertFalse(exit.completed, "a write completes no read");
    }

    @Test
    void readsAndWritesOfEverySizeReachTheDeviceAtTheirAddress() {
        RamDevice d = bind(0xFF00_0000L, 0x10000, null);
        write(0xFF00_0010L, 1, 0x11);
        write(0xFF00_0012L, 2, 0x3322);
        write(0xFF00_0014L, 4, 0x7766_5544L);
        write(0xFF00_0018L, 8, 0xFFEE_DDCC_BBAA_9988L);
        assertEquals(0x11, read(0xFF00_0010L, 1));
        assertEquals(0x3322, read(0xFF00_0012L, 2));
        assertEquals(0x7766_5544L, read(0xFF00_0014L, 4));
        assertEquals(0xFFEE_DDCC_BBAA_9988L, read(0xFF00_0018L, 8));
        assertEquals("w1@ff000010=11", d.log.get(0));
        assertEquals("r8@ff000018", d.log.getLast());
    }

    @Test
    void writeDataIsMaskedToTheAccessSize() {
        RamDevice d = bind(0x1000_0000L, 16, null);
        write(0x1000_0000L, 2, 0xABCD_1234L);
        assertEquals("w2@10000000=1234", d.log.getFirst());
    }

    @Test
    void unclaimedReadsAreAllOnesAtEachSizeAndWritesAreDroppedAndCounted() {
        assertEquals(0xFFL, read(0xFEC0_0000L, 1));
        assertEquals(0xFFFFL, read(0xFEC0_0000L, 2));
        assertEquals(0xFFFF_FFFFL, read(0xFEC0_0000L, 4));
        assertEquals(-1L, read(0xFEC0_0000L, 8));
        write(0xFEC0_0010L, 4, 1);
        write(0xFEC0_0010L, 4, 2);
        assertEquals(4, handler.unclaimed().reads(0xFEC0_0000L));
        assertEquals(2, handler.unclaimed().writes(0xFEC0_0010L));
        String table = new MmioCommands(handler).unclaimed();
        assertTrue(table.contains("0x00000000fec00000            4            0"), table);
        assertTrue(table.contains("total                         4            2"), table);
        new MmioCommands(handler).unclaimed("reset");
        assertEquals(0, handler.unclaimed().reads(0xFEC0_0000L));
    }

    @Test
    void higherRankingWinsOverlapsAndTheWeakerKeepsWhatIsLeft() {
        RamDevice low = bind(0x2000_0000L, 0x3000, null);
        RamDevice high = new RamDevice(0x2000_1000L, 0x1000);
        handler.bindDevice(high, props("0x20001000-0x20001fff", 10));
        read(0x2000_0000L, 4);
        read(0x2000_1000L, 4);
        read(0x2000_2000L, 4);
        assertEquals(List.of("r4@20000000", "r4@20002000"), low.log);
        assertEquals(List.of("r4@20001000"), high.log);
        String map = handler.mmioMap().describe();
        assertTrue(map.startsWith("0x20000000-0x20000fff   -> dev1"), map);
        // Unbinding the stronger one gives the middle back.
        handler.unbindDevice(high, Map.of("service.id", 2L));
        read(0x2000_1000L, 4);
        assertEquals("r4@20001000", low.log.getLast());
    }

    @Test
    void atEqualRankingTheOlderServiceWins() {
        RamDevice older = bind(0x3000_0000L, 0x100, null);
        RamDevice newer = bind(0x3000_0000L, 0x100, null);
        read(0x3000_0000L, 1);
        assertEquals(1, older.log.size());
        assertTrue(newer.log.isEmpty());
        assertSame(older, handler.mmioMap().deviceAt(0x3000_0080L));
    }

    @Test
    void anAccessStraddlingTheEndOfARangeIsSplitIntoBytes() {
        RamDevice d = bind(0x4000_0000L, 0x10, null);
        d.bytes[0xE] = 0x34;
        d.bytes[0xF] = 0x12;
        // Bytes 0x0e-0x0f are the device's, 0x10-0x11 nobody's: they read as 0xFF.
        assertEquals(0xFFFF_1234L, read(0x4000_000EL, 4));
        assertEquals(List.of("r1@4000000e", "r1@4000000f"), d.log);
        assertEquals(1, handler.unclaimed().reads(0x4000_0010L), "the unclaimed part is counted once, at its first byte");
        write(0x4000_000FL, 2, 0xBBAA);
        assertEquals((byte) 0xAA, d.bytes[0xF]);
        assertEquals(1, handler.unclaimed().writes(0x4000_0010L));
    }

    @Test
    void anAccessStartingInAHoleAndEndingInADeviceIsSplitToo() {
        RamDevice d = bind(0x5000_0004L, 4, null);
        d.bytes[0] = 0x77;
        assertEquals(0x77FF_FFFFL, read(0x5000_0001L, 4));
        assertEquals(List.of("r1@50000004"), d.log);
    }

    @Test
    void anAccessSpanningTwoDevicesGivesEachItsBytes() {
        RamDevice a = bind(0x6000_0000L, 4, null);
        RamDevice b = bind(0x6000_0004L, 4, null);
        write(0x6000_0000L, 8, 0x8877_6655_4433_2211L);
        assertEquals(0x4433_2211, read(0x6000_0000L, 4));
        assertEquals(0x8877_6655L, read(0x6000_0004L, 4));
        assertEquals(4, a.log.stream().filter(s -> s.startsWith("w1")).count());
        assertEquals(4, b.log.stream().filter(s -> s.startsWith("w1")).count());
    }

    @Test
    void fetchesPageWalksAndOddSizesArePassedOn() {
        bind(0x7000_0000L, 0x1000, null);
        exit.access(false, 0x7000_0000L, 0, 0).qualification = EptQualification.INSTRUCTION_FETCH | EptQualification.LINEAR_ADDRESS_VALID
                | EptQualification.FINAL_TRANSLATION;
        assertEquals(ExitAction.PASS, handler.handle(exit));
        exit.access(false, 0x7000_0000L, 8, 0).qualification = EptQualification.DATA_READ | EptQualification.LINEAR_ADDRESS_VALID;
        assertEquals(ExitAction.PASS, handler.handle(exit), "a page walk through MMIO");
        assertEquals(ExitAction.PASS, handler.handle(exit.access(false, 0x7000_0000L, 3, 0)));
        assertFalse(exit.completed);
        assertEquals(3, handler.passed());
    }

    @Test
    void aThrowingDeviceIsNamedAndNothingIsCompleted() {
        MmioDevice broken = new MmioDevice() {
            @Override
            public long mmioRead(long address, int size) {
                throw new ArithmeticException("boom");
            }

            @Override
            public void mmioWrite(long address, int size, long value) {
                throw new ArithmeticException("boom");
            }
        };
        handler.bindDevice(broken, props("0x80000000-0x80000fff", null));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> handler.handle(exit.access(false, 0x8000_0000L, 4, 0)));
        assertTrue(e.getMessage().contains("dev1") && e.getMessage().contains("0x80000000"), e.getMessage());
        assertFalse(exit.completed, "the kernel's fault policy sees a clean exit: no read completed");
        assertThrows(IllegalStateException.class, () -> handler.handle(exit.access(true, 0x8000_0000L, 4, 0)));
    }

    @Test
    void badRangesAreSkippedAndReported() {
        List<String> problems = new ArrayList<>();
        long[] ranges = MmioRanges.parse(new String[] {"0xfee00000-0xfee00fff", "zz", "0x2000-0x1000", "0x10000000000000"}, problems);
        assertEquals(2, ranges.length);
        assertEquals(0xFEE0_0000L, ranges[0]);
        assertEquals(3, problems.size(), problems.toString());
        // A device with no valid range is bound but claims nothing.
        handler.bindDevice(new RamDevice(0, 1), props("garbage", null));
        assertEquals(0, handler.mmioMap().segmentCount());
    }

    @Test
    void devicesCommandListsTheMapAndUnclaimedUsage() {
        bind(0xFEC0_0000L, 0x1000, null);
        String text = new MmioCommands(handler).devices();
        assertTrue(text.contains("0xfec00000-0xfec00fff   -> dev1 (service.id 1, ranking 0)"), text);
        assertEquals("usage: mmio:unclaimed [reset]", new MmioCommands(handler).unclaimed("what"));
    }

    @Test
    void unclaimedTableOverflowGoesToOneBucket() {
        for (int i = 0; i < UnclaimedCounts.CAPACITY + 10; i++) {
            read(0x9000_0000L + 0x1000L * i, 4);
        }
        assertEquals(10, handler.unclaimed().otherReads());
        assertTrue(new MmioCommands(handler).unclaimed().contains("(other addresses)"));
    }

    @Test
    void hotPathDoesNotAllocate() {
        MmioDevice d = new MmioDevice() {
            @Override
            public long mmioRead(long address, int size) {
                return 0;
            }

            @Override
            public void mmioWrite(long address, int size, long value) {
            }
        };
        handler.bindDevice(d, props("0xfee00000-0xfee00fff", null));
        var bean = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().threadId();
        for (int i = 0; i < 1000; i++) { // warm up
            handler.handle(exit.access((i & 1) == 0, 0xFEE0_0020L, 4, i));
            handler.handle(exit.access(false, 0xFEC0_0000L, 4, 0));
        }
        long before = bean.getThreadAllocatedBytes(tid);
        for (int i = 0; i < 10_000; i++) {
            handler.handle(exit.access((i & 1) == 0, 0xFEE0_0020L, 4, i));
            handler.handle(exit.access(false, 0xFEC0_0000L, 4, 0)); // unclaimed
            handler.handle(exit.access(false, 0xFEE0_0FFEL, 4, 0)); // straddles the end
        }
        long allocated = bean.getThreadAllocatedBytes(tid) - before;
        assertTrue(allocated < 4096, "MMIO exits allocated " + allocated + " bytes over 30000 exits");
    }
}
