package org.hotvisor.vmx.cpu.vmx;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.hotvisor.api.vmx.VmcsField;

/**
 * The current VMCS, cached in Java while it is current (SDM 3C 25.11.1: the processor may keep
 * VMCS data in processor-specific locations; VMCLEAR makes it consistent in memory). Values are
 * kept zero-extended to their field width in {@link #values}, indexed by {@link VmcsLayout#slot}.
 */
final class Vmcs {

    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

    /** Host-physical address of the VMCS region. */
    final long address;
    final long[] values = new long[VmcsLayout.SLOTS];
    int launchState;

    /**
     * What the next VM entry must check and load again ({@link DirtyFields} bits): set by every
     * change of a field, cleared by a successful VM entry. A VMCS made current by VMPTRLD starts
     * with everything dirty.
     */
    int dirty = DirtyFields.ALL;
    /** The primary processor-based controls when the entry checks last passed. */
    int checkedProc;
    /** Guest RFLAGS when the entry checks last passed (its VM bit is read by the segment checks). */
    long checkedRflags;
    /**
     * The guest-state checks read memory outside the VMCS (the VMCS link-pointer region, or the
     * PDPTEs of a PAE guest without EPT), so they run at every entry.
     */
    boolean guestChecksEveryEntry;

    private Vmcs(long address) {
        this.address = address;
    }

    long get(VmcsField field) {
        return values[VmcsLayout.slot(field)];
    }

    int get32(VmcsField field) {
        return (int) values[VmcsLayout.slot(field)];
    }

    /** Writes a field as VMWRITE does, recording what the change obliges the next entry to redo. */
    void set(VmcsField field, long value) {
        write(VmcsLayout.slot(field), value);
    }

    /** Writes a slot (value truncated to the field's width), marking it dirty if it changed. */
    void write(int slot, long value) {
        long truncated = VmcsLayout.truncate(slot, value);
        if (values[slot] != truncated) {
            values[slot] = truncated;
            dirty |= DirtyFields.of(slot);
        }
    }

    /**
     * Stores a value the VM exit saves from the core (already truncated). The core holds it
     * already, so only the checks that read the field must run again if it changed.
     */
    void save(int slot, long value) {
        if (values[slot] != value) {
            values[slot] = value;
            dirty |= DirtyFields.checksOf(slot);
        }
    }

    /** VMPTRLD: reads the VMCS data from its region (SDM 3C 31.3 VMPTRLD). */
    static Vmcs load(byte[] hostMemory, long address) {
        Vmcs vmcs = new Vmcs(address);
        int base = (int) address;
        if (readInt(hostMemory, base + VmcsLayout.OFFSET_FORMAT_TAG) != VmcsLayout.FORMAT_TAG) {
            // Never initialised by VMCLEAR: the SDM leaves this undefined; start from all-zero, clear.
            vmcs.launchState = VmcsLayout.LAUNCH_STATE_CLEAR;
            return vmcs;
        }
        vmcs.launchState = readInt(hostMemory, base + VmcsLayout.OFFSET_LAUNCH_STATE);
        for (int slot = 0; slot < VmcsLayout.SLOTS; slot++) {
            int offset = VmcsLayout.regionOffset(slot);
            if (offset >= 0) {
                vmcs.values[slot] = readField(hostMemory, base + offset, VmcsLayout.widthOfSlot(slot));
            }
        }
        return vmcs;
    }

    /** Writes the cached data and launch state back to the region (VMCLEAR, or a switch of current VMCS). */
    void store(byte[] hostMemory) {
        int base = (int) address;
        for (int slot = 0; slot < VmcsLayout.SLOTS; slot++) {
            int offset = VmcsLayout.regionOffset(slot);
            if (offset >= 0) {
                writeField(hostMemory, base + offset, VmcsLayout.widthOfSlot(slot), values[slot]);
            }
        }
        writeInt(hostMemory, base + VmcsLayout.OFFSET_FORMAT_TAG, VmcsLayout.FORMAT_TAG);
        writeInt(hostMemory, base + VmcsLayout.OFFSET_LAUNCH_STATE, launchState);
    }

    /**
     * VMCLEAR of a VMCS that is not current: "initialize implementation-specific data in the VMCS
     * region" (SDM 3C 31.3 VMCLEAR) and set its launch state to clear. A region this implementation
     * has not formatted yet gets an all-zero field area; a formatted one keeps its fields.
     */
    static void clearInMemory(byte[] hostMemory, long address) {
        int base = (int) address;
        if (readInt(hostMemory, base + VmcsLayout.OFFSET_FORMAT_TAG) != VmcsLayout.FORMAT_TAG) {
            Arrays.fill(hostMemory, base + VmcsLayout.OFFSET_FIELDS, base + VmcsLayout.FIELDS_END, (byte) 0);
            writeInt(hostMemory, base + VmcsLayout.OFFSET_FORMAT_TAG, VmcsLayout.FORMAT_TAG);
        }
        writeInt(hostMemory, base + VmcsLayout.OFFSET_LAUNCH_STATE, VmcsLayout.LAUNCH_STATE_CLEAR);
    }

    static int readInt(byte[] memory, int offset) {
        return (int) INT.get(memory, offset);
    }

    static void writeInt(byte[] memory, int offset, int value) {
        INT.set(memory, offset, value);
    }

    static long readLong(byte[] memory, int offset) {
        return (long) LONG.get(memory, offset);
    }

    static void writeLong(byte[] memory, int offset, long value) {
        LONG.set(memory, offset, value);
    }

    private static long readField(byte[] memory, int offset, int width) {
        return switch (width) {
            case VmcsLayout.WIDTH_16 -> Short.toUnsignedLong((short) SHORT.get(memory, offset));
            case VmcsLayout.WIDTH_32 -> Integer.toUnsignedLong((int) INT.get(memory, offset));
            default -> (long) LONG.get(memory, offset);
        };
    }

    private static void writeField(byte[] memory, int offset, int width, long value) {
        switch (width) {
            case VmcsLayout.WIDTH_16 -> SHORT.set(memory, offset, (short) value);
            case VmcsLayout.WIDTH_32 -> INT.set(memory, offset, (int) value);
            default -> LONG.set(memory, offset, value);
        }
    }
}
