package org.hotvisor.harness;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.hotvisor.api.ExitAction;
import org.hotvisor.api.ExitHandler;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.Vm;
import org.hotvisor.api.VmExit;
import org.hotvisor.api.vmx.ControlBit;
import org.hotvisor.api.vmx.VmxProcessor;
import org.hotvisor.kernel.dispatch.ExitDispatcher;
import org.hotvisor.kernel.loader.ImageException;
import org.hotvisor.kernel.loader.LoadOptions;
import org.hotvisor.kernel.stats.ExitStatistics;
import org.hotvisor.kernel.stats.ExitTrace;
import org.hotvisor.kernel.vm.ControlNames;
import org.hotvisor.kernel.vm.HostConsoleImpl;
import org.hotvisor.kernel.vm.Machine;

/**
 * Runs a guest image on the real VMX processor and the kernel's real run loop and dispatcher,
 * with the handlers you add, in plain JUnit:
 *
 * <pre>
 * try (HandlerTestBench bench = HandlerTestBench.bootSector(image)) {
 *     bench.handler(new MyCpuid(), 0, ExitReason.CPUID);
 *     HandlerTestBench.Result r = bench.run(Duration.ofSeconds(5));
 *     assertEquals("vendor: HotvisorTest\n", bench.output());
 *     assertEquals(1, r.count(ExitReason.CPUID));
 * }
 * </pre>
 *
 * A built-in lowest-ranked I/O handler plays the board: COM1 (0x3F8, LSR at 0x3FD always ready)
 * and port 0xE9 collect {@link #output()}, isa-debug-exit (0xF4) stops with status (V<<1)|1 and
 * "Shutdown" on 0x8900 stops with 0. Your own I/O handlers rank above it.
 */
// On the module path, ServiceLoader needs "uses VmxProcessor" in the kernel's module-info; in OSGi the
// kernel gets the processor as a DS service, so the requirement is optional.
@aQute.bnd.annotation.spi.ServiceConsumer(value = VmxProcessor.class, resolution = aQute.bnd.annotation.Resolution.OPTIONAL,
        cardinality = aQute.bnd.annotation.Cardinality.MULTIPLE)
public final class HandlerTestBench implements AutoCloseable {
    private final Path image;
    private final LoadOptions options;
    private final ExitDispatcher dispatcher = new ExitDispatcher();
    private final ByteArrayOutputStream output = new ByteArrayOutputStream();
    private final Map<ControlBit, Boolean> controls = new LinkedHashMap<>();
    private final List<String> traceLines = new ArrayList<>();
    private long nextServiceId = 1;
    private Machine machine;
    private boolean trace;

    private HandlerTestBench(Path image, LoadOptions options) {
        this.image = image;
        this.options = options;
        dispatcher.add("hotvisor.bench.board", Long.MAX_VALUE, Integer.MIN_VALUE,
                List.of(ExitReason.IO_INSTRUCTION.name()), this::board);
    }

    /** A boot sector (or any real-mode image) loaded at 0x7C00 and started at 0000:7C00. */
    public static HandlerTestBench bootSector(byte[] image) {
        return new HandlerTestBench(temp(image), new LoadOptions("boot", -1, -1, "", List.of()));
    }

    /** Flat code loaded at {@code loadAddress} and started there in 32-bit flat protected mode. */
    public static HandlerTestBench flat32(byte[] code, long loadAddress) {
        return new HandlerTestBench(temp(code), new LoadOptions("flat", loadAddress, loadAddress, "", List.of()));
    }

    /** An image file, format detected as {@code ./hotvisor run} would. */
    public static HandlerTestBench image(Path image) {
        return new HandlerTestBench(image, LoadOptions.detect());
    }

    private static Path temp(byte[] bytes) {
        try {
            Path p = Files.createTempFile("hotvisor-bench", ".img");
            p.toFile().deleteOnExit();
            Files.write(p, bytes);
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Runs an image on the bench from the command line, e.g. on the plain module path:
     * {@code java -p kernel.jar:vmx-cpu.jar:... -m org.hotvisor.kernel/org.hotvisor.harness.HandlerTestBench IMAGE}.
     * Prints the guest's output, then one line with the outcome; exits with the run's status.
     */
    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: HandlerTestBench IMAGE");
            System.exit(2);
        }
        try (HandlerTestBench bench = image(Path.of(args[0]))) {
            Result r = bench.run(Duration.ofSeconds(60));
            System.out.print(bench.output());
            System.out.println("[bench] " + r + ", " + r.instructions() + " instructions");
            System.exit(r.status());
        }
    }

