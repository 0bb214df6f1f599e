package org.hotvisor.exit.msr;

import static org.hotvisor.exit.msr.Msrs.*;

import java.util.function.Supplier;
import org.hotvisor.api.Register;
import org.hotvisor.api.VmExit;
import org.hotvisor.api.device.VirtualClock;
import org.hotvisor.api.vmx.VmcsField;

/**
 * The architectural MSRs of a vCPU. Values the VMCS holds (EFER, PAT, SYSENTER_*, FS/GS base,
 * the TSC offset) are read and written with VMREAD/VMWRITE; the rest live in the vCPU's state
 * map as {@code long[2]} cells ({value, written}), which survive a hot swap of this bundle because
 * they are JDK types. Immutable: a configuration change builds a new instance.
 */
final class ArchitecturalMsrs {
    // ---- IA32_EFER (SDM Vol. 3A "Extended Feature Enable Register"; Vol. 4 Table 2-2) ----
    static final long EFER_SCE = 1L << 0;
    static final long EFER_LME = 1L << 8;
    static final long EFER_LMA = 1L << 10;
    static final long EFER_NXE = 1L << 11;
    static final long DEFAULT_EFER_WRITABLE = EFER_SCE | EFER_LME | EFER_NXE;
    /** CR0.PG: EFER.LME may change only while paging is off (SDM Vol. 3A "Initializing IA-32e Mode"). */
    static final long CR0_PG = 1L << 31;

    // ---- IA32_APIC_BASE (SDM Vol. 3A "Local APIC Status and Location", IA32_APIC_BASE MSR figure) ----
    static final long APIC_BASE_BSP = 1L << 8;
    static final long APIC_BASE_X2APIC_ENABLE = 1L << 10;
    static final long APIC_BASE_ENABLE = 1L << 11;
    static final long APIC_DEFAULT_BASE = 0xFEE0_0000L;
    /** Bits 7:0 and 9 are reserved; x2APIC enable too, as the CPU has no x2APIC. */
    static final long APIC_BASE_RESERVED_LOW = 0xFFL | 1L << 9 | APIC_BASE_X2APIC_ENABLE;

    // ---- IA32_MISC_ENABLE (SDM Vol. 4 Table 2-2) ----
    static final long MISC_FAST_STRINGS = 1L << 0;
    static final long MISC_PERF_MON_AVAILABLE = 1L << 7;
    static final long MISC_BTS_UNAVAILABLE = 1L << 11;
    static final long MISC_PEBS_UNAVAILABLE = 1L << 12;
    /** Read-only bits: a write keeps their current value. */
    static final long MISC_READ_ONLY = MISC_PERF_MON_AVAILABLE | MISC_BTS_UNAVAILABLE | MISC_PEBS_UNAVAILABLE;
    static final long MISC_ENABLE_RESET = MISC_FAST_STRINGS | MISC_BTS_UNAVAILABLE | MISC_PEBS_UNAVAILABLE;

    // ---- MTRRs (SDM Vol. 3A "Memory Type Range Registers (MTRRs)") ----
    /** MTRRcap: VCNT = 8 (bits 7:0), FIX (bit 8), WC (bit 10); no SMRR. Read-only. */
    static final long MTRRCAP_FIX = 1L << 8;
    static final long MTRRCAP_WC = 1L << 10;
    static final long MTRRCAP_VALUE = VARIABLE_MTRR_COUNT | MTRRCAP_FIX | MTRRCAP_WC;
    static final long MTRR_DEF_TYPE_MASK = 0xFF;
    static final long MTRR_DEF_FIXED_ENABLE = 1L << 10;
    static final long MTRR_DEF_ENABLE = 1L << 11;
    static final long MTRR_PHYSMASK_VALID = 1L << 11;
    static final long MTRR_PHYSBASE_RESERVED_LOW = 0xF00L; // bits 11:8
    static final long MTRR_PHYSMASK_RESERVED_LOW = 0x7FFL; // bits 10:0
    static final long PAGE_FRAME_LOW = 0xFFF;

