package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.X86Core.*;

/**
 * Far control transfers and software interrupts (SDM 2 JMP, CALL, RET, IRET, INT n/INTO/INT3/INT1;
 * SDM 3A 5.8): real mode, virtual-8086 mode and protected mode with code-segment checks, call gates
 * (same privilege and to an inner ring with a stack switch), returns to outer rings, and task
 * gates/TSS targets, which are always task-switch VM exits (SDM 3C 26.4.2).
 */
final class Control {
    private Control() {
    }

    static int execute(X86Core c, Insn in) {
        switch (in.op()) {
            case Op.JMPF_PTR:
                farJump(c, in, in.imm2(), in.imm());
                return Exec.END_BLOCK;
            case Op.JMPF_M: {
                long off = c.ea(in);
                long target = c.read(in.seg(), off, in.size());
                int sel = (int) c.read(in.seg(), (off + in.size()) & in.addrMask(), 2);
                farJump(c, in, sel, target);
                return Exec.END_BLOCK;
            }
            case Op.CALLF_PTR:
                farCall(c, in, in.imm2(), in.imm());
                return Exec.END_BLOCK;
            case Op.CALLF_M: {
                long off = c.ea(in);
                long target = c.read(in.seg(), off, in.size());
                int sel = (int) c.read(in.seg(), (off + in.size()) & in.addrMask(), 2);
                farCall(c, in, sel, target);
                return Exec.END_BLOCK;
            }
            case Op.RETF:
                farReturn(c, in, in.imm() & 0xFFFF);
                return Exec.END_BLOCK;
            case Op.IRET:
                return iret(c, in);
            case Op.INT:
                softwareInterrupt(c, in, (int) in.imm() & 0xFF, Events.TYPE_SW_INTERRUPT);
                return Exec.END_BLOCK;
            case Op.INT3:
                softwareInterrupt(c, in, Events.BP, Events.TYPE_SW_EXCEPTION);
                return Exec.END_BLOCK;
            case Op.INTO:
                if (c.of()) {
                    softwareInterrupt(c, in, Events.OF, Events.TYPE_SW_EXCEPTION);
                }
                return Exec.END_BLOCK;
            default:   // INT1 / ICEBP
                c.events.debugBits = 0;
                c.events.raise(Events.DB, Events.TYPE_PRIV_SW_EXCEPTION, -1, in.len(), c.rip);
                return Exec.END_BLOCK;
        }
    }

    private static void softwareInterrupt(X86Core c, Insn in, int vector, int type) {
        if (c.v86 && iopl(c) < 3) {
            throw c.gp(0);   // SDM 2 INT n: IOPL-sensitive in virtual-8086 mode (no VME)
        }
        c.events.raise(vector, type, -1, in.len(), c.rip);
    }

    static int iopl(X86Core c) {
        return (int) (c.flagsOther >>> Alu.IOPL_SHIFT) & 3;
    }

    // ---- JMP far ----

