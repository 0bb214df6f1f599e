package org.hotvisor.vmx.cpu.vmx;

import static org.hotvisor.api.vmx.VmcsField.*;
import static org.hotvisor.vmx.cpu.vmx.VmxFixture.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.hotvisor.api.ExitReason;
import org.hotvisor.api.vmx.EntryControl;
import org.hotvisor.api.vmx.ExitControl;
import org.hotvisor.api.vmx.VmxStatus;
import org.junit.jupiter.api.Test;

/**
 * VM entry into an IA-32e mode guest (SDM 3C 27.3.1.1-27.3.1.2: "IA-32e mode guest" with CR0.PG,
 * CR4.PAE, EFER.LMA/LME, CS.L) and the exit that saves 64-bit state and EFER.LMA back into the
 * entry control (SDM 3C 28.2, 28.3).
 */
class LongModeGuestTest {
    static final long PML4 = 0x10000, PDPT = 0x11000, PD = 0x12000;
    static final long CR0_64 = 0x8000_0031L;       // PG | NE | ET | PE
    static final long CR4_64 = 0x2020L;            // VMXE | PAE
    static final long EFER_64 = 0x500L;            // LMA | LME
    static final int AR_CODE64 = 0xA09B, AR_DATA = 0xC093, AR_TSS64_BUSY = 0x8B, AR_UNUSABLE = 1 << 16;
    // mov rax, 0x1122334455667788 / mov r9, rax / cpuid / hlt
    static final byte[] CODE = {0x48, (byte) 0xB8, (byte) 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x49,
        (byte) 0x89, (byte) 0xC1, 0x0F, (byte) 0xA2, (byte) 0xF4};

    private final VmxFixture fixture = new VmxFixture();
    private final VmxLogicalProcessor p = fixture.readyProcessor();

    private void longModeGuest() {
        byte[] ram = fixture.guestRam;
        putLong(ram, PML4, PDPT | 7);
        putLong(ram, PDPT, PD | 7);
        putLong(ram, PD, 0x87);                     // a 2-MByte identity page
        System.arraycopy(CODE, 0, ram, (int) GUEST_START, CODE.length);
        write(p, VM_ENTRY_CONTROLS, ENTRY | EntryControl.IA32E_MODE_GUEST.mask() | EntryControl.LOAD_IA32_EFER.mask());
        write(p, VM_EXIT_CONTROLS, EXIT | ExitControl.SAVE_IA32_EFER.mask());
        write(p, GUEST_IA32_EFER, EFER_64);
        write(p, GUEST_CR0, CR0_64);
        write(p, GUEST_CR3, PML4);
        write(p, GUEST_CR4, CR4_64);
        write(p, GUEST_CS_SELECTOR, 8);
        write(p, GUEST_CS_LIMIT, 0xFFFF_FFFFL);
        write(p, GUEST_CS_AR_BYTES, AR_CODE64);
        for (var f : new org.hotvisor.api.vmx.VmcsField[] {GUEST_SS_SELECTOR, GUEST_DS_SELECTOR, GUEST_ES_SELECTOR,
            GUEST_FS_SELECTOR, GUEST_GS_SELECTOR}) {
            write(p, f, 0x10);
        }
        for (var f : new org.hotvisor.api.vmx.VmcsField[] {GUEST_SS_LIMIT, GUEST_DS_LIMIT, GUEST_ES_LIMIT,
            GUEST_FS_LIMIT, GUEST_GS_LIMIT}) {
            write(p, f, 0xFFFF_FFFFL);
        }
        for (var f : new org.hotvisor.api.vmx.VmcsField[] {GUEST_SS_AR_BYTES, GUEST_DS_AR_BYTES, GUEST_ES_AR_BYTES,
            GUEST_FS_AR_BYTES, GUEST_GS_AR_BYTES}) {
            write(p, f, AR_DATA);
        }
        write(p, GUEST_FS_BASE, 0xFFFF_8000_0000_0000L);   // a 64-bit canonical base survives the round trip
        write(p, GUEST_TR_SELECTOR, 0x18);
        write(p, GUEST_TR_LIMIT, 0x67);
        write(p, GUEST_TR_AR_BYTES, AR_TSS64_BUSY);
        write(p, GUEST_LDTR_AR_BYTES, AR_UNUSABLE);
        write(p, GUEST_RSP, 0x7000);
    }

    private static void putLong(byte[] ram, long a, long v) {
        for (int i = 0; i < 8; i++) {
            ram[(int) a + i] = (byte) (v >>> (8 * i));
        }
    }

