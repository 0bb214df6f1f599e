package org.hotvisor.kernel.vm;

import static org.hotvisor.kernel.vm.GuestOperand.CS;
import static org.hotvisor.kernel.vm.GuestOperand.DS;
import static org.hotvisor.kernel.vm.GuestOperand.ES;
import static org.hotvisor.kernel.vm.GuestOperand.FS;
import static org.hotvisor.kernel.vm.GuestOperand.SS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import org.hotvisor.api.ExitAction;
import org.hotvisor.api.vmx.VmcsField;
import org.junit.jupiter.api.Test;

/** Exits 46 and 47 emulated from the instruction information (SDM 3C 28.2.5 Tables 28-10, 28-11). */
class DescriptorTableEmulationTest {
    static final int A16 = 0, A32 = 1, A64 = 2;
    static final int EAX = 0, ECX = 1, EBX = 3, ESP = 4, ESI = 6;
    static final int OPSIZE32 = 1 << 11, REGISTER = 1 << 10;
    static final int GP = 13, NP = 11, SS_FAULT = 12, PF = 14, UD = 6;
    static final int SGDT = 0, SIDT = 1, LGDT = 2, LIDT = 3, SLDT = 0, STR = 1, LLDT = 2, LTR = 3;

    /** The memory-operand bits of the instruction information; -1 for no base or index register. */
    static int mem(int addressSize, int segment, int base, int index, int scale) {
        return scale | addressSize << 7 | segment << 15 | (index < 0 ? 1 << 22 : index << 18)
                | (base < 0 ? 1 << 27 : base << 23);
    }

    static int identity(int id) {
        return id << 28;
    }

    static int register(int reg) {
        return REGISTER | reg << 3;
    }

    /** A legacy descriptor: base, raw 20-bit limit, access byte (P DPL S type), flags nibble (G D/B L AVL). */
    static long descriptor(long base, long limit, int access, int flags) {
        return limit & 0xFFFF | (base & 0xFF_FFFF) << 16 | (long) access << 40 | (limit >> 16 & 0xF) << 48
                | (long) flags << 52 | (base >>> 24 & 0xFF) << 56;
    }

    static ExitAction exit46(FakeExit x) {
        return DescriptorTableEmulation.gdtrIdtr(x, x.cpu);
    }

    static ExitAction exit47(FakeExit x) {
        return DescriptorTableEmulation.ldtrTr(x, x.cpu);
    }

    static void assertFault(FakeExit x, ExitAction a, int vector, int errorCode) {
        assertEquals(ExitAction.RESUME, a, "a faulting instruction is not skipped");
        assertEquals(vector, x.injectedVector, "vector");
        assertEquals(errorCode, x.injectedErrorCode, "error code");
    }

    // ---- SGDT, SIDT, LGDT, LIDT

    @Test
    void sgdtWith32BitOperandStoresTheLimitAndThe32BitBase() {
        FakeExit x = new FakeExit().segment(DS, 0x1000, 0xFFFF_FFFFL, FakeExit.AR_DATA32);
        x.set(VmcsField.GUEST_GDTR_BASE, 0xC012_3456L);
        x.gprs[EBX] = 0x200;
        x.qualification = 0x10;
        x.info = mem(A32, DS, EBX, -1, 0) | OPSIZE32 | identity(SGDT);
        assertEquals(ExitAction.EMULATED, exit46(x));
        assertEquals(0xFF, x.peek(0x1210, 2));
        assertEquals(0xC012_3456L, x.peek(0x1212, 4));
        assertFalse(x.injected());
    }

