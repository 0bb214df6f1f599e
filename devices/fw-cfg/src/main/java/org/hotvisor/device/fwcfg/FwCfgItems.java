package org.hotvisor.device.fwcfg;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

/**
 * The fw_cfg item table: selector key to bytes (QEMU docs/specs/fw_cfg.rst, "Firmware
 * Configuration Items"). Generic, so that whoever builds the machine (the loader, the ACPI-table
 * writer) can add items and files later: {@link #put} for a well-known key, {@link #addFile} for
 * a named file, which gets a key from {@value #FILE_FIRST} up and an entry in the file directory
 * (key {@value #FILE_DIR}), kept sorted by name as QEMU sorts it.
 *
 * <p>Lookups are an array load ({@link #item}); the table is built before the guest runs.
 */
public final class FwCfgItems {
    // ---- well-known keys (QEMU include/standard-headers/linux/qemu_fw_cfg.h) ----
    public static final int SIGNATURE = 0x0000;
    public static final int ID = 0x0001;
    public static final int UUID = 0x0002;
    public static final int RAM_SIZE = 0x0003;
    public static final int NB_CPUS = 0x0005;
    public static final int MAX_CPUS = 0x000F;
    public static final int FILE_DIR = 0x0019;
    /** The first key given to a file. */
    public static final int FILE_FIRST = 0x0020;

    /** Selector bit 14: write channel; ignored for reads (writes through the data port are dropped since QEMU 2.4). */
    static final int WRITE_CHANNEL = 0x4000;
    /** Selector bit 15: architecture-specific item (x86: 0x8000-0xbfff). */
    static final int ARCH_LOCAL = 0x8000;
    /** Selector bits 13:0: the item index within its (generic or arch) table. */
    static final int ENTRY_MASK = 0x3FFF;
    private static final int TABLE_SIZE = 2 * (ENTRY_MASK + 1);

    /** "QEMU": what the signature item reads as. */
    static final byte[] SIGNATURE_BYTES = "QEMU".getBytes(StandardCharsets.US_ASCII);
    /** FW_CFG_ID bit 0: the traditional (port) interface. Bit 1 (DMA) stays clear: no DMA interface. */
    static final int ID_TRADITIONAL = 1 << 0;
    static final int UUID_LENGTH = 16;

    // ---- the file directory (fw_cfg.rst "File Directory"): big-endian ----
    static final int DIR_COUNT_BYTES = 4;
    static final int DIR_ENTRY_BYTES = 64;
    /** Names are NUL-terminated ASCII in 56 bytes. */
    static final int FILE_NAME_BYTES = 56;

    private final byte[][] items = new byte[TABLE_SIZE][];
    private final Map<String, byte[]> files = new TreeMap<>();

    /** The items QEMU's PC machine always has, for this RAM size and CPU counts. */
    public static FwCfgItems standard(long ramSize, int cpus, int maxCpus) {
        FwCfgItems t = new FwCfgItems();
        t.put(SIGNATURE, SIGNATURE_BYTES.clone());
        t.put(ID, le32(ID_TRADITIONAL));
        t.put(UUID, new byte[UUID_LENGTH]);
        t.put(RAM_SIZE, le64(ramSize));
        t.put(NB_CPUS, le16(cpus));
        t.put(MAX_CPUS, le16(maxCpus));
        t.put(FILE_DIR, directory(Map.of()));
        return t;
    }

    /** Sets the bytes of a key (bit 15 selects the arch table; bit 14 is ignored). */
    public void put(int key, byte[] data) {
        items[index(key)] = data;
    }

    /**
     * Adds (or replaces) a named file and rebuilds the directory. Files take keys from
     * {@value #FILE_FIRST} in name order, so adding one may move the keys of those after it; a
     * guest looks them up in the directory.
     */
    public void addFile(String name, byte[] data) {
        byte[] ascii = name.getBytes(StandardCharsets.US_ASCII);
        if (ascii.length >= FILE_NAME_BYTES || ascii.length == 0) {
            throw new IllegalArgumentException("fw_cfg file name '" + name + "' must be 1-" + (FILE_NAME_BYTES - 1) + " ASCII characters");
        }
        if (files.size() >= ENTRY_MASK + 1 - FILE_FIRST && !files.containsKey(name)) {
            throw new IllegalArgumentException("no fw_cfg keys left for file '" + name + "'");
        }
        files.put(name, data);
        int key = FILE_FIRST;
        for (byte[] content : files.values()) {
            items[index(key++)] = content;
        }
        put(FILE_DIR, directory(files));
    }

    /** The bytes of a selected key, or null if there is no such item. Hot path: one array load. */
    byte[] item(int key) {
        return items[index(key)];
    }

    private static int index(int key) {
        return (key & ENTRY_MASK) | ((key & ARCH_LOCAL) != 0 ? ENTRY_MASK + 1 : 0);
    }

    /** The key a file got, or -1. */
    int keyOf(String name) {
        int key = FILE_FIRST;
        for (String n : files.keySet()) {
            if (n.equals(name)) {
                return key;
            }
            key++;
        }
        return -1;
    }

    /** struct FWCfgFiles: count (be32), then per file size (be32), select (be16), reserved (be16), name[56]. */
    private static byte[] directory(Map<String, byte[]> files) {
        ByteBuffer b = ByteBuffer.allocate(DIR_COUNT_BYTES + DIR_ENTRY_BYTES * files.size()).order(ByteOrder.BIG_ENDIAN);
        b.putInt(files.size());
        int key = FILE_FIRST;
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            b.putInt(f.getValue().length);
            b.putShort((short) key++);
            b.putShort((short) 0);
            byte[] name = new byte[FILE_NAME_BYTES];
            byte[] ascii = f.getKey().getBytes(StandardCharsets.US_ASCII);
            System.arraycopy(ascii, 0, name, 0, ascii.length);
            b.put(name);
        }
        return b.array();
    }

    static byte[] le16(int v) {
        return ByteBuffer.allocate(Short.BYTES).order(ByteOrder.LITTLE_ENDIAN).putShort((short) v).array();
    }

    static byte[] le32(int v) {
        return ByteBuffer.allocate(Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }

    static byte[] le64(long v) {
        return ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }
}
