package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.Guest.hex;
import static org.hotvisor.vmx.cpu.x86.X86Core.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Integer instruction semantics and flags (SDM 2), each program run twice: interpreted only, and
 * with every block compiled on first sight, so both execution paths are held to the same results.
 * Programs are assembled with nasm; the source is in the comment above each one.
 */
class InstructionsTest {
    static final int EXIT_EXCEPTION = 0, EXIT_HLT = 12;

    // ADD_OVERFLOW (32-bit, org 0x100000):
    //   mov eax, 0x7FFFFFFF
    //   add eax, 1
    //   pushfd
    //   pop ebx
    //   hlt
    static final byte[] ADD_OVERFLOW = hex("b8ffffff7f83c0019c5bf4");

    // SUB_BORROW (32-bit, org 0x100000):
    //   mov eax, 0
    //   sub eax, 1
    //   pushfd
    //   pop ebx
    //   hlt
    static final byte[] SUB_BORROW = hex("b80000000083e8019c5bf4");

    // ADD8_CARRY (32-bit, org 0x100000):
    //   mov al, 0x80
    //   add al, 0x80
    //   pushfd
    //   pop ebx
    //   hlt
    static final byte[] ADD8_CARRY = hex("b08004809c5bf4");

    // SUB16_OVERFLOW (32-bit, org 0x100000):
    //   mov ax, 0x8000
    //   sub ax, 1
    //   pushfd
    //   pop ebx
    //   hlt
    static final byte[] SUB16_OVERFLOW = hex("66b800806683e8019c5bf4");

    // INC_KEEPS_CF (32-bit, org 0x100000):
    //   stc
    //   mov eax, 0xFFFFFFFF
    //   inc eax
    //   pushfd
    //   pop ebx
    //   hlt
    static final byte[] INC_KEEPS_CF = hex("f9b8ffffffff409c5bf4");
    // INC_DEC_MEMORY: stc / mov dword [0x2000], -1 / inc dword [0x2000] / pushfd / pop ebx
    //   / mov word [0x2004], 0x8000 / dec word [0x2004] / pushfd / pop ecx / mov eax, [0x2000]
    //   / mov edx, [0x2004] / hlt
    // MEMORY_MULTIPLY_EXTEND: mov dword [0x2000], -7 / mov word [0x2004], 0x8001 / mov byte [0x2006], 0x80
    //   / mov eax, 6 / imul eax, [0x2000] / mov ecx, 0x40000000 / imul ecx, [0x2000] / pushfd / pop ebx
    //   / imul edx, [0x2000], 1000 / movsx esi, word [0x2004] / movsx edi, byte [0x2006]
    //   / movsx bp, byte [0x2006] / hlt
    static final byte[] MEMORY_MULTIPLY_EXTEND = hex("c70500200000f9ffffff66c705042000000180c6050620000080b8060000000faf0500200000b9000000400faf0d002000009c5b691500200000e80300000fbf35042000000fbe3d06200000660fbe2d06200000f4");
    // STRINGS_ONCE: mov dword [0x2000], 0x04030201 / mov dword [0x2004], 0x08070605
    //   / mov esi, 0x2000 / mov edi, 0x3000 / mov ecx, 8 / cld / l: lodsb / add al, 1 / stosb / loop l
    //   / std / mov esi, 0x2007 / mov edi, 0x4007 / mov ecx, 8 / l2: movsb / loop l2 / cld
    //   / mov esi, 0x3000 / mov edi, 0x4000 / cmpsd / pushfd / pop ebx / mov edi, 0x3000 / mov al, 2
    //   / scasb / pushfd / pop edx / hlt
    static final byte[] STRINGS_ONCE = hex("c7050020000001020304c7050420000005060708be00200000bf00300000b908000000fcac0401aae2fafdbe07200000bf07400000b908000000a4e2fdfcbe00300000bf00400000a79c5bbf00300000b002ae9c5af4");
    static final byte[] INC_DEC_MEMORY = hex("f9c70500200000ffffffffff05002000009c5b66c70504200000008066ff0d042000009c59a1002000008b1504200000f4");

