package org.hotvisor.vmx.cpu.x86;

import static java.lang.constant.ConstantDescs.*;

import java.lang.classfile.ClassFile;
import java.lang.classfile.CodeBuilder;
import java.lang.classfile.Label;
import java.lang.constant.ClassDesc;
import java.lang.constant.DynamicConstantDesc;
import java.lang.constant.MethodTypeDesc;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Arrays;
import java.util.List;

/**
 * Translates a hot {@link Block} into a hidden class whose {@code run} method calls the same
 * {@link Hot} handlers the interpreter uses, in a straight line, with each {@link Insn} loaded as a
 * constant (class data via {@code ldc} of a dynamic constant). Because {@code Insn} is a record,
 * HotSpot trusts its fields as constants and compiles each block into specialised machine code.
 * Instructions without a handler go through {@link #rare}, i.e. the interpreter's general path.
 *
 * <p>Contract of {@link CompiledBlock#run}: it updates {@code core.rip} to the end of each
 * instruction that can fault or reads RIP before running it, so after a {@link GuestFault} or
 * {@link VmExitSignal} the caller finds the instruction from RIP. It returns the number of
 * instructions retired, with {@link #EXIT_FLAG} set when an instruction recorded a VM exit (RIP is
 * then at that instruction). It returns early when a write dropped decoded code
 * ({@code core.smc}).
 *
 * <p>A hot block that heads a loop (its relative jumps and fall-throughs lead back to it through at
 * most {@link X86Core#LOOP_MEMBERS} blocks of its page) is translated with the loop's other blocks:
 * where a block's jump lands on a member's start (RIP compared, not assumed), the run goes on
 * there in place when {@link X86Core#stepTo} allows, which retires the block just finished and
 * records the member in {@code core.loopMember}. The count returned, and RIP after a fault or exit,
 * then refer to that member, as if {@code run} had been called for it.
 */
final class BlockCompiler {
    static final int EXIT_FLAG = 1 << 30;
    /** Interpreted executions before a block is compiled. */
    static final int THRESHOLD = 64;

    private static final System.Logger LOG = System.getLogger(BlockCompiler.class.getName());
    private static final String PKG = "org.hotvisor.vmx.cpu.x86.";
    private static final ClassDesc CD_CORE = ClassDesc.of(PKG + "X86Core");
    private static final ClassDesc CD_INSN = ClassDesc.of(PKG + "Insn");
    private static final ClassDesc CD_HOT = ClassDesc.of(PKG + "Hot");
    private static final ClassDesc CD_SELF = ClassDesc.of(PKG + "BlockCompiler");
    private static final ClassDesc CD_COMPILED = ClassDesc.of(PKG + "CompiledBlock");
    private static final ClassDesc CD_BLOCK = ClassDesc.of(PKG + "Block");
    private static final MethodTypeDesc MT_HANDLER = MethodTypeDesc.of(CD_void, CD_CORE, CD_INSN);
    private static final MethodTypeDesc MT_HANDLER_KIND = MethodTypeDesc.of(CD_void, CD_CORE, CD_INSN, CD_int);
    private static final MethodTypeDesc MT_RARE = MethodTypeDesc.of(CD_int, CD_CORE, CD_INSN, CD_int);
    private static final MethodTypeDesc MT_RUN = MethodTypeDesc.of(CD_int, CD_CORE);
    private static final MethodTypeDesc MT_STEP_TO = MethodTypeDesc.of(CD_boolean, CD_BLOCK, CD_int, CD_int, CD_long, CD_int);
    private static final MethodTypeDesc MT_MAY_LOOP = MethodTypeDesc.of(CD_boolean, CD_long);
    /** Instructions a translated loop may hold (C2 compiles the whole translation as one method). */
    static final int LOOP_INSNS = 96;

    private static final String[] HANDLER = new String[Op.COUNT];
    /** Ops that neither fault nor read RIP nor touch memory. */
    private static final boolean[] REGISTER_ONLY = new boolean[Op.COUNT];
    /** Ops that may write guest memory (then a self-modification check follows). */
    private static final boolean[] MAY_WRITE = new boolean[Op.COUNT];

