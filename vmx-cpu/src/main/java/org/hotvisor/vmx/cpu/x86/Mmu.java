package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.X86Core.*;

import java.util.Arrays;

/**
 * The slow memory path: segment protection checks (SDM 3A 5.3-5.6), 32-bit and PAE paging with
 * accessed/dirty bits and #PF (SDM 3A 4.3, 4.4, 4.6, 4.7), the software TLB behind the core's fast
 * path, physical accesses to RAM, and EPT-violation exits for guest-physical addresses beyond RAM
 * (SDM 3C 28.2.1 Table 28-7) with the MMIO-completion protocol.
 */
final class Mmu {
    // access kinds
    static final int READ = 0, WRITE = 1, FETCH = 2;

    // page-table entry bits (SDM 3A 4.3 Tables 4-4..4-6, 4.4)
    static final long PTE_P = 1, PTE_RW = 1 << 1, PTE_US = 1 << 2, PTE_PWT = 1 << 3, PTE_PCD = 1 << 4,
            PTE_A = 1 << 5, PTE_D = 1 << 6, PTE_PS = 1 << 7, PTE_G = 1 << 8, PTE_XD = 1L << 63;
    /** Hotvisor's MAXPHYADDR (CPUID 80000008h is the VMM's to report consistently). */
    static final int MAXPHYADDR = 36;
    static final long PAE_ADDR_MASK = ((1L << MAXPHYADDR) - 1) & ~0xFFFL;
    /** CR3 bits that may be set in IA-32e mode (bits 63:MAXPHYADDR are reserved, SDM 3A 4.5.2). */
    static final long CR3_LONG_MODE_VALID = (1L << MAXPHYADDR) - 1;
    /** Reserved bits of PAE entries (bits 62:MAXPHYADDR), without XD. */
    static final long PAE_RSVD = ((1L << 63) - 1) & ~((1L << MAXPHYADDR) - 1);
    /** Reserved bits of 4-level paging entries (bits 51:MAXPHYADDR; 62:52 are ignored, SDM 3A 4.5.4 Tables 4-14..4-20). */
    static final long LM_RSVD = ((1L << 52) - 1) & ~((1L << MAXPHYADDR) - 1);
    /** Bits 29:13 of a PDPTE mapping a 1-GByte page and bits 20:13 of a PDE mapping a 2-MByte page are reserved. */
    static final long PAGE_1G_RSVD = 0x3FFF_E000L, PAGE_2M_RSVD = 0x1F_E000L;
    static final long PAGE_1G_MASK = (1L << 30) - 1, PAGE_2M_MASK = (1L << 21) - 1;

    // #PF error code (SDM 3A 4.7)
    static final int PFEC_P = 1, PFEC_W = 1 << 1, PFEC_U = 1 << 2, PFEC_RSVD = 1 << 3, PFEC_I = 1 << 4;

    // EPT-violation exit qualification (SDM 3C 28.2.1, Table 28-7)
    static final long EPTQ_READ = 1, EPTQ_WRITE = 1 << 1, EPTQ_FETCH = 1 << 2, EPTQ_LINEAR_VALID = 1 << 7,
            EPTQ_FINAL_TRANSLATION = 1 << 8;
    static final int EXIT_EPT_VIOLATION = 48;

    private final X86Core c;
    // two TLB sets, by privilege; the core's fast-path arrays point at the current one
    private final long[] supRd = new long[TLB_SIZE], supWr = new long[TLB_SIZE], supEx = new long[TLB_SIZE];
    private final long[] usrRd = new long[TLB_SIZE], usrWr = new long[TLB_SIZE], usrEx = new long[TLB_SIZE];
    private final long[] supAdd = new long[TLB_SIZE], usrAdd = new long[TLB_SIZE];
    /** Writable pages that hold decoded code: a write there checks the code cache's chunk bits first. */
    private final long[] supCodeWr = new long[TLB_SIZE], usrCodeWr = new long[TLB_SIZE];
    /** Every tag array, for flushes and INVLPG (one list: no array built per flush). */
    private final long[][] allTags = {supRd, supWr, supEx, usrRd, usrWr, usrEx, supCodeWr, usrCodeWr};
    private boolean userTlb;
    private boolean largePagesCached;
    // paging state the TLB was filled under
    private long seenCr0 = -1, seenCr3 = -1, seenCr4 = -1, seenEfer = -1;

