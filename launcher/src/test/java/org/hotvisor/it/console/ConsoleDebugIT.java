package org.hotvisor.it.console;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The console's VMX, exit and debugging commands in a real terminal (tmux) against the demo
 * guest: a VMX control switched at run time changes which exits happen, single-step and
 * breakpoints stop the guest where they should, memory dumps show what is there.
 */
class ConsoleDebugIT {

    /** Starts the demo, lets it run through its start-up and a few timer ticks, pauses it. */
    private static Tools.Terminal demo() throws Exception {
        Tools.Terminal t = new Tools.Terminal();
        t.await("vm:start", 30);
        t.run("vm:start", "VM running", 20);
        Thread.sleep(1500);
        t.run("vm:pause", "VM paused", 10);
        return t;
    }

    @Test
    void hltExitingOffStopsHltExitsAndOnBringsThemBack() throws Exception {
        try (Tools.Terminal t = demo()) {
            String controls = t.run("vmx:controls", "names may take a group prefix", 10);
            assertTrue(controls.matches("(?s).*hlt-exiting +bit  7  on +allowed 0/1.*"), controls);
            assertTrue(controls.contains("CPU_BASED_VM_EXEC_CONTROL = 0x"), controls);
            assertTrue(controls.contains("IA32_VMX_TRUE_PROCBASED_CTLS"), controls);

            t.run("vmx:controls set activate-tertiary-controls on", "refused", 10);
            t.run("vmx:controls set hlt-exiting off", "effective at the next VM entry", 10);
            t.run("exit:stats reset", "(statistics reset)", 10);
            t.run("vm:resume", "VM running", 10);
            Thread.sleep(1500);
            t.run("vm:pause", "VM paused", 10);
            String off = t.run("exit:stats", "Total samples", 10);
            assertFalse(off.contains("HLT(12)"), "no HLT exits with hlt-exiting off:\n" + off);
            assertTrue(off.contains("IO_INSTRUCTION(30)"), "the guest still runs (its ticks print):\n" + off);

            t.run("vmx:controls set hlt-exiting on", "effective at the next VM entry", 10);
            t.run("exit:stats reset", "(statistics reset)", 10);
            t.run("vm:resume", "VM running", 10);
            String top = t.run("exit:top 2", "hotvisor exit:top  2 s", 15);
            assertTrue(top.contains("HLT(12)") && top.contains("CurAvg/s"), top);
            t.run("vm:pause", "VM paused", 10);
            String on = t.run("exit:stats count", "Total samples", 10);
            assertTrue(on.contains("HLT(12)"), "HLT exits are back:\n" + on);
        }
    }

    @Test
    void stepBreakpointsMemoryAndTheMachine() throws Exception {
        try (Tools.Terminal t = demo()) {
            // The demo's first bytes: cli; xor ax, ax (as QEMU's x prints them)
            String dump = t.run("vm:x /4xb 0x7c00", "00007c00:", 10);
            assertTrue(dump.contains("00007c00: 0xfa 0x31 0xc0"), dump);
            String physical = t.run("vm:xp /1xw 0x7c00", "0000000000007c00:", 10);
            assertTrue(physical.contains("0000000000007c00: 0x8ec031fa"), physical);

            String step = t.run("vm:step", "stepped 1 instruction(s)", 15);
            String here = Tools.find(step, "\\(linear (0x[0-9a-f]+)\\)");
            // The demo loops hlt / cmp / jb 100 times a second: a breakpoint here is met again soon.
            t.run("vm:break " + here, "breakpoint 1 at linear " + here, 10);
            assertTrue(t.run("vm:break", "NUM  LINEAR", 10).contains("console"));
            String csIp = "0000:" + here.substring(2);
            t.run("vm:resume", "breakpoint 1 hit at " + csIp, 15);
            t.run("vm:status", "state paused", 10);
            // The disassembly at the breakpoint: RIP marked, the original instruction rather than the INT3
            String listing = t.run("vm:dis pc 2", String.format("=> %08x:", Long.decode(here)), 10);
            assertFalse(listing.contains("int3"), listing);
            String regs = t.run("vm:regs", "RIP=", 10);
            assertTrue(regs.contains(String.format("RIP=%016x", Long.decode(here))), regs);

            // Stepping from the breakpoint runs the real instruction (the INT3 is lifted for it).
            String next = t.run("vm:step 2", "stepped 2 instruction(s)", 15);
            assertFalse(next.contains("(linear " + here + ")"), next);
            String bytes = t.run("vm:x /1xb " + here, String.format("%08x:", Long.decode(here)), 10);
            assertFalse(bytes.contains("0xcc"), "dumps show the original byte, not the INT3:\n" + bytes);
            t.run("vm:resume", "breakpoint 1 hit at " + csIp, 15);
            t.run("vm:delete", "deleted 1 breakpoint(s)", 10);
            t.run("vm:resume", "VM running", 10);

            t.run("exit:trace on HLT", "{\"seq\":", 10);
            String trace = t.run("exit:trace off", "\ntrace off", 10);
            assertTrue(t.screen().contains("\"name\":\"HLT\""), trace);
            String info = t.run("vm:info", "vCPUs: 1", 10);
            assertTrue(info.matches("(?s).*RAM, 128 MiB.*org.hotvisor.device.pic8259 +0x20-0x21.*#0 running at 0000:.*"), info);
            t.run("vm:pause", "VM paused", 10);
            String vmcs = t.run("vmx:vmcs guest_rip", "GUEST_RIP", 10);
            assertTrue(vmcs.matches("(?s).*GUEST_RIP +681e  0x[0-9a-f]{16}.*"), vmcs);
            String io = t.run("vmx:iobitmap 0x80 off", "switched proc.unconditional-io-exiting -> proc.use-io-bitmaps", 10);
            assertTrue(io.contains("port 0x0080: runs without an exit (I/O bitmap A byte 0x10 bit 0)"), io);
            t.run("vmx:iobitmap", "ports without exits: 0x0080; every other port exits", 10);
            t.run("exit:handlers", "org.hotvisor.exit.cpuid", 10);
        }
    }
}