    static void farJump(X86Core c, Insn in, int sel, long offset) {
        sel &= 0xFFFF;
        long opMask = Exec.ipMaskOf(in);
        if (!c.protectedMode || c.v86) {
            offset &= opMask;
            if (offset > 0xFFFF && !c.protectedMode && (c.cs.limit & 0xFFFF_FFFFL) < offset) {
                throw c.gp(0);
            }
            c.segs.loadReal(CS, sel);
            c.rip = offset;
            c.updateMode();
            return;
        }
        if ((sel & 0xFFFC) == 0) {
            throw c.gp(0);
        }
        long d = c.segs.readDescriptor(sel);
        int cpl = c.cpl;
        if (Segments.codeOrData(d)) {
            if (!Segments.isCode(d)) {
                throw c.gp(sel & 0xFFFC);
            }
            checkCodeTarget(c, sel, d, cpl, true);
            offset &= opMask;
            loadCs(c, sel, d, cpl, offset);
            return;
        }
        if (c.longMode) {
            throughGate64(c, sel, d, false);
            return;
        }
        int type = Segments.type(d);
        switch (type) {
            case Segments.SYS_CALL_GATE16, Segments.SYS_CALL_GATE32: {
                if (Segments.dpl(d) < cpl || Segments.dpl(d) < (sel & 3)) {
                    throw c.gp(sel & 0xFFFC);
                }
                if (!Segments.present(d)) {
                    throw c.fault(Events.NP, sel & 0xFFFC);
                }
                int target = (int) (d >>> 16) & 0xFFFF;
                long gateOffset = gateOffset(d, type == Segments.SYS_CALL_GATE32);
                if ((target & 0xFFFC) == 0) {
                    throw c.gp(0);
                }
                long td = c.segs.readDescriptor(target);
                if (!Segments.isCode(td)) {
                    throw c.gp(target & 0xFFFC);
                }
                if (Segments.conforming(td) ? Segments.dpl(td) > cpl : Segments.dpl(td) != cpl) {
                    throw c.gp(target & 0xFFFC);
                }
                if (!Segments.present(td)) {
                    throw c.fault(Events.NP, target & 0xFFFC);
                }
                loadCs(c, target, td, cpl, gateOffset);
                return;
            }
            case Segments.SYS_TASK_GATE, Segments.SYS_TSS16_AVAIL, Segments.SYS_TSS32_AVAIL:
                throw taskSwitch(c, sel, d, Events.TS_SOURCE_JMP, in.len());
            default:
                throw c.gp(sel & 0xFFFC);
        }
    }

    private static VmExitSignal taskSwitch(X86Core c, int sel, long d, int source, int length) {
        int cpl = c.cpl;
        if (Segments.dpl(d) < cpl || Segments.dpl(d) < (sel & 3)) {
            throw c.gp(sel & 0xFFFC);
        }
        if (!Segments.present(d)) {
            throw c.fault(Events.NP, sel & 0xFFFC);
        }
        // SDM 3C 28.2.1 (task switch): the selector of the TSS, which a task gate holds
        int tss = Segments.type(d) == Segments.SYS_TASK_GATE ? (int) (d >>> 16) & 0xFFFF : sel;
        return c.events.taskSwitchExit(tss, source, length);
    }

    static long gateOffset(long gate, boolean gate32) {
        return (gate & 0xFFFF) | (gate32 ? (gate >>> 32) & 0xFFFF_0000L : 0);
    }

    /** JMP/CALL target code segment checks (SDM 2 JMP "protected mode"). */
    private static void checkCodeTarget(X86Core c, int sel, long d, int cpl, boolean checkRpl) {
        if (Segments.conforming(d)) {
            if (Segments.dpl(d) > cpl) {
                throw c.gp(sel & 0xFFFC);
            }
        } else if ((checkRpl && (sel & 3) > cpl) || Segments.dpl(d) != cpl) {
            throw c.gp(sel & 0xFFFC);
        }
        if (!Segments.present(d)) {
            throw c.fault(Events.NP, sel & 0xFFFC);
        }
    }

    /** Loads CS (RPL = cpl) and EIP after the limit check. */
    private static void loadCs(X86Core c, int sel, long d, int cpl, long offset) {
        checkFarTarget(c, sel, d, offset);
        d = c.segs.setAccessed(sel, d);
        c.segs.loadCache(CS, (sel & 0xFFFC) | cpl, d);
        c.rip = offset;
        c.updateMode();
    }

    /** Whether descriptor {@code d} makes CS a 64-bit code segment (IA-32e mode and L = 1, SDM 3A 5.2.1). */
    static boolean code64(X86Core c, long d) {
        return c.longMode && (d & Segments.DESC_L) != 0;
    }

    /**
     * The far-transfer target offset: canonical for a 64-bit code segment (whose D bit must be 0),
     * else within the limit (SDM 2 JMP/CALL/RET/IRET).
     */
    static void checkFarTarget(X86Core c, int sel, long d, long offset) {
        if (code64(c, d)) {
            if ((d & Segments.DESC_DB) != 0) {
                throw c.gp(sel & 0xFFFC);
            }
            if (!canonical(offset)) {
                throw c.gp(0);
            }
        } else if (offset > (Segments.limit(d) & 0xFFFF_FFFFL)) {
            throw c.gp(0);
        }
    }

