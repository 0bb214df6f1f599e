package org.hotvisor.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue #3: with "descriptor-table exiting" on (SDM 3C 26.1.3), SGDT/SIDT/LGDT/LIDT exit with
 * reason 46 and SLDT/STR/LLDT/LTR with reason 47; the kernel's default emulates each one and the
 * guest goes on. The guest (descriptor-tables.asm) checks every result itself and prints PASS;
 * the trace shows each exit with the displacement as qualification (SDM 3C 28.2.1) and its length.
 * INVLPG (14) and INVPCID (58), the other exits a tester switches on, must reach the TLB: the
 * paging guest (tlb-invalidation.asm) rewrites a PTE the TLB holds and reads through it again.
 */
class DescriptorTableExitsIT {
    private static final int PASS_STATUS = (4 << 1) | 1;
    private static final int GDTR_IDTR = 46, LDTR_TR = 47;

    /** reason, qualification, instruction length, RIP: from nasm's listing of descriptor-tables.asm. */
    private static final Object[][] EXITS = {
        {GDTR_IDTR, "0x7d88", 5, 0x7c0a}, // real mode: lgdt [gdt1_ptr] (disp16)
        {GDTR_IDTR, "0x7d9c", 7, 0x7c37}, // sgdt [sgdt_buf]
        {GDTR_IDTR, "0x7d94", 7, 0x7c5e}, // lidt [idt_ptr]
        {GDTR_IDTR, "0x4", 4, 0x7c6a},    // sidt [ebx+4]
        {GDTR_IDTR, "0x7d8e", 7, 0x7c8d}, // lgdt [gdt2_ptr]
        {LDTR_TR, "0x0", 3, 0x7cad},      // lldt ax: a register operand, qualification 0
        {LDTR_TR, "0x7d9a", 7, 0x7cc5},   // ltr [tss_sel]
        {LDTR_TR, "0x7da8", 7, 0x7cd7},   // sldt [sldt_buf]
        {LDTR_TR, "0x0", 4, 0x7cef},      // str cx (0x66 prefix)
    };

    private record Run(Hotvisor.Result result, List<String> trace) {
        List<String> reasons(int... reasons) {
            return trace.stream().filter(l -> {
                for (int r : reasons) {
                    if (l.contains(String.format("\"reason\":%d,", r))) {
                        return true;
                    }
                }
                return false;
            }).toList();
        }

        @Override
        public String toString() {
            return result + "\ntrace:\n" + String.join("\n", trace);
        }
    }

    private static Run run(String... set) throws Exception {
        return run(Hotvisor.guest("descriptor-tables"), set);
    }

    private static Run run(Path image, String... set) throws Exception {
        Path trace = Hotvisor.tempFile("trace", ".jsonl");
        List<String> args = new java.util.ArrayList<>(List.of("run", image.toString(),
                "--trace", trace.toString(), "--timeout", "60"));
        for (String s : set) {
            args.addAll(List.of("--set", s));
        }
        Hotvisor.Result r = Hotvisor.run(args.toArray(String[]::new));
        Run run = new Run(r, Files.readAllLines(trace, StandardCharsets.UTF_8));
        Files.deleteIfExists(trace);
        return run;
    }

    @Test
    void everyDescriptorTableInstructionExitsAndIsEmulated() throws Exception {
        Run r = run("descriptor-table-exiting=on");
        assertEquals(PASS_STATUS, r.result().status(), r.toString());
        assertEquals("PASS\n", r.result().stdout(), r.toString());
        List<String> exits = r.reasons(GDTR_IDTR, LDTR_TR);
        assertEquals(EXITS.length, exits.size(), "one exit per instruction, in program order\n" + r);
        for (int i = 0; i < EXITS.length; i++) {
            String line = exits.get(i);
            String expected = String.format("\"reason\":%d,", (Integer) EXITS[i][0]);
            String rest = String.format("\"qualification\":\"%s\",\"length\":%d,\"rip\":\"0x%x\"", EXITS[i][1], EXITS[i][2], EXITS[i][3]);
            assertTrue(line.contains(expected) && line.contains(rest), "exit " + i + ": expected " + expected + " " + rest + "\n" + r);
        }
        assertEquals(8, exits.stream().filter(l -> !l.contains("\"rip\":\"0x7c0a\"")).count(),
                "eight exits in protected mode\n" + r);
    }

    @Test
    void withoutTheControlTheSameGuestPassesWithNoDescriptorTableExit() throws Exception {
        Run r = run();
        assertEquals(PASS_STATUS, r.result().status(), r.toString());
        assertEquals("PASS\n", r.result().stdout(), r.toString());
        assertTrue(r.reasons(GDTR_IDTR, LDTR_TR).isEmpty(), "the processor executes them itself\n" + r);
    }

    @Test
    void anExitingInvlpgStillDropsTheStaleTranslation() throws Exception {
        Run r = run(Hotvisor.guest("tlb-invalidation"), "invlpg-exiting=on");
        assertEquals(PASS_STATUS, r.result().status(), r.toString());
        assertEquals("PASS\n", r.result().stdout(), r.toString());
        List<String> exits = r.reasons(14);
        assertEquals(1, exits.size(), r.toString());
        assertTrue(exits.get(0).contains("\"qualification\":\"0x400000\",\"length\":7,\"rip\":\"0x7ca1\""),
                "qualification: the linear address (SDM 3C 28.2.1)\n" + r);
    }

    @Test
    void anExitingInvpcidOfTypes0And2DropsTheStaleTranslation() throws Exception {
        Run r = run(Hotvisor.guest("tlb-invalidation", "INVPCID"), "enable-invpcid=on,invlpg-exiting=on");
        assertEquals(PASS_STATUS, r.result().status(), r.toString());
        assertEquals("PASS\n", r.result().stdout(), r.toString());
        List<String> exits = r.reasons(58);
        assertEquals(2, exits.size(), r.toString());
        assertTrue(exits.get(0).contains("\"qualification\":\"0x7d20\",\"length\":9,\"rip\":\"0x7ca3\""),
                "qualification: the displacement of [descriptor]\n" + r);
    }
}