    /** Adds a handler for some reasons, as if registered with this {@code service.ranking}. */
    public HandlerTestBench handler(ExitHandler handler, int ranking, ExitReason... reasons) {
        List<String> names = new ArrayList<>();
        for (ExitReason r : reasons) {
            names.add(r.name());
        }
        dispatcher.add("bench:" + handler.getClass().getName(), nextServiceId++, ranking, names, handler);
        return this;
    }

    /** Sets a VMX control by its console name, e.g. {@code control("rdtsc-exiting", true)}. */
    public HandlerTestBench control(String name, boolean on) {
        controls.put(ControlNames.find(name), on);
        return this;
    }

    /** Records the exit trace (JSON lines) for {@link #trace()}. */
    public HandlerTestBench traceExits() {
        trace = true;
        return this;
    }

    /** Boots the guest and runs it until it stops or the timeout passes (then it is stopped with status 124). */
    public Result run(Duration timeout) {
        VmxProcessor cpu = ServiceLoader.load(VmxProcessor.class, HandlerTestBench.class.getClassLoader()).findFirst()
                .or(() -> ServiceLoader.load(VmxProcessor.class).findFirst())
                .orElseThrow(() -> new IllegalStateException("no VmxProcessor on the class path: add hotvisor-vmx-cpu"));
        machine = new Machine(new Machine.Settings(32L << 20, false, controls), dispatcher,
                new HostConsoleImpl(output, false));
        machine.processor(cpu);
        java.io.StringWriter traceOut = new java.io.StringWriter();
        if (trace) {
            machine.trace(new ExitTrace(traceOut));
        }
        try {
            machine.load(image, options);
        } catch (ImageException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        machine.start();
        try {
            if (!machine.awaitStop(timeout.toMillis())) {
                machine.stop(124, "timeout after " + timeout);
                machine.awaitStop(5000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (trace) {
            machine.trace().flush();
            traceLines.addAll(traceOut.toString().lines().toList());
        }
        return new Result(machine.exitStatus(), machine.stopReason(), machine.statistics());
    }

    /** What the guest wrote to COM1 and port 0xE9. */
    public String output() {
        return output.toString(StandardCharsets.ISO_8859_1);
    }

    /** The exit trace lines, after {@link #traceExits()} and {@link #run}. */
    public List<String> trace() {
        return traceLines;
    }

    /** The VM, after {@link #run} (for memory and registers). */
    public Vm vm() {
        return machine;
    }

    @Override
    public void close() {
        if (machine != null) {
            machine.stop(124, "bench closed");
        }
    }

    /** The outcome of a run. */
    public static final class Result {
        private final int status;
        private final String reason;
        private final ExitStatistics.Snapshot stats;

        Result(int status, String reason, ExitStatistics.Snapshot stats) {
            this.status = status;
            this.reason = reason;
            this.stats = stats;
        }

        /** The process status a headless run would end with. */
        public int status() {
            return status;
        }

        public String reason() {
            return reason;
        }

        public long count(ExitReason r) {
            return stats.count()[r.number()];
        }

        public long totalExits() {
            return stats.totalExits();
        }

        public long instructions() {
            return stats.instructions();
        }

        /** The bundle (or bench handler) that handled a reason last. */
        public String handledBy(ExitReason r) {
            return stats.handledBy()[r.number()];
        }

        @Override
        public String toString() {
            return "status " + status + (reason == null || reason.isEmpty() ? "" : " (" + reason + ")") + ", " + totalExits() + " exits";
        }
    }

    // ---------------------------------------------------------------- the board

    private final StringBuilder shutdownWord = new StringBuilder();

    private ExitAction board(VmExit exit) {
        long q = exit.qualification();
        int size = (int) (q & 7) + 1;
        boolean in = (q & 8) != 0;
        if ((q & 16) != 0) {
            return ExitAction.PASS; // string I/O: not the board's business
        }
        int port = (int) (q >>> 16);
        long mask = size == 4 ? 0xFFFF_FFFFL : (1L << (8 * size)) - 1;
        if (in) {
            long v = switch (port) {
                case 0x3FD -> 0x60; // LSR: THR empty, transmitter empty
                default -> mask;
            };
            long rax = exit.registers().rax();
            exit.registers().setRax(size == 4 ? v : (rax & ~mask) | (v & mask));
            return ExitAction.EMULATED;
        }
        int value = (int) (exit.registers().rax() & mask);
        switch (port) {
            case 0x3F8, 0xE9 -> output.write(value & 0xFF);
            case 0xF4 -> {
                exit.stop((value << 1) | 1, "");
                return ExitAction.STOP;
            }
            case 0x8900 -> {
                shutdownWord.append((char) (value & 0xFF));
                if (shutdownWord.toString().endsWith("Shutdown")) {
                    exit.stop(0, "");
                    return ExitAction.STOP;
                }
            }
            default -> { }
        }
        return ExitAction.EMULATED;
    }
}
