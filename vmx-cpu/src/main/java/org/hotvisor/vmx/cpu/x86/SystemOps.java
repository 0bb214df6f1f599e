package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.X86Core.*;

/**
 * System instructions and the VM exits they cause in VMX non-root operation (SDM 3C 26.1), with
 * exit qualifications and instruction information per SDM 3C 28.2.1 and 28.2.5. Exceptions the
 * SDM gives priority over an exit (#UD, CPL and IOPL checks, TSS I/O-permission bitmap) are raised
 * first (SDM 3C 26.1.1).
 */
final class SystemOps {
    // basic exit reasons (SDM 3C Appendix C)
    static final int EXIT_INTERRUPT_WINDOW = 7, EXIT_NMI_WINDOW = 8, EXIT_CPUID = 10, EXIT_GETSEC = 11,
            EXIT_HLT = 12, EXIT_INVD = 13, EXIT_INVLPG = 14, EXIT_RDPMC = 15, EXIT_RDTSC = 16, EXIT_VMCALL = 18,
            EXIT_VMCLEAR = 19, EXIT_VMLAUNCH = 20, EXIT_VMPTRLD = 21, EXIT_VMPTRST = 22, EXIT_VMREAD = 23,
            EXIT_VMRESUME = 24, EXIT_VMWRITE = 25, EXIT_VMXOFF = 26, EXIT_VMXON = 27, EXIT_CR_ACCESS = 28,
            EXIT_MOV_DR = 29, EXIT_IO = 30, EXIT_RDMSR = 31, EXIT_WRMSR = 32, EXIT_MWAIT = 36,
            EXIT_MONITOR_TRAP_FLAG = 37, EXIT_MONITOR = 39, EXIT_PAUSE = 40, EXIT_GDTR_IDTR = 46,
            EXIT_LDTR_TR = 47, EXIT_INVEPT = 50, EXIT_RDTSCP = 51, EXIT_INVVPID = 53, EXIT_WBINVD = 54,
            EXIT_XSETBV = 55, EXIT_RDRAND = 57, EXIT_INVPCID = 58, EXIT_VMFUNC = 59, EXIT_RDSEED = 61,
            EXIT_XSAVES = 63, EXIT_XRSTORS = 64, EXIT_TPR_BELOW_THRESHOLD = 43;

    // primary processor-based controls (SDM 3C 25.6.2 Table 25-6)
    static final int P_INTERRUPT_WINDOW = 1 << 2, P_TSC_OFFSETTING = 1 << 3, P_HLT = 1 << 7, P_INVLPG = 1 << 9,
            P_MWAIT = 1 << 10, P_RDPMC = 1 << 11, P_RDTSC = 1 << 12, P_CR3_LOAD = 1 << 15, P_CR3_STORE = 1 << 16,
            P_CR8_LOAD = 1 << 19, P_CR8_STORE = 1 << 20, P_USE_TPR_SHADOW = 1 << 21, P_NMI_WINDOW = 1 << 22, P_MOV_DR = 1 << 23,
            P_UNCONDITIONAL_IO = 1 << 24, P_IO_BITMAPS = 1 << 25, P_MTF = 1 << 27, P_MSR_BITMAPS = 1 << 28,
            P_MONITOR = 1 << 29, P_PAUSE = 1 << 30, P_SECONDARY = 1 << 31;
    // secondary controls (SDM 3C 25.6.2 Table 25-7)
    static final int S_DESCRIPTOR_TABLE = 1 << 2, S_RDTSCP = 1 << 3, S_WBINVD = 1 << 6, S_PAUSE_LOOP = 1 << 10,
            S_RDRAND = 1 << 11,
            S_INVPCID = 1 << 12, S_VMFUNC = 1 << 13, S_VMCS_SHADOWING = 1 << 14, S_RDSEED = 1 << 16,
            S_XSAVES = 1 << 20;

    // CR-access exit qualification (SDM 3C 28.2.1 Table 28-3)
    static final int CRQ_MOV_TO = 0, CRQ_MOV_FROM = 1, CRQ_CLTS = 2, CRQ_LMSW = 3;
    static final int CRQ_ACCESS_SHIFT = 4, CRQ_LMSW_MEMORY = 1 << 6, CRQ_GPR_SHIFT = 8, CRQ_LMSW_DATA_SHIFT = 16;
    // MOV-DR qualification (Table 28-4)
    static final int DRQ_FROM = 1 << 4, DRQ_GPR_SHIFT = 8;
    // I/O qualification (Table 28-5)
    static final int IOQ_IN = 1 << 3, IOQ_STRING = 1 << 4, IOQ_REP = 1 << 5, IOQ_IMMEDIATE = 1 << 6,
            IOQ_PORT_SHIFT = 16;
    // instruction-information fields (SDM 3C 28.2.5)
    static final int II_ADDR_SIZE_SHIFT = 7, II_REGISTER = 1 << 10, II_OPSIZE32 = 1 << 11, II_SEG_SHIFT = 15,
            II_INDEX_SHIFT = 18, II_INDEX_INVALID = 1 << 22, II_BASE_SHIFT = 23, II_BASE_INVALID = 1 << 27,
            II_IDENTITY_SHIFT = 28, II_REG1_SHIFT = 3, II_REG2_SHIFT = 28, II_RDRAND_OPSIZE_SHIFT = 11;

    // DR6 / DR7 (SDM 3A 17.2)
    static final long DR6_BD = 1 << 13, DR6_BS = 1 << 14, DR6_FIXED = 0xFFFF0FF0L, DR7_GD = 1 << 13;

    // MSRs handled inside the core when no exit is selected
    static final int MSR_TSC = 0x10, MSR_SYSENTER_CS = 0x174, MSR_SYSENTER_ESP = 0x175, MSR_SYSENTER_EIP = 0x176,
            MSR_DEBUGCTL = 0x1D9, MSR_PAT = 0x277, MSR_XSS = 0xDA0, MSR_EFER = 0xC000_0080, MSR_TSC_AUX = 0xC000_0103;
    // IA-32e mode MSRs (SDM 4 Table 2-2)
    static final int MSR_STAR = 0xC000_0081, MSR_LSTAR = 0xC000_0082, MSR_CSTAR = 0xC000_0083,
            MSR_FMASK = 0xC000_0084, MSR_FS_BASE = 0xC000_0100, MSR_GS_BASE = 0xC000_0101,
            MSR_KERNEL_GS_BASE = 0xC000_0102;
    /** IA32_EFER bits this core implements: SCE, LME, LMA (read-only), NXE (SDM 3A 2.2.1 Table 2-1). */
    static final long EFER_VALID = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
    /** Offset of the TPR in the virtual-APIC page (SDM 3C 29.1.1: VTPR at 080H). */
    static final int VTPR_OFFSET = 0x80;
    /** RFLAGS bits SYSRET loads from R11 (SDM 2 SYSRET: R11 AND 3C7FD7H, bit 1 set). */
    static final long SYSRET_FLAGS = 0x3C_7FD7L;
    /** Descriptor attributes SYSCALL/SYSRET/SYSENTER/SYSEXIT load (VMCS access-rights format). */
    static final int AR_CODE64_DPL0 = 0xA09B, AR_CODE64_DPL3 = 0xA0FB, AR_DATA_DPL0 = 0xC093, AR_DATA_DPL3 = 0xC0F3,
            AR_CODE32_DPL3 = 0xC0FB;

    private final X86Core c;
    private boolean monitorArmed;
    private long rngState = 0x9E37_79B9_7F4A_7C15L;
    /** IA32_TSC_AUX and IA32_XSS: MSRs outside the VMCS guest state. */
    long tscAux, xss;
    final PauseLoop pauseLoop = new PauseLoop();
    private final Xsave xsave;

    SystemOps(X86Core c) {
        this.c = c;
        this.xsave = new Xsave(c);
    }

    /**
     * SDM 3C 28.2.1: the exit qualification of an instruction with a memory operand is its
     * displacement, except that RIP-relative addressing reports the displacement plus the RIP of
     * the next instruction (which RIP holds while the instruction executes).
     */
    private long displacementQualification(Insn in) {
        return in.base() == Insn.BASE_RIP ? in.disp() + c.rip : in.disp();
    }

    /** SDM 3C 26.1.2: CPUID exits unconditionally in VMX non-root operation. */
    private int cpuid(Insn in) {
        return exitFor(in, EXIT_CPUID, 0);
    }

    /** The exit-prone system instructions compiled blocks send here ({@code BlockCompiler.system}). */
    int exitProne(Insn in) {
        return switch (in.op()) {
            case Op.CPUID -> cpuid(in);
            case Op.RDMSR -> msr(in, false);
            case Op.WRMSR -> msr(in, true);
            case Op.RDTSC -> rdtsc(in, false);
            case Op.RDTSCP -> rdtsc(in, true);
            case Op.HLT -> hlt(in);
            default -> execute(in);
        };
    }

