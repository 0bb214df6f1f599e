package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.X86Core.*;

/**
 * Exceptions and interrupts: the exception-bitmap VM exit (SDM 3C 26.2), double and triple faults
 * (SDM 3A 6.15, Table 6-5), delivery through the real-mode IVT (SDM 3A 20.1.4) and the protected-mode
 * IDT with interrupt/trap gates and stack switches through the TSS (SDM 3A 6.12), task gates
 * (always a task-switch VM exit, SDM 3C 26.4.2), VM-entry event injection (SDM 3C 27.6) and the
 * IDT-vectoring information of exits that happen during delivery (SDM 3C 28.2.4).
 */
final class Events {
    // exception vectors (SDM 3A 6.3.1)
    static final int DE = 0, DB = 1, NMI = 2, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7, DF = 8, TS = 10, NP = 11,
            SS = 12, GP = 13, PF = 14, MF = 16, AC = 17, MC = 18, XM = 19;

    // interruption-information format (SDM 3C 25.8.3 Table 25-17, 28.2.2)
    static final int INFO_VALID = 1 << 31, INFO_ERROR_VALID = 1 << 11, INFO_NMI_UNBLOCKING = 1 << 12;
    static final int TYPE_EXTERNAL = 0, TYPE_NMI = 2, TYPE_HW_EXCEPTION = 3, TYPE_SW_INTERRUPT = 4,
            TYPE_PRIV_SW_EXCEPTION = 5, TYPE_SW_EXCEPTION = 6, TYPE_OTHER = 7;

    static final int EXIT_EXCEPTION_OR_NMI = 0, EXIT_TRIPLE_FAULT = 2, EXIT_TASK_SWITCH = 9;
    /** Task-switch exit qualification source (SDM 3C 28.2.1 Table 28-2? "Exit Qualification for Task Switches"). */
    static final int TS_SOURCE_CALL = 0, TS_SOURCE_IRET = 1, TS_SOURCE_JMP = 2, TS_SOURCE_IDT = 3;

    /** The fault raised by the current instruction (set by {@link X86Core#fault}). */
    int pendingVector, pendingError = -1;
    /** Linear address of the pending #PF (CR2 is written only when it is delivered). */
    long faultAddress;
    /** Interruption info / error code / instruction length of the event being delivered (IDT-vectoring). */
    int deliveringInfo, deliveringError, deliveringLength;
    /** IRET unblocked NMIs during the current instruction (exit qualification / info bit 12). */
    boolean iretUnblockedNmi;
    /** DR6-format bits of a pending #DB (exit qualification of a #DB exception exit). */
    long debugBits;

    long delivered, exceptionExits;

    private final X86Core c;

    Events(X86Core c) {
        this.c = c;
    }

    /** Exception classes of SDM 3A Table 6-4. */
    private static boolean contributory(int v) {
        return v == DE || v == TS || v == NP || v == SS || v == GP;
    }

    static boolean hasErrorCode(int v) {
        return v == DF || (v >= TS && v <= PF) || v == AC;
    }

    int nmiUnblockingBit() {
        return iretUnblockedNmi && c.events.deliveringInfo == 0 ? INFO_NMI_UNBLOCKING : 0;
    }

    /** A VM exit is being recorded while an event was being delivered: report it (SDM 3C 28.2.4). */
    void exitDuringDelivery() {
        if (deliveringInfo != 0) {
            c.exit.idtVectoringInfo = deliveringInfo;
            c.exit.idtVectoringErrorCode = deliveringError;
            if (isSoftware((deliveringInfo >>> 8) & 7)) {
                c.exit.instructionLength = deliveringLength;   // SDM 3C 28.2.4
            }
        }
    }

    static boolean isSoftware(int type) {
        return type == TYPE_SW_INTERRUPT || type == TYPE_SW_EXCEPTION || type == TYPE_PRIV_SW_EXCEPTION;
    }

