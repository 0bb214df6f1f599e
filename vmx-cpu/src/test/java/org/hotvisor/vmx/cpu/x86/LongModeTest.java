package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.Guest.hex;
import static org.hotvisor.vmx.cpu.x86.X86Core.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * IA-32e mode (SDM 3A 2.2, 9.8.5): the switch from 32-bit protected mode, 4-level paging with
 * 1-GByte/2-MByte/4-KByte pages and execute-disable, 64-bit decoding (REX, RIP-relative,
 * imm64, moffs64, MOVSXD, zero extension), canonical checks, 16-byte IDT gates with IST and
 * IRETQ, SYSCALL/SYSRET, compatibility mode, and the opcodes 64-bit mode makes invalid.
 * Each guest runs interpreted and with hot blocks compiled.
 */
class LongModeTest {
    static final int EXIT_EXCEPTION = 0, EXIT_HLT = 12;
    static final long P = 1, RW = 2, US = 4, A = 0x20, D = 0x40, PS = 0x80, XD = 1L << 63;
    static final int PML4 = 0x200000, PDPT = 0x201000, PD = 0x202000, PT = 0x203000;
    static final int CODE = 0x100000;
    // GDT selectors of long64(): 64-bit code/data at ring 0, compatibility code, ring-3 segments, 64-bit TSS
    static final int SEL_CODE64 = 0x08, SEL_DATA = 0x10, SEL_CODE32 = 0x18, SEL_USER_CODE32 = 0x20,
            SEL_USER_DATA = 0x28, SEL_USER_CODE64 = 0x30, SEL_TSS64 = 0x40;
    static final int TSS = 0x3000, IST1_TOP = 0x8000, RSP0_TOP = 0xA000;
    static final int PROC_USE_MSR_BITMAPS = 1 << 28;

    // switch.asm (32-bit, org 0x100000): PAE, CR3, EFER.LME|NXE, CR0.PG, jmp 0x30:long64; then in 64-bit mode:
    //   mov rax, 0x123456789abcdef0 / mov rbx, rax / shr rbx, 32 / lea rcx, [rel data] / mov rdx, [rcx]
    //   mov r8, [rel data] / push r8 / pop r9 / movsxd r10, dword [rel negv] / mov r11, rax / mov r11d, -1
    //   mov r12, -1 / add r12, 1 / setc r13b / mov r14, 1 << 62 / imul r14, r14, 4 / seto sil
    //   mov r15, rsp / hlt / data: dq 0x1122334455667788 / negv: dd -5
    static final byte[] SWITCH = hex("0f20e083c8200f22e0b8000020000f22d8b9800000c00f320d000900000f300f20c00d00000080"
            + "0f22c0ea31001000300048b8f0debc9a785634124889c348c1eb20488d0d43000000488b114c8b0539000000415041594c631536"
            + "0000004989c341bbffffffff49c7c4ffffffff4983c401410f92c549be00000000000000404d6bf604400f90c64989e7f48877665544"
            + "332211fbffffff");

    // paging.asm (64-bit): mov rax, [moffs64 0x40300000] / mov rdx, rax / mov rax, [0x40100000]
    //   mov rbx, [0x800000] / mov dword [0x800010], 0xabcd / mov rcx, 0x801000 / jmp rcx  (XD page)
    static final byte[] PAGING = hex("48a100003040000000004889c2488b042500001040488b1c2500008000c7042510008000cdab"
            + "0000b900108000ffe1");
    // canon.asm: mov rax, 0x0000800000000000 / mov rbx, [rax]
    static final byte[] NON_CANONICAL = hex("48b80000000000800000488b18");
    // canonss.asm: mov rsp, 0x0000800000000008 / push rax
    static final byte[] NON_CANONICAL_STACK = hex("48bc080000000080000050");
    // compat.asm: jmp dword far [rel farptr] (m16:32 -> 0x18:compat32) / compat32: inc eax / mov ebx, esp
    //   jmp 0x08:back64 / back64: db 0x40 / inc rax / hlt / farptr: dd compat32, dw 0x18
    static final byte[] COMPAT = hex("ff2d0f0000004089e3ea1000100008004048ffc0f4060010001800");
    // idt.asm (org 0x110000): int 0x80 through an IST gate, IRETQ; SYSRET to ring 3, SYSCALL back (see the test)
    static final int IDT_CODE = 0x110000, IDT_HANDLER = 0x110066, SYSCALL_RETURN = 0x11005E;
    static final byte[] IDT_PROGRAM = hex("bc08900000b877000000cd804889c3b9810000c031c0ba080020000f30b9820000c048b85f00"
            + "1100000000004889c248c1ea200f30b9840000c0b80002000031d20f3048b9560011000000000041bb02020000480f0741bc55"
            + "0000000f05f44989cd4d89def44989e04c8b4c241848ffc048cf");

