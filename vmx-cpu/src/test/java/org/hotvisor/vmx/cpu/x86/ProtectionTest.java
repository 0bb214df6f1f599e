package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.Guest.hex;
import static org.hotvisor.vmx.cpu.x86.X86Core.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * Segment-register loads with their protection checks and error codes, far transfers (same
 * privilege, call gates to an inner ring and the return to the outer one), SYSENTER/SYSEXIT,
 * virtual-8086 mode entered by IRET and left by an interrupt, big real mode, and task switches
 * from JMP/CALL/IRET (always a VM exit, SDM 3C 26.4.2).
 */
class ProtectionTest {
    static final int EXIT_EXCEPTION = 0, EXIT_TASK_SWITCH = 9, EXIT_HLT = 12;

    // ENTER_V86 (32-bit): push dword 0 (GS) / push dword 0 (FS) / push dword 0x2000 (DS) / push dword 0 (ES)
    //   / push dword 0x3000 (SS) / push dword 0x100 (ESP) / push dword 0x23002 (EFLAGS: VM, IOPL 3)
    //   / push dword 0x1000 (CS) / push dword 0 (EIP) / iret
    static final byte[] ENTER_V86 = hex("6a006a0068002000006a0068003000006800010000680230020068001000006a00cf");
    // V86_CODE (16-bit, at 1000:0000): mov ax, [0x10] / int 0x21 / hlt
    static final byte[] V86_CODE = hex("a11000cd21f4");
    // V86_HANDLER (32-bit): mov eax,[esp] / mov ebx,[esp+4] / mov ecx,[esp+8] / mov edx,[esp+24] / mov esi, ds
    //   / mov edi, [esp+12] / hlt
    static final byte[] V86_HANDLER = hex("8b04248b5c24048b4c24088b5424188cde8b7c240cf4");
    // USER_CALLGATE (32-bit, 0x140000): push dword 0x77 / call 0x33:0 / mov edi, eax / int3
    static final byte[] USER_CALLGATE = hex("6a779a00000000330089c7cc");
    // KERNEL_GATE_TARGET (32-bit): mov eax,[esp+8] / mov ebx,[esp+4] / mov ecx,[esp+16] / mov edx, cs / retf 4
    static final byte[] KERNEL_GATE_TARGET = hex("8b4424088b5c24048b4c24108ccaca0400");
    // FAR_SAME (32-bit, 0x100000): call 0x08:far_target / jmp 0x08:after / far_target: mov eax, 0x55 / retf
    //   / after: mov ebx, cs / hlt
    static final byte[] FAR_SAME = hex("9a0e0010000800ea140010000800b855000000cb8ccbf4");
    // SEG_LOADS (32-bit, 0x100000): mov ax,0x38 / mov ds,ax / mov ax,0x23 / mov ss,ax / mov ax,0x40 / mov es,ax
    //   / mov ax,0x48 / mov ss,ax / mov ax,0x50 / mov fs,ax / mov eax,[fs:0x10] / mov dword [fs:0],1 / mov ax,0
    //   / mov gs,ax / mov eax,[gs:0] / hlt
    static final byte[] SEG_LOADS = hex("66b838008ed866b823008ed066b840008ec066b848008ed066b850008ee064a110000000"
            + "64c705000000000100000066b800008ee865a100000000f4");
    // SYSENTER_USER (32-bit, 0x140000): mov ebp, esp / sysenter / back: int3
    static final byte[] SYSENTER_USER = hex("89e50f34cc");
    // SYSENTER_KERNEL (32-bit): mov eax, esp / mov ebx, cs / mov esi, ss / mov edx, 0x140004 / mov ecx, ebp / sysexit
    static final byte[] SYSENTER_KERNEL = hex("89e08ccb8cd6ba0400140089e90f35");
    // TASK_JUMPS (32-bit): jmp 0x58:0 / call 0x58:0 / iret
    static final byte[] TASK_JUMPS = hex("ea0000000058009a000000005800cf");
    // BIG_REAL (16-bit, 0x1000): lgdt [gdtr] / mov eax, cr0 / or al, 1 / mov cr0, eax / mov bx, 0x10 / mov ds, bx
    //   / and al, 0xFE / mov cr0, eax / xor bx, bx / mov ds, bx / mov esi, 0x200000 / mov eax, [esi] / hlt
    //   / gdt: null, 4G code, 4G data / gdtr
    static final byte[] BIG_REAL = hex("0f011640100f20c00c010f22c0bb10008edb24fe0f22c031db8edb66be0000200066678b06"
            + "f490900000000000000000ffff0000009acf00ffff00000092cf00170028100000");

