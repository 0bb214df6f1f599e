package org.hotvisor.vmx.cpu.x86;

/** A block translated by {@link BlockCompiler}; see there for the contract of {@link #run}. */
public interface CompiledBlock {
    /** Runs the whole block; returns instructions retired, with {@link BlockCompiler#EXIT_FLAG} on a VM exit. */
    int run(X86Core core);
}