    /** Identity map of 0-16 MiB (2-MByte pages, user), 1 GiB-2 GiB -> 0 (a 1-GByte page), 4-KByte pages at 8 MiB. */
    private static void pageTables(Guest g) {
        g.putLong(PML4, PDPT | P | RW | US);
        g.putLong(PDPT, PD | P | RW | US);
        g.putLong(PDPT + 8, P | RW | PS);                       // 1-GByte page: linear 1 GiB -> physical 0
        for (int i = 0; i < 8; i++) {
            g.putLong(PD + 8 * i, ((long) i << 21) | P | RW | US | PS);
        }
        g.putLong(PD + 8 * 4, PT | P | RW | US);               // 8 MiB: 4-KByte pages
        g.putLong(PT, 0x300000 | P | RW);                      // 0x800000 -> 0x300000
        g.putLong(PT + 8, 0x301000 | P | RW | XD);             // 0x801000: execute-disable
    }

    private static void gdt64(Guest g) {
        g.descriptor(1, 0, 0xFFFFF, 0x9A, 0xA);   // 64-bit code, DPL 0 (L = 1, D = 0)
        g.descriptor(2, 0, 0xFFFFF, 0x92, 0xC);
        g.descriptor(3, 0, 0xFFFFF, 0x9A, 0xC);   // 32-bit code: compatibility mode
        g.descriptor(4, 0, 0xFFFFF, 0xFA, 0xC);   // 32-bit user code (SYSRET without REX.W)
        g.descriptor(5, 0, 0xFFFFF, 0xF2, 0xC);
        g.descriptor(6, 0, 0xFFFFF, 0xFA, 0xA);   // 64-bit user code
        g.descriptor(8, TSS, 0x67, 0x89, 0x0);    // 64-bit TSS (16 bytes: the high half stays 0)
        g.putLong(Guest.GDT + 9 * 8, 0);
    }

