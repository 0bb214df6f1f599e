package org.hotvisor.vmx.cpu.diff;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Seeded generator of x87, MMX and SSE/SSE2/SSE3 cases for the differential test (issue #7). A
 * case is self-contained: it initialises the FPU (FNINIT, FLDCW with a random precision and
 * rounding control, all exceptions masked) or MXCSR (LDMXCSR with a random rounding control, FTZ
 * and DAZ), writes its operands into the scratch area with MOVs (special values: zeros,
 * denormals, infinities, quiet and signalling NaNs, unnormals, integer limits, and random ones),
 * runs one instruction, and dumps the result into the scratch area (FSTP m80 of ST0/ST1, MOVDQU,
 * STMXCSR, FNSTCW) and AX (FNSTSW), so the harness's register and scratch-checksum comparison
 * covers every FP result bit and exception flag. FSW bits the SDM leaves undefined after the
 * instruction (C0, C2, C3 outside comparisons and FPREM) are masked out of AX.
 */
final class FloatCaseGenerator {
    /** One case in {@value #ONE_IN} is a floating-point case (CaseGenerator keeps its integer stream). */
    static final int ONE_IN = 5;
    private static final long SEED_MIX = 0xF10A_7C0DL;
    private static final int A = 0x8000, B = 0x8010, ST0_OUT = 0x8020, ST1_OUT = 0x8030, XMM_OUT = 0x8040,
            MXCSR_OUT = 0x8050, CW = 0x8054, INT_OUT = 0x8060, ST2_OUT = 0x8070;
    private static final int FSW_DE = 1 << 1, FSW_C0 = 1 << 8, FSW_C1 = 1 << 9, FSW_C2 = 1 << 10, FSW_C3 = 1 << 14;
    /** OF, SF, AF: FCOMI/FUCOMI clear them (SDM 2 FCOMI); QEMU TCG leaves them unchanged. */
    private static final int FCOMI_CLEARED_FLAGS = 0x800 | 0x80 | 0x10;
    private static final int EAX = 0, EDI = 7, MXCSR_DE = 1 << 1;

    private static final long[] DOUBLES = {0, 0x8000_0000_0000_0000L, 0x3FF0_0000_0000_0000L, 0xBFF0_0000_0000_0000L,
        0x3FB9_9999_9999_999AL, 0x3FD5_5555_5555_5555L, 0x7FEF_FFFF_FFFF_FFFFL, 0x0010_0000_0000_0000L,
        0x000F_FFFF_FFFF_FFFFL, 0x0000_0000_0000_0001L, 0x7FF0_0000_0000_0000L, 0xFFF0_0000_0000_0000L,
        0x7FF8_0000_0000_0000L, 0x7FF4_0000_0000_0001L, 0x4340_0000_0000_0000L, 0x43E0_0000_0000_0000L,
        0xC1E0_0000_0000_0000L, 0x3FE0_0000_0000_0000L, 0x4004_0000_0000_0000L, 0xC00C_0000_0000_0000L};
    private static final int[] SINGLES = {0, 0x8000_0000, 0x3F80_0000, 0xBF80_0000, 0x3DCC_CCCD, 0x7F7F_FFFF, 0x0080_0000,
        0x007F_FFFF, 0x0000_0001, 0x7F80_0000, 0xFF80_0000, 0x7FC0_0000, 0x7FA0_0001, 0x4F00_0000, 0xCF00_0000,
        0x3F00_0000, 0x4020_0000, 0xC060_0000, 0x4B80_0000};

    private static final String[] X87_BINARY = {"fadd st0, st1", "fsub st0, st1", "fsubr st0, st1", "fmul st0, st1",
        "fdiv st0, st1", "fdivr st0, st1", "faddp st1, st0", "fsubp st1, st0", "fmulp st1, st0", "fdivp st1, st0",
        "fadd st1, st0", "fdivr st1, st0", "fscale", "fprem", "fprem1", "fxch st1", "fcmovb st0, st1",
        "fcmovnbe st0, st1"};
    private static final String[] X87_UNARY = {"fsqrt", "frndint", "fxtract", "fchs", "fabs", "fxam", "ftst"};
    private static final String[] X87_COMPARE = {"fcom st1", "fucom st1", "fcomp st1", "fucompp", "fcompp"};
    private static final String[] X87_EFLAGS = {"fcomi st0, st1", "fucomi st0, st1", "fcomip st0, st1",
        "fucomip st0, st1"};
    private static final String[] X87_MEMORY = {"fadd qword [0x8010]", "fsub dword [0x8010]", "fmul qword [0x8010]",
        "fdiv dword [0x8010]", "fdivr qword [0x8010]", "fiadd dword [0x8010]", "fimul word [0x8010]",
        "fidiv dword [0x8010]", "fisubr word [0x8010]", "fcom qword [0x8010]", "ficom dword [0x8010]"};
    private static final String[] X87_STORE = {"fist dword [0x8060]", "fistp word [0x8060]", "fistp qword [0x8060]",
        "fisttp dword [0x8060]", "fisttp qword [0x8060]", "fst dword [0x8060]", "fstp qword [0x8060]",
        "fbstp tword [0x8060]"};
    private static final String[] X87_CONSTANT = {"fld1", "fldl2t", "fldl2e", "fldpi", "fldlg2", "fldln2", "fldz"};

    private static final String[] SSE_ARITHMETIC = {"add", "sub", "mul", "div", "min", "max", "sqrt"};
    private static final String[] SSE_PREDICATES = {"eq", "lt", "le", "unord", "neq", "nlt", "nle", "ord"};
    private static final String[] SSE_CONVERT = {"cvtps2pd xmm0, xmm1", "cvtpd2ps xmm0, xmm1", "cvtss2sd xmm0, xmm1",
        "cvtsd2ss xmm0, xmm1", "cvtdq2ps xmm0, xmm1", "cvtps2dq xmm0, xmm1", "cvttps2dq xmm0, xmm1",
        "cvtdq2pd xmm0, xmm1", "cvtpd2dq xmm0, xmm1", "cvttpd2dq xmm0, xmm1", "cvtss2si eax, xmm1",
        "cvttss2si eax, xmm1", "cvtsd2si eax, xmm1", "cvttsd2si eax, xmm1", "cvtsi2ss xmm0, dword [0x8010]",
        "cvtsi2sd xmm0, dword [0x8010]"};
    private static final String[] SSE_OTHER = {"comiss xmm0, xmm1", "ucomiss xmm0, xmm1", "comisd xmm0, xmm1",
        "ucomisd xmm0, xmm1", "andps xmm0, xmm1", "andnpd xmm0, xmm1", "orps xmm0, xmm1", "xorpd xmm0, xmm1",
        "unpcklps xmm0, xmm1", "unpckhpd xmm0, xmm1", "shufps xmm0, xmm1, 0x1b", "shufpd xmm0, xmm1, 0x2",
        "movhlps xmm0, xmm1", "movlhps xmm0, xmm1", "movss xmm0, xmm1", "movsd xmm0, xmm1",
        "addsubps xmm0, xmm1", "addsubpd xmm0, xmm1", "haddps xmm0, xmm1", "hsubpd xmm0, xmm1",
        "movsldup xmm0, xmm1", "movshdup xmm0, xmm1", "movddup xmm0, xmm1", "movmskps eax, xmm1",
        "movmskpd eax, xmm1", "rcpss xmm0, xmm0"};
    private static final String[] SSE2_INTEGER = {"paddb", "paddw", "paddd", "paddq", "psubb", "psubw", "psubd",
        "psubq", "paddsb", "paddsw", "paddusb", "paddusw", "psubsb", "psubsw", "psubusb", "psubusw", "pmullw", "pmulhw",
        "pmulhuw", "pmuludq", "pmaddwd", "psadbw", "pavgb", "pavgw", "pminub", "pmaxub", "pminsw", "pmaxsw", "pand",
        "pandn", "por", "pxor", "pcmpeqb", "pcmpeqw", "pcmpeqd", "pcmpgtb", "pcmpgtw", "pcmpgtd", "packsswb",
        "packssdw", "packuswb", "punpcklbw", "punpcklwd", "punpckldq", "punpckhbw", "punpckhwd", "punpckhdq",
        "punpcklqdq", "punpckhqdq", "psrlw", "psrld", "psrlq", "psraw", "psrad", "psllw", "pslld", "psllq"};
    private static final String[] SSE2_IMMEDIATE = {"psrlw xmm0, 3", "psrad xmm0, 31", "psllq xmm0, 63",
        "psrldq xmm0, 5", "pslldq xmm0, 9", "pshufd xmm0, xmm1, 0x4e", "pshufhw xmm0, xmm1, 0x1b",
        "pshuflw xmm0, xmm1, 0xe4", "pinsrw xmm0, eax, 5", "pextrw eax, xmm1, 6", "pmovmskb eax, xmm1",
        "psraw xmm0, 20"};

    private final Random random;
    /** The current x87 case loads a denormal double (QEMU omits DE there). */
    private boolean loadsDenormal;
    private int flagMask;
    /** The FP lines overwrite EAX / EDI entirely (their masks replace the integer case's). */
    private boolean writesEax, writesEdi;

    FloatCaseGenerator(long seed) {
        this.random = new Random(seed ^ SEED_MIX);
    }

    static boolean selects(int index) {
        return index % ONE_IN == ONE_IN - 1;
    }

    /**
     * The integer case followed by a floating-point sequence (so the integer coverage of the run is
     * unchanged). A case that ends in an exception on purpose stays as it is.
     */
    TestCase generate(TestCase base) {
        if (base.raisesException()) {
            return base;
        }
        List<String> lines = new ArrayList<>(base.lines());
        List<String> forms = new ArrayList<>(base.forms());
        int[] masks = {-1, -1, -1, -1, -1, -1, -1, -1};
        int kind = random.nextInt(10);
        flagMask = -1;
        writesEax = true;
        writesEdi = false;
        boolean writesFlags = false;
        if (kind < 4) {
            writesFlags = x87(lines, forms, masks);
        } else if (kind < 9) {
            writesFlags = sse(lines, forms, masks);
        } else {
            mmx(lines, forms);
        }
        int[] combined = base.registerMasks().clone();
        if (writesEax) {
            combined[EAX] = masks[EAX];
        }
        if (writesEdi) {
            combined[EDI] = masks[EDI];
        }
        // FCOMI/COMISS write ZF PF CF (and clear OF SF AF): defined again after an integer case
        int flags = writesFlags ? flagMask & (base.flagMask() | ZF_PF_CF) : base.flagMask();
        return new TestCase(base.index(), base.codeBits(), base.registers(), base.eflags(), base.scratch(),
                base.stack(), List.copyOf(lines), List.copyOf(forms), flags, combined, false);
    }

    private static final int ZF_PF_CF = 0x40 | 0x4 | 0x1, OF_SF_AF = 0x800 | 0x80 | 0x10;

    private static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    private void putDword(List<String> lines, int address, int value) {
        lines.add("mov dword [" + hex(address) + "], " + hex(value & 0xFFFF_FFFFL));
    }

    private void putQword(List<String> lines, int address, long value) {
        putDword(lines, address, (int) value);
        putDword(lines, address + 4, (int) (value >>> 32));
    }

    private long doubleValue() {
        return switch (random.nextInt(4)) {
            case 0 -> random.nextLong();
            case 1 -> Double.doubleToRawLongBits(random.nextGaussian() * Math.pow(10, random.nextInt(9) - 4));
            default -> DOUBLES[random.nextInt(DOUBLES.length)];
        };
    }

    private int singleValue() {
        return switch (random.nextInt(4)) {
            case 0 -> random.nextInt();
            case 1 -> Float.floatToRawIntBits((float) (random.nextGaussian() * Math.pow(10, random.nextInt(7) - 3)));
            default -> SINGLES[random.nextInt(SINGLES.length)];
        };
    }

    /** An 80-bit value at address: a double widened by FLD, or raw bits (denormals, unnormals, pseudo-NaNs). */
    private void extendedOperand(List<String> lines, int address) {
        if (random.nextInt(4) == 0) {
            long significand = random.nextLong();
            int exponent = switch (random.nextInt(4)) {
                case 0 -> 0;
                case 1 -> 0x7FFF;
                default -> 0x3FF0 + random.nextInt(0x20);
            };
            if (random.nextInt(3) > 0) {
                significand |= 1L << 63;
            }
            loadsDenormal |= exponent == 0 && significand != 0;   // denormal or pseudo-denormal
            putQword(lines, address, significand);
            putDword(lines, address + 8, exponent | (random.nextBoolean() ? 0x8000 : 0));
            lines.add("fld tword [" + hex(address) + "]");
        } else {
            long value = doubleValue();
            loadsDenormal |= (value & 0x7FF0_0000_0000_0000L) == 0 && (value << 1) != 0;
            putQword(lines, address, value);
            lines.add("fld qword [" + hex(address) + "]");
        }
    }

    /** Returns true when the instruction writes EFLAGS (FCOMI family). */
    private boolean x87(List<String> lines, List<String> forms, int[] masks) {
        int pc = new int[] {0, 2, 3, 3}[random.nextInt(4)];
        int cw = 0x7F | pc << 8 | random.nextInt(4) << 10;
        lines.add("fninit");
        loadsDenormal = false;
        int group = random.nextInt(7);
        String insn;
        boolean conditionsDefined = false;
        if (group == 6) {
            insn = X87_CONSTANT[random.nextInt(X87_CONSTANT.length)];
        } else {
            extendedOperand(lines, B);
            if (group != 1) {
                extendedOperand(lines, A);
            }
            switch (group) {
                case 0 -> insn = X87_BINARY[random.nextInt(X87_BINARY.length)];
                case 1 -> insn = X87_UNARY[random.nextInt(X87_UNARY.length)];
                case 2 -> insn = X87_COMPARE[random.nextInt(X87_COMPARE.length)];
                case 3 -> {
                    insn = X87_EFLAGS[random.nextInt(X87_EFLAGS.length)];
                    flagMask &= ~FCOMI_CLEARED_FLAGS;
                }
                case 4 -> {
                    insn = X87_MEMORY[random.nextInt(X87_MEMORY.length)];
                    // the memory operand overwrites B after ST1 was loaded from it
                    if (insn.contains("dword") && !insn.startsWith("fi")) {
                        int v = singleValue();
                        loadsDenormal |= (v & 0x7F80_0000) == 0 && (v << 1) != 0;
                        putDword(lines, B, v);
                    } else if (!insn.startsWith("fi")) {
                        long v = doubleValue();
                        loadsDenormal |= (v & 0x7FF0_0000_0000_0000L) == 0 && (v << 1) != 0;
                        putQword(lines, B, v);
                    }
                }
                default -> insn = X87_STORE[random.nextInt(X87_STORE.length)];
            }
            conditionsDefined = group == 2 || insn.equals("fxam") || insn.equals("ftst") || insn.startsWith("fprem")
                    || insn.startsWith("fcom") && group == 4 || insn.startsWith("ficom");
        }
        // the control word after the loads: QEMU TCG rounds FLD m32fp/m64fp to the precision control,
        // which the SDM applies to arithmetic only (SDM 1 8.1.5.2); loads under PC = 11b are exact in both.
        // QEMU also rounds the m64fp/m32int operand of FADD, FCOM, FIDIV... to PC before the operation
        // (a double rounding): those forms run with PC = 11b
        // and it rounds the (exact) partial remainder of FPREM/FPREM1 to PC, which does not apply to them
        if (group == 4 && (insn.contains("qword") || insn.startsWith("fi") && insn.contains("dword"))
                || insn.startsWith("fprem")) {
            pc = 3;
            cw |= pc << 8;
        }
        lines.add("mov word [" + hex(CW) + "], " + hex(cw));
        lines.add("fldcw [" + hex(CW) + "]");
        lines.add(insn);
        forms.add("x87 " + insn.split(" ")[0] + " (PC " + pc + ", RC " + ((cw >>> 10) & 3) + ")");
        lines.add("fnstsw ax");
        lines.add("fnstcw [" + hex(CW) + "]");
        // store exactly the registers in use: an FSTP from an empty register is a stack fault
        int[] outputs = {ST0_OUT, ST1_OUT, ST2_OUT};
        for (int k = 0; k < depthAfter(group, insn); k++) {
            lines.add("fstp tword [" + hex(outputs[k]) + "]");
        }
        int compared = conditionsDefined ? -1 : ~(FSW_C0 | FSW_C2 | FSW_C3);   // SDM 2: undefined after the instruction
        // QEMU TCG deviations from the SDM, not compared (the unit tests X87Test/SoftFloatTest cover them):
        // C1 "rounded up" (SDM 1 8.1.3.3) is never set by QEMU 7.2; DE (denormal operand, SDM 1
        // 8.5.2) is not raised by QEMU 7.2 for FLD m32fp/m64fp of a denormal nor for compares
        compared &= ~FSW_C1;
        if (loadsDenormal) {
            compared &= ~FSW_DE;
        }
        masks[EAX] = compared;
        return group == 3;
    }

    /** The stack depth after the instruction: loads (1 or 2) minus its pops, plus its pushes. */
    private static int depthAfter(int group, String insn) {
        if (group == 6) {
            return 1;
        }
        int depth = group == 1 ? 1 : 2;
        String mnemonic = insn.split(" ")[0];
        if (mnemonic.equals("fxtract")) {
            return 2;
        }
        if (mnemonic.equals("fucompp") || mnemonic.equals("fcompp")) {
            return depth - 2;
        }
        if (mnemonic.endsWith("p") && !mnemonic.equals("fcmovnbe") || mnemonic.equals("fcomip")
                || mnemonic.equals("fucomip") || mnemonic.startsWith("fistp") || mnemonic.startsWith("fisttp")
                || mnemonic.equals("fbstp") || mnemonic.equals("fstp")) {
            return depth - 1;
        }
        return depth;
    }

    private static boolean denormalDouble(long v) {
        return (v & 0x7FF0_0000_0000_0000L) == 0 && (v << 1) != 0;
    }

    private static boolean denormalSingle(int v) {
        return (v & 0x7F80_0000) == 0 && (v << 1) != 0;
    }

    private void xmmOperands(List<String> lines, boolean isDouble) {
        int[] words = new int[8];   // A and B as dwords
        for (int k = 0; k < words.length; k += isDouble ? 2 : 1) {
            if (isDouble) {
                long v = doubleValue();
                words[k] = (int) v;
                words[k + 1] = (int) (v >>> 32);
            } else {
                words[k] = singleValue();
            }
        }
        // the instruction may read the lanes as singles or doubles: a denormal in either view counts
        for (int k = 0; k < words.length; k++) {
            loadsDenormal |= denormalSingle(words[k]);
            if ((k & 1) == 0) {
                loadsDenormal |= denormalDouble((words[k] & 0xFFFF_FFFFL) | (long) words[k + 1] << 32);
            }
            putDword(lines, A + 4 * k, words[k]);
        }
        lines.add("movdqu xmm0, [" + hex(A) + "]");
        lines.add("movdqu xmm1, [" + hex(B) + "]");
    }

    /** Returns true when the instruction writes EFLAGS (COMISS family, which defines all six flags). */
    private boolean sse(List<String> lines, List<String> forms, int[] masks) {
        int mxcsr = 0x1F80 | random.nextInt(4) << 13 | (random.nextInt(4) == 0 ? 0x8000 : 0)
                | (random.nextInt(4) == 0 ? 0x40 : 0);
        lines.add("push dword " + hex(mxcsr));
        lines.add("ldmxcsr [esp]");
        lines.add("lea esp, [esp + 4]");
        int group = random.nextInt(6);
        String insn;
        boolean isDouble = random.nextBoolean();
        switch (group) {
            case 0, 1 -> {
                String op = SSE_ARITHMETIC[random.nextInt(SSE_ARITHMETIC.length)];
                String suffix = new String[] {"ps", "ss", "pd", "sd"}[random.nextInt(4)];
                isDouble = suffix.endsWith("d");
                insn = op + suffix + " xmm0, " + (random.nextBoolean() ? "xmm1" : "[" + hex(B) + "]");
                if (random.nextInt(4) == 0) {
                    String suffix2 = suffix;
                    insn = "cmp" + SSE_PREDICATES[random.nextInt(8)] + suffix2 + " xmm0, xmm1";
                }
            }
            case 2 -> insn = SSE_CONVERT[random.nextInt(SSE_CONVERT.length)];
            case 3 -> insn = SSE_OTHER[random.nextInt(SSE_OTHER.length)];
            case 4 -> {
                String op = SSE2_INTEGER[random.nextInt(SSE2_INTEGER.length)];
                insn = op + " xmm0, " + (random.nextBoolean() ? "xmm1" : "[" + hex(B) + "]");
            }
            default -> insn = SSE2_IMMEDIATE[random.nextInt(SSE2_IMMEDIATE.length)];
        }
        if (insn.contains("pd") || insn.contains("sd") || insn.contains("2pd") || insn.startsWith("cvtpd")
                || insn.startsWith("cvttpd") || insn.startsWith("cvtsd") || insn.startsWith("cvttsd")) {
            isDouble = true;
        }
        if (insn.contains("ps2pd") || insn.contains("ss2sd") || insn.contains("dq2pd")) {
            isDouble = false;   // the source is single or integer
        }
        loadsDenormal = false;
        xmmOperands(lines, isDouble);
        lines.add(insn);
        forms.add("SSE " + insn.split(" ")[0]);
        lines.add("movdqu [" + hex(XMM_OUT) + "], xmm0");
        // MXCSR into EDI, where bits can be masked: QEMU 7.2 never raises MXCSR.DE (denormal
        // operand, SDM 1 11.5.2.2); MOV changes no flag (COMISS results stay intact)
        lines.add("stmxcsr [" + hex(MXCSR_OUT) + "]");
        lines.add("mov edi, [" + hex(MXCSR_OUT) + "]");
        lines.add("mov dword [" + hex(MXCSR_OUT) + "], 0");
        masks[EDI] = loadsDenormal ? ~MXCSR_DE : -1;
        writesEdi = true;
        writesEax = insn.contains("eax");
        if (insn.contains("comis")) {
            flagMask |= OF_SF_AF;
            return true;
        }
        return false;
    }

    private void mmx(List<String> lines, List<String> forms) {
        lines.add("fninit");   // FSW is dumped: start from a known one
        putQword(lines, A, random.nextLong());
        putQword(lines, B, random.nextLong());
        lines.add("movq mm0, [" + hex(A) + "]");
        lines.add("movq mm1, [" + hex(B) + "]");
        String op = SSE2_INTEGER[random.nextInt(SSE2_INTEGER.length - 2)];
        if (op.endsWith("qdq")) {
            op = "paddusb";
        }
        String insn = op + " mm0, " + (random.nextBoolean() ? "mm1" : "[" + hex(B) + "]");
        lines.add(insn);
        forms.add("MMX " + op);
        lines.add("movq [" + hex(INT_OUT) + "], mm0");
        lines.add("fnstsw ax");
        lines.add("emms");
    }
}