    // ---- Memory types (SDM Vol. 3A "Methods of Caching Available"; PAT: "Page Attribute Table (PAT)") ----
    static final int TYPE_UC = 0, TYPE_WC = 1, TYPE_WT = 4, TYPE_WP = 5, TYPE_WB = 6, TYPE_UC_MINUS = 7;
    /** Power-up IA32_PAT: WB, WT, UC-, UC, WB, WT, UC-, UC (SDM Vol. 3A "Programming the PAT"). */
    static final long PAT_RESET = 0x0007_0406_0007_0406L;

    // ---- Machine check (SDM Vol. 3B "Machine-Check Global Control MSRs") ----
    /** MCG_CAP: no banks, no extended features. Read-only. */
    static final long MCG_CAP_VALUE = 0;
    /** MCG_STATUS: RIPV, EIPV, MCIP; LMCE_S (bit 3) needs LMCE, which MCG_CAP does not offer. */
    static final long MCG_STATUS_WRITABLE = 0x7;

    /** IA32_FMASK bits 63:32 are reserved. */
    static final long FMASK_RESERVED = 0xFFFF_FFFF_0000_0000L;

    private static final int CELL_VALUE = 0;
    private static final int CELL_WRITTEN = 1;
    private static final String STATE_PREFIX = "org.hotvisor.exit.msr/";
    private static final String[] STATE_KEYS = new String[STORED.length];
    private static final Supplier<long[]> NEW_CELL = () -> new long[2];

    static {
        for (int i = 0; i < STORED.length; i++) {
            STATE_KEYS[i] = STATE_PREFIX + "0x" + Integer.toHexString(STORED[i]);
        }
    }

    private final long physicalAddressMask; // bits below MAXPHYADDR
    private final long eferWritable;

    ArchitecturalMsrs(int physicalAddressBits, long eferWritable) {
        this.physicalAddressMask = (1L << physicalAddressBits) - 1;
        this.eferWritable = eferWritable & ~EFER_LMA;
    }

    /** The vCPU state key of a stored MSR, e.g. "org.hotvisor.exit.msr/0x277". */
    static String stateKey(int index) {
        int slot = slot(index);
        return slot < 0 ? null : STATE_KEYS[slot];
    }

    boolean implemented(int index) {
        return switch (index) {
            case IA32_TIME_STAMP_COUNTER, IA32_MTRRCAP, IA32_SYSENTER_CS, IA32_SYSENTER_ESP, IA32_SYSENTER_EIP,
                    IA32_MCG_CAP, IA32_PAT, IA32_EFER, IA32_FS_BASE, IA32_GS_BASE -> true;
            default -> slot(index) >= 0;
        };
    }

    // ---- RDMSR ----

    long read(VmExit exit, VirtualClock clock, int index) {
        return switch (index) {
            // SDM 3C "Time-Stamp Counter Offset and Multiplier": the guest sees TSC + offset; the clock is the TSC at 1 GHz.
            case IA32_TIME_STAMP_COUNTER -> clock.nanos() + vmread(exit, VmcsField.TSC_OFFSET);
            case IA32_MTRRCAP -> MTRRCAP_VALUE;
            case IA32_MCG_CAP -> MCG_CAP_VALUE;
            case IA32_SYSENTER_CS -> vmread(exit, VmcsField.GUEST_SYSENTER_CS) & 0xFFFF_FFFFL;
            case IA32_SYSENTER_ESP -> vmread(exit, VmcsField.GUEST_SYSENTER_ESP);
            case IA32_SYSENTER_EIP -> vmread(exit, VmcsField.GUEST_SYSENTER_EIP);
            case IA32_PAT -> vmread(exit, VmcsField.GUEST_IA32_PAT);
            case IA32_EFER -> vmread(exit, VmcsField.GUEST_IA32_EFER);
            case IA32_FS_BASE -> vmread(exit, VmcsField.GUEST_FS_BASE);
            case IA32_GS_BASE -> vmread(exit, VmcsField.GUEST_GS_BASE);
            default -> stored(exit, index);
        };
    }

