package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.Guest.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * Debug registers (SDM 3A 17.2-17.3): an execute breakpoint is a fault that RF suppresses, data
 * breakpoints trap after the accessing instruction, pending debug exceptions are delivered at
 * entry, and alignment checking raises #AC at CPL 3.
 */
class DebugTest {
    static final int EXIT_EXCEPTION = 0, EXIT_HLT = 12;
    static final int DB_EXIT_INFO = 0x8000_0301;

    // BREAKPOINTS (32-bit, 0x100000): mov eax, brk / mov dr0, eax / mov eax, 0x2000 / mov dr1, eax
    //   / mov eax, 0x00F00005 (L0 execute; L1 read/write, 4 bytes) / mov dr7, eax / nop
    //   / brk: inc ebx / mov ecx, [0x2000] / mov dword [0x2000], 5 / hlt
    static final byte[] BREAKPOINTS = hex("b8190010000f23c0b8002000000f23c8b80500f0000f23f890438b0d00200000c7050020"
            + "000005000000f4");
    // ALIGN: mov eax, [0x2001] / hlt
    static final byte[] ALIGN = hex("a101200000f4");

    @Test
    void executeBreakpointFaultsUntilRfIsSetAndDataBreakpointsTrapAfterTheAccess() {
        Guest g = new Guest(2 << 20).flat32(0x100000).load(0x100000, BREAKPOINTS);
        X86Core c = g.core;
        c.controls.procBased |= Guest.PROC_HLT_EXITING;
        c.controls.exceptionBitmap = 1 << 1;
        assertEquals(EXIT_EXCEPTION, g.run());
        assertEquals(DB_EXIT_INFO, c.exit.interruptionInfo);
        assertEquals(1, c.exit.qualification, "B0");
        assertEquals(0x100019, c.rip, "fault: before the INC");
        assertEquals(0, g.reg(X86Core.EBX));
        c.setRflags(c.rflags() | Alu.RF);   // as the handler's IRET would
        assertEquals(EXIT_EXCEPTION, g.run());
        assertEquals(2, c.exit.qualification, "B1: the read of [2000h]");
        assertEquals(0x100020, c.rip, "trap: after the MOV");
        assertEquals(1, g.reg(X86Core.EBX), "INC ran once");
        assertEquals(0, c.rflags() & Alu.RF, "RF cleared after one instruction");
        assertEquals(EXIT_EXCEPTION, g.run());
        assertEquals(2, c.exit.qualification, "B1: the write");
        assertEquals(0x10002A, c.rip);
        assertEquals(5, g.getInt(0x2000));
        assertEquals(EXIT_HLT, g.run());
    }

    @Test
    void pendingDebugExceptionsAreDeliveredAtEntry() {
        Guest g = new Guest(2 << 20).flat32(0x100000).load(0x100000, ALIGN);
        X86Core c = g.core;
        c.controls.exceptionBitmap = 1 << 1;
        c.pendingDebugExceptions = 1 << 14;   // BS
        assertEquals(EXIT_EXCEPTION, g.run());
        assertEquals(DB_EXIT_INFO, c.exit.interruptionInfo);
        assertEquals(1 << 14, c.exit.qualification);
        assertEquals(0x100000, c.rip, "before any instruction");
        assertEquals(0, c.pendingDebugExceptions);
    }

    @Test
    void alignmentCheckAtCpl3() {
        Guest g = new Guest(4 << 20).protectedMode(0x100000).load(0x100000, ALIGN);
        X86Core c = g.core;
        c.controls.exceptionBitmap = 1 << 17;
        c.cr0 |= X86Core.CR0_AM;
        c.setRflags(c.rflags() | Alu.AC);
        g.user(0x100000, 0x300000);
        assertEquals(EXIT_EXCEPTION, g.run());
        assertEquals(0x8000_0B11, c.exit.interruptionInfo, "#AC(0)");
        assertEquals(0, c.exit.interruptionErrorCode);
        c.setRflags(c.rflags() & ~Alu.AC);
        c.stateLoaded();
        c.controls.exceptionBitmap = 1 << 17 | 1 << 13;
        assertEquals(0, g.run(), "AC clear: the load works, then HLT at CPL 3 is #GP");
        assertEquals(0x8000_0B0D, c.exit.interruptionInfo);
        assertEquals(0x100005, c.rip);
    }
}
