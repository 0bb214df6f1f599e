package org.hotvisor.vmx.cpu.diff;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.hotvisor.api.vmx.VmxProcessor;

/**
 * The differential run: generate batches of cases, assemble each into a harness image, run it
 * under QEMU TCG (the reference), then on Hotvisor in this JVM, and compare line by line.
 *
 * <p>System properties (all optional): {@code hotvisor.diff.seed} (default 0x5EED, decimal or 0x
 * hex), {@code hotvisor.diff.cases} (total cases, default 4000), {@code hotvisor.diff.batch}
 * (cases per QEMU run, default 100), {@code hotvisor.diff.dir} (work directory, default
 * target/difftest), {@code hotvisor.diff.only=B:C} (run only case C of batch B, alone).
 */
final class DiffRun {

    static final long DEFAULT_SEED = 0x5EED;
    static final int DEFAULT_CASES = 4000;
    static final int DEFAULT_BATCH_SIZE = 100;
    private static final long QEMU_TIMEOUT_SECONDS = 60;
    private static final long HOTVISOR_TIMEOUT_MILLIS = 60_000;
    /** Two QEMU/NASM preparations at a time: the machine has two cores. */
    private static final int PREPARE_THREADS = 2;
    private static final long BATCH_SEED_MIX = 0x9E37_79B9_7F4A_7C15L;

    /**
     * @param onlyBatch with onlyCase >= 0: run just that one case (cases depend only on their seed,
     *     batch number and position, so it is the same case as in the full run)
     */
    record Config(long seed, int totalCases, int batchSize, Path directory, int onlyBatch, int onlyCase) {
        Config {
            directory = directory.toAbsolutePath();   // NASM runs inside the batch directory
        }

        Config(long seed, int totalCases, int batchSize, Path directory) {
            this(seed, totalCases, batchSize, directory, -1, -1);
        }

        static Config fromSystemProperties() {
            String only = System.getProperty("hotvisor.diff.only", "");
            int onlyBatch = -1;
            int onlyCase = -1;
            if (only.contains(":")) {
                onlyBatch = Integer.parseInt(only.substring(0, only.indexOf(':')).trim());
                onlyCase = Integer.parseInt(only.substring(only.indexOf(':') + 1).trim());
            }
            return new Config(parseLong(System.getProperty("hotvisor.diff.seed"), DEFAULT_SEED),
                    (int) parseLong(System.getProperty("hotvisor.diff.cases"), DEFAULT_CASES),
                    (int) parseLong(System.getProperty("hotvisor.diff.batch"), DEFAULT_BATCH_SIZE),
                    Path.of(System.getProperty("hotvisor.diff.dir", "target/difftest")), onlyBatch, onlyCase);
        }

        boolean single() {
            return onlyCase >= 0;
        }

        int batches() {
            return (totalCases + batchSize - 1) / batchSize;
        }

        int casesIn(int batch) {
            return Math.min(batchSize, totalCases - batch * batchSize);
        }

        String describe() {
            return single() ? String.format("seed %#x, batch %d case %d alone", seed, onlyBatch, onlyCase)
                    : String.format("seed %#x, %d cases in %d batches of %d", seed, totalCases, batches(), batchSize);
        }

        /** The Maven command line that runs one case of this configuration alone. */
        String reproduceCommand(int batch, int testCase) {
            // a batch's cases depend on the seed and the batch number only: the batch size is irrelevant
            return String.format("mvn -o -q test -pl vmx-cpu -Dtest=DifferentialTest#hotvisorMatchesQemuTcg"
                    + " -Dhotvisor.diff.seed=%#x -Dhotvisor.diff.only=%d:%d", seed, batch, testCase);
        }
    }

    static long parseLong(String text, long fallback) {
        if (text == null || text.isBlank()) {
            return fallback;
        }
        String t = text.trim();
        return t.startsWith("0x") || t.startsWith("0X") ? Long.parseUnsignedLong(t.substring(2), 16) : Long.parseLong(t);
    }

    /** One assembled batch with its QEMU reference output. */
    record Batch(int number, List<TestCase> cases, HarnessImage image, String referenceOutput,
            Map<Integer, ResultLine> reference) {
        String name() {
            return "batch " + number;
        }
    }

    /** The outcome of running one batch on Hotvisor. */
    record Outcome(Batch batch, String output, String runFailure, List<Comparison.Mismatch> mismatches) {
    }

    final Config config;
    private final Tools tools;

    DiffRun(Config config, Tools tools) {
        this.config = config;
        this.tools = tools;
    }

    static long batchSeed(long seed, int batch) {
        return seed * BATCH_SEED_MIX + batch;
    }

