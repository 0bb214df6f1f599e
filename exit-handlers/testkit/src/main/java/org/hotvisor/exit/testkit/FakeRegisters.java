package org.hotvisor.exit.testkit;

import org.hotvisor.api.GuestRegisters;
import org.hotvisor.api.Register;

/** Guest registers held in an array; writes apply at once (the tests read them back after handle()). */
public final class FakeRegisters implements GuestRegisters {
    private final long[] values = new long[Register.values().length];

    @Override
    public long get(Register r) {
        return values[r.ordinal()];
    }

    @Override
    public void set(Register r, long value) {
        values[r.ordinal()] = value;
    }

    @Override
    public long gpr(int index) {
        return values[index];
    }

    @Override
    public void setGpr(int index, long value) {
        values[index] = value;
    }
}