    private int exitFor(Insn in, int reason, long qualification) {
        ExitInfo e = c.exit;
        e.reason = reason;
        e.qualification = qualification;
        e.instructionLength = in.len();
        return Exec.EXIT;
    }

    private boolean secondary(int bit) {
        return (c.controls.procBased & P_SECONDARY) != 0 && (c.controls.procBased2 & bit) != 0;
    }

    private boolean primary(int bit) {
        return (c.controls.procBased & bit) != 0;
    }

    private void requireCpl0() {
        if (c.cpl != 0) {
            throw c.gp(0);
        }
    }

    private void requireProtected() {
        if (!c.protectedMode || c.v86) {
            throw c.ud();
        }
    }

    /** Instruction-information bits of a memory operand (SDM 3C 28.2.5). */
    static int memoryInfo(Insn in) {
        int info = in.scale() & 3;
        info |= addressSizeCode(in) << II_ADDR_SIZE_SHIFT;
        info |= (in.seg() & 7) << II_SEG_SHIFT;
        info |= in.index() >= 0 ? (in.index() & 15) << II_INDEX_SHIFT : II_INDEX_INVALID;
        info |= in.base() >= 0 ? (in.base() & 15) << II_BASE_SHIFT : II_BASE_INVALID;
        return info;
    }

    /** Instruction-information address size: 0 = 16, 1 = 32, 2 = 64 bits (SDM 3C 28.2.5). */
    static int addressSizeCode(Insn in) {
        return (in.flags() & Insn.F_ADDR64) != 0 ? 2 : (in.flags() & Insn.F_ADDR32) != 0 ? 1 : 0;
    }

    int execute(Insn in) {
        switch (in.op()) {
            case Op.SYSCALL:
                return syscall();
            case Op.SYSRET:
                return sysret(in);
            case Op.SWAPGS: {
                requireCpl0();   // SDM 2 SWAPGS
                long t = c.gs.base;
                c.gs.base = c.kernelGsBase;
                c.kernelGsBase = t;
                c.refreshSegment(GS);
                return Exec.NEXT;
            }
            case Op.FSGSBASE:
                return fsGsBase(in);
            case Op.HLT:
                return hlt(in);
            case Op.CPUID:
                return cpuid(in);
            case Op.RDTSC:
                return rdtsc(in, false);
            case Op.RDTSCP:
                return rdtsc(in, true);
            case Op.RDPMC:
                return rdpmc(in);
            case Op.RDMSR:
                return msr(in, false);
            case Op.WRMSR:
                return msr(in, true);
            case Op.MOV_TO_CR:
                return movToCr(in);
            case Op.MOV_FROM_CR:
                return movFromCr(in);
            case Op.MOV_TO_DR, Op.MOV_FROM_DR:
                return movDr(in);
            case Op.CLTS:
                return clts(in);
            case Op.LMSW:
                return lmsw(in);
            case Op.SMSW: {
                long v = guestCr0();
                if (in.isMem()) {
                    c.write(in.seg(), c.ea(in), 2, v & 0xFFFF);
                } else {
                    c.setReg(in.reg(), 0, in.mask(), v);
                }
                return Exec.NEXT;
            }
            case Op.LGDT, Op.LIDT, Op.SGDT, Op.SIDT:
                return descriptorTable(in);
            case Op.LLDT, Op.SLDT, Op.LTR, Op.STR:
                return ldtrTr(in);
            case Op.LAR, Op.LSL, Op.VERR, Op.VERW, Op.ARPL:
                Protection.execute(c, in);
                return Exec.NEXT;
            case Op.INVLPG: {
                requireCpl0();
                long lin = (c.segBase[in.seg()] + c.ea(in)) & c.linMask;
                if (primary(P_INVLPG)) {
                    return exitFor(in, EXIT_INVLPG, lin);   // qualification: the linear address (SDM 3C 28.2.1)
                }
                c.mmu.invalidatePage(lin);
                return Exec.END_BLOCK;
            }
            case Op.INVD:
                requireCpl0();
                return exitFor(in, EXIT_INVD, 0);   // unconditional
            case Op.WBINVD:
                requireCpl0();
                if (secondary(S_WBINVD)) {
                    return exitFor(in, EXIT_WBINVD, 0);
                }
                return Exec.NEXT;
            case Op.WAIT:
                return c.x87.fwait();
            case Op.FPU_ESC:
                return c.x87.execute(in);
            case Op.SIMD:
                return c.sse.execute(in);
            case Op.PAUSE:
                return pause(in);
            case Op.MONITOR:
                if (primary(P_MONITOR)) {
                    return exitFor(in, EXIT_MONITOR, 0);
                }
                monitorArmed = true;
                return Exec.NEXT;
            case Op.MWAIT:
                if (primary(P_MWAIT)) {
                    return exitFor(in, EXIT_MWAIT, monitorArmed ? 1 : 0);
                }
                monitorArmed = false;
                return Exec.NEXT;
            case Op.XSETBV:
                if ((c.cr4 & CR4_OSXSAVE) == 0) {
                    throw c.ud();
                }
                requireCpl0();
                return exitFor(in, EXIT_XSETBV, 0);   // unconditional (SDM 3C 26.1.2)
            case Op.XGETBV:
                if ((c.cr4 & CR4_OSXSAVE) == 0) {
                    throw c.ud();
                }
                if ((c.gpr[ECX] & 0xFFFF_FFFFL) != 0) {
                    throw c.gp(0);
                }
                c.gpr[EAX] = c.xcr0 & 0xFFFF_FFFFL;
                c.gpr[EDX] = c.xcr0 >>> 32;
                return Exec.NEXT;
            case Op.RDRAND, Op.RDSEED:
                return random(in);
            case Op.INVPCID:
                return invpcid(in);
            case Op.GETSEC:
                if ((c.cr4 & CR4_SMXE) == 0) {
                    throw c.ud();
                }
                return exitFor(in, EXIT_GETSEC, 0);
            case Op.VMCALL, Op.VMCLEAR, Op.VMLAUNCH, Op.VMPTRLD, Op.VMPTRST, Op.VMREAD, Op.VMRESUME, Op.VMWRITE,
                    Op.VMXOFF, Op.VMXON, Op.INVEPT, Op.INVVPID, Op.VMFUNC:
                return vmxInstruction(in);
            case Op.XSAVES, Op.XRSTORS:
                return xsaves(in);
            case Op.XSAVE, Op.XSAVEOPT, Op.XSAVEC, Op.XRSTOR:
                if ((c.cr4 & CR4_OSXSAVE) == 0) {
                    throw c.ud();   // SDM 2 XSAVE: #UD if CR4.OSXSAVE = 0
                }
                return in.op() == Op.XRSTOR ? xsave.restore(in) : xsave.save(in);
            case Op.SYSENTER:
                return c.longMode ? sysenter64() : sysenter();
            case Op.SYSEXIT:
                return c.longMode ? sysexit64(in) : sysexit(in);
            case Op.RSM:
                throw c.ud();   // never in SMM
            case Op.CLFLUSH: {
                // no caches: only the address checks of a 1-byte read remain (SDM 2 CLFLUSH)
                long lin = c.mmu.segCheck(in.seg(), c.ea(in), 1, false);
                c.mmu.translate(lin, Mmu.READ, c.cpl == 3);
                return Exec.NEXT;
            }
            default:
                throw c.ud();
        }
    }

    // ---- HLT, interrupt flag, shadows, single-step bookkeeping ----

    private int hlt(Insn in) {
        requireCpl0();
        if (primary(P_HLT)) {
            return exitFor(in, EXIT_HLT, 0);
        }
        c.activityState = ACTIVITY_HLT;   // resumed by injection, a window exit, the timer or a host kick
        return Exec.END_BLOCK;
    }

    /** CLI/STI/PUSHF/POPF privilege (no VME/PVI in this core): SDM 2 CLI "Operation". */
    private void checkIopl() {
        if (c.protectedMode && (c.v86 ? Control.iopl(c) < 3 : Control.iopl(c) < c.cpl)) {
            throw c.gp(0);
        }
    }

    int cli() {
        checkIopl();
        c.flagsOther &= ~Alu.IF;
        return Exec.NEXT;
    }

    int sti() {
        checkIopl();
        if ((c.flagsOther & Alu.IF) == 0) {
            c.flagsOther |= Alu.IF;
            // SDM 3A 6.8.3: interrupts stay blocked until after the next instruction
            c.interruptibility |= BLOCKING_BY_STI;
            c.singleStep = true;
        }
        return Exec.END_BLOCK;
    }

    void movSsShadow() {
        c.interruptibility |= BLOCKING_BY_MOV_SS;
        c.singleStep = true;
    }

