package org.hotvisor.vmx.cpu.x86;

/**
 * Decoded blocks by guest-physical address: a direct-mapped table for lookup and, per RAM page,
 * a list of the blocks decoded from it plus a "holds code" marker that the write path checks.
 */
final class CodeCache {
    private static final int TABLE_BITS = 14;
    private static final int TABLE_MASK = (1 << TABLE_BITS) - 1;

    /** Bytes per bit of a code page's {@link #codeChunks}: one long covers 512 bytes. */
    private static final int CHUNK_SHIFT = 3;
    private static final int CHUNK_WORDS = 4096 >>> CHUNK_SHIFT >>> 6;

    private final Block[] table = new Block[1 << TABLE_BITS];
    private final Block[] pageBlocks;
    /** Nonzero for RAM pages that hold decoded code: writes there take the slow path. */
    final byte[] codePage;
    /**
     * Per code page (null otherwise): a bit per 8 bytes that some block on the page's list covers.
     * A write to a code page whose bytes no block covers (a boot sector's variables beside its
     * code) then costs a bit test, not a walk of the page's blocks. The bits may cover dropped
     * blocks too (they are recomputed at each walk), never miss a live one.
     */
    private final long[][] codeChunks;
    long blocksDecoded, pagesInvalidated, rangesInvalidated;
    /** Writes to code pages that had to walk the page's blocks (tests: most data writes must not). */
    long pageWalks;
    /** Writes to code pages that took the slow path here (tests: those beside the code take the TLB's). */
    long rangeChecks;

    CodeCache(int ramPages) {
        pageBlocks = new Block[ramPages];
        codePage = new byte[ramPages];
        codeChunks = new long[ramPages][];
    }

    static int slot(long phys, int modeKey) {
        long h = phys * 0x9E3779B97F4A7C15L + modeKey;
        return (int) (h >>> (64 - TABLE_BITS)) & TABLE_MASK;
    }

    Block lookup(long phys, int modeKey) {
        Block b = table[slot(phys, modeKey)];
        if (b != null && b.phys == phys && b.modeKey == modeKey) {
            return b;
        }
        return null;
    }

    /** Adds a block; returns true if its page was not marked as code before. */
    boolean insert(Block b) {
        int s = slot(b.phys, b.modeKey);
        Block old = table[s];
        if (old != null) {
            old.invalidate();   // stays on its page list until that page is pruned
        }
        table[s] = b;
        blocksDecoded++;
        return addToPage(b);
    }

    /**
     * Puts a guard for straddling block {@code b} on the list of its second page ({@code b.phys2}),
     * so that a write to the bytes it has there drops it; returns true if that page was not marked
     * as code before.
     */
    boolean insertGuard(Block b, int bytesOnSecondPage) {
        Block guard = new Block(b.phys2, b.modeKey, NO_INSNS, bytesOnSecondPage);
        guard.guarded = b;
        return addToPage(guard);
    }

    private static final Insn[] NO_INSNS = new Insn[0];

    private boolean addToPage(Block b) {
        int page = (int) (b.phys >>> 12);
        // unlink dead (evicted) blocks so the list stays as long as the live code on the page
        Block live = null;
        for (Block x = pageBlocks[page]; x != null; ) {
            Block next = x.nextOnPage;
            if (x.live()) {
                x.nextOnPage = live;
                live = x;
            }
            x = next;
        }
        b.nextOnPage = live;
        pageBlocks[page] = b;
        long[] chunks = codeChunks[page];
        if (chunks == null) {
            chunks = codeChunks[page] = new long[CHUNK_WORDS];
        }
        markChunks(chunks, b);
        boolean fresh = codePage[page] == 0;
        codePage[page] = 1;
        return fresh;
    }