    // MMIO completions: every access the VMM completed for the current instruction (an instruction may
    // make several, e.g. ENTER or a read-modify-write); dropped once the instruction retires
    static final int MAX_COMPLETIONS = 16;
    private final long[] doneGpa = new long[MAX_COMPLETIONS], doneValue = new long[MAX_COMPLETIONS];
    private final int[] doneSize = new int[MAX_COMPLETIONS];
    private final boolean[] doneWrite = new boolean[MAX_COMPLETIONS];
    private int doneCount;
    private long lastExitGpa;
    private int lastExitSize;
    private boolean lastExitWrite;

    // the last walk's result
    private long walkPhys;
    private boolean walkWritable, walkUser, walkExec, walkDirty, walkLarge;

    long tlbFlushes, walks, eptViolations;

    Mmu(X86Core c) {
        this.c = c;
        flushTlb();
        selectTlb(false);
    }

    // ---- TLB management ----

    void flushTlb() {
        for (long[] t : allTags) {
            Arrays.fill(t, -1L);
        }
        largePagesCached = false;
        tlbFlushes++;
        c.mapEpoch++;
    }

    private void selectTlb(boolean user) {
        userTlb = user;
        c.mapEpoch++;
        if (user) {
            c.tlbRd = usrRd;
            c.tlbWr = usrWr;
            c.tlbEx = usrEx;
            c.tlbAdd = usrAdd;
            c.tlbCodeWr = usrCodeWr;
        } else {
            c.tlbRd = supRd;
            c.tlbWr = supWr;
            c.tlbEx = supEx;
            c.tlbAdd = supAdd;
            c.tlbCodeWr = supCodeWr;
        }
    }

    /** The CPL may have changed: point the fast path at the matching TLB set. */
    void cplChanged() {
        boolean user = c.cpl == 3;
        if (user != userTlb) {
            selectTlb(user);
        }
    }

    /** Paging control state may have changed (VM entry, MOV CR0/CR3/CR4, WRMSR EFER). */
    void stateLoaded() {
        long pagingBits0 = c.cr0 & (CR0_PG | CR0_WP | CR0_PE);
        long pagingBits4 = c.cr4 & (CR4_PSE | CR4_PAE | CR4_PGE | CR4_SMEP | CR4_PCIDE);
        if (pagingBits0 != seenCr0 || c.cr3 != seenCr3 || pagingBits4 != seenCr4 || c.efer != seenEfer) {
            seenCr0 = pagingBits0;
            seenCr3 = c.cr3;
            seenCr4 = pagingBits4;
            seenEfer = c.efer;
            flushTlb();
        }
        cplChanged();
    }

    /** INVLPG (SDM 3A 4.10.4.1): drop the entry for one linear page (all, if large pages were cached). */
    void invalidatePage(long lin) {
        c.mapEpoch++;
        if (largePagesCached) {
            flushTlb();
            return;
        }
        long tag = lin & ~0xFFFL;
        int i = (int) (tag >>> 12) & TLB_MASK;
        for (long[] t : allTags) {
            if (t[i] == tag) {
                t[i] = -1;
            }
        }
    }

    /** A RAM page now holds decoded code: writes to it must take the slow path. */
    void codePageMarked(int physPage) {
        dropWriteEntries(supWr, supAdd, physPage);
        dropWriteEntries(usrWr, usrAdd, physPage);
    }

    private static void dropWriteEntries(long[] tags, long[] add, int physPage) {
        for (int i = 0; i < TLB_SIZE; i++) {
            long t = tags[i];
            if (t != -1 && (t + add[i]) >>> 12 == physPage) {
                tags[i] = -1;
            }
        }
    }

