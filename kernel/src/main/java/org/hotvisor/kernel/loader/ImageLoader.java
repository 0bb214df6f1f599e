package org.hotvisor.kernel.loader;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Loads a guest image into guest RAM and says which processor state it starts in.
 *
 * <ul>
 * <li>{@code boot}: a boot sector (any size up to the end of conventional memory) copied to
 * 0x7C00 and started in real mode at 0000:7C00 with DL = 0x00, the first floppy drive, as
 * QEMU's and Bochs's BIOS pass it for {@code -drive if=floppy}.</li>
 * <li>{@code flat}: raw bytes copied to the load address and started in 32-bit flat protected
 * mode at the entry point (default: the load address).</li>
 * <li>{@code elf}: an ELF32 x86 executable loaded by its program headers; {@code multiboot}: a
 * kernel with a Multiboot v1 header, loaded by the header's address fields (flag bit 16, the
 * "a.out kludge") or else by its ELF program headers. Both get the machine QEMU with SeaBIOS
 * leaves a {@code -kernel}: ACPI tables in the BIOS area ({@link AcpiTables}), and a firmware
 * ({@link FirmwareImage}) that starts in real mode at F000:entry, programs the PICs, the PIT and
 * A20, fills the IVT and the BIOS data area, and enters the kernel as Multiboot says (0.6.96,
 * 3.2): 32-bit flat protected mode, paging off, EAX = 0x2BADB002, EBX = the information structure.</li>
 * <li>{@code auto}: ELF magic → multiboot if it has a Multiboot header, else elf; a Multiboot
 * header → multiboot; exactly 512 bytes ending 0x55 0xAA → boot; a load address given → flat.</li>
 * </ul>
 *
 * <p>Multiboot modules go page-aligned after the kernel. The information structure goes at 0x1000
 * (between the BIOS data area and the 0x7C00 stack), outside every image that does not itself load
 * there; otherwise, page-aligned after the last module. Every format starts with ESP = 0x7C00.
 * The loader writes only the bytes it loads: the caller hands it zeroed RAM. The boot and flat
 * formats get neither firmware nor ACPI tables: those images are their own BIOS-less world, and
 * a flat image may well be loaded over the BIOS area.
 */
public final class ImageLoader {
    /** Protected-mode selectors the kernel's flat segments use (index 1: code, 2: data). */
    public static final int FLAT_CODE_SELECTOR = 0x08;
    public static final int FLAT_DATA_SELECTOR = 0x10;
    /** DL at boot-sector entry: BIOS drive 0x00, the first floppy. */
    static final long BOOT_DRIVE_FLOPPY = 0x00;
    static final int BOOT_SIGNATURE_SIZE = 512;
    private static final int BOOT_SIGNATURE_LOW = 0x55;
    private static final int BOOT_SIGNATURE_HIGH = 0xAA;

    private ImageLoader() {
    }

    public static BootState load(Path image, LoadOptions options, byte[] ram) throws ImageException {
        GuestRam memory = new GuestRam(ram);
        String format = options.format();
        if (!List.of("auto", "boot", "flat", "elf", "multiboot").contains(format)) {
            throw new ImageException("unknown image format '" + format + "' (use auto, boot, flat, elf or multiboot)");
        }
        byte[] data = readFile(image, "image", memory);
        if (data.length == 0) {
            throw new ImageException("image is empty: " + image);
        }
        String name = String.valueOf(image.getFileName());
        if (format.equals("auto")) {
            format = detect(data, name, options);
        }
        if (!format.equals("flat") && (options.loadAddress() != LoadOptions.UNSET || options.entry() != LoadOptions.UNSET)) {
            throw new ImageException("--load-addr and --entry apply only to --format flat (" + name + " is loaded as " + format + ")");
        }
        return switch (format) {
            case "boot" -> loadBootSector(data, name, memory);
            case "flat" -> loadFlat(data, name, options, memory);
            case "elf" -> loadMultiboot(data, name, options, memory, null);
            default -> loadMultiboot(data, name, options, memory, requireHeader(data, name));
        };
    }

