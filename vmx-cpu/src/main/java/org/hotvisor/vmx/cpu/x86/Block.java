package org.hotvisor.vmx.cpu.x86;

import java.util.Arrays;

/**
 * A straight run of decoded instructions starting at one guest-physical address and ending at a
 * control transfer, a mode-changing instruction, the end of the page or {@link #MAX_INSNS}.
 * Keyed by (physical address, decode mode); never spans two pages.
 */
final class Block {
    static final int MAX_INSNS = 64;

    /** Replaces every slot of an invalidated block: the interpreter leaves the block when it meets it. */
    static final Insn STOP = Insn.of(Op.NOP, 0, 0, 0, 4, 0, 0, 0, 0, 0, -1, -1, 0, 0, 0, 0, -1);

    final long phys;
    final int modeKey;
    final Insn[] insns;
    /** Bytes covered, from phys. */
    final int bytes;
    boolean valid = true;
    /** In the code cache (blocks cut by a page or CS limit are built per use and never compiled). */
    boolean cached;
    /** Interpreted executions so far (compilation trigger). */
    int executions;
    /** The translation, once hot; null until then or if it failed. */
    CompiledBlock compiled;
    /**
     * When the translation is a loop (see {@link BlockCompiler}): the blocks it runs, this one
     * first, and each one's RIP offset from this one's start; null for a plain block.
     */
    Block[] members;
    long[] memberOffsets;

    /** Index of the instruction that ends {@code offset} bytes into the block, or -1. */
    int indexEndingAt(long offset) {
        long end = 0;
        for (int k = 0; k < insns.length; k++) {
            end += insns[k].len();
            if (end == offset) {
                return k;
            }
        }
        return -1;
    }
    /** The last two successors (by RIP, valid while the core's map epoch is unchanged). */
    Block succ0, succ1;
    long succ0Rip, succ1Rip, succ0Epoch, succ1Epoch;
    /** Next block decoded from the same page (for invalidation). */
    Block nextOnPage;

    Block(long phys, int modeKey, Insn[] insns, int bytes) {
        this.phys = phys;
        this.modeKey = modeKey;
        this.insns = insns;
        this.bytes = bytes;
    }

    /** Drops the block; a running interpreter loop stops at its next slot. */
    void invalidate() {
        valid = false;
        compiled = null;
        succ0 = null;
        succ1 = null;
        Arrays.fill(insns, STOP);
    }
}
