package org.hotvisor.benchmarks.jmh;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hotvisor.api.ExitAction;
import org.hotvisor.api.ExitHandler;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.VmExit;
import org.hotvisor.kernel.dispatch.ExitDispatcher;
import org.hotvisor.kernel.dispatch.HandlerEntry;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The kernel's exit dispatch on its own: one volatile read of the {@code DispatchTable}, the
 * hot-swap check, the handler array for the reason, and the call through
 * {@link ExitDispatcher#invoke} until a handler does not PASS, exactly as the vCPU run loop
 * ({@code VirtualCpu.dispatch}) does it, with handlers registered as the whiteboard would.
 *
 * <ul>
 *   <li>{@code dispatch}: one exit of the {@code reason} parameter;</li>
 *   <li>{@code dispatchMix}: CPUID, OUT, IN, RDMSR, WRMSR in turn, the exits.img round;</li>
 *   <li>{@code chain}: a handler at ranking 10 that PASSes (an introspection tap) in front of
 *       every stock handler, or none.</li>
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--sun-misc-unsafe-memory-access=allow", "-XX:+UseSerialGC"})
public class ExitDispatchBenchmark {
    private static final int COM1_SCRATCH = 0x3ff;
    private static final int POST_PORT = 0x80;
    /** Exit qualification for I/O (SDM 3C Table 28-5): bits 2:0 size-1, bit 3 IN, bits 31:16 port. */
    private static final long IO_IN = 1L << 3;
    private static final int IO_PORT_SHIFT = 16;
    private static final int IA32_SYSENTER_CS = 0x174;

    @Param({"none", "tap"})
    public String chain;

    private final ExitDispatcher dispatcher = new ExitDispatcher();
    private final BenchExit exit = new BenchExit();
    private final Throwable[] faultBox = new Throwable[1];
    private long scratch;
    private long sysenterCs;
    private int mixStep;

    @Setup
    public void setUp() {
        long serviceId = 1;
        dispatcher.add("bench.cpuid", serviceId++, 0, List.of(ExitReason.CPUID.name()), this::cpuid);
        dispatcher.add("bench.io", serviceId++, 0, List.of(ExitReason.IO_INSTRUCTION.name()), this::io);
        dispatcher.add("bench.msr", serviceId++, 0,
                List.of(ExitReason.RDMSR.name(), ExitReason.WRMSR.name()), this::msr);
        if ("tap".equals(chain)) {
            ExitHandler tap = e -> ExitAction.PASS;
            dispatcher.add("bench.tap", serviceId++, 10, List.of(ExitReason.CPUID.name(),
                    ExitReason.IO_INSTRUCTION.name(), ExitReason.RDMSR.name(), ExitReason.WRMSR.name()), tap);
        }
        exit.setRcx(IA32_SYSENTER_CS);
    }

    /** The exit {@code dispatch} repeats (a separate state so that {@code dispatchMix} is not run per reason). */
    @State(Scope.Thread)
    public static class OneReason {
        @Param({"CPUID", "IO_INSTRUCTION", "RDMSR"})
        public String reason;

        ExitReason exitReason;
        long qualification;

        @Setup
        public void setUp() {
            exitReason = ExitReason.valueOf(reason);
            qualification = exitReason == ExitReason.IO_INSTRUCTION ? IO_IN | (long) COM1_SCRATCH << IO_PORT_SHIFT : 0;
        }
    }

    @Benchmark
    public ExitAction dispatch(OneReason one) {
        return dispatchOne(exit.load(one.exitReason, one.qualification, 2));
    }

    @Benchmark
    public ExitAction dispatchMix() {
        int step = mixStep;
        mixStep = step == 4 ? 0 : step + 1;
        return switch (step) {
            case 0 -> dispatchOne(exit.load(ExitReason.CPUID, 0, 2));
            case 1 -> dispatchOne(exit.load(ExitReason.IO_INSTRUCTION, (long) POST_PORT << IO_PORT_SHIFT, 2));
            case 2 -> dispatchOne(exit.load(ExitReason.IO_INSTRUCTION, IO_IN | (long) COM1_SCRATCH << IO_PORT_SHIFT, 1));
            case 3 -> dispatchOne(exit.load(ExitReason.RDMSR, 0, 2));
            default -> dispatchOne(exit.load(ExitReason.WRMSR, 0, 2));
        };
    }

    /** VirtualCpu.dispatch without the VMCS: swap check, table lookup, handlers until one acts. */
    private ExitAction dispatchOne(VmExit e) {
        int slot = e.rawReason() & (ExitReason.TABLE_SIZE - 1);
        dispatcher.awaitSwap(slot);
        for (HandlerEntry entry : dispatcher.table().handlers(slot)) {
            ExitAction a = ExitDispatcher.invoke(entry, e, faultBox);
            if (a != ExitAction.PASS) {
                return a;
            }
        }
        return ExitAction.PASS;
    }

    // ---- handlers shaped like the stock ones: read the exit, write registers, return

    private ExitAction cpuid(VmExit e) {
        if (e.registers().rax() == 0) {
            e.registers().setRax(0xd);
            e.registers().setRbx(0x756e6547); // "GenuineIntel" in EBX, EDX, ECX
            e.registers().setRdx(0x49656e69);
            e.registers().setRcx(0x6c65746e);
        } else {
            e.registers().setRax(0);
            e.registers().setRbx(0);
            e.registers().setRcx(0);
            e.registers().setRdx(0);
        }
        return ExitAction.EMULATED;
    }

    private ExitAction io(VmExit e) {
        long q = e.qualification();
        int port = (int) (q >>> IO_PORT_SHIFT);
        boolean in = (q & IO_IN) != 0;
        if (port == COM1_SCRATCH) {
            if (in) {
                e.registers().setRax((e.registers().rax() & ~0xffL) | scratch);
            } else {
                scratch = e.registers().rax() & 0xff;
            }
        }
        return ExitAction.EMULATED;
    }

    private ExitAction msr(VmExit e) {
        if (e.registers().rcx() != IA32_SYSENTER_CS) {
            e.injectException(13, 0);
            return ExitAction.RESUME;
        }
        if (e.reason() == ExitReason.RDMSR) {
            e.registers().setRax(sysenterCs);
            e.registers().setRdx(0);
        } else {
            sysenterCs = e.registers().rax() & 0xffff_ffffL;
        }
        return ExitAction.EMULATED;
    }
}
