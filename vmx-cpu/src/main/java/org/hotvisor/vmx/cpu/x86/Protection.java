package org.hotvisor.vmx.cpu.x86;

/**
 * LAR, LSL, VERR, VERW and ARPL (SDM 2): protection queries that report through ZF instead of
 * faulting. #UD outside protected mode.
 */
final class Protection {
    private Protection() {
    }

    static void execute(X86Core c, Insn in) {
        if (!c.protectedMode || c.v86) {
            throw c.ud();
        }
        if (in.op() == Op.ARPL) {
            arpl(c, in);
            return;
        }
        int sel = (int) (in.isMem() ? c.read(in.seg(), c.ea(in), 2) : c.gpr[in.rm()] & 0xFFFF);
        long d = 0;
        boolean ok = (sel & 0xFFFC) != 0;
        if (ok) {
            long a = c.segs.descriptorAddress(sel);
            ok = a >= 0;
            if (ok) {
                d = c.mmu.readLinear(a, 8, false);
            }
        }
        if (ok) {
            ok = switch (in.op()) {
                case Op.LAR -> typeOk(d, true) && privilegeOk(c, sel, d);
                case Op.LSL -> typeOk(d, false) && privilegeOk(c, sel, d);
                case Op.VERR -> Segments.codeOrData(d) && (!Segments.isCode(d) || Segments.rwBit(d))
                        && privilegeOk(c, sel, d);
                default -> Segments.codeOrData(d) && !Segments.isCode(d) && Segments.rwBit(d)
                        && privilegeOk(c, sel, d);
            };
        }
        if (ok && in.op() == Op.LAR) {
            long ar = (d >>> 32) & (in.size() == 4 ? 0x00FF_FF00L : 0xFF00L);
            c.setReg(in.reg(), 0, in.mask(), ar);
        } else if (ok && in.op() == Op.LSL) {
            c.setReg(in.reg(), 0, in.mask(), Segments.limit(d) & 0xFFFF_FFFFL);
        }
        c.setZf(ok);
    }

    /** Descriptor types LAR (all listed) and LSL (no gates) accept (SDM 2 LAR/LSL tables). */
    private static boolean typeOk(long d, boolean lar) {
        if (Segments.codeOrData(d)) {
            return true;
        }
        return switch (Segments.type(d)) {
            case 1, 2, 3, 9, 11 -> true;
            case 4, 5, 12 -> lar;
            default -> false;
        };
    }

    /** Conforming code is always visible; otherwise DPL >= CPL and DPL >= RPL. */
    private static boolean privilegeOk(X86Core c, int sel, long d) {
        if (Segments.isCode(d) && Segments.conforming(d)) {
            return true;
        }
        int dpl = Segments.dpl(d);
        return dpl >= c.cpl && dpl >= (sel & 3);
    }

    private static void arpl(X86Core c, Insn in) {
        long off = in.isMem() ? c.ea(in) : 0;
        int dest = (int) (in.isMem() ? c.read(in.seg(), off, 2) : c.getReg(in.reg(), 0, 0xFFFF));
        // ARPL r/m16, r16: the source is ModRM.reg, which the decoder keeps in rm for the register form only.
        int src = (int) c.getReg(in.isMem() ? in.reg() : in.rm(), 0, 0xFFFF);
        if ((dest & 3) < (src & 3)) {
            dest = (dest & ~3) | (src & 3);
            if (in.isMem()) {
                c.write(in.seg(), off, 2, dest);
            } else {
                c.setReg(in.reg(), 0, 0xFFFF, dest);
            }
            c.setZf(true);
        } else {
            c.setZf(false);
        }
    }
}
