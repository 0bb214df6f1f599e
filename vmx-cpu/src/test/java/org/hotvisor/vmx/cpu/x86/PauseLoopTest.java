package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.Guest.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** PAUSE exiting and PAUSE-loop exiting (SDM 3C 26.1.3 "PAUSE", 25.6.13 PLE_Gap / PLE_Window). */
class PauseLoopTest {
    static final long CODE = 0x100000;
    static final int P_HLT = 1 << 7, P_PAUSE = 1 << 30, P_SECONDARY = 1 << 31, S_PAUSE_LOOP = 1 << 10;
    static final int EXIT_CPUID = 10, EXIT_HLT = 12, EXIT_PAUSE = 40;

    // L: pause / jmp L
    static final byte[] SPIN = hex("f390ebfc");
    // mov ecx, 50 / L: pause / loop L / cpuid
    static final byte[] BOUNDED_SPIN = hex("b932000000f390e2fc0fa2");
    // mov ecx, 50 / L: pause / 8 x nop / loop L / cpuid: 10 ticks between PAUSEs
    static final byte[] SLOW_SPIN = hex("b932000000f390" + "9090909090909090" + "e2f40fa2");

    private static Guest guest(byte[] code, int proc, int proc2, int gap, int window) {
        Guest g = new Guest(2 << 20).flat32(CODE).load((int) CODE, code);
        g.core.controls.procBased = proc | P_HLT | (proc2 != 0 ? P_SECONDARY : 0);
        g.core.controls.procBased2 = proc2;
        g.core.controls.pleGap = gap;
        g.core.controls.pleWindow = window;
        return g;
    }

    @Test
    void aPauseLoopLongerThanTheWindowExitsAtThePause() {
        Guest g = guest(SPIN, 0, S_PAUSE_LOOP, 4, 100);
        assertEquals(EXIT_PAUSE, g.run());
        assertEquals(0, g.core.exit.qualification);
        assertEquals(2, g.core.exit.instructionLength, "F3 90");
        assertEquals(CODE, g.core.rip, "the exit is at the PAUSE (fault-like)");
        // the first PAUSE (TSC 0) starts the loop; PAUSEs come every 2 ticks; the first one more
        // than 100 ticks after the start is at TSC 102
        assertEquals(102, g.core.tsc, "instructions retired before the exiting PAUSE");
        g.core.rip += 2;
        assertEquals(EXIT_PAUSE, g.run(), "after VM entry the next PAUSE starts a new loop");
        assertEquals(102 + 1 + 102, g.core.tsc);
    }

    @Test
    void pausesFartherApartThanTheGapNeverExit() {
        assertEquals(EXIT_CPUID, guest(SLOW_SPIN, 0, S_PAUSE_LOOP, 9, 20).run(), "10 ticks apart > gap 9");
        assertEquals(EXIT_PAUSE, guest(SLOW_SPIN, 0, S_PAUSE_LOOP, 10, 20).run(), "10 ticks apart <= gap 10");
    }

    @Test
    void pauseLoopExitingIsIgnoredAboveCpl0ButPauseExitingIsNot() {
        Guest g = new Guest(8 << 20).protectedMode(CODE).load((int) CODE, BOUNDED_SPIN);
        g.core.controls.procBased = P_SECONDARY;
        g.core.controls.procBased2 = S_PAUSE_LOOP;
        g.core.controls.pleWindow = 10;
        g.user(CODE, 0x300000);
        assertEquals(EXIT_CPUID, g.run(), "CPL 3: PAUSE-loop exiting has no effect");
        g.core.controls.procBased |= P_PAUSE;
        g.core.rip = CODE;
        assertEquals(EXIT_PAUSE, g.run(), "CPL 3: PAUSE exiting applies");
        assertEquals(2, g.core.exit.instructionLength);
    }

    @Test
    void pauseExitingWinsOverThePauseLoopWindow() {
        Guest g = guest(SPIN, P_PAUSE, S_PAUSE_LOOP, 4, 1_000_000);
        assertEquals(EXIT_PAUSE, g.run());
        assertEquals(0, g.core.tsc, "the very first PAUSE exits");
    }

    @Test
    void withBothControlsOffPauseIsANop() {
        assertEquals(EXIT_CPUID, guest(BOUNDED_SPIN, 0, 0, 0, 0).run());
    }
}