    /** A guest that a VMM entered in 64-bit mode at CPL 0 (IA-32e mode guest, CS.L = 1), paging on. */
    static Guest long64(long rip, boolean compiled) {
        Guest g = new Guest(16 << 20);
        pageTables(g);
        gdt64(g);
        g.putLong(TSS + 4, RSP0_TOP);                          // RSP0
        g.putLong(TSS + 36, IST1_TOP);                         // IST1
        X86Core c = g.core;
        c.cs.load(SEL_CODE64, 0, 0xFFFF_FFFF, 0xA09B);
        for (Segment s : new Segment[] {c.ss, c.ds, c.es, c.fs, c.gs}) {
            s.load(SEL_DATA, 0, 0xFFFF_FFFF, 0xC093);
        }
        c.ldtr.load(0, 0, 0, Segment.AR_UNUSABLE);
        c.tr.load(SEL_TSS64, TSS, 0x67, 0x8B);
        c.gdtrBase = Guest.GDT;
        c.gdtrLimit = 10 * 8 - 1;
        c.idtrBase = Guest.IDT;
        c.idtrLimit = 256 * 16 - 1;
        c.cr0 = CR0_PE | CR0_ET | CR0_PG | CR0_WP;
        c.cr3 = PML4;
        c.cr4 = CR4_PAE;
        c.efer = EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE;
        c.setRflags(2);
        c.rip = rip;
        c.gpr[ESP] = 0x9000;
        c.controls.procBased |= Guest.PROC_HLT_EXITING | PROC_USE_MSR_BITMAPS;
        c.controls.msrBitmap = 0;   // an all-zero bitmap in host memory: RDMSR/WRMSR run in the guest
        c.compileBlocks = compiled;
        c.compileThreshold = 1;
        c.stateLoaded();
        return g;
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void a32BitKernelSwitchesToLongModeAndRuns64BitCode(boolean compiled) {
        Guest g = new Guest(16 << 20).protectedMode(CODE).load(CODE, SWITCH);
        pageTables(g);
        g.descriptor(6, 0, 0xFFFFF, 0x9A, 0xA);   // selector 0x30: 64-bit code
        X86Core c = g.core;
        c.gdtrLimit = 7 * 8 - 1;
        c.controls.procBased |= Guest.PROC_HLT_EXITING | PROC_USE_MSR_BITMAPS;
        c.controls.exceptionBitmap = -1;
        c.compileBlocks = compiled;
        c.compileThreshold = 1;
        c.stateLoaded();
        assertEquals(EXIT_HLT, g.run(), () -> "exit " + c.exit.reason + " info " + Integer.toHexString(c.exit.interruptionInfo));
        assertTrue(c.longMode && c.mode64, "IA-32e mode, 64-bit submode");
        assertEquals(EFER_LME | EFER_LMA | EFER_NXE, c.efer, "CR0.PG with EFER.LME sets EFER.LMA (SDM 3A 9.8.5)");
        assertEquals(0x123456789abcdef0L, c.gpr[0], "mov r64, imm64");
        assertEquals(0x12345678L, c.gpr[3]);
        assertEquals(0x1122334455667788L, c.gpr[2], "lea rcx, [rel data] / mov rdx, [rcx]");
        assertEquals(0x1122334455667788L, c.gpr[8], "mov r8, [rel data]");
        assertEquals(0x1122334455667788L, c.gpr[9], "push r8 / pop r9: 8-byte stack slots");
        assertEquals(-5L, c.gpr[10], "movsxd");
        assertEquals(0xFFFF_FFFFL, c.gpr[11], "a 32-bit write zero-extends");
        assertEquals(0L, c.gpr[12]);
        assertEquals(1L, c.gpr[13] & 0xFF, "64-bit carry out");
        assertEquals(0L, c.gpr[14]);
        assertEquals(1L, c.gpr[6] & 0xFF, "imul r64 overflow sets OF; SIL with REX");
        assertEquals(Guest.RING0_STACK, c.gpr[15], "the stack pointer is back where it started");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void fourLevelPagingWith1GAnd4KPagesAndExecuteDisable(boolean compiled) {
        Guest g = long64(CODE, compiled).load(CODE, PAGING);
        X86Core c = g.core;
        g.putLong(0x300000, 0x5555_6666_7777_8888L);
        long firstCodeBytes = (long) X86Core.VH64.get(g.ram, CODE);
        long at3M = (long) X86Core.VH64.get(g.ram, 0x300000);
        c.controls.exceptionBitmap = 1 << Events.PF;
        assertEquals(EXIT_EXCEPTION, g.run());
        assertEquals(Events.INFO_VALID | Events.TYPE_HW_EXCEPTION << 8 | Events.INFO_ERROR_VALID | Events.PF,
                c.exit.interruptionInfo);
        assertEquals(Mmu.PFEC_P | Mmu.PFEC_I, c.exit.interruptionErrorCode, "fetch from an XD page: P and I/D");
        assertEquals(0x801000L, c.exit.qualification, "the faulting linear address");
        assertEquals(at3M, c.gpr[2], "moffs64 through the 1-GByte page (linear 0x40300000 -> 0x300000)");
        assertEquals(firstCodeBytes, c.gpr[0], "1-GByte page");
        assertEquals(0x5555_6666_7777_8888L, c.gpr[3], "4-KByte page");
        assertEquals(0xabcdL, g.getInt(0x300010), "the store went through the 4-KByte page");
        long pte = (long) X86Core.VH64.get(g.ram, PT);
        assertEquals(A | D, pte & (A | D), "accessed and dirty set in the PTE");
        long pml4e = (long) X86Core.VH64.get(g.ram, PML4);
        assertEquals(A, pml4e & A, "accessed set in the PML4E");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void nonCanonicalDataReferenceIsGp0AndThroughTheStackSs0(boolean stack) {
        Guest g = long64(CODE, false).load(CODE, stack ? NON_CANONICAL_STACK : NON_CANONICAL);
        X86Core c = g.core;
        c.controls.exceptionBitmap = 1 << Events.GP | 1 << Events.SS;
        assertEquals(EXIT_EXCEPTION, g.run());
        assertEquals(stack ? Events.SS : Events.GP, c.exit.interruptionInfo & 0xFF);
        assertEquals(0, c.exit.interruptionErrorCode);
        assertEquals(CODE + (stack ? 10 : 10), c.rip, "the fault leaves RIP at the instruction");
    }

    @ParameterizedTest
    @ValueSource(strings = {"06", "07", "0e", "16", "17", "1e", "1f", "27", "2f", "37", "3f", "60", "61", "6200", "8200",
        "9a000000000000", "c400", "c500", "ce", "d40a", "d50a", "d6", "ea000000000000", "0f0000" /* SLDT ok */})
    void opcodesInvalidIn64BitModeAreUd(String bytes) {
        Guest g = long64(CODE, false).load(CODE, hex(bytes + "f4"));
        X86Core c = g.core;
        c.controls.exceptionBitmap = 1 << Events.UD;
        int reason = g.run();
        if (bytes.equals("0f0000")) {
            assertEquals(EXIT_HLT, reason, "SLDT is valid (control case)");
            return;
        }
        assertEquals(EXIT_EXCEPTION, reason, bytes);
        assertEquals(Events.UD, c.exit.interruptionInfo & 0xFF, bytes);
        assertEquals(CODE, c.rip);
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void compatibilityModeRunsLegacyEncodings(boolean compiled) {
        Guest g = long64(CODE, compiled).load(CODE, COMPAT);
        X86Core c = g.core;
        c.gpr[0] = 0x1_0000_0005L;
        c.gpr[ESP] = 0x9000;
        c.controls.exceptionBitmap = -1;
        assertEquals(EXIT_HLT, g.run(), () -> "info " + Integer.toHexString(c.exit.interruptionInfo) + " error "
                + c.exit.interruptionErrorCode + " rip " + Long.toHexString(c.rip));
        assertEquals(7L, c.gpr[0], "inc eax (opcode 40) in compatibility mode, then inc rax after a lone REX");
        assertEquals(0x9000L, c.gpr[3], "mov ebx, esp");
        assertTrue(c.mode64, "jmp far back to the 64-bit code segment");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void interruptThroughIstGateIretqAndSyscallSysret(boolean compiled) {
        Guest g = long64(IDT_CODE, compiled).load(IDT_CODE, IDT_PROGRAM);
        // 16-byte interrupt gate for vector 0x80: selector 0x08, IST 1, DPL 3 (SDM 3A 6.14.1, Figure 6-8)
        long lo = (IDT_HANDLER & 0xFFFF) | (long) SEL_CODE64 << 16 | 1L << 32 | (0x80L | 3 << 5 | 0xE) << 40
                | ((IDT_HANDLER >>> 16) & 0xFFFFL) << 48;
        g.putLong(Guest.IDT + 0x80 * 16, lo);
        g.putLong(Guest.IDT + 0x80 * 16 + 8, 0);
        X86Core c = g.core;
        c.controls.exceptionBitmap = -1;
        assertEquals(EXIT_HLT, g.run(), () -> "info " + Integer.toHexString(c.exit.interruptionInfo) + " rip "
                + Long.toHexString(c.rip));
        assertEquals(IST1_TOP - 40L, c.gpr[8], "IST1 stack, aligned, five 8-byte slots");
        assertEquals(0x9008L, c.gpr[9], "the interrupted RSP was pushed");
        assertEquals(0x78L, c.gpr[3], "the handler ran and IRETQ returned");
        assertEquals(0x55L, c.gpr[12], "ring-3 code ran after SYSRET");
        assertEquals(SYSCALL_RETURN, c.gpr[13], "SYSCALL saved the return RIP in RCX");
        assertEquals(0x202L, c.gpr[14], "SYSCALL saved RFLAGS in R11");
        assertEquals(SEL_CODE64, c.cs.selector);
        assertEquals(0, c.cpl);
        assertEquals(0L, c.rflags() & Alu.IF, "IA32_FMASK cleared IF");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void activatingLongModeWithoutPaeIsGp(boolean pae) {
        // mov eax, cr0 / or eax, 0x80000000 / mov cr0, eax / hlt
        Guest g = new Guest(16 << 20).protectedMode(CODE).load(CODE, hex("0f20c00d000000800f22c0f4"));
        pageTables(g);
        X86Core c = g.core;
        c.cr3 = PML4;
        c.cr4 = pae ? CR4_PAE : 0;
        c.efer = EFER_LME;
        c.controls.procBased |= Guest.PROC_HLT_EXITING;
        c.controls.exceptionBitmap = 1 << Events.GP;
        c.stateLoaded();
        int reason = g.run();
        if (pae) {
            assertEquals(EXIT_HLT, reason);
            assertEquals(EFER_LME | EFER_LMA, c.efer);
            assertFalse(c.mode64, "compatibility mode until CS is reloaded");
        } else {
            assertEquals(EXIT_EXCEPTION, reason);
            assertEquals(Events.GP, c.exit.interruptionInfo & 0xFF, "SDM 3A 9.8.5: PG with LME needs PAE");
            assertEquals(EFER_LME, c.efer);
        }
    }
}