    /** Delivers (or exits for) the fault the current instruction raised; RIP is at the instruction. */
    void deliverFault() {
        int v = pendingVector;
        int err = hasErrorCode(v) ? pendingError & 0xFFFF_FFFF : -1;
        if (v == PF) {
            err = pendingError;
        }
        raise(v, TYPE_HW_EXCEPTION, err, 0, c.rip);
    }

    /**
     * Raises an event: checks the exception bitmap, applies the double-fault rules to faults that
     * happen during delivery, and delivers through the IVT/IDT.
     *
     * @param errorCode the error code, or -1 if the event has none
     * @param length instruction length (software interrupts/exceptions; for exits and injection)
     * @param returnRip the address the handler returns to
     */
    void raise(int vector, int type, int errorCode, int length, long returnRip) {
        int outerInfo = 0, outerError = 0, outerLength = 0;
        int curVector = vector, curType = type, curError = errorCode, curLength = length;
        long curReturn = returnRip;
        while (true) {
            // delivering an event takes time: the TSC (and with it the preemption timer) advances even
            // when a fault loop retires no instruction
            c.tsc++;
            if (curType != TYPE_SW_INTERRUPT && curType != TYPE_EXTERNAL && curType != TYPE_NMI
                    && exceptionExits(curVector, curError)) {
                exceptionExit(curVector, curType, curError, outerInfo != 0 ? outerLength : curLength, outerInfo,
                        outerError);
            }
            int info = INFO_VALID | curType << 8 | curVector | (curError >= 0 ? INFO_ERROR_VALID : 0);
            int savedInfo = deliveringInfo, savedError = deliveringError, savedLength = deliveringLength;
            deliveringInfo = info;
            deliveringError = curError >= 0 ? curError : 0;
            deliveringLength = curLength;
            try {
                deliver(curVector, curType, curError, curReturn);
                delivered++;
                return;
            } catch (GuestFault f) {
                int nv = pendingVector;
                int ne = hasErrorCode(nv) ? pendingError : -1;
                boolean firstIsException = curType == TYPE_HW_EXCEPTION;
                if (firstIsException && curVector == DF && (contributory(nv) || nv == PF)) {
                    tripleFault(info, curError);
                }
                if (firstIsException && ((contributory(curVector) && contributory(nv))
                        || (curVector == PF && (contributory(nv) || nv == PF)))) {
                    nv = DF;   // SDM 3A Table 6-5
                    ne = 0;
                }
                outerInfo = info;
                outerError = curError >= 0 ? curError : 0;
                outerLength = curLength;
                // the new fault is reported at the instruction (software events) or where delivery began
                long at = isSoftware(curType) ? curReturn - curLength : curReturn;
                curVector = nv;
                curType = TYPE_HW_EXCEPTION;
                curError = ne;
                curLength = 0;
                curReturn = at;   // c.rip stays: the interpreter rewinds it to the instruction on an exit
            } finally {
                deliveringInfo = savedInfo;
                deliveringError = savedError;
                deliveringLength = savedLength;
            }
        }
    }

    /** SDM 3C 26.2: the exception bitmap, with the page-fault error-code mask/match rule. */
    private boolean exceptionExits(int vector, int errorCode) {
        VmxControls k = c.controls;
        boolean bit = (k.exceptionBitmap & (1 << vector)) != 0;
        if (vector == PF) {
            boolean match = (errorCode & k.pageFaultErrorCodeMask) == k.pageFaultErrorCodeMatch;
            return match == bit;
        }
        return bit;
    }

