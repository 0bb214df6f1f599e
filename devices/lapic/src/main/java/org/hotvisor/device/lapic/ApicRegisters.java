package org.hotvisor.device.lapic;

/**
 * Local APIC register offsets, bits and MSRs (SDM 3A 11.4-11.12, "Local APIC Register Address
 * Map" and "x2APIC Register Address Space"; older editions number the chapter 10). In x2APIC mode
 * the register at xAPIC offset {@code o} is MSR {@code 0x800 + (o >> 4)}.
 */
final class ApicRegisters {
    private ApicRegisters() {
    }

    // ---- MSRs ----
    static final int IA32_APIC_BASE = 0x1B;
    static final int IA32_TSC_DEADLINE = 0x6E0;
    static final int X2APIC_MSR_FIRST = 0x800;
    static final int X2APIC_MSR_LAST = 0x8FF;
    /** x2APIC: offset = (msr - 0x800) << 4. */
    static final int X2APIC_OFFSET_SHIFT = 4;

    // ---- IA32_APIC_BASE (SDM 3A "IA32_APIC_BASE MSR") ----
    static final long BASE_BSP = 1L << 8;
    static final long BASE_EXTD = 1L << 10;
    static final long BASE_ENABLE = 1L << 11;
    /** Bits 7:0 and 9 are reserved (KVM checks the same 0x2FF). */
    static final long BASE_RESERVED_LOW = 0xFFL | 1L << 9;
    static final long BASE_ADDRESS_MASK_LOW = ~0xFFFL;
    static final long DEFAULT_BASE = 0xFEE0_0000L;
    static final long PAGE_SIZE = 0x1000;

    // ---- register offsets in the 4-KiB xAPIC page ----
    static final int ID = 0x020;
    static final int VERSION = 0x030;
    static final int TPR = 0x080;
    static final int APR = 0x090;
    static final int PPR = 0x0A0;
    static final int EOI = 0x0B0;
    static final int RRD = 0x0C0;
    static final int LDR = 0x0D0;
    static final int DFR = 0x0E0;
    static final int SVR = 0x0F0;
    static final int ISR_BASE = 0x100;
    static final int TMR_BASE = 0x180;
    static final int IRR_BASE = 0x200;
    /** ISR, TMR and IRR are eight 32-bit registers each, 16 bytes apart. */
    static final int BITMAP_WORDS = 8;
    static final int BITMAP_SPAN = BITMAP_WORDS << 4;
    static final int ESR = 0x280;
    static final int ICR_LOW = 0x300;
    static final int ICR_HIGH = 0x310;
    static final int LVT_TIMER = 0x320;
    static final int LVT_THERMAL = 0x330;
    static final int LVT_PERF = 0x340;
    static final int LVT_LINT0 = 0x350;
    static final int LVT_LINT1 = 0x360;
    static final int LVT_ERROR = 0x370;
    static final int TIMER_INITIAL = 0x380;
    static final int TIMER_CURRENT = 0x390;
    static final int TIMER_DIVIDE = 0x3E0;
    /** x2APIC only (MSR 0x83F). */
    static final int SELF_IPI = 0x3F0;
    static final int REGISTER_STRIDE = 0x10;
    static final int REGISTER_OFFSET_MASK = 0xFF0;

    // ---- values ----
    /** Version register as QEMU reports it: version 0x14, max LVT entry 5 (6 LVTs), no EOI-broadcast suppression. */
    static final int VERSION_VALUE = 0x0005_0014;
    static final int XAPIC_ID_SHIFT = 24;
    static final int XAPIC_ID_MASK = 0xFF00_0000;
    static final int LDR_XAPIC_MASK = 0xFF00_0000;
    static final int DFR_MODEL_MASK = 0xF000_0000;
    static final int DFR_RESET = 0xFFFF_FFFF;
    /** DFR model bits 31:28: 1111 flat, 0000 cluster (SDM 3A "Logical Destination Mode"). */
    static final int DFR_FLAT = 0xF;
    static final int TPR_MASK = 0xFF;
    static final int PRIORITY_CLASS = 0xF0;