    static {
        Object[][] generic = {
            {Op.MOV_RR, "movRR"}, {Op.MOV_RM, "movRM"}, {Op.MOV_MR, "movMR"}, {Op.MOV_RI, "movRI"}, {Op.MOV_MI, "movMI"},
            {Op.LEA, "lea"}, {Op.MOVZX_RR, "movzxRR"}, {Op.MOVZX_RM, "movzxRM"}, {Op.ALU_RR, "aluRR"},
            {Op.ALU_RI, "aluRI"}, {Op.ALU_RM, "aluRM"}, {Op.ALU_MR, "aluMR"}, {Op.ALU_MI, "aluMI"}, {Op.INC_R, "incR"},
            {Op.DEC_R, "decR"}, {Op.JMP_REL, "jmpRel"}, {Op.CALL_REL, "callRel"}, {Op.RET, "ret"}, {Op.PUSH_R, "pushR"},
            {Op.POP_R, "popR"}, {Op.PUSH_I, "pushI"}, {Op.SHIFT_R, "shiftR"}, {Op.IMUL_RRI, "imulRRI"},
            {Op.IMUL_RR, "imulRR"}, {Op.XCHG_RR, "xchgRR"}, {Op.MOV32_RR, "mov32RR"}, {Op.MOV32_RM, "mov32RM"},
            {Op.MOV32_MR, "mov32MR"}, {Op.MOV32_RI, "mov32RI"}, {Op.MOV32_MI, "mov32MI"}, {Op.LEA32, "lea32"},
            {Op.INC32_R, "inc32R"}, {Op.DEC32_R, "dec32R"}, {Op.PUSH32_R, "push32R"}, {Op.POP32_R, "pop32R"},
            {Op.JMP_M, "jmpM"}, {Op.JMP_R, "jmpR"}, {Op.INC_M, "incDecM"}, {Op.DEC_M, "incDecM"},
            {Op.IMUL_RM, "imulRM"}, {Op.IMUL_RMI, "imulRMI"}, {Op.MOVSX_RM, "movsxRM"}, {Op.MOVSX_RR, "movsxRR"},
            {Op.BSWAP, "bswap"}, {Op.CMOV_RR, "cmovRR"}, {Op.SETCC_R, "setccR"}, {Op.MUL1_R, "mulDivR"},
            {Op.BT_R, "bitTest"}, {Op.LOOP, "loop"}, {Op.MOVS, "stringOnce"}, {Op.CMPS, "stringOnce"},
            {Op.SCAS, "stringOnce"}, {Op.LODS, "stringOnce"}, {Op.STOS, "stringOnce"}, {Op.MUL1_M, "mulDivM"},
            {Op.SHIFT_M, "shiftM"}, {Op.SHLD_R, "shiftDoubleR"}, {Op.SHRD_R, "shiftDoubleR"},
            {Op.SHLD_M, "shiftDoubleM"}, {Op.SHRD_M, "shiftDoubleM"}, {Op.BT_M, "bitTest"},
            {Op.NOT_R, "notR"}, {Op.NEG_R, "negR"}, {Op.CBW, "cbw"}, {Op.CWD, "cwd"}, {Op.XLAT, "xlat"},
            {Op.LEAVE, "leave"}, {Op.BSF_R, "bitScan"}, {Op.BSR_R, "bitScan"}, {Op.BSF_M, "bitScan"},
            {Op.BSR_M, "bitScan"}, {Op.MOV_SEG_R, "movSeg"}, {Op.MOV_SEG_M, "movSeg"}, {Op.PUSH_SEG, "pushSeg"},
            {Op.POP_SEG, "popSeg"}, {Op.LFP, "loadFarPointer"}, {Op.PUSHA, "pusha"}, {Op.POPA, "popa"},
            {Op.MOV_R_SEG, "movFromSeg"}, {Op.MOV_M_SEG, "movFromSeg"},
        };
        for (Object[] g : generic) {
            HANDLER[(Integer) g[0]] = (String) g[1];
        }
        for (int k = 0; k < 9; k++) {
            HANDLER[Op.ALU32_RR + k] = "alu32RR";
            HANDLER[Op.ALU32_RI + k] = "alu32RI";
            HANDLER[Op.ALU32_RM + k] = "alu32RM";
            HANDLER[Op.ALU32_MR + k] = "alu32MR";
            REGISTER_ONLY[Op.ALU32_RR + k] = true;
            REGISTER_ONLY[Op.ALU32_RI + k] = true;
            MAY_WRITE[Op.ALU32_MR + k] = k < Alu.CMP;
        }
        HANDLER[Op.SHIFT32_RI + Alu.ROL] = "rol32";
        HANDLER[Op.SHIFT32_RI + Alu.ROR] = "ror32";
        HANDLER[Op.SHIFT32_RI + Alu.SHL] = "shl32";
        HANDLER[Op.SHIFT32_RI + Alu.SAL] = "shl32";
        HANDLER[Op.SHIFT32_RI + Alu.SHR] = "shr32";
        HANDLER[Op.SHIFT32_RI + Alu.SAR] = "sar32";
        for (int k : new int[] {Alu.ROL, Alu.ROR, Alu.SHL, Alu.SAL, Alu.SHR, Alu.SAR}) {
            REGISTER_ONLY[Op.SHIFT32_RI + k] = true;
        }
        for (int cc = 0; cc < 16; cc++) {
            HANDLER[Op.JCC_CC + cc] = "jcc";
        }
        for (int op : new int[] {Op.MOV_RR, Op.MOV_RI, Op.MOVZX_RR, Op.ALU_RR, Op.ALU_RI, Op.INC_R, Op.DEC_R,
            Op.SHIFT_R, Op.IMUL_RRI, Op.IMUL_RR, Op.XCHG_RR, Op.MOV32_RR, Op.MOV32_RI, Op.LEA, Op.LEA32, Op.INC32_R,
            Op.DEC32_R, Op.NOP, Op.MOVSX_RR, Op.BSWAP, Op.CMOV_RR, Op.SETCC_R, Op.NOT_R, Op.NEG_R, Op.CBW, Op.CWD,
            Op.BSF_R, Op.BSR_R, Op.MOV_R_SEG}) {
            REGISTER_ONLY[op] = true;
        }
        // a segment load may set a descriptor's accessed bit in memory (SDM 3A 3.4.5.1)
        for (int op : new int[] {Op.PUSH_SEG, Op.PUSHA, Op.MOV_M_SEG, Op.MOV_SEG_R, Op.MOV_SEG_M, Op.POP_SEG, Op.LFP,
            Op.MOV_MR, Op.MOV_MI, Op.ALU_MR, Op.ALU_MI, Op.MOV32_MR, Op.MOV32_MI, Op.CALL_REL, Op.PUSH_R, Op.PUSH_I,
            Op.PUSH32_R, Op.INC_M, Op.DEC_M, Op.MOVS, Op.STOS, Op.SHIFT_M, Op.SHLD_M, Op.SHRD_M, Op.BT_M}) {
            MAY_WRITE[op] = true;
        }
    }