    @Test
    void sidtWith16BitOperandStoresA24BitBaseAndAZeroHighByte() {
        FakeExit x = new FakeExit();
        x.set(VmcsField.GUEST_IDTR_BASE, 0xAB12_3456L);
        x.poke(0x3000, (byte) 0xEE, (byte) 0xEE, (byte) 0xEE, (byte) 0xEE, (byte) 0xEE, (byte) 0xEE);
        x.qualification = 0x3000;
        x.info = mem(A32, DS, -1, -1, 0) | identity(SIDT);
        assertEquals(ExitAction.EMULATED, exit46(x));
        assertEquals(0x7FF, x.peek(0x3000, 2));
        assertEquals(0x0012_3456L, x.peek(0x3002, 4));
    }

    @Test
    void lgdtWith32BitOperandLoadsBaseAndLimitIntoTheVmcs() {
        FakeExit x = new FakeExit();
        x.poke(0x3000, (byte) 0x27, (byte) 0x00, (byte) 0x78, (byte) 0x56, (byte) 0x34, (byte) 0x92);
        x.gprs[ESI] = 0x1000;
        x.gprs[ECX] = 0x1000;
        x.qualification = 0;
        x.info = mem(A32, DS, ESI, ECX, 1) | OPSIZE32 | identity(LGDT); // [esi + ecx*2]
        assertEquals(ExitAction.EMULATED, exit46(x));
        assertEquals(0x9234_5678L, x.get(VmcsField.GUEST_GDTR_BASE));
        assertEquals(0x27, x.get(VmcsField.GUEST_GDTR_LIMIT));
    }

    @Test
    void lidtWith16BitOperandLoadsOnly24BitsOfBase() {
        FakeExit x = new FakeExit();
        x.poke(0x3000, (byte) 0xFF, (byte) 0x03, (byte) 0x00, (byte) 0x10, (byte) 0x02, (byte) 0xAA);
        x.qualification = 0x3000;
        x.info = mem(A32, DS, -1, -1, 0) | identity(LIDT);
        assertEquals(ExitAction.EMULATED, exit46(x));
        assertEquals(0x02_1000L, x.get(VmcsField.GUEST_IDTR_BASE));
        assertEquals(0x3FF, x.get(VmcsField.GUEST_IDTR_LIMIT));
    }

    @Test
    void sixteenBitAddressingWrapsTheEffectiveAddressAt64K() {
        FakeExit x = new FakeExit().segment(DS, 0x5000, 0xFFFF, 0x93);
        x.gprs[EBX] = 0xFFF0;
        x.gprs[ESI] = 0x30;
        x.qualification = 0x10; // [bx + si + 0x10] = 0x10030 -> 0x0030
        x.info = mem(A16, DS, EBX, ESI, 0) | OPSIZE32 | identity(SGDT);
        assertEquals(ExitAction.EMULATED, exit46(x));
        assertEquals(0xFF, x.peek(0x5030, 2));
    }

    @Test
    void loadsAtCpl3AreGp0() {
        FakeExit x = new FakeExit().cpl(3);
        x.qualification = 0x3000;
        x.info = mem(A32, DS, -1, -1, 0) | OPSIZE32 | identity(LGDT);
        assertFault(x, exit46(x), GP, 0);
        assertEquals(0x2000, x.get(VmcsField.GUEST_GDTR_BASE), "GDTR unchanged");
    }

    @Test
    void storesAtCpl3AreAllowedUnlessUmipIsSet() {
        FakeExit x = new FakeExit().cpl(3);
        x.qualification = 0x3000;
        x.info = mem(A32, DS, -1, -1, 0) | OPSIZE32 | identity(SGDT);
        assertEquals(ExitAction.EMULATED, exit46(x));
        FakeExit umip = new FakeExit().cpl(3);
        umip.cr4 |= GuestOperand.CR4_UMIP;
        umip.qualification = 0x3000;
        umip.info = x.info;
        assertFault(umip, exit46(umip), GP, 0);
    }