    // DEC_OVERFLOW (32-bit, org 0x100000):
    //   clc
    //   mov eax, 0x80000000
    //   dec eax
    //   pushfd
    //   pop ebx
    //   hlt
    static final byte[] DEC_OVERFLOW = hex("f8b800000080489c5bf4");

    // ADC_SBB (32-bit, org 0x100000):
    //   stc
    //   mov eax, 1
    //   adc eax, 1
    //   pushfd
    //   pop ebx
    //   stc
    //   mov ecx, 0
    //   sbb ecx, 0
    //   pushfd
    //   pop edx
    //   hlt
    static final byte[] ADC_SBB = hex("f9b80100000083d0019c5bf9b90000000083d9009c5af4");

    // NEG5 (32-bit, org 0x100000):
    //   mov eax, 5
    //   neg eax
    //   pushfd
    //   pop ebx
    //   hlt
    static final byte[] NEG5 = hex("b805000000f7d89c5bf4");

    // SHIFTS (32-bit, org 0x100000):
    //   mov eax, 0x80000001
    //   shl eax, 1
    //   pushfd
    //   pop ebx
    //   mov ecx, 0x80000000
    //   sar ecx, 4
    //   pushfd
    //   pop edx
    //   mov esi, 0x81
    //   shr esi, 1
    //   pushfd
    //   pop edi
    //   hlt
    static final byte[] SHIFTS = hex("b801000080d1e09c5bb900000080c1f9049c5abe81000000d1ee9c5ff4");

    // ROL_KEEPS_ZF (32-bit, org 0x100000):
    //   xor ecx, ecx
    //   mov eax, 0x80000000
    //   rol eax, 1
    //   pushfd
    //   pop ebx
    //   hlt
    static final byte[] ROL_KEEPS_ZF = hex("31c9b800000080d1c09c5bf4");

    // RCL_RCR (32-bit, org 0x100000):
    //   stc
    //   mov eax, 0x40000000
    //   rcl eax, 2
    //   pushfd
    //   pop ebx
    //   clc
    //   mov ecx, 1
    //   rcr ecx, 1
    //   pushfd
    //   pop edx
    //   hlt
    static final byte[] RCL_RCR = hex("f9b800000040c1d0029c5bf8b901000000d1d99c5af4");

    // MULDIV (32-bit, org 0x100000):
    //   mov eax, 0x80000000
    //   mov ecx, 4
    //   mul ecx
    //   mov esi, edx
    //   mov edi, eax
    //   mov eax, -7
    //   cdq
    //   mov ecx, 2
    //   idiv ecx
    //   mov ebx, edx
    //   hlt
    static final byte[] MULDIV = hex("b800000080b904000000f7e189d689c7b8f9ffffff99b902000000f7f989d3f4");

    // IMUL_FORMS (32-bit, org 0x100000):
    //   mov eax, -2
    //   mov ecx, 3
    //   imul ecx
    //   mov esi, edx
    //   mov ebx, 4
    //   imul edi, ebx, 0x40000000
    //   pushfd
    //   pop ebp
    //   hlt
    static final byte[] IMUL_FORMS = hex("b8feffffffb903000000f7e989d6bb0400000069fb000000409c5df4");

    // DIV_OVERFLOW (32-bit, org 0x100000):
    //   mov edx, 5
    //   mov eax, 0
    //   mov ecx, 2
    //   div ecx
    //   hlt
    static final byte[] DIV_OVERFLOW = hex("ba05000000b800000000b902000000f7f1f4");

    // CMPXCHG_XADD (32-bit, org 0x100000):
    //   mov eax, 5
    //   mov ebx, 5
    //   mov ecx, 9
    //   cmpxchg ebx, ecx
    //   pushfd
    //   pop esi
    //   cmpxchg ebx, ecx
    //   mov edx, 1
    //   mov edi, 2
    //   xadd edx, edi
    //   hlt
    static final byte[] CMPXCHG_XADD = hex("b805000000bb05000000b9090000000fb1cb9c5e0fb1cbba01000000bf020000000fc1faf4");

