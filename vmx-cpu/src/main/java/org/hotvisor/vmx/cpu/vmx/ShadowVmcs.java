package org.hotvisor.vmx.cpu.vmx;

import org.hotvisor.api.vmx.VmInstructionError;
import org.hotvisor.vmx.cpu.x86.VmcsShadowAccess;

/**
 * The shadow VMCS as guest VMREAD/VMWRITE see it in VMX non-root operation (SDM 3C 25.10, 31.3):
 * the region the current VMCS's link pointer references, read and written in place in host
 * memory in the {@link VmcsLayout} format. VM entry checked that the pointer is 4-KiB aligned in
 * host memory, names a region with this revision identifier and the shadow-VMCS indicator, and
 * is not the current VMCS (27.3.1.5), so the region is not cached in a {@link Vmcs} meanwhile.
 *
 * <p>VMfailValid records its error number in the VM-instruction error field of the shadow VMCS,
 * the VMCS the instruction operated on (the SDM's VMfailValid "sets the VM-instruction error
 * field" without naming the VMCS in non-root operation; this is Hotvisor's reading). A region
 * VMCLEAR never formatted reads as all zeros and is formatted by its first VMWRITE.
 */
final class ShadowVmcs implements VmcsShadowAccess {
    private static final long NO_LINK = -1L;
    private static final long LOW_32 = 0xFFFF_FFFFL;
    private static final int LOW_16 = 0xFFFF;

    private final VmxLogicalProcessor processor;
    private final byte[] hostMemory;
    private int lastStatus;

    ShadowVmcs(VmxLogicalProcessor processor, byte[] hostMemory) {
        this.processor = processor;
        this.hostMemory = hostMemory;
    }

    /** The link pointer of the current VMCS, or -1 (none, or unusable). */
    private long link() {
        Vmcs v = processor.currentVmcs();
        if (v == null) {
            return NO_LINK;
        }
        long link = v.values[Slot.VMCS_LINK_POINTER];
        if (link < 0 || (link & EntryChecks.PAGE_MASK) != 0 || link > hostMemory.length - VmcsLayout.REGION_SIZE) {
            return NO_LINK;
        }
        return link;
    }

    @Override
    public boolean linkPointerValid() {
        return link() != NO_LINK;
    }

    @Override
    public long read(int encoding) {
        long link = link();
        if (link == NO_LINK) {
            lastStatus = FAIL_INVALID;
            return 0;
        }
        int slot = VmcsLayout.slot(encoding);
        if (slot < 0) {
            lastStatus = fail(link, VmInstructionError.UNSUPPORTED_VMCS_COMPONENT);
            return 0;
        }
        lastStatus = SUCCEED;
        if (!formatted(link)) {
            return 0;
        }
        long value = readField(link, slot);
        return VmcsLayout.isHighAccess(encoding) ? value >>> 32 : value;
    }

    @Override
    public int lastStatus() {
        return lastStatus;
    }

    @Override
    public int write(int encoding, long value) {
        long link = link();
        if (link == NO_LINK) {
            return FAIL_INVALID;
        }
        int slot = VmcsLayout.slot(encoding);
        if (slot < 0) {
            return fail(link, VmInstructionError.UNSUPPORTED_VMCS_COMPONENT);
        }
        if (VmcsLayout.typeOfSlot(slot) == VmcsLayout.TYPE_EXIT_INFORMATION
                && !VmxCapabilities.VMWRITE_EXIT_INFORMATION_ALLOWED) {
            return fail(link, VmInstructionError.VMWRITE_READ_ONLY_COMPONENT);
        }
        format(link);
        long updated = VmcsLayout.isHighAccess(encoding)
                ? (readField(link, slot) & LOW_32) | value << 32
                : VmcsLayout.truncate(slot, value);
        writeField(link, slot, updated);
        return SUCCEED;
    }

    private int fail(long link, VmInstructionError error) {
        format(link);
        writeField(link, Slot.VM_INSTRUCTION_ERROR, error.number());
        return error.number();
    }

    private boolean formatted(long link) {
        return Vmcs.readInt(hostMemory, (int) link + VmcsLayout.OFFSET_FORMAT_TAG) == VmcsLayout.FORMAT_TAG;
    }

    /** What VMCLEAR would have done to a region it never saw: zero fields, launch state clear. */
    private void format(long link) {
        if (!formatted(link)) {
            Vmcs.clearInMemory(hostMemory, link);
        }
    }

    private long readField(long link, int slot) {
        int at = (int) link + VmcsLayout.regionOffset(slot);
        return switch (VmcsLayout.widthOfSlot(slot)) {
            case VmcsLayout.WIDTH_16 -> Vmcs.readInt(hostMemory, at) & LOW_16;
            case VmcsLayout.WIDTH_32 -> Vmcs.readInt(hostMemory, at) & LOW_32;
            default -> Vmcs.readLong(hostMemory, at);
        };
    }

    private void writeField(long link, int slot, long value) {
        int at = (int) link + VmcsLayout.regionOffset(slot);
        switch (VmcsLayout.widthOfSlot(slot)) {
            case VmcsLayout.WIDTH_16 -> Vmcs.writeInt(hostMemory, at,
                    (Vmcs.readInt(hostMemory, at) & ~LOW_16) | (int) (value & LOW_16));
            case VmcsLayout.WIDTH_32 -> Vmcs.writeInt(hostMemory, at, (int) value);
            default -> Vmcs.writeLong(hostMemory, at, value);
        }
    }
}
