package org.hotvisor.exit.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.hotvisor.api.ExitAction;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.Register;
import org.hotvisor.api.device.PortIoDevice;
import org.hotvisor.api.vmx.VmcsField;
import org.hotvisor.exit.testkit.FakeMemory;
import org.hotvisor.exit.testkit.FakeVcpu;
import org.hotvisor.exit.testkit.FakeVmExit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class IoExitHandlerTest {
    private static final int ADDR16 = StringIoInfo.encode(StringIoInfo.ADDRESS_16, 3);
    private static final int ADDR32 = StringIoInfo.encode(StringIoInfo.ADDRESS_32, 3);

    private IoExitHandler handler;
    private FakeVmExit exit;
    private long nextServiceId = 1;

    /** A device that records every access and answers reads from a queue (or a fixed value). */
    static final class RecordingDevice implements PortIoDevice {
        final List<String> log = new ArrayList<>();
        final List<Integer> writes = new ArrayList<>();
        int readValue = 0x12345678;
        int nextRead = -1; // when >= 0, reads return nextRead++ (for INS sequences)

        @Override
        public int ioRead(int port, int size) {
            log.add("r" + size + "@" + Integer.toHexString(port));
            return nextRead >= 0 ? nextRead++ : readValue;
        }

        @Override
        public void ioWrite(int port, int size, int value) {
            log.add("w" + size + "@" + Integer.toHexString(port) + "=" + Integer.toHexString(value));
            writes.add(value);
        }
    }

    @BeforeEach
    void setUp() {
        handler = new IoExitHandler();
        handler.activate(null, Map.of());
        exit = new FakeVmExit(new FakeVcpu(0), new FakeMemory(1 << 20));
        exit.reason = ExitReason.IO_INSTRUCTION;
    }

    private Map<String, Object> props(String ports, Integer ranking) {
        Map<String, Object> p = new HashMap<>();
        p.put(PortIoDevice.PORTS, ports);
        p.put("service.id", nextServiceId++);
        if (ranking != null) {
            p.put("service.ranking", ranking);
        }
        return p;
    }

    private RecordingDevice bind(String ports, Integer ranking) {
        RecordingDevice d = new RecordingDevice();
        handler.bindDevice(d, props(ports, ranking));
        return d;
    }

    private ExitAction io(int port, int size, boolean in) {
        exit.qualification = IoQualification.encode(port, size, in, false, false, false);
        exit.resetOutcome();
        return handler.handle(exit);
    }

    private ExitAction string(int port, int size, boolean in, boolean rep, int info, long linear) {
        exit.qualification = IoQualification.encode(port, size, in, true, rep, false);
        exit.instructionInfo = info;
        exit.guestLinearAddress = linear;
        exit.resetOutcome();
        return handler.handle(exit);
    }

    // ---- routing ----

    @Test
    void outRoutesToTheDeviceClaimingThePortWithTheSizedValue() {
        RecordingDevice com1 = bind("0x3f8-0x3ff", null);
        exit.registers.setRax(0xAAAA_BBBB_CCCC_DD41L);
        assertEquals(ExitAction.EMULATED, io(0x3F8, 1, false));
        assertEquals(List.of("w1@3f8=41"), com1.log);
        io(0x3FC, 2, false);
        io(0x3FD, 4, false);
        assertEquals(List.of("w1@3f8=41", "w2@3fc=dd41", "w4@3fd=ccccdd41"), com1.log);
    }

    @Test
    void inMergesAlAndAxIntoRaxAndZeroExtendsEax() {
        RecordingDevice d = bind("0x60", null);
        d.readValue = 0xFFFF_FF5A; // the device's extra bits are masked to the size
        exit.registers.setRax(0x1111_2222_3333_4444L);
        io(0x60, 1, true);
        assertEquals(0x1111_2222_3333_445AL, exit.registers.rax());
        io(0x60, 2, true);
        assertEquals(0x1111_2222_3333_FF5AL, exit.registers.rax());
        io(0x60, 4, true);
        assertEquals(0x0000_0000_FFFF_FF5AL, exit.registers.rax());
    }

    @Test
    void routingAcrossPageBoundariesAndAtTheLastPort() {
        RecordingDevice straddles = bind("0xF8-0x107", null);    // two pages of the table
        RecordingDevice last = bind("0xFFFF", null);
        RecordingDevice inside = bind("0x100", 5);
        PortMap map = handler.portMap();
        assertNull(map.device(0xF7));
        assertSame(straddles, map.device(0xF8));
        assertSame(straddles, map.device(0xFF));
        assertSame(inside, map.device(0x100), "the higher ranking, on the second page");
        assertSame(straddles, map.device(0x101));
        assertSame(straddles, map.device(0x107));
        assertNull(map.device(0x108));
        assertSame(last, map.device(0xFFFF));
        assertNull(map.device(0xFFFE));
        assertNull(map.device(0x8000), "a page nobody claims");
        String devices = new IoCommands(handler).devices();
        assertTrue(devices.contains("0x00f8-0x00ff"), devices);
        assertTrue(devices.contains("0x0101-0x0107"), devices);
        assertTrue(devices.contains("0xffff"), devices);
    }

    /** A device binding rebuilds the table: a few devices' worth of pages, not 65536 entries twice. */
    @Test
    void aBuildAllocatesThePagesItUsesOnly() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        bind("0x20-0x21", null);
        bind("0x3F8-0x3FF", null);
        long before = threads.getCurrentThreadAllocatedBytes();
        bind("0x80", null);
        long bytes = threads.getCurrentThreadAllocatedBytes() - before;
        assertTrue(bytes < 64 * 1024, bytes + " bytes allocated by one bind");
    }

    @Test
    void routingByRangeAndRankingAndUnbind() {
        RecordingDevice low = bind("0x20-0x2f", 0);
        RecordingDevice high = bind("0x28-0x30", 10);
        RecordingDevice older = bind("0x40", 5);
        RecordingDevice newerSameRank = bind("0x40", 5);
        PortMap map = handler.portMap();
        assertSame(low, map.device(0x27));
        assertSame(high, map.device(0x28), "higher service.ranking wins on overlap");
        assertSame(high, map.device(0x30));
        assertSame(older, map.device(0x40), "equal ranking: the lower service.id wins");
        assertNull(map.device(0x31));

        io(0x2A, 1, false);
        assertEquals(1, high.log.size());
        assertEquals(0, low.log.size());
        assertTrue(newerSameRank.log.isEmpty());

        handler.unbindDevice(high, Map.of("service.id", 2L));
        assertSame(low, handler.portMap().device(0x28), "unbinding uncovers the lower claim");
        assertNull(handler.portMap().device(0x30));
        String devices = new IoCommands(handler).devices();
        assertTrue(devices.contains("0x0020-0x002f"), devices);
        assertTrue(devices.contains("0x0040"), devices);
    }

    @Test
    void updatedPropertiesRemapTheDevice() {
        RecordingDevice d = new RecordingDevice();
        Map<String, Object> p = props("0x70-0x71", null);
        handler.bindDevice(d, p);
        assertSame(d, handler.portMap().device(0x70));
        p.put(PortIoDevice.PORTS, "0x72");
        handler.updatedDevice(d, p);
        assertNull(handler.portMap().device(0x70));
        assertSame(d, handler.portMap().device(0x72));
    }

    @Test
    void badPortPropertyMapsWhatParses() {
        RecordingDevice d = bind("0x80, nonsense, 0x5-0x1", null);
        assertSame(d, handler.portMap().device(0x80));
        assertNull(handler.portMap().device(0x5));
    }

    // ---- unclaimed ports ----

    @Test
    void unclaimedPortsReadAllOnesAndDropWritesAndAreCounted() {
        exit.registers.setRax(0x7777_7777_0000_0000L);
        io(0x1234, 1, true);
        assertEquals(0x7777_7777_0000_00FFL, exit.registers.rax());
        io(0x1234, 2, true);
        assertEquals(0x7777_7777_0000_FFFFL, exit.registers.rax());
        io(0x1234, 4, true);
        assertEquals(0xFFFF_FFFFL, exit.registers.rax());
        io(0x1234, 1, false);
        assertEquals(3, handler.unclaimedReads(0x1234));
        assertEquals(1, handler.unclaimedWrites(0x1234));
        assertEquals(0, handler.unclaimedReads(0x1235));

        IoCommands commands = new IoCommands(handler);
        String table = commands.unclaimed();
        assertTrue(table.contains("0x1234"), table);
        assertTrue(table.matches("(?s).*0x1234\\s+3\\s+1.*"), table);
        commands.unclaimed("reset");
        assertEquals(0, handler.unclaimedReads(0x1234));
    }

    @Test
    void commandServicePropertiesAreWhatGogoLooksFor() {
        var p = IoCommands.serviceProperties();
        assertEquals("io", p.get("osgi.command.scope"));
        assertEquals(List.of("unclaimed", "devices"), List.of((String[]) p.get("osgi.command.function")));
    }

    // ---- string I/O ----

    @Test
    void repOutsbForwardWith32BitAddresses() {
        RecordingDevice d = bind("0xe9", null);
        for (int i = 0; i < 5; i++) {
            exit.memory.write8(0x5000 + i, 'a' + i);
        }
        exit.registers.setGpr(Register.RSI.ordinal(), 0x5000);
        exit.registers.setRcx(0xFFFF_FFFF_0000_0005L);
        assertEquals(ExitAction.EMULATED, string(0xE9, 1, false, true, ADDR32, 0x5000));
        assertEquals(List.of(0x61, 0x62, 0x63, 0x64, 0x65), d.writes);
        assertEquals(0x5005L, exit.registers.gpr(Register.RSI.ordinal()));
        assertEquals(0L, exit.registers.rcx(), "32-bit address size: ECX written, upper half cleared");
    }

    @Test
    void repOutsbBackwardWithDf() {
        RecordingDevice d = bind("0xe9", null);
        for (int i = 0; i < 3; i++) {
            exit.memory.write8(0x5000 + i, 'x' + i);
        }
        exit.registers.set(Register.RFLAGS, 0x2 | IoExitHandler.RFLAGS_DF);
        exit.registers.setGpr(Register.RSI.ordinal(), 0x5002);
        exit.registers.setRcx(3);
        string(0xE9, 1, false, true, ADDR32, 0x5002);
        assertEquals(List.of((int) 'z', (int) 'y', (int) 'x'), d.writes);
        assertEquals(0x4FFFL, exit.registers.gpr(Register.RSI.ordinal()));
    }

    @Test
    void repInswForwardWith16BitAddressesKeepsUpperRegisterBits() {
        RecordingDevice disk = bind("0x1f0", null);
        disk.nextRead = 0xA000;
        // Real-mode style: ES base 0x10000, DI = 0xFFFC, so the offset wraps at 64 KiB.
        exit.registers.setGpr(Register.RDI.ordinal(), 0xABCD_0000_1234_FFFCL);
        exit.registers.setRcx(0x5555_0000_0000_0004L);
        assertEquals(ExitAction.EMULATED, string(0x1F0, 2, true, true, ADDR16, 0x1_FFFC));
        assertEquals(0xA000, exit.memory.read16(0x1_FFFC));
        assertEquals(0xA001, exit.memory.read16(0x1_FFFE));
        assertEquals(0xA002, exit.memory.read16(0x1_0000), "DI wrapped to 0 within the segment");
        assertEquals(0xA003, exit.memory.read16(0x1_0002));
        assertEquals(0xABCD_0000_1234_0004L, exit.registers.gpr(Register.RDI.ordinal()), "only DI changes");
        assertEquals(0x5555_0000_0000_0000L, exit.registers.rcx(), "only CX changes");
    }

    @Test
    void repInswBackwardWith16BitAddresses() {
        RecordingDevice disk = bind("0x1f0", null);
        disk.nextRead = 1;
        exit.registers.set(Register.RFLAGS, IoExitHandler.RFLAGS_DF);
        exit.registers.setGpr(Register.RDI.ordinal(), 0x0104);
        exit.registers.setRcx(3);
        string(0x1F0, 2, true, true, ADDR16, 0x8104);
        assertEquals(1, exit.memory.read16(0x8104));
        assertEquals(2, exit.memory.read16(0x8102));
        assertEquals(3, exit.memory.read16(0x8100));
        assertEquals(0x00FEL, exit.registers.gpr(Register.RDI.ordinal()));
        assertEquals(0L, exit.registers.rcx());
    }

    @Test
    void repInsdFrom32BitWithDfAcrossAddressWrap() {
        RecordingDevice d = bind("0x100", null);
        d.nextRead = 7;
        exit.registers.set(Register.RFLAGS, IoExitHandler.RFLAGS_DF);
        exit.registers.setGpr(Register.RDI.ordinal(), 0x2004);
        exit.registers.setRcx(2);
        string(0x100, 4, true, true, ADDR32, 0x2004);
        assertEquals(7, exit.memory.read32(0x2004));
        assertEquals(8, exit.memory.read32(0x2000));
        assertEquals(0x1FFCL, exit.registers.gpr(Register.RDI.ordinal()));
    }

    @Test
    void nonRepOutswMovesOneElementAndLeavesRcx() {
        RecordingDevice d = bind("0x300", null);
        exit.memory.write16(0x6000, 0xBEEF);
        exit.registers.setGpr(Register.RSI.ordinal(), 0x6000);
        exit.registers.setRcx(99);
        string(0x300, 2, false, false, ADDR32, 0x6000);
        assertEquals(List.of(0xBEEF), d.writes);
        assertEquals(0x6002L, exit.registers.gpr(Register.RSI.ordinal()));
        assertEquals(99L, exit.registers.rcx());
    }

    @Test
    void repWithZeroCountDoesNothing() {
        RecordingDevice d = bind("0x300", null);
        exit.registers.setRcx(0xFFFF_0000L); // CX = 0 with 16-bit addresses
        exit.registers.setGpr(Register.RSI.ordinal(), 0x10);
        assertEquals(ExitAction.EMULATED, string(0x300, 1, false, true, ADDR16, 0x10));
        assertTrue(d.log.isEmpty());
        assertEquals(0x10L, exit.registers.gpr(Register.RSI.ordinal()));
    }

    @Test
    void stringIoUsesTranslatedGuestPhysicalAddresses() {
        RecordingDevice d = bind("0xe9", null);
        exit.memory.mapPage(0x40_0000, 0x7000);
        exit.memory.write8(0x7010, 'Q');
        exit.registers.setGpr(Register.RSI.ordinal(), 0x40_0010);
        exit.registers.setRcx(1);
        string(0xE9, 1, false, true, ADDR32, 0x40_0010);
        assertEquals(List.of((int) 'Q'), d.writes);
    }

    @Test
    void elementStraddlingPagesIsSplitAcrossTheirTranslations() {
        RecordingDevice d = bind("0x200", null);
        exit.memory.mapPage(0x1000, 0x9000);
        exit.memory.mapPage(0x2000, 0x3000);
        exit.memory.write8(0x9FFF, 0x11);
        exit.memory.write8(0x3000, 0x22);
        exit.registers.setGpr(Register.RSI.ordinal(), 0x1FFF);
        string(0x200, 2, false, false, ADDR32, 0x1FFF);
        assertEquals(List.of(0x2211), d.writes);
    }

    @Test
    void pageFaultMidStringInjectsPfAndKeepsProgress() {
        RecordingDevice d = bind("0x1f0", null);
        d.nextRead = 0;
        exit.memory.unmapPage(0x3000);
        exit.registers.setGpr(Register.RDI.ordinal(), 0x2FFC);
        exit.registers.setRcx(4);
        exit.setField(VmcsField.GUEST_SS_AR_BYTES, 0x93); // DPL 0
        assertEquals(ExitAction.RESUME, string(0x1F0, 2, true, true, ADDR32, 0x2FFC));
        assertEquals(2, d.log.size(), "two words fit before the missing page; no port read for the third");
        assertEquals(IoExitHandler.VECTOR_PAGE_FAULT, exit.injectedVector);
        assertEquals(IoExitHandler.PF_WRITE, exit.injectedErrorCode, "not present, write, supervisor");
        assertEquals(0x3000L, exit.registers.get(Register.CR2));
        assertEquals(0x3000L, exit.registers.gpr(Register.RDI.ordinal()));
        assertEquals(2L, exit.registers.rcx());
    }

    @Test
    void writeToReadOnlyUserPageIsAProtectionFault() {
        bind("0x1f0", null);
        exit.memory.makeReadOnly(0x4000);
        exit.registers.setGpr(Register.RDI.ordinal(), 0x4000);
        exit.setField(VmcsField.GUEST_SS_AR_BYTES, 0xF3); // DPL 3
        string(0x1F0, 1, true, false, ADDR32, 0x4000);
        assertEquals(IoExitHandler.PF_PRESENT | IoExitHandler.PF_WRITE | IoExitHandler.PF_USER, exit.injectedErrorCode);
    }

    @Test
    void longRepStringIsFinishedInChunksWhenConfigured() {
        RecordingDevice d = bind("0xe9", null);
        handler.modified(Map.of("rep.chunk", "3"));
        exit.registers.setGpr(Register.RSI.ordinal(), 0x100);
        exit.registers.setRcx(5);
        assertEquals(ExitAction.RESUME, string(0xE9, 1, false, true, ADDR32, 0x100));
        assertEquals(3, d.writes.size());
        assertEquals(2L, exit.registers.rcx());
        assertEquals(0x103L, exit.registers.gpr(Register.RSI.ordinal()));
        assertEquals(ExitAction.EMULATED, string(0xE9, 1, false, true, ADDR32, 0x103));
        assertEquals(5, d.writes.size());
        assertEquals(0L, exit.registers.rcx());
    }

    @Test
    void unclaimedInsbFillsMemoryWithAllOnesAndCounts() {
        exit.registers.setGpr(Register.RDI.ordinal(), 0x800);
        exit.registers.setRcx(4);
        string(0x2F8, 1, true, true, ADDR32, 0x800);
        assertEquals(0xFFFF_FFFF, exit.memory.read32(0x800));
        assertEquals(4, handler.unclaimedReads(0x2F8));
    }

    @Test
    void undefinedEncodingsArePassedOn() {
        exit.qualification = 0x0060_0002L; // size code 2 is undefined
        assertEquals(ExitAction.PASS, handler.handle(exit));
        assertEquals(ExitAction.PASS, string(0x60, 1, false, true, 3 << 7, 0));
    }

    @Test
    void hotPathDoesNotAllocate() {
        PortIoDevice d = new PortIoDevice() {
            @Override
            public void ioWrite(int port, int size, int value) {
            }

            @Override
            public int ioRead(int port, int size) {
                return 0;
            }
        };
        handler.bindDevice(d, props("0x3f8", null));
        var bean = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        for (int i = 0; i < 20_000; i++) {
            io(0x3F8, 1, (i & 1) == 0);
            io(0x80, 1, false);
        }
        long tid = Thread.currentThread().threadId();
        long before = bean.getThreadAllocatedBytes(tid);
        for (int i = 0; i < 10_000; i++) {
            io(0x3F8, 1, (i & 1) == 0);
            io(0x80, 1, false); // unclaimed
        }
        long allocated = bean.getThreadAllocatedBytes(tid) - before;
        assertTrue(allocated < 4096, "port I/O allocated " + allocated + " bytes over 20000 exits");
    }
}