    // CMPXCHG8B_MEM (32-bit, org 0x100000):
    //   mov dword [0x2000], 0x11111111
    //   mov dword [0x2004], 0x22222222
    //   mov eax, 0x11111111
    //   mov edx, 0x22222222
    //   mov ebx, 0x33333333
    //   mov ecx, 0x44444444
    //   lock cmpxchg8b [0x2000]
    //   pushfd
    //   pop esi
    //   mov eax, 0
    //   cmpxchg8b [0x2000]
    //   hlt
    static final byte[] CMPXCHG8B_MEM = hex("c7050020000011111111c7050420000022222222b811111111ba22222222bb33333333b944444444f00fc70d002000009c5eb8000000000fc70d00200000f4");

    // BITS (32-bit, org 0x100000):
    //   mov eax, 0x11223344
    //   bswap eax
    //   mov ebx, 1010b
    //   bt ebx, 1
    //   setc cl
    //   bts ebx, 0
    //   btr ebx, 3
    //   btc ebx, 4
    //   mov edx, 0xF0
    //   bsf esi, edx
    //   bsr edi, edx
    //   hlt
    static final byte[] BITS = hex("b8443322110fc8bb0a0000000fbae3010f92c10fbaeb000fbaf3030fbafb04baf00000000fbcf20fbdfaf4");

    // BT_MEM_FAR (32-bit, org 0x100000):
    //   mov dword [0x2004], 8
    //   mov ecx, 35
    //   bt dword [0x2000], ecx
    //   setc al
    //   bts dword [0x2000], ecx
    //   mov ebx, [0x2004]
    //   mov ecx, -1
    //   bts dword [0x2004], ecx
    //   mov edx, [0x2000]
    //   hlt
    static final byte[] BT_MEM_FAR = hex("c7050420000008000000b9230000000fa30d002000000f92c00fab0d002000008b1d04200000b9ffffffff0fab0d042000008b1500200000f4");

    // BSF_ZERO (32-bit, org 0x100000):
    //   mov ecx, 0x1234
    //   xor eax, eax
    //   bsf ecx, eax
    //   pushfd
    //   pop ebx
    //   hlt
    static final byte[] BSF_ZERO = hex("b93412000031c00fbcc89c5bf4");

    // SHLD_SHRD (32-bit, org 0x100000):
    //   mov eax, 0x12345678
    //   mov edx, 0x9ABCDEF0
    //   shld eax, edx, 8
    //   mov ebx, eax
    //   shrd eax, edx, 8
    //   mov cl, 4
    //   mov esi, 0x0000FFFF
    //   shld esi, edx, cl
    //   hlt
    static final byte[] SHLD_SHRD = hex("b878563412baf0debc9a0fa4d00889c30facd008b104beffff00000fa5d6f4");

    // ENTER_LEAVE_PUSHA (32-bit, org 0x100000):
    //   mov ebp, 0x1234
    //   enter 16, 0
    //   mov eax, esp
    //   mov ebx, ebp
    //   leave
    //   mov ecx, esp
    //   mov edx, ebp
    //   mov esi, 0x5555
    //   pusha
    //   mov esi, 0
    //   popa
    //   hlt
    static final byte[] ENTER_LEAVE_PUSHA = hex("bd34120000c810000089e089ebc989e189eabe5555000060be0000000061f4");

    // STRINGS (32-bit, org 0x100000):
    //   cld
    //   mov esi, src
    //   mov edi, 0x3000
    //   mov ecx, 5
    //   rep movsb
    //   mov edi, 0x3100
    //   mov eax, 0xAABBCCDD
    //   mov ecx, 3
    //   rep stosd
    //   mov edi, src
    //   mov al, 'l'
    //   mov ecx, 5
    //   repne scasb
    //   mov ebx, ecx
    //   mov edx, edi
    //   mov esi, src
    //   mov edi, 0x3000
    //   mov ecx, 5
    //   repe cmpsb
    //   pushfd
    //   pop ebp
    //   hlt
    //   src: db "hello"
    static final byte[] STRINGS = hex("fcbe49001000bf00300000b905000000f3a4bf00310000b8ddccbbaab903000000f3abbf49001000b06cb905000000f2ae89cb89fabe49001000bf00300000b905000000f3a69c5df468656c6c6f");

