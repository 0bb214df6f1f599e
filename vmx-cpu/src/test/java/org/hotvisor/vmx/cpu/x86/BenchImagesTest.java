package org.hotvisor.vmx.cpu.x86;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The shared bench images boot from real mode into 32-bit protected mode and report through
 * port I/O and CPUID exits, with this test acting as the VMM.
 */
class BenchImagesTest {
    /** Offset of the imm32 of "mov ecx, OUTER" in cpuloop.img (B9 A8 61 00 00 = mov ecx, 25000). */
    private static int findOuterImmediate(byte[] img) {
        for (int i = 0; i + 5 <= img.length; i++) {
            if ((img[i] & 0xFF) == 0xB9 && (img[i + 1] & 0xFF) == 0xA8 && (img[i + 2] & 0xFF) == 0x61 && img[i + 3] == 0
                    && img[i + 4] == 0) {
                return i + 1;
            }
        }
        throw new AssertionError("mov ecx, 25000 not found in cpuloop.img");
    }

    /** The guest's checksum computed in Java: the same LCG, XOR, ROL 5 over a 4 KiB buffer. */
    static int referenceSum(int outer) {
        int[] mem = new int[1024 * 4];
        int eax = 12345, edx = 0;
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < 4096; i++) {
                eax = eax * 1103515245 + 12345;
                int ebx = Integer.rotateLeft(mem[i] ^ eax, 5);
                mem[i] = ebx;
                edx += ebx;
            }
        }
        return edx;
    }

    @Test
    void cpuloopWithFewerOuterRoundsMatchesTheJavaModel() {
        byte[] img = Guest.benchImage("cpuloop.img");
        int at = findOuterImmediate(img);
        int outer = 40;
        img[at] = (byte) outer;
        img[at + 1] = 0;
        Guest g = new Guest(1 << 20).realMode(0x7C00).load(0x7C00, img);
        assertEquals(30, g.runBench());
        assertEquals(String.format("sum=%08x\n", referenceSum(outer)), g.serial.toString());
        assertTrue(g.core.instructionsRetired() > outer * 4096L * 10);
    }

    @Test
    void cpuloopFullRunPrintsTheReferenceChecksum() {
        Guest g = new Guest(1 << 20).realMode(0x7C00).load(0x7C00, Guest.benchImage("cpuloop.img"));
        long t0 = System.nanoTime();
        assertEquals(30, g.runBench());
        long ns = System.nanoTime() - t0;
        assertEquals("sum=366e6a1b\n", g.serial.toString());
        long n = g.core.instructionsRetired();
        assertEquals(1_024_100_165L, n, "instructions retired");
        System.out.printf("cpuloop.img: %d instructions in %.2f s = %.0f MIPS%n", n, ns / 1e9, n / (ns / 1e3));
    }

    @Test
    void exitloopTakesOneCpuidAndOneIoExitPerRound() {
        Guest g = new Guest(1 << 20).realMode(0x7C00).load(0x7C00, Guest.benchImage("exitloop.img"));
        long t0 = System.nanoTime();
        assertEquals(30, g.runBench());
        long ns = System.nanoTime() - t0;
        assertEquals("exits done\n", g.serial.toString());
        assertEquals(1_000_000, g.cpuidExits);
        // 1,000,000 OUTs to port 0x80, 11 characters to 0x3F8 and 11 to 0xE9, and the power-off write
        assertEquals(1_000_023, g.ioExits);
        System.out.printf("exitloop.img: %.0f ns per round%n", ns / 1e6);
    }

    @Test
    void ioExitQualificationFollowsTable28Dash5() {
        // out 0x80, al ; in ax, dx ; rep outsb  (16-bit real mode)
        byte[] code = {(byte) 0xE6, (byte) 0x80, (byte) 0x66, (byte) 0xED, (byte) 0xF3, (byte) 0x6E};
        Guest g = new Guest(1 << 20).realMode(0x1000).load(0x1000, code);
        g.core.controls.procBased |= Guest.PROC_UNCONDITIONAL_IO;
        g.core.gpr[2] = 0x3F8;
        g.core.gpr[6] = 0x20;
        g.core.ds.load(0x100, 0x1000, 0xFFFF, 0x93);
        g.core.stateLoaded();
        g.core.run();
        ExitInfo e = g.core.exit;
        assertEquals(30, e.reason);
        assertEquals(0x0080_0040L, e.qualification, "OUT imm8, 1 byte");
        assertEquals(2, e.instructionLength);
        assertEquals(0x1000, g.core.rip);
        g.core.rip += 2;
        g.core.run();
        assertEquals(0x03F8_000BL, e.qualification, "IN eAX, DX with 66h: 4 bytes, direction in");
        assertEquals(2, e.instructionLength);
        g.core.rip += 2;
        g.core.run();
        assertEquals(0x03F8_0030L, e.qualification, "REP OUTSB: string, rep, DX, 1 byte");
        assertEquals(0x1020, e.guestLinearAddress, "DS.base + SI");
        assertEquals(3 << 15, e.instructionInfo, "16-bit address size, DS");
    }
}
