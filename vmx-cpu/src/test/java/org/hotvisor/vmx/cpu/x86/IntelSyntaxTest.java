package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.Guest.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import org.hotvisor.api.vmx.Disassembler;
import org.junit.jupiter.api.Test;

/** The disassembler's text for every operation family, in 32- and 16-bit code (Intel syntax, nasm size keywords). */
class IntelSyntaxTest {

    /** {bytes, expected text}: 32-bit code at address 0x1000. */
    static final String[][] CODE32 = {
        // data movement
        {"8b4304", "mov eax, dword [ebx+0x4]"},
        {"89d8", "mov eax, ebx"},
        {"8a66fc", "mov ah, byte [esi-0x4]"},
        {"b878563412", "mov eax, 0x12345678"},
        {"c7050010000001000000", "mov dword [0x1000], 0x1"},
        {"66c7000100", "mov word [eax], 0x1"},
        {"a100100000", "mov eax, [0x1000]"},
        {"64a100000000", "mov eax, [fs:0x0]"},
        {"648b00", "mov eax, dword [fs:eax]"},
        {"8b44b310", "mov eax, dword [ebx+esi*4+0x10]"},
        {"8b4500", "mov eax, dword [ebp+0x0]"},
        {"8b0424", "mov eax, dword [esp]"},
        {"8b048d00010000", "mov eax, dword [ecx*4+0x100]"},
        {"0fb6c3", "movzx eax, bl"},
        {"0fbf03", "movsx eax, word [ebx]"},
        {"8d4c2404", "lea ecx, [esp+0x4]"},
        {"87c3", "xchg ebx, eax"},
        {"93", "xchg ebx, eax"},
        {"8603", "xchg byte [ebx], al"},
        {"8ed8", "mov ds, eax"},
        {"8e10", "mov ss, word [eax]"},
        {"8cc8", "mov eax, cs"},
        {"50", "push eax"},
        {"6aff", "push 0xffffffff"},
        {"ff36", "push dword [esi]"},
        {"8f00", "pop dword [eax]"},
        {"0fa0", "push fs"},
        {"1f", "pop ds"},
        {"60", "pusha"},
        {"6661", "popaw"},
        {"9c", "pushf"},
        {"98", "cwde"},
        {"6699", "cwd"},
        {"9f", "lahf"},
        {"d7", "xlatb"},
        {"0fc9", "bswap ecx"},
        {"0f44c3", "cmovz eax, ebx"},
        {"0f95c0", "setnz al"},
        {"c51e", "lds ebx, fword [esi]"},
        {"0fb203", "lss eax, fword [ebx]"},
        // arithmetic
        {"01d8", "add eax, ebx"},
        {"2b03", "sub eax, dword [ebx]"},
        {"3103", "xor dword [ebx], eax"},
        {"83c0ff", "add eax, 0xffffffff"},
        {"80384a", "cmp byte [eax], 0x4a"},
        {"a9ff000000", "test eax, 0xff"},
        {"85c3", "test ebx, eax"},
        {"f6c105", "test cl, 0x5"},
        {"40", "inc eax"},
        {"fe08", "dec byte [eax]"},
        {"f7d0", "not eax"},
        {"f71b", "neg dword [ebx]"},
        {"d1e0", "shl eax, 1"},
        {"c1e821", "shr eax, 0x21"},
        {"d3f8", "sar eax, cl"},
        {"c0c003", "rol al, 0x3"},
        {"d110", "rcl dword [eax], 1"},
        {"f7e3", "mul ebx"},
        {"f73e", "idiv dword [esi]"},
        {"6bc0ff", "imul eax, eax, 0xffffffff"},
        {"0fafc3", "imul eax, ebx"},
        {"0fa4c304", "shld ebx, eax, 0x4"},
        {"0fad03", "shrd dword [ebx], eax, cl"},
        {"0fbae005", "bt eax, 0x5"},
        {"0fab03", "bts dword [ebx], eax"},
        {"0fbcc3", "bsf eax, ebx"},
        {"0fc1c3", "xadd ebx, eax"},
        {"f00fb10b", "lock cmpxchg dword [ebx], ecx"},
        {"f00fc70e", "lock cmpxchg8b qword [esi]"},
        {"f0ff00", "lock inc dword [eax]"},
        {"27", "daa"},
        {"d40a", "aam 0xa"},
        {"d6", "salc"},
        // control transfer (address 0x1000)
        {"7510", "jnz 0x1012"},
        {"0f84fafeffff", "jz 0xf00"},
        {"ebfe", "jmp 0x1000"},
        {"e8fb0f0000", "call 0x2000"},
        {"ffd0", "call eax"},
        {"ff2485000000c0", "jmp dword [eax*4-0x40000000]"},
        {"c3", "ret"},
        {"c20800", "ret 0x8"},
        {"cb", "retf"},
        {"ea000010000800", "jmp 0x8:0x100000"},
        {"9a785634121000", "call 0x10:0x12345678"},
        {"ff28", "jmp fword [eax]"},
        {"cf", "iret"},
        {"cd10", "int 0x10"},
        {"cc", "int3"},
        {"ce", "into"},
        {"f1", "int1"},
        {"e2fe", "loop 0x1000"},
        {"e3fe", "jecxz 0x1000"},
        {"c8100001", "enter 0x10, 0x1"},
        {"c9", "leave"},
        {"6203", "bound eax, qword [ebx]"},
        // strings and I/O
        {"a4", "movsb"},
        {"f3a5", "rep movsd"},
        {"f3a6", "repe cmpsb"},
        {"f2ae", "repne scasb"},
        {"66ad", "lodsw"},
        {"aa", "stosb"},
        {"6c", "insb"},
        {"f36f", "rep outsd"},
        {"2ea4", "movs byte [es:edi], byte [cs:esi]"},
        {"67a5", "movs dword [es:di], dword [ds:si]"},
        {"26aa", "es stosb"},
        {"e460", "in al, 0x60"},
        {"ed", "in eax, dx"},
        {"e680", "out 0x80, al"},
        {"66ef", "out dx, ax"},
        // flags
        {"f8", "clc"}, {"f9", "stc"}, {"f5", "cmc"}, {"fc", "cld"}, {"fd", "std"}, {"fa", "cli"}, {"fb", "sti"},
        // system
        {"f4", "hlt"},
        {"0fa2", "cpuid"},
        {"0f31", "rdtsc"},
        {"0f01f9", "rdtscp"},
        {"0f32", "rdmsr"},
        {"0f30", "wrmsr"},
        {"0f33", "rdpmc"},
        {"0f22d8", "mov cr3, eax"},
        {"0f20c0", "mov eax, cr0"},
        {"0f23f8", "mov dr7, eax"},
        {"0f21f0", "mov eax, dr6"},
        {"0f06", "clts"},
        {"0f01f0", "lmsw ax"},
        {"0f01e0", "smsw eax"},
        {"0f0110", "lgdtd [eax]"},
        {"0f011d00100000", "lidtd [0x1000]"},
        {"0f0100", "sgdtd [eax]"},
        {"0f0108", "sidtd [eax]"},
        {"0f00d0", "lldt ax"},
        {"0f0000", "sldt word [eax]"},
        {"0f00d8", "ltr ax"},
        {"0f00c8", "str eax"},
        {"0f02c3", "lar eax, ebx"},
        {"0f0303", "lsl eax, word [ebx]"},
        {"0f00e0", "verr ax"},
        {"0f00e8", "verw ax"},
        {"63c3", "arpl bx, ax"},
        {"0f0138", "invlpg byte [eax]"},
        {"0f08", "invd"},
        {"0f09", "wbinvd"},
        {"9b", "fwait"},
        {"f390", "pause"},
        {"0f01c8", "monitor"},
        {"0f01c9", "mwait"},
        {"0f01d1", "xsetbv"},
        {"0f01d0", "xgetbv"},
        {"0fc7f0", "rdrand eax"},
        {"0fc7f8", "rdseed eax"},
        {"660f388201", "invpcid eax, [ecx]"},
        {"660f388001", "invept eax, oword [ecx]"},
        {"660f388101", "invvpid eax, oword [ecx]"},
        {"0f37", "getsec"},
        {"0f01c1", "vmcall"},
        {"0f01c2", "vmlaunch"},
        {"0f01c3", "vmresume"},
        {"0f01c4", "vmxoff"},
        {"0f01d4", "vmfunc"},
        {"660fc730", "vmclear qword [eax]"},
        {"0fc736", "vmptrld qword [esi]"},
        {"0fc738", "vmptrst qword [eax]"},
        {"f30fc730", "vmxon qword [eax]"},
        {"0f78c3", "vmread ebx, eax"},
        {"0f7903", "vmwrite eax, dword [ebx]"},
        {"0fc728", "xsaves [eax]"},
        {"0fc718", "xrstors [eax]"},
        {"0f34", "sysenter"},
        {"0f35", "sysexit"},
        {"0faa", "rsm"},
        {"0fae38", "clflush byte [eax]"},
        {"0f0b", "ud2"},
        // no-operation forms and x87
        {"90", "nop"},
        {"6690", "xchg ax, ax"},
        {"0f1f440000", "nop dword [eax+eax*1+0x0]"},
        {"0f1800", "prefetchnta byte [eax]"},
        {"0faee8", "lfence"},
        {"0faef0", "mfence"},
        {"d9c0", "fld st(0)"},
        {"dd5df8", "fstp qword [ebp-0x8]"},
        {"dbe3", "fninit"},
        {"dfe0", "fnstsw ax"},
        {"d8c1", "fadd st, st(1)"},
        {"dee9", "fsubp st(1), st"},
        {"d92d00100000", "fldcw word [0x1000]"},
        {"db28", "fld tbyte [eax]"},
        // prefixes no operand shows
        {"2e90", "cs nop"},
        {"6790", "addr16 nop"},
        {"67a10010", "addr16 mov eax, [0x1000]"},
    };

