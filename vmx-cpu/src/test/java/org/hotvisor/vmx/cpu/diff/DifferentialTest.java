package org.hotvisor.vmx.cpu.diff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;
import java.util.Set;
import org.hotvisor.api.vmx.VmxProcessor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Differential test of Hotvisor's software x86 CPU against QEMU TCG: thousands of seeded,
 * generated instruction sequences over the 16/32-bit integer ISA run in one harness image under
 * {@code qemu-system-i386} and in-process on Hotvisor's VT-x processor (as a 32-bit protected-mode
 * guest; a quarter of the cases run in a 16-bit code segment), and every case's registers, defined
 * flags, memory checksums and exceptions must agree. One case in {@value FloatCaseGenerator#ONE_IN}
 * continues with an x87, MMX or SSE/SSE2/SSE3 instruction whose results, FSW and MXCSR are dumped
 * into the compared state ({@link FloatCaseGenerator}, which also lists the QEMU 7.2 deviations from
 * the SDM that are left out of the comparison). Design and file roles: {@code harness.asm}
 * (the guest), {@link CaseGenerator} and {@link FlagEffects} (what is generated and compared),
 * {@link HotvisorRunner} (the in-process VMM), {@link QemuRunner}, {@link DiffRun} (batches, report).
 *
 * <p>Needs {@code nasm} and {@code qemu-system-i386} (packages {@value Tools#PACKAGES}). Without
 * them the tests are skipped, or fail when {@code CI=true} (system property or environment).
 *
 * <p>{@code -Dhotvisor.diff.required=true|false} decides whether Hotvisor mismatches fail the build
 * ({@link #REQUIRED_BY_DEFAULT} otherwise); when not required they abort the test with the
 * summary as the reason. The full report is written to {@code target/difftest/report.txt}.
 * Sizes and seed: see {@link DiffRun}. One case alone (printed, and failing if it differs):
 * {@code mvn -o -q test -pl vmx-cpu -Dtest=DifferentialTest#hotvisorMatchesQemuTcg
 * -Dhotvisor.diff.seed=0x5eed -Dhotvisor.diff.only=BATCH:CASE}.
 */
@Tag("difftest")
class DifferentialTest {

    /** Flip to true once the CPU passes: mismatches then fail the build. */
    static final boolean REQUIRED_BY_DEFAULT = true;
    static final String REQUIRED_PROPERTY = "hotvisor.diff.required";
    private static final int DETAILED_IN_REPORT = 200;
    private static final int DETAILED_IN_MESSAGE = 5;
    private static final int REFERENCE_PROBLEMS_IN_MESSAGE = 5;

    private static final List<String> missingTools = new ArrayList<>();
    private static boolean prepared;
    private static DiffRun run;
    private static List<DiffRun.Batch> batches;
    private static Exception preparationFailure;

    /** Assembles every batch and runs it under QEMU, once, for the tests that need the reference. */
    private static synchronized void assembleAndRunReference() {
        if (prepared) {
            return;
        }
        prepared = true;
        Tools tools = Tools.locate(missingTools);
        if (tools == null) {
            return;
        }
        run = new DiffRun(DiffRun.Config.fromSystemProperties(), tools);
        try {
            Files.createDirectories(run.config.directory());
            batches = run.prepareAll();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            preparationFailure = e;
        } catch (IOException | RuntimeException e) {
            preparationFailure = e;
        }
    }

    private static void requireReference() {
        assembleAndRunReference();
        if (!missingTools.isEmpty()) {
            String message = Tools.missingMessage(missingTools);
            if (Tools.onCi()) {
                fail(message + " (CI=true: the tools are required)");
            }
            abort(message);
        }
        if (preparationFailure != null) {
            fail("could not assemble or run the harness under QEMU: " + preparationFailure, preparationFailure);
        }
    }

    static boolean required() {
        String value = System.getProperty(REQUIRED_PROPERTY);
        return value == null ? REQUIRED_BY_DEFAULT : value.trim().toLowerCase(Locale.ROOT).equals("true");
    }

    @Test
    void generatorIsDeterministicPerSeed() {
        List<TestCase> first = DiffRun.generate(42, 3, 50);
        List<TestCase> second = DiffRun.generate(42, 3, 50);
        assertEquals(HarnessImage.casesSource(first), HarnessImage.casesSource(second));
        assertEquals(HarnessImage.dataSource(first), HarnessImage.dataSource(second));
        List<TestCase> other = DiffRun.generate(43, 3, 50);
        assertTrue(!HarnessImage.casesSource(first).equals(HarnessImage.casesSource(other)),
                "another seed must give other cases");
    }

    @Test
    void generatorCoversTheIntegerIsa() {
        // Every group of the brief must appear in the default run, each condition code in all three
        // conditional families.
        Set<String> mnemonics = new HashSet<>();
        Set<String> conditional = new HashSet<>();
        DiffRun.Config defaults = new DiffRun.Config(DiffRun.DEFAULT_SEED, DiffRun.DEFAULT_CASES,
                DiffRun.DEFAULT_BATCH_SIZE, java.nio.file.Path.of("unused"));
        for (int b = 0; b < defaults.batches(); b++) {
            for (TestCase c : DiffRun.generate(defaults.seed(), b, defaults.casesIn(b))) {
                for (String form : c.forms()) {
                    String[] words = form.split(" ");
                    String head = words[0].startsWith("REP") ? words[1] : words[0];
                    for (String family : List.of("CMOV", "SET", "J")) {
                        String cc = head.substring(Math.min(family.length(), head.length()));
                        if (head.startsWith(family) && List.of(CaseGenerator.CONDITIONS).contains(cc.toLowerCase(Locale.ROOT))) {
                            conditional.add(family + cc);
                            head = family + "cc";
                        }
                    }
                    mnemonics.add(head);
                }
            }
        }
        List<String> expected = List.of("ADD", "ADC", "SUB", "SBB", "AND", "OR", "XOR", "CMP", "TEST", "INC", "DEC",
                "NEG", "NOT", "ROL", "ROR", "RCL", "RCR", "SHL", "SHR", "SAR", "MUL", "IMUL", "DIV", "IDIV", "MOVZX",
                "MOVSX", "CMOVcc", "SETcc", "BT", "BTS", "BTR", "BTC", "BSF", "BSR", "SHLD", "SHRD", "XADD", "CMPXCHG",
                "BSWAP", "XCHG", "LEA", "PUSH", "POP", "PUSHAD", "POPAD", "PUSHFD", "POPFD", "MOVSB", "CMPSW", "STOSD",
                "LODSB", "SCASD", "DAA", "DAS", "AAA", "AAS", "AAM", "AAD", "CBW", "CWDE", "CWD", "CDQ", "LAHF", "SAHF",
                "CLC", "STC", "CMC", "CLD", "STD", "MOV", "NOP", "JMP", "Jcc", "LOOP", "LOOPE", "JECXZ", "JCXZ", "CALL",
                "RET", "ENTER", "LEAVE", "XLAT", "BOUND", "INTO", "INT3", "INT", "UD2", "LAR", "LSL", "VERR", "VERW",
                "ARPL", "CMPXCHG8B", "LDS", "LES", "LFS", "LGS", "LSS", "RETF", "IRETD", "SALC", "PAUSE");
        List<String> missing = new java.util.ArrayList<>(expected.stream().filter(m -> !mnemonics.contains(m)).toList());
        for (String family : List.of("CMOV", "SET", "J")) {
            for (String cc : CaseGenerator.CONDITIONS) {
                if (!conditional.contains(family + cc.toUpperCase(Locale.ROOT))) {
                    missing.add(family + cc.toUpperCase(Locale.ROOT));
                }
            }
        }
        assertTrue(missing.isEmpty(), "never generated: " + missing);
    }

    @Test
    void qemuRunsEveryGeneratedCaseCleanly() {
        requireReference();
        List<String> problems = new ArrayList<>();
        for (DiffRun.Batch batch : batches) {
            problems.addAll(DiffRun.referenceProblems(batch));
        }
        if (!problems.isEmpty()) {
            fail(problems.size() + " problems of the generated harness under QEMU (a test bug, not a CPU finding):\n"
                    + String.join("\n", problems.subList(0, Math.min(REFERENCE_PROBLEMS_IN_MESSAGE, problems.size()))));
        }
    }

    @Test
    void hotvisorMatchesQemuTcg() throws IOException {
        requireReference();
        VmxProcessor processor = ServiceLoader.load(VmxProcessor.class).findFirst().orElse(null);
        if (processor == null) {
            String message = "no VmxProcessor service on the test class path (vmx-cpu META-INF/services)";
            if (required()) {
                fail(message);
            }
            abort(message);
        }
        List<DiffRun.Outcome> outcomes = run.runOnHotvisor(processor, batches);
        String report = DiffRun.report(run.config, outcomes, DETAILED_IN_REPORT);
        java.nio.file.Path reportFile = run.config.directory().resolve("report.txt");
        Files.writeString(reportFile, report);
        run.cleanMatchingBatches(outcomes);
        int mismatches = DiffRun.mismatchCount(outcomes);
        if (run.config.single()) {
            // one case on request: always show it, matching or not
            DiffRun.Batch batch = batches.getFirst();
            TestCase alone = batch.cases().getFirst();
            ResultLine actual = ResultLine.parseAll(outcomes.getFirst().output()).get(alone.index());
            String text = Comparison.describe(batch.image(), batch.name(), new Comparison.Mismatch(alone,
                    batch.reference().get(alone.index()), actual, mismatches == 0 ? "no difference"
                            : outcomes.getFirst().mismatches().getFirst().differences()), "qemu", "hotvisor");
            System.out.println(text);
            if (mismatches == 0) {
                return;
            }
            fail(text);
        }
        if (mismatches == 0) {
            return;
        }
        String summary = DiffRun.report(run.config, outcomes, DETAILED_IN_MESSAGE) + "\nFull report: "
                + reportFile.toAbsolutePath();
        if (required()) {
            fail(summary);
        }
        abort("Hotvisor differs from QEMU (not failing: -D" + REQUIRED_PROPERTY + "=true to make it fail)\n" + summary);
    }
}
