package org.hotvisor.vmx.cpu.x86;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Random;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Robustness: seeded random byte streams executed in real mode, 16/32-bit protected mode and
 * with paging over random tables, with random exception bitmaps, MMIO completions and injected
 * interrupts. No Java exception may escape {@code run()} (internal errors are counted), and every
 * run returns: the VMX-preemption timer bounds it.
 */
class FuzzTest {
    static final int TIMER_BUDGET = 3000;
    /** Prints the first runs of each seed ({@code -Dfuzz.debug=true}). */
    static final boolean DEBUG = Boolean.getBoolean("fuzz.debug");

    @Test
    void randomCodeNeverEscapesOrStalls() {
        long total = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            long n = 0;
            for (long seed = 1; seed <= 12; seed++) {
                n += fuzz(seed, 200_000);
            }
            return n;
        });
        assertTrue(total >= 2_000_000, "instructions executed: " + total);
    }

    /**
     * The long run: 10+ million random instructions (about 10 s). Enabled with
     * {@code -Dhotvisor.slowTests=true} (and tagged {@code slow} for surefire's groups).
     */
    @Tag("slow")
    @EnabledIfSystemProperty(named = "hotvisor.slowTests", matches = "true")
    @Test
    void tenMillionRandomInstructions() {
        long total = assertTimeoutPreemptively(Duration.ofMinutes(10), () -> {
            long n = 0;
            for (long seed = 1000; n < 10_000_000; seed++) {
                n += fuzz(seed, 500_000);
            }
            return n;
        });
        assertTrue(total >= 10_000_000);
    }

    /** Runs random code until {@code budget} instructions retired; returns how many did. */
    static long fuzz(long seed, long budget) {
        Random rnd = new Random(seed);
        Guest g = new Guest(1 << 20);
        X86Core c = g.core;
        rnd.nextBytes(g.ram);
        c.compileThreshold = 2;
        long runs = 0;
        int idle = 0;
        reset(g, rnd);
        while (c.instructionsRetired() < budget) {
            c.controls.preemptionTimerValue = TIMER_BUDGET;
            if (rnd.nextInt(50) == 0 && (c.rflags() & Alu.IF) != 0) {
                c.injectEvent(0x8000_0000 | (32 + rnd.nextInt(224)), 0, 0);
            }
            c.stateLoaded();
            long before = c.instructionsRetired();
            c.run();
            runs++;
            boolean progress = c.instructionsRetired() != before;
            idle = progress ? 0 : idle + 1;
            assertEquals(0, c.internalErrors, "internal error (see log) with seed " + seed + " after " + runs + " runs");
            ExitInfo e = c.exit;
            switch (e.reason & 0xFFFF) {
                case 48 -> {   // EPT violation: satisfy data accesses, restart after fetches
                    if ((e.qualification & 3) == 2) {
                        c.completeMmioWrite();
                    } else if ((e.qualification & 1) != 0) {
                        c.completeMmioRead(rnd.nextLong());
                    } else {
                        reset(g, rnd);
                    }
                }
                case 2 -> reset(g, rnd);   // triple fault
                case 52, 1, 7, 8, 37 -> {
                    if (!progress) {
                        reset(g, rnd);   // a fault loop (e.g. a handler that faults itself) burnt the budget
                    }
                }
                case 0 -> {
                    if (rnd.nextBoolean()) {
                        reset(g, rnd);
                    } else {
                        c.rip += Math.max(1, e.instructionLength);
                    }
                }
                default -> {
                    if (e.instructionLength > 0) {
                        c.rip += e.instructionLength;
                    } else {
                        reset(g, rnd);
                    }
                }
            }
            if (idle > 64) {
                reset(g, rnd);   // e.g. a REP string instruction walking through MMIO one exit at a time
                idle = 0;
            }
            if (runs > budget) {
                break;   // nothing retires: still no stall, every run returned
            }
            if (DEBUG && runs < 40) {
                System.out.println("run " + runs + " -> " + e + " rip=" + Long.toHexString(c.rip) + " retired=" + c.instructionsRetired() + " mode=" + c.protectedMode + " act=" + c.activityState);
            }
        }
        return c.instructionsRetired();
    }

    private static void reset(Guest g, Random rnd) {
        X86Core c = g.core;
        int mode = rnd.nextInt(4);
        int ip = rnd.nextInt(1 << 20);
        if (mode == 0) {
            g.realMode(ip & 0xFFFF);
            c.cs.load(ip >>> 4 & 0xF000, (ip >>> 4 & 0xF000) << 4, 0xFFFF, 0x9B);
        } else {
            g.flat32(ip);
            c.gdtrBase = rnd.nextInt(1 << 20);
            c.gdtrLimit = rnd.nextInt(0x10000);
            c.idtrBase = rnd.nextInt(1 << 20);
            c.idtrLimit = 0x7FF;
            if (mode == 2) {
                c.cr3 = rnd.nextInt(1 << 20) & ~0xFFF;
                c.cr4 = rnd.nextBoolean() ? X86Core.CR4_PSE : 0;
                c.cr0 |= X86Core.CR0_PG;
            } else if (mode == 3) {
                c.cs.accessRights &= ~Segment.AR_DB;   // 16-bit protected mode
                c.ss.accessRights &= ~Segment.AR_DB;
            }
        }
        for (int r = 0; r < 8; r++) {
            c.gpr[r] = rnd.nextInt() & 0xFFFF_FFFFL;
        }
        c.gpr[X86Core.ESP] = rnd.nextInt(1 << 20);
        c.setRflags(2 | (rnd.nextBoolean() ? Alu.IF : 0));
        c.interruptibility = 0;
        c.activityState = X86Core.ACTIVITY_ACTIVE;
        VmxControls k = c.controls;
        k.procBased = Guest.PROC_HLT_EXITING | Guest.PROC_UNCONDITIONAL_IO;
        k.pinBased = 1 << 6;   // VMX-preemption timer
        k.exceptionBitmap = rnd.nextInt();
        c.stateLoaded();
    }
}
