package org.hotvisor.kernel.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import org.apache.felix.service.command.CommandSession;
import org.hotvisor.api.vmx.ProcessorControl;
import org.hotvisor.api.vmx.VmcsField;
import org.hotvisor.kernel.stats.ExitStatistics;
import org.hotvisor.kernel.vm.Machine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The vmx:, exit: and vm: debugging commands against the toy processor, without Felix. */
class ConsoleCommandsTest {
    /** 7C00 nop; 7C01 nop; 7C02 out 0xE9; 7C04 nop; 7C05 jmp 7C00. */
    private static final byte[] LOOP = {(byte) 0x90, (byte) 0x90, (byte) 0xE6, (byte) 0xE9, (byte) 0x90, (byte) 0xEB, (byte) 0xF9};

    private Machine vm;
    private GuestDebugger debugger;

    private void boot() throws Exception {
        vm = ToyCpu.machine(LOOP);
        debugger = new GuestDebugger(vm);
    }

    @AfterEach
    void stop() {
        if (vm != null) {
            vm.stop(0, "test over");
        }
    }

    /** A Gogo session whose console is {@code console} and keyboard {@code keyboard}. */
    private static CommandSession session(PrintStream console, InputStream keyboard) {
        return (CommandSession) Proxy.newProxyInstance(CommandSession.class.getClassLoader(), new Class<?>[] {CommandSession.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "getConsole" -> console;
                    case "getKeyboard" -> keyboard;
                    default -> null;
                });
    }

    // ---------------------------------------------------------------- vmx:

    @Test
    void controlsListEveryBitWithItsValueAndCapability() throws Exception {
        boot();
        String out = new VmxCommands(vm, debugger).controls();
        assertTrue(out.matches("(?s).*hlt-exiting +bit  7  on   allowed 0/1.*"), out);
        assertTrue(out.matches("(?s).*virtualize-apic-accesses +bit  0  off  allowed fixed 0 \\(unsupported\\).*"), out);
        assertTrue(out.contains("reserved bits fixed to 1 (default1 class): 1 2 4"), out);
        assertTrue(out.contains("PIN_BASED_VM_EXEC_CONTROL = 0x"), out);
    }

    @Test
    void setSwitchesOneControlAndRefusesWhatTheCapabilityForbids() throws Exception {
        boot();
        VmxCommands vmx = new VmxCommands(vm, debugger);
        String done = vmx.controls("set", "hlt-exiting", "off");
        assertTrue(done.startsWith("proc.hlt-exiting off: CPU_BASED_VM_EXEC_CONTROL 0x"), done);
        assertFalse(ProcessorControl.HLT_EXITING.isSet(vm.withProcessor(c -> (int) c.vmread(VmcsField.CPU_BASED_VM_EXEC_CONTROL))));
        assertEquals("refused: IA32_VMX_PROCBASED_CTLS2 (0x48b) does not allow secondary virtualize-apic-accesses = 1 (allowed: fixed 0 (unsupported))",
                vmx.controls("set", "virtualize-apic-accesses", "on"));
        assertTrue(vmx.controls("set", "no-such-control", "on").contains("unknown VMX control"));
        assertTrue(vmx.controls("set", "hlt-exiting", "maybe").contains("on or off"));
    }

    @Test
    void ioBitmapSwitchesFromUnconditionalExitingKeepingEveryOtherPortExiting() throws Exception {
        boot();
        VmxCommands vmx = new VmxCommands(vm, debugger);
        String out = vmx.iobitmap("0xe9", "off");
        assertTrue(out.startsWith("switched proc.unconditional-io-exiting -> proc.use-io-bitmaps"), out);
        int proc = vm.withProcessor(c -> (int) c.vmread(VmcsField.CPU_BASED_VM_EXEC_CONTROL));
        assertTrue(ProcessorControl.USE_IO_BITMAPS.isSet(proc));
        assertFalse(ProcessorControl.UNCONDITIONAL_IO_EXITING.isSet(proc));
        long a = vm.withProcessor(c -> c.vmread(VmcsField.IO_BITMAP_A));
        assertEquals(0xFF & ~(1 << (0xe9 & 7)), vm.readHostMemory(a + (0xe9 >> 3)), "port 0xE9's bit is clear");
        assertEquals(0xFF, vm.readHostMemory(a), "ports 0-7 still exit");
        assertEquals("I/O bitmaps A 0x" + Long.toHexString(a) + ", B 0x" + Long.toHexString(a + 0x1000)
                + " (host-physical): ports without exits: 0x00e9; every other port exits\n", vmx.iobitmap());
        vmx.iobitmap("0x8000", "off");
        assertTrue(vmx.iobitmap().contains("0x00e9, 0x8000;"), "bitmap B covers 0x8000-0xffff");
        assertTrue(vmx.iobitmap("0x10000", "on").contains("ports are 0 to 0xffff"));
    }

    @Test
    void vmcsDumpsFieldsByNameFiltered() throws Exception {
        boot();
        String out = new VmxCommands(vm, debugger).vmcs("guest_rip");
        assertEquals("GUEST_RIP                                    681e  0x0000000000007c00\n", out);
        assertTrue(new VmxCommands(vm, debugger).vmcs("exception").contains("EXCEPTION_BITMAP                             4004  0x00000000"));
        assertTrue(new VmxCommands(vm, debugger).vmcs("nothing-like-this").startsWith("no VMCS field name contains"));
    }