    private void exceptionExit(int vector, int type, int errorCode, int length, int outerInfo, int outerError) {
        exceptionExits++;
        ExitInfo e = c.exit;
        e.interruptionInfo = INFO_VALID | type << 8 | vector | (errorCode >= 0 ? INFO_ERROR_VALID : 0)
                | (outerInfo == 0 && iretUnblockedNmi ? INFO_NMI_UNBLOCKING : 0);
        e.interruptionErrorCode = errorCode >= 0 ? errorCode : 0;
        // SDM 3C 28.2.1: #PF -> the linear address (CR2 unchanged); #DB -> DR6-format bits
        e.qualification = vector == PF ? faultAddress : vector == DB ? debugBits : 0;
        // SDM 3C 28.2.4: the length of a software event (the exiting one, or the one being delivered)
        boolean software = outerInfo != 0 ? isSoftware((outerInfo >>> 8) & 7) : isSoftware(type);
        e.instructionLength = software ? length : 0;
        if (outerInfo != 0) {
            e.idtVectoringInfo = outerInfo;
            e.idtVectoringErrorCode = outerError;
        } else {
            exitDuringDelivery();
        }
        throw c.vmExit(EXIT_EXCEPTION_OR_NMI);
    }

    private void tripleFault(int info, int err) {
        c.exit.clear();
        throw c.vmExit(EXIT_TRIPLE_FAULT);
    }

    // ---- delivery ----

    private void deliver(int vector, int type, int errorCode, long returnRip) {
        if (vector == PF && type == TYPE_HW_EXCEPTION) {
            c.cr2 = faultAddress;
        }
        if (c.activityState == ACTIVITY_HLT) {
            c.activityState = ACTIVITY_ACTIVE;
        }
        // a fault (not a trap) pushes RF=1 so the handler's IRET does not re-trigger breakpoints (SDM 3A 17.3.1.1)
        boolean fault = type == TYPE_HW_EXCEPTION && vector != DB && vector != BP && vector != OF && vector != NMI;
        long flagsImage = c.rflags() | (fault ? Alu.RF : 0);
        if (!c.protectedMode) {
            deliverReal(vector, flagsImage, returnRip);
        } else if (c.longMode) {
            deliverLong(vector, type, errorCode, flagsImage, returnRip);
        } else {
            deliverProtected(vector, type, errorCode, flagsImage, returnRip);
        }
        if (type == TYPE_NMI) {
            c.interruptibility |= BLOCKING_BY_NMI;
        }
        c.interruptibility &= ~(BLOCKING_BY_STI | BLOCKING_BY_MOV_SS);
        c.singleStep = c.computeSingleStep();
    }

    /** Real mode: FLAGS, CS, IP on the stack, CS:IP from the IVT (SDM 3A 20.1.4). */
    private void deliverReal(int vector, long flagsImage, long returnRip) {
        long entry = vector * 4L;
        if (entry + 3 > (c.idtrLimit & 0xFFFFL)) {
            throw c.gp(vector * 8 + 2);
        }
        long ivt = c.mmu.readLinear((c.idtrBase + entry) & 0xFFFF_FFFFL, 4, false);
        long sp = c.gpr[ESP];
        long m = c.spMask;
        c.write(X86Core.SS, (sp - 2) & m, 2, flagsImage);
        c.write(X86Core.SS, (sp - 4) & m, 2, c.cs.selector);
        c.write(X86Core.SS, (sp - 6) & m, 2, returnRip);
        c.gpr[ESP] = (sp & ~m) | ((sp - 6) & m);
        c.flagsOther &= ~(Alu.IF | Alu.TF | Alu.AC | Alu.RF);
        c.segs.loadReal(CS, (int) (ivt >>> 16));
        c.rip = ivt & 0xFFFF;
        c.updateMode();
    }