    /**
     * Far JMP/CALL through a call gate in IA-32e mode (SDM 3A 5.8.3.1, 5.8.5, 5.8.6): only 16-byte
     * 64-bit call gates (type 12; task gates and TSSs are #GP, there are no task switches) to 64-bit
     * code segments. A CALL to an inner ring takes RSP from the 64-bit TSS, loads a null SS with
     * RPL = the new CPL, and pushes SS, RSP, CS and RIP as 8-byte values (no parameters are copied).
     */
    private static void throughGate64(X86Core c, int sel, long gate, boolean call) {
        int cpl = c.cpl;
        if (Segments.type(gate) != Segments.SYS_CALL_GATE32) {
            throw c.gp(sel & 0xFFFC);
        }
        if (Segments.dpl(gate) < cpl || Segments.dpl(gate) < (sel & 3)) {
            throw c.gp(sel & 0xFFFC);
        }
        if (!Segments.present(gate)) {
            throw c.fault(Events.NP, sel & 0xFFFC);
        }
        long high = c.segs.readDescriptor((sel & 0xFFF8) + 8 | (sel & Segments.SEL_TI));
        if (((high >>> 40) & 0x1F) != 0) {
            throw c.gp(sel & 0xFFFC);   // the upper half's type field must be 0
        }
        long offset = gateOffset(gate, true) | (high & 0xFFFF_FFFFL) << 32;
        int target = (int) (gate >>> 16) & 0xFFFF;
        if ((target & 0xFFFC) == 0) {
            throw c.gp(0);
        }
        long td = c.segs.readDescriptor(target);
        if (!Segments.isCode(td) || !code64(c, td) || (td & Segments.DESC_DB) != 0) {
            throw c.gp(target & 0xFFFC);
        }
        int dpl = Segments.dpl(td);
        boolean conforming = Segments.conforming(td);
        if (call ? dpl > cpl : conforming ? dpl > cpl : dpl != cpl) {
            throw c.gp(target & 0xFFFC);
        }
        if (!Segments.present(td)) {
            throw c.fault(Events.NP, target & 0xFFFC);
        }
        if (!canonical(offset)) {
            throw c.gp(0);
        }
        int newCpl = conforming ? cpl : dpl;
        if (call) {
            long oldSp = c.gpr[ESP];
            long sp;
            boolean inner = newCpl < cpl;
            if (inner) {
                Segment tss = c.tr;
                long at = 4 + 8L * newCpl;   // RSPn of the 64-bit TSS (SDM 3A 8.7)
                if (at + 7 > (tss.limit & 0xFFFF_FFFFL)) {
                    throw c.fault(Events.TS, tss.selector & 0xFFFC);
                }
                sp = c.mmu.readLinear(tss.base + at, 8, false);
            } else {
                sp = oldSp;
            }
            long[] frame = inner ? new long[] {c.ss.selector & 0xFFFF, oldSp, c.cs.selector & 0xFFFF, c.rip}
                    : new long[] {c.cs.selector & 0xFFFF, c.rip};
            for (long v : frame) {
                sp -= 8;
                if (!canonical(sp)) {
                    throw c.fault(Events.SS, 0);
                }
                c.mmu.writeLinear(sp, 8, v, newCpl == 3);
            }
            if (inner) {
                c.ss.load(newCpl, 0, 0, Segment.AR_UNUSABLE | newCpl << Segment.AR_DPL_SHIFT);
                c.refreshSegment(SS);
            }
            c.gpr[ESP] = sp;
        }
        td = c.segs.setAccessed(target, td);
        c.segs.loadCache(CS, (target & 0xFFFC) | newCpl, td);
        c.rip = offset;
        c.updateMode();
        c.mmu.cplChanged();
    }