    @Test
    void anOperandPastTheSegmentLimitIsGp0AndThroughSsIsSs0() {
        FakeExit x = new FakeExit().segment(DS, 0, 0x3003, FakeExit.AR_DATA32);
        x.qualification = 0x3000; // 6 bytes: 0x3000-0x3005 > limit
        x.info = mem(A32, DS, -1, -1, 0) | OPSIZE32 | identity(SGDT);
        assertFault(x, exit46(x), GP, 0);
        FakeExit s = new FakeExit().segment(SS, 0, 0x3003, FakeExit.AR_DATA32);
        s.gprs[ESP] = 0x3000;
        s.info = mem(A32, SS, ESP, -1, 0) | OPSIZE32 | identity(SGDT);
        assertFault(s, exit46(s), SS_FAULT, 0);
        assertEquals(0, s.peek(0x3000, 6), "nothing written");
    }

    @Test
    void anExpandDownSegmentTakesOnlyOffsetsAboveItsLimit() {
        int expandDownData = 0xC097; // type 7: data, expand-down, writable; D/B = 1
        FakeExit x = new FakeExit().segment(ES, 0, 0x2FFF, expandDownData);
        x.qualification = 0x3000;
        x.info = mem(A32, ES, -1, -1, 0) | OPSIZE32 | identity(SGDT);
        assertEquals(ExitAction.EMULATED, exit46(x));
        FakeExit below = new FakeExit().segment(ES, 0, 0x3000, expandDownData);
        below.qualification = 0x3000;
        below.info = x.info;
        assertFault(below, exit46(below), GP, 0);
    }

    @Test
    void readOnlyDataCodeAndNullSegmentsRefuseTheStore() {
        for (int ar : new int[] {0xC091, FakeExit.AR_CODE32, 0x10000}) {
            FakeExit x = new FakeExit().segment(FS, 0, 0xFFFF_FFFFL, ar);
            x.qualification = 0x3000;
            x.info = mem(A32, FS, -1, -1, 0) | OPSIZE32 | identity(SIDT);
            assertFault(x, exit46(x), GP, 0);
        }
    }

    @Test
    void anUnmappedPageIsPageFaultWithCr2AndNothingIsWritten() {
        FakeExit x = new FakeExit();
        x.absentPages.add(0x5L);
        x.qualification = 0x4FFC; // the base straddles into page 5
        x.info = mem(A32, DS, -1, -1, 0) | OPSIZE32 | identity(SGDT);
        assertFault(x, exit46(x), PF, GuestOperand.PF_WRITE);
        assertEquals(0x5000, x.cr2);
        assertEquals(0, x.peek(0x4FFC, 4), "the first page is left untouched");
    }

    @Test
    void aUserStoreToAReadOnlyPageIsAProtectionPageFault() {
        FakeExit x = new FakeExit().cpl(3);
        x.readOnlyPages.add(0x3L);
        x.qualification = 0x3000;
        x.info = mem(A32, DS, -1, -1, 0) | OPSIZE32 | identity(SGDT);
        assertFault(x, exit46(x), PF, GuestOperand.PF_PRESENT | GuestOperand.PF_WRITE | GuestOperand.PF_USER);
        assertEquals(0x3000, x.cr2);
    }

    @Test
    void lgdtIn64BitModeReadsAnEightByteBaseAndRefusesANonCanonicalOne() {
        FakeExit x = new FakeExit().longMode();
        x.poke(0x3000, (byte) 0x0F, (byte) 0x00);
        x.poke64(0x3002, 0xFFFF_8000_0010_0000L);
        x.qualification = 0x3000;
        x.info = mem(A64, DS, -1, -1, 0) | identity(LGDT); // operand size is ignored in 64-bit mode
        assertEquals(ExitAction.EMULATED, exit46(x));
        assertEquals(0xFFFF_8000_0010_0000L, x.get(VmcsField.GUEST_GDTR_BASE));
        FakeExit bad = new FakeExit().longMode();
        bad.poke64(0x3002, 0x0000_8000_0000_0000L);
        bad.qualification = 0x3000;
        bad.info = x.info;
        assertFault(bad, exit46(bad), GP, 0);
    }

