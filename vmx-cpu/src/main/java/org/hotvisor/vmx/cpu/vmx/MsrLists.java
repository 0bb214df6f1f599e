package org.hotvisor.vmx.cpu.vmx;

import org.hotvisor.vmx.cpu.x86.X86Core;

/**
 * The VM-entry MSR-load, VM-exit MSR-store and VM-exit MSR-load lists (SDM 3C 25.7.2, 25.8.2;
 * entry format Table 25-15: bits 31:0 MSR index, 63:32 reserved, 127:64 data).
 *
 * <p>The guest MSRs this processor holds are the ones in the core: IA32_TIME_STAMP_COUNTER,
 * IA32_SYSENTER_CS/ESP/EIP, IA32_DEBUGCTL, IA32_PAT, IA32_EFER and (store only) IA32_FS_BASE /
 * IA32_GS_BASE. Loading any other MSR fails as WRMSR would (#GP), which SDM 3C 27.4 makes a
 * VM-entry failure (exit reason 34). Host MSRs are not modelled (control returns to the Java
 * caller); the VM-exit MSR-load list is only checked (SDM 3C 28.6) and a bad entry is a VMX abort.
 */
final class MsrLists {

    static final int IA32_TIME_STAMP_COUNTER = 0x10;
    static final int IA32_SMM_MONITOR_CTL = 0x9B;
    static final int IA32_SMBASE = 0x9E;
    static final int IA32_SYSENTER_CS = 0x174;
    static final int IA32_SYSENTER_ESP = 0x175;
    static final int IA32_SYSENTER_EIP = 0x176;
    static final int IA32_DEBUGCTL = 0x1D9;
    static final int IA32_PAT = 0x277;
    static final int IA32_EFER = 0xC000_0080;
    static final int IA32_FS_BASE = 0xC000_0100;
    static final int IA32_GS_BASE = 0xC000_0101;
    static final int X2APIC_RANGE_SHIFT = 8;
    static final int X2APIC_RANGE = 0x8;

    private static final int ENTRY_SIZE = 16;
    private static final int DATA_OFFSET = 8;
    private static final int RESERVED_OFFSET = 4;
    private static final long SYSENTER_CS_MASK = 0xFFFF_FFFFL;
    private static final int FS = 4;
    private static final int GS = 5;

    private MsrLists() {
    }

    /** Entries that no MSR list may name (SDM 3C 27.4 / 28.4 / 28.6). */
    private static boolean forbiddenInAnyList(byte[] memory, int entry, int index) {
        return Vmcs.readInt(memory, entry + RESERVED_OFFSET) != 0
                || index == IA32_SMBASE
                || index >>> X2APIC_RANGE_SHIFT == X2APIC_RANGE; // x2APIC MSRs (checked whether or not x2APIC mode is on)
    }

    /**
     * SDM 3C 27.4: loads the VM-entry MSR-load list into the core.
     *
     * @return 0 on success, else the 1-based number of the failing entry (the exit qualification)
     */
    static int loadGuestMsrs(X86Core core, byte[] memory, long address, int count) {
        for (int i = 0; i < count; i++) {
            int entry = (int) address + i * ENTRY_SIZE;
            int index = Vmcs.readInt(memory, entry);
            long value = Vmcs.readLong(memory, entry + DATA_OFFSET);
            if (forbiddenInAnyList(memory, entry, index) || index == IA32_FS_BASE || index == IA32_GS_BASE
                    || index == IA32_SMM_MONITOR_CTL || !writeGuestMsr(core, index, value)) {
                return i + 1;
            }
        }
        return 0;
    }

    private static boolean writeGuestMsr(X86Core core, int index, long value) {
        switch (index) {
            case IA32_TIME_STAMP_COUNTER -> core.tsc = value;
            case IA32_SYSENTER_CS -> core.sysenterCs = value & SYSENTER_CS_MASK;
            case IA32_SYSENTER_ESP, IA32_SYSENTER_EIP -> {
                if (!EntryChecks.canonical(value)) {
                    return false;
                }
                if (index == IA32_SYSENTER_ESP) {
                    core.sysenterEsp = value;
                } else {
                    core.sysenterEip = value;
                }
            }
            case IA32_DEBUGCTL -> {
                if ((value & EntryChecks.DEBUGCTL_RESERVED) != 0) {
                    return false;
                }
                core.debugCtl = value;
            }
            case IA32_PAT -> {
                if (!EntryChecks.patValid(value)) {
                    return false;
                }
                core.pat = value;
            }
            case IA32_EFER -> {
                if ((value & EntryChecks.EFER_RESERVED) != 0) {
                    return false;
                }
                core.efer = value;
            }
            default -> {
                return false;
            }
        }
        return true;
    }

    /**
     * SDM 3C 28.4: stores guest MSRs into the VM-exit MSR-store list.
     *
     * @return true, or false for a failure that is a VMX abort (indicator 1)
     */
    static boolean storeGuestMsrs(X86Core core, byte[] memory, long address, int count) {
        for (int i = 0; i < count; i++) {
            int entry = (int) address + i * ENTRY_SIZE;
            int index = Vmcs.readInt(memory, entry);
            if (forbiddenInAnyList(memory, entry, index)) {
                return false;
            }
            long value;
            switch (index) {
                case IA32_TIME_STAMP_COUNTER -> value = core.tsc;
                case IA32_SYSENTER_CS -> value = core.sysenterCs;
                case IA32_SYSENTER_ESP -> value = core.sysenterEsp;
                case IA32_SYSENTER_EIP -> value = core.sysenterEip;
                case IA32_DEBUGCTL -> value = core.debugCtl;
                case IA32_PAT -> value = core.pat;
                case IA32_EFER -> value = core.efer;
                case IA32_FS_BASE -> value = core.segments[FS].base;
                case IA32_GS_BASE -> value = core.segments[GS].base;
                default -> {
                    return false;
                }
            }
            Vmcs.writeLong(memory, entry + DATA_OFFSET, value);
        }
        return true;
    }

    /**
     * SDM 3C 28.6: checks the VM-exit MSR-load list (host MSRs are not modelled, so nothing is loaded).
     *
     * @return true, or false for a failure that is a VMX abort (indicator 4)
     */
    static boolean checkHostMsrs(byte[] memory, long address, int count) {
        for (int i = 0; i < count; i++) {
            int entry = (int) address + i * ENTRY_SIZE;
            int index = Vmcs.readInt(memory, entry);
            if (forbiddenInAnyList(memory, entry, index) || index == IA32_FS_BASE || index == IA32_GS_BASE
                    || index == IA32_SMM_MONITOR_CTL) {
                return false;
            }
        }
        return true;
    }
}