    int pushf(Insn in) {
        if (c.v86 && Control.iopl(c) < 3) {
            throw c.gp(0);
        }
        long image = c.rflags() & ~(Alu.VM | Alu.RF);
        c.push(image & in.mask(), in.size());
        return Exec.NEXT;
    }

    int popf(Insn in) {
        if (c.v86 && Control.iopl(c) < 3) {
            throw c.gp(0);
        }
        long popped = c.pop(in.size());
        long cur = c.rflags();
        long changeable = Alu.ARITH | Alu.TF | Alu.DF | Alu.NT | Alu.AC | Alu.ID;
        if (!c.protectedMode || c.cpl == 0) {
            changeable |= Alu.IOPL | Alu.IF;
        } else if (c.v86 || c.cpl <= Control.iopl(c)) {
            changeable |= Alu.IF;
        }
        if (in.size() == 2) {
            changeable &= 0xFFFF;
        }
        long v = (cur & ~changeable) | (popped & changeable);
        c.setRflags(v & ~Alu.RF);
        c.updateMode();
        return Exec.END_BLOCK;
    }

    /**
     * After one instruction in single-step mode: interrupt shadows end, TF traps, the MTF exit.
     *
     * @return true if a VM exit is recorded
     */
    boolean afterInstruction(int startInterruptibility, long startFlags, boolean completed) {
        c.mmu.instructionDone();
        long dataHits = c.debug.pendingDataHits;
        c.debug.pendingDataHits = 0;
        if (completed) {
            c.interruptibility &= ~(startInterruptibility & (BLOCKING_BY_STI | BLOCKING_BY_MOV_SS));
            if ((startFlags & Alu.RF) != 0) {
                c.flagsOther &= ~Alu.RF;   // RF lasts one instruction (SDM 3A 17.3.1.1)
            }
            boolean step = (startFlags & Alu.TF) != 0;
            if (step || dataHits != 0) {
                if ((startInterruptibility & BLOCKING_BY_MOV_SS) != 0) {
                    // delayed by the MOV SS shadow (SDM 3A 6.8.3)
                    c.pendingDebugExceptions |= dataHits | (step ? DR6_BS : 0);
                } else {
                    // data breakpoints and single step are traps after the instruction (SDM 3A 17.3.1.2)
                    c.debug.reportInDr6(dataHits, step);
                    c.events.raise(Events.DB, Events.TYPE_HW_EXCEPTION, -1, 0, c.rip);
                }
            }
        }
        c.singleStep = c.computeSingleStep();
        if (primary(P_MTF)) {
            c.exit.reason = EXIT_MONITOR_TRAP_FLAG;   // SDM 3C 26.5.2: after the instruction
            return true;
        }
        return false;
    }

    /** Interrupt-window (SDM 3C 26.7.5) and NMI-window (26.7.6) exits at an instruction boundary. */
    boolean windowExit(int proc) {
        int intr = c.interruptibility;
        if ((proc & P_NMI_WINDOW) != 0 && (intr & (BLOCKING_BY_NMI | BLOCKING_BY_MOV_SS)) == 0) {
            c.exit.reason = EXIT_NMI_WINDOW;
            return true;
        }
        if ((proc & P_INTERRUPT_WINDOW) != 0 && (c.flagsOther & Alu.IF) != 0
                && (intr & (BLOCKING_BY_STI | BLOCKING_BY_MOV_SS)) == 0) {
            c.exit.reason = EXIT_INTERRUPT_WINDOW;
            return true;
        }
        return false;
    }

    // ---- time stamp counter, performance counters, MSRs ----

    private int rdtsc(Insn in, boolean withAux) {
        if (withAux && !secondary(S_RDTSCP)) {
            throw c.ud();   // SDM 3C 26.3: RDTSCP is #UD unless "enable RDTSCP" is 1
        }
        if ((c.cr4 & CR4_TSD) != 0 && c.cpl != 0 && c.protectedMode) {
            throw c.gp(0);
        }
        if (primary(P_RDTSC)) {
            return exitFor(in, withAux ? EXIT_RDTSCP : EXIT_RDTSC, 0);
        }
        long t = guestTsc();
        c.gpr[EAX] = t & 0xFFFF_FFFFL;
        c.gpr[EDX] = t >>> 32;
        if (withAux) {
            c.gpr[ECX] = tscAux & 0xFFFF_FFFFL;
        }
        return Exec.NEXT;
    }

    long guestTsc() {
        long t = c.tsc + c.blockPos;
        if (primary(P_TSC_OFFSETTING)) {
            t += c.controls.tscOffset;
        }
        return t;
    }

    private int rdpmc(Insn in) {
        if ((c.cpl != 0 && c.protectedMode && (c.cr4 & CR4_PCE) == 0) || (c.gpr[ECX] & 0xFFFF_FFFFL) > 3) {
            throw c.gp(0);
        }
        if (primary(P_RDPMC)) {
            return exitFor(in, EXIT_RDPMC, 0);
        }
        c.gpr[EAX] = 0;   // no performance counters: they read as 0
        c.gpr[EDX] = 0;
        return Exec.NEXT;
    }

    private int msr(Insn in, boolean write) {
        requireCpl0();
        long msr = c.gpr[ECX] & 0xFFFF_FFFFL;
        if (msrExits(msr, write)) {
            return exitFor(in, write ? EXIT_WRMSR : EXIT_RDMSR, 0);
        }
        if (write) {
            long v = (c.gpr[EDX] & 0xFFFF_FFFFL) << 32 | (c.gpr[EAX] & 0xFFFF_FFFFL);
            writeMsr((int) msr, v);
            c.mmu.stateLoaded();
            c.updateMode();
            return Exec.END_BLOCK;
        }
        long v = readMsr((int) msr);
        c.gpr[EAX] = v & 0xFFFF_FFFFL;
        c.gpr[EDX] = v >>> 32;
        return Exec.NEXT;
    }

    /** SDM 3C 26.1.3 RDMSR/WRMSR with the MSR bitmaps of SDM 3C 25.6.9. */
    private boolean msrExits(long msr, boolean write) {
        if (!primary(P_MSR_BITMAPS)) {
            return true;
        }
        int offset;
        if (msr <= 0x1FFF) {
            offset = write ? 2048 : 0;
        } else if (msr >= 0xC000_0000L && msr <= 0xC000_1FFFL) {
            offset = write ? 3072 : 1024;
        } else {
            return true;
        }
        int bit = (int) (msr & 0x1FFF);
        long addr = c.controls.msrBitmap + offset + (bit >>> 3);
        byte[] host = c.hostMemory;
        if (addr < 0 || addr >= host.length) {
            return true;
        }
        return (host[(int) addr] & (1 << (bit & 7))) != 0;
    }

    long readMsr(int msr) {
        return switch (msr) {
            case MSR_TSC -> guestTsc();
            case MSR_SYSENTER_CS -> c.sysenterCs;
            case MSR_SYSENTER_ESP -> c.sysenterEsp;
            case MSR_SYSENTER_EIP -> c.sysenterEip;
            case MSR_DEBUGCTL -> c.debugCtl;
            case MSR_PAT -> c.pat;
            case MSR_EFER -> c.efer;
            case MSR_TSC_AUX -> tscAux;
            case MSR_XSS -> xss;
            case Xsave.MSR_PASID -> xsave.pasid;
            case MSR_STAR -> c.star;
            case MSR_LSTAR -> c.lstar;
            case MSR_CSTAR -> c.cstar;
            case MSR_FMASK -> c.sfmask;
            case MSR_FS_BASE -> c.fs.base;
            case MSR_GS_BASE -> c.gs.base;
            case MSR_KERNEL_GS_BASE -> c.kernelGsBase;
            default -> throw c.gp(0);
        };
    }

    /** WRMSR of an address MSR: #GP(0) unless canonical (SDM 4 / SDM 2 WRMSR). */
    private long canonicalMsr(long v) {
        if (!canonical(v)) {
            throw c.gp(0);
        }
        return v;
    }

