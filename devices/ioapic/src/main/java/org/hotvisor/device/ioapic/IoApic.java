package org.hotvisor.device.ioapic;

import java.util.function.Supplier;
import org.hotvisor.api.device.ApicBus;

/**
 * The Intel 82093AA I/O APIC (datasheet 290566, "Register Description"): an indirect register
 * file behind IOREGSEL (offset 0x00) and IOWIN (0x10), 24 redirection entries, and the pin
 * logic that turns input levels into APIC-bus messages.
 *
 * <ul>
 * <li>Edge-triggered pins send one message per rising edge; an edge on a masked pin is lost
 *     (datasheet: "edge-sensitive interrupts ... masked ... are ignored").</li>
 * <li>Level-triggered pins send while asserted and Remote IRR is clear, then set Remote IRR; the
 *     local APIC's EOI for the vector clears it and, if the pin is still asserted, the pin sends
 *     again. Unmasking an asserted level pin sends.</li>
 * <li>Polarity is stored but, as in QEMU and KVM, the pin inputs are the asserted (logical)
 *     levels: the ISA lines are active-high.</li>
 * </ul>
 * State is guarded by this object's monitor; messages go to the bus under it (the local APICs
 * never call back into the I/O APIC while holding their own locks, so the order is acyclic).
 */
final class IoApic {
    // ---- MMIO (datasheet "Memory Mapped Registers") ----
    static final long DEFAULT_BASE = 0xFEC0_0000L;
    static final String RANGES = "0xfec00000-0xfec00fff";
    static final int IOREGSEL = 0x00;
    static final int IOWIN = 0x10;
    static final int IOREGSEL_MASK = 0xFF;

    // ---- indirect registers ----
    static final int REG_ID = 0x00;
    static final int REG_VERSION = 0x01;
    static final int REG_ARBITRATION = 0x02;
    static final int REG_REDIRECTION_BASE = 0x10;
    static final int PINS = 24;
    /** Version 0x11 (82093AA), maximum redirection entry 23 in bits 23:16. */
    static final int VERSION_VALUE = 0x0017_0011;
    static final int ID_MASK = 0x0F00_0000;

    // ---- redirection entry, low dword ----
    static final int VECTOR_MASK = 0xFF;
    static final int DELIVERY_MODE_SHIFT = 8;
    static final int DELIVERY_MODE_MASK = 0x7;
    static final int DEST_LOGICAL = 1 << 11;
    static final int DELIVERY_STATUS = 1 << 12;
    static final int POLARITY_LOW = 1 << 13;
    static final int REMOTE_IRR = 1 << 14;
    static final int TRIGGER_LEVEL = 1 << 15;
    static final int MASKED = 1 << 16;
    /** Software-writable low bits: all but delivery status and Remote IRR. */
    static final int LOW_WRITABLE = 0x0001_AFFF;
    // ---- high dword ----
    static final int DESTINATION_SHIFT = 24;
    static final int HIGH_WRITABLE = 0xFF00_0000;

    private final Supplier<ApicBus> bus;
    private int select;
    private int id;
    private final int[] low = new int[PINS];
    private final int[] high = new int[PINS];
    /** The asserted state of each input pin. */
    private int levels;

    // ---- counters (under the monitor) ----
    private long messages;
    private long lostMessages;
    private long badPins;
    private long badAccesses;

    /** @param bus the APIC bus; may supply null while the local-APIC bundle is absent (messages are counted as lost) */
    IoApic(Supplier<ApicBus> bus) {
        this.bus = bus;
        reset();
    }

    /** Power-on: every entry masked, edge, physical, vector 0; ID 0 (datasheet "Register Description"). */
    synchronized void reset() {
        select = 0;
        id = 0;
        for (int pin = 0; pin < PINS; pin++) {
            low[pin] = MASKED;
            high[pin] = 0;
        }
    }

    // =====================================================================================
    // Pins (any thread)
    // =====================================================================================

    /** Drives an input pin to its asserted ({@code true}) or idle level. */
    synchronized void setPin(int pin, boolean asserted) {
        if (pin < 0 || pin >= PINS) {
            badPins++;
            return;
        }
        int bit = 1 << pin;
        boolean was = (levels & bit) != 0;
        levels = asserted ? levels | bit : levels & ~bit;
        int entry = low[pin];
        if ((entry & TRIGGER_LEVEL) != 0) {
            if (asserted) {
                serviceLevel(pin);
            }
        } else if (asserted && !was && (entry & MASKED) == 0) {
            send(pin);
        }
    }