    private void deliverProtected(int vector, int type, int errorCode, long flagsImage, long returnRip) {
        int ext = type == TYPE_SW_INTERRUPT || type == TYPE_SW_EXCEPTION ? 0 : 1;
        int idtErr = vector * 8 + 2 + ext;
        if (vector * 8L + 7 > (c.idtrLimit & 0xFFFFL)) {
            throw c.gp(idtErr);
        }
        long gate = c.mmu.readLinear((c.idtrBase + vector * 8L) & 0xFFFF_FFFFL, 8, false);
        int gateType = (int) (gate >>> 40) & 0x1F;   // includes S, which must be 0
        if (gateType != Segments.SYS_TASK_GATE && gateType != Segments.SYS_INT_GATE16
                && gateType != Segments.SYS_TRAP_GATE16 && gateType != Segments.SYS_INT_GATE32
                && gateType != Segments.SYS_TRAP_GATE32) {
            throw c.gp(idtErr);
        }
        if ((type == TYPE_SW_INTERRUPT || type == TYPE_SW_EXCEPTION) && Segments.dpl(gate) < c.cpl) {
            throw c.gp(idtErr);   // SDM 3A 6.12.1.1: software interrupts check the gate DPL
        }
        if (!Segments.present(gate)) {
            throw c.fault(NP, idtErr);
        }
        int sel = (int) (gate >>> 16) & 0xFFFF;
        if (gateType == Segments.SYS_TASK_GATE) {
            throw taskSwitchExit(sel, TS_SOURCE_IDT, 0);
        }
        boolean gate32 = (gateType & 8) != 0;
        long offset = (gate & 0xFFFF) | (gate32 ? (gate >>> 32) & 0xFFFF_0000L : 0);
        if ((sel & 0xFFFC) == 0) {
            throw c.gp(ext);
        }
        long d = c.segs.readDescriptorOrFault(sel, ext);
        int dpl = Segments.dpl(d);
        if (!Segments.isCode(d) || dpl > c.cpl) {
            throw c.gp((sel & 0xFFFC) | ext);
        }
        if (!Segments.present(d)) {
            throw c.fault(NP, (sel & 0xFFFC) | ext);
        }
        if (offset > (Segments.limit(d) & 0xFFFF_FFFFL)) {
            throw c.gp(0);
        }
        int size = gate32 ? 4 : 2;
        boolean fromV86 = c.v86;
        int oldCpl = c.cpl;
        boolean pushError = errorCode >= 0 && type == TYPE_HW_EXCEPTION;
        if (!Segments.conforming(d) && dpl < oldCpl) {
            if (fromV86 && dpl != 0) {
                throw c.gp((sel & 0xFFFC) | ext);
            }
            // inter-privilege: the new stack comes from the TSS (SDM 3A 6.12.1, 7.2.1)
            long[] ssEsp = stackFromTss(dpl, ext);
            int newSs = (int) ssEsp[0];
            long newSp = ssEsp[1];
            long ssDesc = ssEsp[2];
            long ssBase = Segments.base(ssDesc);
            boolean ssBig = (ssDesc & (1L << 54)) != 0;
            long spm = ssBig ? 0xFFFF_FFFFL : 0xFFFF;
            int n = (fromV86 ? 9 : 5) + (pushError ? 1 : 0);
            long[] vals = new long[n];
            int k = 0;
            if (fromV86) {
                vals[k++] = c.gs.selector;
                vals[k++] = c.fs.selector;
                vals[k++] = c.ds.selector;
                vals[k++] = c.es.selector;
            }
            vals[k++] = c.ss.selector;
            vals[k++] = c.gpr[ESP] & (size == 4 ? 0xFFFF_FFFFL : 0xFFFF);
            vals[k++] = flagsImage;
            vals[k++] = c.cs.selector;
            vals[k++] = returnRip;
            if (pushError) {
                vals[k] = errorCode;
            }
            long sp = newSp;
            long limit = Segments.limit(ssDesc) & 0xFFFF_FFFFL;
            boolean expandDown = (Segments.type(ssDesc) & 4) != 0;
            for (long v : vals) {
                sp = (sp - size) & spm;
                if (!inStackLimit(sp, size, limit, expandDown, ssBig)) {
                    throw c.fault(SS, (newSs & 0xFFFC) | ext);
                }
                c.mmu.writeLinear((ssBase + sp) & 0xFFFF_FFFFL, size, v, dpl == 3);
            }
            // commit
            ssDesc = c.segs.setAccessed(newSs, ssDesc);
            if (fromV86) {
                c.flagsOther &= ~Alu.VM;
                c.updateMode();
                c.segs.loadNull(ES, 0);
                c.segs.loadNull(X86Core.DS, 0);
                c.segs.loadNull(X86Core.FS, 0);
                c.segs.loadNull(X86Core.GS, 0);
            }
            d = c.segs.setAccessed(sel, d);
            loadCsAt(sel, d, dpl);
            c.segs.loadCache(X86Core.SS, newSs, ssDesc);
            c.gpr[ESP] = (c.gpr[ESP] & ~spm) | sp;
        } else {
            if (fromV86) {
                throw c.gp((sel & 0xFFFC) | ext);
            }
            int newCpl = oldCpl;   // conforming or same privilege
            long sp = c.gpr[ESP];
            long m = c.spMask;
            long s = sp;
            s = (s - size) & m;
            c.write(X86Core.SS, s, size, flagsImage);
            s = (s - size) & m;
            c.write(X86Core.SS, s, size, c.cs.selector);
            s = (s - size) & m;
            c.write(X86Core.SS, s, size, returnRip);
            if (pushError) {
                s = (s - size) & m;
                c.write(X86Core.SS, s, size, errorCode);
            }
            d = c.segs.setAccessed(sel, d);
            loadCsAt(sel, d, newCpl);
            c.gpr[ESP] = (sp & ~m) | s;
        }
        c.rip = offset;
        long clear = Alu.TF | Alu.NT | Alu.VM | Alu.RF;
        if ((gateType & 1) == 0) {
            clear |= Alu.IF;   // interrupt gate (SDM 3A 6.12.1.3)
        }
        c.flagsOther &= ~clear;
        c.updateMode();
        c.mmu.cplChanged();
    }