    private void fill(long lin, long phys) {
        if (phys >= c.ramSize || (phys | 0xFFF) >= c.ramSize) {
            return;   // MMIO is never on the fast path
        }
        long page = lin & ~0xFFFL;   // tags are page base addresses (see X86Core.read)
        int i = (int) (page >>> 12) & TLB_MASK;
        boolean user = userTlb;
        long[] rd = user ? usrRd : supRd, wr = user ? usrWr : supWr, ex = user ? usrEx : supEx;
        long[] add = user ? usrAdd : supAdd;
        add[i] = (phys & ~0xFFFL) - (lin & ~0xFFFL);
        boolean paging = (c.cr0 & CR0_PG) != 0;
        boolean readOk = !paging || !user || walkUser;
        rd[i] = readOk ? page : -1;
        boolean writeOk = !paging || (user ? walkUser && walkWritable : walkWritable || (c.cr0 & CR0_WP) == 0);
        writeOk &= !paging || walkDirty;
        boolean code = c.code.codePage[(int) (phys >>> 12)] != 0;
        wr[i] = writeOk && !code ? page : -1;
        (user ? usrCodeWr : supCodeWr)[i] = writeOk && code ? page : -1;
        boolean execOk = !paging || (walkExec && (user ? walkUser : !(walkUser && (c.cr4 & CR4_SMEP) != 0)));
        ex[i] = execOk ? page : -1;
        if (paging && walkLarge) {
            largePagesCached = true;
        }
    }

    // ---- translation ----

    /** Translates for an instruction fetch at the current CPL; fills the TLB. */
    long translateFetch(long lin) {
        long phys = translate(lin, FETCH, c.cpl == 3);
        fill(lin, phys);
        return phys;
    }

    /**
     * Linear to guest-physical (SDM 3A 4): page walk with A/D updates, or a #PF.
     *
     * @param user a user-mode access (CPL 3 and not an implicit supervisor access)
     */
    long translate(long lin, int access, boolean user) {
        lin = linear(lin);
        if ((c.cr0 & CR0_PG) == 0) {
            walkUser = walkWritable = walkExec = walkDirty = true;
            walkLarge = false;
            return lin & c.a20Mask;
        }
        walks++;
        if (c.longMode) {
            if (!canonical(lin)) {
                throw c.gp(0);   // SDM 3A 3.3.7.1: a non-canonical reference is #GP(0) (#SS(0) for SS, see segCheck)
            }
            return walk4(lin, access, user, true);
        }
        if ((c.cr4 & CR4_PAE) != 0) {
            return walkPae(lin, access, user, true);
        }
        return walk32(lin, access, user, true);
    }

    /** Translation without side effects for the VMM (-1 if not present or not writable). */
    long probe(long lin, boolean write) {
        if ((c.cr0 & CR0_PG) == 0) {
            return lin & c.a20Mask;
        }
        try {
            if ((c.efer & EFER_LMA) != 0) {
                return canonical(lin) ? walk4(lin, write ? WRITE : READ, false, false) : -1;
            }
            long p = (c.cr4 & CR4_PAE) != 0 ? walkPae(lin, write ? WRITE : READ, false, false)
                    : walk32(lin, write ? WRITE : READ, false, false);
            return p;
        } catch (GuestFault | VmExitSignal e) {
            return -1;
        }
    }

    private long walk32(long lin, int access, boolean user, boolean update) {
        long pdeAddr = ((c.cr3 & 0xFFFF_F000L) | ((lin >>> 22) << 2)) & c.a20Mask;
        long pde = pagingRead32(pdeAddr, lin);
        if ((pde & PTE_P) == 0) {
            throw pageFault(lin, access, user, 0);
        }
        if ((pde & PTE_PS) != 0 && (c.cr4 & CR4_PSE) != 0) {
            // 4-MByte page; PSE-36 supplies physical bits 35:32 from PDE bits 16:13 (SDM 3A 4.3)
            if ((pde & (1L << 21)) != 0) {
                throw pageFault(lin, access, user, PFEC_P | PFEC_RSVD);
            }
            long phys = (pde & 0xFFC0_0000L) | ((pde >>> 13) & 0xF) << 32 | (lin & 0x3F_FFFFL);
            checkRights(lin, access, user, (pde & PTE_RW) != 0, (pde & PTE_US) != 0, true);
            if (update) {
                long nv = pde | PTE_A | (access == WRITE ? PTE_D : 0);
                if (nv != pde) {
                    pagingWrite32(pdeAddr, nv);
                }
                walkDirty = (nv & PTE_D) != 0;
            }
            walkLarge = true;
            return phys & c.a20Mask;
        }
        long pteAddr = ((pde & 0xFFFF_F000L) | (((lin >>> 12) & 0x3FF) << 2)) & c.a20Mask;
        long pte = pagingRead32(pteAddr, lin);
        if ((pte & PTE_P) == 0) {
            throw pageFault(lin, access, user, 0);
        }
        checkRights(lin, access, user, (pde & pte & PTE_RW) != 0, (pde & pte & PTE_US) != 0, true);
        if (update) {
            if ((pde & PTE_A) == 0) {
                pagingWrite32(pdeAddr, pde | PTE_A);
            }
            long nv = pte | PTE_A | (access == WRITE ? PTE_D : 0);
            if (nv != pte) {
                pagingWrite32(pteAddr, nv);
            }
            walkDirty = (nv & PTE_D) != 0;
        }
        walkLarge = false;
        return ((pte & 0xFFFF_F000L) | (lin & 0xFFF)) & c.a20Mask;
    }

