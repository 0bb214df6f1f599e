package org.hotvisor.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Guest memory. Physical accesses outside RAM read as all-ones and ignore writes; linear
 * accesses translate through the guest's paging and segmentation-free linear space.
 */
@ProviderType
public interface GuestMemory {
    /** The size of guest RAM in bytes; RAM spans guest-physical [0, size). */
    long size();

    int read8(long gpa);
    int read16(long gpa);
    int read32(long gpa);
    long read64(long gpa);
    void write8(long gpa, int value);
    void write16(long gpa, int value);
    void write32(long gpa, int value);
    void write64(long gpa, long value);

    /** Copies guest-physical memory out; bytes outside RAM read as 0xFF. */
    void read(long gpa, byte[] dst, int offset, int length);

    /** Copies into guest-physical memory; bytes outside RAM are dropped. */
    void write(long gpa, byte[] src, int offset, int length);

    /**
     * Translates a guest-linear address through the guest's current paging mode.
     *
     * @return the guest-physical address, or -1 if the page is not present (or not writable, for {@code write})
     */
    long translate(long linear, boolean write);
}