    // 64-bit TSS layout (SDM 3A 8.7, Figure 8-11)
    static final int TSS64_RSP0 = 4, TSS64_IST1 = 36;
    /** 64-bit IDT gate types (SDM 3A 6.14.1: only interrupt and trap gates; task gates are #GP). */
    static final int GATE64_INT = 0xE, GATE64_TRAP = 0xF;

    /**
     * Delivery in IA-32e mode (SDM 3A 6.14): 16-byte gates naming 64-bit code segments, the stack
     * from the IST or the 64-bit TSS (RSP0-2) on a privilege change, aligned to 16 bytes, and SS:RSP,
     * RFLAGS, CS:RIP (and the error code) pushed as 8-byte values in every case.
     */
    private void deliverLong(int vector, int type, int errorCode, long flagsImage, long returnRip) {
        int ext = type == TYPE_SW_INTERRUPT || type == TYPE_SW_EXCEPTION ? 0 : 1;
        int idtErr = vector * 8 + 2 + ext;
        if (vector * 16L + 15 > (c.idtrLimit & 0xFFFFL)) {
            throw c.gp(idtErr);
        }
        long lo = c.mmu.readLinear(c.idtrBase + vector * 16L, 8, false);
        long hi = c.mmu.readLinear(c.idtrBase + vector * 16L + 8, 8, false);
        int gateType = (int) (lo >>> 40) & 0x1F;
        if (gateType != GATE64_INT && gateType != GATE64_TRAP || ((hi >>> 40) & 0x1F) != 0) {
            throw c.gp(idtErr);
        }
        if ((type == TYPE_SW_INTERRUPT || type == TYPE_SW_EXCEPTION) && Segments.dpl(lo) < c.cpl) {
            throw c.gp(idtErr);
        }
        if (!Segments.present(lo)) {
            throw c.fault(NP, idtErr);
        }
        int sel = (int) (lo >>> 16) & 0xFFFF;
        long offset = (lo & 0xFFFF) | ((lo >>> 32) & 0xFFFF_0000L) | (hi << 32);
        int ist = (int) (lo >>> 32) & 7;
        if ((sel & 0xFFFC) == 0) {
            throw c.gp(ext);
        }
        long d = c.segs.readDescriptorOrFault(sel, ext);
        int dpl = Segments.dpl(d);
        // the target must be 64-bit code (L = 1, D = 0) at a privilege not below the CPL
        if (!Segments.isCode(d) || dpl > c.cpl || (d & Segments.DESC_L) == 0 || (d & Segments.DESC_DB) != 0) {
            throw c.gp((sel & 0xFFFC) | ext);
        }
        if (!Segments.present(d)) {
            throw c.fault(NP, (sel & 0xFFFC) | ext);
        }
        if (!canonical(offset)) {
            throw c.gp(ext);
        }
        int oldCpl = c.cpl;
        int newCpl = Segments.conforming(d) ? oldCpl : dpl;
        long rsp;
        if (ist != 0) {
            rsp = tss64(TSS64_IST1 + 8 * (ist - 1), ext);
        } else if (newCpl < oldCpl) {
            rsp = tss64(TSS64_RSP0 + 8 * newCpl, ext);
        } else {
            rsp = c.gpr[ESP];
        }
        rsp &= ~0xFL;   // SDM 3A 6.14.2: the stack is aligned to 16 bytes
        boolean pushError = errorCode >= 0 && type == TYPE_HW_EXCEPTION;
        long[] frame = {c.ss.selector & 0xFFFF, c.gpr[ESP], flagsImage, c.cs.selector & 0xFFFF, returnRip, errorCode};
        int n = pushError ? 6 : 5;
        boolean user = newCpl == 3;
        long sp = rsp;
        for (int k = 0; k < n; k++) {
            sp -= 8;
            if (!canonical(sp)) {
                throw c.fault(SS, ext);
            }
            c.mmu.writeLinear(sp, 8, frame[k], user);
        }
        d = c.segs.setAccessed(sel, d);
        if (newCpl != oldCpl) {
            // SDM 3A 6.14.4: on a privilege change SS gets a null selector with RPL = the new CPL
            c.ss.load(newCpl, 0, 0, Segment.AR_UNUSABLE | newCpl << Segment.AR_DPL_SHIFT);
            c.refreshSegment(X86Core.SS);
        }
        loadCsAt(sel, d, newCpl);
        c.gpr[ESP] = sp;
        c.rip = offset;
        long clear = Alu.TF | Alu.NT | Alu.VM | Alu.RF;
        if (gateType == GATE64_INT) {
            clear |= Alu.IF;
        }
        c.flagsOther &= ~clear;
        c.updateMode();
        c.mmu.cplChanged();
    }