    private static String detect(byte[] data, String name, LoadOptions options) throws ImageException {
        MultibootHeader.Scan scan = MultibootHeader.scan(data);
        if (scan.badChecksumOffset() >= 0 && scan.header() == null) {
            throw badChecksum(name, scan.badChecksumOffset());
        }
        if (Elf32Image.hasMagic(data)) {
            return scan.header() != null ? "multiboot" : "elf";
        }
        if (scan.header() != null) {
            return "multiboot";
        }
        if (data.length == BOOT_SIGNATURE_SIZE && (data[510] & 0xff) == BOOT_SIGNATURE_LOW
                && (data[511] & 0xff) == BOOT_SIGNATURE_HIGH) {
            return "boot";
        }
        if (options.loadAddress() != LoadOptions.UNSET) {
            return "flat";
        }
        throw new ImageException("cannot tell the format of " + name
                + " (not ELF, no Multiboot header, not a 512-byte boot sector ending 0x55AA): use --format boot|flat|elf|multiboot");
    }

    private static MultibootHeader requireHeader(byte[] data, String name) throws ImageException {
        MultibootHeader.Scan scan = MultibootHeader.scan(data);
        if (scan.header() != null) {
            scan.header().checkRequirements(name, data.length);
            return scan.header();
        }
        if (scan.badChecksumOffset() >= 0) {
            throw badChecksum(name, scan.badChecksumOffset());
        }
        throw new ImageException("no Multiboot header (magic 0x1BADB002) in the first 8192 bytes of " + name
                + (Elf32Image.hasMagic(data) ? ": use --format elf to boot it as a plain ELF" : ""));
    }

    private static ImageException badChecksum(String name, int offset) {
        return new ImageException("bad checksum in the Multiboot header of " + name + " at offset " + Hex.of(offset)
                + " (magic + flags + checksum must be 0)");
    }

    private static BootState loadBootSector(byte[] data, String name, GuestRam memory) throws ImageException {
        long room = MemoryLayout.CONVENTIONAL_MEMORY_END - MemoryLayout.BOOT_SECTOR_ADDRESS;
        if (data.length > room) {
            throw new ImageException("boot image " + name + " is " + data.length + " bytes: at most " + room
                    + " fit between 0x7c00 and 640 KiB");
        }
        checkInRam(memory, "boot image " + name, MemoryLayout.BOOT_SECTOR_ADDRESS, data.length);
        memory.copyIn(MemoryLayout.BOOT_SECTOR_ADDRESS, data, 0, data.length);
        return new BootState(false, 0, MemoryLayout.BOOT_SECTOR_ADDRESS, MemoryLayout.INITIAL_STACK_POINTER, 0, 0,
                BOOT_DRIVE_FLOPPY, "boot sector " + name + " (" + data.length + " bytes) at 0000:7c00, real mode, DL=0x00");
    }

    private static BootState loadFlat(byte[] data, String name, LoadOptions options, GuestRam memory) throws ImageException {
        long loadAddress = options.loadAddress();
        if (loadAddress == LoadOptions.UNSET) {
            throw new ImageException("a flat image needs --load-addr (and optionally --entry)");
        }
        checkInRam(memory, "flat image " + name, loadAddress, data.length);
        long entry = options.entry() == LoadOptions.UNSET ? loadAddress : options.entry();
        if (!memory.contains(entry, 1)) {
            throw new ImageException("entry point " + Hex.of(entry) + " is outside guest RAM (" + memory.describeSize() + ")");
        }
        memory.copyIn(loadAddress, data, 0, data.length);
        return new BootState(true, FLAT_CODE_SELECTOR, entry, MemoryLayout.INITIAL_STACK_POINTER, 0, 0, 0,
                "flat image " + name + " at " + Hex.range(loadAddress, data.length) + ", entry " + Hex.of(entry)
                        + ", 32-bit protected mode");
    }

