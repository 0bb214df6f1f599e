package org.hotvisor.vmx.cpu.x86;

/**
 * A block translated by {@link BlockCompiler}; see there for the contract of {@link #run}. An
 * abstract class, not an interface: the run loop's call site sees many generated classes, and a
 * megamorphic virtual call is one vtable load where an interface call walks the itable.
 */
public abstract class CompiledBlock {
    protected CompiledBlock() {
    }

    /** Runs the whole block; returns instructions retired, with {@link BlockCompiler#EXIT_FLAG} on a VM exit. */
    public abstract int run(X86Core core);
}
