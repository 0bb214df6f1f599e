package org.hotvisor.benchmarks.jmh;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.hotvisor.harness.HandlerTestBench;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The interpreter loop: a whole compute-bound guest on the real VMX processor and the kernel's
 * run loop, through {@link HandlerTestBench} (no Felix). One operation is one boot of the guest
 * to its power-off (a fresh 32 MiB machine each time, as a test would do); the
 * {@code instructions} counter is the guest instructions retired per second, i.e. MIPS x 10^6,
 * including the machine set-up. Each run checks the guest's line and status.
 *
 * <p>{@code compute-small}: compute.asm with 20 rounds (about 19 million instructions);
 * {@code memcopy-small}: memcopy.asm with 100 rounds (REP string instructions count once each).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 3)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--sun-misc-unsafe-memory-access=allow", "-XX:+UseSerialGC"})
public class InterpreterBenchmark {
    private static final int POWER_OFF_STATUS = 1; // isa-debug-exit with 0: (0 << 1) | 1
    private static final Duration TIMEOUT = Duration.ofSeconds(120);

    @Param({"compute-small", "memcopy-small"})
    public String guest;

    private byte[] image;
    private String expected;

    /** Per-iteration totals that JMH divides by the iteration time. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Counters {
        public long instructions;

        @Setup(Level.Iteration)
        public void clear() {
            instructions = 0;
        }
    }

    @Setup
    public void setUp() {
        image = Guests.image(guest);
        expected = Guests.expected(guest);
    }

    @Benchmark
    public long boot(Counters counters) {
        try (HandlerTestBench bench = HandlerTestBench.bootSector(image)) {
            HandlerTestBench.Result r = bench.run(TIMEOUT);
            GuestCheck.check(guest, expected, bench.output(), r, POWER_OFF_STATUS);
            counters.instructions += r.instructions();
            return r.instructions();
        }
    }
}
