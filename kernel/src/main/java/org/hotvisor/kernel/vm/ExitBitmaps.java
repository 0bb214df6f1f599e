package org.hotvisor.kernel.vm;

import org.hotvisor.api.vmx.LogicalProcessor;
import org.hotvisor.api.vmx.VmcsField;

/**
 * The I/O bitmaps A/B and the MSR bitmap the kernel allocates in host memory, bit by bit: used by
 * {@code --set io-bitmap=/msr-bitmap=} at set-up ({@link VmcsSettings}) and by the console's
 * {@code vmx:iobitmap} and {@code vmx:msrbitmap}. Each bitmap is found through its VMCS address
 * field (VMREAD), so a user who moved one still edits the one the processor uses. Call on the vCPU
 * thread between an exit and the next entry ({@link Machine#withProcessor}) or while it is parked.
 */
public final class ExitBitmaps {
    private ExitBitmaps() {}

    /** SDM 3C 25.6.4: bitmap A covers ports 0000-7FFF, B 8000-FFFF; one bit per port, 1 = exit. */
    public static final int PORTS_PER_BITMAP = 0x8000;
    public static final int IO_BITMAP_BYTES = PORTS_PER_BITMAP / Byte.SIZE;
    public static final int MAX_PORT = 0xFFFF;

    /**
     * SDM 3C 25.6.9: one 4-KiB MSR bitmap in four 1-KiB parts, one bit per MSR, 1 = exit:
     * read-low (MSRs 0-1FFF), read-high (C0000000-C0001FFF), write-low, write-high. RDMSR/WRMSR of
     * any other MSR always exit.
     */
    public static final int MSR_READ_LOW = 0, MSR_READ_HIGH = 0x400, MSR_WRITE_LOW = 0x800, MSR_WRITE_HIGH = 0xC00;
    public static final int MSR_BITMAP_BYTES = 0x1000;
    public static final long MSR_LOW_FIRST = 0, MSR_LOW_LAST = 0x1FFF;
    public static final long MSR_HIGH_FIRST = 0xC000_0000L, MSR_HIGH_LAST = 0xC000_1FFFL;

    /**
     * MSRs the processor keeps for the guest: no VMCS field holds them and the VM transitions do
     * not switch them (SDM 3C 28.3, 27.4), so a VMM passes them through, as KVM does for the
     * SYSCALL MSRs: STAR, LSTAR, CSTAR, FMASK (C0000081-C0000084), KERNEL_GS_BASE (C0000102) and
     * TSC_AUX (C0000103).
     */
    static final long[][] PASSED_THROUGH_MSRS = {{0xC000_0081L, 0xC000_0084L}, {0xC000_0102L, 0xC000_0103L}};

    /** The kernel's default MSR bitmap: every RDMSR/WRMSR exits except the {@link #PASSED_THROUGH_MSRS}. */
    static void writeDefaultMsrBitmap(LogicalProcessor c, Machine vm) {
        fillMsr(c, vm, true);
        for (long[] range : PASSED_THROUGH_MSRS) {
            setMsrs(c, vm, false, range[0], range[1], false);
            setMsrs(c, vm, true, range[0], range[1], false);
        }
    }

    // ---------------------------------------------------------------- I/O bitmaps

    /** Sets every bit of bitmaps A and B (every port exits) or clears them (none does). */
    public static void fillIo(LogicalProcessor c, Machine vm, boolean exits) {
        fill(vm, c.vmread(VmcsField.IO_BITMAP_A), IO_BITMAP_BYTES, exits);
        fill(vm, c.vmread(VmcsField.IO_BITMAP_B), IO_BITMAP_BYTES, exits);
    }

    /** The bitmap (A or B) that holds a port's bit. */
    public static VmcsField ioBitmapOf(int port) {
        return port < PORTS_PER_BITMAP ? VmcsField.IO_BITMAP_A : VmcsField.IO_BITMAP_B;
    }

    /** The byte offset of a port's bit inside its bitmap; the bit is {@code port & 7}. */
    public static int ioByteOffset(int port) {
        return (port & (PORTS_PER_BITMAP - 1)) >>> 3;
    }