    void writeMsr(int msr, long v) {
        c.systemStateChanged = true;
        switch (msr) {
            case MSR_TSC -> c.tsc = v - c.blockPos - (primary(P_TSC_OFFSETTING) ? c.controls.tscOffset : 0);
            case MSR_SYSENTER_CS -> c.sysenterCs = v & 0xFFFF_FFFFL;
            case MSR_SYSENTER_ESP -> c.sysenterEsp = v;
            case MSR_SYSENTER_EIP -> c.sysenterEip = v;
            case MSR_DEBUGCTL -> c.debugCtl = v;
            case MSR_PAT -> c.pat = v;
            case MSR_EFER -> {
                // SDM 3A 2.2.1 / 9.8.5: reserved bits #GP; LME cannot change while paging is on; LMA is read-only
                if ((v & ~EFER_VALID) != 0 || ((v ^ c.efer) & EFER_LME) != 0 && (c.cr0 & CR0_PG) != 0) {
                    throw c.gp(0);
                }
                c.efer = (v & ~EFER_LMA) | (c.efer & EFER_LMA);
            }
            case MSR_STAR -> c.star = v;
            case MSR_LSTAR -> c.lstar = canonicalMsr(v);
            case MSR_CSTAR -> c.cstar = canonicalMsr(v);
            case MSR_FMASK -> c.sfmask = v & 0xFFFF_FFFFL;
            case MSR_FS_BASE -> {
                c.fs.base = canonicalMsr(v);
                c.refreshSegment(FS);
            }
            case MSR_GS_BASE -> {
                c.gs.base = canonicalMsr(v);
                c.refreshSegment(GS);
            }
            case MSR_KERNEL_GS_BASE -> c.kernelGsBase = canonicalMsr(v);
            case MSR_TSC_AUX -> tscAux = v & 0xFFFF_FFFFL;
            case Xsave.MSR_PASID -> {
                if ((v & ~Xsave.PASID_WRITABLE) != 0) {
                    throw c.gp(0);   // reserved IA32_PASID bits
                }
                xsave.pasid = v;
            }
            case MSR_XSS -> {
                if ((v & ~Xsave.SUPPORTED_XSS) != 0) {
                    throw c.gp(0);   // SDM 1 13.3: setting an unsupported IA32_XSS bit is #GP
                }
                xss = v;
            }
            default -> throw c.gp(0);
        }
    }

    // ---- control registers (SDM 3C 26.1.3, 28.2.1 Table 28-3) ----

    long guestCr0() {
        long m = c.controls.cr0GuestHostMask;
        return (c.cr0 & ~m) | (c.controls.cr0ReadShadow & m);
    }

    long guestCr4() {
        long m = c.controls.cr4GuestHostMask;
        return (c.cr4 & ~m) | (c.controls.cr4ReadShadow & m);
    }

    private static long crQual(int cr, int access, int gpr) {
        return cr | (long) access << CRQ_ACCESS_SHIFT | (long) gpr << CRQ_GPR_SHIFT;
    }

    private int movFromCr(Insn in) {
        int cr = in.sub();
        if (cr == 1 || cr > 4 && !(cr == 8 && c.mode64)) {
            throw c.ud();   // CR8 exists only in 64-bit mode
        }
        requireCpl0();
        long v;
        switch (cr) {
            case 8 -> {
                // SDM 3C 26.1.3: CR8-store exiting; else the TPR shadow (29.3) or CR8 itself
                if (primary(P_CR8_STORE)) {
                    return exitFor(in, EXIT_CR_ACCESS, crQual(8, CRQ_MOV_FROM, in.rm()));
                }
                v = primary(P_USE_TPR_SHADOW) ? (virtualTpr() >>> 4) & 0xF : c.cr8;
            }
            case 0 -> v = guestCr0();
            case 2 -> v = c.cr2;
            case 3 -> {
                if (primary(P_CR3_STORE)) {
                    return exitFor(in, EXIT_CR_ACCESS, crQual(3, CRQ_MOV_FROM, in.rm()));
                }
                v = c.cr3;
            }
            default -> v = guestCr4();
        }
        c.gpr[in.rm()] = c.mode64 ? v : v & 0xFFFF_FFFFL;
        return Exec.NEXT;
    }

    private long virtualTpr() {
        long a = c.controls.virtualApicPageAddress + VTPR_OFFSET;
        byte[] host = c.hostMemory;
        return a >= 0 && a + 4 <= host.length ? (int) VH32.get(host, (int) a) & 0xFFFF_FFFFL : 0;
    }

    /** MOV to CR8 (SDM 2 MOV CR; SDM 3C 26.1.3 CR8-load exiting, 29.3 TPR virtualization). */
    private int movToCr8(Insn in, long v) {
        if (primary(P_CR8_LOAD)) {
            return exitFor(in, EXIT_CR_ACCESS, crQual(8, CRQ_MOV_TO, in.rm()));
        }
        if ((v & ~0xFL) != 0) {
            throw c.gp(0);   // CR8 bits 63:4 are reserved
        }
        if (!primary(P_USE_TPR_SHADOW)) {
            c.cr8 = v;
            return Exec.NEXT;
        }
        // SDM 3C 29.3: VTPR[7:4] = source[3:0], its other bits cleared; then TPR virtualization (29.1.2):
        // a trap-like TPR-below-threshold exit when VTPR[7:4] < TPR threshold[3:0]
        long a = c.controls.virtualApicPageAddress + VTPR_OFFSET;
        byte[] host = c.hostMemory;
        if (a >= 0 && a + 4 <= host.length) {
            VH32.set(host, (int) a, (int) (v << 4));
        }
        if (v < (c.controls.tprThreshold & 0xF)) {
            c.exit.reason = EXIT_TPR_BELOW_THRESHOLD;
            c.exit.qualification = 0;
            c.exit.instructionLength = in.len();
            return Exec.TRAP_EXIT;
        }
        return Exec.NEXT;
    }

    private int movToCr(Insn in) {
        int cr = in.sub();
        if (cr == 1 || cr > 4 && !(cr == 8 && c.mode64)) {
            throw c.ud();
        }
        requireCpl0();
        long v = c.mode64 ? c.gpr[in.rm()] : c.gpr[in.rm()] & 0xFFFF_FFFFL;
        VmxControls k = c.controls;
        switch (cr) {
            case 8:
                return movToCr8(in, v);
            case 0: {
                if ((v >>> 32) != 0) {
                    throw c.gp(0);   // SDM 2 MOV CR: CR0 bits 63:32 are reserved
                }
                if (((v ^ k.cr0ReadShadow) & k.cr0GuestHostMask) != 0) {
                    return exitFor(in, EXIT_CR_ACCESS, crQual(0, CRQ_MOV_TO, in.rm()));
                }
                // bits owned by the host keep their value (SDM 3C 26.3)
                writeCr0((v & ~k.cr0GuestHostMask) | (c.cr0 & k.cr0GuestHostMask));
                return Exec.END_BLOCK;
            }
            case 2:
                c.cr2 = v;
                return Exec.NEXT;
            case 3: {
                if (primary(P_CR3_LOAD) && !cr3Target(v)) {
                    return exitFor(in, EXIT_CR_ACCESS, crQual(3, CRQ_MOV_TO, in.rm()));
                }
                if (c.longMode) {
                    // SDM 3A 4.10.4.1: with CR4.PCIDE, bit 63 asks not to flush; it is not written to CR3.
                    // This TLB is not tagged by PCID, so it flushes anyway (always permitted).
                    if ((c.cr4 & CR4_PCIDE) != 0) {
                        v &= Long.MAX_VALUE;
                    }
                    if ((v & ~Mmu.CR3_LONG_MODE_VALID) != 0) {
                        throw c.gp(0);   // SDM 2 MOV CR: reserved bits 63:MAXPHYADDR
                    }
                } else if (paePaging(c.cr0, c.cr4)) {
                    loadPdptes(v);
                }
                c.cr3 = v;
                c.systemStateChanged = true;
                c.mmu.flushTlb();   // SDM 3A 4.10.4.1: MOV to CR3 invalidates (non-global) TLB entries
                c.mmu.stateLoaded();
                return Exec.END_BLOCK;
            }
            default: {
                if ((v >>> 32) != 0) {
                    throw c.gp(0);
                }
                if (((v ^ k.cr4ReadShadow) & k.cr4GuestHostMask) != 0) {
                    return exitFor(in, EXIT_CR_ACCESS, crQual(4, CRQ_MOV_TO, in.rm()));
                }
                writeCr4((v & ~k.cr4GuestHostMask) | (c.cr4 & k.cr4GuestHostMask));
                return Exec.END_BLOCK;
            }
        }
    }

    private boolean cr3Target(long v) {
        VmxControls k = c.controls;
        int n = Math.min(k.cr3TargetCount, k.cr3TargetValues.length);
        for (int i = 0; i < n; i++) {
            if (k.cr3TargetValues[i] == v) {
                return true;
            }
        }
        return false;
    }

    static boolean paePaging(long cr0, long cr4) {
        return (cr0 & CR0_PG) != 0 && (cr4 & CR4_PAE) != 0;
    }

    /** CR4 bits this core implements (SDM 3A 2.5); the others are reserved. */
    static final long CR4_VALID = CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_MCE | CR4_PGE
            | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_UMIP | CR4_VMXE | CR4_SMXE | CR4_OSXSAVE | CR4_SMEP
            | CR4_SMAP | CR4_FSGSBASE | CR4_PCIDE;