    // ---- CALL far ----

    static void farCall(X86Core c, Insn in, int sel, long offset) {
        sel &= 0xFFFF;
        int size = in.size();
        long opMask = Exec.ipMaskOf(in);
        if (!c.protectedMode || c.v86) {
            offset &= opMask;
            long sp = c.gpr[ESP], m = c.spMask;
            c.write(SS, (sp - size) & m, size, c.cs.selector & 0xFFFF);
            c.write(SS, (sp - 2L * size) & m, size, c.rip);
            c.gpr[ESP] = (sp & ~m) | ((sp - 2L * size) & m);
            c.segs.loadReal(CS, sel);
            c.rip = offset;
            c.updateMode();
            return;
        }
        if ((sel & 0xFFFC) == 0) {
            throw c.gp(0);
        }
        long d = c.segs.readDescriptor(sel);
        int cpl = c.cpl;
        if (Segments.codeOrData(d)) {
            if (!Segments.isCode(d)) {
                throw c.gp(sel & 0xFFFC);
            }
            checkCodeTarget(c, sel, d, cpl, true);
            offset &= opMask;
            checkFarTarget(c, sel, d, offset);
            long sp = c.gpr[ESP], m = c.spMask;
            c.write(SS, (sp - size) & m, size, c.cs.selector & 0xFFFF);
            c.write(SS, (sp - 2L * size) & m, size, c.rip);
            loadCs(c, sel, d, cpl, offset);
            c.gpr[ESP] = (sp & ~m) | ((sp - 2L * size) & m);
            return;
        }
        if (c.longMode) {
            throughGate64(c, sel, d, true);
            return;
        }
        int type = Segments.type(d);
        switch (type) {
            case Segments.SYS_CALL_GATE16, Segments.SYS_CALL_GATE32:
                callGate(c, sel, d, type == Segments.SYS_CALL_GATE32);
                return;
            case Segments.SYS_TASK_GATE, Segments.SYS_TSS16_AVAIL, Segments.SYS_TSS32_AVAIL:
                throw taskSwitch(c, sel, d, Events.TS_SOURCE_CALL, in.len());
            default:
                throw c.gp(sel & 0xFFFC);
        }
    }