    @Test
    void sgdtIn64BitModeStoresTenBytesAndOnlyFsAndGsBasesApply() {
        FakeExit x = new FakeExit().longMode().segment(FS, 0x6000, 0, FakeExit.AR_DATA32).segment(DS, 0x9000, 0, 0x10000);
        x.set(VmcsField.GUEST_GDTR_BASE, 0xFFFF_FFFF_8000_1000L);
        x.qualification = 0x10;
        x.info = mem(A64, FS, -1, -1, 0) | identity(SGDT);
        assertEquals(ExitAction.EMULATED, exit46(x));
        assertEquals(0xFF, x.peek(0x6010, 2));
        assertEquals(0xFFFF_FFFF_8000_1000L, x.peek(0x6012, 8));
        FakeExit ds = new FakeExit().longMode().segment(DS, 0x9000, 0, 0x10000); // base, limit and null ignored
        ds.qualification = 0x3000;
        ds.info = mem(A64, DS, -1, -1, 0) | identity(SIDT);
        assertEquals(ExitAction.EMULATED, exit46(ds));
        assertEquals(0x7FF, ds.peek(0x3000, 2));
    }

    @Test
    void aNonCanonicalAddressIn64BitModeIsGp0() {
        FakeExit x = new FakeExit().longMode();
        x.gprs[EBX] = 0x0000_8000_0000_0000L;
        x.info = mem(A64, DS, EBX, -1, 0) | identity(SGDT);
        assertFault(x, exit46(x), GP, 0);
    }

    // ---- SLDT, STR, LLDT, LTR

    @Test
    void sldtAndStrToMemoryStoreTheSixteenBitSelector() {
        FakeExit x = new FakeExit();
        x.set(VmcsField.GUEST_LDTR_SELECTOR, 0x28);
        x.qualification = 0x3000;
        x.info = mem(A32, DS, -1, -1, 0) | identity(SLDT);
        assertEquals(ExitAction.EMULATED, exit47(x));
        assertEquals(0x28, x.peek(0x3000, 2));
        FakeExit t = new FakeExit();
        t.set(VmcsField.GUEST_TR_SELECTOR, 0x30);
        t.poke(0x3002, (byte) 0x77);
        t.qualification = 0x3000;
        t.info = mem(A32, DS, -1, -1, 0) | identity(STR);
        assertEquals(ExitAction.EMULATED, exit47(t));
        assertEquals(0x77_0030, t.peek(0x3000, 3), "only two bytes are written");
    }

    @Test
    void strToA32BitRegisterZeroExtendsAndTo16BitRegisterKeepsTheUpperBits() {
        FakeExit x = new FakeExit();
        x.set(VmcsField.GUEST_TR_SELECTOR, 0x30);
        x.gprs[EAX] = 0xDEAD_BEEFL;
        x.poke(0x1000, (byte) 0x0F, (byte) 0x00, (byte) 0xC8); // str eax
        x.info = register(EAX) | identity(STR);
        assertEquals(ExitAction.EMULATED, exit47(x));
        assertEquals(0x30, x.gprs[EAX]);
        FakeExit w = new FakeExit();
        w.set(VmcsField.GUEST_TR_SELECTOR, 0x30);
        w.gprs[EAX] = 0xDEAD_BEEFL;
        w.poke(0x1000, (byte) 0x66, (byte) 0x0F, (byte) 0x00, (byte) 0xC8); // str ax
        w.length = 4;
        w.info = x.info;
        assertEquals(ExitAction.EMULATED, exit47(w));
        assertEquals(0xDEAD_0030L, w.gprs[EAX]);
    }