    void writeCr0(long v) {
        v &= 0xFFFF_FFFFL;
        // SDM 2 MOV CR: #GP for PG without PE, NW without CD
        if ((v & CR0_PG) != 0 && (v & CR0_PE) == 0 || (v & CR0_NW) != 0 && (v & CR0_CD) == 0) {
            throw c.gp(0);
        }
        boolean pgOn = (v & CR0_PG) != 0 && (c.cr0 & CR0_PG) == 0;
        boolean pgOff = (v & CR0_PG) == 0 && (c.cr0 & CR0_PG) != 0;
        boolean lme = (c.efer & EFER_LME) != 0;
        if (pgOn && lme) {
            // SDM 3A 9.8.5 / SDM 2 MOV CR: activating IA-32e mode needs CR4.PAE; not from a CS with L = 1
            if ((c.cr4 & CR4_PAE) == 0 || (c.cs.accessRights & Segment.AR_L) != 0) {
                throw c.gp(0);
            }
        }
        if (pgOff && c.mode64) {
            throw c.gp(0);   // SDM 2 MOV CR: clearing CR0.PG in 64-bit mode
        }
        if (pgOff && (c.cr4 & CR4_PCIDE) != 0) {
            throw c.gp(0);   // SDM 2 MOV CR: clearing PG while CR4.PCIDE = 1
        }
        if (!lme && paePaging(v, c.cr4) && !paePaging(c.cr0, c.cr4)) {
            loadPdptes(c.cr3);
        }
        if (pgOn && lme) {
            c.efer |= EFER_LMA;    // SDM 3A 9.8.5: IA-32e mode is active
        } else if (pgOff) {
            c.efer &= ~EFER_LMA;   // SDM 3A 9.8.5.4: leaving IA-32e mode
        }
        c.cr0 = v | CR0_ET;
        c.systemStateChanged = true;
        c.updateMode();
        for (int s = 0; s < 6; s++) {
            c.refreshSegment(s);
        }
        c.mmu.stateLoaded();
    }

    void writeCr4(long v) {
        if ((v & ~CR4_VALID) != 0) {
            throw c.gp(0);
        }
        boolean lma = (c.efer & EFER_LMA) != 0;
        // SDM 2 MOV CR: PAE cannot be cleared in IA-32e mode; PCIDE needs IA-32e mode and CR3[11:0] = 0
        if (lma && (v & CR4_PAE) == 0) {
            throw c.gp(0);
        }
        if ((v & CR4_PCIDE) != 0 && (c.cr4 & CR4_PCIDE) == 0 && (!lma || (c.cr3 & 0xFFF) != 0)) {
            throw c.gp(0);
        }
        if (!lma && paePaging(c.cr0, v) && ((v ^ c.cr4) & (CR4_PAE | CR4_PSE | CR4_PGE | CR4_SMEP)) != 0) {
            loadPdptes(c.cr3);
        }
        c.cr4 = v;
        c.systemStateChanged = true;
        c.mmu.stateLoaded();
    }

    /** PAE: MOV to CR3/CR0/CR4 loads the four PDPTEs; reserved bits set -> #GP(0) (SDM 3A 4.4.1). */
    void loadPdptes(long cr3) {
        long base = (cr3 & 0xFFFF_FFE0L) & c.a20Mask;
        long[] tmp = new long[4];
        for (int i = 0; i < 4; i++) {
            long a = base + 8L * i;
            if (a + 8 > c.ramSize) {
                throw c.gp(0);
            }
            long e = (long) VH64.get(c.ram, (int) a);
            if ((e & Mmu.PTE_P) != 0 && (e & (Mmu.PAE_RSVD | Mmu.PTE_XD | 0x1E6)) != 0) {
                throw c.gp(0);
            }
            tmp[i] = e;
        }
        System.arraycopy(tmp, 0, c.pdpte, 0, 4);
        c.systemStateChanged = true;
    }

    private int clts(Insn in) {
        requireCpl0();
        VmxControls k = c.controls;
        // SDM 3C 26.1.3: exits if CR0.TS is host-owned and set in the read shadow
        if ((k.cr0GuestHostMask & CR0_TS) != 0 && (k.cr0ReadShadow & CR0_TS) != 0) {
            return exitFor(in, EXIT_CR_ACCESS, crQual(0, CRQ_CLTS, 0));
        }
        if ((k.cr0GuestHostMask & CR0_TS) == 0) {
            c.cr0 &= ~CR0_TS;
            c.systemStateChanged = true;
        }
        return Exec.NEXT;
    }

    private int lmsw(Insn in) {
        requireCpl0();
        long src;
        long lin = 0;
        if (in.isMem()) {
            long off = c.ea(in);
            lin = (c.segBase[in.seg()] + off) & 0xFFFF_FFFFL;
            src = c.read(in.seg(), off, 2);
        } else {
            src = c.gpr[in.reg()] & 0xFFFF;
        }
        VmxControls k = c.controls;
        long mask = k.cr0GuestHostMask & 0xF, shadow = k.cr0ReadShadow & 0xF;
        // SDM 3C 26.1.3 LMSW: PE can only be set; bits 3:1 exit when they would differ from the shadow
        boolean exits = ((mask & CR0_PE) != 0 && (shadow & CR0_PE) == 0 && (src & CR0_PE) != 0)
                || (((src ^ shadow) & mask & 0xE) != 0);
        if (exits) {
            ExitInfo e = c.exit;
            e.guestLinearAddress = lin;
            return exitFor(in, EXIT_CR_ACCESS, crQual(0, CRQ_LMSW, 0) | (in.isMem() ? CRQ_LMSW_MEMORY : 0)
                    | (src & 0xFFFF) << CRQ_LMSW_DATA_SHIFT);
        }
        long own = 0xF & ~k.cr0GuestHostMask;
        long nv = (c.cr0 & ~own) | (src & own);
        nv |= c.cr0 & CR0_PE;   // LMSW cannot clear PE
        writeCr0(nv);
        return Exec.END_BLOCK;
    }

    // ---- debug registers (SDM 3A 17.2, SDM 3C 26.1.3) ----

    private int movDr(Insn in) {
        int dr = in.sub();
        boolean to = in.op() == Op.MOV_TO_DR;
        if ((dr == 4 || dr == 5) && (c.cr4 & CR4_DE) != 0) {
            throw c.ud();
        }
        requireCpl0();
        if ((c.dr7 & DR7_GD) != 0) {
            // general detect: #DB fault before the access (SDM 3A 17.2.4)
            c.dr6 = (c.dr6 | DR6_BD | DR6_FIXED) & 0xFFFF_FFFFL;
            c.dr7 &= ~DR7_GD;
            c.systemStateChanged = true;
            c.events.debugBits = DR6_BD;
            throw c.fault(Events.DB, -1);
        }
        if (primary(P_MOV_DR)) {
            return exitFor(in, EXIT_MOV_DR, dr | (to ? 0 : DRQ_FROM) | (long) in.rm() << DRQ_GPR_SHIFT);
        }
        int n = dr == 4 ? 6 : dr == 5 ? 7 : dr;
        if (to) {
            long v = c.gpr[in.rm()];
            if (c.mode64 && n >= 6 && (v >>> 32) != 0) {
                throw c.gp(0);   // SDM 2 MOV DR: DR6/DR7 bits 63:32 must be 0 in 64-bit mode
            }
            v = c.mode64 ? v : v & 0xFFFF_FFFFL;
            switch (n) {
                case 6 -> c.dr6 = (v | DR6_FIXED) & ~0x1000L;
                case 7 -> {
                    c.dr7 = (v | 0x400) & ~0xD800L & 0xFFFF_FFFFL;
                    c.systemStateChanged = true;
                }
                default -> c.dr[n] = v;
            }
            c.updateMode();   // breakpoints switch single-stepping and the slow data path
            return Exec.END_BLOCK;
        }
        long v = switch (n) {
            case 6 -> c.dr6;
            case 7 -> c.dr7;
            default -> c.dr[n];
        };
        c.gpr[in.rm()] = c.mode64 ? v : v & 0xFFFF_FFFFL;
        return Exec.NEXT;
    }

    // ---- descriptor tables (SDM 3C 26.1.3, instruction info Tables 28-10/28-11) ----