    /** Sets (exits) or clears the bits of ports {@code first..last}; an address outside host memory is an IllegalStateException. */
    public static void setIoPorts(LogicalProcessor c, Machine vm, int first, int last, boolean exits) {
        for (int port = first; port <= last; port++) {
            VmcsField field = ioBitmapOf(port);
            setBit(vm, field, c.vmread(field) + ioByteOffset(port), port & 7, exits);
        }
    }

    /** Whether an access to the port exits under the bitmaps (a bit outside host memory counts as set). */
    public static boolean ioPortExits(LogicalProcessor c, Machine vm, int port) {
        int b = vm.readHostMemory(c.vmread(ioBitmapOf(port)) + ioByteOffset(port));
        return b < 0 || (b & (1 << (port & 7))) != 0;
    }

    // ---------------------------------------------------------------- MSR bitmap

    /** Whether an MSR has a bit in the MSR bitmap (else RDMSR/WRMSR of it always exit). */
    public static boolean msrInBitmap(long msr) {
        return msr >= MSR_LOW_FIRST && msr <= MSR_LOW_LAST || msr >= MSR_HIGH_FIRST && msr <= MSR_HIGH_LAST;
    }

    /** The bit index of an MSR from the start of the bitmap (byte = index / 8), or -1 if it has none. */
    public static int msrBitIndex(boolean write, long msr) {
        int part;
        long offset;
        if (msr >= MSR_LOW_FIRST && msr <= MSR_LOW_LAST) {
            part = write ? MSR_WRITE_LOW : MSR_READ_LOW;
            offset = msr - MSR_LOW_FIRST;
        } else if (msr >= MSR_HIGH_FIRST && msr <= MSR_HIGH_LAST) {
            part = write ? MSR_WRITE_HIGH : MSR_READ_HIGH;
            offset = msr - MSR_HIGH_FIRST;
        } else {
            return -1;
        }
        return part * Byte.SIZE + (int) offset;
    }

    /** Sets every bit of the MSR bitmap (every RDMSR/WRMSR exits) or clears them all. */
    public static void fillMsr(LogicalProcessor c, Machine vm, boolean exits) {
        fill(vm, c.vmread(VmcsField.MSR_BITMAP), MSR_BITMAP_BYTES, exits);
    }

    /** Sets (exits) or clears the read or write bits of MSRs {@code first..last}; each must be in the bitmap. */
    public static void setMsrs(LogicalProcessor c, Machine vm, boolean write, long first, long last, boolean exits) {
        long base = c.vmread(VmcsField.MSR_BITMAP);
        for (long msr = first; msr <= last; msr++) {
            int bit = msrBitIndex(write, msr);
            if (bit < 0) {
                throw new IllegalArgumentException(String.format("MSR 0x%x has no bit in the MSR bitmap", msr));
            }
            setBit(vm, VmcsField.MSR_BITMAP, base + (bit >>> 3), bit & 7, exits);
        }
    }

    /** Whether RDMSR ({@code write} false) or WRMSR of the MSR exits under the bitmap. */
    public static boolean msrExits(LogicalProcessor c, Machine vm, boolean write, long msr) {
        int bit = msrBitIndex(write, msr);
        if (bit < 0) {
            return true;
        }
        int b = vm.readHostMemory(c.vmread(VmcsField.MSR_BITMAP) + (bit >>> 3));
        return b < 0 || (b & (1 << (bit & 7))) != 0;
    }

    // ---------------------------------------------------------------- bytes

    private static void fill(Machine vm, long base, int bytes, boolean ones) {
        for (int i = 0; i < bytes; i++) {
            if (!vm.writeHostMemory(base + i, ones ? 0xFF : 0)) {
                throw new IllegalStateException(String.format("the bitmap at 0x%x is outside the VMM's host memory", base));
            }
        }
    }

    private static void setBit(Machine vm, VmcsField bitmap, long byteAddress, int bit, boolean one) {
        int old = vm.readHostMemory(byteAddress);
        int mask = 1 << bit;
        if (old < 0 || !vm.writeHostMemory(byteAddress, one ? old | mask : old & ~mask)) {
            throw new IllegalStateException(String.format("the %s address 0x%x is outside the VMM's host memory", bitmap, byteAddress));
        }
    }
}
