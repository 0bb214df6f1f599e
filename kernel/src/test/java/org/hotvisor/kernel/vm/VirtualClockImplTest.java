package org.hotvisor.kernel.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.atomic.AtomicInteger;
import org.hotvisor.api.device.VirtualClock;
import org.junit.jupiter.api.Test;

/** The deterministic clock's cached earliest deadline must follow every arm, cancel and firing. */
class VirtualClockImplTest {

    @Test
    void nextDeadlineFollowsArmsCancelsAndFirings() throws Exception {
        VirtualClockImpl clock = new VirtualClockImpl(false);
        AtomicInteger fired = new AtomicInteger();
        VirtualClock.Timer a = clock.newTimer("a", fired::incrementAndGet);
        VirtualClock.Timer b = clock.newTimer("b", fired::incrementAndGet);
        assertEquals(Long.MAX_VALUE, clock.nextDeadline());
        a.armAt(500);
        assertEquals(500, clock.nextDeadline());
        b.armAt(300);
        assertEquals(300, clock.nextDeadline());
        b.cancel();
        assertEquals(500, clock.nextDeadline());
        clock.publish(400);
        assertEquals(0, clock.runDue(), "nothing due before 500");
        clock.publish(500);
        assertEquals(1, clock.runDue());
        assertEquals(Long.MAX_VALUE, clock.nextDeadline(), "a fired timer is disarmed");
        Thread other = new Thread(() -> b.armAt(700)); // devices may arm from another thread
        other.start();
        other.join();
        assertEquals(700, clock.nextDeadline());
        clock.cancelAll();
        assertEquals(Long.MAX_VALUE, clock.nextDeadline());
        assertEquals(1, fired.get());
    }

    @Test
    void withSeveralVcpusATimerArmedOffTheTimekeeperKicksIt() throws Exception {
        VirtualClockImpl clock = new VirtualClockImpl(false);
        AtomicInteger kicks = new AtomicInteger();
        clock.multiProcessor(kicks::incrementAndGet);
        clock.timekeeper(Thread.currentThread());
        VirtualClock.Timer t = clock.newTimer("lapic1", () -> { });
        t.armAt(100); // on the timekeeper: it re-programs its preemption timer itself
        assertEquals(0, kicks.get());
        Thread ap = new Thread(() -> t.armAt(50));
        ap.start();
        ap.join();
        assertEquals(1, kicks.get(), "an AP's timer reaches vCPU 0");
        assertEquals(50, clock.nextDeadline());
    }

    @Test
    void withSeveralVcpusOnlyTheTimekeeperMovesTime() throws Exception {
        VirtualClockImpl clock = new VirtualClockImpl(false);
        clock.multiProcessor(() -> { });
        clock.timekeeper(new Thread(() -> { }));
        AtomicInteger fired = new AtomicInteger();
        clock.newTimer("t", fired::incrementAndGet).armAt(1_000);
        clock.idleUntil(1_000); // this thread is not the timekeeper
        assertEquals(0, clock.nanos(), "an AP idling does not advance the virtual time");
        assertEquals(0, fired.get(), "nor run the timers");
        clock.timekeeper(Thread.currentThread());
        clock.idleUntil(1_000);
        assertEquals(1_000, clock.nanos());
        assertEquals(1, fired.get());
    }

    @Test
    void withSeveralVcpusNothingArmedWaitsForAKick() throws Exception {
        VirtualClockImpl clock = new VirtualClockImpl(false);
        clock.multiProcessor(() -> { });
        clock.timekeeper(Thread.currentThread());
        Thread waker = new Thread(() -> {
            try {
                Thread.sleep(30);
            } catch (InterruptedException e) {
                return;
            }
            clock.wake();
        });
        long start = System.nanoTime();
        waker.start();
        clock.idleUntil(Long.MAX_VALUE);
        waker.join();
        assertEquals(true, System.nanoTime() - start >= 25_000_000L, "waited for the IPI's kick");
        assertEquals(0, clock.nanos(), "no time passes for a wait on nothing");
    }
}