    // LOOP_XLAT (32-bit, org 0x100000):
    //   mov ecx, 5
    //   xor eax, eax
    //   l: inc eax
    //   loop l
    //   mov edx, eax
    //   mov ebx, table
    //   mov al, 3
    //   xlatb
    //   hlt
    //   table: db 10, 11, 12, 13, 14
    static final byte[] LOOP_XLAT = hex("b90500000031c040e2fd89c2bb15001000b003d7f40a0b0c0d0e");

    // BCD (32-bit, org 0x100000):
    //   mov al, 0x79
    //   add al, 0x35
    //   daa
    //   setc bl
    //   mov cl, al
    //   mov ax, 0x0009
    //   add al, 3
    //   aaa
    //   mov dx, ax
    //   mov al, 83
    //   aam
    //   mov si, ax
    //   mov ax, 0x0803
    //   aad
    //   mov di, ax
    //   hlt
    static final byte[] BCD = hex("b0790435270f92c388c166b809000403376689c2b053d40a6689c666b80308d50a6689c7f4");

    // CONVERT_FLAGS (32-bit, org 0x100000):
    //   mov ax, 0xFF80
    //   cwde
    //   cdq
    //   mov ebx, eax
    //   mov ah, 0xD5
    //   sahf
    //   mov ah, 0
    //   lahf
    //   mov cl, ah
    //   mov esi, 3
    //   mov edi, 7
    //   cmp esi, edi
    //   setl ch
    //   mov edx, 1
    //   cmovl edx, edi
    //   hlt
    static final byte[] CONVERT_FLAGS = hex("66b880ff989989c3b4d59eb4009f88e1be03000000bf0700000039fe0f9cc5ba010000000f4cd7f4");

    // REAL_PREFIXES (16-bit, org 0x1000):
    //   mov eax, 0x12345678
    //   add eax, 0x11111111
    //   mov ebx, eax
    //   mov word [fs:0x10], 0xBEEF
    //   mov cx, [0x10]
    //   mov dx, [fs:0x10]
    //   mov esi, 0x10
    //   mov di, [fs:esi]
    //   hlt
    static final byte[] REAL_PREFIXES = hex("66b8785634126605111111116689c364c7061000efbe8b0e1000648b16100066be1000000064678b3ef4");


    // REP_BULK (32-bit, org 0x100000): cld / mov esi, 0x10000 / mov edi, 0x20000 / mov ecx, 0x1801 / rep movsd
    //   / mov edi, 0x30000 / mov eax, 0x5A / mov ecx, 5000 / rep stosb / mov esi, 0x40000 / mov edi, 0x40003
    //   / mov ecx, 30 / rep movsb / hlt
    static final byte[] REP_BULK = hex("fcbe00000100bf00000200b901180000f3a5bf00000300b85a000000b988130000f3aa"
            + "be00000400bf03000400b91e000000f3a4f4");

    private static Guest flat(byte[] code, boolean compiled) {
        Guest g = new Guest(2 << 20).flat32(0x100000).load(0x100000, code);
        g.core.controls.procBased |= Guest.PROC_HLT_EXITING;
        g.core.gpr[ESP] = 0x9000;
        g.core.compileBlocks = compiled;
        g.core.compileThreshold = 1;
        assertEquals(EXIT_HLT, g.run(), "program ran to its HLT");
        return g;
    }