    /** A level pin sends when asserted, unmasked and not already waiting for its EOI. */
    private void serviceLevel(int pin) {
        int entry = low[pin];
        if ((levels & (1 << pin)) != 0 && (entry & (MASKED | REMOTE_IRR)) == 0 && send(pin)) {
            low[pin] = entry | REMOTE_IRR;
        }
    }

    /** The EOI message of a local APIC: level pins with this vector clear Remote IRR and send again if still asserted. */
    synchronized void endOfInterrupt(int vector) {
        for (int pin = 0; pin < PINS; pin++) {
            int entry = low[pin];
            if ((entry & VECTOR_MASK) == vector && (entry & REMOTE_IRR) != 0) {
                low[pin] = entry & ~REMOTE_IRR;
                serviceLevel(pin);
            }
        }
    }

    private boolean send(int pin) {
        ApicBus b = bus.get();
        if (b == null) {
            lostMessages++;
            return false;
        }
        int entry = low[pin];
        int mode = (entry >>> DELIVERY_MODE_SHIFT) & DELIVERY_MODE_MASK;
        messages++;
        b.deliver(high[pin] >>> DESTINATION_SHIFT, (entry & DEST_LOGICAL) != 0, mode, entry & VECTOR_MASK,
                (entry & TRIGGER_LEVEL) != 0);
        return true;
    }

    // =====================================================================================
    // MMIO (the guest, on a vCPU thread)
    // =====================================================================================

    synchronized long mmioRead(long offset, int size) {
        if (offset == IOREGSEL) {
            return select;
        }
        if (offset == IOWIN) {
            return readRegister(select) & 0xFFFF_FFFFL;
        }
        badAccesses++;
        return 0;
    }

    synchronized void mmioWrite(long offset, int size, long value) {
        if (offset == IOREGSEL) {
            select = (int) value & IOREGSEL_MASK;
        } else if (offset == IOWIN && size >= Integer.BYTES) {
            writeRegister(select, (int) value);
        } else {
            badAccesses++;
        }
    }

    private int readRegister(int register) {
        switch (register) {
            case REG_ID, REG_ARBITRATION -> {
                return id;
            }
            case REG_VERSION -> {
                return VERSION_VALUE;
            }
            default -> {
                int pin = (register - REG_REDIRECTION_BASE) >> 1;
                if (register < REG_REDIRECTION_BASE || pin >= PINS) {
                    return 0;
                }
                return (register & 1) == 0 ? low[pin] : high[pin];
            }
        }
    }

    private void writeRegister(int register, int value) {
        switch (register) {
            case REG_ID -> id = value & ID_MASK;
            case REG_VERSION, REG_ARBITRATION -> badAccesses++; // read-only
            default -> {
                int pin = (register - REG_REDIRECTION_BASE) >> 1;
                if (register < REG_REDIRECTION_BASE || pin >= PINS) {
                    badAccesses++;
                    return;
                }
                if ((register & 1) != 0) {
                    high[pin] = value & HIGH_WRITABLE;
                    return;
                }
                int kept = low[pin] & REMOTE_IRR;
                if ((value & TRIGGER_LEVEL) == 0) {
                    kept = 0; // an edge entry has no Remote IRR (QEMU and KVM clear it)
                }
                low[pin] = (value & LOW_WRITABLE) | kept;
                if ((value & TRIGGER_LEVEL) != 0) {
                    serviceLevel(pin); // unmasking (or reprogramming) an asserted level pin sends
                }
            }
        }
    }

    // ---- for tests and the console ----

    synchronized int entryLow(int pin) {
        return low[pin];
    }

    synchronized long messages() {
        return messages;
    }

    synchronized long lostMessages() {
        return lostMessages;
    }

    synchronized long badPins() {
        return badPins;
    }

    @Override
    public synchronized String toString() {
        StringBuilder b = new StringBuilder("ioapic: id=").append(id >>> DESTINATION_SHIFT).append(" levels=0x")
                .append(Integer.toHexString(levels));
        for (int pin = 0; pin < PINS; pin++) {
            if ((low[pin] & MASKED) == 0) {
                b.append(String.format(" pin%d=%08x:%08x", pin, high[pin], low[pin]));
            }
        }
        return b.append(String.format("; messages=%d lost=%d badPins=%d badAccesses=%d", messages, lostMessages, badPins,
                badAccesses)).toString();
    }
}