    // ---------------------------------------------------------------- exit:

    @Test
    void statsReportAndReset() throws Exception {
        boot();
        debugger.insert(0x7C05, GuestDebugger.Owner.CONSOLE);
        long parks = vm.parkCount();
        vm.resume();
        assertTrue(vm.awaitParkedAfter(parks, 5000));
        ExitCommands exit = new ExitCommands(vm);
        String report = exit.stats("reason", "reset");
        assertTrue(report.contains("IO_INSTRUCTION(30)") && report.contains("(statistics reset)"), report);
        assertEquals(0, vm.statistics().totalExits());
        assertTrue(exit.stats("json").contains("\"exits\": 0"));
        assertTrue(exit.stats("bogus").startsWith("usage:"));
    }

    @Test
    void topShowsRatesPerSecondBusiestFirst() {
        ExitStatistics before = new ExitStatistics();
        ExitStatistics after = new ExitStatistics();
        for (int i = 0; i < 10; i++) {
            before.record(12, 100, "hlt");
            after.record(12, 100, "hlt");
        }
        for (int i = 0; i < 100; i++) {
            after.record(12, 100, "hlt");
        }
        for (int i = 0; i < 300; i++) {
            after.record(30, 100, "io");
        }
        String frame = ExitCommands.render(before.snapshot(), after.snapshot(), 2.0, 4.0, true);
        assertTrue(frame.matches("(?s).*Event +Total +%Total +CurAvg/s\n"
                + " IO_INSTRUCTION\\(30\\) +300 +73\\.2% +150\n"
                + " HLT\\(12\\) +110 +26\\.8% +50\n"
                + " Total +410 +200\n"), frame);
    }

    @Test
    void topEndsAtEnterOrAfterItsSeconds() throws Exception {
        boot();
        ByteArrayOutputStream screen = new ByteArrayOutputStream();
        PrintStream console = new PrintStream(screen, true, StandardCharsets.UTF_8);
        long t0 = System.nanoTime();
        new ExitCommands(vm).top(session(console, new ByteArrayInputStream("\n".getBytes(StandardCharsets.UTF_8))));
        assertTrue(System.nanoTime() - t0 < 900_000_000L, "Enter ends it before the first frame");
        new ExitCommands(vm).top(session(console, InputStream.nullInputStream()), "1");
        assertTrue(screen.toString(StandardCharsets.UTF_8).contains("hotvisor exit:top  1 s"), screen.toString(StandardCharsets.UTF_8));
    }

    @Test
    void traceWritesJsonLinesOfTheChosenReasonsToTheConsole() throws Exception {
        boot();
        ByteArrayOutputStream screen = new ByteArrayOutputStream();
        PrintStream console = new PrintStream(screen, true, StandardCharsets.UTF_8);
        ExitCommands exit = new ExitCommands(vm);
        assertEquals("trace on: IO_INSTRUCTION(30); exit:trace off ends it", exit.trace(session(console, null), "on", "IO_INSTRUCTION"));
        vm.start();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!screen.toString(StandardCharsets.UTF_8).contains("\n") && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals("trace off", exit.trace(session(console, null), "off"));
        String first = screen.toString(StandardCharsets.UTF_8).lines().findFirst().orElse("");
        assertTrue(first.startsWith("{\"seq\":") && first.contains("\"name\":\"IO_INSTRUCTION\"") && first.contains("\"rip\":\"0x7c02\""), first);
        assertFalse(screen.toString(StandardCharsets.UTF_8).contains("PREEMPTION_TIMER"), "filtered");
        console.println("still open");
        assertTrue(screen.toString(StandardCharsets.UTF_8).endsWith("still open\n"), "trace off leaves the console open");
        assertTrue(exit.trace(session(console, null), "on", "NOT_A_REASON").startsWith("exit:trace:"));
    }

    // ---------------------------------------------------------------- vm:

    @Test
    void xStepBreakAndDelete() throws Exception {
        boot();
        DebugCommands cmd = new DebugCommands(null, vm, debugger);
        assertEquals("00007c00: 0x90 0x90 0xe6 0xe9\n", cmd.x("/4xb", "0x7c00"));
        assertEquals("0000000000007c02: 0xe9e6\n", cmd.xp("/1xh", "0x7c02"));
        assertEquals("00007c00: 90\n00007c01: 90\n00007c02: e6 e9\n", cmd.x("/3i", "pc"));
        assertTrue(cmd.x().startsWith("usage:"));
        assertTrue(cmd.x("/4q", "0").contains("unknown format letter"));

        assertEquals("stepped 3 instruction(s) (2 retired by the CPU, the rest emulated by the VMM)\n0000:7c04 (linear 0x7c04): 90",
                cmd.step("3"));
        assertEquals("breakpoint 1 at linear 0x7c01 (physical 0x7c01)", cmd._break("0000:7c01"));
        assertTrue(cmd._break().contains("1    0x7c01       0x7c01       0x90      console"), cmd._break());
        assertEquals("breakpoint 1 hit after 3 instruction(s)\n0000:7c01 (linear 0x7c01): 90", cmd.step("100"));
        assertEquals("deleted breakpoint 1", cmd.delete("1"));
        assertEquals("no breakpoint 1", cmd.delete("1"));
        assertEquals("no breakpoints", cmd._break());
        assertTrue(cmd.step("0").contains("1 to"));
        vm.resume();
        assertTrue(cmd.step().contains("pause it first"));
    }
}