    /** CALL through a call gate (SDM 3A 5.8.5, 5.8.6), with a stack switch to an inner ring. */
    private static void callGate(X86Core c, int sel, long gate, boolean gate32) {
        int cpl = c.cpl;
        if (Segments.dpl(gate) < cpl || Segments.dpl(gate) < (sel & 3)) {
            throw c.gp(sel & 0xFFFC);
        }
        if (!Segments.present(gate)) {
            throw c.fault(Events.NP, sel & 0xFFFC);
        }
        int target = (int) (gate >>> 16) & 0xFFFF;
        long offset = gateOffset(gate, gate32);
        int params = (int) (gate >>> 32) & 0x1F;
        if ((target & 0xFFFC) == 0) {
            throw c.gp(0);
        }
        long td = c.segs.readDescriptor(target);
        if (!Segments.isCode(td) || Segments.dpl(td) > cpl) {
            throw c.gp(target & 0xFFFC);
        }
        if (!Segments.present(td)) {
            throw c.fault(Events.NP, target & 0xFFFC);
        }
        if (offset > (Segments.limit(td) & 0xFFFF_FFFFL)) {
            throw c.gp(0);
        }
        int size = gate32 ? 4 : 2;
        int dpl = Segments.dpl(td);
        if (!Segments.conforming(td) && dpl < cpl) {
            long[] st = c.events.stackFromTss(dpl, 0);
            int newSs = (int) st[0];
            long ssDesc = st[2];
            boolean big = (ssDesc & (1L << 54)) != 0;
            long spm = big ? 0xFFFF_FFFFL : 0xFFFF;
            long ssBase = Segments.base(ssDesc);
            long limit = Segments.limit(ssDesc) & 0xFFFF_FFFFL;
            boolean expandDown = (Segments.type(ssDesc) & 4) != 0;
            long sp = st[1] & spm;
            long oldSp = c.gpr[ESP] & c.spMask;
            long[] vals = new long[4 + params];
            int k = 0;
            vals[k++] = c.ss.selector & 0xFFFF;
            vals[k++] = c.gpr[ESP] & (size == 4 ? 0xFFFF_FFFFL : 0xFFFF);
            for (int p = params - 1; p >= 0; p--) {
                vals[k++] = c.read(SS, (oldSp + (long) p * size) & c.spMask, size);
            }
            vals[k++] = c.cs.selector & 0xFFFF;
            vals[k] = c.rip;
            for (long v : vals) {
                sp = (sp - size) & spm;
                if (!Events.inStackLimit(sp, size, limit, expandDown, big)) {
                    throw c.fault(Events.SS, newSs & 0xFFFC);
                }
                c.mmu.writeLinear((ssBase + sp) & 0xFFFF_FFFFL, size, v, dpl == 3);
            }
            td = c.segs.setAccessed(target, td);
            ssDesc = c.segs.setAccessed(newSs, ssDesc);
            c.segs.loadCache(CS, (target & 0xFFFC) | dpl, td);
            c.segs.loadCache(SS, newSs, ssDesc);
            c.gpr[ESP] = (c.gpr[ESP] & ~spm) | sp;
            c.rip = offset;
            c.updateMode();
            c.mmu.cplChanged();
            return;
        }
        long sp = c.gpr[ESP], m = c.spMask;
        c.write(SS, (sp - size) & m, size, c.cs.selector & 0xFFFF);
        c.write(SS, (sp - 2L * size) & m, size, c.rip);
        loadCs(c, target, td, cpl, offset);
        c.gpr[ESP] = (sp & ~m) | ((sp - 2L * size) & m);
    }

    // ---- RET far ----

    static void farReturn(X86Core c, Insn in, long extra) {
        int size = in.size();
        long m = c.spMask;
        long sp = c.gpr[ESP] & m;
        long eip = c.read(SS, sp, size);
        int sel = (int) c.read(SS, (sp + size) & m, 2);
        if (!c.protectedMode || c.v86) {
            c.segs.loadReal(CS, sel);
            c.rip = eip & Exec.ipMaskOf(in);
            c.gpr[ESP] = (c.gpr[ESP] & ~m) | ((sp + 2L * size + extra) & m);
            c.updateMode();
            return;
        }
        int cpl = c.cpl;
        int rpl = sel & 3;
        if ((sel & 0xFFFC) == 0) {
            throw c.gp(0);
        }
        long d = c.segs.readDescriptor(sel);
        if (rpl < cpl || !Segments.isCode(d)) {
            throw c.gp(sel & 0xFFFC);
        }
        if (Segments.conforming(d) ? Segments.dpl(d) > rpl : Segments.dpl(d) != rpl) {
            throw c.gp(sel & 0xFFFC);
        }
        if (!Segments.present(d)) {
            throw c.fault(Events.NP, sel & 0xFFFC);
        }
        eip &= Exec.ipMaskOf(in);
        if (rpl == cpl) {
            loadCs(c, sel, d, cpl, eip);
            c.gpr[ESP] = (c.gpr[ESP] & ~m) | ((sp + 2L * size + extra) & m);
            return;
        }
        // return to an outer privilege level (SDM 2 RET "RETURN-TO-OUTER-PRIVILEGE-LEVEL")
        long sp2 = (sp + 2L * size + extra) & m;
        long newSp = c.read(SS, sp2, size);
        int newSs = (int) c.read(SS, (sp2 + size) & m, 2);
        boolean nullSs = nullReturnSs(c, newSs, rpl, d);
        long ssDesc = nullSs ? 0 : checkReturnSs(c, newSs, rpl);
        checkFarTarget(c, sel, d, eip);
        d = c.segs.setAccessed(sel, d);
        c.segs.loadCache(CS, sel, d);
        loadReturnSs(c, newSs, ssDesc, nullSs);
        long spm = c.spMask;
        c.gpr[ESP] = (c.gpr[ESP] & ~spm) | ((newSp + extra) & spm);
        c.rip = eip;
        c.updateMode();
        c.mmu.cplChanged();
        c.segs.nullifyInaccessible();
    }