    private int descriptorTable(Insn in) {
        boolean load = in.op() == Op.LGDT || in.op() == Op.LIDT;
        if (load) {
            requireCpl0();
        } else if ((c.cr4 & CR4_UMIP) != 0 && c.cpl > 0 && c.protectedMode) {
            throw c.gp(0);
        }
        if (secondary(S_DESCRIPTOR_TABLE)) {
            int identity = switch (in.op()) {
                case Op.SGDT -> 0;
                case Op.SIDT -> 1;
                case Op.LGDT -> 2;
                default -> 3;
            };
            c.exit.instructionInfo = memoryInfo(in) | ((in.flags() & Insn.F_OP32) != 0 ? II_OPSIZE32 : 0)
                    | identity << II_IDENTITY_SHIFT;
            return exitFor(in, EXIT_GDTR_IDTR, displacementQualification(in));
        }
        long off = c.ea(in);
        boolean wide = c.mode64;   // SDM 2 LGDT/SGDT: 64-bit mode always uses an 8-byte base
        if (load) {
            int limit = (int) c.read(in.seg(), off, 2);
            long base = c.read(in.seg(), (off + 2) & in.addrMask(), wide ? 8 : 4);
            if (wide) {
                if (!canonical(base)) {
                    throw c.gp(0);
                }
            } else if ((in.flags() & Insn.F_OP32) == 0) {
                base &= 0xFF_FFFF;   // 16-bit operand size loads 24 bits of base
            }
            c.systemStateChanged = true;
            if (in.op() == Op.LGDT) {
                c.gdtrBase = base;
                c.gdtrLimit = limit;
            } else {
                c.idtrBase = base;
                c.idtrLimit = limit;
            }
        } else {
            boolean gdt = in.op() == Op.SGDT;
            long base = gdt ? c.gdtrBase : c.idtrBase;
            int limit = gdt ? c.gdtrLimit : c.idtrLimit;
            c.mmu.checkWritableSlow(in.seg(), off, wide ? 10 : 6);
            c.write(in.seg(), off, 2, limit & 0xFFFF);
            if (wide) {
                c.write(in.seg(), (off + 2) & in.addrMask(), 8, base);
            } else {
                c.write(in.seg(), (off + 2) & in.addrMask(), 4,
                        (in.flags() & Insn.F_OP32) != 0 ? base & 0xFFFF_FFFFL : base & 0xFF_FFFF);
            }
        }
        return Exec.NEXT;
    }

    private int ldtrTr(Insn in) {
        requireProtected();
        boolean load = in.op() == Op.LLDT || in.op() == Op.LTR;
        if (load) {
            requireCpl0();
        } else if ((c.cr4 & CR4_UMIP) != 0 && c.cpl > 0) {
            throw c.gp(0);
        }
        if (secondary(S_DESCRIPTOR_TABLE)) {
            int identity = switch (in.op()) {
                case Op.SLDT -> 0;
                case Op.STR -> 1;
                case Op.LLDT -> 2;
                default -> 3;
            };
            int info = identity << II_IDENTITY_SHIFT;
            if (in.isMem()) {
                info |= memoryInfo(in);
            } else {
                info |= II_REGISTER | (in.rm() & 15) << II_REG1_SHIFT;
            }
            c.exit.instructionInfo = info;
            return exitFor(in, EXIT_LDTR_TR, in.isMem() ? displacementQualification(in) : 0);
        }
        if (!load) {
            int sel = (in.op() == Op.SLDT ? c.ldtr.selector : c.tr.selector) & 0xFFFF;
            if (in.isMem()) {
                c.write(in.seg(), c.ea(in), 2, sel);
            } else {
                c.setReg(in.rm(), 0, in.mask(), sel);
            }
            return Exec.NEXT;
        }
        int sel = (int) (in.isMem() ? c.read(in.seg(), c.ea(in), 2) : c.gpr[in.rm()] & 0xFFFF);
        if (in.op() == Op.LLDT) {
            lldt(sel);
        } else {
            ltr(sel);
        }
        return Exec.NEXT;
    }

    private void lldt(int sel) {
        c.systemStateChanged = true;
        if ((sel & 0xFFFC) == 0) {
            c.ldtr.load(sel, 0, 0, Segment.AR_UNUSABLE);
            return;
        }
        if ((sel & Segments.SEL_TI) != 0) {
            throw c.gp(sel & 0xFFFC);
        }
        long d = c.segs.readDescriptor(sel);
        if (Segments.codeOrData(d) || Segments.type(d) != Segments.SYS_LDT) {
            throw c.gp(sel & 0xFFFC);
        }
        long base = Segments.base(d);
        if (c.longMode) {
            base |= c.segs.systemDescriptorHigh(sel);   // SDM 3A 7.2.3: 16-byte descriptors in IA-32e mode
        }
        if (!Segments.present(d)) {
            throw c.fault(Events.NP, sel & 0xFFFC);
        }
        c.ldtr.load(sel, base, Segments.limit(d), Segments.accessRights(d));
    }

    private void ltr(int sel) {
        c.systemStateChanged = true;
        if ((sel & 0xFFFC) == 0) {
            throw c.gp(0);
        }
        if ((sel & Segments.SEL_TI) != 0) {
            throw c.gp(sel & 0xFFFC);
        }
        long d = c.segs.readDescriptor(sel);
        int type = Segments.type(d);
        // SDM 2 LTR: in IA-32e mode only an available 64-bit TSS (type 9) may be loaded
        if (Segments.codeOrData(d) || (type != Segments.SYS_TSS32_AVAIL && (c.longMode || type != Segments.SYS_TSS16_AVAIL))) {
            throw c.gp(sel & 0xFFFC);
        }
        long base = Segments.base(d);
        if (c.longMode) {
            base |= c.segs.systemDescriptorHigh(sel);
        }
        if (!Segments.present(d)) {
            throw c.fault(Events.NP, sel & 0xFFFC);
        }
        d |= 2L << 40;   // mark busy (SDM 2 LTR)
        c.segs.writeDescriptorHigh(sel, d);
        c.tr.load(sel, base, Segments.limit(d), Segments.accessRights(d));
    }

    // ---- I/O (SDM 3A 19.5 permission; SDM 3C 26.1.3 exits; Table 28-5) ----

    /**
     * IN and OUT; INS and OUTS in {@link #ioString}. The exit test comes first and the rest out of
     * line: an exit-bound guest's OUT is a small method the JIT inlines into the block.
     */
    int io(Insn in) {
        if (in.op() == Op.INS || in.op() == Op.OUTS) {
            return ioString(in);
        }
        boolean input = in.op() == Op.IN;
        boolean immediate = (in.flags() & Insn.F_IMM_FORM) != 0;
        int size = in.size();
        int port = immediate ? (int) in.imm() & 0xFF : (int) c.gpr[EDX] & 0xFFFF;
        if (c.protectedMode && (c.v86 || c.cpl > Control.iopl(c))) {
            checkIoPermission(port, size);
        }
        long q = (size - 1) | (input ? IOQ_IN : 0) | (immediate ? IOQ_IMMEDIATE : 0) | (long) port << IOQ_PORT_SHIFT;
        if (ioExits(port, size)) {
            return exitFor(in, EXIT_IO, q);
        }
        return ioWithoutExit(in, q, input);
    }

    /** IN or OUT to a port without an exit: no device answers (reads float high, writes vanish). */
    private int ioWithoutExit(Insn in, long q, boolean input) {
        ioRetiredForSmi(in, q, input, false);
        if (input) {
            c.setReg(EAX, 0, in.mask(), in.mask());
        }
        c.signals.ioCompleted(c.instructionsRetired() + c.blockPos + 1);
        return Exec.NEXT;
    }

    /** INS and OUTS, with or without REP (SDM 3C Table 28-5: string bit, REP bit, linear address). */
    private int ioString(Insn in) {
        boolean input = in.op() == Op.INS;
        int size = in.size();
        int port = (int) c.gpr[EDX] & 0xFFFF;
        if (c.protectedMode && (c.v86 || c.cpl > Control.iopl(c))) {
            checkIoPermission(port, size);
        }
        boolean rep = (in.flags() & (Insn.F_REP | Insn.F_REPNE)) != 0;
        long q = (size - 1) | (input ? IOQ_IN : 0) | IOQ_STRING | (rep ? IOQ_REP : 0) | (long) port << IOQ_PORT_SHIFT;
        long am = in.addrMask();
        if (ioExits(port, size)) {
            ExitInfo e = c.exit;
            int seg = input ? ES : in.seg();
            long off = input ? c.gpr[EDI] & am : c.gpr[ESI] & am;
            e.guestLinearAddress = (c.segBase[seg] + off) & c.linMask;
            e.instructionInfo = addressSizeCode(in) << II_ADDR_SIZE_SHIFT | seg << II_SEG_SHIFT;
            return exitFor(in, EXIT_IO, q);
        }
        ioRetiredForSmi(in, q, input, true);
        long ones = in.mask();
        long step = (c.flagsOther & Alu.DF) != 0 ? -size : size;
        int n = 0;
        do {
            if (rep && (c.gpr[ECX] & am) == 0) {
                break;
            }
            if (input) {
                c.write(ES, c.gpr[EDI] & am, size, ones);
                Strings.advance(c, EDI, am, step);
            } else {
                c.read(in.seg(), c.gpr[ESI] & am, size);
                Strings.advance(c, ESI, am, step);
            }
            if (rep) {
                c.gpr[ECX] = (c.gpr[ECX] & ~am) | ((c.gpr[ECX] - 1) & am);
                if (++n == Exec.REP_CHUNK && (c.gpr[ECX] & am) != 0) {
                    c.rip -= in.len();
                    c.signals.ioCompleted(c.instructionsRetired() + c.blockPos + 1); // the chunk counts as retired
                    return Exec.END_BLOCK;
                }
            }
        } while (rep);
        c.signals.ioCompleted(c.instructionsRetired() + c.blockPos + 1);
        return Exec.NEXT;
    }

