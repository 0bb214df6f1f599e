package org.hotvisor.vmx.cpu.diff;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import org.hotvisor.api.vmx.VmxProcessor;

/**
 * Command-line entry for bigger runs and for reproducing one case (run from vmx-cpu with the test
 * class path, e.g. {@code mvn -o -q test-compile dependency:build-classpath} then
 * {@code java -cp target/test-classes:target/classes:<cp> org.hotvisor.vmx.cpu.diff.DiffMain ...}):
 * <pre>
 *   DiffMain [--seed S] [--cases N] [--batch-size K] [--dir D]      a full run, report on stdout
 *   DiffMain [--seed S] --batch B --case C                           one case alone, both results
 * </pre>
 */
public final class DiffMain {

    private DiffMain() {
    }

    public static void main(String[] args) throws Exception {
        long seed = DiffRun.DEFAULT_SEED;
        int cases = DiffRun.DEFAULT_CASES;
        int batchSize = DiffRun.DEFAULT_BATCH_SIZE;
        Path directory = Path.of("target/difftest-main");
        int onlyBatch = -1;
        int onlyCase = -1;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--seed" -> seed = DiffRun.parseLong(args[i + 1], seed);
                case "--cases" -> cases = Integer.parseInt(args[i + 1]);
                case "--batch-size" -> batchSize = Integer.parseInt(args[i + 1]);
                case "--dir" -> directory = Path.of(args[i + 1]);
                case "--batch" -> onlyBatch = Integer.parseInt(args[i + 1]);
                case "--case" -> onlyCase = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        List<String> missing = new ArrayList<>();
        Tools tools = Tools.locate(missing);
        if (tools == null) {
            System.err.println(Tools.missingMessage(missing));
            System.exit(2);
        }
        VmxProcessor processor = ServiceLoader.load(VmxProcessor.class).findFirst()
                .orElseThrow(() -> new IllegalStateException("no VmxProcessor service on the class path"));
        Files.createDirectories(directory);
        DiffRun.Config config = new DiffRun.Config(seed, cases, batchSize, directory);
        DiffRun run = new DiffRun(config, tools);
        if (onlyBatch >= 0) {
            TestCase alone = DiffRun.generate(seed, onlyBatch, onlyCase + 1).get(onlyCase);
            DiffRun.Batch batch = run.prepare(onlyBatch, List.of(alone));
            HotvisorRunner runner = new HotvisorRunner(processor, 10_000);
            DiffRun.Outcome outcome;
            try {
                outcome = run.runOnHotvisor(runner, batch);
            } finally {
                runner.close();
            }
            ResultLine actual = ResultLine.parseAll(outcome.output()).get(alone.index());
            String differences = outcome.mismatches().isEmpty() ? "no difference"
                    : outcome.mismatches().getFirst().differences();
            System.out.print(Comparison.describe(batch.image(), batch.name() + " (run alone)",
                    new Comparison.Mismatch(alone, batch.reference().get(alone.index()), actual, differences),
                    "qemu", "hotvisor"));
            return;
        }
        long start = System.nanoTime();
        List<DiffRun.Batch> batches = run.prepareAll();
        long prepared = System.nanoTime();
        for (DiffRun.Batch batch : batches) {
            for (String problem : DiffRun.referenceProblems(batch)) {
                System.out.println("REFERENCE PROBLEM: " + problem);
            }
        }
        List<DiffRun.Outcome> outcomes = run.runOnHotvisor(processor, batches);
        long done = System.nanoTime();
        System.out.print(DiffRun.report(config, outcomes, Integer.MAX_VALUE));
        System.out.printf("NASM + QEMU: %d ms, Hotvisor: %d ms%n", (prepared - start) / 1_000_000,
                (done - prepared) / 1_000_000);
        System.exit(DiffRun.mismatchCount(outcomes) == 0 ? 0 : 1);
    }
}