    /** SDM 2 RET/IRET: returning to 64-bit code at CPL 0-2 may load a null SS. */
    private static boolean nullReturnSs(X86Core c, int ss, int rpl, long csDesc) {
        return (ss & 0xFFFC) == 0 && rpl != 3 && code64(c, csDesc);
    }

    private static void loadReturnSs(X86Core c, int ss, long ssDesc, boolean nullSs) {
        if (nullSs) {
            c.ss.load(ss, 0, 0, Segment.AR_UNUSABLE | (ss & 3) << Segment.AR_DPL_SHIFT);
            c.refreshSegment(SS);
            c.updateMode();
            return;
        }
        ssDesc = c.segs.setAccessed(ss, ssDesc);
        c.segs.loadCache(SS, ss, ssDesc);
    }

    private static long checkReturnSs(X86Core c, int ss, int rpl) {
        if ((ss & 0xFFFC) == 0) {
            throw c.gp(0);
        }
        long d = c.segs.readDescriptor(ss);
        if ((ss & 3) != rpl || !Segments.codeOrData(d) || Segments.isCode(d) || !Segments.rwBit(d)
                || Segments.dpl(d) != rpl) {
            throw c.gp(ss & 0xFFFC);
        }
        if (!Segments.present(d)) {
            throw c.fault(Events.SS, ss & 0xFFFC);
        }
        return d;
    }

    // ---- IRET ----

    /** IRET (SDM 2 IRET "Operation"); also ends NMI blocking (SDM 3C 26.3? / 3A 6.7.1). */
    static int iret(X86Core c, Insn in) {
        int size = in.size();
        boolean nmiBlocked = (c.interruptibility & BLOCKING_BY_NMI) != 0;
        c.events.iretUnblockedNmi = nmiBlocked;
        try {
            iretBody(c, in, size);
        } finally {
            c.events.iretUnblockedNmi = false;
        }
        c.interruptibility &= ~BLOCKING_BY_NMI;
        c.updateMode();
        c.singleStep = c.computeSingleStep();
        return Exec.END_BLOCK;
    }

