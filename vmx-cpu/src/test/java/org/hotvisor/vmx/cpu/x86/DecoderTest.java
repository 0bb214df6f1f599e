package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.Guest.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/** Instruction lengths, prefixes, operand forms and the decoder's limits (SDM 2 chapter 2). */
class DecoderTest {
    private static Insn decode(String bytes, boolean code32) {
        byte[] b = hex(bytes);
        return new Decoder().decode(b, 0, b.length, code32);
    }

    @Test
    void lengthsOfModrmSibDisplacementAndImmediateForms() {
        assertEquals(10, decode("c7051000400034120000", true).len(), "mov dword [disp32], imm32");
        assertEquals(4, decode("8b44b310", true).len(), "mov eax, [ebx+esi*4+10h]");
        assertEquals(6, decode("c70601003412", false).len(), "16-bit: mov word [disp16], imm16");
        assertEquals(9, decode("66c705200000003412", true).len(), "66h in 32-bit code: imm16");
        assertEquals(9, decode("67c7060100" + "78563412", true).len(), "67h in 32-bit code: disp16, imm32");
        assertEquals(3, decode("0fb6c3", true).len(), "movzx eax, bl");
        assertEquals(6, decode("660f38824108", true).len(), "invpcid eax, [ecx+8]");
    }

    @Test
    void registerAndMemoryOperandsAreResolved() {
        Insn in = decode("8b44b310", true);   // mov eax, [ebx+esi*4+0x10]
        assertEquals(Op.MOV32_RM, in.op());
        assertEquals(X86Core.EAX, in.reg());
        assertEquals(X86Core.EBX, in.base());
        assertEquals(X86Core.ESI, in.index());
        assertEquals(2, in.scale());
        assertEquals(0x10, in.disp());
        assertEquals(X86Core.DS, in.seg());
        in = decode("8a66fc", false);          // mov ah, [bp-4]: SS by default, AH = reg 0 shift 8
        assertEquals(X86Core.SS, in.seg());
        assertEquals(0, in.reg());
        assertEquals(8, in.regShift());
        assertEquals(X86Core.EBP, in.base());
        assertEquals(-4, in.disp());
        in = decode("2e8b00", false);          // cs: mov ax, [bx+si]
        assertEquals(X86Core.CS, in.seg());
        assertEquals(Insn.F_SEG_OVERRIDE, in.flags() & Insn.F_SEG_OVERRIDE);
    }

    @Test
    void moreThanFifteenBytesIsGeneralProtection() {
        Insn in = decode("666666666666666666666666666666" + "90", true);
        assertEquals(Op.GP0, in.op());
    }

    @Test
    void lockIsOnlyValidOnMemoryReadModifyWrite() {
        assertEquals(Op.UD, decode("f001c3", true).op(), "lock add ebx, eax");
        assertEquals(Op.UD, decode("f03b03", true).op(), "lock cmp eax, [ebx]");
        assertEquals(Op.ALU_MR, decode("f00103", true).op(), "lock add [ebx], eax (kept generic)");
        assertEquals(Op.XCHG_RM, decode("f08703", true).op());
    }

    @Test
    void truncatedInputAsksForMoreBytes() {
        byte[] b = hex("b8112233");   // mov eax, imm32 with one byte missing
        assertNull(new Decoder().decode(b, 0, b.length, true));
    }

    @Test
    void unknownOpcodesAreUndefinedNotErrors() {
        assertEquals(Op.UD2, decode("0f0b", true).op());
        assertEquals(Op.SIMD, decode("0f5800", true).op(), "SSE addps: executed by Sse");
        assertEquals(0x58, decode("0f5800", true).sub(), "no mandatory prefix");
        assertEquals(0x158, decode("660f5800", true).sub(), "66: addpd");
        assertEquals(0x358, decode("66f20f5800", true).sub(), "F2 wins over 66: addsd");
        assertEquals(2, decode("0f77", true).len(), "EMMS has no ModRM");
        assertEquals(Op.UD, decode("0f0e", true).op(), "FEMMS (3DNow!): not implemented");
        assertEquals(Op.UD, decode("c4c0", true).op(), "LES with a register operand (VEX)");
        assertEquals(Op.UD, decode("8ec8", true).op(), "mov cs, ax");
    }

    @Test
    void msrAccessForTheVmxLayer() {
        X86Core c = new X86Core(new byte[1 << 16], new byte[0]);
        assertEquals(true, c.writeMsr(0xC000_0103, 5));
        assertEquals(5, c.readMsr(0xC000_0103, -1));
        assertEquals(false, c.writeMsr(0x1234, 1));
        assertEquals(-1, c.readMsr(0x1234, -1));
        assertEquals(true, c.writeMsr(0xC000_0080, 1 << 8), "EFER.LME (IA-32e mode enable)");
        assertEquals(1 << 8, c.readMsr(0xC000_0080, -1));
        assertEquals(false, c.writeMsr(0xC000_0080, 1 << 1), "EFER bit 1 is reserved");
        assertEquals(true, c.writeMsr(0xC000_0080, 1 << 10 | 1 << 8), "LMA is read-only: the write is ignored");
        assertEquals(1 << 8, c.readMsr(0xC000_0080, -1));
    }
}
