package org.hotvisor.exit.hlt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.hotvisor.api.ExitAction;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.device.VirtualClock;
import org.hotvisor.exit.testkit.FakeClock;
import org.hotvisor.exit.testkit.FakeMemory;
import org.hotvisor.exit.testkit.FakeVcpu;
import org.hotvisor.exit.testkit.FakeVmExit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class HltExitHandlerTest {
    private FakeClock clock;
    private FakeVcpu vcpu;
    private FakeVmExit exit;
    private HltExitHandler handler;

    @BeforeEach
    void setUp() {
        clock = new FakeClock();
        vcpu = new FakeVcpu(0);
        exit = new FakeVmExit(vcpu, new FakeMemory(16));
        exit.reason = ExitReason.HLT;
        handler = new HltExitHandler(clock, Map.of());
    }

    @Test
    void pendingInterruptWithIfSetResumesAtOnce() {
        vcpu.interruptsEnabled = true;
        vcpu.interruptPending = true;
        clock.newTimer("pit", () -> { }).armAt(1_000);
        assertEquals(ExitAction.EMULATED, handler.handle(exit));
        assertEquals(List.of(), clock.idleCalls, "no idling");
        assertEquals(0L, clock.now);
    }

    @Test
    void timerSkipAheadWakesOnTheInterruptItRaises() {
        vcpu.interruptsEnabled = true;
        clock.now = 100;
        VirtualClock.Timer[] tick = new VirtualClock.Timer[1];
        int[] fired = {0};
        // A periodic timer that raises the interrupt only on its third expiry.
        tick[0] = clock.newTimer("pit", () -> {
            fired[0]++;
            if (fired[0] == 3) {
                vcpu.interruptPending = true;
            } else {
                tick[0].armAt(clock.now + 1_000);
            }
        });
        tick[0].armAt(5_000);
        assertEquals(ExitAction.EMULATED, handler.handle(exit));
        assertEquals(3, fired[0]);
        assertEquals(7_000L, clock.now, "virtual time jumped straight to each deadline");
        assertEquals(List.of(5_000L, 6_000L, 7_000L), clock.idleCalls);
        assertNull(exit.stopReason);
    }

    @Test
    void interruptsDisabledPowersOffEvenWithATimerArmed() {
        vcpu.interruptsEnabled = false;
        clock.newTimer("pit", () -> vcpu.interruptPending = true).armAt(1_000);
        assertEquals(ExitAction.STOP, handler.handle(exit));
        assertEquals(0, exit.stopStatus);
        assertEquals(HltExitHandler.REASON_INTERRUPTS_DISABLED, exit.stopReason);
        assertEquals(List.of(), clock.idleCalls);
    }

    @Test
    void interruptsDisabledWithPendingIntrStillPowersOff() {
        vcpu.interruptsEnabled = false;
        vcpu.interruptPending = true; // a masked INTR cannot wake HLT
        assertEquals(ExitAction.STOP, handler.handle(exit));
        assertEquals(HltExitHandler.REASON_INTERRUPTS_DISABLED, exit.stopReason);
    }

    @Test
    void interruptsDisabledWaitModeIdlesOnTimersUntilAnEventIsPending() {
        handler.modified(Map.of("interrupts.disabled", "wait"));
        vcpu.interruptsEnabled = false;
        clock.newTimer("watchdog", () -> vcpu.interruptPending = true).armAt(2_000); // e.g. an NMI watchdog
        assertEquals(ExitAction.EMULATED, handler.handle(exit));
        assertEquals(2_000L, clock.now);

        vcpu.interruptPending = false;
        assertEquals(ExitAction.STOP, handler.handle(exit), "no timer left: nothing can wake it");
        assertEquals(HltExitHandler.REASON_INTERRUPTS_DISABLED, exit.stopReason);
    }

    @Test
    void noTimerAndNoInterruptPowersOffByDefault() {
        vcpu.interruptsEnabled = true;
        assertEquals(ExitAction.STOP, handler.handle(exit));
        assertEquals(0, exit.stopStatus);
        assertEquals(HltExitHandler.REASON_NOTHING_ARMED, exit.stopReason);
    }

    @Test
    void withSeveralVcpusNoTimerWaitsForAKickInsteadOfPoweringOff() {
        vcpu.interruptsEnabled = true;
        List<Long> waits = new java.util.ArrayList<>();
        org.hotvisor.api.device.VirtualClock ipiClock = new org.hotvisor.api.device.VirtualClock() {
            @Override public long nanos() { return 0; }
            @Override public long nextDeadline() { return Long.MAX_VALUE; }
            @Override public long idleUntil(long deadline) {
                waits.add(deadline);
                vcpu.interruptPending = true; // another vCPU's IPI kicks this one
                return 0;
            }
            @Override public Timer newTimer(String name, Runnable callback) { throw new UnsupportedOperationException(); }
        };
        HltExitHandler smp = new HltExitHandler(ipiClock, Map.of(), 2);
        assertEquals(ExitAction.EMULATED, smp.handle(exit));
        assertEquals(List.of(Long.MAX_VALUE), waits, "waits for a kick, no power-off");
        assertEquals(2, HltExitHandler.cpus(" 2 "));
        assertEquals(1, HltExitHandler.cpus("x"));
        assertEquals(1, HltExitHandler.cpus(null));
    }

    @Test
    void idleForeverWaitIdlesInSlicesUntilAnInterruptArrives() {
        vcpu.interruptsEnabled = true;
        // Stands in for host input: the interrupt appears after three idle slices.
        VirtualClock counting = new VirtualClock() {
            int slices;

            @Override public long nanos() { return clock.nanos(); }
            @Override public long nextDeadline() { return clock.nextDeadline(); }
            @Override public Timer newTimer(String name, Runnable callback) { return clock.newTimer(name, callback); }

            @Override
            public long idleUntil(long deadline) {
                if (++slices == 3) {
                    vcpu.interruptPending = true;
                }
                return clock.idleUntil(deadline);
            }
        };
        handler = new HltExitHandler(counting, Map.of("idle.forever", "wait", "idle.slice.nanos", "1000"));
        assertEquals(ExitAction.EMULATED, handler.handle(exit));
        assertEquals(List.of(1_000L, 2_000L, 3_000L), clock.idleCalls);
    }

    @Test
    void interruptedVcpuThreadGetsTheVcpuBackWithRipOnHlt() {
        handler.modified(Map.of("idle.forever", "wait"));
        vcpu.interruptsEnabled = true;
        Thread.currentThread().interrupt();
        try {
            assertEquals(ExitAction.RESUME, handler.handle(exit));
            assertNull(exit.stopReason);
        } finally {
            assertTrue(Thread.interrupted()); // the flag stays for the kernel; clear it for the next test
        }
    }

    @Test
    void badConfigurationFallsBackToStop() {
        handler.modified(Map.of("idle.forever", "sometimes", "idle.slice.nanos", "-5"));
        vcpu.interruptsEnabled = true;
        assertEquals(ExitAction.STOP, handler.handle(exit));
    }

    @Test
    void hotPathDoesNotAllocate() {
        var bean = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        vcpu.interruptsEnabled = true;
        vcpu.interruptPending = true;
        for (int i = 0; i < 20_000; i++) {
            handler.handle(exit);
        }
        long tid = Thread.currentThread().threadId();
        long before = bean.getThreadAllocatedBytes(tid);
        for (int i = 0; i < 10_000; i++) {
            handler.handle(exit);
        }
        assertTrue(bean.getThreadAllocatedBytes(tid) - before < 4096);
    }
}