    // ---- WRMSR: returns false for #GP(0) ----

    boolean write(VmExit exit, VirtualClock clock, int index, long value) {
        switch (index) {
            case IA32_TIME_STAMP_COUNTER -> {
                // SDM Vol. 3B 17.17.3 "Time-Stamp Counter Adjustment": a write to the TSC adds the same delta to IA32_TSC_ADJUST.
                long oldOffset = vmread(exit, VmcsField.TSC_OFFSET);
                long newOffset = value - clock.nanos();
                vmwrite(exit, VmcsField.TSC_OFFSET, newOffset);
                store(exit, IA32_TSC_ADJUST, stored(exit, IA32_TSC_ADJUST) + (newOffset - oldOffset));
                return true;
            }
            case IA32_TSC_ADJUST -> {
                // ... and a write to IA32_TSC_ADJUST adds its delta to the TSC.
                long delta = value - stored(exit, IA32_TSC_ADJUST);
                vmwrite(exit, VmcsField.TSC_OFFSET, vmread(exit, VmcsField.TSC_OFFSET) + delta);
                store(exit, IA32_TSC_ADJUST, value);
                return true;
            }
            case IA32_MTRRCAP, IA32_MCG_CAP -> {
                return false; // read-only
            }
            case IA32_APIC_BASE -> {
                if ((value & (APIC_BASE_RESERVED_LOW | ~physicalAddressMask)) != 0) {
                    return false;
                }
                store(exit, index, value);
                return true;
            }
            case IA32_EFER -> {
                return writeEfer(exit, value);
            }
            case IA32_SYSENTER_CS -> {
                vmwrite(exit, VmcsField.GUEST_SYSENTER_CS, value & 0xFFFF_FFFFL); // a 32-bit VMCS field
                return true;
            }
            case IA32_SYSENTER_ESP, IA32_SYSENTER_EIP, IA32_FS_BASE, IA32_GS_BASE, IA32_KERNEL_GS_BASE, IA32_LSTAR,
                    IA32_CSTAR -> {
                // SDM Vol. 2B WRMSR: #GP(0) for a non-canonical address in these MSRs; IA32_CSTAR too, as
                // KVM checks it (kvm-unit-tests' msr test expects the #GP on Intel and AMD alike).
                if (!canonical(value)) {
                    return false;
                }
                switch (index) {
                    case IA32_SYSENTER_ESP -> vmwrite(exit, VmcsField.GUEST_SYSENTER_ESP, value);
                    case IA32_SYSENTER_EIP -> vmwrite(exit, VmcsField.GUEST_SYSENTER_EIP, value);
                    case IA32_FS_BASE -> vmwrite(exit, VmcsField.GUEST_FS_BASE, value);
                    case IA32_GS_BASE -> vmwrite(exit, VmcsField.GUEST_GS_BASE, value);
                    default -> store(exit, index, value);
                }
                return true;
            }
            case IA32_FMASK -> {
                if ((value & FMASK_RESERVED) != 0) {
                    return false;
                }
                store(exit, index, value);
                return true;
            }
            case IA32_PAT -> {
                if (!validPat(value)) {
                    return false;
                }
                vmwrite(exit, VmcsField.GUEST_IA32_PAT, value);
                return true;
            }
            case IA32_MISC_ENABLE -> {
                long old = stored(exit, index);
                store(exit, index, (value & ~MISC_READ_ONLY) | (old & MISC_READ_ONLY));
                return true;
            }
            case IA32_MCG_STATUS -> {
                if ((value & ~MCG_STATUS_WRITABLE) != 0) {
                    return false;
                }
                store(exit, index, value);
                return true;
            }
            case IA32_MTRR_DEF_TYPE -> {
                if ((value & ~(MTRR_DEF_TYPE_MASK | MTRR_DEF_FIXED_ENABLE | MTRR_DEF_ENABLE)) != 0
                        || !validMtrrType((int) (value & MTRR_DEF_TYPE_MASK))) {
                    return false;
                }
                store(exit, index, value);
                return true;
            }
            default -> {
                if (isFixedRangeMtrr(index)) {
                    for (int shift = 0; shift < 64; shift += 8) {
                        if (!validMtrrType((int) (value >>> shift) & 0xFF)) {
                            return false;
                        }
                    }
                } else if (isVariableMtrr(index)) {
                    boolean base = ((index - IA32_MTRR_PHYSBASE0) & 1) == 0;
                    long reserved = (base ? MTRR_PHYSBASE_RESERVED_LOW : MTRR_PHYSMASK_RESERVED_LOW) | ~physicalAddressMask;
                    if ((value & reserved) != 0 || (base && !validMtrrType((int) (value & 0xFF)))) {
                        return false;
                    }
                }
                // STAR: any 64-bit value.
                store(exit, index, value);
                return true;
            }
        }
    }

