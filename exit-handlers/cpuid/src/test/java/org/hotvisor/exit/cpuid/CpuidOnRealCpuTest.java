package org.hotvisor.exit.cpuid;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.Map;
import org.hotvisor.api.ExitReason;
import org.hotvisor.harness.HandlerTestBench;
import org.junit.jupiter.api.Test;

/**
 * The handler as a handler author tests it: on the real VMX CPU and the kernel's real run loop,
 * through {@link HandlerTestBench}, in plain JUnit — no Felix.
 */
class CpuidOnRealCpuTest {
    /** CPUID leaf 0, then EBX:EDX:ECX (the vendor) byte by byte to port 0xE9, then isa-debug-exit 0. */
    private static final byte[] PRINT_VENDOR = bytes(
            0x66, 0x31, 0xc0, 0x0f, 0xa2, 0x66, 0x89, 0x1e, 0x00, 0x06, 0x66, 0x89,
            0x16, 0x04, 0x06, 0x66, 0x89, 0x0e, 0x08, 0x06, 0xbe, 0x00, 0x06, 0xb9,
            0x0c, 0x00, 0xac, 0xe6, 0xe9, 0xe2, 0xfb, 0xb0, 0x00, 0xe6, 0xf4, 0xf4);

    /**
     * 3000 rounds of XOR EAX,EAX; CPUID; DEC SI; JNZ (CPUID writes ECX, so no LOOP), then
     * isa-debug-exit 0: 9002 retired instructions, as CPUID and OUT exit.
     */
    private static final byte[] CPUID_LOOP = bytes(
            0xbe, 0xb8, 0x0b,       // mov si, 3000
            0x66, 0x31, 0xc0,       // xor eax, eax
            0x0f, 0xa2,             // cpuid
            0x4e,                   // dec si
            0x75, 0xf8,             // jnz back to the xor
            0xb0, 0x00, 0xe6, 0xf4, // mov al, 0; out 0xf4, al
            0xf4);

    private static byte[] bytes(int... v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = (byte) v[i];
        }
        return b;
    }

    @Test
    void theGuestPrintsTheConfiguredVendor() {
        CpuidExitHandler handler = new CpuidExitHandler();
        handler.activate(Map.of("vendor", "HotvisorTest"));
        try (HandlerTestBench bench = HandlerTestBench.bootSector(PRINT_VENDOR)) {
            bench.handler(handler, 0, ExitReason.CPUID);
            HandlerTestBench.Result r = bench.run(Duration.ofSeconds(10));
            assertEquals(1, r.status(), r.toString()); // isa-debug-exit with V=0
            assertEquals("HotvisorTest", bench.output());
            assertEquals(1, r.count(ExitReason.CPUID));
            assertEquals("bench:" + CpuidExitHandler.class.getName(), r.handledBy(ExitReason.CPUID));
        }
    }

    /**
     * The statistics publish the instruction count on sampled exits only, and exactly when the run
     * ends: past the first 256 exits of a reason only about one in 64 is sampled, so a count left
     * at the last sampled exit would fall short.
     */
    @Test
    void theInstructionCountIsExactAtTheEndOfARunPastTheSampledExits() {
        CpuidExitHandler handler = new CpuidExitHandler();
        handler.activate(Map.of());
        try (HandlerTestBench bench = HandlerTestBench.bootSector(CPUID_LOOP)) {
            bench.handler(handler, 0, ExitReason.CPUID);
            HandlerTestBench.Result r = bench.run(Duration.ofSeconds(10));
            assertEquals(1, r.status(), r.toString());
            assertEquals(3000, r.count(ExitReason.CPUID));
            assertEquals(9002, r.instructions(), "1 + 3000 x (XOR, DEC, JNZ) + 1; CPUID and OUT exit and do not retire");
        }
    }
}
