package org.hotvisor.kernel.loader;

import java.io.IOException;
import java.io.InputStream;

/**
 * The firmware that runs as guest code before a Multiboot or ELF kernel (firmware.asm, assembled
 * into the resource firmware.bin): it programs the PICs, the PIT and A20 with OUT instructions,
 * fills the real-mode IVT and the BIOS data area, enters flat protected mode and jumps to the
 * kernel with the Multiboot machine state. The loader places it at 0xF0000, fills its parameter
 * block and starts the vCPU in real mode at its entry.
 */
final class FirmwareImage {
    static final String RESOURCE = "firmware.bin";
    /** Real-mode code segment of the firmware: F000, base 0xF0000. */
    static final int SEGMENT = (int) (MemoryLayout.FIRMWARE_BASE >>> 4);

    // The parameter block at the start of the image (firmware.asm, "The parameter block").
    static final int SIGNATURE = 0;
    static final int VERSION = 4;
    static final int ENTRY_OFFSET = 6;
    static final int KERNEL_ENTRY = 8;
    static final int KERNEL_EAX = 12;
    static final int KERNEL_EBX = 16;
    static final int KERNEL_ESP = 20;
    static final int PARAMETER_BLOCK_SIZE = 24;
    /** "HVFW", little-endian. */
    static final long SIGNATURE_VALUE = 'H' | 'V' << 8 | 'F' << 16 | (long) 'W' << 24;
    static final int VERSION_VALUE = 1;

    /** What the firmware hands the kernel: read back from the parameter block (tests, diagnostics). */
    record HandOver(long entry, long eax, long ebx, long esp) {
        static HandOver read(byte[] ram) {
            int base = (int) MemoryLayout.FIRMWARE_BASE;
            return new HandOver(Hex.u32(ram, base + KERNEL_ENTRY), Hex.u32(ram, base + KERNEL_EAX),
                    Hex.u32(ram, base + KERNEL_EBX), Hex.u32(ram, base + KERNEL_ESP));
        }
    }

    private static volatile byte[] image;

    private FirmwareImage() {
    }

    /** The assembled firmware, checked once: signature, layout version, size, entry inside the image. */
    static byte[] image() throws ImageException {
        byte[] loaded = image;
        if (loaded == null) {
            loaded = readResource();
            image = loaded;
        }
        return loaded;
    }

    private static byte[] readResource() throws ImageException {
        byte[] bytes;
        try (InputStream in = FirmwareImage.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new ImageException("internal error: the firmware resource " + RESOURCE + " is missing from the kernel bundle");
            }
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw new ImageException("internal error: cannot read the firmware resource " + RESOURCE + ": " + e.getMessage());
        }
        if (bytes.length < PARAMETER_BLOCK_SIZE || bytes.length > MemoryLayout.FIRMWARE_MAX_SIZE
                || Hex.u32(bytes, SIGNATURE) != SIGNATURE_VALUE || Hex.u16(bytes, VERSION) != VERSION_VALUE
                || Hex.u16(bytes, ENTRY_OFFSET) < PARAMETER_BLOCK_SIZE || Hex.u16(bytes, ENTRY_OFFSET) >= bytes.length) {
            throw new ImageException("internal error: the firmware resource " + RESOURCE + " is not a version "
                    + VERSION_VALUE + " Hotvisor firmware (" + bytes.length + " bytes)");
        }
        return bytes;
    }

    /**
     * Writes the firmware at 0xF0000 with its parameters and returns the state the vCPU starts in:
     * real mode at F000:entry. The firmware then hands over to {@code entry} with EAX, EBX and ESP.
     */
    static BootState install(GuestRam ram, long entry, long eax, long ebx, long esp, String description) throws ImageException {
        byte[] bytes = image();
        long base = MemoryLayout.FIRMWARE_BASE;
        if (!ram.contains(base, MemoryLayout.FIRMWARE_MAX_SIZE)) {
            throw new ImageException("guest RAM (" + ram.describeSize() + ") does not reach the firmware area at " + Hex.of(base));
        }
        ram.zero(base, MemoryLayout.FIRMWARE_MAX_SIZE);
        ram.copyIn(base, bytes, 0, bytes.length);
        ram.write32(base + KERNEL_ENTRY, entry);
        ram.write32(base + KERNEL_EAX, eax);
        ram.write32(base + KERNEL_EBX, ebx);
        ram.write32(base + KERNEL_ESP, esp);
        int entryOffset = Hex.u16(bytes, ENTRY_OFFSET);
        return new BootState(false, SEGMENT, entryOffset, esp, 0, 0, 0,
                description + "; firmware at " + String.format("%04x:%04x", SEGMENT, entryOffset) + " hands over in protected mode");
    }
}
