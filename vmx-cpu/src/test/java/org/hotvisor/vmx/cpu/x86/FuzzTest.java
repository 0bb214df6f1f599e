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
 * Robustness: seeded random byte streams executed in real mode, 16/32-bit protected mode, with
 * paging over random tables, and in IA-32e mode (64-bit and compatibility mode, 4-level paging
 * over random or identity tables), with random exception bitmaps, MMIO completions and injected
 * interrupts. No Java exception may escape {@code run()} (internal errors are counted), and every
 * run returns: the VMX-preemption timer bounds it.
 */
class FuzzTest {
    static final int TIMER_BUDGET = 3000;
    /** Prints the first runs of each seed ({@code -Dfuzz.debug=true}). */
    static final boolean DEBUG = Boolean.getBoolean("fuzz.debug");
    /** Instructions retired by runs that were in 64-bit mode when they started (coverage of the IA-32e paths). */
    static long retiredIn64BitMode;
    /** reset() modes: 0 real, 1 flat 32-bit, 2 paged 32-bit, 3 16-bit protected, 4 and 6 64-bit, 5 compatibility. */
    static final int[] ALL_MODES = {0, 1, 2, 3, 4, 5, 6}, LONG_MODES = {4, 5, 6};

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
     * IA-32e mode only (64-bit and compatibility mode): random 64-bit byte streams fault every few
     * instructions, so this run is sized in runs as well as instructions.
     */
    @Test
    void random64BitCodeNeverEscapesOrStalls() {
        retiredIn64BitMode = 0;
        long total = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            long n = 0;
            for (long seed = 101; seed <= 106; seed++) {
                n += fuzz(seed, 150_000, LONG_MODES);
            }
            return n;
        });
        assertTrue(total >= 300_000, "instructions executed: " + total);
        assertTrue(retiredIn64BitMode >= 100_000, "instructions executed in 64-bit mode: " + retiredIn64BitMode);
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
        return fuzz(seed, budget, ALL_MODES);
    }

    static long fuzz(long seed, long budget, int[] modes) {
        Random rnd = new Random(seed);
        Guest g = new Guest(1 << 20);
        X86Core c = g.core;
        rnd.nextBytes(g.ram);
        c.compileThreshold = 2;
        long runs = 0;
        int idle = 0;
        reset(g, rnd, modes);
        while (c.instructionsRetired() < budget) {
            c.controls.preemptionTimerValue = TIMER_BUDGET;
            if (rnd.nextInt(50) == 0 && (c.rflags() & Alu.IF) != 0) {
                c.injectEvent(0x8000_0000 | (32 + rnd.nextInt(224)), 0, 0);
            }
            c.stateLoaded();
            long before = c.instructionsRetired();
            boolean in64 = c.mode64;
            c.run();
            if (in64) {
                retiredIn64BitMode += c.instructionsRetired() - before;
            }
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
                        reset(g, rnd, modes);
                    }
                }
                case 2 -> reset(g, rnd, modes);   // triple fault
                case 52, 1, 7, 8, 37 -> {
                    if (!progress) {
                        reset(g, rnd, modes);   // a fault loop (e.g. a handler that faults itself) burnt the budget
                    }
                }
                case 0 -> {
                    // 64-bit random code faults often: step over the byte more often than starting over
                    if (in64 ? rnd.nextInt(8) == 0 : rnd.nextBoolean()) {
                        reset(g, rnd, modes);
                    } else {
                        c.rip += Math.max(1, e.instructionLength);
                    }
                }
                default -> {
                    if (e.instructionLength > 0) {
                        c.rip += e.instructionLength;
                    } else {
                        reset(g, rnd, modes);
                    }
                }
            }
            if (idle > 64) {
                reset(g, rnd, modes);   // e.g. a REP string instruction walking through MMIO one exit at a time
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

    private static void reset(Guest g, Random rnd, int[] modes) {
        X86Core c = g.core;
        int mode = modes[rnd.nextInt(modes.length)];
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
            } else if (mode >= 4) {
                // IA-32e mode: 64-bit (CS.L = 1) or compatibility mode, 4-level paging
                c.cs.load(8, 0, 0xFFFF_FFFF, mode == 5 ? 0xC09B : 0xA09B);
                c.cr3 = rnd.nextInt(1 << 20) & ~0xFFF;
                if (rnd.nextInt(4) != 0) {
                    // PML4[0] -> PDPT[0] = a 1-GByte identity page, so the random code mostly runs
                    long pdpt = (c.cr3 + 0x1000) & 0xF_F000;
                    X86Core.VH64.set(g.ram, (int) c.cr3, pdpt | 7);
                    X86Core.VH64.set(g.ram, (int) pdpt, 0x87L);
                }
                c.cr4 = X86Core.CR4_PAE | (rnd.nextBoolean() ? X86Core.CR4_FSGSBASE : 0);
                c.cr0 |= X86Core.CR0_PG;
                c.efer = X86Core.EFER_LME | X86Core.EFER_LMA | X86Core.EFER_SCE
                        | (rnd.nextBoolean() ? X86Core.EFER_NXE : 0);
                c.idtrLimit = 0xFFF;
                c.lstar = rnd.nextInt(1 << 20);
                c.star = rnd.nextLong();
                c.invalidateCode(0, g.ram.length);
            }
        }
        for (int r = 0; r < 16; r++) {
            // 64-bit mode: mostly addresses inside RAM, so random code gets past its first memory operand
            c.gpr[r] = mode >= 4 ? (rnd.nextInt(8) == 0 ? rnd.nextLong() : rnd.nextInt(1 << 20)) : rnd.nextInt() & 0xFFFF_FFFFL;
        }
        c.gpr[X86Core.ESP] = rnd.nextInt(1 << 20);
        if (mode < 4) {
            c.efer = 0;
        }
        c.setRflags(2 | (rnd.nextBoolean() ? Alu.IF : 0));
        c.interruptibility = 0;
        c.activityState = X86Core.ACTIVITY_ACTIVE;
        VmxControls k = c.controls;
        k.procBased = Guest.PROC_HLT_EXITING | Guest.PROC_UNCONDITIONAL_IO;
        k.pinBased = 1 << 6;   // VMX-preemption timer
        // IA-32e mode: mostly exit on exceptions (the loop skips the faulting byte) rather than triple-fault
        // through a random IDT, so runs stay in 64-bit code
        k.exceptionBitmap = mode >= 4 && rnd.nextInt(4) != 0 ? -1 : rnd.nextInt();
        c.stateLoaded();
    }
}
