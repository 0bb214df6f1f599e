package org.hotvisor.kernel.console;

import org.hotvisor.api.vmx.ControlBit;
import org.hotvisor.api.vmx.EntryControl;
import org.hotvisor.api.vmx.ExitControl;
import org.hotvisor.api.vmx.PinBasedControl;
import org.hotvisor.api.vmx.ProcessorControl;
import org.hotvisor.api.vmx.SecondaryControl;
import org.hotvisor.api.vmx.VmxProcessor;

/**
 * The allowed settings of the VMX controls from the capability MSRs (SDM 3D Appendix A.3-A.5):
 * a bit set in the low dword must be 1 (allowed-0 setting is 1), a bit clear in the high dword
 * must be 0 (allowed-1 setting is 0). The TRUE_* MSRs apply when IA32_VMX_BASIC bit 55 is set (A.2).
 */
public final class VmxCapabilities {
    static final int IA32_VMX_BASIC = 0x480;
    static final int IA32_VMX_PINBASED_CTLS = 0x481;
    static final int IA32_VMX_PROCBASED_CTLS = 0x482;
    static final int IA32_VMX_EXIT_CTLS = 0x483;
    static final int IA32_VMX_ENTRY_CTLS = 0x484;
    static final int IA32_VMX_PROCBASED_CTLS2 = 0x48B;
    static final int IA32_VMX_TRUE_PINBASED_CTLS = 0x48D;
    static final int IA32_VMX_TRUE_PROCBASED_CTLS = 0x48E;
    static final int IA32_VMX_TRUE_EXIT_CTLS = 0x48F;
    static final int IA32_VMX_TRUE_ENTRY_CTLS = 0x490;
    /** SDM 3D A.1: IA32_VMX_BASIC bit 55, the TRUE capability MSRs exist. */
    static final long BASIC_TRUE_CTLS = 1L << 55;

    private final VmxProcessor processor;
    private final boolean trueControls;

    public VmxCapabilities(VmxProcessor processor) {
        this.processor = processor;
        this.trueControls = (processor.capabilityMsr(IA32_VMX_BASIC) & BASIC_TRUE_CTLS) != 0;
    }

    /** The capability MSR that governs a control's group. */
    public int msrFor(ControlBit b) {
        return switch (b) {
            case PinBasedControl p -> trueControls ? IA32_VMX_TRUE_PINBASED_CTLS : IA32_VMX_PINBASED_CTLS;
            case ProcessorControl p -> trueControls ? IA32_VMX_TRUE_PROCBASED_CTLS : IA32_VMX_PROCBASED_CTLS;
            case SecondaryControl s -> IA32_VMX_PROCBASED_CTLS2;
            case ExitControl e -> trueControls ? IA32_VMX_TRUE_EXIT_CTLS : IA32_VMX_EXIT_CTLS;
            case EntryControl e -> trueControls ? IA32_VMX_TRUE_ENTRY_CTLS : IA32_VMX_ENTRY_CTLS;
            default -> throw new IllegalArgumentException("not a VMX control: " + b);
        };
    }

    public static String msrName(int msr) {
        return switch (msr) {
            case IA32_VMX_PINBASED_CTLS -> "IA32_VMX_PINBASED_CTLS";
            case IA32_VMX_PROCBASED_CTLS -> "IA32_VMX_PROCBASED_CTLS";
            case IA32_VMX_EXIT_CTLS -> "IA32_VMX_EXIT_CTLS";
            case IA32_VMX_ENTRY_CTLS -> "IA32_VMX_ENTRY_CTLS";
            case IA32_VMX_PROCBASED_CTLS2 -> "IA32_VMX_PROCBASED_CTLS2";
            case IA32_VMX_TRUE_PINBASED_CTLS -> "IA32_VMX_TRUE_PINBASED_CTLS";
            case IA32_VMX_TRUE_PROCBASED_CTLS -> "IA32_VMX_TRUE_PROCBASED_CTLS";
            case IA32_VMX_TRUE_EXIT_CTLS -> "IA32_VMX_TRUE_EXIT_CTLS";
            case IA32_VMX_TRUE_ENTRY_CTLS -> "IA32_VMX_TRUE_ENTRY_CTLS";
            default -> String.format("MSR 0x%x", msr);
        };
    }

    public long msr(int index) {
        return processor.capabilityMsr(index);
    }

    /** Whether the control may be 0 (its allowed-0 bit is clear). */
    public boolean mayBeZero(ControlBit b) {
        return (msr(msrFor(b)) & unsigned(b)) == 0;
    }

    /** Whether the control may be 1 (its allowed-1 bit is set). */
    public boolean mayBeOne(ControlBit b) {
        return ((msr(msrFor(b)) >>> 32) & unsigned(b)) != 0;
    }

    /** The bit's mask as an unsigned 32-bit value (bit 31 must not sign-extend into the allowed-1 half). */
    static long unsigned(ControlBit b) {
        return b.mask() & 0xFFFF_FFFFL;
    }

    public boolean allows(ControlBit b, boolean on) {
        return on ? mayBeOne(b) : mayBeZero(b);
    }

    /** "0/1", "fixed 1", "fixed 0" or "unsupported" (neither setting allowed cannot happen on a sane CPU). */
    public String describe(ControlBit b) {
        boolean zero = mayBeZero(b), one = mayBeOne(b);
        if (zero && one) {
            return "0/1";
        }
        if (one) {
            return "fixed 1";
        }
        return zero ? "fixed 0 (unsupported)" : "inconsistent capability";
    }
}