    long compiled, failed;
    /** Compiled blocks that head a loop translated with its other blocks (or alone, for a one-block loop). */
    long loopingBlocks;

    /**
     * Compiles {@code b}, with the loop it heads when {@code members} (b first, from
     * {@code X86Core.loopMembers}) is not null and small enough; null if the class could not be
     * generated (the block stays interpreted).
     */
    CompiledBlock compile(Block b, Block[] members, long[] offsets) {
        if (members == null || members.length == 0 || members[0] != b || totalInsns(members) > LOOP_INSNS) {
            members = null;
            offsets = null;
        }
        Block[] blocks = members != null ? members : new Block[] {b};
        long[] starts = offsets != null ? offsets : new long[] {0};
        try {
            byte[] bytes = generate(blocks, starts, members != null);
            // class data: every member's instructions in order, then the member blocks (their validity)
            java.util.ArrayList<Object> data = new java.util.ArrayList<>();
            for (Block m : blocks) {
                data.addAll(Arrays.asList(m.insns));
            }
            data.addAll(Arrays.asList(blocks));
            MethodHandles.Lookup hidden = MethodHandles.lookup().defineHiddenClassWithClassData(bytes,
                    List.copyOf(data), true);
            CompiledBlock result = (CompiledBlock) hidden.findConstructor(hidden.lookupClass(),
                    MethodType.methodType(void.class)).invoke();
            compiled++;
            if (members != null) {
                b.members = members;
                b.memberOffsets = offsets;
                loopingBlocks++;
            }
            return result;
        } catch (Throwable t) {
            failed++;
            if (failed == 1) {
                LOG.log(System.Logger.Level.WARNING, "block compilation failed; interpreting instead", t);
            }
            return null;
        }
    }

