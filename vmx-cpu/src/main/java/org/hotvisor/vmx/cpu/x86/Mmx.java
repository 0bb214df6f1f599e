package org.hotvisor.vmx.cpu.x86;

/**
 * The MMX forms (no mandatory prefix) of 0F 60-7F, C4, C5 and D1-FE on MM0-MM7, which alias the
 * x87 data registers (SDM 1 chapter 9; SDM 2 the P* pages). Every form except EMMS switches the
 * x87 unit to MMX state ({@link Fpu#enterMmx}); register numbers ignore REX (SDM 2 2.2.1.7).
 */
final class Mmx {
    private Mmx() {
    }

    static int execute(Sse sse, Insn in, int opcode) {
        X86Core c = sse.core();
        Fpu x87 = c.x87;
        if (opcode == 0x77) {   // EMMS (SDM 2 EMMS: #UD on EM, #NM on TS, #MF if pending)
            if ((c.cr0 & X86Core.CR0_EM) != 0) {
                throw c.ud();
            }
            if ((c.cr0 & X86Core.CR0_TS) != 0) {
                throw c.fault(Events.NM, -1);
            }
            x87.checkPending();
            x87.emms();
            return Exec.NEXT;
        }
        if (opcode == 0xD6 || opcode == 0x6C || opcode == 0x6D || opcode == 0x7C || opcode == 0x7D) {
            throw c.ud();
        }
        sse.checkMmx();
        int d = in.reg() & 7;
        boolean mem = in.isMem();
        switch (opcode) {
            case 0x6E: {   // MOVD/MOVQ mm, r/m
                boolean wide = in.has(Insn.F_REX_W);
                long v = mem ? c.read(in.seg(), c.ea(in), wide ? 8 : 4) : c.gpr[in.rm()];
                x87.setMmx(d, wide ? v : v & 0xFFFF_FFFFL);
                return Exec.NEXT;
            }
            case 0x7E: {   // MOVD/MOVQ r/m, mm
                boolean wide = in.has(Insn.F_REX_W);
                long v = wide ? x87.mmx(d) : x87.mmx(d) & 0xFFFF_FFFFL;
                if (mem) {
                    c.write(in.seg(), c.ea(in), wide ? 8 : 4, v);
                } else {
                    c.gpr[in.rm()] = v;
                }
                return Exec.NEXT;
            }
            case 0x7F, 0xE7: {   // MOVQ mm/m64, mm; MOVNTQ m64, mm
                if (mem) {
                    c.write(in.seg(), c.ea(in), 8, x87.mmx(d));
                } else if (opcode == 0xE7) {
                    throw c.ud();
                } else {
                    x87.setMmx(in.rm() & 7, x87.mmx(d));
                }
                return Exec.NEXT;
            }
            case 0xC5: {   // PEXTRW r32, mm, imm8
                if (mem) {
                    throw c.ud();
                }
                int k = (int) in.imm() & 3;
                c.gpr[in.reg()] = (x87.mmx(in.rm() & 7) >>> (16 * k)) & 0xFFFF;
                return Exec.NEXT;
            }
            case 0xC4: {   // PINSRW mm, r32/m16, imm8
                long w = mem ? c.read(in.seg(), c.ea(in), 2) : c.gpr[in.rm()] & 0xFFFF;
                int shift = 16 * ((int) in.imm() & 3);
                x87.setMmx(d, (x87.mmx(d) & ~(0xFFFFL << shift)) | w << shift);
                return Exec.NEXT;
            }
            case 0xD7: {   // PMOVMSKB r32, mm
                if (mem) {
                    throw c.ud();
                }
                c.gpr[in.reg()] = Packed.byteSigns(x87.mmx(in.rm() & 7));
                return Exec.NEXT;
            }
            case 0xF7: {   // MASKMOVQ
                if (mem) {
                    throw c.ud();
                }
                sse.maskedStore(in, x87.mmx(d), x87.mmx(in.rm() & 7), 0);
                return Exec.NEXT;
            }
            case 0x71, 0x72, 0x73: {
                if (mem) {
                    throw c.ud();
                }
                int kind = (in.modrm() >>> 3) & 7;
                int width = opcode == 0x71 ? 16 : opcode == 0x72 ? 32 : 64;
                if (!Packed.validShift(kind, width)) {
                    throw c.ud();   // includes PSRLDQ/PSLLDQ, which exist only for XMM
                }
                int r = in.rm() & 7;
                x87.setMmx(r, Packed.shift(kind, width, x87.mmx(r), (int) in.imm() & 0xFF));
                return Exec.NEXT;
            }
            default:
                break;
        }
        // the unpack-low forms read a 32-bit memory operand (SDM 2 PUNPCKLBW: mm, mm/m32)
        int bytes = opcode >= 0x60 && opcode <= 0x62 ? 4 : 8;
        long b = mem ? c.read(in.seg(), c.ea(in), bytes) : x87.mmx(in.rm() & 7);
        long a = x87.mmx(d);
        long r;
        switch (opcode) {
            case 0x6F -> r = b;
            case 0x60, 0x61, 0x62 -> r = Packed.interleave(a, b, 8 << (opcode - 0x60), 0);
            case 0x68, 0x69, 0x6A -> r = Packed.interleave(a, b, 8 << (opcode - 0x68), 32);
            case 0x63, 0x67, 0x6B -> r = Packed.pack(opcode, a, b);
            case 0x70 -> r = Packed.shuffleWords(b, (int) in.imm());
            case 0xD1, 0xD2, 0xD3, 0xE1, 0xE2, 0xF1, 0xF2, 0xF3 -> {
                int kind = opcode >= 0xF1 ? Packed.SHIFT_LEFT : opcode >= 0xE1 ? Packed.SHIFT_RIGHT_ARITHMETIC
                        : Packed.SHIFT_RIGHT_LOGICAL;
                int width = 16 << ((opcode & 0xF) - 1);
                r = Packed.shift(kind, width, a, Long.compareUnsigned(b, 64) >= 0 ? 64 : (int) b);
            }
            case 0xF4 -> r = (a & 0xFFFF_FFFFL) * (b & 0xFFFF_FFFFL);
            case 0xF5 -> r = Packed.multiplyAdd(a, b);
            case 0xF6 -> r = Packed.sumAbsoluteDifferences(a, b);
            default -> {
                if (!Packed.isElementwise(opcode)) {
                    throw c.ud();
                }
                r = Packed.elementwise(opcode, a, b);
            }
        }
        x87.setMmx(d, r);
        return Exec.NEXT;
    }
}
