package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.X86Core.*;

/**
 * Segment descriptors: reading them from the GDT/LDT, the protection checks of segment-register
 * loads (SDM 3A 5.4-5.8; SDM 2 MOV, POP, LDS), and loading the descriptor caches.
 * Descriptor-table accesses are implicit supervisor accesses (SDM 3A 4.6).
 */
final class Segments {
    // descriptor type values (SDM 3A 3.5 Table 3-2, system types)
    static final int SYS_TSS16_AVAIL = 1, SYS_LDT = 2, SYS_TSS16_BUSY = 3, SYS_CALL_GATE16 = 4, SYS_TASK_GATE = 5,
            SYS_INT_GATE16 = 6, SYS_TRAP_GATE16 = 7, SYS_TSS32_AVAIL = 9, SYS_TSS32_BUSY = 11, SYS_CALL_GATE32 = 12,
            SYS_INT_GATE32 = 14, SYS_TRAP_GATE32 = 15;
    /** Selector bits. */
    static final int SEL_RPL = 3, SEL_TI = 4, SEL_INDEX = ~7;
    /** Access rights of a real-mode/virtual-8086 data segment: present, S, read/write, accessed. */
    static final int AR_REAL_DATA = Segment.AR_P | Segment.AR_S | 3;
    /** Descriptor bits 53 (L, 64-bit code) and 54 (D/B) (SDM 3A 3.4.5). */
    static final long DESC_L = 1L << 53, DESC_DB = 1L << 54;

    private final X86Core c;

    Segments(X86Core c) {
        this.c = c;
    }

    // ---- descriptor fields ----

    static int accessRights(long d) {
        return (int) (d >>> 40) & 0xF0FF;
    }

    static long base(long d) {
        return ((d >>> 16) & 0xFF_FFFFL) | ((d >>> 32) & 0xFF00_0000L);
    }

    static int limit(long d) {
        int l = (int) (d & 0xFFFF) | (int) ((d >>> 32) & 0xF_0000);
        if ((d & (1L << 55)) != 0) {
            l = (l << 12) | 0xFFF;
        }
        return l;
    }

    static int dpl(long d) {
        return (int) (d >>> 45) & 3;
    }

    static boolean present(long d) {
        return (d & (1L << 47)) != 0;
    }

    /** S bit: code or data (not system). */
    static boolean codeOrData(long d) {
        return (d & (1L << 44)) != 0;
    }

    static int type(long d) {
        return (int) (d >>> 40) & 0xF;
    }

    static boolean isCode(long d) {
        return codeOrData(d) && (type(d) & 8) != 0;
    }

    static boolean conforming(long d) {
        return (type(d) & 4) != 0;
    }

    /** Readable code or writable data bit. */
    static boolean rwBit(long d) {
        return (type(d) & 2) != 0;
    }

    // ---- descriptor tables ----

    /** Linear address of the descriptor for {@code sel}, or -1 if beyond the table limit. */
    long descriptorAddress(int sel) {
        int index = sel & SEL_INDEX;
        if ((sel & SEL_TI) != 0) {
            Segment l = c.ldtr;
            if ((l.accessRights & Segment.AR_UNUSABLE) != 0 || index + 7L > (l.limit & 0xFFFF_FFFFL)) {
                return -1;
            }
            return (l.base + index) & tableMask();
        }
        if (index + 7L > (c.gdtrLimit & 0xFFFFL)) {
            return -1;
        }
        return (c.gdtrBase + index) & tableMask();
    }

    /** Descriptor-table bases are 64-bit linear addresses in IA-32e mode. */
    private long tableMask() {
        return c.longMode ? -1L : 0xFFFF_FFFFL;
    }

    /** Reads the descriptor; #GP(selector) if it is beyond the table (SDM 3A 5.4). */
    long readDescriptor(int sel) {
        long a = descriptorAddress(sel);
        if (a < 0) {
            throw c.gp(sel & 0xFFFC);
        }
        return c.mmu.readLinear(a, 8, false);
    }

    /** Reads a descriptor for an event (error code EXT bit); returns 0 and sets ok=false if out of range. */
    long readDescriptorOrFault(int sel, int ext) {
        long a = descriptorAddress(sel);
        if (a < 0) {
            throw c.gp((sel & 0xFFFC) | ext);
        }
        return c.mmu.readLinear(a, 8, false);
    }

    /**
     * Bits 63:32 of the base of a 16-byte system descriptor (LDT, TSS, call gate) in IA-32e mode
     * (SDM 3A 7.2.3, Figure 7-4): the low half of the second eight bytes, shifted into place.
     */
    long systemDescriptorHigh(int sel) {
        long a = descriptorAddress(sel);
        long a2 = descriptorAddress((sel & 0xFFF8) + 8 | (sel & SEL_TI));
        if (a < 0 || a2 < 0) {
            throw c.gp(sel & 0xFFFC);
        }
        return (c.mmu.readLinear(a2, 8, false) & 0xFFFF_FFFFL) << 32;
    }