    /** Kind argument of the handlers that take one, or -1. */
    private static int kindOf(int op) {
        if (op >= Op.ALU32_RR && op < Op.MOV32_RR) {
            return (op - Op.ALU32_RR) % 9;
        }
        if (op >= Op.JCC_CC && op < Op.JCC_CC + 16) {
            return op - Op.JCC_CC;
        }
        return -1;
    }

    private static int totalInsns(Block[] blocks) {
        int n = 0;
        for (Block m : blocks) {
            n += m.insns.length;
        }
        return n;
    }

    /**
     * Whether {@code in} runs through its inline handler: not LOCKed (the bus lock is the
     * executor's), and a string instruction only without REP (a REP one yields between iterations).
     */
    private static boolean inline(Insn in) {
        int op = in.op();
        if (op < 0 || op >= Op.COUNT || HANDLER[op] == null || (in.flags() & Insn.F_ATOMIC) != 0) {
            return false;
        }
        if ((op == Op.MOV_SEG_R || op == Op.MOV_SEG_M || op == Op.POP_SEG || op == Op.LFP) && in.sub() == X86Core.SS) {
            return false; // MOV SS, POP SS, LSS: the interrupt shadow ends the block (the executor's END_BLOCK)
        }
        return !"stringOnce".equals(HANDLER[op]) || (in.flags() & (Insn.F_REP | Insn.F_REPNE)) == 0;
    }

    /**
     * Where a block may go next, as offsets from the loop head's start, given the offset of its
     * own end: a relative Jcc's or LOOPcc's target and fall-through, a relative JMP's or CALL's target, or
     * the next instruction if the block was only cut (by its length or the page end). Anything
     * else (an indirect jump, a system instruction ending the block) has no static successor. (A
     * 16-bit IP wrap could still miss the target: the generated code compares RIP itself.)
     */
    static long[] staticSuccessors(Insn[] insns, long end) {
        Insn last = insns[insns.length - 1];
        int op = last.op();
        boolean handled = inline(last);
        if (handled && (op >= Op.JCC_CC && op < Op.JCC_CC + 16 || op == Op.LOOP)) {
            return new long[] {end + last.imm(), end};   // LOOPcc and JECXZ branch like Jcc
        }
        if (handled && (op == Op.JMP_REL || op == Op.CALL_REL)) {
            return new long[] {end + last.imm()}; // a CALL's target too: recursion and calls into a loop step in place
        }
        if ((last.flags() & Insn.F_ENDS_BLOCK) == 0 && last.op() != Op.UD && last.op() != Op.GP0) {
            return new long[] {end};
        }
        return new long[0];
    }

    private static byte[] generate(Block[] blocks, long[] starts, boolean loop) {
        ClassDesc self = ClassDesc.of(PKG + "CompiledBlock$Gen");
        return ClassFile.of().build(self, cb -> {
            cb.withFlags(ClassFile.ACC_FINAL | ClassFile.ACC_SYNTHETIC);
            cb.withSuperclass(CD_COMPILED);
            cb.withMethodBody(INIT_NAME, MTD_void, ClassFile.ACC_PUBLIC, code -> {
                code.aload(0);
                code.invokespecial(CD_COMPILED, INIT_NAME, MTD_void);
                code.return_();
            });
            cb.withMethodBody("run", MT_RUN, ClassFile.ACC_PUBLIC | ClassFile.ACC_FINAL, code -> emitRun(code, blocks, starts, loop));
        });
    }

    private static final int CORE = 1, RIP0 = 2, EPOCH0 = 4, MAY_LOOP = 6;

