package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.X86Core.*;

/**
 * Decimal-arithmetic adjustments DAA, DAS, AAA, AAS, AAM, AAD and the undocumented SALC
 * (SDM 2, "Operation" of each). Flags the SDM leaves undefined are 0 here (OF for DAA/DAS;
 * OF/SF/ZF/PF for AAA/AAS; OF/AF/CF for AAM/AAD).
 */
final class Bcd {
    private Bcd() {
    }

    static void execute(X86Core c, Insn in) {
        int al = (int) c.gpr[EAX] & 0xFF;
        int ah = (int) (c.gpr[EAX] >>> 8) & 0xFF;
        switch (in.op()) {
            case Op.DAA -> {
                boolean oldCf = c.cf(), af = c.af(), cf = false;
                int v = al;
                if ((al & 0xF) > 9 || af) {
                    v = al + 6;
                    cf = oldCf || v > 0xFF;
                    af = true;
                } else {
                    af = false;
                }
                if (al > 0x99 || oldCf) {
                    v += 0x60;
                    cf = true;
                } else {
                    cf = false;
                }
                setAl(c, v);
                flags(c, v, cf, af);
            }
            case Op.DAS -> {
                boolean oldCf = c.cf(), af = c.af(), cf = false;
                int v = al;
                if ((al & 0xF) > 9 || af) {
                    v = al - 6;
                    cf = oldCf || v < 0;
                    af = true;
                } else {
                    af = false;
                }
                if (al > 0x99 || oldCf) {
                    v -= 0x60;
                    cf = true;
                }
                setAl(c, v);
                flags(c, v, cf, af);
            }
            case Op.AAA, Op.AAS -> {
                boolean adjust = (al & 0xF) > 9 || c.af();
                int ax = al | ah << 8;
                if (adjust) {
                    // SDM 2A AAS: AX := AX - 6 (the borrow reaches AH), then AH := AH - 1.
                    ax = (in.op() == Op.AAA ? ax + 0x106 : ax - 0x106) & 0xFFFF;
                }
                ax = (ax & 0xFF00) | (ax & 0x0F);
                c.setReg(EAX, 0, 0xFFFF, ax);
                c.lfRes = (byte) ax;
                c.lfAux = adjust ? X86Core.AUX_CF | X86Core.AUX_PO | X86Core.AUX_AF : 0;
            }
            case Op.AAM -> {
                int base = (int) in.imm() & 0xFF;
                if (base == 0) {
                    throw c.fault(Events.DE, -1);
                }
                int q = al / base, r = al % base;
                c.setReg(EAX, 0, 0xFFFF, q << 8 | r);
                flags(c, r, false, false);
            }
            case Op.AAD -> {
                int base = (int) in.imm() & 0xFF;
                int v = (al + ah * base) & 0xFF;
                c.setReg(EAX, 0, 0xFFFF, v);
                flags(c, v, false, false);
            }
            default -> c.setReg(EAX, 0, 0xFF, c.cf() ? 0xFF : 0);   // SALC
        }
    }

    private static void setAl(X86Core c, int v) {
        c.setReg(EAX, 0, 0xFF, v);
    }

    /** SF/ZF/PF from the byte result, CF and AF as given, OF = 0. */
    private static void flags(X86Core c, int v, boolean cf, boolean af) {
        c.lfRes = (byte) v;
        c.lfAux = (cf ? X86Core.AUX_CF | X86Core.AUX_PO : 0) | (af ? X86Core.AUX_AF : 0);
    }
}
