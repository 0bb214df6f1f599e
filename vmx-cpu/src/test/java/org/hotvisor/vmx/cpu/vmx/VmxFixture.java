package org.hotvisor.vmx.cpu.vmx;

import static org.hotvisor.api.vmx.VmcsField.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.hotvisor.api.vmx.ExitControl;
import org.hotvisor.api.vmx.LogicalProcessor;
import org.hotvisor.api.vmx.ProcessorControl;
import org.hotvisor.api.vmx.SecondaryControl;
import org.hotvisor.api.vmx.VmcsField;
import org.hotvisor.api.vmx.VmxStatus;

/**
 * Host memory map and the canonical VMCS of the tests: a real-mode guest at 0000:7C00 with
 * unrestricted guest and EPT, and a conventional 64-bit host. These are the values the kernel's
 * run loop writes.
 */
final class VmxFixture {

    static final int HOST_MEMORY_SIZE = 64 * 1024;
    static final int GUEST_RAM_SIZE = 1024 * 1024;
    static final long VMXON_REGION = 0x1000;
    static final long VMCS_A = 0x2000;
    static final long VMCS_B = 0x3000;
    static final long EPT_PML4 = 0x4000;
    static final long IO_BITMAP_A_PAGE = 0x5000;
    static final long IO_BITMAP_B_PAGE = 0x6000;
    static final long MSR_BITMAP_PAGE = 0x7000;
    static final long MSR_AREA = 0x8000;
    static final long LINK_VMCS = 0x9000;

    static final long GUEST_START = 0x7C00;
    /** CPUID; CPUID; HLT at 0000:7C00. */
    static final byte[] GUEST_CODE = {0x0F, (byte) 0xA2, 0x0F, (byte) 0xA2, (byte) 0xF4};

    static final int PIN = VmxCapabilities.PIN_TRUE_MUST_BE_1;                              // 0x17
    static final int PROC = VmxCapabilities.PROC_TRUE_MUST_BE_1 | ProcessorControl.HLT_EXITING.mask()
            | ProcessorControl.ACTIVATE_SECONDARY_CONTROLS.mask();                            // 0x840061F2
    static final int PROC2 = SecondaryControl.ENABLE_EPT.mask() | SecondaryControl.UNRESTRICTED_GUEST.mask(); // 0x82
    static final int EXIT = VmxCapabilities.EXIT_TRUE_MUST_BE_1 | ExitControl.HOST_ADDRESS_SPACE_SIZE.mask(); // 0x36FFB
    static final int ENTRY = VmxCapabilities.ENTRY_TRUE_MUST_BE_1;                           // 0x11FB
    static final long EPTP = EPT_PML4 | 6 | 3 << 3;                                          // WB, 4-level walk

    static final long HOST_CR0_VALUE = 0x8005_0033L;
    static final long HOST_CR4_VALUE = 0x2020L;
    static final long GUEST_CR0_VALUE = 0x30L;   // ET | NE, PE = PG = 0 (unrestricted guest)
    static final long GUEST_CR4_VALUE = 0x2000L; // VMXE (CR4_FIXED0), hidden by the read shadow

    final byte[] hostMemory = new byte[HOST_MEMORY_SIZE];
    final byte[] guestRam = new byte[GUEST_RAM_SIZE];

    VmxFixture() {
        writeRevision(VMXON_REGION);
        writeRevision(VMCS_A);
        writeRevision(VMCS_B);
        System.arraycopy(GUEST_CODE, 0, guestRam, (int) GUEST_START, GUEST_CODE.length);
    }

    void writeRevision(long address) {
        Vmcs.writeInt(hostMemory, (int) address, VmxCapabilities.VMCS_REVISION_ID);
    }

    VmxLogicalProcessor processor() {
        return new VmxLogicalProcessor(guestRam, hostMemory);
    }

    /** VMXON, VMCLEAR and VMPTRLD of VMCS A. */
    VmxLogicalProcessor processorWithCurrentVmcs() {
        VmxLogicalProcessor p = processor();
        assertEquals(VmxStatus.SUCCEED, p.vmxon(VMXON_REGION));
        assertEquals(VmxStatus.SUCCEED, p.vmclear(VMCS_A));
        assertEquals(VmxStatus.SUCCEED, p.vmptrld(VMCS_A));
        return p;
    }

    /** A processor whose current VMCS holds the complete real-mode set-up. */
    VmxLogicalProcessor readyProcessor() {
        VmxLogicalProcessor p = processorWithCurrentVmcs();
        writeRealModeVmcs(p);
        return p;
    }

    static void write(LogicalProcessor p, VmcsField field, long value) {
        assertEquals(VmxStatus.SUCCEED, p.vmwrite(field, value), field.name());
    }