    /**
     * The run method: each block's instructions in turn (the first is the one {@code run} is called
     * for); with {@code loop}, after each block a check per static successor that is a member.
     */
    private static void emitRun(CodeBuilder code, Block[] blocks, long[] starts, boolean loop) {
        code.aload(CORE);
        code.getfield(CD_CORE, "rip", CD_long);
        code.lstore(RIP0);
        if (loop) {
            code.aload(CORE);
            code.iconst_0();
            code.putfield(CD_CORE, "loopMember", CD_int);
            code.aload(CORE);
            code.getfield(CD_CORE, "mapEpoch", CD_long);
            code.lstore(EPOCH0);
            long span = 0;
            for (int i = 0; i < blocks.length; i++) {
                span = Math.max(span, starts[i] + blocks[i].bytes);
            }
            code.aload(CORE);
            code.loadConstant(span);
            code.invokevirtual(CD_CORE, "mayLoop", MT_MAY_LOOP);
            code.istore(MAY_LOOP);
        }
        Label[] entry = new Label[blocks.length];
        for (int i = 0; i < blocks.length; i++) {
            entry[i] = code.newLabel();
        }
        int totalInsns = totalInsns(blocks);
        int base = 0;
        for (int i = 0; i < blocks.length; i++) {
            code.labelBinding(entry[i]);
            Insn[] insns = blocks[i].insns;
            long end = emitBlock(code, insns, starts[i], base);
            if (loop) {
                for (long next : staticSuccessors(insns, end)) {
                    int j = indexOf(starts, next);
                    if (j < 0) {
                        continue;
                    }
                    // RIP at member j's start (compared, not assumed) and allowed: go on there
                    Label other = code.newLabel();
                    Label leave = code.newLabel();
                    code.aload(CORE);
                    code.getfield(CD_CORE, "rip", CD_long);
                    code.lload(RIP0);
                    code.loadConstant(next);
                    code.ladd();
                    code.lcmp();
                    code.ifne(other);
                    code.iload(MAY_LOOP);
                    code.ifeq(leave);
                    code.aload(CORE);
                    code.ldc(DynamicConstantDesc.ofNamed(BSM_CLASS_DATA_AT, DEFAULT_NAME, CD_BLOCK, totalInsns + j));
                    code.loadConstant(insns.length);
                    code.loadConstant(blocks[j].insns.length);
                    code.lload(EPOCH0);
                    code.loadConstant(j);
                    code.invokevirtual(CD_CORE, "stepTo", MT_STEP_TO);
                    code.ifeq(leave);
                    code.goto_(entry[j]);
                    code.labelBinding(leave);
                    code.loadConstant(insns.length);
                    code.ireturn();
                    code.labelBinding(other);
                }
            }
            code.loadConstant(insns.length);
            code.ireturn();
            base += insns.length;
        }
    }

    private static int indexOf(long[] starts, long offset) {
        for (int j = 0; j < starts.length; j++) {
            if (starts[j] == offset) {
                return j;
            }
        }
        return -1;
    }

    /**
     * One block's instructions, at {@code start} bytes from the head's RIP, their constants at
     * class-data index {@code base + k}; returns the offset of the block's end. RIP is set to the
     * block's end when it falls through.
     */
    private static long emitBlock(CodeBuilder code, Insn[] insns, long start, int base) {
        long end = start;
        boolean ripSet = false;
        for (int k = 0; k < insns.length; k++) {
            Insn in = insns[k];
            end += in.len();
            int op = in.op();
            if (op == Op.NOP) {
                ripSet = false; // no code: gcc's alignment padding, which loops fall through
                continue;
            }
            // a RIP-relative operand reads RIP (SDM 2 2.2.1.6), so RIP must be current
            boolean registerOnly = REGISTER_ONLY[op] && inline(in) && in.base() != Insn.BASE_RIP;
            if (!registerOnly) {
                setRip(code, end);
            }
            ripSet = !registerOnly;
            DynamicConstantDesc<Insn> insnConst = DynamicConstantDesc.ofNamed(BSM_CLASS_DATA_AT, DEFAULT_NAME, CD_INSN, base + k);
            code.aload(CORE);
            code.ldc(insnConst);
            if (inline(in)) {
                int kind = kindOf(op);
                if (kind >= 0) {
                    code.loadConstant(kind);
                    code.invokestatic(CD_HOT, HANDLER[op], MT_HANDLER_KIND);
                } else {
                    code.invokestatic(CD_HOT, HANDLER[op], MT_HANDLER);
                }
                if (MAY_WRITE[op]) {
                    emitSmcCheck(code, k + 1);
                }
            } else {
                code.loadConstant(k);
                code.invokestatic(CD_SELF, entryFor(in), MT_RARE);
                Label next = code.newLabel();
                code.dup();
                code.iflt(next);
                code.ireturn();
                code.labelBinding(next);
                code.pop();
                emitSmcCheck(code, k + 1);
            }
        }
        if (!ripSet) {
            setRip(code, end);
        }
        return end;
    }

