package org.hotvisor.exit.cpuid;

import org.hotvisor.api.ExitAction;
import org.hotvisor.api.GuestRegisters;
import org.hotvisor.api.VmExit;

/**
 * XSETBV (exit reason 55, unconditional in VMX non-root operation, SDM 3C 26.1.2), emulated by
 * {@link CpuidExitHandler} consistently with its leaf 0xD. The processor already raised #UD
 * (CR4.OSXSAVE = 0) and #GP at CPL &gt; 0 before exiting (SDM 3C 26.1.1); the checks left are
 * those of SDM Vol. 2B XSETBV "Protected Mode Exceptions": ECX must name XCR0 and the new value
 * must set bit 0 and only supported bits. XCR0 supports x87 alone, so the one valid value is 1,
 * which the processor's XCR0 always holds: a valid XSETBV changes nothing and is only skipped.
 */
final class XsetbvEmulation {
    static final int UD = 6, GP = 13;
    static final int NO_ERROR_CODE = -1;
    /** ECX selects the XCR; only XCR0 exists (SDM Vol. 2B XSETBV). */
    static final long XCR0 = 0;
    /** XCR0 bit 0 (x87) must always be 1. */
    static final long XCR0_X87 = 1;

    private XsetbvEmulation() {
    }

    static ExitAction handle(VmExit exit, CpuModel model) {
        if (!model.xsave) {
            exit.injectException(UD, NO_ERROR_CODE);   // CPUID.01H:ECX.XSAVE = 0
            return ExitAction.RESUME;
        }
        GuestRegisters regs = exit.registers();
        long index = regs.rcx() & 0xFFFF_FFFFL;
        long value = (regs.rdx() & 0xFFFF_FFFFL) << 32 | (regs.rax() & 0xFFFF_FFFFL);
        if (index != XCR0 || (value & ~CpuFeatures.SUPPORTED_XCR0) != 0 || (value & XCR0_X87) == 0) {
            exit.injectException(GP, 0);
            return ExitAction.RESUME;
        }
        return ExitAction.EMULATED;
    }
}