    void writeDescriptorHigh(int sel, long d) {
        long a = descriptorAddress(sel);
        if (a >= 0) {
            c.mmu.writeLinear(a + 4, 4, d >>> 32, false);
        }
    }

    /** Sets the accessed bit in memory if clear (SDM 3A 3.4.5.1). */
    long setAccessed(int sel, long d) {
        if ((d & (1L << 40)) == 0) {
            d |= 1L << 40;
            writeDescriptorHigh(sel, d);
        }
        return d;
    }

    // ---- loading caches ----

    void loadCache(int seg, int sel, long d) {
        Segment s = c.segments[seg];
        s.selector = sel & 0xFFFF;
        s.base = base(d);
        s.limit = limit(d);
        s.accessRights = accessRights(d);
        refresh(seg);
    }

    void loadNull(int seg, int sel) {
        Segment s = c.segments[seg];
        s.selector = sel & 0xFFFF;
        s.base = 0;
        s.limit = 0;
        s.accessRights = Segment.AR_UNUSABLE;
        refresh(seg);
    }

    /** Real mode or virtual-8086 mode: base = selector * 16 (SDM 3A 20.1.1). */
    void loadReal(int seg, int sel) {
        Segment s = c.segments[seg];
        s.selector = sel & 0xFFFF;
        s.base = (sel & 0xFFFFL) << 4;
        if (c.v86) {
            s.limit = 0xFFFF;
            s.accessRights = AR_REAL_DATA | (3 << Segment.AR_DPL_SHIFT) | (seg == CS ? Segment.AR_CODE : 0);
        } else if ((s.accessRights & Segment.AR_UNUSABLE) != 0 || (s.accessRights & Segment.AR_P) == 0) {
            // the cached limit and attributes survive real-mode loads (big real mode), but must be usable
            s.limit = 0xFFFF;
            s.accessRights = AR_REAL_DATA | (seg == CS ? Segment.AR_CODE : 0);
        }
        refresh(seg);
    }

    private void refresh(int seg) {
        if (seg < 6) {
            c.refreshSegment(seg);
            if (seg == SS || seg == CS) {
                c.updateMode();
                c.mmu.cplChanged();
            }
        }
    }

    /** MOV/POP/LxS to a data segment register or SS (SDM 2 MOV "Operation"). */
    void loadDataSegment(int seg, int sel) {
        sel &= 0xFFFF;
        if (!c.protectedMode || c.v86) {
            loadReal(seg, sel);
            return;
        }
        int cpl = c.cpl;
        if (seg == SS) {
            if ((sel & 0xFFFC) == 0) {
                // SDM 2 MOV: 64-bit mode allows a null SS at CPL 0-2 when RPL = CPL
                if (c.mode64 && cpl != 3 && (sel & SEL_RPL) == cpl) {
                    c.ss.load(sel, 0, 0, Segment.AR_UNUSABLE | cpl << Segment.AR_DPL_SHIFT);
                    refresh(SS);
                    return;
                }
                throw c.gp(0);
            }
            long d = readDescriptor(sel);
            if ((sel & SEL_RPL) != cpl || !codeOrData(d) || isCode(d) || !rwBit(d) || dpl(d) != cpl) {
                throw c.gp(sel & 0xFFFC);
            }
            if (!present(d)) {
                throw c.fault(Events.SS, sel & 0xFFFC);
            }
            d = setAccessed(sel, d);
            loadCache(SS, sel, d);
            return;
        }
        if ((sel & 0xFFFC) == 0) {
            loadNull(seg, sel);
            return;
        }
        long d = readDescriptor(sel);
        if (!codeOrData(d) || (isCode(d) && !rwBit(d))) {
            throw c.gp(sel & 0xFFFC);
        }
        if (!isCode(d) || !conforming(d)) {
            if ((sel & SEL_RPL) > dpl(d) || cpl > dpl(d)) {
                throw c.gp(sel & 0xFFFC);
            }
        }
        if (!present(d)) {
            throw c.fault(Events.NP, sel & 0xFFFC);
        }
        d = setAccessed(sel, d);
        loadCache(seg, sel, d);
    }

    /**
     * After a return to an outer privilege level: data segment registers the new CPL may not use
     * become null (SDM 2 RET/IRET "validate segment registers").
     */
    void nullifyInaccessible() {
        int[] segsToCheck = {ES, DS, FS, GS};
        for (int seg : segsToCheck) {
            Segment s = c.segments[seg];
            int ar = s.accessRights;
            if ((ar & Segment.AR_UNUSABLE) != 0) {
                continue;
            }
            boolean conformingCode = (ar & Segment.AR_CODE) != 0 && (ar & Segment.AR_EXPAND_DOWN_OR_CONFORMING) != 0;
            int dpl = (ar >>> Segment.AR_DPL_SHIFT) & 3;
            if (!conformingCode && dpl < c.cpl) {
                loadNull(seg, 0);
            }
        }
    }
}
