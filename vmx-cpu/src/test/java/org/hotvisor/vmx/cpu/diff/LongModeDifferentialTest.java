package org.hotvisor.vmx.cpu.diff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.hotvisor.vmx.cpu.x86.Segment;
import org.hotvisor.vmx.cpu.x86.X86Core;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The 64-bit generator mode of the differential test: seeded sequences of 64-bit instruction
 * forms (REX.W and 32-bit operations with zero extension, R8-R15 and the SPL..DIL/R8B byte
 * registers, imm32 sign extension, imm64, RIP-relative operands, MOVSXD, CDQE/CQO, 128-bit
 * MUL/IMUL/DIV/IDIV, 6-bit shift counts, SHLD/SHRD, BT*, BSF/BSR, CMOVcc, SETcc, XADD, CMPXCHG,
 * CMPXCHG16B, BSWAP, PUSH/POP, REP MOVSQ/STOSQ) run in one Multiboot harness that enters IA-32e
 * mode itself, under {@code qemu-system-x86_64} (TCG) and on Hotvisor's core; every case's sixteen
 * registers, its defined RFLAGS bits and its data block, printed on COM1, must agree.
 *
 * <p>Needs {@code nasm} and {@code qemu-system-x86_64} (Debian: qemu-system-x86); skipped without
 * them unless {@code CI=true}. {@code -Dhotvisor.diff64.seed=N} and {@code -Dhotvisor.diff64.cases=N}
 * change the run; the generated source and both outputs stay in {@code target/difftest64}.
 */
@Tag("difftest")
class LongModeDifferentialTest {
    static final long DEFAULT_SEED = 0x64_5EEDL;
    static final int DEFAULT_CASES = 1500;
    static final String QEMU64 = "qemu-system-x86_64";
    static final int LOAD_ADDRESS = 0x100000;
    static final int RAM = 32 << 20;
    // RFLAGS bits (SDM 1 3.4.3)
    static final long CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;
    static final long ALL = CF | PF | AF | ZF | SF | OF;
    static final String[] R64 = {"rax", "rcx", "rdx", "rbx", null, "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11",
        "r12", "r13", "r14", "r15"};
    static final String[] R32 = {"eax", "ecx", "edx", "ebx", null, "ebp", "esi", "edi", "r8d", "r9d", "r10d",
        "r11d", "r12d", "r13d", "r14d", "r15d"};
    static final String[] R16 = {"ax", "cx", "dx", "bx", null, "bp", "si", "di", "r8w", "r9w", "r10w", "r11w",
        "r12w", "r13w", "r14w", "r15w"};
    static final String[] R8 = {"al", "cl", "dl", "bl", null, "bpl", "sil", "dil", "r8b", "r9b", "r10b", "r11b",
        "r12b", "r13b", "r14b", "r15b"};
    static final String[] ALU = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"};
    static final String[] CC = {"o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"};
    static final String[] SHIFTS = {"rol", "ror", "shl", "shr", "sar"};

    record Case(List<String> lines, long[] regs, long flags, long flagMask, long[] data) {
    }

