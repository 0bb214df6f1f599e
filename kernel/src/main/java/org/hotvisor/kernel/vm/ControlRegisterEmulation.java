package org.hotvisor.kernel.vm;

import org.hotvisor.api.ExitAction;
import org.hotvisor.api.vmx.VmcsField;

/**
 * The kernel's default for control-register-access exits (reason 28). The qualification says
 * what the guest did (SDM 3C 28.2.1, Table 28-3): CR number in bits 3:0, access type in 5:4
 * (0 MOV to CR, 1 MOV from CR, 2 CLTS, 3 LMSW), LMSW operand type in 6, the GPR in 11:8 and the
 * LMSW source data in 31:16. Bits the host owns (the guest/host mask) keep their VMX-required
 * values in the real register; the guest's value for them goes to the read shadow (SDM 3C 25.6.6).
 */
final class ControlRegisterEmulation {
    private ControlRegisterEmulation() {}

    private static final int MOV_TO_CR = 0, MOV_FROM_CR = 1, CLTS = 2, LMSW = 3;
    private static final long CR0_PE = 1, CR0_TS = 1 << 3, CR0_PG = 1L << 31, CR0_LMSW_BITS = 0xF;
    private static final String TPR_KEY = "kernel.cr8";
    private static final int GP = 13;

    static ExitAction handle(ExitView exit) {
        long q = exit.qualification;
        int cr = (int) (q & 15);
        int access = (int) ((q >> 4) & 3);
        int gpr = (int) ((q >> 8) & 15);
        switch (access) {
            case MOV_TO_CR -> {
                long v = exit.gpr(gpr) & 0xFFFF_FFFFL;
                switch (cr) {
                    case 0 -> {
                        // SDM 3A 2.5: setting PG with PE clear is #GP(0).
                        if ((v & CR0_PG) != 0 && (v & CR0_PE) == 0) {
                            exit.injectException(GP, 0);
                            return ExitAction.RESUME;
                        }
                        writeMasked(exit, v, VmcsField.GUEST_CR0, VmcsField.CR0_GUEST_HOST_MASK, VmcsField.CR0_READ_SHADOW);
                    }
                    case 3 -> exit.vmwrite(VmcsField.GUEST_CR3.encoding(), v);
                    case 4 -> writeMasked(exit, v, VmcsField.GUEST_CR4, VmcsField.CR4_GUEST_HOST_MASK, VmcsField.CR4_READ_SHADOW);
                    case 8 -> exit.vcpu().state(TPR_KEY, () -> new long[1])[0] = v & 15;
                    default -> {
                        exit.injectException(6, -1);
                        return ExitAction.RESUME;
                    }
                }
            }
            case MOV_FROM_CR -> {
                long v = switch (cr) {
                    case 3 -> exit.vmread(VmcsField.GUEST_CR3.encoding());
                    case 8 -> exit.vcpu().state(TPR_KEY, () -> new long[1])[0];
                    default -> 0;
                };
                exit.setGpr(gpr, v);
            }
            case CLTS -> {
                long shadow = exit.vmread(VmcsField.CR0_READ_SHADOW.encoding());
                exit.vmwrite(VmcsField.CR0_READ_SHADOW.encoding(), shadow & ~CR0_TS);
                exit.vmwrite(VmcsField.GUEST_CR0.encoding(), exit.vmread(VmcsField.GUEST_CR0.encoding()) & ~CR0_TS);
            }
            case LMSW -> {
                // SDM 3A LMSW: loads PE, MP, EM, TS; cannot clear PE.
                long src = (q >>> 16) & CR0_LMSW_BITS;
                long mask = exit.vmread(VmcsField.CR0_GUEST_HOST_MASK.encoding());
                long shadow = exit.vmread(VmcsField.CR0_READ_SHADOW.encoding());
                long guestView = (exit.vmread(VmcsField.GUEST_CR0.encoding()) & ~mask) | (shadow & mask);
                long v = (guestView & ~CR0_LMSW_BITS) | src | (guestView & CR0_PE);
                writeMasked(exit, v, VmcsField.GUEST_CR0, VmcsField.CR0_GUEST_HOST_MASK, VmcsField.CR0_READ_SHADOW);
            }
            default -> { }
        }
        return ExitAction.EMULATED;
    }

    private static void writeMasked(ExitView exit, long v, VmcsField reg, VmcsField maskField, VmcsField shadowField) {
        long mask = exit.vmread(maskField.encoding());
        long current = exit.vmread(reg.encoding());
        exit.vmwrite(shadowField.encoding(), v);
        exit.vmwrite(reg.encoding(), (v & ~mask) | (current & mask));
    }
}
