package org.hotvisor.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The long-mode demo (guests/longmode/longmode.img) boots as a Multiboot kernel in 32-bit
 * protected mode, enables 4-level paging and IA-32e mode itself, and runs 64-bit code on the
 * VT-x CPU: the VMM sees the guest's IA32_EFER.LMA as the "IA-32e mode guest" entry control at
 * every exit and entry, and the guest's output and isa-debug-exit status match QEMU's.
 */
class LongModeIT {
    @Test
    void multibootKernelSwitchesToLongModeAndRuns64BitCode() throws Exception {
        Hotvisor.Result r = Hotvisor.run("run", Hotvisor.root().resolve("guests/longmode/longmode.img").toString(),
                "--format", "multiboot", "--mem", "32M");
        String out = r.stdout();
        assertTrue(out.contains("Hello from long mode\r\n"), r.toString());
        assertTrue(out.contains("IA32_EFER = 0x0000000000000d00"), "LME | LMA | NXE\n" + r);
        assertTrue(out.contains("CS        = 0x0000000000000018"), r.toString());
        assertTrue(out.contains("0x123456789 * 0x1000000001 = 0x3456789123456789"), r.toString());
        assertTrue(out.contains("RIP-relative address of long_mode = 0x000000000010009e"), r.toString());
        assertTrue(out.contains("INT3 through a 64-bit IDT gate, IST1 stack at 0x"), r.toString());
        assertTrue(out.contains("IRETQ back, RSP restored"), r.toString());
        assertTrue(out.contains("Long mode demo done"), r.toString());
        assertFalse(out.contains("FAIL"), r.toString());
        assertEquals(1, r.status(), "isa-debug-exit 0\n" + r);
    }
}