    @Test
    void sixtyFourBitGuestRunsAndItsStateComesBackAtTheExit() {
        longModeGuest();
        p.setGpr(12, 0xAAAA_BBBB_CCCC_DDDDL);
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertNull(p.lastEntryFailure());
        assertEquals(ExitReason.CPUID.number(), p.vmread(VM_EXIT_REASON));
        assertEquals(GUEST_START + 13, p.vmread(GUEST_RIP));
        assertEquals(2, p.vmread(VM_EXIT_INSTRUCTION_LEN));
        assertEquals(0x1122_3344_5566_7788L, p.gpr(0), "RAX keeps all 64 bits across the exit");
        assertEquals(0x1122_3344_5566_7788L, p.gpr(9), "R9 (REX.B)");
        assertEquals(0xAAAA_BBBB_CCCC_DDDDL, p.gpr(12), "R12 untouched");
        assertTrue(EntryControl.IA32E_MODE_GUEST.isSet((int) p.vmread(VM_ENTRY_CONTROLS)),
                "SDM 3C 28.2: EFER.LMA is stored into the IA-32e mode guest control");
        assertEquals(EFER_64, p.vmread(GUEST_IA32_EFER));
        assertEquals(0xFFFF_8000_0000_0000L, p.vmread(GUEST_FS_BASE));

        p.vmwrite(GUEST_RIP, GUEST_START + 15);
        assertEquals(VmxStatus.SUCCEED, p.vmresume());
        assertEquals(ExitReason.HLT.number(), p.vmread(VM_EXIT_REASON));
    }

    @Test
    void ripRelativeOperandQualificationIsTheDisplacementPlusTheNextRip() {
        longModeGuest();
        byte[] sgdt = {0x0F, 0x01, 0x05, 0x00, 0x01, 0x00, 0x00}; // sgdt [rip+0x100]
        System.arraycopy(sgdt, 0, fixture.guestRam, (int) GUEST_START, sgdt.length);
        write(p, CPU_BASED_VM_EXEC_CONTROL, p.vmread(CPU_BASED_VM_EXEC_CONTROL)
                | org.hotvisor.api.vmx.ProcessorControl.ACTIVATE_SECONDARY_CONTROLS.mask());
        write(p, SECONDARY_VM_EXEC_CONTROL, p.vmread(SECONDARY_VM_EXEC_CONTROL)
                | org.hotvisor.api.vmx.SecondaryControl.DESCRIPTOR_TABLE_EXITING.mask());
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertNull(p.lastEntryFailure());
        assertEquals(ExitReason.GDTR_IDTR_ACCESS.number(), p.vmread(VM_EXIT_REASON));
        assertEquals(GUEST_START + sgdt.length + 0x100, p.vmread(EXIT_QUALIFICATION),
                "SDM 3C 28.2.1: RIP-relative: displacement plus the RIP of the next instruction");
    }

    @Test
    void guestCr4WithPcideAndFsgsbaseEntersBecauseFixed1AllowsThem() {
        longModeGuest();
        write(p, GUEST_CR4, CR4_64 | VmxCapabilities.CR4_PCIDE | VmxCapabilities.CR4_FSGSBASE);
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertNull(p.lastEntryFailure());
        assertEquals(ExitReason.CPUID.number(), p.vmread(VM_EXIT_REASON));
        long fixed1 = VmxCapabilities.msr(VmxCapabilities.IA32_VMX_CR4_FIXED1);
        assertEquals(VmxCapabilities.CR4_PCIDE | VmxCapabilities.CR4_FSGSBASE,
                fixed1 & (VmxCapabilities.CR4_PCIDE | VmxCapabilities.CR4_FSGSBASE));
    }

    @Test
    void sixtyFourBitCodeSegmentWithDSetFailsTheGuestChecks() {
        longModeGuest();
        write(p, GUEST_CS_AR_BYTES, AR_CODE64 | 1 << 14);   // L = 1 and D = 1
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertEquals(ExitReason.ENTRY_FAILURE_GUEST_STATE.number() | 1L << 31, p.vmread(VM_EXIT_REASON));
    }

    @Test
    void ripAbove4GiBIsFineIn64BitModeButNotInCompatibilityMode() {
        longModeGuest();
        write(p, GUEST_RIP, 0x1_0000_7C00L);
        write(p, GUEST_CS_AR_BYTES, 0xC09B);   // 32-bit code (compatibility mode): RIP bits 63:32 must be 0
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertEquals(ExitReason.ENTRY_FAILURE_GUEST_STATE.number() | 1L << 31, p.vmread(VM_EXIT_REASON));
        assertTrue(p.lastEntryFailure().contains("RIP"), p.lastEntryFailure());
    }
}
