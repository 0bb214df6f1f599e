package org.hotvisor.benchmarks.jmh;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.hotvisor.api.ExitAction;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.VmExit;
import org.hotvisor.harness.HandlerTestBench;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The whole VM-exit round trip without Felix: exits-small.img (exits.asm, 20,000 rounds of
 * CPUID, OUT 0x80, OUT/IN 0x3FF, WRMSR/RDMSR 0x174, RDMSR 0x277: 140,000 exits) on the real VMX
 * processor and the kernel's run loop: exit in the CPU, VMREADs, dispatch, handler, VMRESUME.
 * The {@code exits} counter is exits per second; 1e9 / it is the cost of one exit in ns.
 * The handlers here stand in for the stock bundles: the kernel's default answers CPUID, the
 * harness's board answers the ports it knows.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 3)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--sun-misc-unsafe-memory-access=allow", "-XX:+UseSerialGC"})
public class ExitRoundTripBenchmark {
    private static final String GUEST = "exits-small";
    private static final int POWER_OFF_STATUS = 1;
    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final int COM1_SCRATCH = 0x3ff;
    private static final int IO_PORT_SHIFT = 16;
    private static final long IO_IN = 1L << 3;
    private static final long IO_STRING = 1L << 4;
    private static final int IA32_SYSENTER_CS = 0x174;
    private static final int IA32_PAT = 0x277;
    private static final long PAT_POWER_UP = 0x0007_0406_0007_0406L; // SDM 3A 13.12.4
    private static final int GP = 13;
    private static final int HANDLER_RANKING = 1; // above the harness's board

    private byte[] image;
    private String expected;

    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Counters {
        public long exits;

        @Setup(Level.Iteration)
        public void clear() {
            exits = 0;
        }
    }

    @Setup
    public void setUp() {
        image = Guests.image(GUEST);
        expected = Guests.expected(GUEST);
    }

    @Benchmark
    public long boot(Counters counters) {
        Platform platform = new Platform();
        try (HandlerTestBench bench = HandlerTestBench.bootSector(image)) {
            bench.handler(platform::io, HANDLER_RANKING, ExitReason.IO_INSTRUCTION);
            bench.handler(platform::msr, HANDLER_RANKING, ExitReason.RDMSR, ExitReason.WRMSR);
            HandlerTestBench.Result r = bench.run(TIMEOUT);
            GuestCheck.check(GUEST, expected, bench.output(), r, POWER_OFF_STATUS);
            counters.exits += r.totalExits();
            return r.totalExits();
        }
    }

    /** The COM1 scratch register and the two MSRs exits.asm uses. */
    static final class Platform {
        private long scratch;
        private long sysenterCs;

        ExitAction io(VmExit e) {
            long q = e.qualification();
            if ((q & IO_STRING) != 0 || (int) (q >>> IO_PORT_SHIFT) != COM1_SCRATCH) {
                return ExitAction.PASS;
            }
            if ((q & IO_IN) != 0) {
                e.registers().setRax((e.registers().rax() & ~0xffL) | scratch);
            } else {
                scratch = e.registers().rax() & 0xff;
            }
            return ExitAction.EMULATED;
        }

        ExitAction msr(VmExit e) {
            long index = e.registers().rcx() & 0xffff_ffffL;
            boolean read = e.reason() == ExitReason.RDMSR;
            if (index == IA32_SYSENTER_CS) {
                if (read) {
                    e.registers().setRax(sysenterCs);
                    e.registers().setRdx(0);
                } else {
                    sysenterCs = e.registers().rax() & 0xffff_ffffL;
                }
                return ExitAction.EMULATED;
            }
            if (index == IA32_PAT && read) {
                e.registers().setRax(PAT_POWER_UP & 0xffff_ffffL);
                e.registers().setRdx(PAT_POWER_UP >>> 32);
                return ExitAction.EMULATED;
            }
            e.injectException(GP, 0);
            return ExitAction.RESUME;
        }
    }
}
