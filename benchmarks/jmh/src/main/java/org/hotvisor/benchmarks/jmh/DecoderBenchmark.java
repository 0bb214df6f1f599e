package org.hotvisor.benchmarks.jmh;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
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
 * Decode throughput of the x86 decoder over the 32-bit code of compute.img (the bytes between
 * the far jump into protected mode and the guest's message), decoded front to back as a block
 * builder would. One operation is one sweep; the {@code instructions} counter is instructions
 * decoded per second.
 *
 * <p>The core has no public decoder entry point: {@code org.hotvisor.vmx.cpu.x86.Decoder} and
 * its {@code Insn decode(byte[] buf, int start, int end, boolean default32)} are package-private
 * ({@code Insn.len}, the length, is read as a record component or a field).
 * This benchmark reaches them through a method handle (the class path is one unnamed module, so
 * this is allowed); if they change, the set-up fails with a message and the other benchmarks
 * still run. A public entry point would remove this.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--sun-misc-unsafe-memory-access=allow", "-XX:+UseSerialGC"})
public class DecoderBenchmark {
    static final String DECODER_CLASS = "org.hotvisor.vmx.cpu.x86.Decoder";
    static final String INSN_CLASS = "org.hotvisor.vmx.cpu.x86.Insn";
    private static final byte[] FAR_JUMP_32 = {0x66, (byte) 0xea}; // jmp dword sel:offset, 8 bytes
    private static final int FAR_JUMP_32_LENGTH = 8;
    private static final String END_MARK = "compute sum=";

    private static final MethodHandle NEW_DECODER;
    private static final MethodHandle DECODE;
    private static final MethodHandle LENGTH;
    /** Why the decoder cannot be reached, or null. */
    static final String PROBLEM;

    static {
        MethodHandle create = null, decode = null, length = null;
        String problem = null;
        try {
            Class<?> decoderClass = Class.forName(DECODER_CLASS);
            Class<?> insnClass = Class.forName(INSN_CLASS);
            MethodHandles.Lookup lookup = MethodHandles.privateLookupIn(decoderClass, MethodHandles.lookup());
            create = lookup.findConstructor(decoderClass, MethodType.methodType(void.class))
                    .asType(MethodType.methodType(Object.class));
            decode = lookup.findVirtual(decoderClass, "decode",
                            MethodType.methodType(insnClass, byte[].class, int.class, int.class, boolean.class))
                    .asType(MethodType.methodType(Object.class, Object.class, byte[].class, int.class, int.class, boolean.class));
            MethodHandles.Lookup insnLookup = MethodHandles.privateLookupIn(insnClass, MethodHandles.lookup());
            try {
                length = insnLookup.findVirtual(insnClass, "len", MethodType.methodType(int.class)); // a record
            } catch (NoSuchMethodException e) {
                length = insnLookup.findGetter(insnClass, "len", int.class); // a class with public final fields
            }
            length = length.asType(MethodType.methodType(int.class, Object.class));
        } catch (ReflectiveOperationException | RuntimeException e) {
            problem = "the decoder entry point " + DECODER_CLASS + ".decode(byte[], int, int, boolean) -> "
                    + INSN_CLASS + ".len is not there (" + e + ")";
        }
        NEW_DECODER = create;
        DECODE = decode;
        LENGTH = length;
        PROBLEM = problem;
    }

    private Object decoder;
    private byte[] code;
    private int start;
    private int end;

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
    public void setUp() throws Throwable {
        if (PROBLEM != null) {
            throw new IllegalStateException(PROBLEM);
        }
        decoder = NEW_DECODER.invokeExact();
        code = Guests.image("compute");
        start = indexOf(code, FAR_JUMP_32) + FAR_JUMP_32_LENGTH;
        end = indexOf(code, END_MARK.getBytes(StandardCharsets.US_ASCII));
        if (start < FAR_JUMP_32_LENGTH || end <= start) {
            throw new IllegalStateException("compute.img: no 32-bit code found between the far jump and \"" + END_MARK + "\"");
        }
    }

    @Benchmark
    public int sweep(Counters counters) throws Throwable {
        int pos = start, count = 0;
        while (pos < end) {
            Object insn = DECODE.invokeExact(decoder, code, pos, end, true);
            if (insn == null) {
                break; // the last instruction runs past the end mark: not code
            }
            pos += (int) LENGTH.invokeExact(insn);
            count++;
        }
        counters.instructions += count;
        return count;
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