    /** {bytes, expected text}: 16-bit code at address 0x7c00. */
    static final String[][] CODE16 = {
        {"8b00", "mov ax, word [bx+si]"},
        {"8b4102", "mov ax, word [bx+di+0x2]"},
        {"8b46fe", "mov ax, word [bp-0x2]"},
        {"8b060010", "mov ax, word [0x1000]"},
        {"268b07", "mov ax, word [es:bx]"},
        {"668b00", "mov eax, dword [bx+si]"},
        {"678b4304", "mov ax, word [ebx+0x4]"},
        {"b80010", "mov ax, 0x1000"},
        {"b40e", "mov ah, 0xe"},
        {"8ed0", "mov ss, ax"},
        {"6aff", "push 0xffff"},
        {"666aff", "pushd 0xffffffff"},
        {"60", "pusha"},
        {"6660", "pushad"},
        {"98", "cbw"},
        {"6698", "cwde"},
        {"c41e0010", "les bx, dword [0x1000]"},
        {"ff2e0010", "jmp dword [0x1000]"},
        {"ea00000000", "jmp 0x0:0x0"},
        {"ea5be000f0", "jmp 0xf000:0xe05b"},
        {"ebfe", "jmp 0x7c00"},
        {"7405", "jz 0x7c07"},
        {"e9fd83", "jmp 0x0"},
        {"e80000", "call 0x7c03"},
        {"e3fe", "jcxz 0x7c00"},
        {"cd13", "int 0x13"},
        {"f3a4", "rep movsb"},
        {"66a5", "movsd"},
        {"f3ab", "rep stosw"},
        {"d7", "xlatb"},
        {"0f01160010", "lgdtw [0x1000]"},
        {"0f20c0", "mov eax, cr0"},
        {"0f22c0", "mov cr0, eax"},
        {"cf", "iret"},
        {"66cf", "iretd"},
        {"66c3", "retd"},
        {"fa", "cli"},
        {"f4", "hlt"},
    };