    @Test
    void sldtOperandSizeFollowsCsDefaultAndRexW() {
        FakeExit x = new FakeExit().segment(CS, 0x10000, 0xFFFF, FakeExit.AR_CODE16);
        x.set(VmcsField.GUEST_LDTR_SELECTOR, 0x18);
        x.gprs[ECX] = 0x1234_5678L;
        x.poke(0x11000, (byte) 0x0F, (byte) 0x00, (byte) 0xC1); // sldt cx in a 16-bit code segment
        x.info = register(ECX) | identity(SLDT);
        assertEquals(ExitAction.EMULATED, exit47(x));
        assertEquals(0x1234_0018L, x.gprs[ECX]);
        FakeExit q = new FakeExit().longMode();
        q.set(VmcsField.GUEST_LDTR_SELECTOR, 0x18);
        q.gprs[ECX] = 0xFFFF_FFFF_FFFF_FFFFL;
        q.poke(0x1000, (byte) 0x66, (byte) 0x48, (byte) 0x0F, (byte) 0x00, (byte) 0xC1); // sldt rcx
        q.length = 5;
        q.info = x.info;
        assertEquals(ExitAction.EMULATED, exit47(q));
        assertEquals(0x18, q.gprs[ECX]);
    }

    @Test
    void lldtLoadsTheLdtDescriptorInVmcsFormat() {
        FakeExit x = new FakeExit();
        x.poke64(0x2000 + 0x18, descriptor(0x0034_5000L, 0x1, 0x82, 0x8)); // LDT, G = 1
        x.gprs[EBX] = 0x1B; // RPL 3 is ignored
        x.info = register(EBX) | identity(LLDT);
        assertEquals(ExitAction.EMULATED, exit47(x));
        assertEquals(0x1B, x.get(VmcsField.GUEST_LDTR_SELECTOR));
        assertEquals(0x0034_5000L, x.get(VmcsField.GUEST_LDTR_BASE));
        assertEquals(0x1FFF, x.get(VmcsField.GUEST_LDTR_LIMIT));
        assertEquals(0x8082, x.get(VmcsField.GUEST_LDTR_AR_BYTES));
    }

    @Test
    void lldtFromMemoryAndWithANullSelectorMarksLdtrUnusable() {
        FakeExit x = new FakeExit();
        x.poke(0x3000, (byte) 0x03, (byte) 0x00);
        x.qualification = 0x3000;
        x.info = mem(A32, DS, -1, -1, 0) | identity(LLDT);
        assertEquals(ExitAction.EMULATED, exit47(x));
        assertEquals(3, x.get(VmcsField.GUEST_LDTR_SELECTOR));
        assertEquals(1 << 16, x.get(VmcsField.GUEST_LDTR_AR_BYTES));
    }

    @Test
    void lldtFaultsOnTiBeyondTheLimitWrongTypeAndNotPresent() {
        long ldt = descriptor(0x5000, 0xFF, 0x82, 0);
        long tss = descriptor(0x5000, 0x67, 0x89, 0);
        long absent = descriptor(0x5000, 0xFF, 0x02, 0);
        int[][] cases = {{0x1C, GP, 0x1C}, {0x103, GP, 0x100}, {0x20, GP, 0x20}, {0x2B, NP, 0x28}};
        for (int[] c : cases) {
            FakeExit x = new FakeExit();
            x.poke64(0x2018, ldt);
            x.poke64(0x2020, tss);
            x.poke64(0x2028, absent);
            x.gprs[EAX] = c[0];
            x.info = register(EAX) | identity(LLDT);
            assertFault(x, exit47(x), c[1], c[2]);
        }
    }

    @Test
    void ltrLoadsAnAvailableTssAndMarksItBusyInTheGdtAndTheVmcs() {
        FakeExit x = new FakeExit();
        x.poke64(0x2028, descriptor(0x0008_0000L, 0x67, 0x89, 0));
        x.gprs[EAX] = 0x28;
        x.info = register(EAX) | identity(LTR);
        assertEquals(ExitAction.EMULATED, exit47(x));
        assertEquals(0x8B, x.peek(0x2028 + 5, 1), "busy bit set in the descriptor");
        assertEquals(0x28, x.get(VmcsField.GUEST_TR_SELECTOR));
        assertEquals(0x0008_0000L, x.get(VmcsField.GUEST_TR_BASE));
        assertEquals(0x67, x.get(VmcsField.GUEST_TR_LIMIT));
        assertEquals(0x8B, x.get(VmcsField.GUEST_TR_AR_BYTES));
    }

