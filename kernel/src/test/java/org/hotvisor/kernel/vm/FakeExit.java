package org.hotvisor.kernel.vm;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.GuestMemory;
import org.hotvisor.api.GuestRegisters;
import org.hotvisor.api.Register;
import org.hotvisor.api.Vcpu;
import org.hotvisor.api.VmExit;
import org.hotvisor.api.vmx.LogicalProcessor;
import org.hotvisor.api.vmx.VmcsField;

/**
 * One VM exit for the emulation tests: a VMCS map, the registers, 1 MByte of guest RAM with
 * linear = physical except for pages marked absent or read-only, the exception injected, and the
 * A20 calls of the processor.
 */
final class FakeExit implements VmExit, GuestRegisters {
    static final int RAM = 1 << 20;
    /** Flat 4-GByte data/code segments, VMCS access-rights format. */
    static final int AR_DATA32 = 0xC093, AR_CODE32 = 0xC09B, AR_CODE16 = 0x9B, AR_CODE64 = 0xA09B;

    final Map<Integer, Long> vmcs = new HashMap<>();
    final long[] gprs = new long[16];
    long rip = 0x1000, rflags = 2, cr0 = 0x11, cr2, cr3, cr4;
    final byte[] ram = new byte[RAM];
    final Set<Long> absentPages = new HashSet<>(), readOnlyPages = new HashSet<>();
    int tlbFlushes;
    long qualification;
    int info, length = 3;
    /** The injected exception vector (-1: none) and its error code (-1: none). */
    int injectedVector = -1, injectedErrorCode = -1;

    final GuestMemory memory = new GuestMemory() {
        @Override public long size() { return RAM; }
        @Override public int read8(long gpa) { return gpa >= 0 && gpa < RAM ? ram[(int) gpa] & 0xFF : 0xFF; }
        @Override public int read16(long gpa) { return read8(gpa) | read8(gpa + 1) << 8; }
        @Override public int read32(long gpa) { return read16(gpa) | read16(gpa + 2) << 16; }
        @Override public long read64(long gpa) { return read32(gpa) & 0xFFFF_FFFFL | (long) read32(gpa + 4) << 32; }
        @Override public void write8(long gpa, int v) {
            if (gpa >= 0 && gpa < RAM) {
                ram[(int) gpa] = (byte) v;
            }
        }
        @Override public void write16(long gpa, int v) { write8(gpa, v); write8(gpa + 1, v >> 8); }
        @Override public void write32(long gpa, int v) { write16(gpa, v); write16(gpa + 2, v >> 16); }
        @Override public void write64(long gpa, long v) { write32(gpa, (int) v); write32(gpa + 4, (int) (v >>> 32)); }
        @Override public void read(long gpa, byte[] d, int o, int n) { for (int i = 0; i < n; i++) d[o + i] = (byte) read8(gpa + i); }
        @Override public void write(long gpa, byte[] s, int o, int n) { for (int i = 0; i < n; i++) write8(gpa + i, s[o + i]); }
        @Override public long translate(long linear, boolean write) { return FakeExit.this.translate(linear, write); }
    };

    final LogicalProcessor cpu = (LogicalProcessor) Proxy.newProxyInstance(LogicalProcessor.class.getClassLoader(),
            new Class<?>[] {LogicalProcessor.class}, (proxy, m, args) -> switch (m.getName()) {
                case "translateGuestLinear" -> translate((Long) args[0], (Boolean) args[1]);
                case "flushGuestTlb" -> {
                    tlbFlushes++;
                    yield null;
                }
                default -> throw new UnsupportedOperationException(m.getName());
            });

    /** 32-bit protected mode, CPL 0, flat segments, GDTR/IDTR with sample values. */
    FakeExit() {
        for (int s = 0; s < 6; s++) {
            segment(s, 0, 0xFFFF_FFFFL, s == GuestOperand.CS ? AR_CODE32 : AR_DATA32);
        }
        set(VmcsField.GUEST_GDTR_BASE, 0x2000);
        set(VmcsField.GUEST_GDTR_LIMIT, 0xFF);
        set(VmcsField.GUEST_IDTR_BASE, 0x0012_3456L);
        set(VmcsField.GUEST_IDTR_LIMIT, 0x7FF);
        set(VmcsField.GUEST_LDTR_AR_BYTES, 0x10000);
        set(VmcsField.GUEST_TR_AR_BYTES, 0x8B);
    }

