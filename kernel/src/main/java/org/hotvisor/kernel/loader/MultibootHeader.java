package org.hotvisor.kernel.loader;

/**
 * The Multiboot v1 header of an OS image (Multiboot 0.6.96, section 3.1 "OS image format").
 *
 * @param offset file offset of the header
 * @param flags  the header's flags word
 */
record MultibootHeader(int offset, long flags, long headerAddress, long loadAddress, long loadEndAddress,
        long bssEndAddress, long entryAddress) {
    static final long HEADER_MAGIC = 0x1BADB002L;
    /** 3.1.1: the header lies completely within the first 8192 bytes, 32-bit aligned. */
    static final int SEARCH_LIMIT = 8192;
    static final int ALIGNMENT = 4;
    /** magic, flags, checksum. */
    static final int MANDATORY_SIZE = 12;
    /** ... plus header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr (3.1.3). */
    static final int ADDRESS_FIELDS_SIZE = 32;

    // 3.1.2 flags: bits 0-15 are requirements the loader must meet or refuse the image.
    static final long FLAG_PAGE_ALIGN_MODULES = 1L;
    static final long FLAG_MEMORY_INFO = 1L << 1;
    static final long FLAG_VIDEO_MODE = 1L << 2;
    static final long REQUIREMENT_FLAGS = 0xFFFFL;
    /** Requirements Hotvisor meets: modules are always page-aligned and memory information is always given. */
    static final long SUPPORTED_REQUIREMENTS = FLAG_PAGE_ALIGN_MODULES | FLAG_MEMORY_INFO;
    /** 3.1.2 bit 16: the address fields at offsets 12-28 are valid ("a.out kludge"). */
    static final long FLAG_ADDRESS_FIELDS = 1L << 16;

    private static final int FLAGS = 4;
    private static final int CHECKSUM = 8;
    private static final int HEADER_ADDR = 12;
    private static final int LOAD_ADDR = 16;
    private static final int LOAD_END_ADDR = 20;
    private static final int BSS_END_ADDR = 24;
    private static final int ENTRY_ADDR = 28;
    private static final long MASK32 = 0xffff_ffffL;

    /** What a scan of an image found: a valid header, or none and the offset of a magic with a bad checksum (-1 if none). */
    record Scan(MultibootHeader header, int badChecksumOffset) {
    }

    static Scan scan(byte[] data) {
        int limit = Math.min(data.length, SEARCH_LIMIT) - MANDATORY_SIZE;
        int badChecksum = -1;
        for (int offset = 0; offset <= limit; offset += ALIGNMENT) {
            if (Hex.u32(data, offset) != HEADER_MAGIC) {
                continue;
            }
            long flags = Hex.u32(data, offset + FLAGS);
            long checksum = Hex.u32(data, offset + CHECKSUM);
            // 3.1.2: magic + flags + checksum == 0 (mod 2^32)
            if (((HEADER_MAGIC + flags + checksum) & MASK32) != 0) {
                if (badChecksum < 0) {
                    badChecksum = offset;
                }
                continue;
            }
            boolean hasAddresses = (flags & FLAG_ADDRESS_FIELDS) != 0 && offset + ADDRESS_FIELDS_SIZE <= data.length;
            return new Scan(new MultibootHeader(offset, flags,
                    hasAddresses ? Hex.u32(data, offset + HEADER_ADDR) : 0,
                    hasAddresses ? Hex.u32(data, offset + LOAD_ADDR) : 0,
                    hasAddresses ? Hex.u32(data, offset + LOAD_END_ADDR) : 0,
                    hasAddresses ? Hex.u32(data, offset + BSS_END_ADDR) : 0,
                    hasAddresses ? Hex.u32(data, offset + ENTRY_ADDR) : 0), -1);
        }
        return new Scan(null, badChecksum);
    }

    boolean usesAddressFields() {
        return (flags & FLAG_ADDRESS_FIELDS) != 0;
    }

    /** 3.1.2: refuse an image whose required features Hotvisor does not provide. */
    void checkRequirements(String name, int fileLength) throws ImageException {
        long unsupported = flags & REQUIREMENT_FLAGS & ~SUPPORTED_REQUIREMENTS;
        if ((unsupported & FLAG_VIDEO_MODE) != 0) {
            throw new ImageException(name + "'s Multiboot header requires video mode information (flag bit 2): "
                    + "Hotvisor has no display, only the serial console");
        }
        if (unsupported != 0) {
            throw new ImageException(name + "'s Multiboot header requires features Hotvisor does not know (flags "
                    + Hex.of(unsupported) + ")");
        }
        if (usesAddressFields() && offset + ADDRESS_FIELDS_SIZE > fileLength) {
            throw new ImageException("truncated Multiboot header in " + name + ": the address fields (flag bit 16) run past the end of the file");
        }
    }

    /**
     * 3.1.3 "The address fields of Multiboot header": the file from header_addr - load_addr bytes
     * before the header is loaded at load_addr up to load_end_addr (0: end of file), then zeroes up
     * to bss_end_addr (0: no BSS).
     */
    Segment addressFieldSegment(String name, int fileLength) throws ImageException {
        if (loadAddress > headerAddress) {
            throw new ImageException("garbled Multiboot header in " + name + ": load_addr " + Hex.of(loadAddress)
                    + " is above header_addr " + Hex.of(headerAddress));
        }
        long fileStart = offset - (headerAddress - loadAddress);
        if (fileStart < 0) {
            throw new ImageException("garbled Multiboot header in " + name + ": load_addr " + Hex.of(loadAddress)
                    + " would start " + (-fileStart) + " bytes before the file");
        }
        long loadLength;
        if (loadEndAddress == 0) {
            loadLength = fileLength - fileStart;
        } else if (loadEndAddress < loadAddress) {
            throw new ImageException("garbled Multiboot header in " + name + ": load_end_addr " + Hex.of(loadEndAddress)
                    + " is below load_addr " + Hex.of(loadAddress));
        } else {
            loadLength = loadEndAddress - loadAddress;
        }
        if (fileStart + loadLength > fileLength) {
            throw new ImageException("truncated Multiboot image " + name + ": load_end_addr " + Hex.of(loadEndAddress)
                    + " needs " + (fileStart + loadLength) + " bytes, the file has " + fileLength);
        }
        long loadEnd = loadAddress + loadLength;
        if (bssEndAddress != 0 && bssEndAddress < loadEnd) {
            throw new ImageException("garbled Multiboot header in " + name + ": bss_end_addr " + Hex.of(bssEndAddress)
                    + " is below the end of the loaded data " + Hex.of(loadEnd));
        }
        long memorySize = bssEndAddress == 0 ? loadLength : bssEndAddress - loadAddress;
        return new Segment("image", fileStart, loadAddress, loadLength, memorySize);
    }
}
