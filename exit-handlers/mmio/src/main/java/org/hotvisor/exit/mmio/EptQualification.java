package org.hotvisor.exit.mmio;

/**
 * The exit qualification of an EPT violation, decoded without allocating (SDM 3C 28.2.1,
 * Table 28-7 "Exit Qualification for EPT Violations"): bit 0 data read, bit 1 data write,
 * bit 2 instruction fetch, bit 7 guest-linear-address field valid, bit 8 the access was to the
 * final guest-physical address of a translation (clear: to a paging-structure entry).
 */
final class EptQualification {
    private EptQualification() {
    }

    static final long DATA_READ = 1L << 0;
    static final long DATA_WRITE = 1L << 1;
    static final long INSTRUCTION_FETCH = 1L << 2;
    static final long LINEAR_ADDRESS_VALID = 1L << 7;
    static final long FINAL_TRANSLATION = 1L << 8;

    static boolean isWrite(long qualification) {
        return (qualification & DATA_WRITE) != 0;
    }

    static boolean isFetch(long qualification) {
        return (qualification & INSTRUCTION_FETCH) != 0;
    }

    /** Whether the access was the guest's own data access (not a page walk through MMIO). */
    static boolean isFinalTranslation(long qualification) {
        return (qualification & LINEAR_ADDRESS_VALID) == 0 || (qualification & FINAL_TRANSLATION) != 0;
    }

    /** Builds a qualification for a data access, for tests and tools. */
    static long dataAccess(boolean write) {
        return (write ? DATA_WRITE : DATA_READ) | LINEAR_ADDRESS_VALID | FINAL_TRANSLATION;
    }
}