    static List<TestCase> generate(long seed, int batch, int count) {
        CaseGenerator generator = new CaseGenerator(batchSeed(seed, batch));
        List<TestCase> cases = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            cases.add(generator.generate(i));
        }
        return cases;
    }

    Batch prepare(int number) throws IOException, InterruptedException {
        return prepare(number, generate(config.seed(), number, config.casesIn(number)));
    }

    Batch prepare(int number, List<TestCase> cases) throws IOException, InterruptedException {
        Path directory = config.directory().resolve("batch-" + number);
        Files.createDirectories(directory);
        HarnessImage image = HarnessImage.build(tools.nasm(), directory, cases);
        String output = new QemuRunner(tools.qemu(), QEMU_TIMEOUT_SECONDS).run(directory.resolve("harness.bin"));
        Files.writeString(directory.resolve("qemu.out"), output);
        return new Batch(number, cases, image, output, ResultLine.parseAll(output));
    }

    /** Prepares every batch, two at a time (or the single case of {@link Config#single()}). */
    List<Batch> prepareAll() throws IOException, InterruptedException {
        if (config.single()) {
            TestCase alone = generate(config.seed(), config.onlyBatch(), config.onlyCase() + 1).get(config.onlyCase());
            return List.of(prepare(config.onlyBatch(), List.of(alone)));
        }
        ExecutorService executor = Executors.newFixedThreadPool(PREPARE_THREADS, r -> {
            Thread t = new Thread(r, "difftest-prepare");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<Batch>> futures = new ArrayList<>();
            for (int b = 0; b < config.batches(); b++) {
                int number = b;
                futures.add(executor.submit(() -> prepare(number)));
            }
            List<Batch> batches = new ArrayList<>();
            for (Future<Batch> future : futures) {
                batches.add(future.get());
            }
            return batches;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IOException(e.getCause());
        } finally {
            executor.shutdownNow();
        }
    }

    /** Problems of the reference run itself: a generator or harness bug, never a Hotvisor finding. */
    static List<String> referenceProblems(Batch batch) {
        List<String> problems = new ArrayList<>();
        for (TestCase c : batch.cases()) {
            ResultLine line = batch.reference().get(c.index());
            if (line == null) {
                problems.add(batch.name() + " case " + c.index() + ": QEMU printed no line");
            } else if (line.exception() != c.raisesException()) {
                problems.add(Comparison.describe(batch.image(), batch.name(), new Comparison.Mismatch(c, line, null,
                        c.raisesException() ? "QEMU raised no exception where the generator expects one"
                                : "QEMU raised an exception the generator did not intend"), "qemu", "-"));
            }
        }
        if (!batch.referenceOutput().contains("\nE\n")) {
            problems.add(batch.name() + ": QEMU output lacks the end marker");
        }
        return problems;
    }

    Outcome runOnHotvisor(HotvisorRunner runner, Batch batch) {
        String output;
        String failure = null;
        try {
            output = runner.run(batch.image());
        } catch (HotvisorRunner.RunFailure e) {
            output = e.output;
            failure = e.getMessage();
        }
        try {
            Files.writeString(config.directory().resolve("batch-" + batch.number()).resolve("hotvisor.out"), output);
        } catch (IOException ignored) {
            // the output file is a debugging aid only
        }
        List<Comparison.Mismatch> mismatches = new ArrayList<>(
                Comparison.compare(batch.cases(), batch.reference(), ResultLine.parseAll(output)));
        if (failure != null) {
            String note = "Hotvisor run stopped: " + failure;
            if (mismatches.isEmpty() || mismatches.getLast().actual() != null) {
                mismatches.add(new Comparison.Mismatch(batch.cases().getLast(), null, null, note));
            } else {
                Comparison.Mismatch last = mismatches.removeLast();
                mismatches.add(new Comparison.Mismatch(last.testCase(), last.expected(), null, note));
            }
        }
        return new Outcome(batch, output, failure, mismatches);
    }

    List<Outcome> runOnHotvisor(VmxProcessor processor, List<Batch> batches) {
        HotvisorRunner runner = new HotvisorRunner(processor, HOTVISOR_TIMEOUT_MILLIS);
        try {
            List<Outcome> outcomes = new ArrayList<>();
            for (Batch batch : batches) {
                outcomes.add(runOnHotvisor(runner, batch));
            }
            return outcomes;
        } finally {
            runner.close();
        }
    }

    /** "SHL r/m32, CL (D3 /4) count=7" -> "SHL r/m32, CL (D3 /4)": the form without its operand values. */
    static String formKey(String form) {
        return form.replaceAll(" (count|value)=\\S+", "");
    }

    /** The full human-readable report. */
    static String report(Config config, List<Outcome> outcomes, int maxDetailed) {
        int total = 0;
        int compared = 0;
        Map<String, int[]> forms = new TreeMap<>();   // key -> {cases, mismatching cases}
        Map<String, Comparison.Mismatch> firstExample = new LinkedHashMap<>();
        Map<Comparison.Mismatch, Outcome> owner = new LinkedHashMap<>();
        List<String> runFailures = new ArrayList<>();
        for (Outcome outcome : outcomes) {
            Map<Integer, ResultLine> actual = ResultLine.parseAll(outcome.output());
            java.util.Set<Integer> failing = new java.util.HashSet<>();
            for (Comparison.Mismatch m : outcome.mismatches()) {
                failing.add(m.testCase().index());
                owner.put(m, outcome);
            }
            for (TestCase c : outcome.batch().cases()) {
                total++;
                boolean ran = actual.containsKey(c.index());
                if (!ran && !failing.contains(c.index())) {
                    continue;   // never reached: says nothing about its forms
                }
                compared++;
                for (String form : c.forms().stream().map(DiffRun::formKey).distinct().toList()) {
                    int[] counts = forms.computeIfAbsent(form, k -> new int[2]);
                    counts[0]++;
                    if (failing.contains(c.index())) {
                        counts[1]++;
                    }
                }
            }
            if (outcome.runFailure() != null) {
                runFailures.add(outcome.batch().name() + ": " + outcome.runFailure());
            }
        }
        List<Comparison.Mismatch> all = new ArrayList<>(owner.keySet());
        all.sort(Comparator.comparingInt((Comparison.Mismatch m) -> m.actual() == null ? 1 : 0)
                .thenComparingInt(m -> m.testCase().forms().size())
                .thenComparingInt(m -> m.testCase().lines().size()));
        for (Comparison.Mismatch m : all) {
            for (String form : m.testCase().forms()) {
                firstExample.putIfAbsent(formKey(form), m);
            }
        }
        StringBuilder text = new StringBuilder();
        text.append("Hotvisor vs QEMU TCG differential test: ").append(config.describe()).append('\n');
        text.append(String.format("cases: %d generated, %d compared, %d mismatching%n", total, compared, all.size()));
        for (String failure : runFailures) {
            text.append("run stopped: ").append(failure).append('\n');
        }
        if (!all.isEmpty()) {
            text.append("\nInstruction forms in mismatching cases (mismatching/compared cases containing the form;"
                    + " a form with a high ratio is the likely culprit):\n");
            forms.entrySet().stream().filter(e -> e.getValue()[1] > 0)
                    .sorted(Comparator.comparingDouble((Map.Entry<String, int[]> e) ->
                            -(double) e.getValue()[1] / e.getValue()[0]).thenComparing(e -> -e.getValue()[1]))
                    .forEach(e -> {
                        Comparison.Mismatch example = firstExample.get(e.getKey());
                        text.append(String.format("  %4d/%-4d %s%s%n", e.getValue()[1], e.getValue()[0], e.getKey(),
                                example == null ? "" : "   e.g. " + owner.get(example).batch().name() + " case "
                                        + example.testCase().index()));
                    });
            text.append("\nMismatches, simplest first").append(all.size() > maxDetailed ? " (first " + maxDetailed
                    + " of " + all.size() + ")" : "").append(":\n\n");
            for (Comparison.Mismatch m : all.subList(0, Math.min(maxDetailed, all.size()))) {
                Outcome outcome = owner.get(m);
                text.append(Comparison.describe(outcome.batch().image(), outcome.batch().name(), m, "qemu", "hotvisor"))
                        .append('\n');
            }
            Comparison.Mismatch first = all.getFirst();
            text.append("Run one case alone, e.g. the first above: ").append(config.reproduceCommand(
                    owner.get(first).batch().number(), first.testCase().index())).append('\n');
        }
        return text.toString();
    }

    static int mismatchCount(List<Outcome> outcomes) {
        return outcomes.stream().mapToInt(o -> o.mismatches().size()).sum();
    }

    /** Deletes the work files of batches that matched completely (kept ones help debugging). */
    void cleanMatchingBatches(List<Outcome> outcomes) {
        for (Outcome outcome : outcomes) {
            if (outcome.mismatches().isEmpty()) {
                deleteTree(config.directory().resolve("batch-" + outcome.batch().number()));
            }
        }
    }

    static void deleteTree(Path directory) {
        if (!Files.isDirectory(directory)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(directory)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort
        }
    }
}
