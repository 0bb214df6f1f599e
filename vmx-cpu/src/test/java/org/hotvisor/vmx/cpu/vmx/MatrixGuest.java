package org.hotvisor.vmx.cpu.vmx;

import static org.hotvisor.api.vmx.VmcsField.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.hotvisor.api.vmx.VmcsField;
import org.hotvisor.api.vmx.VmxStatus;
import org.hotvisor.vmx.cpu.x86.X86Core;

/**
 * A flat 32-bit protected-mode guest (CPL 0, paging off) under a real VMLAUNCH, on top of
 * {@link VmxFixture}: GDT, IDT (every vector to a HLT at {@link #HANDLER}), a TSS, the exception
 * bitmap all ones (faults exit with reason 0) and HLT exiting on. A test edits the controls and
 * guest state through the helpers, then {@link #run} places a code snippet and a HLT at
 * {@link #CODE} and launches.
 */
final class MatrixGuest {
    static final long GDT = 0x1000, IDT = 0x2000, AREA = 0x3000, TSS = 0x4000, PAGE_DIRECTORY = 0x5000,
            STACK = 0x8000, HANDLER = 0x9000, CODE = 0x10000;
    static final int SEL_CODE0 = 0x08, SEL_DATA0 = 0x10, SEL_TSS = 0x18, SEL_CODE3 = 0x23, SEL_DATA3 = 0x2B,
            SEL_TSS_AVAILABLE = 0x30;
    static final int GDT_ENTRIES = 7, IDT_VECTORS = 256;
    static final int AR_CODE32 = 0xC09B, AR_DATA32 = 0xC093, AR_CODE32_USER = 0xC0FB, AR_DATA32_USER = 0xC0F3,
            AR_TSS32_BUSY = 0x8B, AR_UNUSABLE = 1 << 16;
    static final long CR0_PE_ET_NE = 0x31, CR4_VMXE = 0x2000;
    static final int HLT = 0xF4;

    final VmxFixture fixture = new VmxFixture();
    final VmxLogicalProcessor p = fixture.readyProcessor();
    final X86Core core = p.core();
    int pin = VmxFixture.PIN, proc = VmxFixture.PROC, proc2 = VmxFixture.PROC2;
    long cr4 = CR4_VMXE;
    private long codeEnd;

    MatrixGuest() {
        descriptor(1, 0, 0xFFFFF, 0x9A, 0xC);   // ring-0 code
        descriptor(2, 0, 0xFFFFF, 0x92, 0xC);   // ring-0 data
        descriptor(3, TSS, 0x67, 0x8B, 0);      // the current (busy) 32-bit TSS
        descriptor(4, 0, 0xFFFFF, 0xFA, 0xC);   // ring-3 code
        descriptor(5, 0, 0xFFFFF, 0xF2, 0xC);   // ring-3 data
        descriptor(6, TSS + 0x100, 0x67, 0x89, 0);   // an available 32-bit TSS
        for (int v = 0; v < IDT_VECTORS; v++) {
            long gate = (HANDLER & 0xFFFF) | (long) SEL_CODE0 << 16 | 0x8EL << 40 | (HANDLER >>> 16) << 48;
            putLong(IDT + v * 8L, gate);
        }
        putInt(TSS + 4, STACK);       // ESP0
        putInt(TSS + 8, SEL_DATA0);   // SS0
        putShort(TSS + 102, 0x68);    // I/O map base at the limit: every port denied above IOPL
        fixture.guestRam[(int) HANDLER] = (byte) HLT;
        write(GUEST_CR0, CR0_PE_ET_NE);
        flat(SEL_CODE0, AR_CODE32, SEL_DATA0, AR_DATA32);
        write(GUEST_TR_SELECTOR, SEL_TSS);
        write(GUEST_TR_BASE, TSS);
        write(GUEST_TR_LIMIT, 0x67);
        write(GUEST_TR_AR_BYTES, AR_TSS32_BUSY);
        write(GUEST_LDTR_SELECTOR, 0);
        write(GUEST_LDTR_AR_BYTES, AR_UNUSABLE);
        write(GUEST_GDTR_BASE, GDT);
        write(GUEST_GDTR_LIMIT, GDT_ENTRIES * 8 - 1);
        write(GUEST_IDTR_BASE, IDT);
        write(GUEST_IDTR_LIMIT, IDT_VECTORS * 8 - 1);
        write(GUEST_RSP, STACK);
        write(GUEST_RIP, CODE);
        write(EXCEPTION_BITMAP, 0xFFFF_FFFFL);
        write(IO_BITMAP_A, VmxFixture.IO_BITMAP_A_PAGE);
        write(IO_BITMAP_B, VmxFixture.IO_BITMAP_B_PAGE);
        write(MSR_BITMAP, VmxFixture.MSR_BITMAP_PAGE);
    }