    private long walkPae(long lin, int access, boolean user, boolean update) {
        long pdpte = c.pdpte[(int) (lin >>> 30) & 3];
        if ((pdpte & PTE_P) == 0) {
            throw pageFault(lin, access, user, 0);
        }
        boolean nxe = (c.efer & EFER_NXE) != 0;
        long rsvd = PAE_RSVD | (nxe ? 0 : PTE_XD);
        long pdeAddr = ((pdpte & PAE_ADDR_MASK) | (((lin >>> 21) & 0x1FF) << 3)) & c.a20Mask;
        long pde = pagingRead64(pdeAddr, lin);
        if ((pde & PTE_P) == 0) {
            throw pageFault(lin, access, user, 0);
        }
        if ((pde & rsvd) != 0) {
            throw pageFault(lin, access, user, PFEC_P | PFEC_RSVD);
        }
        if ((pde & PTE_PS) != 0) {
            // 2-MByte page (SDM 3A 4.4.2); bits 20:13 are reserved
            if ((pde & 0x1F_E000L) != 0) {
                throw pageFault(lin, access, user, PFEC_P | PFEC_RSVD);
            }
            boolean xd = nxe && (pde & PTE_XD) != 0;
            checkRights(lin, access, user, (pde & PTE_RW) != 0, (pde & PTE_US) != 0, !xd);
            if (update) {
                long nv = pde | PTE_A | (access == WRITE ? PTE_D : 0);
                if (nv != pde) {
                    pagingWrite64(pdeAddr, nv);
                }
                walkDirty = (nv & PTE_D) != 0;
            }
            walkLarge = true;
            return ((pde & PAE_ADDR_MASK & ~0x1F_FFFFL) | (lin & 0x1F_FFFFL)) & c.a20Mask;
        }
        long pteAddr = ((pde & PAE_ADDR_MASK) | (((lin >>> 12) & 0x1FF) << 3)) & c.a20Mask;
        long pte = pagingRead64(pteAddr, lin);
        if ((pte & PTE_P) == 0) {
            throw pageFault(lin, access, user, 0);
        }
        if ((pte & rsvd) != 0) {
            throw pageFault(lin, access, user, PFEC_P | PFEC_RSVD);
        }
        boolean xd = nxe && ((pde | pte) & PTE_XD) != 0;
        checkRights(lin, access, user, (pde & pte & PTE_RW) != 0, (pde & pte & PTE_US) != 0, !xd);
        if (update) {
            if ((pde & PTE_A) == 0) {
                pagingWrite64(pdeAddr, pde | PTE_A);
            }
            long nv = pte | PTE_A | (access == WRITE ? PTE_D : 0);
            if (nv != pte) {
                pagingWrite64(pteAddr, nv);
            }
            walkDirty = (nv & PTE_D) != 0;
        }
        walkLarge = false;
        return ((pte & PAE_ADDR_MASK) | (lin & 0xFFF)) & c.a20Mask;
    }

    /** Linear addresses are 64 bits wide in IA-32e mode (implicit accesses included), else 32 (SDM 3A 3.3.7). */
    private long linear(long lin) {
        return c.longMode ? lin : lin & 0xFFFF_FFFFL;
    }