    private static final VmcsField[][] SEGMENTS = {
        {VmcsField.GUEST_ES_BASE, VmcsField.GUEST_ES_LIMIT, VmcsField.GUEST_ES_AR_BYTES},
        {VmcsField.GUEST_CS_BASE, VmcsField.GUEST_CS_LIMIT, VmcsField.GUEST_CS_AR_BYTES},
        {VmcsField.GUEST_SS_BASE, VmcsField.GUEST_SS_LIMIT, VmcsField.GUEST_SS_AR_BYTES},
        {VmcsField.GUEST_DS_BASE, VmcsField.GUEST_DS_LIMIT, VmcsField.GUEST_DS_AR_BYTES},
        {VmcsField.GUEST_FS_BASE, VmcsField.GUEST_FS_LIMIT, VmcsField.GUEST_FS_AR_BYTES},
        {VmcsField.GUEST_GS_BASE, VmcsField.GUEST_GS_LIMIT, VmcsField.GUEST_GS_AR_BYTES},
    };

    FakeExit segment(int s, long base, long limit, int ar) {
        set(SEGMENTS[s][0], base);
        set(SEGMENTS[s][1], limit);
        set(SEGMENTS[s][2], ar);
        return this;
    }

    /** CPL = SS.DPL (SDM 3C 25.4.1). */
    FakeExit cpl(int cpl) {
        set(VmcsField.GUEST_SS_AR_BYTES, (get(VmcsField.GUEST_SS_AR_BYTES) & ~0x60L) | (long) cpl << 5);
        return this;
    }

    /** 64-bit mode: IA-32e mode guest and CS.L. */
    FakeExit longMode() {
        set(VmcsField.VM_ENTRY_CONTROLS, 1L << 9);
        set(VmcsField.GUEST_CS_AR_BYTES, AR_CODE64);
        cr4 |= 1L << 5;
        return this;
    }

    FakeExit set(VmcsField f, long v) {
        vmcs.put(f.encoding(), v);
        return this;
    }

    long get(VmcsField f) {
        return vmcs.getOrDefault(f.encoding(), 0L);
    }

    long translate(long linear, boolean write) {
        long page = linear >>> 12;
        if (linear < 0 || linear >= RAM || absentPages.contains(page) || write && readOnlyPages.contains(page)) {
            return -1;
        }
        return linear;
    }

    void poke(long address, byte... bytes) {
        System.arraycopy(bytes, 0, ram, (int) address, bytes.length);
    }

    void poke64(long address, long v) {
        memory.write64(address, v);
    }

    long peek(long address, int size) {
        long v = 0;
        for (int i = 0; i < size; i++) {
            v |= (long) (ram[(int) address + i] & 0xFF) << (8 * i);
        }
        return v;
    }

    boolean injected() {
        return injectedVector >= 0;
    }

    // ---- VmExit ----

    @Override public ExitReason reason() { return null; }
    @Override public int rawReason() { return 0; }
    @Override public long qualification() { return qualification; }
    @Override public int instructionLength() { return length; }
    @Override public int instructionInfo() { return info; }
    @Override public long guestLinearAddress() { return 0; }
    @Override public long guestPhysicalAddress() { return 0; }
    @Override public int accessSize() { return 0; }
    @Override public long accessData() { return 0; }
    @Override public void completeRead(long value) { }
    @Override public long guestRip() { return rip; }
    @Override public GuestRegisters registers() { return this; }
    @Override public GuestMemory memory() { return memory; }
    @Override public Vcpu vcpu() { return null; }
    @Override public long vmread(int encoding) { return vmcs.getOrDefault(encoding, 0L); }
    @Override public void vmwrite(int encoding, long value) { vmcs.put(encoding, value); }
    @Override public void stop(int status, String reason) { }
    @Override public long sequence() { return 1; }

    @Override
    public void injectException(int vector, int errorCode) {
        injectedVector = vector;
        injectedErrorCode = errorCode;
    }

    // ---- GuestRegisters ----

    @Override
    public long get(Register r) {
        return switch (r) {
            case RIP -> rip;
            case RFLAGS -> rflags;
            case CR0 -> cr0;
            case CR2 -> cr2;
            case CR3 -> cr3;
            case CR4 -> cr4;
            default -> gprs[r.ordinal()];
        };
    }

    @Override
    public void set(Register r, long v) {
        switch (r) {
            case RIP -> rip = v;
            case RFLAGS -> rflags = v;
            case CR0 -> cr0 = v;
            case CR2 -> cr2 = v;
            case CR3 -> cr3 = v;
            case CR4 -> cr4 = v;
            default -> gprs[r.ordinal()] = v;
        }
    }

    @Override
    public long gpr(int index) {
        return gprs[index];
    }

    @Override
    public void setGpr(int index, long value) {
        gprs[index] = value;
    }
}
