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
}
