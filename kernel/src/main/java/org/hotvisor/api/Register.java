package org.hotvisor.api;

/** Guest registers a handler can read and write through {@link GuestRegisters}. */
public enum Register {
    RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI,
    R8, R9, R10, R11, R12, R13, R14, R15,
    RIP, RFLAGS,
    CR0, CR2, CR3, CR4;

    /** The number of general-purpose registers; {@code ordinal() < GPR_COUNT} are GPRs in encoding order. */
    public static final int GPR_COUNT = 16;
}