    private static void setRip(CodeBuilder code, long end) {
        code.aload(CORE);
        code.lload(RIP0);
        code.loadConstant(end);
        code.ladd();
        code.putfield(CD_CORE, "rip", CD_long);
    }

    /** Leaves the block (k instructions retired) if a write dropped decoded code. */
    private static void emitSmcCheck(CodeBuilder code, int retired) {
        Label go = code.newLabel();
        code.aload(CORE);
        code.getfield(CD_CORE, "smc", CD_boolean);
        code.ifeq(go);
        code.loadConstant(retired);
        code.ireturn();
        code.labelBinding(go);
    }

    /**
     * The static method a block calls for an instruction without an inline handler: exit-prone
     * system instructions go straight to SystemOps (the executor's switch would only forward them
     * there), so an exit-bound guest runs fast once those small methods are compiled, without
     * waiting for the JIT to compile the executor's whole switch.
     */
    private static String entryFor(Insn in) {
        if ((in.flags() & Insn.F_ATOMIC) != 0) {
            return "rare";
        }
        return switch (in.op()) {
            case Op.IN, Op.OUT, Op.INS, Op.OUTS -> "io";
            case Op.CPUID, Op.RDMSR, Op.WRMSR, Op.RDTSC, Op.RDTSCP, Op.HLT -> "system";
            case Op.SIMD -> "simd";
            case Op.FPU_ESC -> "x87";
            default -> "rare";
        };
    }

    /** IN, OUT, INS, OUTS; the same contract as {@link #rare}. */
    static int io(X86Core c, Insn in, int k) {
        c.blockPos = k;
        return outcome(c, in, k, c.sys.io(in));
    }

    /**
     * CPUID, RDMSR, WRMSR, RDTSC, RDTSCP or HLT; the same contract as {@link #rare}. Through
     * SystemOps' small switch of small methods, not its whole one: C2 inlines the instruction's
     * method into the block, so an exit-bound guest neither calls nor waits for the big switch.
     */
    static int system(X86Core c, Insn in, int k) {
        c.blockPos = k;
        return outcome(c, in, k, c.sys.exitProne(in));
    }

    /** SSE and MMX: straight to their unit, not through the executor's and SystemOps' switches. */
    static int simd(X86Core c, Insn in, int k) {
        c.blockPos = k;
        return outcome(c, in, k, c.sse.execute(in));
    }

    /** x87 escapes (D8-DF), likewise. */
    static int x87(X86Core c, Insn in, int k) {
        c.blockPos = k;
        return outcome(c, in, k, c.x87.execute(in));
    }

    /**
     * The general path for instructions without a handler: runs the interpreter's executor.
     *
     * @return -1 to continue the block, else the value {@code run} returns
     */
    static int rare(X86Core c, Insn in, int k) {
        c.blockPos = k;
        c.generalPathRuns++;
        return outcome(c, in, k, (in.flags() & Insn.F_ATOMIC) != 0 ? c.executeAtomic(in) : c.ops.execute(in));
    }

    private static int outcome(X86Core c, Insn in, int k, int outcome) {
        if (outcome == Exec.NEXT) {
            return -1;
        }
        if (outcome == Exec.EXIT) {
            c.rip -= in.len();
            return k | EXIT_FLAG;
        }
        if (outcome == Exec.TRAP_EXIT) {
            return (k + 1) | EXIT_FLAG;
        }
        return k + 1;
    }
}