    /**
     * 4-level paging (SDM 3A 4.5): PML4E, PDPTE (1-GByte pages), PDE (2-MByte pages), PTE; R/W and
     * U/S are the AND over the levels, XD the OR (SDM 3A 4.6.1); accessed flags are set on every
     * level used and the dirty flag on the final one (4.8).
     */
    private long walk4(long lin, int access, boolean user, boolean update) {
        boolean nxe = (c.efer & EFER_NXE) != 0;
        long rsvd = LM_RSVD | (nxe ? 0 : PTE_XD);
        long a20 = c.a20Mask;
        long pml4eAddr = ((c.cr3 & PAE_ADDR_MASK) | (((lin >>> 39) & 0x1FF) << 3)) & a20;
        long pml4e = pagingRead64(pml4eAddr, lin);
        if ((pml4e & PTE_P) == 0) {
            throw pageFault(lin, access, user, 0);
        }
        if ((pml4e & (rsvd | PTE_PS)) != 0) {   // PML4E bit 7 is reserved (Table 4-15)
            throw pageFault(lin, access, user, PFEC_P | PFEC_RSVD);
        }
        long pdpteAddr = ((pml4e & PAE_ADDR_MASK) | (((lin >>> 30) & 0x1FF) << 3)) & a20;
        long pdpte = pagingRead64(pdpteAddr, lin);
        if ((pdpte & PTE_P) == 0) {
            throw pageFault(lin, access, user, 0);
        }
        boolean page1g = (pdpte & PTE_PS) != 0;
        if ((pdpte & rsvd) != 0 || page1g && (pdpte & PAGE_1G_RSVD) != 0) {
            throw pageFault(lin, access, user, PFEC_P | PFEC_RSVD);
        }
        long rights = pml4e & pdpte;
        long xd = (pml4e | pdpte) & PTE_XD;
        if (page1g) {
            checkRights(lin, access, user, (rights & PTE_RW) != 0, (rights & PTE_US) != 0, !nxe || xd == 0);
            if (update) {
                setAccessed(pml4eAddr, pml4e);
                walkDirty = setLeafFlags(pdpteAddr, pdpte, access);
            }
            walkLarge = true;
            return ((pdpte & PAE_ADDR_MASK & ~PAGE_1G_MASK) | (lin & PAGE_1G_MASK)) & a20;
        }
        long pdeAddr = ((pdpte & PAE_ADDR_MASK) | (((lin >>> 21) & 0x1FF) << 3)) & a20;
        long pde = pagingRead64(pdeAddr, lin);
        if ((pde & PTE_P) == 0) {
            throw pageFault(lin, access, user, 0);
        }
        boolean page2m = (pde & PTE_PS) != 0;
        if ((pde & rsvd) != 0 || page2m && (pde & PAGE_2M_RSVD) != 0) {
            throw pageFault(lin, access, user, PFEC_P | PFEC_RSVD);
        }
        rights &= pde;
        xd |= pde & PTE_XD;
        if (page2m) {
            checkRights(lin, access, user, (rights & PTE_RW) != 0, (rights & PTE_US) != 0, !nxe || xd == 0);
            if (update) {
                setAccessed(pml4eAddr, pml4e);
                setAccessed(pdpteAddr, pdpte);
                walkDirty = setLeafFlags(pdeAddr, pde, access);
            }
            walkLarge = true;
            return ((pde & PAE_ADDR_MASK & ~PAGE_2M_MASK) | (lin & PAGE_2M_MASK)) & a20;
        }
        long pteAddr = ((pde & PAE_ADDR_MASK) | (((lin >>> 12) & 0x1FF) << 3)) & a20;
        long pte = pagingRead64(pteAddr, lin);
        if ((pte & PTE_P) == 0) {
            throw pageFault(lin, access, user, 0);
        }
        if ((pte & rsvd) != 0) {
            throw pageFault(lin, access, user, PFEC_P | PFEC_RSVD);
        }
        rights &= pte;
        xd |= pte & PTE_XD;
        checkRights(lin, access, user, (rights & PTE_RW) != 0, (rights & PTE_US) != 0, !nxe || xd == 0);
        if (update) {
            setAccessed(pml4eAddr, pml4e);
            setAccessed(pdpteAddr, pdpte);
            setAccessed(pdeAddr, pde);
            walkDirty = setLeafFlags(pteAddr, pte, access);
        }
        walkLarge = false;
        return ((pte & PAE_ADDR_MASK) | (lin & 0xFFF)) & a20;
    }

    private void setAccessed(long addr, long entry) {
        if ((entry & PTE_A) == 0) {
            pagingWrite64(addr, entry | PTE_A);
        }
    }