    /** An 8-byte field of the 64-bit TSS; #TS(TSS selector) beyond its limit. */
    private long tss64(int offset, int ext) {
        Segment tss = c.tr;
        if (offset + 7L > (tss.limit & 0xFFFF_FFFFL)) {
            throw c.fault(TS, (tss.selector & 0xFFFC) | ext);
        }
        return c.mmu.readLinear(tss.base + offset, 8, false);
    }

    static boolean inStackLimit(long sp, int size, long limit, boolean expandDown, boolean big) {
        long last = sp + size - 1;
        if (expandDown) {
            long upper = big ? 0xFFFF_FFFFL : 0xFFFF;
            return sp > limit && last <= upper;
        }
        return last <= limit;
    }

    /** Loads CS with RPL = CPL = {@code cpl}. */
    void loadCsAt(int sel, long d, int cpl) {
        c.segs.loadCache(CS, (sel & 0xFFFC) | cpl, d);
    }

    /**
     * The ring-{@code dpl} stack from the current TSS, checked as SDM 3A 6.12.1 requires.
     *
     * @return {selector, stack pointer, SS descriptor}
     */
    long[] stackFromTss(int dpl, int ext) {
        Segment tss = c.tr;
        boolean tss32 = (tss.accessRights & 8) != 0;
        long off = tss32 ? 4 + dpl * 8L : 2 + dpl * 4L;
        int width = tss32 ? 4 : 2;
        if (off + width + 1 > (tss.limit & 0xFFFF_FFFFL)) {
            throw c.fault(TS, (tss.selector & 0xFFFC) | ext);
        }
        long sp = c.mmu.readLinear((tss.base + off) & 0xFFFF_FFFFL, width, false);
        int ss = (int) c.mmu.readLinear((tss.base + off + width) & 0xFFFF_FFFFL, 2, false);
        if ((ss & 0xFFFC) == 0) {
            throw c.fault(TS, ext);
        }
        long a = c.segs.descriptorAddress(ss);
        if (a < 0) {
            throw c.fault(TS, (ss & 0xFFFC) | ext);
        }
        long d = c.mmu.readLinear(a, 8, false);
        if ((ss & 3) != dpl || Segments.dpl(d) != dpl || !Segments.codeOrData(d) || Segments.isCode(d)
                || !Segments.rwBit(d)) {
            throw c.fault(TS, (ss & 0xFFFC) | ext);
        }
        if (!Segments.present(d)) {
            throw c.fault(SS, (ss & 0xFFFC) | ext);
        }
        return new long[] {ss, sp, d};
    }

