package org.hotvisor.vmx.cpu.vmx;

import static org.hotvisor.api.vmx.VmcsField.*;
import static org.hotvisor.vmx.cpu.vmx.VmxFixture.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.hotvisor.api.vmx.VmxStatus;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A VM entry resumes through the successor cache of the block that took the last exit. Whatever
 * the VMM does between the exit and the entry, the guest must run the code now at its RIP: the
 * cache may never hand out a block for other bytes, another RIP or another CS base.
 *
 * <p>The real-mode guest of {@link VmxFixture} loops: {@code cpuid; mov ax, IMM; cpuid; jmp start}.
 * The second CPUID's exit shows AX. The loop runs often enough for its blocks to be compiled.
 */
class ResumeBlockTest {
    static final int EXIT_CPUID = 10;
    static final int MOV_OFFSET = 2;          // mov ax, imm16 (B8 iw) after the first CPUID
    static final int SECOND_CPUID = 5;
    static final int WARM_ROUNDS = 200;       // above the block compiler's threshold

    final VmxFixture fixture = new VmxFixture();
    VmxLogicalProcessor p;

    @BeforeEach
    void ready() {
        p = fixture.readyProcessor();
        loop(GUEST_START, 0x1111);
    }

    /** The loop at linear address {@code at}, moving {@code imm} into AX. */
    void loop(long at, int imm) {
        int[] code = {0x0F, 0xA2, 0xB8, imm & 0xFF, imm >>> 8, 0x0F, 0xA2, 0xEB, 0xF7}; // jmp -9: back to the start
        for (int i = 0; i < code.length; i++) {
            fixture.guestRam[(int) at + i] = (byte) code[i];
        }
        p.invalidateCode(at, code.length);
    }

    long enter(boolean launch) {
        assertEquals(VmxStatus.SUCCEED, launch ? p.vmlaunch() : p.vmresume(), p.lastEntryFailure());
        assertEquals(EXIT_CPUID, p.vmread(VM_EXIT_REASON));
        return p.vmread(GUEST_RIP);
    }

    /** Emulates the CPUID at the exit (AX untouched) and resumes; returns the next exit's RIP. */
    long resumeAfterCpuid() {
        p.vmwrite(GUEST_RIP, p.vmread(GUEST_RIP) + p.vmread(VM_EXIT_INSTRUCTION_LEN));
        return enter(false);
    }

    /** Runs the loop until its blocks are compiled and the resume caches are warm; stops at the first CPUID. */
    void warm() {
        assertEquals(GUEST_START, enter(true));
        for (int i = 0; i < WARM_ROUNDS; i++) {
            assertEquals(GUEST_START + SECOND_CPUID, resumeAfterCpuid());
            assertEquals(0x1111, p.gpr(0) & 0xFFFF);
            assertEquals(GUEST_START, resumeAfterCpuid());
        }
    }

    @Test
    void codeTheVmmRewroteAtTheResumePointRunsAsRewritten() {
        warm();
        loop(GUEST_START, 0x2222); // the VMM's own write: the kernel's GuestRam invalidates the same way
        assertEquals(GUEST_START + SECOND_CPUID, resumeAfterCpuid());
        assertEquals(0x2222, p.gpr(0) & 0xFFFF);
    }

    @Test
    void aRipTheVmmMovedIsWhereTheGuestResumes() {
        warm();
        p.setGpr(0, 0x5555);
        p.vmwrite(GUEST_RIP, GUEST_START + SECOND_CPUID); // skip the MOV
        assertEquals(GUEST_START + SECOND_CPUID, enter(false));
        assertEquals(0x5555, p.gpr(0) & 0xFFFF, "the MOV was skipped");
    }

    @Test
    void anotherCsBaseMapsTheSameRipToOtherCode() {
        warm();
        // the same loop 64 KiB higher, with another immediate; CS moves there (real mode: base = selector << 4)
        long other = GUEST_START + 0x10000;
        loop(other, 0x3333);
        p.vmwrite(GUEST_CS_SELECTOR, 0x1000);
        p.vmwrite(GUEST_CS_BASE, 0x10000);
        assertEquals(GUEST_START + SECOND_CPUID, resumeAfterCpuid());
        assertEquals(0x3333, p.gpr(0) & 0xFFFF, "CS.base + RIP, not RIP alone, selects the code");
    }
}
