package org.hotvisor.kernel.vm;

import org.hotvisor.api.GuestMemory;
import org.hotvisor.api.vmx.LogicalProcessor;

/**
 * Guest RAM as an application processor's handlers see it: the same physical memory, but
 * guest-linear addresses translate through that vCPU's own paging ({@link GuestMemory#translate}).
 * vCPU 0 uses {@link GuestRam} directly.
 */
final class VcpuMemory implements GuestMemory {
    private static final long UNMAPPED = -1;

    private final GuestMemory ram;
    private final VirtualCpu vcpu;

    VcpuMemory(GuestMemory ram, VirtualCpu vcpu) {
        this.ram = ram;
        this.vcpu = vcpu;
    }

    @Override
    public long size() {
        return ram.size();
    }

    @Override
    public int read8(long gpa) {
        return ram.read8(gpa);
    }

    @Override
    public int read16(long gpa) {
        return ram.read16(gpa);
    }

    @Override
    public int read32(long gpa) {
        return ram.read32(gpa);
    }

    @Override
    public long read64(long gpa) {
        return ram.read64(gpa);
    }

    @Override
    public void write8(long gpa, int value) {
        ram.write8(gpa, value);
    }

    @Override
    public void write16(long gpa, int value) {
        ram.write16(gpa, value);
    }

    @Override
    public void write32(long gpa, int value) {
        ram.write32(gpa, value);
    }

    @Override
    public void write64(long gpa, long value) {
        ram.write64(gpa, value);
    }

    @Override
    public void read(long gpa, byte[] dst, int offset, int length) {
        ram.read(gpa, dst, offset, length);
    }

    @Override
    public void write(long gpa, byte[] src, int offset, int length) {
        ram.write(gpa, src, offset, length);
    }

    @Override
    public long translate(long linear, boolean write) {
        LogicalProcessor c = vcpu.cpu;
        return c == null ? UNMAPPED : c.translateGuestLinear(linear, write);
    }
}
