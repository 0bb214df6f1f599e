package org.hotvisor.exit.testkit;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.hotvisor.api.Vcpu;

/** A vCPU whose interrupt line a test drives; its state map outlives handler instances, as the kernel's does. */
public final class FakeVcpu implements Vcpu {
    private final int index;
    private final Map<String, Object> state = new HashMap<>();
    public boolean interruptPending;
    public boolean interruptsEnabled;
    public long instructionsRetired;
    /** What the platform signalled: counts of INIT, NMI and kicks, and the last start-up vector (-1: none). */
    public int inits, nmis, kicks;
    public int lastStartupVector = -1;

    public FakeVcpu(int index) {
        this.index = index;
    }

    @Override public int index() { return index; }
    @Override public long instructionsRetired() { return instructionsRetired; }
    @Override public boolean interruptPending() { return interruptPending; }
    @Override public boolean interruptsEnabled() { return interruptsEnabled; }

    @Override public void deliverInit() { inits++; }
    @Override public void deliverStartup(int vector) { lastStartupVector = vector & 0xFF; }
    @Override public void deliverNmi() { nmis++; }
    @Override public void kick() { kicks++; }

    @Override
    @SuppressWarnings("unchecked")
    public <T> T state(String key, Supplier<T> initial) {
        // get-then-put rather than computeIfAbsent with a capturing lambda: allocation-free once present,
        // so handler tests can measure that the hot path allocates nothing.
        Object value = state.get(key);
        if (value == null) {
            value = initial.get();
            state.put(key, value);
        }
        return (T) value;
    }

    /** The raw state map, so a test can check that only JDK types are stored. */
    public Map<String, Object> stateMap() {
        return state;
    }
}