    private static long r(Guest g, int reg) {
        return g.core.gpr[reg];
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void addSubFlagsAtEverySize(boolean compiled) {
        Guest g = flat(ADD_OVERFLOW, compiled);
        assertEquals(0x8000_0000L, r(g, EAX));
        assertEquals(0x896, r(g, EBX), "OF SF AF PF");
        g = flat(SUB_BORROW, compiled);
        assertEquals(0xFFFF_FFFFL, r(g, EAX));
        assertEquals(0x97, r(g, EBX), "CF SF AF PF");
        g = flat(ADD8_CARRY, compiled);
        assertEquals(0, r(g, EAX) & 0xFF);
        assertEquals(0x847, r(g, EBX), "CF OF ZF PF");
        g = flat(SUB16_OVERFLOW, compiled);
        assertEquals(0x7FFF, r(g, EAX) & 0xFFFF);
        assertEquals(0x816, r(g, EBX), "OF AF PF");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void incDecKeepCarryAndAdcSbbUseIt(boolean compiled) {
        Guest g = flat(INC_KEEPS_CF, compiled);
        assertEquals(0, r(g, EAX));
        assertEquals(0x57, r(g, EBX), "CF kept, ZF AF PF");
        g = flat(DEC_OVERFLOW, compiled);
        assertEquals(0x816, r(g, EBX), "OF AF PF, CF still clear");
        g = flat(ADC_SBB, compiled);
        assertEquals(3, r(g, EAX));
        assertEquals(0x6, r(g, EBX));
        assertEquals(0xFFFF_FFFFL, r(g, ECX));
        assertEquals(0x97, r(g, EDX));
        g = flat(INC_DEC_MEMORY, compiled);
        assertEquals(0, r(g, EAX), "inc dword [m] wrapped");
        assertEquals(0x57, r(g, EBX) & 0xFFF, "memory INC: CF kept, ZF AF PF");
        assertEquals(0x7FFF, r(g, EDX) & 0xFFFF, "dec word [m]");
        assertEquals(0x817, r(g, ECX) & 0xFFF, "memory DEC: OF AF PF, CF still set");
        g = flat(NEG5, compiled);
        assertEquals(0xFFFF_FFFBL, r(g, EAX));
        assertEquals(0x93, r(g, EBX), "CF SF AF");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void shiftsAndRotatesSetCarryAndOverflowLikeIntel(boolean compiled) {
        Guest g = flat(SHIFTS, compiled);
        assertEquals(2, r(g, EAX));
        assertEquals(0x803, r(g, EBX), "SHL: CF=1, OF=MSB^CF=1");
        assertEquals(0xF800_0000L, r(g, ECX));
        assertEquals(0x86, r(g, EDX), "SAR: SF PF");
        assertEquals(0x40, r(g, ESI));
        assertEquals(0x3, r(g, EDI), "SHR 1: CF=1, OF=old MSB=0");
        g = flat(ROL_KEEPS_ZF, compiled);
        assertEquals(1, r(g, EAX));
        assertEquals(0x847, r(g, EBX), "ROL changes only CF and OF");
        g = flat(RCL_RCR, compiled);
        assertEquals(2, r(g, EAX));
        assertEquals(0x803, r(g, EBX));
        assertEquals(0, r(g, ECX));
        assertEquals(0x3, r(g, EDX));
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void multiplyAndDivide(boolean compiled) {
        Guest g = flat(MULDIV, compiled);
        assertEquals(2, r(g, ESI), "MUL high half");
        assertEquals(0, r(g, EDI), "MUL low half");
        assertEquals(0xFFFF_FFFDL, r(g, EAX), "IDIV -7/2 = -3");
        assertEquals(0xFFFF_FFFFL, r(g, EBX), "remainder -1");
        g = flat(IMUL_FORMS, compiled);
        assertEquals(0xFFFF_FFFAL, r(g, EAX));
        assertEquals(0xFFFF_FFFFL, r(g, ESI));
        assertEquals(0, r(g, EDI));
        assertEquals(0x801, r(g, EBP) & 0x801, "CF and OF: the product did not fit");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void multiplyAndSignExtendFromMemory(boolean compiled) {
        Guest g = flat(MEMORY_MULTIPLY_EXTEND, compiled);
        assertEquals(0xFFFF_FFD6L, r(g, EAX), "6 * -7");
        assertEquals(0x4000_0000L, r(g, ECX), "0x40000000 * -7, truncated");
        assertEquals(0x801, r(g, EBX) & 0x801, "the truncation sets CF and OF");
        assertEquals(0xFFFF_E4A8L, r(g, EDX), "-7 * 1000");
        assertEquals(0xFFFF_8001L, r(g, ESI), "movsx from a word");
        assertEquals(0xFFFF_FF80L, r(g, EDI), "movsx from a byte");
        assertEquals(0xFF80, r(g, EBP) & 0xFFFF, "movsx to a 16-bit register");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void divideOverflowIsADivideError(boolean compiled) {
        Guest g = new Guest(2 << 20).flat32(0x100000).load(0x100000, DIV_OVERFLOW);
        g.core.compileBlocks = compiled;
        g.core.compileThreshold = 1;
        g.core.controls.exceptionBitmap = 1;
        assertEquals(EXIT_EXCEPTION, g.run());
        assertEquals(0x8000_0300, g.core.exit.interruptionInfo);
        assertEquals(0x10000F, g.core.rip, "at the DIV");
        assertEquals(5, r(g, EDX), "nothing written");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void compareExchangeAndExchangeAdd(boolean compiled) {
        Guest g = flat(CMPXCHG_XADD, compiled);
        assertEquals(0x46, r(g, ESI), "first CMPXCHG: equal, ZF");
        assertEquals(9, r(g, EBX));
        assertEquals(9, r(g, EAX), "second CMPXCHG loaded the accumulator");
        assertEquals(3, r(g, EDX));
        assertEquals(1, r(g, EDI));
        g = flat(CMPXCHG8B_MEM, compiled);
        assertEquals(0x40, r(g, ESI) & 0x40);
        assertEquals(0x3333_3333L, r(g, EAX));
        assertEquals(0x4444_4444L, r(g, EDX));
        assertEquals(0x3333_3333L, g.getInt(0x2000));
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void bitInstructions(boolean compiled) {
        Guest g = flat(BITS, compiled);
        assertEquals(0x4433_2211L, r(g, EAX));
        assertEquals(1, r(g, ECX) & 0xFF);
        assertEquals(0x13, r(g, EBX));
        assertEquals(4, r(g, ESI));
        assertEquals(7, r(g, EDI));
        g = flat(BT_MEM_FAR, compiled);
        assertEquals(1, r(g, EAX) & 0xFF, "bit 35 is bit 3 of the next dword");
        assertEquals(8, r(g, EBX));
        assertEquals(0x8000_0000L, r(g, EDX), "bit -1 is bit 31 of the previous dword");
        g = flat(BSF_ZERO, compiled);
        assertEquals(0x1234, r(g, ECX), "destination unchanged");
        assertEquals(0x40, r(g, EBX) & 0x40);
        g = flat(SHLD_SHRD, compiled);
        assertEquals(0x3456_789AL, r(g, EBX));
        assertEquals(0xF034_5678L, r(g, EAX));
        assertEquals(0xF_FFF9L, r(g, ESI));
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void stackFrames(boolean compiled) {
        Guest g = flat(ENTER_LEAVE_PUSHA, compiled);
        assertEquals(0x8FEC, r(g, EAX));
        assertEquals(0x8FFC, r(g, EBX));
        assertEquals(0x9000, r(g, ECX));
        assertEquals(0x1234, r(g, EDX));
        assertEquals(0x5555, r(g, ESI), "POPA restored ESI");
        assertEquals(0x9000, r(g, ESP));
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void stringInstructionsWithRepPrefixes(boolean compiled) {
        Guest g = flat(STRINGS, compiled);
        long src = 0x100000 + STRINGS.length - 5;
        assertEquals("hello", new String(g.ram, 0x3000, 5, java.nio.charset.StandardCharsets.US_ASCII));
        assertEquals(0xAABB_CCDDL, g.getInt(0x3108));
        assertEquals(0, g.getInt(0x310C));
        assertEquals(2, r(g, EBX), "REPNE SCASB stopped at the first 'l'");
        assertEquals(src + 3, r(g, EDX));
        assertEquals(0, r(g, ECX));
        assertEquals(0x40, r(g, EBP) & 0x40, "REPE CMPSB: all equal");
        g = flat(LOOP_XLAT, compiled);
        assertEquals(5, r(g, EDX));
        assertEquals(13, r(g, EAX));
        assertEquals(0, r(g, ECX));
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void decimalAdjustments(boolean compiled) {
        Guest g = flat(BCD, compiled);
        assertEquals(0x14, r(g, ECX) & 0xFF, "79 + 35 = 114 in BCD");
        assertEquals(1, r(g, EBX) & 0xFF, "carry");
        assertEquals(0x0102, r(g, EDX) & 0xFFFF, "AAA");
        assertEquals(0x0803, r(g, ESI) & 0xFFFF, "AAM 83");
        assertEquals(0x0053, r(g, EDI) & 0xFFFF, "AAD 0803h");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void conversionsFlagTransfersAndConditionals(boolean compiled) {
        Guest g = flat(CONVERT_FLAGS, compiled);
        assertEquals(0xFFFF_FF80L, r(g, EBX));
        assertEquals(0x01D7, r(g, ECX) & 0xFFFF, "LAHF reads back D5 | bit 1; SETL");
        assertEquals(7, r(g, EDX), "CMOVL moved");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void realModeOperandAndAddressSizePrefixesAndOverrides(boolean compiled) {
        Guest g = new Guest(1 << 20).realMode(0x1000).load(0x1000, REAL_PREFIXES);
        g.core.compileBlocks = compiled;
        g.core.compileThreshold = 1;
        g.core.controls.procBased |= Guest.PROC_HLT_EXITING;
        g.core.fs.load(0x1000, 0x10000, 0xFFFF, 0x93);
        g.core.stateLoaded();
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0x2345_6789L, r(g, EBX));
        assertEquals(0, r(g, ECX) & 0xFFFF, "DS:10h");
        assertEquals(0xBEEF, r(g, EDX) & 0xFFFF, "FS:10h");
        assertEquals(0xBEEF, r(g, EDI) & 0xFFFF, "FS:[ESI] with 67h");
        assertEquals(0xBEEF, g.getShort(0x10010));
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void stringInstructionsWithoutRepInLoopsBothDirections(boolean compiled) {
        Guest g = flat(STRINGS_ONCE, compiled);
        assertEquals(0x0504_0302L, g.getInt(0x3000), "LODSB, +1, STOSB forward");
        assertEquals(0x0908_0706L, g.getInt(0x3004));
        assertEquals(0x0403_0201L, g.getInt(0x4000), "MOVSB backward (DF set)");
        assertEquals(0x0807_0605L, g.getInt(0x4004));
        assertEquals(0, r(g, EBX) & 0x41, "CMPSD: 0x05040302 above 0x04030201, no ZF, no CF");
        assertEquals(0x40, r(g, EDX) & 0x41, "SCASB: AL equals [0x3000]");
        assertEquals(0x3004, r(g, ESI));
        assertEquals(0x3001, r(g, EDI));
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void longRepMovsAndStosAcrossPagesAndOverlappingCopies(boolean compiled) {
        Guest pre = new Guest(2 << 20);
        for (int i = 0; i < 0x6100; i++) {
            pre.ram[0x10000 + i] = (byte) (i * 7 + 1);
        }
        pre.ram[0x40000] = 1;
        pre.ram[0x40001] = 2;
        pre.ram[0x40002] = 3;
        Guest g = pre.flat32(0x100000).load(0x100000, REP_BULK);
        g.core.controls.procBased |= Guest.PROC_HLT_EXITING;
        g.core.compileBlocks = compiled;
        g.core.compileThreshold = 1;
        assertEquals(EXIT_HLT, g.run());
        int bytes = 0x1801 * 4;
        for (int i = 0; i < bytes; i++) {
            assertEquals(g.ram[0x10000 + i], g.ram[0x20000 + i], "MOVSD byte " + i);
        }
        assertEquals(0, g.ram[0x20000 + bytes]);
        for (int i = 0; i < 5000; i++) {
            assertEquals(0x5A, g.ram[0x30000 + i]);
        }
        assertEquals(0, g.ram[0x30000 + 5000]);
        for (int i = 0; i < 33; i++) {
            assertEquals(i % 3 + 1, g.ram[0x40000 + i], "forward overlap replicates the pattern at " + i);
        }
        assertEquals(0, r(g, ECX));
        assertEquals(0x4001E, r(g, ESI));
        assertEquals(0x40021, r(g, EDI));
    }
}
