package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.Guest.hex;
import static org.hotvisor.vmx.cpu.x86.X86Core.EAX;
import static org.hotvisor.vmx.cpu.x86.X86Core.ECX;
import static org.hotvisor.vmx.cpu.x86.X86Core.ESI;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * A compiled block that jumps back to its own start runs its next round in place
 * ({@link BlockCompiler}, {@link X86Core#loopAgain}). Each test runs the same program interpreted
 * and compiled (every block compiled on first sight) and expects the same state, instruction count
 * and exit, and proves the compiled run looped in place.
 */
class SelfLoopTest {
    // LOOP (32-bit, org 0x100000): mov ecx, 1000 / xor eax, eax / l: add eax, ecx / dec ecx / jnz l / hlt
    static final byte[] LOOP = hex("b9e803000031c001c84975fbf4");
    // STORE_UNTIL_RAM_ENDS: mov esi, 0x1F0000 / mov eax, 0x11223344 / l: mov [esi], eax / add esi, 4 / jmp l
    static final byte[] STORE_UNTIL_RAM_ENDS = hex("be00001f00b844332211890683c604ebf9");
    // SELF_MODIFYING: mov ecx, 10 / xor eax, eax / l: add eax, strict dword 1 / mov dword [l + 1], 100
    //   / dec ecx / jnz l / hlt  (the first round rewrites the ADD's immediate)
    static final byte[] SELF_MODIFYING = hex("b90a00000031c00501000000c70508001000640000004975eef4");

    private static final int EXIT_HLT = 12, EXIT_PREEMPTION = 52, EXIT_EPT_VIOLATION = 48;

    private static Guest guest(byte[] code, boolean compiled) {
        Guest g = new Guest(2 << 20).flat32(0x100000).load(0x100000, code);
        g.core.controls.procBased |= Guest.PROC_HLT_EXITING;
        g.core.gpr[X86Core.ESP] = 0x9000;
        g.core.compileBlocks = compiled;
        g.core.compileThreshold = 1;
        return g;
    }

    @Test
    void aLoopRunsInPlaceWithTheInterpretersResults() {
        Guest interpreted = guest(LOOP, false);
        Guest compiled = guest(LOOP, true);
        assertEquals(EXIT_HLT, interpreted.run());
        assertEquals(EXIT_HLT, compiled.run());
        assertEquals(500_500, compiled.reg(EAX)); // 1000 + 999 + ... + 1
        assertEquals(interpreted.reg(EAX), compiled.reg(EAX));
        assertEquals(0, compiled.reg(ECX));
        assertEquals(interpreted.core.instructionsRetired(), compiled.core.instructionsRetired());
        assertEquals(interpreted.core.tsc, compiled.core.tsc);
        assertEquals(1, compiled.core.compiler.loopingBlocks, "the add/dec/jnz block loops to its own start");
        assertTrue(compiled.core.loopRounds >= 990, "rounds run in place: " + compiled.core.loopRounds);
        assertEquals(0, interpreted.core.loopRounds);
    }

    @Test
    void thePreemptionTimerStopsALoopAtTheSameInstruction() {
        for (int value : new int[] {1, 2, 3, 500, 1001, 2001}) {
            Guest interpreted = guest(LOOP, false);
            Guest compiled = guest(LOOP, true);
            for (Guest g : new Guest[] {interpreted, compiled}) {
                g.core.controls.pinBased |= X86Core.PIN_PREEMPTION_TIMER;
                g.core.controls.preemptionTimerValue = value;
                assertEquals(EXIT_PREEMPTION, g.run(), "timer " + value);
            }
            assertEquals(value, compiled.core.instructionsRetired(), "timer " + value);
            assertEquals(interpreted.core.rip, compiled.core.rip, "timer " + value);
            assertEquals(interpreted.reg(EAX), compiled.reg(EAX), "timer " + value);
            assertEquals(interpreted.reg(ECX), compiled.reg(ECX), "timer " + value);
        }
    }

    @Test
    void aFaultInALaterRoundStopsAtTheFaultingInstruction() {
        Guest interpreted = guest(STORE_UNTIL_RAM_ENDS, false);
        Guest compiled = guest(STORE_UNTIL_RAM_ENDS, true);
        assertEquals(EXIT_EPT_VIOLATION, interpreted.run());
        assertEquals(EXIT_EPT_VIOLATION, compiled.run());
        assertEquals(0x200000, compiled.reg(ESI), "the store past the end of RAM");
        assertEquals(0x10000A, compiled.core.rip, "RIP at the MOV that faulted");
        assertEquals(interpreted.core.instructionsRetired(), compiled.core.instructionsRetired());
        assertEquals(interpreted.core.exit.guestPhysicalAddress, compiled.core.exit.guestPhysicalAddress);
        assertTrue(compiled.core.loopRounds > 10_000, "rounds run in place: " + compiled.core.loopRounds);
    }

    @Test
    void aLoopThatRewritesItsOwnCodeRunsTheNewCode() {
        Guest interpreted = guest(SELF_MODIFYING, false);
        Guest compiled = guest(SELF_MODIFYING, true);
        assertEquals(EXIT_HLT, interpreted.run());
        assertEquals(EXIT_HLT, compiled.run());
        assertEquals(1 + 9 * 100, compiled.reg(EAX), "rounds 2-10 add the rewritten immediate");
        assertEquals(interpreted.reg(EAX), compiled.reg(EAX));
        assertEquals(interpreted.core.instructionsRetired(), compiled.core.instructionsRetired());
    }

    @Test
    void onlyARelativeJumpToTheBlocksOwnStartLoops() {
        assertTrue(BlockCompiler.loopsToStart(decodeAll("01c84975fb")), "add eax, ecx / dec ecx / jnz -5");
        assertEquals(false, BlockCompiler.loopsToStart(decodeAll("01c84975fa")), "jnz -6: a byte before the start");
        assertEquals(false, BlockCompiler.loopsToStart(decodeAll("01c84975fc")), "jnz -4: inside the block");
        assertTrue(BlockCompiler.loopsToStart(decodeAll("90ebfd")), "nop / jmp -3");
        assertEquals(false, BlockCompiler.loopsToStart(decodeAll("01c849")), "no jump at the end");
    }

    /** Decodes a straight run of 32-bit instructions. */
    private static Insn[] decodeAll(String bytes) {
        byte[] b = hex(bytes);
        Decoder d = new Decoder();
        java.util.List<Insn> insns = new java.util.ArrayList<>();
        for (int at = 0; at < b.length; ) {
            Insn in = d.decode(b, at, b.length, true);
            insns.add(in);
            at += in.len();
        }
        return insns.toArray(new Insn[0]);
    }
}
