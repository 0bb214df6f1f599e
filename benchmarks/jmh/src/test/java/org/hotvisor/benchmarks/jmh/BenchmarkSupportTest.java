package org.hotvisor.benchmarks.jmh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** What the benchmarks rely on, checked when the module is built (mvn -f benchmarks/jmh/pom.xml package). */
class BenchmarkSupportTest {

    @Test
    void doubledOutputOfComAndPortE9ReadsBackOnce() {
        assertEquals("compute sum=1\n", GuestCheck.undoubled("ccoommppuuttee  ssuumm==11\n\n"));
    }

    @Test
    void outputThatIsNotDoubledStaysAsItIs() {
        assertEquals("compute", GuestCheck.undoubled("compute"));
        assertEquals("abcd", GuestCheck.undoubled("abcd"));
    }

    @Test
    void everyGuestTheBenchmarksBootIsOnTheClassPathWithItsLine() {
        for (String guest : new String[] {"compute", "compute-small", "memcopy-small", "exits-small"}) {
            byte[] image = Guests.image(guest);
            assertEquals(512, image.length, guest);
            assertEquals(0x55, image[510] & 0xff, guest + ": boot signature");
            assertEquals(0xaa, image[511] & 0xff, guest + ": boot signature");
        }
        assertEquals("exits rounds=20000 bad=0", Guests.expected("exits-small"));
        assertTrue(Guests.expected("compute-small").startsWith("compute sum="));
    }

    @Test
    void theDecoderEntryPointIsReachable() throws Throwable {
        assertNull(DecoderBenchmark.PROBLEM);
        DecoderBenchmark bench = new DecoderBenchmark();
        bench.setUp();
        DecoderBenchmark.Counters counters = new DecoderBenchmark.Counters();
        int decoded = bench.sweep(counters);
        assertTrue(decoded > 50, "instructions decoded in compute.img's 32-bit code: " + decoded);
        assertEquals(decoded, counters.instructions);
    }
}
