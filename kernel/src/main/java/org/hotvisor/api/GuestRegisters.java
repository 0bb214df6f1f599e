package org.hotvisor.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The guest's registers during an exit. Writes are staged: they reach the guest only if the
 * handler returns normally.
 */
@ProviderType
public interface GuestRegisters {
    long get(Register r);

    void set(Register r, long value);

    /** General-purpose register by encoding (0 = RAX ... 15 = R15). */
    long gpr(int index);

    void setGpr(int index, long value);

    default long rax() { return gpr(0); }
    default long rcx() { return gpr(1); }
    default long rdx() { return gpr(2); }
    default long rbx() { return gpr(3); }
    default void setRax(long v) { setGpr(0, v); }
    default void setRcx(long v) { setGpr(1, v); }
    default void setRdx(long v) { setGpr(2, v); }
    default void setRbx(long v) { setGpr(3, v); }
}