    /** Sets A (and D for a write) in the entry mapping the page; returns whether it is dirty now. */
    private boolean setLeafFlags(long addr, long entry, int access) {
        long nv = entry | PTE_A | (access == WRITE ? PTE_D : 0);
        if (nv != entry) {
            pagingWrite64(addr, nv);
        }
        return (nv & PTE_D) != 0;
    }

    /** Access rights (SDM 3A 4.6): U/S, R/W with CR0.WP, XD, SMEP. */
    private void checkRights(long lin, int access, boolean user, boolean writable, boolean userPage, boolean exec) {
        walkWritable = writable;
        walkUser = userPage;
        walkExec = exec;
        boolean ok;
        if (user) {
            ok = userPage && (access != WRITE || writable) && (access != FETCH || exec);
        } else {
            ok = (access != WRITE || writable || (c.cr0 & CR0_WP) == 0)
                    && (access != FETCH || (exec && !(userPage && (c.cr4 & CR4_SMEP) != 0)));
        }
        if (!ok) {
            throw pageFault(lin, access, user, PFEC_P);
        }
    }

    private GuestFault pageFault(long lin, int access, boolean user, int bits) {
        int code = bits | (access == WRITE ? PFEC_W : 0) | (user ? PFEC_U : 0);
        // I/D is reported only when execute-disable or SMEP could apply (SDM 3A 4.7)
        if (access == FETCH && (((c.cr4 & CR4_PAE) != 0 && (c.efer & EFER_NXE) != 0) || (c.cr4 & CR4_SMEP) != 0)) {
            code |= PFEC_I;
        }
        c.events.faultAddress = lin;
        return c.fault(Events.PF, code);
    }

    private long pagingRead32(long gpa, long lin) {
        if (gpa + 4 > c.ramSize) {
            int k = completed(gpa, 4, false);
            if (k >= 0) {
                return doneValue[k] & 0xFFFF_FFFFL;
            }
            throw eptViolation(gpa, lin, EPTQ_READ, false, 4, 0);
        }
        return (int) VH32.get(c.ram, (int) gpa) & 0xFFFF_FFFFL;
    }

    private long pagingRead64(long gpa, long lin) {
        if (gpa + 8 > c.ramSize) {
            int k = completed(gpa, 8, false);
            if (k >= 0) {
                return doneValue[k];
            }
            throw eptViolation(gpa, lin, EPTQ_READ, false, 8, 0);
        }
        return (long) VH64.get(c.ram, (int) gpa);
    }

    private void pagingWrite32(long gpa, long v) {
        if (gpa + 4 > c.ramSize) {
            return;   // accessed/dirty update of a completed (non-RAM) entry: nowhere to write it
        }
        dropCode(gpa);
        VH32.set(c.ram, (int) gpa, (int) v);
    }

    private void pagingWrite64(long gpa, long v) {
        if (gpa + 8 > c.ramSize) {
            return;
        }
        dropCode(gpa);
        VH64.set(c.ram, (int) gpa, v);
    }

    private void dropCode(long gpa) {
        int page = (int) (gpa >>> 12);
        if (c.code.codePage[page] != 0 && c.code.invalidateRange(gpa, 8)) {
            c.smc = true;
        }
    }

    // ---- segment checks (SDM 3A 5.3, 5.6) ----

    /** Checks a data access through segment {@code seg}; returns the linear address. */
    long segCheck(int seg, long off, int size, boolean write) {
        if (c.mode64) {
            // SDM 3A 5.3.1: no segment limit or type checks in 64-bit mode, only the canonical check
            long lin = c.segBase[seg] + off;
            checkCanonical(lin, size, seg);
            return lin;
        }
        Segment s = c.segments[seg];
        long limit = s.limit & 0xFFFF_FFFFL;
        long last = off + size - 1;
        if (!c.protectedMode || c.v86) {
            if (last > limit) {
                throw segFault(seg);
            }
            return (c.segBase[seg] + off) & 0xFFFF_FFFFL;
        }
        int ar = s.accessRights;
        if ((ar & Segment.AR_UNUSABLE) != 0 || (ar & Segment.AR_P) == 0) {
            throw segFault(seg);
        }
        boolean codeSeg = (ar & Segment.AR_CODE) != 0;
        if (write) {
            if (codeSeg || (ar & Segment.AR_WRITABLE_OR_READABLE) == 0) {
                throw segFault(seg);
            }
        } else if (codeSeg && (ar & Segment.AR_WRITABLE_OR_READABLE) == 0) {
            throw segFault(seg);
        }
        if (!codeSeg && (ar & Segment.AR_EXPAND_DOWN_OR_CONFORMING) != 0) {
            long upper = (ar & Segment.AR_DB) != 0 ? 0xFFFF_FFFFL : 0xFFFF;
            if (off <= limit || last > upper) {
                throw segFault(seg);
            }
        } else if (last > limit) {
            throw segFault(seg);
        }
        return (c.segBase[seg] + off) & 0xFFFF_FFFFL;
    }

