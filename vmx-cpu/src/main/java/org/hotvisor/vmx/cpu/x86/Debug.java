package org.hotvisor.vmx.cpu.x86;

/**
 * Debug registers (SDM 3A 17.2-17.3): instruction breakpoints (faults, suppressed by RF), data
 * breakpoints (traps after the access's instruction), and the single-step trap's DR6 bits. While
 * any breakpoint is enabled the core runs one instruction at a time and every data access takes
 * the slow path, where {@link #dataAccess} watches it.
 */
final class Debug {
    // DR7 fields (SDM 3A 17.2.4)
    static final long DR7_ENABLE_BITS = 0xFF;
    static final int DR7_RW_SHIFT = 16, DR7_LEN_SHIFT = 18, DR7_FIELD_BITS = 4;
    static final int RW_EXECUTE = 0, RW_WRITE = 1, RW_IO = 2, RW_READ_WRITE = 3;
    // DR6 bits (SDM 3A 17.2.3)
    static final long DR6_B_MASK = 0xF, DR6_BS = 1 << 14, DR6_FIXED = 0xFFFF0FF0L;

    private final X86Core c;
    /** DR6.Bn bits of data breakpoints hit by the current instruction. */
    long pendingDataHits;

    Debug(X86Core c) {
        this.c = c;
    }

    boolean anyEnabled() {
        return (c.dr7 & DR7_ENABLE_BITS) != 0;
    }

    private boolean enabled(int n) {
        return ((c.dr7 >>> (2 * n)) & 3) != 0;
    }

    private int rw(int n) {
        return (int) (c.dr7 >>> (DR7_RW_SHIFT + DR7_FIELD_BITS * n)) & 3;
    }

    private int length(int n) {
        return switch ((int) (c.dr7 >>> (DR7_LEN_SHIFT + DR7_FIELD_BITS * n)) & 3) {
            case 0 -> 1;
            case 1 -> 2;
            case 2 -> 8;
            default -> 4;
        };
    }

    /** True if a data breakpoint is enabled (then data accesses must take the slow path). */
    boolean dataBreakpointsEnabled() {
        if (!anyEnabled()) {
            return false;
        }
        for (int n = 0; n < 4; n++) {
            if (enabled(n) && rw(n) != RW_EXECUTE) {
                return true;
            }
        }
        return false;
    }

    /**
     * Before an instruction: an enabled execute breakpoint at its linear address is a #DB fault
     * unless RFLAGS.RF is set (SDM 3A 17.3.1.1).
     *
     * @return the DR6.Bn bits that hit, or 0
     */
    long instructionBreakpoints(long linear) {
        if ((c.flagsOther & Alu.RF) != 0) {
            return 0;
        }
        long hits = 0;
        for (int n = 0; n < 4; n++) {
            if (enabled(n) && rw(n) == RW_EXECUTE && (c.dr[n] & addressMask()) == linear) {
                hits |= 1L << n;
            }
        }
        return hits;
    }

    /** A data access at linear [lin, lin+size): records hits for the trap after the instruction. */
    void dataAccess(long lin, int size, boolean write) {
        for (int n = 0; n < 4; n++) {
            if (!enabled(n)) {
                continue;
            }
            int type = rw(n);
            if (type == RW_EXECUTE || type == RW_IO || (type == RW_WRITE && !write)) {
                continue;
            }
            int len = length(n);
            long start = c.dr[n] & addressMask() & ~(long) (len - 1);   // SDM 3A 17.2.5: aligned to the length
            if (lin < start + len && start < lin + size) {
                pendingDataHits |= 1L << n;
            }
        }
    }

    /** Sets DR6 for a #DB: B0-B3 replaced by {@code hits}, BS as given (SDM 3A 17.2.3). */
    void reportInDr6(long hits, boolean singleStep) {
        long dr6 = (c.dr6 & ~DR6_B_MASK) | hits | DR6_FIXED;
        if (singleStep) {
            dr6 |= DR6_BS;
        }
        c.dr6 = dr6 & 0xFFFF_FFFFL;
        c.events.debugBits = hits | (singleStep ? DR6_BS : 0);
    }

    /** Breakpoint addresses are 64-bit linear addresses in IA-32e mode (SDM 3A 17.2.4), else 32-bit. */
    private long addressMask() {
        return c.longMode ? -1L : 0xFFFF_FFFFL;
    }
}