    private void flat(int codeSelector, int codeAr, int dataSelector, int dataAr) {
        VmcsField[][] segments = {
            {GUEST_ES_SELECTOR, GUEST_ES_BASE, GUEST_ES_LIMIT, GUEST_ES_AR_BYTES},
            {GUEST_CS_SELECTOR, GUEST_CS_BASE, GUEST_CS_LIMIT, GUEST_CS_AR_BYTES},
            {GUEST_SS_SELECTOR, GUEST_SS_BASE, GUEST_SS_LIMIT, GUEST_SS_AR_BYTES},
            {GUEST_DS_SELECTOR, GUEST_DS_BASE, GUEST_DS_LIMIT, GUEST_DS_AR_BYTES},
            {GUEST_FS_SELECTOR, GUEST_FS_BASE, GUEST_FS_LIMIT, GUEST_FS_AR_BYTES},
            {GUEST_GS_SELECTOR, GUEST_GS_BASE, GUEST_GS_LIMIT, GUEST_GS_AR_BYTES},
        };
        for (int i = 0; i < segments.length; i++) {
            boolean code = i == 1;
            write(segments[i][0], code ? codeSelector : dataSelector);
            write(segments[i][1], 0);
            write(segments[i][2], 0xFFFF_FFFFL);
            write(segments[i][3], code ? codeAr : dataAr);
        }
    }

    /** CPL 3: ring-3 flat code and data segments. */
    MatrixGuest user() {
        flat(SEL_CODE3, AR_CODE32_USER, SEL_DATA3, AR_DATA32_USER);
        return this;
    }

    /** Real mode with CS base {@link #CODE} (IP 0), unrestricted guest. */
    MatrixGuest realMode() {
        VmxFixture.writeRealModeVmcs(p);
        write(GUEST_CS_SELECTOR, CODE >>> 4);
        write(GUEST_CS_BASE, CODE);
        write(GUEST_RIP, 0);
        write(EXCEPTION_BITMAP, 0xFFFF_FFFFL);
        return this;
    }

    /** 32-bit paging with one 4-MByte page mapping [0, 4M) and nothing above. */
    MatrixGuest paging() {
        putInt(PAGE_DIRECTORY, 0x83);   // present, writable, PS
        write(GUEST_CR3, PAGE_DIRECTORY);
        cr4(0x10);                       // PSE
        write(GUEST_CR0, CR0_PE_ET_NE | 1L << 31);
        return this;
    }

    MatrixGuest proc(int bits) {
        proc |= bits;
        return write(CPU_BASED_VM_EXEC_CONTROL, proc);
    }

    MatrixGuest procOff(int bits) {
        proc &= ~bits;
        return write(CPU_BASED_VM_EXEC_CONTROL, proc);
    }

    /** Sets secondary controls (and activates them). */
    MatrixGuest proc2(int bits) {
        proc2 |= bits;
        proc(org.hotvisor.api.vmx.ProcessorControl.ACTIVATE_SECONDARY_CONTROLS.mask());
        return write(SECONDARY_VM_EXEC_CONTROL, proc2);
    }

    MatrixGuest pin(int bits) {
        pin |= bits;
        return write(PIN_BASED_VM_EXEC_CONTROL, pin);
    }

    MatrixGuest cr4(long bits) {
        cr4 |= bits;
        return write(GUEST_CR4, cr4);
    }

    MatrixGuest cr4Off(long bits) {
        cr4 &= ~bits;
        return write(GUEST_CR4, cr4);
    }

    MatrixGuest gpr(int index, long value) {
        p.setGpr(index, value);
        return this;
    }

    MatrixGuest write(VmcsField field, long value) {
        VmxFixture.write(p, field, value);
        return this;
    }

    long read(VmcsField field) {
        return p.vmread(field);
    }

    void descriptor(int index, long base, long limit, int access, int flags) {
        long d = (limit & 0xFFFF) | (base & 0xFFFFFF) << 16 | (long) (access & 0xFF) << 40
                | ((limit >>> 16) & 0xF) << 48 | (long) (flags & 0xF) << 52 | ((base >>> 24) & 0xFF) << 56;
        putLong(GDT + index * 8L, d);
    }

    void putLong(long address, long value) {
        Vmcs.writeLong(fixture.guestRam, (int) address, value);
    }

    void putInt(long address, long value) {
        Vmcs.writeInt(fixture.guestRam, (int) address, (int) value);
    }

    void putShort(long address, int value) {
        fixture.guestRam[(int) address] = (byte) value;
        fixture.guestRam[(int) address + 1] = (byte) (value >>> 8);
    }

    void hostBit(long base, int bit) {
        fixture.hostMemory[(int) (base + (bit >>> 3))] |= (byte) (1 << (bit & 7));
    }

    /** Where the snippet of the last {@link #run} ended (its trailing HLT). */
    long codeEnd() {
        return codeEnd;
    }

    /** Places {@code code} and a HLT at {@link #CODE}, launches, and returns the basic exit reason. */
    int run(byte[] code) {
        System.arraycopy(code, 0, fixture.guestRam, (int) CODE, code.length);
        fixture.guestRam[(int) CODE + code.length] = (byte) HLT;
        codeEnd = CODE + code.length;
        assertEquals(VmxStatus.SUCCEED, p.vmlaunch());
        assertNull(p.lastEntryFailure());
        assertEquals(0, read(VM_EXIT_REASON) >>> 31, "not a VM-entry failure");
        return (int) read(VM_EXIT_REASON) & 0xFFFF;
    }
}
