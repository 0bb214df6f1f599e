package org.hotvisor.kernel.console;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Instruction lengths for encodings as nasm assembles them (bits 16 / bits 32). */
class InstructionLengthTest {
    private static byte[] bytes(String hex) {
        String h = hex.replace(" ", "");
        byte[] b = new byte[h.length() / 2];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
        }
        return b;
    }

    @ParameterizedTest(name = "{0} ({2}-bit): {1}")
    @CsvSource({
        "fa, 1, 16",                   // cli
        "31 c0, 2, 16",                // xor ax, ax
        "bc 00 7c, 3, 16",             // mov sp, 0x7c00
        "66 b8 78 56 34 12, 6, 16",    // mov eax, 0x12345678 (operand-size prefix)
        "b8 78 56 34 12, 5, 32",       // mov eax, imm32
        "c7 06 5b 7d 00 00, 6, 16",    // mov word [0x7d5b], 0
        "83 3e 5b 7d 19, 5, 16",       // cmp word [0x7d5b], 25
        "2e ff 06 5b 7d, 5, 16",       // inc word [cs:0x7d5b]
        "c7 05 00 10 00 00 01 00 00 00, 10, 32", // mov dword [0x1000], 1
        "8b 44 24 08, 4, 32",          // mov eax, [esp+8] (SIB, disp8)
        "8b 04 8d 00 20 00 00, 7, 32", // mov eax, [ecx*4+0x2000] (SIB, no base, disp32)
        "67 8b 04 8d 00 20 00 00, 8, 16", // the same with the address-size prefix in 16-bit code
        "e6 e9, 2, 16",                // out 0xe9, al
        "e8 fd ff, 3, 16",             // call rel16
        "e8 fb ff ff ff, 5, 32",       // call rel32
        "ea 00 7c 00 00, 5, 16",       // jmp 0000:7c00
        "66 ea 00 00 10 00 08 00, 8, 16", // jmp dword 0008:00100000
        "0f a2, 2, 16",                // cpuid
        "0f 20 c0, 3, 32",             // mov eax, cr0
        "0f 84 00 01, 4, 16",          // jz rel16
        "0f ba e0 05, 4, 32",          // bt eax, 5
        "f6 c4 01, 3, 16",             // test ah, 1
        "f7 c0 ff 00, 4, 16",          // test ax, 0xff
        "f7 d8, 2, 16",                // neg ax (group 3 without an immediate)
        "c8 10 00 00, 4, 16",          // enter 16, 0
        "a1 5b 7d, 3, 16",             // mov ax, [0x7d5b] (moffs16)
        "a1 00 10 00 00, 5, 32",       // mov eax, [0x1000] (moffs32)
        "f3 a4, 2, 16",                // rep movsb
        "cd 10, 2, 16",                // int 0x10
        "cc, 1, 16",                   // int3
        "66 0f 3a 0f c1 08, 6, 32",    // palignr xmm0, xmm1, 8 (three-byte map, imm8)
        "0f 0b, 2, 16",                // ud2
    })
    void lengths(String hex, int length, int bits) {
        byte[] code = bytes(hex);
        assertEquals(length, InstructionLength.of(code, 0, code.length, bits == 32));
    }

    @ParameterizedTest
    @CsvSource({"66", "b8 34", "0f", "0f 24 00"})
    void truncatedOrUndefinedIsMinusOne(String hex) {
        byte[] code = bytes(hex);
        assertEquals(-1, InstructionLength.of(code, 0, code.length, false));
    }
}
