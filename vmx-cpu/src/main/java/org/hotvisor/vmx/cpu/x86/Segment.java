package org.hotvisor.vmx.cpu.x86;

/**
 * A segment register and its descriptor cache, access rights in VMCS format
 * (SDM 3C 25.4.1, Table 25-2; bit 16 = unusable).
 *
 * <p>Access-rights layout: bits 3:0 type, bit 4 S (code/data), bits 6:5 DPL, bit 7 P,
 * bit 12 AVL, bit 13 L, bit 14 D/B, bit 15 G, bit 16 unusable.
 */
public final class Segment {
    /** Bits 3:0: segment type. */
    public static final int AR_TYPE_MASK = 0xF;
    /** Type bit 0: accessed. */
    public static final int AR_ACCESSED = 1;
    /** Type bit 1: writable (data) / readable (code). */
    public static final int AR_WRITABLE_OR_READABLE = 1 << 1;
    /** Type bit 2: expand-down (data) / conforming (code). */
    public static final int AR_EXPAND_DOWN_OR_CONFORMING = 1 << 2;
    /** Type bit 3: code segment. */
    public static final int AR_CODE = 1 << 3;
    /** Bit 4: descriptor type S (1 = code or data, 0 = system). */
    public static final int AR_S = 1 << 4;
    /** Bits 6:5: descriptor privilege level. */
    public static final int AR_DPL_SHIFT = 5;
    /** Bit 7: present. */
    public static final int AR_P = 1 << 7;
    /** Bit 12: available for system software. */
    public static final int AR_AVL = 1 << 12;
    /** Bit 13: 64-bit code segment. */
    public static final int AR_L = 1 << 13;
    /** Bit 14: default operation size / big. */
    public static final int AR_DB = 1 << 14;
    /** Bit 15: granularity. */
    public static final int AR_G = 1 << 15;
    /** Bit 16: segment unusable (VMX only, SDM 3C 25.4.1). */
    public static final int AR_UNUSABLE = 1 << 16;

    public int selector;
    public long base;
    public int limit;
    public int accessRights;

    public int dpl() {
        return (accessRights >>> AR_DPL_SHIFT) & 3;
    }

    public boolean unusable() {
        return (accessRights & AR_UNUSABLE) != 0;
    }

    public boolean big() {
        return (accessRights & AR_DB) != 0;
    }

    /** Sets the whole cache at once. */
    public void load(int selector, long base, int limit, int accessRights) {
        this.selector = selector;
        this.base = base;
        this.limit = limit;
        this.accessRights = accessRights;
    }

    public void copyFrom(Segment other) {
        load(other.selector, other.base, other.limit, other.accessRights);
    }

    @Override
    public String toString() {
        return String.format("sel=%04x base=%08x limit=%08x ar=%05x", selector, base, limit, accessRights);
    }
}