    /** SDM 3A 3.3.7.1: a non-canonical data reference is #SS(0) through SS, else #GP(0). */
    void checkCanonical(long lin, int size, int seg) {
        if (!canonical(lin) || !canonical(lin + size - 1)) {
            throw seg == SS ? c.fault(Events.SS, 0) : c.gp(0);
        }
    }

    private GuestFault segFault(int seg) {
        return seg == SS ? c.fault(Events.SS, 0) : c.gp(0);
    }

    // ---- slow data paths ----

    long readSlow(int seg, long off, int size) {
        long lin = segCheck(seg, off, size, false);
        watch(lin, size, false);
        return readLinear(lin, size, seg);
    }

    void writeSlow(int seg, long off, int size, long v) {
        long lin = segCheck(seg, off, size, true);
        watch(lin, size, true);
        writeLinear(lin, size, v, seg);
    }

    /** #AC for misaligned accesses when alignment checking is on; data breakpoints. */
    private void watch(long lin, int size, boolean write) {
        if (c.alignmentCheck && size > 1 && (lin & (size - 1)) != 0) {
            throw c.fault(Events.AC, 0);
        }
        if (c.slowDataPath) {
            c.debug.dataAccess(lin, size, write);
        }
    }

    /** For read-modify-write: fault now if the later write would fault. */
    void checkWritableSlow(int seg, long off, int size) {
        long lin = segCheck(seg, off, size, true);
        boolean user = c.cpl == 3;
        translate(lin, WRITE, user);
        long end = linear(lin + size - 1);
        if ((end >>> 12) != (lin >>> 12)) {
            translate(end, WRITE, user);
        }
    }

    long readLinear(long lin, int size, int seg) {
        if (c.mode64) {
            checkCanonical(lin, size, seg);
        }
        return readLinear(lin, size, c.cpl == 3);
    }

    /** Reads through paging; {@code user} false for implicit supervisor accesses (descriptor tables). */
    long readLinear(long lin, int size, boolean user) {
        lin = linear(lin);
        if ((lin & 0xFFF) + size > 0x1000) {
            // crosses a page: translate both pages before reading (SDM 3A 4.7 faults are precise)
            long v = 0;
            long p0 = translate(lin, READ, user);
            long lin2 = linear(lin + size - 1);
            long p1 = translate(lin2 & ~0xFFFL, READ, user);
            int first = (int) (0x1000 - (lin & 0xFFF));
            for (int k = 0; k < size; k++) {
                long pa = k < first ? p0 + k : p1 + (k - first);
                v |= physRead(pa, 1, linear(lin + k), false) << (8 * k);
            }
            return v;
        }
        long phys = translate(lin, READ, user);
        if (user == (c.cpl == 3)) {
            fill(lin, phys);
        }
        return physRead(phys, size, lin, false);
    }

    void writeLinear(long lin, int size, long v, int seg) {
        if (c.mode64) {
            checkCanonical(lin, size, seg);
        }
        writeLinear(lin, size, v, c.cpl == 3);
    }

    void writeLinear(long lin, int size, long v, boolean user) {
        lin = linear(lin);
        if ((lin & 0xFFF) + size > 0x1000) {
            long p0 = translate(lin, WRITE, user);
            long lin2 = linear(lin + size - 1);
            long p1 = translate(lin2 & ~0xFFFL, WRITE, user);
            int first = (int) (0x1000 - (lin & 0xFFF));
            for (int k = 0; k < size; k++) {
                long pa = k < first ? p0 + k : p1 + (k - first);
                physWrite(pa, 1, (v >>> (8 * k)) & 0xFF, linear(lin + k));
            }
            return;
        }
        long phys = translate(lin, WRITE, user);
        physWrite(phys, size, v, lin);
        if (user == (c.cpl == 3)) {
            fill(lin, phys);
        }
    }

