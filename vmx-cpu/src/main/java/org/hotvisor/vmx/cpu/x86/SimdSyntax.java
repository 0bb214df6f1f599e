package org.hotvisor.vmx.cpu.x86;

import java.util.function.IntFunction;

/**
 * Intel-syntax text of the {@link Op#SIMD} instructions (MMX, SSE, SSE2, SSE3, FXSAVE/FXRSTOR,
 * LDMXCSR/STMXCSR) in objdump's spelling ({@code addps xmm0, xmmword [eax]},
 * {@code cmpltps}, {@code pshufd xmm1, xmm2, 0x1b}), for {@link IntelSyntax}. Encodings that
 * {@link Sse}/{@link Mmx} execute as #UD return false, so the caller prints (bad).
 */
final class SimdSyntax {
    private SimdSyntax() {
    }

    private static final String[] GPR32 = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "r8d", "r9d",
        "r10d", "r11d", "r12d", "r13d", "r14d", "r15d"};
    private static final String[] GPR64 = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10",
        "r11", "r12", "r13", "r14", "r15"};

    /** A general-purpose register operand: 64-bit with REX.W, else 32-bit (REX.R/B already in the number). */
    private static String gpr(Insn in, int r) {
        return in.has(Insn.F_REX_W) ? GPR64[r & 15] : GPR32[r & 15];
    }

    /** The integer operand size of MOVD/MOVQ, CVTSI2SS, MOVNTI: 8 bytes with REX.W. */
    private static int gprBytes(Insn in) {
        return in.has(Insn.F_REX_W) ? 8 : 4;
    }
    private static final String[] CMP_PREDICATES = {"eq", "lt", "le", "unord", "neq", "nlt", "nle", "ord"};
    private static final String[] INTEGER = new String[0x100];
    private static final String[] ARITH = new String[0x100];

    static {
        String[] names = {"punpcklbw", "punpcklwd", "punpckldq", "packsswb", "pcmpgtb", "pcmpgtw", "pcmpgtd", "packuswb",
            "punpckhbw", "punpckhwd", "punpckhdq", "packssdw"};
        for (int i = 0; i < names.length; i++) {
            INTEGER[0x60 + i] = names[i];
        }
        INTEGER[0x74] = "pcmpeqb";
        INTEGER[0x75] = "pcmpeqw";
        INTEGER[0x76] = "pcmpeqd";
        String[] dx = {null, "psrlw", "psrld", "psrlq", "paddq", "pmullw", null, null, "psubusb", "psubusw", "pminub",
            "pand", "paddusb", "paddusw", "pmaxub", "pandn", "pavgb", "psraw", "psrad", "pavgw", "pmulhuw", "pmulhw",
            null, null, "psubsb", "psubsw", "pminsw", "por", "paddsb", "paddsw", "pmaxsw", "pxor", null, "psllw",
            "pslld", "psllq", "pmuludq", "pmaddwd", "psadbw", null, "psubb", "psubw", "psubd", "psubq", "paddb",
            "paddw", "paddd"};
        for (int i = 0; i < dx.length; i++) {
            if (dx[i] != null) {
                INTEGER[0xD0 + i] = dx[i];
            }
        }
        ARITH[0x51] = "sqrt";
        ARITH[0x52] = "rsqrt";
        ARITH[0x53] = "rcp";
        ARITH[0x58] = "add";
        ARITH[0x59] = "mul";
        ARITH[0x5C] = "sub";
        ARITH[0x5D] = "min";
        ARITH[0x5E] = "div";
        ARITH[0x5F] = "max";
    }

    /** Appends the text of a SIMD instruction; {@code mem} formats the memory operand with a size in bytes. */
    static boolean format(Insn in, IntFunction<String> mem, StringBuilder out) {
        // 16-byte SIMD operands are "xmmword" (objdump), not the generic "oword"
        IntFunction<String> sized = n -> n == 16 ? mem.apply(16).replaceFirst("^oword", "xmmword") : mem.apply(n);
        String text = text(in, sized);
        if (text == null) {
            return false;
        }
        out.append(text);
        return true;
    }

    /** 0F 6E/7E: MOVD, or MOVQ with REX.W. */
    private static String movd(Insn in) {
        return in.has(Insn.F_REX_W) ? "movq" : "movd";
    }

    private static String xmm(int r) {
        return "xmm" + r;
    }

    private static String mm(int r) {
        return "mm" + (r & 7);
    }

    private static String join(String mnemonic, String... operands) {
        return mnemonic + " " + String.join(", ", operands);
    }

    private static String text(Insn in, IntFunction<String> mem) {
        int sub = in.sub();
        int op = sub & 0xFF;
        int prefix = (sub >>> 8) & 3;
        boolean m = in.isMem();
        int reg = in.reg(), rm = in.rm();
        String x = xmm(reg);
        String imm = "0x" + Long.toHexString(in.imm() & 0xFF);
        // the XMM operand (register or memory of n bytes) and the MMX one
        IntFunction<String> xo = n -> m ? mem.apply(n) : xmm(rm);
        IntFunction<String> mo = n -> m ? mem.apply(n) : mm(rm);
        String ps = switch (prefix) {
            case Sse.PREFIX_NONE -> "ps";
            case Sse.PREFIX_66 -> "pd";
            case Sse.PREFIX_F3 -> "ss";
            default -> "sd";
        };
        int scalarBytes = prefix == Sse.PREFIX_F3 ? 4 : prefix == Sse.PREFIX_F2 ? 8 : 16;
        if (ARITH[op] != null) {
            if ((op == 0x52 || op == 0x53) && (prefix == Sse.PREFIX_66 || prefix == Sse.PREFIX_F2)) {
                return null;
            }
            return join(ARITH[op] + ps, x, xo.apply(scalarBytes));
        }
        if (op == 0xAE) {
            int kind = (in.modrm() >>> 3) & 7;
            return switch (kind) {
                case 0 -> (in.has(Insn.F_REX_W) ? "fxsave64 " : "fxsave ") + mem.apply(0);
                case 1 -> (in.has(Insn.F_REX_W) ? "fxrstor64 " : "fxrstor ") + mem.apply(0);
                case 2 -> "ldmxcsr " + mem.apply(4);
                default -> "stmxcsr " + mem.apply(4);
            };
        }
        boolean packedOnly = prefix <= Sse.PREFIX_66;
        switch (op) {
            case 0x10, 0x11: {
                String name = "mov" + (prefix <= Sse.PREFIX_66 ? "u" : "") + ps;
                String o = xo.apply(scalarBytes);
                return op == 0x10 ? join(name, x, o) : join(name, o, x);
            }
            case 0x28, 0x29:
                if (!packedOnly) {
                    return null;
                }
                return op == 0x28 ? join("mova" + ps, x, xo.apply(16)) : join("mova" + ps, xo.apply(16), x);
            case 0x12, 0x16: {
                boolean high = op == 0x16;
                if (prefix == Sse.PREFIX_F3) {
                    return join(high ? "movshdup" : "movsldup", x, xo.apply(16));
                }
                if (prefix == Sse.PREFIX_F2) {
                    return high ? null : join("movddup", x, xo.apply(8));
                }
                if (!m) {
                    return prefix == Sse.PREFIX_66 ? null : join(high ? "movlhps" : "movhlps", x, xmm(rm));
                }
                return join((high ? "movh" : "movl") + ps, x, mem.apply(8));
            }
            case 0x13, 0x17:
                if (!m || !packedOnly) {
                    return null;
                }
                return join((op == 0x17 ? "movh" : "movl") + ps, mem.apply(8), x);
            case 0x14, 0x15:
                return packedOnly ? join((op == 0x14 ? "unpckl" : "unpckh") + ps, x, xo.apply(16)) : null;
            case 0x2B:
                return m && packedOnly ? join("movnt" + ps, mem.apply(16), x) : null;
            case 0x2A:
                return switch (prefix) {
                    case Sse.PREFIX_NONE -> join("cvtpi2ps", x, mo.apply(8));
                    case Sse.PREFIX_66 -> join("cvtpi2pd", x, mo.apply(8));
                    default -> join(prefix == Sse.PREFIX_F3 ? "cvtsi2ss" : "cvtsi2sd", x,
                            m ? mem.apply(gprBytes(in)) : gpr(in, rm));
                };
            case 0x2C, 0x2D: {
                String t = op == 0x2C ? "cvtt" : "cvt";
                return switch (prefix) {
                    case Sse.PREFIX_NONE -> join(t + "ps2pi", mm(reg), xo.apply(8));
                    case Sse.PREFIX_66 -> join(t + "pd2pi", mm(reg), xo.apply(16));
                    case Sse.PREFIX_F3 -> join(t + "ss2si", gpr(in, reg), xo.apply(4));
                    default -> join(t + "sd2si", gpr(in, reg), xo.apply(8));
                };
            }
            case 0x2E, 0x2F:
                if (!packedOnly) {
                    return null;
                }
                return join((op == 0x2E ? "ucomis" : "comis") + (prefix == Sse.PREFIX_66 ? "d" : "s"), x,
                        xo.apply(prefix == Sse.PREFIX_66 ? 8 : 4));
            case 0x50:
                return !m && packedOnly ? join("movmsk" + ps, gpr(in, reg), xmm(rm)) : null;
            case 0x54, 0x55, 0x56, 0x57: {
                String[] logic = {"and", "andn", "or", "xor"};
                return packedOnly ? join(logic[op - 0x54] + ps, x, xo.apply(16)) : null;
            }
            case 0x5A:
                return switch (prefix) {
                    case Sse.PREFIX_NONE -> join("cvtps2pd", x, xo.apply(8));
                    case Sse.PREFIX_66 -> join("cvtpd2ps", x, xo.apply(16));
                    case Sse.PREFIX_F3 -> join("cvtss2sd", x, xo.apply(4));
                    default -> join("cvtsd2ss", x, xo.apply(8));
                };
            case 0x5B:
                return switch (prefix) {
                    case Sse.PREFIX_NONE -> join("cvtdq2ps", x, xo.apply(16));
                    case Sse.PREFIX_66 -> join("cvtps2dq", x, xo.apply(16));
                    case Sse.PREFIX_F3 -> join("cvttps2dq", x, xo.apply(16));
                    default -> null;
                };
            case 0xE6:
                return switch (prefix) {
                    case Sse.PREFIX_66 -> join("cvttpd2dq", x, xo.apply(16));
                    case Sse.PREFIX_F3 -> join("cvtdq2pd", x, xo.apply(8));
                    case Sse.PREFIX_F2 -> join("cvtpd2dq", x, xo.apply(16));
                    default -> null;
                };
            case 0xC2: {
                int predicate = (int) in.imm() & 0xFF;
                String o = xo.apply(scalarBytes);
                return predicate < CMP_PREDICATES.length ? join("cmp" + CMP_PREDICATES[predicate] + ps, x, o)
                        : join("cmp" + ps, x, o, imm);
            }
            case 0xC6:
                return packedOnly ? join("shuf" + ps, x, xo.apply(16), imm) : null;
            case 0xC3:
                return m && prefix == Sse.PREFIX_NONE ? join("movnti", mem.apply(gprBytes(in)), gpr(in, reg)) : null;
            case 0x7C, 0x7D, 0xD0: {
                String name = op == 0xD0 ? "addsub" : op == 0x7C ? "hadd" : "hsub";
                return switch (prefix) {
                    case Sse.PREFIX_66 -> join(name + "pd", x, xo.apply(16));
                    case Sse.PREFIX_F2 -> join(name + "ps", x, xo.apply(16));
                    default -> null;
                };
            }
            case 0xF0:
                return prefix == Sse.PREFIX_F2 && m ? join("lddqu", x, mem.apply(16)) : null;
            default:
                break;
        }
        return integer(in, op, prefix, mem, xo, mo, imm);
    }

    private static String integer(Insn in, int op, int prefix, IntFunction<String> mem, IntFunction<String> xo,
            IntFunction<String> mo, String imm) {
        boolean m = in.isMem();
        int reg = in.reg(), rm = in.rm();
        boolean mmx = prefix == Sse.PREFIX_NONE;
        boolean sse2 = prefix == Sse.PREFIX_66;
        String d = mmx ? mm(reg) : xmm(reg);
        switch (op) {
            case 0x77:
                return mmx ? "emms" : null;
            case 0x6E:
                if (!mmx && !sse2) {
                    return null;
                }
                return join(movd(in), d, m ? mem.apply(gprBytes(in)) : gpr(in, rm));
            case 0x7E:
                if (prefix == Sse.PREFIX_F3) {
                    return join("movq", xmm(reg), xo.apply(8));
                }
                if (!mmx && !sse2) {
                    return null;
                }
                return join(movd(in), m ? mem.apply(gprBytes(in)) : gpr(in, rm), d);
            case 0x6F, 0x7F: {
                String name;
                String o;
                if (mmx) {
                    name = "movq";
                    o = mo.apply(8);
                } else if (prefix == Sse.PREFIX_F2) {
                    return null;
                } else {
                    name = sse2 ? "movdqa" : "movdqu";
                    o = xo.apply(16);
                    d = xmm(reg);
                }
                return op == 0x6F ? join(name, d, o) : join(name, o, d);
            }
            case 0x70:
                return switch (prefix) {
                    case Sse.PREFIX_NONE -> join("pshufw", d, mo.apply(8), imm);
                    case Sse.PREFIX_66 -> join("pshufd", d, xo.apply(16), imm);
                    case Sse.PREFIX_F3 -> join("pshufhw", xmm(reg), xo.apply(16), imm);
                    default -> join("pshuflw", xmm(reg), xo.apply(16), imm);
                };
            case 0x71, 0x72, 0x73: {
                if (m || !(mmx || sse2)) {
                    return null;
                }
                int kind = (in.modrm() >>> 3) & 7;
                String target = mmx ? mm(rm) : xmm(rm);
                if (op == 0x73 && (kind == 3 || kind == 7)) {
                    return sse2 ? join(kind == 3 ? "psrldq" : "pslldq", target, imm) : null;
                }
                String suffix = op == 0x71 ? "w" : op == 0x72 ? "d" : "q";
                String name = switch (kind) {
                    case Packed.SHIFT_RIGHT_LOGICAL -> "psrl";
                    case Packed.SHIFT_RIGHT_ARITHMETIC -> op == 0x73 ? null : "psra";
                    case Packed.SHIFT_LEFT -> "psll";
                    default -> null;
                };
                return name == null ? null : join(name + suffix, target, imm);
            }
            case 0x6C, 0x6D:
                return sse2 ? join(op == 0x6C ? "punpcklqdq" : "punpckhqdq", d, xo.apply(16)) : null;
            case 0xC4:
                if (!mmx && !sse2) {
                    return null;
                }
                return join("pinsrw", d, m ? mem.apply(2) : GPR32[rm & 15], imm);   // r32 even with REX.W
            case 0xC5:
                if (m || !(mmx || sse2)) {
                    return null;
                }
                return join("pextrw", GPR32[reg & 15], mmx ? mm(rm) : xmm(rm), imm);
            case 0xD6:
                return switch (prefix) {
                    case Sse.PREFIX_66 -> join("movq", xo.apply(8), xmm(reg));
                    case Sse.PREFIX_F3 -> m ? null : join("movq2dq", xmm(reg), mm(rm));
                    case Sse.PREFIX_F2 -> m ? null : join("movdq2q", mm(reg), xmm(rm));
                    default -> null;
                };
            case 0xD7:
                if (m || !(mmx || sse2)) {
                    return null;
                }
                return join("pmovmskb", gpr(in, reg), mmx ? mm(rm) : xmm(rm));
            case 0xE7:
                if (!m || !(mmx || sse2)) {
                    return null;
                }
                return mmx ? join("movntq", mem.apply(8), d) : join("movntdq", mem.apply(16), d);
            case 0xF7:
                if (m || !(mmx || sse2)) {
                    return null;
                }
                return mmx ? join("maskmovq", d, mm(rm)) : join("maskmovdqu", d, xmm(rm));
            default:
                break;
        }
        String name = INTEGER[op];
        if (name == null || !(mmx || sse2)) {
            return null;
        }
        if (mmx) {
            // the MMX unpack-low forms read 32 bits (SDM 2 PUNPCKLBW: mm, mm/m32)
            return join(name, d, mo.apply(op >= 0x60 && op <= 0x62 ? 4 : 8));
        }
        return join(name, d, xo.apply(16));
    }
}