    private static String text(String hex, int bits, long address) {
        byte[] b = hex(hex);
        StringBuilder out = new StringBuilder();
        int len = new IntelSyntax().disassemble(b, 0, address, bits, out);
        assertEquals(b.length, len, hex + ": length (" + out + ")");
        return out.toString();
    }

    @Test
    void everyOperationFamilyIn32BitCode() {
        List<String> wrong = new ArrayList<>();
        for (String[] row : CODE32) {
            String got = text(row[0], 32, 0x1000);
            if (!got.equals(row[1])) {
                wrong.add(row[0] + ": '" + got + "', expected '" + row[1] + "'");
            }
        }
        assertTrue(wrong.isEmpty(), String.join("\n", wrong));
    }

    @Test
    void realModeAnd16BitCode() {
        List<String> wrong = new ArrayList<>();
        for (String[] row : CODE16) {
            String got = text(row[0], 16, 0x7C00);
            if (!got.equals(row[1])) {
                wrong.add(row[0] + ": '" + got + "', expected '" + row[1] + "'");
            }
        }
        assertTrue(wrong.isEmpty(), String.join("\n", wrong));
    }

    @Test
    void sixteenBitBranchesWrapWithinTheir64KiBBlock() {
        // at CS:IP F000:FFFE a short jump forward wraps IP to 0x0003 within CS.base 0xF0000
        assertEquals("jmp 0xf0003", text("eb03", 16, 0xFFFFE));
        // 66 (32-bit operand size) in 16-bit code: no wrap at 64 KiB
        assertEquals("jmp 0x10003", text("66e900000000", 16, 0xFFFD));
    }

