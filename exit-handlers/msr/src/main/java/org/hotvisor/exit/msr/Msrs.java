package org.hotvisor.exit.msr;

/** MSR indices (SDM Vol. 4, "Model-Specific Registers", Table 2-2 architectural MSRs). */
final class Msrs {
    private Msrs() {
    }

    static final int IA32_TIME_STAMP_COUNTER = 0x10;
    static final int IA32_APIC_BASE = 0x1B;
    static final int IA32_TSC_ADJUST = 0x3B;
    static final int IA32_MTRRCAP = 0xFE;
    static final int IA32_SYSENTER_CS = 0x174;
    static final int IA32_SYSENTER_ESP = 0x175;
    static final int IA32_SYSENTER_EIP = 0x176;
    static final int IA32_MCG_CAP = 0x179;
    static final int IA32_MCG_STATUS = 0x17A;
    static final int IA32_MISC_ENABLE = 0x1A0;
    static final int IA32_MTRR_PHYSBASE0 = 0x200;
    static final int IA32_MTRR_PHYSMASK7 = 0x20F;
    static final int IA32_MTRR_FIX64K_00000 = 0x250;
    static final int IA32_MTRR_FIX16K_80000 = 0x258;
    static final int IA32_MTRR_FIX16K_A0000 = 0x259;
    static final int IA32_MTRR_FIX4K_C0000 = 0x268;
    static final int IA32_MTRR_FIX4K_F8000 = 0x26F;
    static final int IA32_PAT = 0x277;
    static final int IA32_MTRR_DEF_TYPE = 0x2FF;
    static final int IA32_EFER = 0xC000_0080;
    static final int IA32_STAR = 0xC000_0081;
    static final int IA32_LSTAR = 0xC000_0082;
    static final int IA32_CSTAR = 0xC000_0083;
    static final int IA32_FMASK = 0xC000_0084;
    static final int IA32_FS_BASE = 0xC000_0100;
    static final int IA32_GS_BASE = 0xC000_0101;
    static final int IA32_KERNEL_GS_BASE = 0xC000_0102;

    /** Variable-range MTRR pairs (MTRRcap.VCNT). */
    static final int VARIABLE_MTRR_COUNT = 8;

    /** MSRs whose values this handler keeps per vCPU (the rest live in the VMCS or are constant). Sorted. */
    static final int[] STORED = sortedStored();

    private static int[] sortedStored() {
        int[] fixed = {IA32_MTRR_FIX64K_00000, IA32_MTRR_FIX16K_80000, IA32_MTRR_FIX16K_A0000};
        int n = 0;
        int[] all = new int[64];
        all[n++] = IA32_APIC_BASE;
        all[n++] = IA32_TSC_ADJUST;
        all[n++] = IA32_MCG_STATUS;
        all[n++] = IA32_MISC_ENABLE;
        for (int i = IA32_MTRR_PHYSBASE0; i <= IA32_MTRR_PHYSMASK7; i++) {
            all[n++] = i;
        }
        for (int f : fixed) {
            all[n++] = f;
        }
        for (int i = IA32_MTRR_FIX4K_C0000; i <= IA32_MTRR_FIX4K_F8000; i++) {
            all[n++] = i;
        }
        all[n++] = IA32_MTRR_DEF_TYPE;
        all[n++] = IA32_STAR;
        all[n++] = IA32_LSTAR;
        all[n++] = IA32_CSTAR;
        all[n++] = IA32_FMASK;
        all[n++] = IA32_KERNEL_GS_BASE;
        int[] out = java.util.Arrays.copyOf(all, n);
        // Sort as unsigned so 0xC00000xx come last.
        for (int i = 0; i < out.length; i++) {
            out[i] ^= Integer.MIN_VALUE;
        }
        java.util.Arrays.sort(out);
        for (int i = 0; i < out.length; i++) {
            out[i] ^= Integer.MIN_VALUE;
        }
        return out;
    }

    /** The slot of a stored MSR in {@link #STORED}, or -1. Allocation-free binary search on unsigned order. */
    static int slot(int index) {
        int lo = 0;
        int hi = STORED.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int c = Integer.compareUnsigned(STORED[mid], index);
            if (c == 0) {
                return mid;
            }
            if (c < 0) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return -1;
    }

    static boolean isFixedRangeMtrr(int index) {
        return index == IA32_MTRR_FIX64K_00000 || index == IA32_MTRR_FIX16K_80000 || index == IA32_MTRR_FIX16K_A0000
                || (index >= IA32_MTRR_FIX4K_C0000 && index <= IA32_MTRR_FIX4K_F8000);
    }

    static boolean isVariableMtrr(int index) {
        return index >= IA32_MTRR_PHYSBASE0 && index <= IA32_MTRR_PHYSMASK7;
    }
}