    private static void iretBody(X86Core c, Insn in, int size) {
        long m = c.spMask;
        long sp = c.gpr[ESP] & m;
        if (!c.protectedMode) {
            long eip = c.read(SS, sp, size);
            int sel = (int) c.read(SS, (sp + size) & m, 2);
            long fl = c.read(SS, (sp + 2L * size) & m, size);
            if (size == 4 && eip > 0xFFFF && eip > (c.cs.limit & 0xFFFF_FFFFL)) {
                throw c.gp(0);
            }
            c.segs.loadReal(CS, sel);
            c.rip = eip;
            c.gpr[ESP] = (c.gpr[ESP] & ~m) | ((sp + 3L * size) & m);
            if (size == 4) {
                // SDM 2 IRET real mode: VM, VIP, VIF keep their values
                long keep = Alu.VM | Alu.VIP | Alu.VIF;
                setFlags(c, (fl & ~keep) | (c.rflags() & keep));
            } else {
                setFlags(c, (c.rflags() & ~0xFFFFL) | (fl & 0xFFFF));
            }
            return;
        }
        if (c.v86) {
            if (iopl(c) < 3) {
                throw c.gp(0);
            }
            long eip = c.read(SS, sp, size);
            int sel = (int) c.read(SS, (sp + size) & m, 2);
            long fl = c.read(SS, (sp + 2L * size) & m, size);
            c.segs.loadReal(CS, sel);
            c.rip = eip & (size == 4 ? 0xFFFF_FFFFL : 0xFFFF);
            c.gpr[ESP] = (c.gpr[ESP] & ~m) | ((sp + 3L * size) & m);
            // IOPL, VM, VIP, VIF unchanged (SDM 2 IRET, virtual-8086 mode)
            long keep = Alu.IOPL | Alu.VM | Alu.VIP | Alu.VIF;
            long mask = size == 4 ? -1L : 0xFFFFL;
            long cur = c.rflags();
            setFlags(c, (cur & keep) | (fl & mask & ~keep) | (cur & ~mask & ~keep));
            return;
        }
        if (c.longMode) {
            iretLong(c, in, size);
            return;
        }
        if ((c.flagsOther & Alu.NT) != 0) {
            // return from a nested task: the back link is the first word of the current TSS
            int link = (int) c.mmu.readLinear(c.tr.base & 0xFFFF_FFFFL, 2, false);
            throw c.events.taskSwitchExit(link, Events.TS_SOURCE_IRET, in.len());
        }
        long eip = c.read(SS, sp, size);
        int sel = (int) c.read(SS, (sp + size) & m, 2);
        long fl = c.read(SS, (sp + 2L * size) & m, size);
        int cpl = c.cpl;
        if (size == 4 && (fl & Alu.VM) != 0 && cpl == 0) {
            iretToV86(c, eip, sel, fl, sp, m);
            return;
        }
        int rpl = sel & 3;
        if ((sel & 0xFFFC) == 0) {
            throw c.gp(0);
        }
        long d = c.segs.readDescriptor(sel);
        if (rpl < cpl || !Segments.isCode(d)) {
            throw c.gp(sel & 0xFFFC);
        }
        if (Segments.conforming(d) ? Segments.dpl(d) > rpl : Segments.dpl(d) != rpl) {
            throw c.gp(sel & 0xFFFC);
        }
        if (!Segments.present(d)) {
            throw c.fault(Events.NP, sel & 0xFFFC);
        }
        eip &= size == 4 ? 0xFFFF_FFFFL : 0xFFFF;
        if (eip > (Segments.limit(d) & 0xFFFF_FFFFL)) {
            throw c.gp(0);
        }
        long newFlags = iretFlags(c, fl, size, cpl);
        if (rpl == cpl) {
            d = c.segs.setAccessed(sel, d);
            c.segs.loadCache(CS, sel, d);
            c.rip = eip;
            c.gpr[ESP] = (c.gpr[ESP] & ~m) | ((sp + 3L * size) & m);
            setFlags(c, newFlags);
            return;
        }
        long sp2 = (sp + 3L * size) & m;
        long newSp = c.read(SS, sp2, size);
        int newSs = (int) c.read(SS, (sp2 + size) & m, 2);
        long ssDesc = checkReturnSs(c, newSs, rpl);
        d = c.segs.setAccessed(sel, d);
        ssDesc = c.segs.setAccessed(newSs, ssDesc);
        c.segs.loadCache(CS, sel, d);
        c.segs.loadCache(SS, newSs, ssDesc);
        long spm = c.spMask;
        c.gpr[ESP] = (c.gpr[ESP] & ~spm) | (newSp & spm);
        c.rip = eip;
        setFlags(c, newFlags);
        c.mmu.cplChanged();
        c.segs.nullifyInaccessible();
    }