    @Test
    void ltrRefusesNullBusyAndAbsentTssesAndA16BitTssInIa32eMode() {
        int[][] cases = {{0x0, GP, 0}, {0x30, GP, 0x30}, {0x38, NP, 0x38}};
        for (int[] c : cases) {
            FakeExit x = new FakeExit();
            x.poke64(0x2030, descriptor(0x8000, 0x67, 0x8B, 0)); // busy
            x.poke64(0x2038, descriptor(0x8000, 0x67, 0x09, 0)); // not present
            x.gprs[EAX] = c[0];
            x.info = register(EAX) | identity(LTR);
            assertFault(x, exit47(x), c[1], c[2]);
        }
        FakeExit ok16 = new FakeExit();
        ok16.poke64(0x2040, descriptor(0x8000, 0x2B, 0x81, 0));
        ok16.gprs[EAX] = 0x40;
        ok16.info = register(EAX) | identity(LTR);
        assertEquals(ExitAction.EMULATED, exit47(ok16));
        assertEquals(0x83, ok16.get(VmcsField.GUEST_TR_AR_BYTES), "16-bit TSS, busy");
        FakeExit long16 = new FakeExit().longMode();
        long16.poke64(0x2040, descriptor(0x8000, 0x2B, 0x81, 0));
        long16.gprs[EAX] = 0x40;
        long16.info = ok16.info;
        assertFault(long16, exit47(long16), GP, 0x40);
    }

    @Test
    void ltrInIa32eModeReadsASixteenByteDescriptor() {
        FakeExit x = new FakeExit().longMode();
        x.poke64(0x2040, descriptor(0x0000_9000L, 0x67, 0x89, 0));
        x.poke64(0x2048, 0xFFFF_8000L);
        x.gprs[EAX] = 0x40;
        x.info = register(EAX) | identity(LTR);
        assertEquals(ExitAction.EMULATED, exit47(x));
        assertEquals(0xFFFF_8000_0000_9000L, x.get(VmcsField.GUEST_TR_BASE));
        FakeExit badUpper = new FakeExit().longMode();
        badUpper.poke64(0x2040, descriptor(0x0000_9000L, 0x67, 0x89, 0));
        badUpper.poke64(0x2048, 0x0000_0900_FFFF_8000L); // upper type field not 0
        badUpper.gprs[EAX] = 0x40;
        badUpper.info = x.info;
        assertFault(badUpper, exit47(badUpper), GP, 0x40);
        assertEquals(0x89, badUpper.peek(0x2045, 1), "not marked busy");
        FakeExit pastLimit = new FakeExit().longMode().set(VmcsField.GUEST_GDTR_LIMIT, 0x47);
        pastLimit.gprs[EAX] = 0x40;
        pastLimit.info = x.info;
        assertFault(pastLimit, exit47(pastLimit), GP, 0x40);
    }

    @Test
    void loadsAtCpl3AreGp0AndRealModeIsUd() {
        FakeExit x = new FakeExit().cpl(3);
        x.info = register(EAX) | identity(LTR);
        assertFault(x, exit47(x), GP, 0);
        FakeExit real = new FakeExit();
        real.cr0 = 0x10;
        real.info = register(EAX) | identity(SLDT);
        assertFault(real, exit47(real), UD, -1);
    }

    @Test
    void anUnmappedGdtPageIsASupervisorPageFault() {
        FakeExit x = new FakeExit().cpl(0);
        x.absentPages.add(0x2L);
        x.gprs[EAX] = 0x28;
        x.info = register(EAX) | identity(LLDT);
        assertFault(x, exit47(x), PF, 0);
        assertEquals(0x2028, x.cr2);
    }
}