    /**
     * What an SMI right after this I/O instruction reports (SDM 3C 32.15.2.3): its qualification,
     * RCX/RSI/RDI and RIP before it ran, the linear address of ES:(E)DI or seg:(E)SI for INS/OUTS.
     */
    private void ioRetiredForSmi(Insn in, long qualification, boolean input, boolean string) {
        long am = in.addrMask();
        long linear = 0;
        if (string) {
            linear = input ? c.segBase[ES] + (c.gpr[EDI] & am) : c.segBase[in.seg()] + (c.gpr[ESI] & am);
        }
        c.signals.ioStarted(qualification, c.gpr[ECX], c.gpr[ESI], c.gpr[EDI], (c.rip - in.len()) & c.ripMask,
                linear & c.linMask);
    }

    /** The TSS I/O-permission bitmap (SDM 3A 19.5.2): every bit for the accessed ports must be 0. */
    private void checkIoPermission(int port, int size) {
        Segment tss = c.tr;
        int type = tss.accessRights & 0xF;
        long limit = tss.limit & 0xFFFF_FFFFL;
        if ((type != Segments.SYS_TSS32_AVAIL && type != Segments.SYS_TSS32_BUSY) || limit < 103) {
            throw c.gp(0);
        }
        long mapBase = c.mmu.readLinear((tss.base + 102) & 0xFFFF_FFFFL, 2, false);
        long byteOff = mapBase + (port >>> 3);
        if (byteOff + 1 > limit) {
            throw c.gp(0);
        }
        long bits = c.mmu.readLinear((tss.base + byteOff) & 0xFFFF_FFFFL, 2, false);
        int mask = ((1 << size) - 1) << (port & 7);
        if ((bits & mask) != 0) {
            throw c.gp(0);
        }
    }

    private boolean ioExits(int port, int size) {
        int proc = c.controls.procBased;
        if ((proc & P_IO_BITMAPS) == 0) {
            return (proc & P_UNCONDITIONAL_IO) != 0;
        }
        if (port + size - 1 > 0xFFFF) {
            return true;   // wraps around the I/O space
        }
        byte[] host = c.hostMemory;
        for (int p = port; p < port + size; p++) {
            long bitmap = p < 0x8000 ? c.controls.ioBitmapA : c.controls.ioBitmapB;
            long addr = bitmap + ((p & 0x7FFF) >>> 3);
            if (addr < 0 || addr >= host.length || (host[(int) addr] & (1 << (p & 7))) != 0) {
                return true;
            }
        }
        return false;
    }

    // ---- RDRAND/RDSEED, INVPCID, VMX instructions, XSAVES/XRSTORS ----

    private int random(Insn in) {
        boolean seed = in.op() == Op.RDSEED;
        if (secondary(seed ? S_RDSEED : S_RDRAND)) {
            c.exit.instructionInfo = (in.reg() & 15) << II_REG1_SHIFT
                    | (in.size() == 4 ? 1 : 0) << II_RDRAND_OPSIZE_SHIFT;
            return exitFor(in, seed ? EXIT_RDSEED : EXIT_RDRAND, 0);
        }
        // xorshift64*: deterministic across runs, as Hotvisor's virtual platform is by default
        long x = rngState;
        x ^= x >>> 12;
        x ^= x << 25;
        x ^= x >>> 27;
        rngState = x;
        c.setReg(in.reg(), 0, in.mask(), x * 0x2545_F491_4F6C_DD1DL);
        c.setArithFlags(Alu.CF);   // CF=1: valid value; OF SF ZF AF PF cleared
        return Exec.NEXT;
    }

    private int invpcid(Insn in) {
        if (!secondary(S_INVPCID)) {
            throw c.ud();   // SDM 3C 26.3: #UD when "enable INVPCID" is 0
        }
        if (!c.protectedMode || c.v86) {
            throw c.ud();
        }
        requireCpl0();
        if (primary(P_INVLPG)) {
            c.exit.instructionInfo = memoryInfo(in) | (in.reg() & 15) << II_REG2_SHIFT;
            return exitFor(in, EXIT_INVPCID, displacementQualification(in));
        }
        long type = c.mode64 ? c.gpr[in.reg()] : c.gpr[in.reg()] & 0xFFFF_FFFFL;
        if (type > 3) {
            throw c.gp(0);
        }
        // SDM 2 INVPCID: the 128-bit descriptor holds the PCID (bits 11:0, 63:12 reserved) and an address
        long off = c.ea(in);
        long desc0 = c.read(in.seg(), off, 8);
        long address = c.read(in.seg(), (off + 8) & in.addrMask(), 8);
        long pcid = desc0 & 0xFFF;
        if ((desc0 & ~0xFFFL) != 0) {
            throw c.gp(0);
        }
        boolean pcide = (c.cr4 & CR4_PCIDE) != 0;
        if (type == 0 && !canonical(address) || type <= 1 && !pcide && pcid != 0) {
            throw c.gp(0);
        }
        // the TLB is not tagged by PCID: type 0 drops the page, the other types everything (SDM 3A 4.10.4.1)
        if (type == 0) {
            c.mmu.invalidatePage(address);
        } else {
            c.mmu.flushTlb();
        }
        return Exec.END_BLOCK;
    }

    private int vmxInstruction(Insn in) {
        if (in.op() == Op.VMCALL) {
            return exitFor(in, EXIT_VMCALL, 0);   // exits in every mode (SDM 2 VMCALL)
        }
        if (in.op() == Op.VMFUNC) {
            if (!secondary(S_VMFUNC)) {
                throw c.ud();
            }
            return exitFor(in, EXIT_VMFUNC, 0);   // no VM functions are enabled in this processor
        }
        // SDM 3C 31.3: #UD in real and virtual-8086 mode (and VMXON with CR4.VMXE = 0), else a VM exit
        if (!c.protectedMode || c.v86 || (in.op() == Op.VMXON && (c.cr4 & CR4_VMXE) == 0)) {
            throw c.ud();
        }
        if ((in.op() == Op.VMREAD || in.op() == Op.VMWRITE) && !VmcsShadowing.exits(c, in)) {
            return VmcsShadowing.execute(c, in);   // SDM 3C 31.3: the shadow VMCS, no exit
        }
        int reason;
        switch (in.op()) {
            case Op.VMCLEAR -> reason = EXIT_VMCLEAR;
            case Op.VMLAUNCH -> reason = EXIT_VMLAUNCH;
            case Op.VMPTRLD -> reason = EXIT_VMPTRLD;
            case Op.VMPTRST -> reason = EXIT_VMPTRST;
            case Op.VMREAD -> reason = EXIT_VMREAD;
            case Op.VMRESUME -> reason = EXIT_VMRESUME;
            case Op.VMWRITE -> reason = EXIT_VMWRITE;
            case Op.VMXOFF -> reason = EXIT_VMXOFF;
            case Op.VMXON -> reason = EXIT_VMXON;
            case Op.INVEPT -> reason = EXIT_INVEPT;
            default -> reason = EXIT_INVVPID;
        }
        long qual = 0;
        int info = 0;
        switch (in.op()) {
            case Op.VMCLEAR, Op.VMPTRLD, Op.VMPTRST, Op.VMXON -> {
                info = memoryInfo(in);   // Table 28-14
                qual = displacementQualification(in);
            }
            case Op.VMREAD, Op.VMWRITE -> {
                // Table 28-15: reg2 = the field-encoding register; reg1/memory = the value operand
                info = (in.reg() & 15) << II_REG2_SHIFT;
                if (in.isMem()) {
                    info |= memoryInfo(in);
                    qual = displacementQualification(in);
                } else {
                    info |= II_REGISTER | (in.rm() & 15) << II_REG1_SHIFT;
                }
            }
            case Op.INVEPT, Op.INVVPID -> {
                info = memoryInfo(in) | (in.reg() & 15) << II_REG2_SHIFT;   // Table 28-13
                qual = displacementQualification(in);
            }
            default -> {
            }
        }
        c.exit.instructionInfo = info;
        return exitFor(in, reason, qual);
    }