    @Test
    void sixtyFourBitCodeMatchesQemu() throws Exception {
        String nasm = onPath("nasm"), qemu = onPath(QEMU64);
        if (nasm == null || qemu == null) {
            String message = "64-bit differential test needs nasm and " + QEMU64 + " (apt-get install nasm qemu-system-x86)";
            if (Tools.onCi()) {
                fail(message);
            }
            abort(message);
        }
        long seed = Long.getLong("hotvisor.diff64.seed", DEFAULT_SEED);
        int count = Integer.getInteger("hotvisor.diff64.cases", DEFAULT_CASES);
        List<Case> cases = generate(seed, count);
        Path dir = Path.of("target", "difftest64");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("harness64.asm"), source(cases));
        run(dir.toFile(), 60, nasm, "-f", "bin", "-o", "harness64.bin", "harness64.asm");
        byte[] image = Files.readAllBytes(dir.resolve("harness64.bin"));
        String reference = run(dir.toFile(), 120, qemu, "-kernel", "harness64.bin", "-display", "none", "-nodefaults",
                "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-no-reboot", "-m", "64");
        String ours = runOnHotvisor(image, false);
        String compiled = runOnHotvisor(image, true);
        Files.writeString(dir.resolve("qemu.txt"), reference);
        Files.writeString(dir.resolve("hotvisor.txt"), ours);
        String[] theirs = reference.split("\n"), mine = ours.split("\n"), mineCompiled = compiled.split("\n");
        assertTrue(reference.contains("END"), "QEMU did not finish the harness:\n" + tail(reference));
        List<String> differences = new ArrayList<>();
        TreeSet<String> covered = new TreeSet<>();
        for (int i = 0; i < cases.size(); i++) {
            String t = i < theirs.length ? theirs[i].trim() : "<none>";
            String m = i < mine.length ? mine[i].trim() : "<none>";
            String mc = i < mineCompiled.length ? mineCompiled[i].trim() : "<none>";
            if (!t.equals(m) || !t.equals(mc)) {
                differences.add("case " + i + " " + cases.get(i).lines() + "\n    qemu:     " + t + "\n    hotvisor: " + m
                        + (m.equals(mc) ? "" : "\n    compiled: " + mc));
            } else {
                for (String l : cases.get(i).lines()) {
                    covered.add(l.split(" ")[0]);
                }
            }
        }
        if (!differences.isEmpty()) {
            fail(differences.size() + " of " + cases.size() + " 64-bit cases differ from QEMU (seed " + seed + "):\n"
                    + String.join("\n", differences.subList(0, Math.min(10, differences.size()))));
        }
        assertTrue(covered.size() > 40, "mnemonics compared: " + covered);
        assertEquals(cases.size() + 1, mine.length, "every case printed, then END");
    }

    // ------------------------------------------------------------------------------ generation

    static List<Case> generate(long seed, int count) {
        Random rnd = new Random(seed);
        List<Case> cases = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            long[] regs = new long[16];
            for (int r = 0; r < 16; r++) {
                regs[r] = value(rnd);
            }
            long[] data = new long[4];
            for (int k = 0; k < 4; k++) {
                data[k] = value(rnd);
            }
            List<String> lines = new ArrayList<>();
            long mask = ALL;
            int n = 1 + rnd.nextInt(3);
            for (int k = 0; k < n; k++) {
                if (mask != ALL) {
                    // the flags the last form left undefined must not reach a flag consumer (SETcc, ADC...)
                    lines.add("add rsp, 0");
                    mask = ALL;
                }
                mask &= form(rnd, i, lines);
            }
            long flags = 0x2 | (rnd.nextLong() & ALL);   // IF = 0: QEMU's PIT keeps ticking and there is no IDT
            cases.add(new Case(lines, regs, flags, mask, data));
        }
        return cases;
    }

    static long value(Random rnd) {
        return switch (rnd.nextInt(8)) {
            case 0 -> rnd.nextInt(256);
            case 1 -> new long[] {0, -1, Long.MAX_VALUE, Long.MIN_VALUE, 0xFFFF_FFFFL, 0x8000_0000L, 0x7FFF_FFFFL,
                0xFFFF_FFFF_8000_0000L}[rnd.nextInt(8)];
            case 2 -> rnd.nextInt() & 0xFFFF_FFFFL;
            case 3 -> rnd.nextInt();
            default -> rnd.nextLong();
        };
    }

    private static int reg(Random rnd) {
        int r;
        do {
            r = rnd.nextInt(16);
        } while (r == 4);
        return r;
    }

    private static int regNot(Random rnd, int... excluded) {
        while (true) {
            int r = reg(rnd);
            boolean ok = true;
            for (int e : excluded) {
                ok &= r != e;
            }
            if (ok) {
                return r;
            }
        }
    }

    /** Appends one instruction form (sometimes with a set-up line); returns the flags it leaves defined. */
    static long form(Random rnd, int caseIndex, List<String> out) {
        String mem = "qword [rel data_" + caseIndex + " + " + 8 * rnd.nextInt(4) + "]";
        String mem32 = "dword [rel data_" + caseIndex + " + " + 4 * rnd.nextInt(8) + "]";
        int a = reg(rnd), b = reg(rnd);
        String alu = ALU[rnd.nextInt(ALU.length)];
        String label = ".l" + caseIndex + "_" + out.size();
        switch (rnd.nextInt(46)) {
            case 0 -> out.add(alu + " " + R64[a] + ", " + R64[b]);
            case 1 -> out.add(alu + " " + R32[a] + ", " + R32[b]);
            case 2 -> out.add(alu + " " + R64[a] + ", " + (rnd.nextInt() >> rnd.nextInt(32)));
            case 3 -> out.add(alu + " " + R8[a] + ", " + R8[b]);
            case 4 -> out.add(alu + " " + R16[a] + ", " + R16[b]);
            case 5 -> out.add(alu + " " + mem + ", " + R64[b]);
            case 6 -> out.add(alu + " " + R64[a] + ", " + mem);
            case 7 -> {
                String op = new String[] {"inc", "dec", "neg", "not"}[rnd.nextInt(4)];
                out.add(op + " " + (rnd.nextBoolean() ? R64[a] : R32[a]));
                return ALL;
            }
            case 8 -> {
                int count = rnd.nextInt(64);
                String shift = SHIFTS[rnd.nextInt(SHIFTS.length)];
                out.add(shift + " " + R64[a] + ", " + count);
                return shiftMask(shift, count);
            }
            case 9 -> {
                String shift = SHIFTS[rnd.nextInt(SHIFTS.length)];
                int other = regNot(rnd, 1);
                out.add("mov ecx, " + rnd.nextInt(256));
                out.add(shift + " " + (rnd.nextBoolean() ? R64[other] : R32[other]) + ", cl");
                return ALL & ~(OF | AF) & (shift.startsWith("ro") ? CF : ALL);
            }
            case 10 -> {
                out.add(rnd.nextBoolean() ? "imul " + R64[a] + ", " + R64[b]
                        : "imul " + R64[a] + ", " + R64[b] + ", " + (rnd.nextInt() >> rnd.nextInt(32)));
                return CF | OF;
            }
            case 11 -> {
                out.add((rnd.nextBoolean() ? "mul " : "imul ") + R64[b]);
                return CF | OF;
            }
            case 12 -> {
                int d = regNot(rnd, 0, 2);
                if (rnd.nextBoolean()) {
                    out.add("xor edx, edx");
                    out.add("bts " + R64[d] + ", " + rnd.nextInt(64));
                    out.add("div " + R64[d]);
                } else {
                    out.add("cqo");
                    out.add("shr " + R64[d] + ", 1");
                    out.add("or " + R64[d] + ", 1");
                    out.add("idiv " + R64[d]);
                }
                return 0;
            }
            case 13 -> out.add(new String[] {"movsxd " + R64[a] + ", " + R32[b], "movsxd " + R64[a] + ", " + mem32,
                "movsx " + R64[a] + ", " + R8[b], "movsx " + R64[a] + ", word [rel data_" + caseIndex + "]",
                "movzx " + R32[a] + ", " + R8[b], "movzx " + R64[a] + ", " + R16[b]}[rnd.nextInt(6)]);
            case 14 -> out.add(new String[] {"cdqe", "cqo", "cdq", "cwde", "cbw", "cwd"}[rnd.nextInt(6)]);
            case 15 -> out.add("bswap " + (rnd.nextBoolean() ? R64[a] : R32[a]));
            case 16 -> out.add("cmov" + CC[rnd.nextInt(16)] + " " + (rnd.nextBoolean() ? R64[a] + ", " + R64[b]
                    : R32[a] + ", " + R32[b]));
            case 17 -> out.add("set" + CC[rnd.nextInt(16)] + " " + R8[a]);
            case 18 -> {
                String bt = new String[] {"bt", "bts", "btr", "btc"}[rnd.nextInt(4)];
                out.add(bt + " " + R64[a] + ", " + (rnd.nextBoolean() ? R64[b] : String.valueOf(rnd.nextInt(256))));
                return CF;
            }
            case 19 -> {
                out.add("bts " + R64[b] + ", " + rnd.nextInt(64));
                out.add((rnd.nextBoolean() ? "bsf " : "bsr ") + R64[a] + ", " + R64[b]);
                return ZF;
            }
            case 20 -> {
                out.add((rnd.nextBoolean() ? "xadd " : "xchg ") + R64[a] + ", " + R64[b]);
            }
            case 21 -> out.add("cmpxchg " + (rnd.nextBoolean() ? R64[a] + ", " + R64[b] : mem + ", " + R64[b]));
            case 22 -> {
                int count = 1 + rnd.nextInt(63);
                out.add((rnd.nextBoolean() ? "shld " : "shrd ") + R64[a] + ", " + R64[b] + ", " + count);
                return count == 1 ? ALL & ~AF : CF | SF | ZF | PF;
            }
            case 23 -> {
                out.add("lea " + (rnd.nextBoolean() ? R64[a] : R32[a]) + ", [" + R64[b] + " + " + R64[regNot(rnd, 4)]
                        + " * " + (1 << rnd.nextInt(4)) + " + " + (rnd.nextInt(2001) - 1000) + "]");
            }
            case 24 -> {
                out.add(rnd.nextBoolean() ? "push " + R64[b] : "push " + (rnd.nextInt() >> rnd.nextInt(32)));
                out.add("pop " + R64[a]);
            }
            case 25 -> out.add(new String[] {"mov " + R64[a] + ", " + rnd.nextLong(), "mov " + R32[a] + ", " + rnd.nextInt(),
                "mov " + R64[a] + ", " + mem, "mov " + mem + ", " + R64[b], "mov " + R8[a] + ", " + R8[b],
                "mov qword " + mem.substring(6) + ", " + (rnd.nextInt() >> rnd.nextInt(32))}[rnd.nextInt(6)]);
            case 26 -> {
                // SDM 2: only ZF changes; QEMU 7.2 TCG also rewrites the other status flags, so compare ZF alone
                out.add("cmpxchg16b oword [rel data_" + caseIndex + "]");
                return ZF;
            }
            case 27 -> {
                out.add("lea rsi, [rel data_" + caseIndex + "]");
                out.add("lea rdi, [rel data_" + caseIndex + " + 8]");
                out.add("mov ecx, " + (1 + rnd.nextInt(3)));
                out.add(rnd.nextBoolean() ? "rep movsq" : "rep stosq");
            }
            case 28 -> out.add((rnd.nextBoolean() ? "test " : "and ") + R64[a] + ", " + R64[b]);
            case 29 -> {
                out.add("call " + label);   // a near CALL pushes the 64-bit return address
                out.add(label + ":");
                out.add("pop " + R64[a]);
            }
            case 30 -> {
                int other = regNot(rnd, 1);
                out.add("mov ecx, " + (1 + rnd.nextInt(5)));
                out.add(label + ":");
                out.add("add " + R64[other] + ", " + rnd.nextInt(100));
                out.add(rnd.nextBoolean() ? "loop " + label : "dec rcx");
                out.add("jrcxz " + label + "e");
                out.add("inc " + R64[other]);
                out.add(label + "e:");
            }
            case 31 -> {
                int count = rnd.nextInt(64);
                out.add((rnd.nextBoolean() ? "rcl " : "rcr ") + R64[a] + ", " + count);
                return count == 0 ? ALL : count == 1 ? ALL : ALL & ~OF;
            }
            case 32 -> {
                int d = regNot(rnd, 0, 2);
                String kind = rnd.nextBoolean() ? "div " : "idiv ";
                if (rnd.nextBoolean()) {
                    out.add("and eax, 0xFF");
                    out.add("bts " + R32[d] + ", 7");
                    out.add("div " + R8[d]);
                } else {
                    out.add("xor edx, edx");
                    out.add("and eax, 0x7FFFFFFF");
                    out.add("bts " + R32[d] + ", 30");
                    out.add(kind + R32[d]);
                }
                return 0;
            }
            case 33 -> {
                out.add(new String[] {"mul " + R8[b], "imul " + R32[b], "mul " + R32[b], "imul " + R16[a] + ", " + R16[b],
                    "imul " + R32[a] + ", " + R32[b] + ", " + rnd.nextInt()}[rnd.nextInt(5)]);
                return CF | OF;
            }
            case 34 -> {
                out.add("pushfq");
                out.add("pop " + R64[a]);
            }
            case 35 -> out.add(rnd.nextBoolean() ? "lahf" : "sahf");
            case 36 -> {
                out.add("lea rdi, [rel data_" + caseIndex + " + 24]");
                out.add("std");
                out.add("mov ecx, " + (1 + rnd.nextInt(4)));
                out.add(new String[] {"rep stosd", "rep stosw", "stosq", "rep stosb"}[rnd.nextInt(4)]);
                out.add("cld");
            }
            case 37 -> {
                out.add("lea rsi, [rel data_" + caseIndex + "]");
                out.add("lea rdi, [rel data_" + caseIndex + " + 8]");
                out.add("mov ecx, " + (1 + rnd.nextInt(3)));
                out.add(new String[] {"repe cmpsq", "repne scasq", "repe scasd", "lodsq", "repne cmpsb"}[rnd.nextInt(5)]);
            }
            case 38 -> out.add(rnd.nextBoolean() ? "xchg rax, " + R64[b] : "xchg eax, " + R32[b]);
            case 39 -> out.add("cmpxchg " + R32[a] + ", " + R32[b]);
            case 40 -> {
                out.add("enter " + 8 * rnd.nextInt(8) + ", 0");
                out.add("mov " + R64[a] + ", rsp");
                out.add("leave");
            }
            case 41 -> {
                out.add("lea rbx, [rel data_" + caseIndex + "]");
                out.add("and eax, 31");
                out.add("xlatb");
            }
            case 42 -> {
                out.add("push " + R16[b]);
                out.add("pop " + R16[a]);
            }
            case 43 -> {
                int count = rnd.nextInt(32);
                String shift = SHIFTS[rnd.nextInt(SHIFTS.length)];
                out.add(shift + " " + (rnd.nextBoolean() ? R8[a] : R16[a]) + ", " + count);
                return count < 8 ? shiftMask(shift, count) : 0;   // counts beyond the width are undefined
            }
            case 44 -> out.add(new String[] {"movsx " + R32[a] + ", " + R16[b], "movzx " + R64[a] + ", byte [rel data_"
                + caseIndex + " + 3]", "neg " + R8[a], "not " + R16[a], "bt qword [rel data_" + caseIndex + "], "
                + rnd.nextInt(64)}[rnd.nextInt(5)]);
            default -> out.add((rnd.nextBoolean() ? "adc " : "sbb ") + R64[a] + ", " + (rnd.nextInt(256) - 128));
        }
        String last = out.get(out.size() - 1);
        if (last.startsWith("bt ")) {
            return CF;   // SDM 2 BT: CF only; OF SF AF PF undefined
        }
        if (last.startsWith("and") || last.startsWith("or") || last.startsWith("xor") || last.startsWith("test")) {
            return ALL & ~AF;   // SDM 2 AND/OR/XOR/TEST: AF is undefined
        }
        return ALL;
    }

    static long shiftMask(String shift, int count) {
        if (count == 0) {
            return ALL;
        }
        long m = shift.startsWith("ro") ? ALL : ALL & ~AF;
        return count == 1 ? m : m & ~OF;
    }

    // ------------------------------------------------------------------------------ harness

    static String source(List<Case> cases) {
        StringBuilder s = new StringBuilder();
        s.append(PROLOGUE);
        for (int i = 0; i < cases.size(); i++) {
            Case c = cases.get(i);
            s.append("case_").append(i).append(":\n");
            s.append("    lea rsp, [rel stack_top]\n");
            s.append("    push qword ").append(c.flags()).append("\n    popfq\n");
            for (int r = 0; r < 16; r++) {
                if (r != 4) {
                    s.append("    mov ").append(R64[r]).append(", [rel regs_").append(i).append(" + ").append(8 * r)
                            .append("]\n");
                }
            }
            for (String line : c.lines()) {
                s.append("    ").append(line).append('\n');
            }
            s.append("    mov [rel saved_rax], rax\n    pushfq\n    pop rax\n    and rax, ").append(c.flagMask())
                    .append("\n    mov [rel saved_flags], rax\n    mov rax, [rel saved_rax]\n");
            s.append("    lea rax, [rel data_").append(i).append("]\n    mov [rel saved_data], rax\n");
            s.append("    mov rax, [rel saved_rax]\n    call dump\n");
        }
        s.append("    jmp finish\n");
        s.append("align 16\n");
        for (int i = 0; i < cases.size(); i++) {
            Case c = cases.get(i);
            s.append("regs_").append(i).append(": dq ");
            for (int r = 0; r < 16; r++) {
                s.append(r == 0 ? "" : ", ").append(c.regs()[r]);
            }
            s.append("\nalign 16\ndata_").append(i).append(": dq ");
            for (int k = 0; k < 4; k++) {
                s.append(k == 0 ? "" : ", ").append(c.data()[k]);
            }
            s.append('\n');
        }
        s.append(EPILOGUE);
        return s.toString();
    }

    /** Multiboot header, 32-bit entry, identity-mapped 4-level tables, IA-32e mode, then the cases. */
    static final String PROLOGUE = """
            bits 32
            org 0x100000
            mb_header:
                dd 0x1BADB002, 0x00010003, -(0x1BADB002 + 0x00010003)
                dd mb_header, 0x100000, load_end, bss_end, entry
            entry:
                cli
                lgdt [gdt_pointer]
                jmp 0x08:.flat
            .flat:
                mov ax, 0x10
                mov ds, ax
                mov es, ax
                mov ss, ax
                mov eax, pdpt + 3
                mov [pml4], eax
                mov eax, pd + 3
                mov [pdpt], eax
                xor ecx, ecx
            .fill:
                mov eax, ecx
                shl eax, 21
                or eax, 0x83
                mov [pd + ecx * 8], eax
                inc ecx
                cmp ecx, 512
                jne .fill
                mov eax, cr4
                or eax, 0x20
                mov cr4, eax
                mov eax, pml4
                mov cr3, eax
                mov ecx, 0xC0000080
                rdmsr
                or eax, 0x100
                wrmsr
                mov eax, cr0
                or eax, 0x80000000
                mov cr0, eax
                jmp 0x18:long_mode
            bits 64
            long_mode:
                mov ax, 0x10
                mov ds, ax
                mov es, ax
                mov ss, ax
                cld
            """;

    static final String EPILOGUE = """
            finish:
                lea rsi, [rel end_text]
                call print
                xor eax, eax
                out 0xF4, eax
                hlt
            ; prints the sixteen registers, the masked RFLAGS and the data block in hex on one line
            dump:
                mov [rel saved + 0], rax
                mov [rel saved + 8], rcx
                mov [rel saved + 16], rdx
                mov [rel saved + 24], rbx
                mov qword [rel saved + 32], 0
                mov [rel saved + 40], rbp
                mov [rel saved + 48], rsi
                mov [rel saved + 56], rdi
                mov [rel saved + 64], r8
                mov [rel saved + 72], r9
                mov [rel saved + 80], r10
                mov [rel saved + 88], r11
                mov [rel saved + 96], r12
                mov [rel saved + 104], r13
                mov [rel saved + 112], r14
                mov [rel saved + 120], r15
                mov rax, [rel saved_flags]
                mov [rel saved + 128], rax
                mov rsi, [rel saved_data]
                lea rdi, [rel saved + 136]
                mov ecx, 4
                rep movsq
                lea rbx, [rel saved]
                mov r12d, 21
            .value:
                mov rax, [rbx]
                mov r13d, 16
            .digit:
                rol rax, 4
                mov edx, eax
                and edx, 15
                lea rsi, [rel hex_digits]
                mov dl, [rsi + rdx]
                call putc
                dec r13d
                jnz .digit
                mov dl, ' '
                call putc
                add rbx, 8
                dec r12d
                jnz .value
                mov dl, 10
                call putc
                ret
            putc:
                push rax
                push rdx
                mov ah, dl
                mov dx, 0x3FD
            .wait:
                in al, dx
                test al, 0x20
                jz .wait
                mov al, ah
                mov dx, 0x3F8
                out dx, al
                pop rdx
                pop rax
                ret
            print:
                lodsb
                test al, al
                jz .done
                mov dl, al
                call putc
                jmp print
            .done:
                ret
            end_text: db "END", 10, 0
            hex_digits: db "0123456789abcdef"
            align 8
            gdt:
                dq 0
                dq 0x00CF9A000000FFFF
                dq 0x00CF92000000FFFF
                dq 0x00AF9A000000FFFF
            gdt_pointer:
                dw 4 * 8 - 1
                dq gdt
            load_end:
            section .bss
            alignb 4096
            pml4: resb 4096
            pdpt: resb 4096
            pd: resb 4096
            saved: resq 24
            saved_rax: resq 1
            saved_flags: resq 1
            saved_data: resq 1
            stack: resb 4096
            stack_top:
            bss_end:
            """;

    // ------------------------------------------------------------------------------ runners

    /** Runs the harness on the core as a minimal VMM: COM1 output, isa-debug-exit, CPUID; MSRs through a zero bitmap. */
    static String runOnHotvisor(byte[] image, boolean compile) {
        byte[] ram = new byte[RAM];
        System.arraycopy(image, 0, ram, LOAD_ADDRESS, image.length);
        X86Core c = new X86Core(ram, new byte[64 * 1024]);
        for (int s = 0; s < 6; s++) {
            c.segments[s].load(s == 1 ? 8 : 16, 0, 0xFFFF_FFFF, s == 1 ? 0xC09B : 0xC093);
        }
        c.ldtr.load(0, 0, 0, Segment.AR_UNUSABLE);
        c.tr.load(0, 0, 0x67, 0x8B);
        c.cr0 = 0x11;
        c.setRflags(2);
        int entry = (image[28] & 0xFF) | (image[29] & 0xFF) << 8 | (image[30] & 0xFF) << 16 | (image[31] & 0xFF) << 24;
        c.rip = entry;
        c.controls.procBased = 1 << 24 | 1 << 28;   // unconditional I/O exiting, MSR bitmaps (all zero)
        c.compileBlocks = compile;
        c.compileThreshold = 1;
        c.stateLoaded();
        StringBuilder serial = new StringBuilder();
        for (int exits = 0; exits < 50_000_000; exits++) {
            c.run();
            int reason = c.exit.reason & 0xFFFF;
            if (reason == 30) {
                long q = c.exit.qualification;
                int port = (int) (q >>> 16) & 0xFFFF;
                boolean in = (q & 8) != 0;
                if (in) {
                    c.gpr[0] = (c.gpr[0] & ~0xFFL) | 0x60;   // LSR: transmitter empty
                } else if (port == 0x3F8) {
                    serial.append((char) (c.gpr[0] & 0xFF));
                } else if (port == 0xF4) {
                    return serial.toString();
                }
            } else if (reason == 10) {
                c.gpr[0] = c.gpr[1] = c.gpr[2] = c.gpr[3] = 0;
            } else {
                return serial + "\nEXIT " + reason + " info " + Integer.toHexString(c.exit.interruptionInfo) + " rip "
                        + Long.toHexString(c.rip);
            }
            c.rip += c.exit.instructionLength;
        }
        return serial + "\nNO END";
    }

    private static String run(File dir, int timeoutSeconds, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(command[0] + " timed out");
        }
        String text = new String(out, StandardCharsets.ISO_8859_1).replace("\r", "");
        if (command[0].endsWith("nasm") && p.exitValue() != 0) {
            throw new IOException("nasm failed:\n" + text);
        }
        return text;
    }

    private static String tail(String s) {
        return s.length() > 2000 ? s.substring(s.length() - 2000) : s;
    }

    private static String onPath(String name) {
        String path = System.getenv("PATH");
        List<String> dirs = new ArrayList<>(List.of(path == null ? new String[0] : path.split(File.pathSeparator)));
        dirs.add("/usr/bin");
        for (String d : dirs) {
            Path candidate = Path.of(d, name);
            if (!d.isEmpty() && Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return candidate.toString();
            }
        }
        return null;
    }
}
