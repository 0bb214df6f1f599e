package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.Guest.hex;
import static org.hotvisor.vmx.cpu.x86.X86Core.ESP;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** LOCK-prefixed read-modify-writes are atomic between processors that share guest RAM (SDM 3A 9.1.2). */
class LockedOperationsTest {
    static final int EXIT_HLT = 12;
    static final int ROUNDS = 200_000;
    // mov ecx, 200000 / l: lock inc dword [0x200000] / lock add dword [0x200004], 1 / dec ecx / jnz l / hlt
    static final byte[] COUNT = hex("b9400d0300" + "f0ff0500002000" + "f08305040020" + "0001" + "4975ee" + "f4");

    private static Guest processor(byte[] ram, boolean compiled) {
        Guest g = new Guest(ram).flat32(0x100000);
        g.core.controls.procBased |= Guest.PROC_HLT_EXITING;
        g.core.compileBlocks = compiled;
        g.core.compileThreshold = 1;
        g.core.gpr[ESP] = 0x9000;
        return g;
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void twoProcessorsCountingWithLockLoseNoIncrement(boolean compiled) throws Exception {
        byte[] ram = new byte[1 << 22];
        System.arraycopy(COUNT, 0, ram, 0x100000, COUNT.length);
        Guest a = processor(ram, compiled), b = processor(ram, compiled);
        int[] exits = new int[2];
        Thread other = new Thread(() -> exits[1] = b.run());
        other.start();
        exits[0] = a.run();
        other.join();
        assertEquals(EXIT_HLT, exits[0]);
        assertEquals(EXIT_HLT, exits[1]);
        assertEquals(2 * ROUNDS, readInt(ram, 0x200000), "LOCK INC");
        assertEquals(2 * ROUNDS, readInt(ram, 0x200004), "LOCK ADD");
    }

    private static int readInt(byte[] ram, int a) {
        return (ram[a] & 0xFF) | (ram[a + 1] & 0xFF) << 8 | (ram[a + 2] & 0xFF) << 16 | (ram[a + 3] & 0xFF) << 24;
    }
}