    /** Sets the bits of the chunks {@code b}'s bytes on its own page cover. */
    private static void markChunks(long[] chunks, Block b) {
        int first = (int) (b.phys & 0xFFF);
        int last = (int) Math.min(0xFFF, first + Math.max(b.bytes, 1) - 1L); // a straddler's rest has a guard
        for (int c = first >>> CHUNK_SHIFT; c <= last >>> CHUNK_SHIFT; c++) {
            chunks[c >>> 6] |= 1L << c;
        }
    }

    /**
     * Whether a block may cover a byte of {@code [gpa, gpa + size)}, a range within one page (false
     * on a page without code).
     */
    boolean mayHoldCode(long gpa, int size) {
        int page = (int) (gpa >>> 12);
        int from = (int) (gpa & 0xFFF);
        return page >= 0 && page < codeChunks.length && mayHoldCode(page, from, from + size - 1);
    }

    /** Whether a block on page {@code page} may cover a byte of {@code [from, to]} (page offsets). */
    private boolean mayHoldCode(int page, int from, int to) {
        long[] chunks = codeChunks[page];
        if (chunks == null) {
            return false;
        }
        for (int c = from >>> CHUNK_SHIFT; c <= to >>> CHUNK_SHIFT; c++) {
            if ((chunks[c >>> 6] & (1L << c)) != 0) {
                return true;
            }
        }
        return false;
    }

    /** Drops {@code b} from the table and invalidates it, and the straddling block it guards. */
    private void drop(Block b) {
        unlist(b);
        if (b.guarded != null) {
            unlist(b.guarded);
        }
    }

    private void unlist(Block b) {
        int s = slot(b.phys, b.modeKey);
        if (table[s] == b) {
            table[s] = null;
        }
        b.invalidate();
    }

    /** Drops every block decoded from RAM page {@code page}. */
    void invalidatePage(int page) {
        if (page < 0 || page >= codePage.length || codePage[page] == 0) {
            return;
        }
        for (Block b = pageBlocks[page]; b != null; b = b.nextOnPage) {
            if (b.live()) {
                drop(b);
            }
        }
        pageBlocks[page] = null;
        codeChunks[page] = null;
        codePage[page] = 0;
        pagesInvalidated++;
    }

    /**
     * A guest write to {@code [gpa, gpa + size)} on code pages: drops only the blocks whose bytes
     * it overlaps, so data that shares a page with code (a boot sector's variables) does not throw
     * away, and recompile, every block of the page on every store. Returns whether any was dropped.
     */
    boolean invalidateRange(long gpa, int size) {
        rangeChecks++;
        boolean dropped = false;
        long end = gpa + size;
        for (long page = gpa >>> 12; page <= (end - 1) >>> 12; page++) {
            int pg = (int) page;
            if (pg < 0 || pg >= codePage.length || codePage[pg] == 0) {
                continue;
            }
            long pageStart = page << 12;
            int from = (int) (Math.max(gpa, pageStart) - pageStart);
            int to = (int) (Math.min(end, pageStart + 4096) - 1 - pageStart);
            if (!mayHoldCode(pg, from, to)) {
                continue; // data beside code: no block has bytes there
            }
            pageWalks++;
            Block live = null;
            long[] chunks = codeChunks[pg];
            java.util.Arrays.fill(chunks, 0);
            for (Block b = pageBlocks[pg]; b != null; ) {
                Block next = b.nextOnPage;
                if (b.live() && b.phys < end && gpa < b.phys + b.bytes) {
                    drop(b);
                    dropped = true;
                } else if (b.live()) {
                    b.nextOnPage = live;
                    live = b;
                    markChunks(chunks, b);
                }
                b = next;
            }
            pageBlocks[pg] = live;
            if (live == null) {
                codeChunks[pg] = null;
                codePage[pg] = 0;
                pagesInvalidated++;
            }
        }
        if (dropped) {
            rangesInvalidated++;
        }
        return dropped;
    }

    void invalidateAll() {
        for (int p = 0; p < codePage.length; p++) {
            if (codePage[p] != 0) {
                invalidatePage(p);
            }
        }
    }
}
