package org.hotvisor.kernel.vm;

import static org.hotvisor.kernel.vm.DescriptorTableEmulationTest.A32;
import static org.hotvisor.kernel.vm.DescriptorTableEmulationTest.A64;
import static org.hotvisor.kernel.vm.DescriptorTableEmulationTest.assertFault;
import static org.hotvisor.kernel.vm.DescriptorTableEmulationTest.mem;
import static org.hotvisor.kernel.vm.GuestOperand.DS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.List;
import org.hotvisor.api.ExitAction;
import org.junit.jupiter.api.Test;

/** Exits 14 and 58: the invalidation reaches the processor's TLB; INVPCID's #GP(0) rules (SDM 2 INVPCID). */
class TlbInvalidationTest {
    static final int GP = 13, UD = 6, PF = 14, EDX = 2, EBX = 3;

    /** INVPCID: the type in Reg2 (bits 31:28), the descriptor at [ebx] (Table 28-13). */
    static FakeExit invpcid(long type, long pcidQuadword, long address) {
        FakeExit x = new FakeExit();
        x.gprs[EDX] = type;
        x.gprs[EBX] = 0x3000;
        x.poke64(0x3000, pcidQuadword);
        x.poke64(0x3008, address);
        x.info = mem(A32, DS, EBX, -1, 0) | EDX << 28;
        return x;
    }

    @Test
    void invlpgFlushesTheProcessorTlb() {
        FakeExit x = new FakeExit();
        x.qualification = 0x40_0000;
        assertEquals(ExitAction.EMULATED, TlbInvalidation.invlpg(x, x.cpu));
        assertEquals(1, x.tlbFlushes);
    }

    @Test
    void invpcidEmulatesAllFourTypes() {
        for (int type = 0; type <= 3; type++) {
            FakeExit x = invpcid(type, 0, 0x40_0000);
            assertEquals(ExitAction.EMULATED, TlbInvalidation.invpcid(x, x.cpu), "type " + type);
            assertFalse(x.injected());
            assertEquals(1, x.tlbFlushes, "type " + type);
        }
    }

    @Test
    void invpcidTypeAbove3IsGp0AndOnlyTheLow32BitsCountOutside64BitMode() {
        FakeExit x = invpcid(4, 0, 0);
        assertFault(x, TlbInvalidation.invpcid(x, x.cpu), GP, 0);
        assertEquals(0, x.tlbFlushes, "no flush after a fault");
        FakeExit high = invpcid(0x1_0000_0002L, 0, 0);
        assertEquals(ExitAction.EMULATED, TlbInvalidation.invpcid(high, high.cpu));
        FakeExit high64 = invpcid(0x1_0000_0002L, 0, 0).longMode();
        high64.info = mem(A64, DS, EBX, -1, 0) | EDX << 28;
        assertFault(high64, TlbInvalidation.invpcid(high64, high64.cpu), GP, 0);
    }

    @Test
    void invpcidDescriptorRulesAreGp0() {
        FakeExit reserved = invpcid(2, 0x1000, 0);
        assertFault(reserved, TlbInvalidation.invpcid(reserved, reserved.cpu), GP, 0);
        FakeExit nonCanonical = invpcid(0, 0, 0x0000_8000_0000_0000L);
        assertFault(nonCanonical, TlbInvalidation.invpcid(nonCanonical, nonCanonical.cpu), GP, 0);
        for (int type : new int[] {0, 1}) {
            FakeExit pcid = invpcid(type, 5, 0);
            assertFault(pcid, TlbInvalidation.invpcid(pcid, pcid.cpu), GP, 0);
            FakeExit pcide = invpcid(type, 5, 0);
            pcide.cr4 |= TlbInvalidation.CR4_PCIDE;
            assertEquals(ExitAction.EMULATED, TlbInvalidation.invpcid(pcide, pcide.cpu));
        }
        FakeExit all = invpcid(2, 5, 0x0000_8000_0000_0000L); // PCID and address are ignored for types 2, 3
        assertEquals(ExitAction.EMULATED, TlbInvalidation.invpcid(all, all.cpu));
    }

    @Test
    void invpcidAtCpl3IsGp0InRealModeUdAndWithAnUnmappedDescriptorPf() {
        FakeExit user = invpcid(0, 0, 0).cpl(3);
        assertFault(user, TlbInvalidation.invpcid(user, user.cpu), GP, 0);
        FakeExit real = invpcid(0, 0, 0);
        real.cr0 = 0x10;
        assertFault(real, TlbInvalidation.invpcid(real, real.cpu), UD, -1);
        FakeExit unmapped = invpcid(3, 0, 0);
        unmapped.absentPages.add(0x3L);
        assertFault(unmapped, TlbInvalidation.invpcid(unmapped, unmapped.cpu), PF, 0);
        assertEquals(0x3000, unmapped.cr2);
    }
}