    /**
     * IRET in IA-32e mode (SDM 2 IRET "IA-32e-MODE"; SDM 3A 6.14.3): NT = 1 is #GP(0); RIP, CS and
     * RFLAGS are popped with the operand size, then SS:RSP, unconditionally from 64-bit mode and
     * on a privilege change from compatibility mode. The target may be 64-bit or compatibility code.
     */
    private static void iretLong(X86Core c, Insn in, int size) {
        if ((c.flagsOther & Alu.NT) != 0) {
            throw c.gp(0);
        }
        long m = c.spMask;
        long sp = c.gpr[ESP] & m;
        long rip = c.read(SS, sp, size);
        int sel = (int) c.read(SS, (sp + size) & m, 2);
        long fl = c.read(SS, (sp + 2L * size) & m, size);
        int cpl = c.cpl;
        int rpl = sel & 3;
        if ((sel & 0xFFFC) == 0) {
            throw c.gp(0);
        }
        long d = c.segs.readDescriptor(sel);
        if (rpl < cpl || !Segments.isCode(d)) {
            throw c.gp(sel & 0xFFFC);
        }
        if (Segments.conforming(d) ? Segments.dpl(d) > rpl : Segments.dpl(d) != rpl) {
            throw c.gp(sel & 0xFFFC);
        }
        if (!Segments.present(d)) {
            throw c.fault(Events.NP, sel & 0xFFFC);
        }
        boolean popStack = c.mode64 || rpl != cpl;
        long newSp = 0;
        int newSs = 0;
        if (popStack) {
            newSp = c.read(SS, (sp + 3L * size) & m, size);
            newSs = (int) c.read(SS, (sp + 4L * size) & m, 2);
        }
        if (!code64(c, d)) {
            rip &= size == 2 ? 0xFFFF : 0xFFFF_FFFFL;
        }
        checkFarTarget(c, sel, d, rip);
        boolean nullSs = popStack && nullReturnSs(c, newSs, rpl, d);
        long ssDesc = popStack && !nullSs ? checkReturnSs(c, newSs, rpl) : 0;
        long newFlags = iretFlags(c, fl, size, cpl) & ~Alu.VM;
        d = c.segs.setAccessed(sel, d);
        c.segs.loadCache(CS, sel, d);
        if (popStack) {
            loadReturnSs(c, newSs, ssDesc, nullSs);
            c.gpr[ESP] = c.mode64 ? newSp : (c.gpr[ESP] & ~c.spMask) | (newSp & c.spMask);
        } else {
            c.gpr[ESP] = (c.gpr[ESP] & ~m) | ((sp + 3L * size) & m);
        }
        c.rip = rip;
        setFlags(c, newFlags);
        c.mmu.cplChanged();
        if (rpl > cpl) {
            c.segs.nullifyInaccessible();
        }
    }

    /** EFLAGS an IRET may change at this CPL/IOPL (SDM 2 IRET). */
    private static long iretFlags(X86Core c, long popped, int size, int cpl) {
        long cur = c.rflags();
        long changeable = Alu.ARITH | Alu.TF | Alu.DF | Alu.NT | Alu.RF | Alu.AC | Alu.ID;
        if (cpl == 0) {
            changeable |= Alu.IOPL | Alu.IF | Alu.VIF | Alu.VIP;
        } else if (cpl <= iopl(c)) {
            changeable |= Alu.IF;
        }
        if (size == 2) {
            changeable &= 0xFFFF;
        }
        return (cur & ~changeable) | (popped & changeable);
    }

    private static void iretToV86(X86Core c, long eip, int sel, long fl, long sp, long m) {
        long base = sp + 12;
        long newEsp = c.read(SS, base & m, 4);
        int newSs = (int) c.read(SS, (base + 4) & m, 4);
        int es = (int) c.read(SS, (base + 8) & m, 4);
        int ds = (int) c.read(SS, (base + 12) & m, 4);
        int fs = (int) c.read(SS, (base + 16) & m, 4);
        int gs = (int) c.read(SS, (base + 20) & m, 4);
        setFlags(c, fl & Alu.DEFINED);
        c.updateMode();
        c.segs.loadReal(CS, sel);
        c.segs.loadReal(SS, newSs);
        c.segs.loadReal(ES, es);
        c.segs.loadReal(X86Core.DS, ds);
        c.segs.loadReal(X86Core.FS, fs);
        c.segs.loadReal(X86Core.GS, gs);
        c.gpr[ESP] = newEsp & 0xFFFF_FFFFL;
        c.rip = eip & 0xFFFF;
        c.updateMode();
        c.mmu.cplChanged();
    }

    static void setFlags(X86Core c, long v) {
        c.setRflags(v);
        c.updateMode();
    }
}