    private static Guest pm(byte[] code) {
        Guest g = new Guest(4 << 20).protectedMode(0x100000).load(0x100000, code);
        g.core.controls.procBased |= Guest.PROC_HLT_EXITING;
        g.core.gdtrLimit = 16 * 8 - 1;
        return g;
    }

    @Test
    void segmentLoadsCheckTypePrivilegePresenceAndAccessesCheckLimitsAndWritability() {
        Guest g = pm(SEG_LOADS);
        g.descriptor(7, 0, 0xFFFFF, 0x98, 0xC);   // execute-only code
        g.descriptor(8, 0, 0xFFFFF, 0x12, 0xC);   // data, not present
        g.descriptor(9, 0, 0xFFFFF, 0x12, 0xC);   // stack, not present
        g.descriptor(10, 0, 0xF, 0x90, 0x4);      // read-only data, limit 15 bytes
        X86Core c = g.core;
        c.controls.exceptionBitmap = 1 << 11 | 1 << 12 | 1 << 13;
        int[][] faults = {
            // rip offset, vector, error code, length to skip
            {0x04, 13, 0x38, 2}, {0x0A, 13, 0x20, 2}, {0x10, 11, 0x40, 2}, {0x16, 12, 0x48, 2},
            {0x1E, 13, 0, 6}, {0x24, 13, 0, 11}, {0x35, 13, 0, 6}};
        for (int[] f : faults) {
            assertEquals(EXIT_EXCEPTION, g.run(), "fault at +" + Integer.toHexString(f[0]));
            assertEquals(0x100000 + f[0], c.rip);
            assertEquals(0x8000_0800 | 0x300 | f[1], c.exit.interruptionInfo);
            assertEquals(f[2], c.exit.interruptionErrorCode);
            c.rip += f[3];
        }
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0x50, c.fs.selector);
        assertEquals(Segment.AR_UNUSABLE, c.gs.accessRights & Segment.AR_UNUSABLE, "null selector: unusable");
    }

    @Test
    void farCallAndReturnAtTheSamePrivilege() {
        Guest g = pm(FAR_SAME);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0x55, g.reg(EAX));
        assertEquals(Guest.SEL_CODE0, g.reg(EBX));
        assertEquals(Guest.RING0_STACK, g.reg(ESP));
    }

    @Test
    void callGateToRing0CopiesParametersAndRetfReturnsToRing3() {
        Guest g = pm(KERNEL_GATE_TARGET);
        g.load(0x180000, KERNEL_GATE_TARGET).load(0x140000, USER_CALLGATE);
        long gate = 0x0000 | (long) Guest.SEL_CODE0 << 16 | 1L << 32 | (long) (0x80 | 3 << 5 | 0xC) << 40
                | 0x0018L << 48;   // 32-bit call gate, DPL 3, 1 parameter, to 08:00180000
        g.putLong(Guest.GDT + 6 * 8, gate);
        g.core.controls.exceptionBitmap = 1 << 3;
        g.user(0x140000, 0x300000);
        assertEquals(EXIT_EXCEPTION, g.run());
        X86Core c = g.core;
        assertEquals(0x8000_0603, c.exit.interruptionInfo, "INT3: software exception");
        assertEquals(1, c.exit.instructionLength);
        assertEquals(0x14000B, c.rip);
        assertEquals(0x77, g.reg(EAX), "parameter copied to the ring-0 stack");
        assertEquals(0x77, g.reg(EDI));
        assertEquals(Guest.SEL_CODE3, g.reg(EBX), "caller CS");
        assertEquals(Guest.SEL_DATA3, g.reg(ECX), "caller SS");
        assertEquals(Guest.SEL_CODE0, g.reg(EDX), "CS inside the gate target");
        assertEquals(3, c.cpl);
        assertEquals(0x300000, g.reg(ESP), "RETF 4 released the parameter on the caller's stack");
        assertEquals(Guest.SEL_DATA3, c.ss.selector);
    }

    @Test
    void sysenterAndSysexit() {
        Guest g = pm(SYSENTER_KERNEL);
        g.load(0x180000, SYSENTER_KERNEL).load(0x140000, SYSENTER_USER);
        X86Core c = g.core;
        c.sysenterCs = Guest.SEL_CODE0;
        c.sysenterEip = 0x180000;
        c.sysenterEsp = 0x9000;
        c.controls.exceptionBitmap = 1 << 3;
        g.user(0x140000, 0x300000);
        assertEquals(EXIT_EXCEPTION, g.run());
        assertEquals(0x9000, g.reg(EAX));
        assertEquals(Guest.SEL_CODE0, g.reg(EBX));
        assertEquals(Guest.SEL_DATA0, g.reg(ESI));
        assertEquals(0x140004, c.rip, "back in ring 3 at the INT3");
        assertEquals(Guest.SEL_CODE3, c.cs.selector);
        assertEquals(Guest.SEL_DATA3, c.ss.selector);
        assertEquals(0x300000, g.reg(ESP));
        assertEquals(3, c.cpl);
    }

    @Test
    void iretEntersVirtual8086ModeAndAnInterruptLeavesIt() {
        Guest g = pm(ENTER_V86);
        g.load(0x10000, V86_CODE).load(0x180000, V86_HANDLER);
        g.putInt(0x20010, 0xBEEF);
        g.gate(0x21, Guest.SEL_CODE0, 0x180000, Guest.GATE_INT32, 3);
        assertEquals(EXIT_HLT, g.run());
        X86Core c = g.core;
        assertEquals(5, g.reg(EAX), "return IP in the v86 code");
        assertEquals(0x1000, g.reg(EBX), "v86 CS");
        assertEquals(0x23002, g.reg(ECX), "EFLAGS image: VM, IOPL 3");
        assertEquals(0x2000, g.reg(EDX), "v86 DS saved on the ring-0 stack");
        assertEquals(0, g.reg(ESI), "DS is null in the handler");
        assertEquals(0x100, g.reg(EDI), "v86 SP");
        assertEquals(0, c.cpl);
        assertEquals(0, c.rflags() & Alu.VM);
        assertEquals(Guest.RING0_STACK - 36, g.reg(ESP), "nine dwords pushed");
    }

    @Test
    void bigRealModeKeepsTheFourGigabyteLimitAfterLeavingProtectedMode() {
        Guest g = new Guest(4 << 20).realMode(0x1000).load(0x1000, BIG_REAL);
        g.core.controls.procBased |= Guest.PROC_HLT_EXITING;
        g.putInt(0x200000, 0xDEAD_BEEFL);
        assertEquals(EXIT_HLT, g.run());
        assertEquals(0xDEAD_BEEFL, g.reg(EAX));
        assertEquals(0xFFFF_FFFF, g.core.ds.limit, "real-mode load of DS kept the cached limit");
        assertEquals(0, g.core.cr0 & CR0_PE);
    }

    @Test
    void farJumpCallAndNestedIretToATssAreTaskSwitchExits() {
        Guest g = pm(TASK_JUMPS);
        g.descriptor(11, 0x3100, 0x67, 0x89, 0);   // available 32-bit TSS
        g.putShort(Guest.TSS, 0x60);               // back link of the current task
        X86Core c = g.core;
        assertEquals(EXIT_TASK_SWITCH, g.run());
        assertEquals(0x58L | 2L << 30, c.exit.qualification, "JMP");
        assertEquals(7, c.exit.instructionLength);
        c.rip += 7;
        assertEquals(EXIT_TASK_SWITCH, g.run());
        assertEquals(0x58L, c.exit.qualification, "CALL");
        c.rip += 7;
        c.setRflags(c.rflags() | Alu.NT);
        assertEquals(EXIT_TASK_SWITCH, g.run());
        assertEquals(0x60L | 1L << 30, c.exit.qualification, "IRET with NT: the back link");
        assertEquals(0x10000E, c.rip);
    }
}
