package org.hotvisor.kernel.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.hotvisor.api.vmx.Disassembler;
import org.hotvisor.kernel.vm.Machine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** vm:dis and x/i through the real command class, on the toy processor with a disassembler of its four-instruction ISA. */
class DisassembleCommandTest {
    /** 7C00 nop; 7C01 nop; 7C02 out 0xE9; 7C04 nop; 7C05 jmp 7C00. */
    private static final byte[] LOOP = {(byte) 0x90, (byte) 0x90, (byte) 0xE6, (byte) 0xE9, (byte) 0x90, (byte) 0xEB, (byte) 0xF9};

    /** The toy ISA's disassembler; records the code sizes it was asked for. */
    static final class ToyDisassembler implements Disassembler {
        final List<Integer> bits = new ArrayList<>();

        @Override
        public int disassemble(byte[] bytes, int offset, long address, int codeBits, StringBuilder out) {
            bits.add(codeBits);
            int op = bytes[offset] & 0xFF;
            boolean two = op == ToyCpu.JMP || op == ToyCpu.OUT;
            if (two && offset + 1 >= bytes.length) {
                out.append("(bad)");
                return 0;
            }
            switch (op) {
                case ToyCpu.NOP -> out.append("nop");
                case ToyCpu.INT3 -> out.append("int3");
                case ToyCpu.OUT -> out.append(String.format("out 0x%x, al", bytes[offset + 1] & 0xFF));
                case ToyCpu.JMP -> out.append(String.format("jmp 0x%x", address + 2 + bytes[offset + 1]));
                default -> {
                    out.append("(bad)");
                    return 0;
                }
            }
            return two ? 2 : 1;
        }
    }

    private Machine vm;
    private GuestDebugger debugger;
    private DebugCommands cmd;
    private final ToyDisassembler toy = new ToyDisassembler();

    private void boot() throws Exception {
        vm = ToyCpu.machine(LOOP);
        debugger = new GuestDebugger(vm);
        cmd = new DebugCommands(null, vm, debugger);
        cmd.bindDisassembler(toy);
    }

    @AfterEach
    void stop() {
        if (vm != null) {
            vm.stop(0, "test over");
        }
    }

    @Test
    void disListsFromPcMarksRipAndPadsTheBytes() throws Exception {
        boot();
        assertEquals("""
                => 00007c00:  90           nop
                   00007c01:  90           nop
                   00007c02:  e6 e9        out 0xe9, al
                   00007c04:  90           nop
                   00007c05:  eb f9        jmp 0x7c00
                """, cmd.dis("pc", "5"));
        assertTrue(toy.bits.stream().allMatch(b -> b == 16), "real mode, CS.D = 0: 16-bit code " + toy.bits);
    }

    @Test
    void defaultIsTenInstructionsAtRipAndBadBytesShowOneByOne() throws Exception {
        boot();
        String out = cmd.dis();
        List<String> lines = out.lines().toList();
        assertEquals(10, lines.size(), out);
        assertTrue(lines.get(0).startsWith("=> 00007c00:"), out);
        assertEquals("   00007c07:  00           (bad)", lines.get(5), "the sector's zeros are no toy instruction");
        assertEquals("   00007c08:  00           (bad)", lines.get(6));
    }

    @Test
    void theMarkFollowsRipAfterAStepAndAddressesMayBeSegOff() throws Exception {
        boot();
        assertTrue(cmd.step("2").endsWith("0000:7c02 (linear 0x7c02): e6 e9  out 0xe9, al"), "step shows the next instruction");
        String out = cmd.dis("0000:7c00", "3");
        assertEquals("""
                   00007c00:  90           nop
                   00007c01:  90           nop
                => 00007c02:  e6 e9        out 0xe9, al
                """, out);
    }

    @Test
    void breakpointsAreHiddenFromTheListing() throws Exception {
        boot();
        cmd._break("0x7c01");
        assertEquals("   00007c01:  90           nop\n", cmd.dis("0x7c01", "1"), "the original byte, not the INT3");
    }

    @Test
    void xSlashIUsesTheDisassemblerWithoutAMarkColumn() throws Exception {
        boot();
        assertEquals("""
                00007c02:  e6 e9        out 0xe9, al
                00007c04:  90           nop
                """, cmd.x("/2i", "0x7c02"));
        cmd.unbindDisassembler(toy);
        assertEquals("00007c02: e6 e9\n00007c04: 90\n", cmd.x("/2i", "0x7c02"), "without the service: the bytes");
    }

    @Test
    void unmappedMemoryEndsTheListingWithTheFaultAddress() throws Exception {
        boot();
        long end = 2L << 20; // the toy's RAM: linear addresses beyond it do not translate
        debugger.requireProcessorState();
        debugger.write(end - 2, new byte[] {(byte) ToyCpu.NOP, (byte) ToyCpu.NOP}, true);
        String out = cmd.dis(String.format("0x%x", end - 2), "4");
        assertEquals(String.format("""
                   %08x:  90           nop
                   %08x:  90           nop
                Cannot access memory at address 0x%x (not mapped by the guest's paging)
                """, end - 2, end - 1, end), out);
    }

    @Test
    void errorsAreOneLine() throws Exception {
        boot();
        assertTrue(cmd.dis("pc", "0").startsWith("vm:dis: the count must be 1 to"));
        assertTrue(cmd.dis("pc", "many").contains("not a number"));
        assertTrue(cmd.dis("nowhere").startsWith("vm:dis: 'nowhere' is not an address"));
        assertTrue(cmd.dis("$bogus").startsWith("vm:dis: unknown register"));
        assertTrue(cmd.dis("a", "b", "c").startsWith("usage: vm:dis"));
        cmd.unbindDisassembler(toy);
        String none = cmd.dis();
        assertTrue(none.startsWith("vm:dis: no disassembler") && !none.contains("\n"), none);
        cmd.unbindDisassembler(new ToyDisassembler());
        cmd.bindDisassembler(toy);
        assertTrue(cmd.dis("pc", "1").contains("nop"));
    }

    @Test
    void aThrowingServiceShowsBadInsteadOfFailingTheCommand() throws Exception {
        boot();
        cmd.bindDisassembler((bytes, offset, address, codeBits, out) -> {
            throw new IllegalStateException("broken service");
        });
        String out = cmd.dis("0x7c00", "2");
        assertEquals("=> 00007c00:  90           (bad)\n   00007c01:  90           (bad)\n", out);
    }
}