    /** Physical read of {@code size} bytes within one page: RAM, a completed MMIO read, or an EPT violation. */
    long physRead(long gpa, int size, long lin, boolean fetch) {
        if (gpa + size <= c.ramSize) {
            int p = (int) gpa;
            return switch (size) {
                case 1 -> c.ram[p] & 0xFFL;
                case 2 -> (short) VH16.get(c.ram, p) & 0xFFFFL;
                case 4 -> (int) VH32.get(c.ram, p) & 0xFFFF_FFFFL;
                default -> (long) VH64.get(c.ram, p);
            };
        }
        int k = completed(gpa, size, false);
        if (k >= 0 && !fetch) {
            return doneValue[k] & (size >= 8 ? -1L : (1L << (8 * size)) - 1);
        }
        throw eptViolation(gpa, lin, fetch ? EPTQ_FETCH : EPTQ_READ, true, size, 0);
    }

    void physWrite(long gpa, int size, long v, long lin) {
        if (gpa + size <= c.ramSize) {
            int p = (int) gpa;
            int page = p >>> 12;
            if ((c.code.codePage[page] | c.code.codePage[(p + size - 1) >>> 12]) != 0 && c.code.invalidateRange(gpa, size)) {
                c.smc = true;   // self-modifying code: the blocks it wrote are gone; leave this one
            }
            switch (size) {
                case 1 -> c.ram[p] = (byte) v;
                case 2 -> VH16.set(c.ram, p, (short) v);
                case 4 -> VH32.set(c.ram, p, (int) v);
                default -> VH64.set(c.ram, p, v);
            }
            return;
        }
        if (completed(gpa, size, true) >= 0) {
            return;
        }
        throw eptViolation(gpa, lin, EPTQ_WRITE, true, size, v);
    }

    int fetchPhysByte(long phys, long lin) {
        return (int) physRead(phys, 1, lin, true);
    }

    VmExitSignal eptViolationFetch(long phys, long lin) {
        return eptViolation(phys, lin, EPTQ_FETCH, true, 0, 0);
    }

    /** EPT violation for an unmapped guest-physical address (SDM 3C 28.2.1 Table 28-7). */
    VmExitSignal eptViolation(long gpa, long lin, long accessBits, boolean finalTranslation, int size, long data) {
        eptViolations++;
        ExitInfo e = c.exit;
        e.qualification = accessBits | EPTQ_LINEAR_VALID | (finalTranslation ? EPTQ_FINAL_TRANSLATION : 0)
                | c.events.nmiUnblockingBit();
        e.guestPhysicalAddress = gpa;
        e.guestLinearAddress = lin;
        boolean data2 = (accessBits & EPTQ_FETCH) == 0 && finalTranslation;
        e.mmioSize = data2 ? size : 0;
        e.mmioData = (accessBits & EPTQ_WRITE) != 0 ? data & (size >= 8 ? -1L : (1L << (8 * size)) - 1) : 0;
        lastExitGpa = gpa;
        lastExitSize = size;
        lastExitWrite = (accessBits & EPTQ_WRITE) != 0;
        c.events.exitDuringDelivery();
        return c.vmExit(EXIT_EPT_VIOLATION);
    }

    // ---- MMIO completion ----

    private int completed(long gpa, int size, boolean write) {
        for (int k = 0; k < doneCount; k++) {
            if (doneGpa[k] == gpa && doneSize[k] == size && doneWrite[k] == write) {
                return k;
            }
        }
        return -1;
    }

    private void addCompletion(boolean write, long value) {
        int k = doneCount < MAX_COMPLETIONS ? doneCount++ : MAX_COMPLETIONS - 1;
        doneGpa[k] = lastExitGpa;
        doneSize[k] = lastExitSize;
        doneWrite[k] = write;
        doneValue[k] = value;
        c.singleStep = true;
    }

    void completeRead(long value) {
        addCompletion(false, value);
    }

    void completeWrite() {
        addCompletion(true, 0);
    }

    boolean completionPending() {
        return doneCount > 0;
    }

    /** The instruction retired: its completions are used up. */
    void instructionDone() {
        doneCount = 0;
    }

    boolean lastExitWasWrite() {
        return lastExitWrite;
    }
}