    static void writeRealModeVmcs(LogicalProcessor p) {
        // controls
        write(p, PIN_BASED_VM_EXEC_CONTROL, PIN);
        write(p, CPU_BASED_VM_EXEC_CONTROL, PROC);
        write(p, SECONDARY_VM_EXEC_CONTROL, PROC2);
        write(p, VM_EXIT_CONTROLS, EXIT);
        write(p, VM_ENTRY_CONTROLS, ENTRY);
        write(p, EPT_POINTER, EPTP);
        write(p, VMCS_LINK_POINTER, -1L);
        write(p, EXCEPTION_BITMAP, 0);
        write(p, CR0_GUEST_HOST_MASK, 0x20);
        write(p, CR0_READ_SHADOW, 0x10);
        write(p, CR4_GUEST_HOST_MASK, 0x2000);
        write(p, CR4_READ_SHADOW, 0);
        // host state
        write(p, HOST_CR0, HOST_CR0_VALUE);
        write(p, HOST_CR3, 0x10_0000);
        write(p, HOST_CR4, HOST_CR4_VALUE);
        write(p, HOST_CS_SELECTOR, 0x10);
        write(p, HOST_SS_SELECTOR, 0x18);
        write(p, HOST_DS_SELECTOR, 0);
        write(p, HOST_ES_SELECTOR, 0);
        write(p, HOST_FS_SELECTOR, 0);
        write(p, HOST_GS_SELECTOR, 0);
        write(p, HOST_TR_SELECTOR, 0x40);
        write(p, HOST_RIP, 0xFFFF_FFFF_8100_0000L);
        write(p, HOST_RSP, 0xFFFF_C900_0000_0000L);
        // guest state: real mode at 0000:7C00
        VmcsField[] selectors = {GUEST_ES_SELECTOR, GUEST_SS_SELECTOR, GUEST_DS_SELECTOR, GUEST_FS_SELECTOR, GUEST_GS_SELECTOR};
        VmcsField[] bases = {GUEST_ES_BASE, GUEST_SS_BASE, GUEST_DS_BASE, GUEST_FS_BASE, GUEST_GS_BASE};
        VmcsField[] limits = {GUEST_ES_LIMIT, GUEST_SS_LIMIT, GUEST_DS_LIMIT, GUEST_FS_LIMIT, GUEST_GS_LIMIT};
        VmcsField[] rights = {GUEST_ES_AR_BYTES, GUEST_SS_AR_BYTES, GUEST_DS_AR_BYTES, GUEST_FS_AR_BYTES, GUEST_GS_AR_BYTES};
        for (int i = 0; i < selectors.length; i++) {
            write(p, selectors[i], 0);
            write(p, bases[i], 0);
            write(p, limits[i], 0xFFFF);
            write(p, rights[i], 0x93);
        }
        write(p, GUEST_CS_SELECTOR, 0);
        write(p, GUEST_CS_BASE, 0);
        write(p, GUEST_CS_LIMIT, 0xFFFF);
        write(p, GUEST_CS_AR_BYTES, 0x9B);
        write(p, GUEST_LDTR_SELECTOR, 0);
        write(p, GUEST_LDTR_BASE, 0);
        write(p, GUEST_LDTR_LIMIT, 0xFFFF);
        write(p, GUEST_LDTR_AR_BYTES, 0x82);
        write(p, GUEST_TR_SELECTOR, 0);
        write(p, GUEST_TR_BASE, 0);
        write(p, GUEST_TR_LIMIT, 0xFFFF);
        write(p, GUEST_TR_AR_BYTES, 0x8B);
        write(p, GUEST_GDTR_BASE, 0);
        write(p, GUEST_GDTR_LIMIT, 0xFFFF);
        write(p, GUEST_IDTR_BASE, 0);
        write(p, GUEST_IDTR_LIMIT, 0x3FF);
        write(p, GUEST_CR0, GUEST_CR0_VALUE);
        write(p, GUEST_CR3, 0);
        write(p, GUEST_CR4, GUEST_CR4_VALUE);
        write(p, GUEST_DR7, 0x400);
        write(p, GUEST_RIP, GUEST_START);
        write(p, GUEST_RSP, 0x7000);
        write(p, GUEST_RFLAGS, 0x2);
        write(p, GUEST_ACTIVITY_STATE, 0);
        write(p, GUEST_INTERRUPTIBILITY_INFO, 0);
        write(p, GUEST_PENDING_DBG_EXCEPTIONS, 0);
        write(p, VM_ENTRY_INTR_INFO_FIELD, 0);
    }
}
