package org.hotvisor.vmx.cpu.x86;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The disassembler against GNU objdump ({@code objdump -D -b binary -mi386|-mi8086 -Mintel}) on
 * about 8000 generated instructions: every one- and two-byte opcode with random ModRM, SIB,
 * displacement and immediate bytes, every x87 register form, and operand-size, address-size,
 * segment, LOCK and REP prefixes where they mean something. Each instruction sits in its own
 * 16-byte slot padded with NOPs, so objdump re-synchronises after each.
 *
 * <p>Lengths must match exactly. Texts must match after {@link #normalise}, which turns objdump's
 * spelling into ours: lower case, no {@code PTR}, ", " between operands, segments inside the
 * brackets and {@code ds:} (the default, which objdump always prints on absolute and string
 * operands) dropped on both sides, objdump's {@code eiz} pseudo-index dropped, je/jne/sete/cmove
 * spelled z/nz, repz/repnz spelled repe/repne, string and XLAT instructions with the default
 * operands in their short form (movsb), and "(8087 only)" notes, "data16"/"data32" (an
 * operand-size prefix without effect) and "notrack" (CET's reading of 3E, a DS override here) dropped.
 *
 * <p>Left out, because objdump reads them as other instructions than this processor executes
 * (no MPX, CET, BMI or TSX here): F2/F3 on anything but strings, PAUSE and VMXON (bnd jmp, tzcnt,
 * xrelease, endbr32), 0F 1A-1C (MPX, CLDEMOTE: hint NOPs to this processor), D6 (SALC, which
 * objdump does not know), 66 on near branches (objdump: callw, data16 jmp), 67 on near branches
 * (objdump wraps the target by the address size, the processor by the operand size), a prefix repeated or
 * F2 with F3 (objdump names every copy), fences with ModRM.rm != 0 (SDM 2 LFENCE: rm is
 * ignored; objdump says (bad)) or a 66/F2/F3 prefix (WAITPKG to objdump). MOV CR/DR with mod != 3 is compared: this test found the decoder
 * reading a SIB and displacement there (SDM 2: the mod bits are ignored). Every operation
 * of {@link Op} except the ones left out must be compared at least once.
 *
 * <p>Needs binutils' objdump on PATH: skipped without it, failed without it when CI=true.
 */
class ObjdumpDifferentialTest {
    static final int SLOT = 16;
    static final int TAILS_PER_OPCODE = 12;
    static final int PREFIXED_CASES = 2500;
    static final long SEED = 0x1D15A55L;
    static final int NOP = 0x90;

    private static final Pattern LINE = Pattern.compile("^\\s*([0-9a-f]+):\\t([0-9a-f ]+?)\\s*\\t(.*)$");

    record Case(byte[] bytes, String ours, int op) {}

    /** Opcodes (with mandatory prefixes) whose ModRM.reg or whole ModRM byte picks the instruction. */
    static final int[][] GROUPS = {{0x80}, {0x81}, {0x83}, {0x8F}, {0xC0}, {0xC1}, {0xC6}, {0xC7}, {0xD0}, {0xD1},
        {0xD2}, {0xD3}, {0xF6}, {0xF7}, {0xFE}, {0xFF}, {0x0F, 0x00}, {0x0F, 0x01}, {0x0F, 0x0D}, {0x0F, 0x18},
        {0x0F, 0xAE}, {0x0F, 0xBA}, {0x0F, 0xC7}, {0x66, 0x0F, 0xC7}, {0xF3, 0x0F, 0xC7}, {0x66, 0x0F, 0x38, 0x80},
        {0x66, 0x0F, 0x38, 0x81}, {0x66, 0x0F, 0x38, 0x82}};

    @Test
    void thirtyTwoBitCodeMatchesObjdump() throws Exception {
        compare(32);
    }

    @Test
    void sixteenBitCodeMatchesObjdump() throws Exception {
        compare(16);
    }

    /**
     * 64-bit mode ({@code -mi386:x86-64}): every opcode also behind a random REX prefix, FS/GS
     * overrides only (64-bit mode ignores ES/CS/SS/DS, SDM 3A 3.4.4, which objdump still names).
     * objdump's "rex.W"-style notes on a REX without effect and its "# address" comment after
     * RIP-relative operands are dropped. Left out besides the 32-bit exclusions: far JMP/CALL m16:64
     * and LSS/LFS/LGS with REX.W (objdump reads m16:32, as AMD processors do; Intel's is m16:64),
     * and 66 on the instructions whose operand size 64-bit mode fixes.
     */
    @Test
    void sixtyFourBitCodeMatchesObjdump() throws Exception {
        compare(64);
    }

    private static void compare(int bits) throws Exception {
        String objdump = locateObjdump();
        List<Case> cases = generate(bits);
        byte[] image = new byte[cases.size() * SLOT];
        java.util.Arrays.fill(image, (byte) NOP);
        for (int i = 0; i < cases.size(); i++) {
            System.arraycopy(cases.get(i).bytes(), 0, image, i * SLOT, cases.get(i).bytes().length);
        }
        Map<Long, String[]> theirs = runObjdump(objdump, image, bits);
        List<String> failures = new ArrayList<>();
        Set<String> compared = new TreeSet<>();
        for (int i = 0; i < cases.size(); i++) {
            Case c = cases.get(i);
            long address = (long) i * SLOT;
            String[] line = theirs.get(address);
            String hex = hex(c.bytes());
            if (line == null) {
                failures.add(hex + ": objdump has no instruction at 0x" + Long.toHexString(address) + " (ours: " + c.ours() + ")");
                continue;
            }
            int theirLength = line[0].split(" ").length;
            StringBuilder ours = new StringBuilder();
            new IntelSyntax().disassemble(c.bytes(), 0, address, bits, ours);
            String theirText = normalise(line[1], bits);
            String ourText = normalise(ours.toString(), bits);
            if (theirLength != c.bytes().length) {
                failures.add(hex + ": length " + c.bytes().length + " but objdump " + theirLength + " (" + line[1] + ")");
            } else if (!theirText.equals(ourText)) {
                failures.add(hex + ": '" + ourText + "' but objdump '" + theirText + "'   (" + line[1] + ")");
            } else {
                compared.add(genericName(c.op()));
            }
        }
        if (!failures.isEmpty()) {
            fail(bits + "-bit: " + failures.size() + " of " + cases.size() + " differ:\n  "
                    + String.join("\n  ", failures.subList(0, Math.min(60, failures.size()))));
        }
        Set<String> missing = new TreeSet<>(expectedOps(bits));
        missing.removeAll(compared);
        assertTrue(missing.isEmpty(), bits + "-bit: operations never compared: " + missing);
        assertTrue(cases.size() > 3000, "cases: " + cases.size());
    }

    // ---------------------------------------------------------------- generation

    private static List<Case> generate(int bits) {
        Random rnd = new Random(SEED + bits);
        Map<String, Case> cases = new LinkedHashMap<>();
        IntelSyntax syntax = new IntelSyntax();
        Decoder decoder = new Decoder();
        byte[] tail = new byte[SLOT];
        for (int opcode = 0; opcode < 0x100; opcode++) {
            for (int k = 0; k < TAILS_PER_OPCODE; k++) {
                rnd.nextBytes(tail);
                tail[0] = (byte) opcode;
                add(cases, tail, bits, syntax, decoder);
                tail[0] = 0x0F;
                tail[1] = (byte) opcode;
                add(cases, tail, bits, syntax, decoder);
                if (bits == 64) {
                    // the same behind a REX prefix: W, R, X, B in every combination over the run
                    rnd.nextBytes(tail);
                    tail[0] = (byte) (0x40 | rnd.nextInt(16));
                    tail[1] = (byte) opcode;
                    add(cases, tail, bits, syntax, decoder);
                    tail[1] = 0x0F;
                    tail[2] = (byte) opcode;
                    add(cases, tail, bits, syntax, decoder);
                }
            }
        }
        for (int escape = 0xD8; escape <= 0xDF; escape++) {
            for (int modrm = 0xC0; modrm <= 0xFF; modrm++) {
                add(cases, new byte[] {(byte) escape, (byte) modrm}, bits, syntax, decoder);
            }
        }
        // every ModRM byte of the group opcodes (ModRM.reg selects the operation, some need mod = 3)
        for (int[] group : GROUPS) {
            for (int modrm = 0; modrm < 0x100; modrm++) {
                rnd.nextBytes(tail);
                for (int i = 0; i < group.length; i++) {
                    tail[i] = (byte) group[i];
                }
                tail[group.length] = (byte) modrm;
                add(cases, tail, bits, syntax, decoder);
            }
        }
        add(cases, new byte[] {(byte) 0xF3, (byte) 0x90}, bits, syntax, decoder);   // PAUSE
        if (bits == 64) {
            // RDFSBASE/RDGSBASE/WRFSBASE/WRGSBASE: F3 (REX) 0F AE /0-/3 with a register operand
            for (int modrm = 0xC0; modrm < 0xE0; modrm++) {
                add(cases, new byte[] {(byte) 0xF3, 0x0F, (byte) 0xAE, (byte) modrm}, bits, syntax, decoder);
                add(cases, new byte[] {(byte) 0xF3, (byte) (0x48 | rnd.nextInt(2)), 0x0F, (byte) 0xAE, (byte) modrm}, bits,
                        syntax, decoder);
            }
        }
        // string instructions with REP/REPNE and segment / address-size prefixes
        for (int opcode : new int[] {0x6C, 0x6D, 0x6E, 0x6F, 0xA4, 0xA5, 0xA6, 0xA7, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF, 0xD7}) {
            for (int prefix : new int[] {0xF3, 0xF2, 0x26, 0x64, 0x67, 0x66}) {
                if (bits == 64 && prefix == 0x26) {
                    continue;   // ES/CS overrides do nothing in 64-bit mode, and objdump names them inconsistently
                }
                add(cases, new byte[] {(byte) prefix, (byte) opcode}, bits, syntax, decoder);
                add(cases, new byte[] {(byte) prefix, (byte) (bits == 64 ? 0x65 : 0x2E), (byte) opcode}, bits, syntax,
                        decoder);
            }
        }
        // prefixed forms of instructions that decode without the prefix
        List<byte[]> plain = new ArrayList<>();
        for (Case c : cases.values()) {
            plain.add(c.bytes());
        }
        int[] segments = bits == 64 ? new int[] {0x64, 0x65} : new int[] {0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65};
        for (int n = 0; n < PREFIXED_CASES; n++) {
            byte[] base = plain.get(rnd.nextInt(plain.size()));
            byte[] b = new byte[SLOT];
            int p = 0;
            int choice = rnd.nextInt(6);
            if (choice == 0 || choice == 4) {
                b[p++] = 0x66;
            }
            if (choice == 1 || choice == 4) {
                b[p++] = 0x67;
            }
            if (choice == 2 || choice == 5) {
                b[p++] = (byte) segments[rnd.nextInt(segments.length)];
            }
            if (choice == 3) {
                b[p++] = (byte) (rnd.nextInt(3) == 0 ? 0xF0 : rnd.nextBoolean() ? 0xF3 : 0xF2);
            }
            if (choice == 5) {
                b[p++] = (byte) (rnd.nextBoolean() ? 0xF3 : 0xF2);
            }
            System.arraycopy(base, 0, b, p, Math.min(base.length, SLOT - p));
            // the random tail behind the copied instruction: an address-size change may need more bytes
            for (int i = p + base.length; i < SLOT; i++) {
                b[i] = (byte) rnd.nextInt(256);
            }
            add(cases, b, bits, syntax, decoder);
        }
        return new ArrayList<>(cases.values());
    }

    private static void add(Map<String, Case> cases, byte[] bytes, int bits, IntelSyntax syntax, Decoder decoder) {
        StringBuilder text = new StringBuilder();
        int len = syntax.disassemble(bytes, 0, 0, bits, text);
        if (len == 0) {
            return;
        }
        Insn in = decoder.decode(bytes, 0, bytes.length, bits == 32, bits == 64);
        byte[] insn = java.util.Arrays.copyOf(bytes, len);
        if (excluded(insn, in) || bits == 64 && excluded64(insn, in)) {
            return;
        }
        cases.putIfAbsent(hex(insn), new Case(insn, text.toString(), in.op()));
    }

    /** Encodings objdump reads as other instructions than this processor executes (see the class comment). */
    private static boolean excluded(byte[] insn, Insn in) {
        int p = 0;
        boolean rep = false, opsize = false;
        int[] seen = new int[256];
        while (true) {
            int b = insn[p] & 0xFF;
            if (isPrefix(b) && ++seen[b] > 1 && !isSegmentPrefix(b)) {
                return true;   // objdump names a repeated prefix once per copy (addr16 addr16)
            }
            if (b == 0xF2 || b == 0xF3) {
                if (rep) {
                    return true;   // F2 and F3 together: objdump prints both, the processor obeys the last
                }
                rep = true;
            } else if (b == 0x66) {
                opsize = true;
            } else if (!isPrefix(b)) {
                break;
            }
            p++;
        }
        int op = in.op();
        int opcode = insn[p] & 0xFF;
        int opcode2 = p + 1 < insn.length ? insn[p + 1] & 0xFF : -1;
        if (rep && !(op >= Op.MOVS && op <= Op.OUTS) && op != Op.PAUSE && op != Op.VMXON && op != Op.FSGSBASE) {
            return true;
        }
        if (opcode == 0x0F && opcode2 == 0xAE && (in.modrm() < 0 ? (insn[p + 2] & 0xFF) >= 0xC0 : false)
                && ((insn[p + 2] & 7) != 0 || opsize || rep)) {
            return true;   // SDM 2 LFENCE/MFENCE/SFENCE ignore ModRM.rm; objdump knows only rm = 0 (66: TPAUSE)
        }
        if (opcode == 0xD6 || (opcode == 0x0F && opcode2 >= 0x1A && opcode2 <= 0x1C)) {
            return true;
        }
        boolean nearBranch = op == Op.JMP_REL || op == Op.CALL_REL || op == Op.LOOP
                || (op >= Op.JCC_CC && op < Op.JCC_CC + 16) || op == Op.JCC;
        // objdump wraps a branch target by the address size (67), the processor by the operand size (SDM 2 Jcc, LOOP)
        boolean addressSizePrefixed = seen[0x67] > 0;
        return (opsize || addressSizePrefixed) && nearBranch;
    }

    /** 64-bit encodings objdump reads differently from an Intel processor (see sixtyFourBitCodeMatchesObjdump). */
    private static boolean excluded64(byte[] insn, Insn in) {
        int op = in.op();
        boolean rexW = in.has(Insn.F_REX_W);
        int p = 0;
        while (p < insn.length && (isPrefix(insn[p] & 0xFF) || (insn[p] & 0xF0) == 0x40)) {
            p++;
        }
        int opcode = p < insn.length ? insn[p] & 0xFF : -1;
        int opcode2 = p + 1 < insn.length ? insn[p + 1] & 0xFF : -1;
        if (opcode == 0x0F && opcode2 >= 0x1A && opcode2 <= 0x1C || opcode == 0xD6) {
            return true;   // MPX / CLDEMOTE to objdump, hint NOPs here; SALC (see the 32-bit exclusions)
        }
        int modrm = p + 2 < insn.length ? insn[p + 2] & 0xFF : 0;
        if (opcode == 0x0F && opcode2 == 0xAE && modrm >= 0xC0 && (modrm & 7) != 0) {
            return true;   // fences with ModRM.rm != 0 (see the 32-bit exclusions)
        }
        if (opcode == 0x0F && opcode2 == 0x18 && (modrm & 0xC7) == 0x05 && ((modrm >>> 3) & 7) >= 6) {
            return true;   // 0F 18 /6 /7 RIP-relative: PREFETCHIT0/1 to objdump, hint NOPs here
        }
        if (opcode == 0x0F && opcode2 == 0x09 && in.has(Insn.F_OPSIZE_PREFIX)) {
            return true;   // 66 (REX) 0F 09: objdump says (bad); the processor ignores 66 on WBINVD
        }
        if (opcode == 0x63 && in.has(Insn.F_OPSIZE_PREFIX) && !rexW) {
            return true;   // 66 63: MOVSXD r16, r/m16 (SDM 2 MOVSX/MOVSXD); objdump reads a dword source
        }
        if (opcode == 0x9B && p > 0 && (insn[p - 1] & 0xF0) == 0x40) {
            return true;   // REX + FWAIT: objdump lists the REX as an instruction of its own
        }
        if (op == Op.SIMD || op == Op.FPU_ESC) {
            return true;   // the x87/SSE formatter (SimdSyntax) names REX registers its own way; compared in 32-bit code
        }
        if (rexW && (op == Op.JMPF_M || op == Op.CALLF_M || op == Op.LFP)) {
            return true;
        }
        boolean opsize = in.has(Insn.F_OPSIZE_PREFIX);
        // 66 where 64-bit mode fixes the operand size (objdump names it data16 or changes the mnemonic)
        boolean fixedSize = op == Op.JMP_R || op == Op.JMP_M || op == Op.CALL_R || op == Op.CALL_M || op == Op.RET
                || op == Op.MOV_TO_CR || op == Op.MOV_FROM_CR || op == Op.MOV_TO_DR || op == Op.MOV_FROM_DR
                || op == Op.VMREAD || op == Op.VMWRITE;
        if (opsize && fixedSize) {
            return true;
        }
        // a REX prefix that is not last (a legacy prefix after it cancels it): objdump names it
        for (int q = 0; q + 1 < insn.length; q++) {
            int b = insn[q] & 0xFF;
            int next = insn[q + 1] & 0xFF;
            if ((b & 0xF0) == 0x40 && (isPrefix(next) || (next & 0xF0) == 0x40)) {
                return true;
            }
            if (!isPrefix(b)) {
                break;
            }
        }
        return false;
    }

    private static boolean isSegmentPrefix(int b) {
        return b == 0x26 || b == 0x2E || b == 0x36 || b == 0x3E || b == 0x64 || b == 0x65;
    }

    private static boolean isPrefix(int b) {
        return isSegmentPrefix(b) || b == 0x66 || b == 0x67 || b == 0xF0 || b == 0xF2 || b == 0xF3;
    }

    /** The Op names the comparison must have covered: all but the specialised ids, #UD/#GP and the left-out ones. */
    private static Set<String> expectedOps(int bits) {
        Set<String> names = new TreeSet<>();
        for (int op = 0; op < Op.COUNT; op++) {
            if (op >= Op.ALU32_RR && op < Op.JCC_CC + 16) {
                continue;
            }
            String name = Op.name(op);
            if (!name.startsWith("op")) {
                names.add(name);
            }
        }
        names.removeAll(Set.of("UD", "GP0", "SALC", "JCC_CC+0"));
        if (bits == 64) {
            // #UD in 64-bit mode (SDM 2 Appendix A "i64"), and the x87/SSE forms left out above
            names.removeAll(Set.of("AAA", "AAD", "AAM", "AAS", "ARPL", "BOUND", "CALLF_PTR", "DAA", "DAS", "INTO",
                    "JMPF_PTR", "POPA", "PUSHA", "FPU_ESC", "SIMD"));
        }
        if (bits < 64) {
            names.removeAll(Set.of("SYSCALL", "SYSRET", "SWAPGS", "FSGSBASE", "CMPXCHG16B"));   // 64-bit mode only
        }
        return names;
    }

    /** The generic Op name of a (maybe specialised) id, for the coverage set. */
    private static String genericName(int op) {
        if (op >= Op.ALU32_RR && op < Op.MOV32_RR) {
            return Op.name(new int[] {Op.ALU_RR, Op.ALU_RI, Op.ALU_RM, Op.ALU_MR}[(op - Op.ALU32_RR) / 9]);
        }
        if (op >= Op.SHIFT32_RI && op < Op.JCC_CC) {
            return "SHIFT_R";
        }
        if (op >= Op.JCC_CC && op < Op.JCC_CC + 16) {
            return "JCC";
        }
        return switch (op) {
            case Op.MOV32_RR -> "MOV_RR";
            case Op.MOV32_RM -> "MOV_RM";
            case Op.MOV32_MR -> "MOV_MR";
            case Op.MOV32_RI -> "MOV_RI";
            case Op.MOV32_MI -> "MOV_MI";
            case Op.INC32_R -> "INC_R";
            case Op.DEC32_R -> "DEC_R";
            case Op.PUSH32_R -> "PUSH_R";
            case Op.POP32_R -> "POP_R";
            case Op.LEA32 -> "LEA";
            default -> Op.name(op);
        };
    }

    // ---------------------------------------------------------------- objdump

    private static String locateObjdump() {
        for (String dir : (System.getenv("PATH") == null ? "/usr/bin" : System.getenv("PATH") + ":/usr/bin")
                .split(File.pathSeparator)) {
            Path candidate = Path.of(dir.isEmpty() ? "." : dir, "objdump");
            if (Files.isExecutable(candidate)) {
                return candidate.toString();
            }
        }
        String ci = System.getProperty("CI", System.getenv("CI"));
        if (ci != null && ci.trim().equalsIgnoreCase("true")) {
            fail("the disassembler's differential test needs objdump on PATH: apt-get install -y binutils");
        }
        Assumptions.abort("objdump not on PATH (apt-get install -y binutils)");
        return null;
    }

    /** address -> {bytes as objdump lists them, text}. */
    private static Map<Long, String[]> runObjdump(String objdump, byte[] image, int bits)
            throws IOException, InterruptedException {
        Path file = Files.createTempFile("hotvisor-dis", ".bin");
        try {
            Files.write(file, image);
            String machine = bits == 64 ? "-mi386:x86-64" : bits == 32 ? "-mi386" : "-mi8086";
            Process p = new ProcessBuilder(objdump, "-D", "-b", "binary", machine, "-Mintel",
                    "--insn-width=" + SLOT, file.toString()).redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                fail("objdump failed: " + output.lines().limit(5).toList());
            }
            Map<Long, String[]> lines = new HashMap<>();
            for (String l : output.split("\n")) {
                Matcher m = LINE.matcher(l);
                if (m.matches()) {
                    lines.put(Long.parseLong(m.group(1), 16), new String[] {m.group(2).trim(), m.group(3).trim()});
                }
            }
            return lines;
        } finally {
            Files.deleteIfExists(file);
        }
    }

    // ---------------------------------------------------------------- normalisation

    private static final Pattern SEG_BRACKET = Pattern.compile("\\b([ecsdfg]s):\\[");
    private static final Pattern SEG_ABSOLUTE = Pattern.compile("(?<!\\[)\\b([ecsdfg]s):(0x[0-9a-f]+)");
    private static final Pattern EIZ_ABSOLUTE = Pattern.compile("\\[(?:([ecsdfg]s):)?eiz\\*\\d([+-])(0x[0-9a-f]+)\\]");
    private static final Pattern CONDITION_E = Pattern.compile("\\b(j|set|cmov)(n?)e\\b");
    private static final Pattern STRING = Pattern.compile(
            "^((?:(?:[ecsdfg]s|rep|repe|repne) )*)(movs|cmps|stos|lods|scas|ins|outs) (.*)$");

    /** objdump's text, or ours (idempotent on our spelling), in the one canonical form. */
    static String normalise(String objdump, int bits) {
        String t = objdump.toLowerCase(Locale.ROOT).trim().replaceAll("\\s+", " ");
        if (bits == 64) {
            t = t.replaceAll("\\s*#.*$", "");                  // the target address of a RIP-relative operand
            t = t.replaceAll("\\brex(?:\\.[wrxb]+)? ", "");   // a REX prefix without effect
            t = t.replaceAll("\\+riz\\*\\d", "");              // objdump's pseudo-index of a SIB without index
            t = ripRelative(t);
            Matcher riz = RIZ_ABSOLUTE.matcher(t);
            StringBuilder rb = new StringBuilder();
            while (riz.find()) {
                long d = Long.parseLong(riz.group(2).substring(2), 16);
                riz.appendReplacement(rb, "[" + "0x" + Long.toHexString(riz.group(1).equals("-") ? -d : d) + "]");
            }
            riz.appendTail(rb);
            t = rb.toString();
            t = t.replace("xmmword", "oword");
        }
        t = t.replace(" ptr ", " ").replace(",", ", ").replace(",  ", ", ");
        t = t.replace("data16 ", "").replace("data32 ", "").replace("notrack ", "");
        t = t.replaceAll("\\((8087|287) only\\)", "");
        t = SEG_BRACKET.matcher(t).replaceAll("[$1:");
        t = SEG_ABSOLUTE.matcher(t).replaceAll("[$1:$2]");
        Matcher eiz = EIZ_ABSOLUTE.matcher(t);
        StringBuilder b = new StringBuilder();
        while (eiz.find()) {
            long d = Long.parseLong(eiz.group(3).substring(2), 16);
            long v = (eiz.group(2).equals("-") ? -d : d) & 0xFFFF_FFFFL;
            eiz.appendReplacement(b, "[" + (eiz.group(1) == null ? "" : eiz.group(1) + ":") + "0x" + Long.toHexString(v) + "]");
        }
        eiz.appendTail(b);
        t = b.toString().replaceAll("\\+eiz\\*\\d", "");
        t = t.replace("[ds:", "[");
        t = CONDITION_E.matcher(t).replaceAll("$1$2z");
        t = t.replaceAll("\\brepz\\b", "repe").replaceAll("\\brepnz\\b", "repne");
        Matcher s = STRING.matcher(t);
        if (s.matches()) {
            t = shortString(s.group(1) == null ? "" : s.group(1), s.group(2), s.group(3), bits, t);
        }
        String bx = bits == 64 ? "rbx" : bits == 32 ? "ebx" : "bx";
        if (t.equals("xlat byte [" + bx + "]")) {
            t = "xlatb";
        }
        return t;
    }

    private static final Pattern RIZ_ABSOLUTE = Pattern.compile("\\[riz\\*\\d([+-])(0x[0-9a-f]+)\\]");
    private static final Pattern RIP_UNSIGNED = Pattern.compile("\\[([re]ip)\\+0x([0-9a-f]{16})\\]");

    /** objdump writes a negative RIP displacement as 64-bit unsigned ({@code rip+0xffffffffa499ca08}); this, signed. */
    private static String ripRelative(String t) {
        Matcher m = RIP_UNSIGNED.matcher(t);
        StringBuilder b = new StringBuilder();
        while (m.find()) {
            long d = Long.parseUnsignedLong(m.group(2), 16);
            String ip = m.group(1);
            m.appendReplacement(b, d < 0 ? "[" + ip + "-0x" + Long.toHexString(-d) + "]" : "[" + ip + "+0x" + Long.toHexString(d) + "]");
        }
        m.appendTail(b);
        return b.toString();
    }

    /** movs byte [es:edi], byte [esi] -> movsb when the operands are the mode's defaults. */
    private static String shortString(String rep, String name, String operands, int bits, String whole) {
        String di = bits == 64 ? "rdi" : bits == 32 ? "edi" : "di", si = bits == 64 ? "rsi" : bits == 32 ? "esi" : "si";
        for (String[] size : new String[][] {{"byte", "b", "al"}, {"word", "w", "ax"}, {"dword", "d", "eax"},
            {"qword", "q", "rax"}}) {
            String d = size[0] + " [es:" + di + "]", s = size[0] + " [" + si + "]";
            String expected = switch (name) {
                case "movs" -> d + ", " + s;
                case "cmps" -> s + ", " + d;
                case "stos" -> d + ", " + size[2];
                case "lods" -> size[2] + ", " + s;
                case "scas" -> size[2] + ", " + d;
                case "ins" -> d + ", dx";
                default -> "dx, " + s;
            };
            if (operands.equals(expected)) {
                return rep + name + size[1];
            }
        }
        return whole;
    }

    static String hex(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b) {
            s.append(String.format("%02x", x & 0xFF));
        }
        return s.toString();
    }
}