    /**
     * IA32_EFER: reserved bits #GP; LME may not change while CR0.PG = 1 (SDM Vol. 3A "Initializing IA-32e Mode"); LMA
     * is read-only, set by the processor, so a written LMA is ignored and the current one kept (as KVM does).
     */
    private boolean writeEfer(VmExit exit, long value) {
        long old = vmread(exit, VmcsField.GUEST_IA32_EFER);
        if ((value & ~(eferWritable | EFER_LMA)) != 0) {
            return false;
        }
        boolean paging = (exit.registers().get(Register.CR0) & CR0_PG) != 0;
        if (paging && ((value ^ old) & EFER_LME) != 0) {
            return false;
        }
        vmwrite(exit, VmcsField.GUEST_IA32_EFER, (value & ~EFER_LMA) | (old & EFER_LMA));
        return true;
    }

    /** 48-bit linear addresses: bits 63:47 all equal (SDM Vol. 1 3.3.7.1). */
    static boolean canonical(long address) {
        return (address << 16 >> 16) == address;
    }

    static boolean validMtrrType(int type) {
        return type == TYPE_UC || type == TYPE_WC || type == TYPE_WT || type == TYPE_WP || type == TYPE_WB;
    }

    /** Each PAT entry: bits 2:0 a valid type (2 and 3 are reserved), bits 7:3 reserved; else #GP (SDM Vol. 3A "IA32_PAT MSR"). */
    static boolean validPat(long value) {
        for (int shift = 0; shift < 64; shift += 8) {
            int entry = (int) (value >>> shift) & 0xFF;
            if (entry > TYPE_UC_MINUS || entry == 2 || entry == 3) {
                return false;
            }
        }
        return true;
    }

    // ---- per-vCPU cells ----

    private static long resetValue(int index, int vcpuIndex) {
        return switch (index) {
            case IA32_APIC_BASE -> APIC_DEFAULT_BASE | APIC_BASE_ENABLE | (vcpuIndex == 0 ? APIC_BASE_BSP : 0);
            case IA32_MISC_ENABLE -> MISC_ENABLE_RESET;
            default -> 0;
        };
    }

    private static long[] cell(VmExit exit, int index) {
        return exit.vcpu().state(STATE_KEYS[slot(index)], NEW_CELL);
    }

    private static long stored(VmExit exit, int index) {
        long[] c = cell(exit, index);
        return c[CELL_WRITTEN] != 0 ? c[CELL_VALUE] : resetValue(index, exit.vcpu().index());
    }

    private static void store(VmExit exit, int index, long value) {
        long[] c = cell(exit, index);
        c[CELL_VALUE] = value;
        c[CELL_WRITTEN] = 1;
    }

    private static long vmread(VmExit exit, VmcsField field) {
        return exit.vmread(field.encoding());
    }

    private static void vmwrite(VmExit exit, VmcsField field, long value) {
        exit.vmwrite(field.encoding(), value);
    }
}