    @Test
    void invalidCutOffAndBadArgumentsAreBadWithLengthZero() {
        for (String hex : new String[] {"0f", "b81122", "f001c3", "0fff", "8ec8", "d9d1", "c4c0",
            "666666666666666666666666666666" + "90"}) {
            byte[] b = hex(hex);
            StringBuilder out = new StringBuilder();
            assertEquals(0, new IntelSyntax().disassemble(b, 0, 0, 32, out), hex);
            assertEquals("(bad)", out.toString(), hex);
        }
        StringBuilder out = new StringBuilder("x ");
        assertEquals(0, new IntelSyntax().disassemble(new byte[] {(byte) 0x90}, 1, 0, 32, out));
        assertEquals("x (bad)", out.toString(), "appends; offset past the end");
        assertEquals(0, new IntelSyntax().disassemble(new byte[] {(byte) 0x90}, 0, 0, 8, new StringBuilder()), "no 8-bit mode");
        assertEquals(0, new IntelSyntax().disassemble(null, 0, 0, 32, new StringBuilder()));
    }

    @Test
    void sixtyFourBitCodeWithRexRipRelativeAndQwordOperands() {
        String[][] expected = {
            {"48b88877665544332211", "movabs rax, 0x1122334455667788"},
            {"4c8b0510000000", "mov r8, qword [rip+0x10]"},
            {"4863c1", "movsxd rax, ecx"},
            {"40886424f8", "mov byte [rsp-0x8], spl"},
            {"4898", "cdqe"},
            {"48cf", "iretq"},
            {"480fc70e", "cmpxchg16b oword [rsi]"},
            {"f3480faec0", "rdfsbase rax"},
            {"0f01f8", "swapgs"},
            {"440f20c0", "mov rax, cr8"},
            {"41ffd7", "call r15"},
            {"e800000000", "call 0x1005"},
        };
        for (String[] e : expected) {
            StringBuilder out = new StringBuilder();
            byte[] b = hex(e[0]);
            assertEquals(b.length, new IntelSyntax().disassemble(b, 0, 0x1000, 64, out), e[0]);
            assertEquals(e[1], out.toString(), e[0]);
        }
    }

    @Test
    void theServiceIsFoundByServiceLoaderAndDecodesAtAnOffset() {
        Disassembler d = ServiceLoader.load(Disassembler.class).findFirst().orElseThrow();
        StringBuilder out = new StringBuilder();
        byte[] code = hex("90e6e9ebfa");
        assertEquals(2, d.disassemble(code, 1, 0x7C01, 16, out));
        assertEquals("out 0xe9, al", out.toString());
        out.setLength(0);
        assertEquals(2, d.disassemble(code, 3, 0x7C03, 16, out));
        assertEquals("jmp 0x7bff", out.toString());
    }
}
