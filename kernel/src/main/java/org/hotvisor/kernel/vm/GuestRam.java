package org.hotvisor.kernel.vm;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.function.LongBinaryOperator;
import org.hotvisor.api.GuestMemory;

/**
 * Guest-physical memory as the VMM sees it: RAM at [0, size) backed by one byte array that the
 * processor also uses as its flat EPT map. Accesses outside RAM read all-ones and drop writes.
 * Writes made here (by the loader, handlers, devices) tell the processor to drop decoded code.
 */
public final class GuestRam implements GuestMemory {
    private static final VarHandle I16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle I32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle I64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private final byte[] ram;
    /** (address, length) → drop decoded code there; set once the processor exists. */
    private volatile CodeInvalidator invalidator = (a, l) -> { };
    private volatile LongBinaryOperator translator = (linear, write) -> linear;

    /** Drops decoded code in a guest-physical range. */
    public interface CodeInvalidator {
        void invalidate(long address, int length);
    }

    public GuestRam(int size) {
        this(new byte[size]);
    }

    /** Over a zeroed array of the RAM's size (one the launcher allocated while Felix started). */
    public GuestRam(byte[] zeroed) {
        this.ram = zeroed;
    }

    public byte[] array() {
        return ram;
    }

    public void invalidator(CodeInvalidator i) {
        invalidator = i;
    }

    /** The guest-linear translation, (linear, write ? 1 : 0) → physical or -1. */
    public void translator(LongBinaryOperator t) {
        translator = t;
    }

    private boolean inRam(long gpa, int len) {
        return gpa >= 0 && gpa <= ram.length - len;
    }

    @Override
    public long size() {
        return ram.length;
    }

    @Override
    public int read8(long gpa) {
        return inRam(gpa, 1) ? ram[(int) gpa] & 0xFF : 0xFF;
    }

    @Override
    public int read16(long gpa) {
        return inRam(gpa, 2) ? (short) I16.get(ram, (int) gpa) & 0xFFFF : 0xFFFF;
    }

    @Override
    public int read32(long gpa) {
        return inRam(gpa, 4) ? (int) I32.get(ram, (int) gpa) : -1;
    }

    @Override
    public long read64(long gpa) {
        return inRam(gpa, 8) ? (long) I64.get(ram, (int) gpa) : -1L;
    }

    @Override
    public void write8(long gpa, int value) {
        if (inRam(gpa, 1)) {
            ram[(int) gpa] = (byte) value;
            invalidator.invalidate(gpa, 1);
        }
    }

    @Override
    public void write16(long gpa, int value) {
        if (inRam(gpa, 2)) {
            I16.set(ram, (int) gpa, (short) value);
            invalidator.invalidate(gpa, 2);
        }
    }

    @Override
    public void write32(long gpa, int value) {
        if (inRam(gpa, 4)) {
            I32.set(ram, (int) gpa, value);
            invalidator.invalidate(gpa, 4);
        }
    }

    @Override
    public void write64(long gpa, long value) {
        if (inRam(gpa, 8)) {
            I64.set(ram, (int) gpa, value);
            invalidator.invalidate(gpa, 8);
        }
    }

    @Override
    public void read(long gpa, byte[] dst, int offset, int length) {
        for (int i = 0; i < length; i++) {
            dst[offset + i] = (byte) read8(gpa + i);
        }
    }

    @Override
    public void write(long gpa, byte[] src, int offset, int length) {
        long start = Math.max(0, gpa);
        long end = Math.min(ram.length, gpa + length);
        if (start < end) {
            System.arraycopy(src, offset + (int) (start - gpa), ram, (int) start, (int) (end - start));
            invalidator.invalidate(start, (int) (end - start));
        }
    }

    @Override
    public long translate(long linear, boolean write) {
        return translator.applyAsLong(linear, write ? 1 : 0);
    }

    /** Zeroes RAM (reset, reload). */
    public void clear() {
        java.util.Arrays.fill(ram, (byte) 0);
        invalidator.invalidate(0, ram.length);
    }
}