    private int xsaves(Insn in) {
        if (!secondary(S_XSAVES) || (c.cr4 & CR4_OSXSAVE) == 0) {
            throw c.ud();
        }
        requireCpl0();
        long edxEax = (c.gpr[EDX] & 0xFFFF_FFFFL) << 32 | (c.gpr[EAX] & 0xFFFF_FFFFL);
        // SDM 3C 26.1.3: exit if EDX:EAX & IA32_XSS & XSS-exiting bitmap != 0. The exit comes
        // before #NM, the alignment #GP and memory faults (SDM 3C 26.1.1: only #UD and
        // privilege-level faults have priority over it)
        if ((edxEax & xss & c.controls.xssExitingBitmap) != 0) {
            c.exit.instructionInfo = memoryInfo(in);   // Table 28-14 (VMCLEAR, ..., XRSTORS, XSAVES)
            return exitFor(in, in.op() == Op.XSAVES ? EXIT_XSAVES : EXIT_XRSTORS, displacementQualification(in));
        }
        return in.op() == Op.XSAVES ? xsave.save(in) : xsave.restore(in);
    }

    /**
     * PAUSE (SDM 3C 26.1.3): "PAUSE exiting" exits at every CPL; otherwise "PAUSE-loop exiting"
     * applies at CPL 0 only. Exit qualification 0 (SDM 3C 28.2.1).
     */
    private int pause(Insn in) {
        if (primary(P_PAUSE)) {
            return exitFor(in, EXIT_PAUSE, 0);
        }
        if (c.cpl == 0 && secondary(S_PAUSE_LOOP)
                && pauseLoop.pause(c.tsc + c.blockPos, c.controls.pleGap, c.controls.pleWindow)) {
            return exitFor(in, EXIT_PAUSE, 0);
        }
        return Exec.NEXT;
    }

    // ---- SYSENTER / SYSEXIT (SDM 2) ----

    private int sysenter() {
        if (!c.protectedMode || (c.sysenterCs & 0xFFFC) == 0) {
            throw c.gp(0);
        }
        int cs = (int) c.sysenterCs & 0xFFFC;
        c.flagsOther &= ~(Alu.VM | Alu.IF | Alu.RF);
        c.updateMode();
        c.cs.load(cs, 0, 0xFFFF_FFFF, 0xC09B);    // flat 32-bit code, DPL 0, accessed
        c.ss.load(cs + 8, 0, 0xFFFF_FFFF, 0xC093);
        c.refreshSegment(CS);
        c.refreshSegment(SS);
        c.gpr[ESP] = c.sysenterEsp & 0xFFFF_FFFFL;
        c.rip = c.sysenterEip & 0xFFFF_FFFFL;
        c.updateMode();
        c.mmu.cplChanged();
        return Exec.END_BLOCK;
    }

    private int sysexit(Insn in) {
        if (!c.protectedMode || c.v86 || c.cpl != 0 || (c.sysenterCs & 0xFFFC) == 0) {
            throw c.gp(0);
        }
        int cs = (int) c.sysenterCs & 0xFFFC;
        c.cs.load((cs + 16) | 3, 0, 0xFFFF_FFFF, 0xC0FB);
        c.ss.load((cs + 24) | 3, 0, 0xFFFF_FFFF, 0xC0F3);
        c.refreshSegment(CS);
        c.refreshSegment(SS);
        c.gpr[ESP] = c.gpr[ECX] & 0xFFFF_FFFFL;
        c.rip = c.gpr[EDX] & 0xFFFF_FFFFL;
        c.updateMode();
        c.mmu.cplChanged();
        return Exec.END_BLOCK;
    }

    // ---- IA-32e mode: SYSCALL/SYSRET (SDM 2; SDM 3A 5.8.8), SYSENTER/SYSEXIT, FSGSBASE ----

    private int syscall() {
        if ((c.efer & EFER_SCE) == 0) {
            throw c.ud();
        }
        int sel = (int) (c.star >>> 32) & 0xFFFC;
        c.gpr[ECX] = c.rip;
        c.gpr[11] = c.rflags() & ~Alu.RF;
        c.setRflags(c.rflags() & ~c.sfmask & ~Alu.RF);
        c.cs.load(sel, 0, 0xFFFF_FFFF, AR_CODE64_DPL0);
        c.ss.load(sel + 8, 0, 0xFFFF_FFFF, AR_DATA_DPL0);
        c.rip = c.lstar;   // compatibility-mode SYSCALL (CSTAR) is #UD on Intel processors
        farTransferDone();
        return Exec.END_BLOCK;
    }

    private int sysret(Insn in) {
        if ((c.efer & EFER_SCE) == 0) {
            throw c.ud();
        }
        boolean to64 = (in.flags() & Insn.F_REX_W) != 0;
        if (c.cpl != 0 || to64 && !canonical(c.gpr[ECX])) {
            throw c.gp(0);
        }
        int sel = (int) (c.star >>> 48) & 0xFFFF;
        c.setRflags((c.gpr[11] & SYSRET_FLAGS) | Alu.FIXED1);
        if (to64) {
            c.cs.load((sel + 16) | 3, 0, 0xFFFF_FFFF, AR_CODE64_DPL3);
            c.rip = c.gpr[ECX];
        } else {
            c.cs.load(sel | 3, 0, 0xFFFF_FFFF, AR_CODE32_DPL3);
            c.rip = c.gpr[ECX] & 0xFFFF_FFFFL;
        }
        // SDM 2 SYSRET: SS.Selector = (STAR[63:48] + 8) OR 3, the cached attributes fixed (not from the GDT)
        c.ss.load((sel + 8) | 3, 0, 0xFFFF_FFFF, AR_DATA_DPL3);
        farTransferDone();
        return Exec.END_BLOCK;
    }

    /** After a far transfer that loaded CS/SS caches directly: refresh the derived state. */
    private void farTransferDone() {
        c.refreshSegment(CS);
        c.refreshSegment(SS);
        c.updateMode();
        c.refreshSegment(CS);
        c.refreshSegment(SS);
        c.mmu.cplChanged();
    }

    /** SYSENTER in IA-32e mode (SDM 2 SYSENTER): a 64-bit CS, 64-bit RSP and RIP. */
    private int sysenter64() {
        if ((c.sysenterCs & 0xFFFC) == 0) {
            throw c.gp(0);
        }
        int cs = (int) c.sysenterCs & 0xFFFC;
        c.flagsOther &= ~(Alu.VM | Alu.IF | Alu.RF);
        c.cs.load(cs, 0, 0xFFFF_FFFF, AR_CODE64_DPL0);
        c.ss.load(cs + 8, 0, 0xFFFF_FFFF, AR_DATA_DPL0);
        c.gpr[ESP] = c.sysenterEsp;
        c.rip = c.sysenterEip;
        farTransferDone();
        return Exec.END_BLOCK;
    }

    /** SYSEXIT in IA-32e mode: REX.W returns to 64-bit code at RDX with RSP = RCX, else to compatibility mode. */
    private int sysexit64(Insn in) {
        if (c.cpl != 0 || (c.sysenterCs & 0xFFFC) == 0) {
            throw c.gp(0);
        }
        int cs = (int) c.sysenterCs & 0xFFFC;
        boolean to64 = (in.flags() & Insn.F_REX_W) != 0;
        if (to64) {
            if (!canonical(c.gpr[EDX]) || !canonical(c.gpr[ECX])) {
                throw c.gp(0);
            }
            c.cs.load((cs + 32) | 3, 0, 0xFFFF_FFFF, AR_CODE64_DPL3);
            c.ss.load((cs + 40) | 3, 0, 0xFFFF_FFFF, AR_DATA_DPL3);
            c.gpr[ESP] = c.gpr[ECX];
            c.rip = c.gpr[EDX];
        } else {
            c.cs.load((cs + 16) | 3, 0, 0xFFFF_FFFF, AR_CODE32_DPL3);
            c.ss.load((cs + 24) | 3, 0, 0xFFFF_FFFF, AR_DATA_DPL3);
            c.gpr[ESP] = c.gpr[ECX] & 0xFFFF_FFFFL;
            c.rip = c.gpr[EDX] & 0xFFFF_FFFFL;
        }
        farTransferDone();
        return Exec.END_BLOCK;
    }

    /** RDFSBASE/RDGSBASE/WRFSBASE/WRGSBASE (SDM 2): #UD unless CR4.FSGSBASE; writes must be canonical. */
    private int fsGsBase(Insn in) {
        if ((c.cr4 & CR4_FSGSBASE) == 0) {
            throw c.ud();
        }
        int kind = in.sub();
        Segment seg = (kind & 1) == 0 ? c.fs : c.gs;
        if (kind < 2) {
            c.setReg(in.rm(), 0, in.mask(), seg.base);
            return Exec.NEXT;
        }
        long v = c.gpr[in.rm()] & in.mask();
        if (!canonical(v)) {
            throw c.gp(0);
        }
        seg.base = v;
        c.refreshSegment((kind & 1) == 0 ? FS : GS);
        c.systemStateChanged = true;
        return Exec.NEXT;
    }
}
