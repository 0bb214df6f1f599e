package org.hotvisor.kernel.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.hotvisor.kernel.vm.Machine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code vm:signal}: argument checking, the no-processor case, and NMI injection at the next entry. */
class SignalCommandsTest {
    /** 7C00 nop; 7C01 jmp 7C00. */
    private static final byte[] LOOP = {(byte) 0x90, (byte) 0xEB, (byte) 0xFD};

    private Machine vm;

    @AfterEach
    void stop() {
        if (vm != null) {
            vm.stop(0, "test over");
        }
    }

    @Test
    void badArgumentsPrintTheUsage() throws Exception {
        vm = ToyCpu.machine(LOOP);
        SignalCommands s = new SignalCommands(vm);
        assertEquals(SignalCommands.USAGE, s.signal());
        assertEquals(SignalCommands.USAGE, s.signal("sipi"));
        assertEquals(SignalCommands.USAGE, s.signal("init", "3"));
        assertEquals(SignalCommands.USAGE, s.signal("reset"));
    }

    @Test
    void beforeStartTheSignalsSayThereIsNoProcessor() throws Exception {
        vm = ToyCpu.machine(LOOP);
        SignalCommands s = new SignalCommands(vm);
        assertTrue(s.signal("init").contains("no processor yet"), s.signal("init"));
        assertTrue(s.signal("nmi").contains("vm:start"), s.signal("nmi"));
    }

    @Test
    void sipiVectorsAreCheckedAndNmiIsInjectedAtTheNextEntry() throws Exception {
        vm = ToyCpu.machine(LOOP);
        vm.start();
        SignalCommands s = new SignalCommands(vm);
        waitForProcessor();
        assertTrue(s.signal("sipi", "0x100").contains("0 to 0xff"));
        assertTrue(s.signal("sipi", "x").contains("not a vector"));
        assertTrue(s.signal("sipi", "0x9a").startsWith("SIPI 0x9a sent"));
        assertTrue(s.signal("init").startsWith("INIT raised"));
        assertTrue(s.signal("smi").startsWith("SMI raised"));
        int before = vm.withProcessor(c -> ((ToyCpu) c).injected);
        assertEquals("NMI injected at the next VM entry (vector 2)", s.signal("nmi"));
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (vm.withProcessor(c -> ((ToyCpu) c).injected) == before && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertTrue(vm.withProcessor(c -> ((ToyCpu) c).injected) > before, "the NMI reached a VM entry");
    }

    private void waitForProcessor() throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline) {
            try {
                vm.withProcessor(c -> c);
                return;
            } catch (IllegalStateException e) {
                Thread.sleep(10);
            }
        }
    }
}
