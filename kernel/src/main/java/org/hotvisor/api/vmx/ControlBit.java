package org.hotvisor.api.vmx;

import java.util.Locale;

/**
 * One named bit of a VMX control word (Bochs-style typed controls): code says
 * {@code ProcessorControl.HLT_EXITING.isSet(word)}, never {@code word & 0x80}.
 */
public interface ControlBit {
    /** Bit position within the control word. */
    int bit();

    /** The enum constant name, e.g. {@code HLT_EXITING}. */
    String name();

    /** The VMCS field holding this control word. */
    VmcsField field();

    default int mask() {
        return 1 << bit();
    }

    default boolean isSet(int controlWord) {
        return (controlWord & mask()) != 0;
    }

    default int set(int controlWord, boolean on) {
        return on ? controlWord | mask() : controlWord & ~mask();
    }

    /** The name used on the command line and in the console: {@code hlt-exiting}. */
    default String controlName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** ORs the masks of the given bits. */
    static int maskOf(ControlBit... bits) {
        int m = 0;
        for (ControlBit b : bits) {
            m |= b.mask();
        }
        return m;
    }
}