    /** Task switches always exit in VMX non-root operation (SDM 3C 26.4.2; qualification Table 28-2). */
    VmExitSignal taskSwitchExit(int selector, int source, int instructionLength) {
        ExitInfo e = c.exit;
        e.qualification = (selector & 0xFFFFL) | ((long) source << 30);
        e.instructionLength = instructionLength;   // CALL/JMP/IRET; for the IDT, set below if software
        exitDuringDelivery();
        return c.vmExit(EXIT_TASK_SWITCH);
    }

    // ---- VM-entry injection (SDM 3C 27.6) ----

    void inject(int info, int errorCode, int length) {
        c.exit.clear();
        if ((info & INFO_VALID) == 0) {
            return;
        }
        int vector = info & 0xFF;
        int type = (info >>> 8) & 7;
        int err = (info & INFO_ERROR_VALID) != 0 ? errorCode : -1;
        if (type == TYPE_OTHER) {
            return;   // pending MTF: handled by the VMX layer's MTF logic
        }
        if (c.activityState == ACTIVITY_HLT) {
            c.activityState = ACTIVITY_ACTIVE;
        }
        long ret = c.rip;
        if (type == TYPE_SW_INTERRUPT || type == TYPE_SW_EXCEPTION || type == TYPE_PRIV_SW_EXCEPTION) {
            ret = (c.rip + length) & c.ripMask;
        }
        // injected events are delivered without consulting the exception bitmap (SDM 3C 27.6.1)
        int savedInfo = deliveringInfo, savedError = deliveringError;
        deliveringInfo = info & ~INFO_NMI_UNBLOCKING;
        deliveringError = err >= 0 ? err : 0;
        try {
            if (vector == PF && type == TYPE_HW_EXCEPTION) {
                faultAddress = c.cr2;
            }
            deliver(vector, type, err, ret);
            delivered++;
        } catch (GuestFault f) {
            deliveringInfo = savedInfo;
            deliveringError = savedError;
            // a fault while delivering the injected event: continue under the usual rules
            nestedAfterInjection(info, err);
        } finally {
            deliveringInfo = savedInfo;
            deliveringError = savedError;
        }
    }

    private void nestedAfterInjection(int info, int err) {
        int vector = info & 0xFF;
        int type = (info >>> 8) & 7;
        int nv = pendingVector;
        int ne = hasErrorCode(nv) ? pendingError : -1;
        if (type == TYPE_HW_EXCEPTION) {
            if (vector == DF && (contributory(nv) || nv == PF)) {
                tripleFault(info, err);
            }
            if ((contributory(vector) && contributory(nv)) || (vector == PF && (contributory(nv) || nv == PF))) {
                nv = DF;
                ne = 0;
            }
        }
        if (exceptionExits(nv, ne)) {
            exceptionExit(nv, TYPE_HW_EXCEPTION, ne, 0, info & ~INFO_NMI_UNBLOCKING, err >= 0 ? err : 0);
        }
        raise(nv, TYPE_HW_EXCEPTION, ne, 0, c.rip);
    }
}