    /** Loads an ELF (header == null) or a Multiboot kernel, its modules and the information structure. */
    private static BootState loadMultiboot(byte[] data, String name, LoadOptions options, GuestRam memory,
            MultibootHeader header) throws ImageException {
        List<Segment> segments;
        long entry;
        String kind;
        if (header != null && header.usesAddressFields()) {
            segments = List.of(header.addressFieldSegment(name, data.length));
            entry = header.entryAddress();
            kind = "multiboot (address fields)";
        } else {
            Elf32Image elf = Elf32Image.parse(data, name);
            segments = elf.segments;
            entry = elf.entry;
            kind = header != null ? "multiboot ELF32" : "ELF32";
        }
        for (Segment segment : segments) {
            checkPlacement(memory, segment.name() + " of " + name, segment.address(), segment.memorySize());
        }
        if (!memory.contains(entry, 1)) {
            throw new ImageException("entry point " + Hex.of(entry) + " of " + name + " is outside guest RAM (" + memory.describeSize() + ")");
        }
        if (options.cpus() < 1 || options.cpus() > AcpiTables.MAX_CPUS) {
            throw new ImageException(options.cpus() + " vCPUs: the ACPI tables describe 1 to " + AcpiTables.MAX_CPUS);
        }
        for (Segment segment : segments) {
            memory.copyIn(segment.address(), data, Math.toIntExact(segment.fileOffset()), Math.toIntExact(segment.fileSize()));
            // 3.1.3 / ELF p_memsz: the BSS is zeroed here, whatever RAM held before.
            memory.zero(segment.address() + segment.fileSize(), segment.memorySize() - segment.fileSize());
        }
        List<Segment> loaded = new ArrayList<>(segments);
        List<MultibootInfo.LoadedModule> modules = loadModules(options.modules(), memory, loaded);
        MultibootInfo info = new MultibootInfo(memory.size(), options.cmdline(), modules);
        long infoAddress = placeInfo(info.size(), memory, loaded);
        info.writeAt(memory, infoAddress);
        AcpiTables.Layout acpi = writeAcpiTables(memory, options.cpus());

        long low = segments.stream().mapToLong(Segment::address).min().orElseThrow();
        long high = segments.stream().mapToLong(Segment::end).max().orElseThrow();
        String description = kind + " " + name + ": " + segments.size() + (segments.size() == 1 ? " segment " : " segments ")
                + Hex.range(low, high - low) + ", entry " + Hex.of(entry) + ", " + modules.size()
                + (modules.size() == 1 ? " module" : " modules") + ", boot information at " + Hex.of(infoAddress)
                + ", ACPI RSDP at " + Hex.of(acpi.rsdp());
        return FirmwareImage.install(memory, entry, MultibootInfo.BOOTLOADER_MAGIC, infoAddress,
                MemoryLayout.INITIAL_STACK_POINTER, description);
    }

    /** The ACPI tables go after the firmware in the BIOS segment; RAM always reaches 1 MiB. */
    private static AcpiTables.Layout writeAcpiTables(GuestRam memory, int cpus) throws ImageException {
        byte[] tables = AcpiTables.build(MemoryLayout.ACPI_TABLES_BASE, cpus);
        if (!memory.contains(MemoryLayout.ACPI_TABLES_BASE, tables.length)
                || MemoryLayout.ACPI_TABLES_BASE + tables.length > MemoryLayout.HIGH_MEMORY_START) {
            throw new ImageException("no room for the ACPI tables (" + tables.length + " bytes) in the BIOS area");
        }
        memory.copyIn(MemoryLayout.ACPI_TABLES_BASE, tables, 0, tables.length);
        return AcpiTables.layout(MemoryLayout.ACPI_TABLES_BASE, cpus);
    }