    // ---- SVR (SDM 3A "Spurious-Interrupt Vector Register") ----
    static final int SVR_VECTOR = 0xFF;
    static final int SVR_SOFTWARE_ENABLE = 1 << 8;
    static final int SVR_FOCUS_DISABLE = 1 << 9;
    static final int SVR_WRITABLE = SVR_VECTOR | SVR_SOFTWARE_ENABLE | SVR_FOCUS_DISABLE;
    static final int SVR_RESET = 0xFF;

    // ---- ESR bits (SDM 3A "Error Status Register") ----
    static final int ESR_SEND_ILLEGAL_VECTOR = 1 << 5;
    static final int ESR_RECEIVE_ILLEGAL_VECTOR = 1 << 6;
    static final int ESR_ILLEGAL_REGISTER = 1 << 7;

    // ---- LVT (SDM 3A "Local Vector Table") ----
    static final int LVT_COUNT = 6;
    static final int LVT_INDEX_TIMER = 0;
    static final int LVT_INDEX_THERMAL = 1;
    static final int LVT_INDEX_PERF = 2;
    static final int LVT_INDEX_LINT0 = 3;
    static final int LVT_INDEX_LINT1 = 4;
    static final int LVT_INDEX_ERROR = 5;
    static final int LVT_VECTOR = 0xFF;
    static final int LVT_DELIVERY_MODE_SHIFT = 8;
    static final int LVT_DELIVERY_MODE_MASK = 0x7;
    static final int LVT_MASKED = 1 << 16;
    static final int LVT_TIMER_MODE_SHIFT = 17;
    static final int LVT_TIMER_MODE_MASK = 0x3;
    static final int TIMER_ONE_SHOT = 0, TIMER_PERIODIC = 1, TIMER_TSC_DEADLINE = 2;
    /** Writable bits per LVT, in LVT index order: timer, thermal, perf, LINT0, LINT1, error. */
    static final int[] LVT_WRITABLE = {0x000700FF, 0x000107FF, 0x000107FF, 0x0001A7FF, 0x0001A7FF, 0x000100FF};
    /** LINT0 with delivery mode ExtINT, unmasked: what KVM, QEMU and a PC BIOS leave on the BSP. */
    static final int LINT0_BSP_EXTINT = 0x700;

    // ---- ICR (SDM 3A "Interrupt Command Register") ----
    static final int ICR_VECTOR = 0xFF;
    static final int ICR_DELIVERY_MODE_SHIFT = 8;
    static final int ICR_DELIVERY_MODE_MASK = 0x7;
    static final int ICR_LOGICAL = 1 << 11;
    static final int ICR_LEVEL_ASSERT = 1 << 14;
    static final int ICR_TRIGGER_LEVEL = 1 << 15;
    static final int ICR_SHORTHAND_SHIFT = 18;
    static final int ICR_SHORTHAND_MASK = 0x3;
    static final int SHORTHAND_NONE = 0, SHORTHAND_SELF = 1, SHORTHAND_ALL = 2, SHORTHAND_ALL_BUT_SELF = 3;
    /** Low-word bits software can write: vector, mode, destination mode, level, trigger, shorthand. */
    static final int ICR_LOW_WRITABLE = 0x000CCFFF;
    static final int ICR_HIGH_XAPIC_MASK = 0xFF00_0000;
    static final int XAPIC_BROADCAST = 0xFF;
    static final int X2APIC_BROADCAST = 0xFFFF_FFFF;

    // ---- timer divide configuration: bits 0, 1 and 3 ----
    static final int DIVIDE_WRITABLE = 0xB;
    /** Largest divider: 128 = 1 << 7. */
    static final int DIVIDE_SHIFT_MASK = 0x7;

    /** Vectors 0-15 are reserved for exceptions: illegal as interrupt vectors (SDM 3A "Valid Interrupt Vectors"). */
    static final int FIRST_LEGAL_VECTOR = 16;
}
