package org.hotvisor.kernel.console;

import org.hotvisor.api.vmx.LogicalProcessor;
import org.hotvisor.api.vmx.VmcsField;

/** Reads of the guest's code position from the current VMCS, shared by the console and the gdbstub. */
public final class CpuState {
    private CpuState() {}

    /** SDM 3C 25.4.1, Table 25-2: access-rights bit 13 is L (64-bit code), bit 14 D/B (32-bit default). */
    static final int AR_L = 1 << 13, AR_DB = 1 << 14;
    /** SDM 3A 2.2.1: IA32_EFER.LMA (bit 10), IA-32e mode active. */
    static final long EFER_LMA = 1L << 10;
    /** SDM 3A 2.5: CR0.PE. */
    static final long CR0_PE = 1;
    static final long ADDRESS_MASK_32 = 0xFFFF_FFFFL;
    /** SDM 3C 25.4.2: activity states. */
    public static final int ACTIVITY_ACTIVE = 0, ACTIVITY_HLT = 1, ACTIVITY_SHUTDOWN = 2, ACTIVITY_WAIT_FOR_SIPI = 3;

    static boolean longMode(LogicalProcessor c) {
        return (c.vmread(VmcsField.GUEST_CS_AR_BYTES) & AR_L) != 0 && (c.vmread(VmcsField.GUEST_IA32_EFER) & EFER_LMA) != 0;
    }

    /** Whether code at CS runs with 32-bit default operand and address size (CS.D). */
    public static boolean code32(LogicalProcessor c) {
        return (c.vmread(VmcsField.GUEST_CS_AR_BYTES) & AR_DB) != 0;
    }

    /** The guest-linear address of RIP: CS.base + RIP, 32-bit outside IA-32e mode (SDM 3A 3.4). */
    public static long linearRip(LogicalProcessor c) {
        long rip = c.vmread(VmcsField.GUEST_RIP);
        if (longMode(c)) {
            return rip;
        }
        return (c.vmread(VmcsField.GUEST_CS_BASE) + rip) & ADDRESS_MASK_32;
    }

    /** The guest's own view of CR0.PE (the read shadow for host-owned bits, SDM 3C 25.6.6). */
    public static boolean protectedMode(LogicalProcessor c) {
        long mask = c.vmread(VmcsField.CR0_GUEST_HOST_MASK);
        long cr0 = (c.vmread(VmcsField.GUEST_CR0) & ~mask) | (c.vmread(VmcsField.CR0_READ_SHADOW) & mask);
        return (cr0 & CR0_PE) != 0;
    }

    /** "CS:IP" as debuggers print it: 0000:7c2a in 16-bit code, 0008:00100000 in 32-bit code. */
    public static String csIp(LogicalProcessor c) {
        int cs = (int) c.vmread(VmcsField.GUEST_CS_SELECTOR) & 0xFFFF;
        long rip = c.vmread(VmcsField.GUEST_RIP);
        if (longMode(c)) {
            return String.format("%04x:%016x", cs, rip);
        }
        return code32(c) ? String.format("%04x:%08x", cs, rip & ADDRESS_MASK_32) : String.format("%04x:%04x", cs, rip & 0xFFFF);
    }

    public static String activityName(int state) {
        return switch (state) {
            case ACTIVITY_ACTIVE -> "active";
            case ACTIVITY_HLT -> "HLT";
            case ACTIVITY_SHUTDOWN -> "shutdown";
            case ACTIVITY_WAIT_FOR_SIPI -> "wait-for-SIPI";
            default -> "unknown(" + state + ")";
        };
    }
}
