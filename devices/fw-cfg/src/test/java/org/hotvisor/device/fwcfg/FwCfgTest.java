package org.hotvisor.device.fwcfg;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FwCfgTest {
    private static final int SEL = 0x510;
    private static final int DATA = 0x511;

    private final FwCfgItems items = FwCfgItems.standard(128L << 20, 2, 4);
    private final FwCfg fwCfg = new FwCfg(FwCfg.DEFAULT_BASE, items);

    /** What kvm-unit-tests' fwcfg reader does: select, then N 8-bit reads, little-endian. */
    private long readLe(int key, int bytes) {
        fwCfg.ioWrite(SEL, 2, key);
        long v = 0;
        for (int i = 0; i < bytes; i++) {
            v |= (long) fwCfg.ioRead(DATA, 1) << (8 * i);
        }
        return v;
    }

    private byte[] readBytes(int key, int n) {
        fwCfg.ioWrite(SEL, 2, key);
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) fwCfg.ioRead(DATA, 1);
        }
        return b;
    }

    @Test
    void signatureReadsQemuThenZerosPastTheEnd() {
        assertEquals("QEMU", new String(readBytes(FwCfgItems.SIGNATURE, 4), StandardCharsets.US_ASCII));
        assertEquals(0, fwCfg.ioRead(DATA, 1));
        assertEquals(0, fwCfg.ioRead(DATA, 1));
    }

    @Test
    void theSignatureIsSelectedAtPowerOn() {
        assertEquals('Q', fwCfg.ioRead(DATA, 1));
    }

    @Test
    void idSaysTraditionalInterfaceOnlyNoDma() {
        assertEquals(1, readLe(FwCfgItems.ID, 4));
    }

    @Test
    void ramSizeCpusAndMaxCpusAreLittleEndian() {
        assertEquals(128L << 20, readLe(FwCfgItems.RAM_SIZE, 8));
        assertEquals(2, readLe(FwCfgItems.NB_CPUS, 2));
        assertEquals(4, readLe(FwCfgItems.MAX_CPUS, 2));
    }

    @Test
    void reselectingRewindsTheOffset() {
        readBytes(FwCfgItems.SIGNATURE, 2);
        assertEquals('Q', readBytes(FwCfgItems.SIGNATURE, 1)[0]);
    }

    @Test
    void aKeyWithNoItemReadsZeros() {
        assertEquals(0, readLe(0x0123, 4));
        assertEquals(0, readLe(0x8010, 4), "no arch-specific items");
    }

    @Test
    void writeChannelBitIsIgnoredForReadsAndArchBitSelectsAnotherTable() {
        assertEquals("QEMU", new String(readBytes(FwCfgItems.SIGNATURE | FwCfgItems.WRITE_CHANNEL, 4), StandardCharsets.US_ASCII));
        items.put(0x8000, new byte[] {0x42});
        assertEquals(0x42, readLe(0x8000, 1));
        assertEquals('Q', readLe(0x0000, 1));
    }

    @Test
    void onlySixteenBitSelectorWritesAndEightBitDataReadsAreValid() {
        readBytes(FwCfgItems.NB_CPUS, 0);
        fwCfg.ioWrite(SEL, 1, FwCfgItems.SIGNATURE);      // 8-bit selector write: ignored
        assertEquals(FwCfgItems.NB_CPUS, fwCfg.selector());
        assertEquals(0xFFFF, fwCfg.ioRead(DATA, 2));        // 16-bit data read: invalid, open bus
        assertEquals(0xFF, fwCfg.ioRead(SEL, 1));           // the selector is write-only
        fwCfg.ioWrite(DATA, 1, 0x55);                       // data writes are dropped
        assertEquals(2, readLe(FwCfgItems.NB_CPUS, 1));
        assertEquals(3, fwCfg.invalidAccesses);
        assertEquals(1, fwCfg.ignoredDataWrites);
    }

    @Test
    void fileDirectoryIsBigEndianAndSortedByName() {
        items.addFile("opt/zeta", new byte[] {1, 2, 3});
        items.addFile("opt/alpha", "hello".getBytes(StandardCharsets.US_ASCII));
        byte[] dir = readBytes(FwCfgItems.FILE_DIR, 4 + 2 * 64);
        assertEquals(2, ((dir[0] & 0xFF) << 24) | ((dir[1] & 0xFF) << 16) | ((dir[2] & 0xFF) << 8) | (dir[3] & 0xFF));
        // entry 0: size 5 (be32), select 0x0020 (be16), reserved, "opt/alpha\0"
        assertArrayEquals(new byte[] {0, 0, 0, 5, 0, 0x20, 0, 0}, java.util.Arrays.copyOfRange(dir, 4, 12));
        assertEquals("opt/alpha", new String(dir, 12, 9, StandardCharsets.US_ASCII));
        assertEquals(0, dir[12 + 9]);
        assertArrayEquals(new byte[] {0, 0, 0, 3, 0, 0x21, 0, 0}, java.util.Arrays.copyOfRange(dir, 68, 76));
        assertEquals("hello", new String(readBytes(0x20, 5), StandardCharsets.US_ASCII));
        assertEquals(0x21, items.keyOf("opt/zeta"));
    }

    @Test
    void emptyDirectoryHasACountOfZero() {
        assertEquals(0, readLe(FwCfgItems.FILE_DIR, 4));
    }

    @Test
    void badFileNamesAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> items.addFile("x".repeat(56), new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> items.addFile("", new byte[0]));
    }

    @Test
    void configuredFilesAndStringsAreAddedAndUnreadableOnesLeftOut(@TempDir Path dir) throws Exception {
        Path blob = dir.resolve("blob.bin");
        Files.write(blob, new byte[] {9, 8, 7});
        FwCfgComponent.addConfiguredFiles(items, Map.of(
                "file.opt/org.hotvisor/blob", blob.toString(),
                "file.opt/missing", dir.resolve("nope").toString(),
                "string.opt/org.hotvisor/cmdline", "console=ttyS0",
                "cpus", 1));
        assertEquals(0, readLe(FwCfgItems.FILE_DIR, 1), "the first byte of the be32 count");
        fwCfg.ioWrite(SEL, 2, FwCfgItems.FILE_DIR);
        int count = 0;
        for (int i = 0; i < 4; i++) {
            count = (count << 8) | fwCfg.ioRead(DATA, 1);
        }
        assertEquals(2, count);
        assertArrayEquals(new byte[] {9, 8, 7}, readBytes(items.keyOf("opt/org.hotvisor/blob"), 3));
        assertEquals("console=ttyS0", new String(readBytes(items.keyOf("opt/org.hotvisor/cmdline"), 13), StandardCharsets.UTF_8));
    }

    @Test
    void cpuCountComesFromTheFrameworkPropertyWithAFallback() {
        assertEquals(4, FwCfgComponent.frameworkCpus("4"));
        assertEquals(1, FwCfgComponent.frameworkCpus(null));
        assertEquals(1, FwCfgComponent.frameworkCpus("zero"));
        assertEquals(1, FwCfgComponent.frameworkCpus("0"));
    }

    @Test
    void portsComeFromConfigurationWithAFallback() {
        assertEquals(0x600, FwCfgComponent.basePort("0x600-0x601"));
        assertEquals(FwCfg.DEFAULT_BASE, FwCfgComponent.basePort("nonsense"));
        FwCfg moved = new FwCfg(0x600, items);
        moved.ioWrite(0x600, 2, FwCfgItems.NB_CPUS);
        assertEquals(2, moved.ioRead(0x601, 1));
    }
}