    private static List<MultibootInfo.LoadedModule> loadModules(List<LoadOptions.Module> modules, GuestRam memory,
            List<Segment> loaded) throws ImageException {
        List<MultibootInfo.LoadedModule> placed = new ArrayList<>();
        for (LoadOptions.Module module : modules) {
            byte[] contents = readFile(module.path(), "module", memory);
            long start = MemoryLayout.pageAlign(highestEnd(loaded));
            if (MemoryLayout.overlapsReservedLowMemory(start, contents.length)) {
                start = MemoryLayout.HIGH_MEMORY_START; // a low kernel: skip the EBDA and the hole rather than fail
            }
            checkPlacement(memory, "module " + module.path().getFileName(), start, contents.length);
            memory.copyIn(start, contents, 0, contents.length);
            loaded.add(new Segment("module", 0, start, contents.length, contents.length));
            placed.add(new MultibootInfo.LoadedModule(start, start + contents.length, module.multibootString()));
        }
        return placed;
    }

    /** At 0x1000 if that area is free and large enough, else page-aligned after everything loaded. */
    private static long placeInfo(long size, GuestRam memory, List<Segment> loaded) throws ImageException {
        long low = MemoryLayout.BOOT_INFO_AREA_START;
        if (low + size <= MemoryLayout.BOOT_INFO_AREA_END && loaded.stream().noneMatch(segment -> segment.overlaps(low, size))
                && memory.contains(low, size)) {
            return low;
        }
        long high = MemoryLayout.pageAlign(highestEnd(loaded));
        if (MemoryLayout.overlapsReservedLowMemory(high, size)) {
            high = MemoryLayout.pageAlign(Math.max(highestEnd(loaded), MemoryLayout.HIGH_MEMORY_START));
        }
        if (!memory.contains(high, size) || high + size > MemoryLayout.FOUR_GIB) {
            throw new ImageException("no room for the Multiboot information (" + size + " bytes) in guest RAM ("
                    + memory.describeSize() + "): raise --mem");
        }
        return high;
    }

    private static long highestEnd(List<Segment> loaded) {
        return loaded.stream().mapToLong(Segment::end).max().orElse(MemoryLayout.HIGH_MEMORY_START);
    }

    /**
     * Kernel pieces and modules go in RAM, below 4 GiB, not in the legacy VGA/ROM hole, and not over
     * the IVT, BDA or EBDA, which the firmware fills after loading.
     */
    private static void checkPlacement(GuestRam memory, String what, long address, long length) throws ImageException {
        checkInRam(memory, what, address, length);
        if (MemoryLayout.overlapsLegacyHole(address, length)) {
            throw new ImageException(what + " at " + Hex.range(address, length)
                    + " overlaps the legacy hole 0xa0000-0xfffff (VGA memory and BIOS ROM), which is not RAM");
        }
        if (MemoryLayout.overlapsBiosDataAreas(address, length)) {
            throw new ImageException(what + " at " + Hex.range(address, length)
                    + " overlaps the BIOS data areas the firmware writes (IVT and BDA 0x0-0x4ff, EBDA 0x9fc00-0x9ffff)");
        }
    }

    private static void checkInRam(GuestRam memory, String what, long address, long length) throws ImageException {
        if (!memory.contains(address, length)) {
            throw new ImageException(what + " at " + Hex.range(address, length) + " is outside guest RAM ("
                    + memory.describeSize() + "): raise --mem or fix the load address");
        }
    }

    private static byte[] readFile(Path file, String what, GuestRam memory) throws ImageException {
        try {
            if (Files.isDirectory(file)) {
                throw new ImageException(what + " is a directory, not a file: " + file);
            }
            long size = Files.size(file);
            if (size > memory.size()) {
                throw new ImageException(what + " " + file.getFileName() + " (" + Hex.size(size) + ") is larger than guest RAM ("
                        + memory.describeSize() + "): raise --mem");
            }
            return Files.readAllBytes(file);
        } catch (NoSuchFileException missing) {
            throw new ImageException(what + " not found: " + file);
        } catch (IOException | SecurityException unreadable) {
            throw new ImageException("cannot read " + what + " " + file + ": " + unreadable.getMessage());
        }
    }
}
