package org.hotvisor.vmx.cpu.x86;

import java.util.Arrays;

/**
 * A straight run of decoded instructions starting at one guest-physical address and ending at a
 * control transfer, a mode-changing instruction, the end of the page or {@link #MAX_INSNS}.
 * Keyed by (physical address, decode mode). Only a block of one instruction that straddles a page
 * boundary spans two pages: {@link #phys2} names the second, and a guard block on that page's list
 * drops it when the second page is written.
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
    /**
     * A straddling instruction's block: the guest-physical address its bytes continue at (the start
     * of the second page, as translated when it was decoded); -1 for a block within one page.
     */
    long phys2 = -1;
    /** A guard: the straddling block whose bytes on this guard's page it stands for; else null. */
    Block guarded;

    Block(long phys, int modeKey, Insn[] insns, int bytes) {
        this.phys = phys;
        this.modeKey = modeKey;
        this.insns = insns;
        this.bytes = bytes;
    }

    /** Valid, and for a guard, its straddling block still is: worth keeping on a page list. */
    boolean live() {
        return valid && (guarded == null || guarded.valid);
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
