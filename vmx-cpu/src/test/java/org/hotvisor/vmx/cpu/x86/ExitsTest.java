package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.Guest.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * Instruction VM exits with their exit qualification, instruction length and instruction
 * information (SDM 3C 26.1, 28.2.1, 28.2.5), and the #UD/#GP the SDM puts before them.
 */
class ExitsTest {
    // primary and secondary processor-based controls (SDM 3C Tables 25-6, 25-7)
    static final int P_HLT = 1 << 7, P_INVLPG = 1 << 9, P_MWAIT = 1 << 10, P_RDTSC = 1 << 12, P_CR3_LOAD = 1 << 15,
            P_CR3_STORE = 1 << 16, P_MOV_DR = 1 << 23, P_IO_BITMAPS = 1 << 25, P_MSR_BITMAPS = 1 << 28,
            P_MONITOR = 1 << 29, P_PAUSE = 1 << 30, P_SECONDARY = 1 << 31;
    static final int S_DESC = 1 << 2, S_RDTSCP = 1 << 3, S_WBINVD = 1 << 6, S_RDRAND = 1 << 11, S_INVPCID = 1 << 12,
            S_RDSEED = 1 << 16;
    static final int UD_BITMAP = 1 << 6;

    // CR0_SHADOW: mov eax, cr0 / mov cr0, eax / or eax, 8 / mov cr0, eax / hlt
    static final byte[] CR0_SHADOW = hex("0f20c00f22c083c8080f22c0f4");
    // CR3_EXITS: mov eax, 0x10000 / mov cr3, eax / mov ebx, 0x20000 / mov cr3, ebx / mov edx, cr3 / hlt
    static final byte[] CR3_EXITS = hex("b8000001000f22d8bb000002000f22db0f20daf4");
    // CLTS_DR: clts / mov dr7, eax / mov ecx, dr6 / hlt
    static final byte[] CLTS_DR = hex("0f060f23f80f21f1f4");
    // MSRS: mov ecx, 0x174 / rdmsr / mov ecx, 0x175 / rdmsr / mov ecx, 0xC0000080 / wrmsr / hlt
    static final byte[] MSRS = hex("b9740100000f32b9750100000f32b9800000c00f30f4");
    // TSC: rdtsc / rdtscp / hlt
    static final byte[] TSC = hex("0f310f01f9f4");
    // MISC_EXITS: invlpg [0x12345678] / invd / wbinvd / monitor / mwait / pause / hlt
    static final byte[] MISC_EXITS = hex("0f013d785634120f080f090f01c80f01c9f390f4");
    // DESC_TABLES: lgdt [ebx+esi*4+0x10] / sldt eax / str [0x100] / sgdt [bp+di] / hlt
    static final byte[] DESC_TABLES = hex("0f0154b3100f00c00f000d00010000670f0103f4");
    // RAND_PCID: rdrand ecx / rdseed dx / invpcid eax, [ecx+8] / hlt
    static final byte[] RAND_PCID = hex("0fc7f1660fc7fa660f38824108f4");
    // XSETBV_GETSEC: xsetbv / getsec / cpuid / hlt
    static final byte[] XSETBV_GETSEC = hex("0f01d10f370fa2f4");
    // VMX_INSNS: vmcall / vmptrld [eax] / vmread eax, ebx / vmwrite esi, [0x44] / invept edx, [ebx] / vmlaunch / hlt
    static final byte[] VMX_INSNS = hex("0f01c10fc7300f78d80f793544000000660f3880130f01c2f4");
    // IO_BITMAP: out 0x80, al / out 0x81, al / mov dx, 0x8000 / in al, dx / mov dx, 0xFFFF / out dx, ax / hlt
    static final byte[] IO_BITMAP = hex("e680e68166ba0080ec66baffff66eff4");
    // LMSW_REAL (16-bit): lmsw [0x2000] / hlt
    static final byte[] LMSW_REAL = hex("0f01360020f4");
    // VMCALL_REAL (16-bit): vmcall / vmptrld [0x10] / hlt
    static final byte[] VMCALL_REAL = hex("0f01c10fc7361000f4");

    // INTO_BOUND: mov eax, 0x7FFFFFFF / add eax, 1 / into / mov dword [0x2000], 10 / mov dword [0x2004], 20
    //   / mov ecx, 21 / bound ecx, [0x2000] / hlt
    static final byte[] INTO_BOUND = hex("b8ffffff7f83c001cec705002000000a000000c70504200000140000"
            + "00b915000000620d00200000f4");
    // RDPMC_XSAVES: xor ecx, ecx / rdpmc / xsaves [0x3000] / vmfunc / hlt
    static final byte[] RDPMC_XSAVES = hex("31c90f330fc72d003000000f01d4f4");

    private static Guest flat(byte[] code, int proc, int proc2) {
        Guest g = new Guest(2 << 20).flat32(0x100000).load(0x100000, code);
        g.core.controls.procBased = proc | P_HLT | (proc2 != 0 ? P_SECONDARY : 0);
        g.core.controls.procBased2 = proc2;
        return g;
    }

    /** Runs to the next exit and checks reason, qualification and length; then skips the instruction. */
    private static ExitInfo expect(Guest g, int reason, long qualification, int length) {
        assertEquals(reason, g.run(), "exit reason");
        ExitInfo e = g.core.exit;
        assertEquals(qualification, e.qualification, "qualification");
        assertEquals(length, e.instructionLength, "instruction length");
        g.core.rip += length;
        return e;
    }

    @Test
    void movToCr0ExitsOnlyWhenAHostOwnedBitDiffersFromTheShadow() {
        Guest g = flat(CR0_SHADOW, 0, 0);
        g.core.cr0 = 0x19;   // PE, ET, TS
        g.core.controls.cr0GuestHostMask = 0x8;
        g.core.controls.cr0ReadShadow = 0;
        g.core.stateLoaded();
        assertEquals(28, g.run());
        assertEquals(0x100009, g.core.rip, "the second MOV to CR0");
        assertEquals(0x11, g.reg(X86Core.EAX) & ~8L, "the guest read TS from the shadow");
        assertEquals(0, g.core.exit.qualification, "CR0, MOV to CR, from EAX");
        assertEquals(3, g.core.exit.instructionLength);
        assertEquals(0x19, g.core.cr0, "host-owned TS kept by the first MOV");
    }

    @Test
    void cr3LoadExitingHonoursTheTargetListAndCr3StoreExits() {
        Guest g = flat(CR3_EXITS, P_CR3_LOAD | P_CR3_STORE, 0);
        g.core.controls.cr3TargetCount = 1;
        g.core.controls.cr3TargetValues[0] = 0x10000;
        expect(g, 28, 0x303, 3);   // CR3, MOV to, EBX
        assertEquals(0x10000, g.core.cr3, "the target-list value loaded without an exit");
        expect(g, 28, 0x213, 3);   // CR3, MOV from, EDX
        assertEquals(12, g.run());
    }

    @Test
    void cltsAndMovDrExits() {
        Guest g = flat(CLTS_DR, P_MOV_DR, 0);
        g.core.controls.cr0GuestHostMask = 0x8;
        g.core.controls.cr0ReadShadow = 0x8;
        expect(g, 28, 0x20, 2);    // CLTS
        expect(g, 29, 0x7, 3);     // MOV DR7, EAX
        expect(g, 29, 0x116, 3);   // MOV ECX, DR6
    }

    @Test
    void lmswThatWouldSetAShadowedPeExitsWithSourceDataAndLinearAddress() {
        Guest g = new Guest(1 << 20).realMode(0x1000).load(0x1000, LMSW_REAL);
        g.putShort(0x2000, 1);
        g.core.controls.cr0GuestHostMask = 1;
        ExitInfo e = expect(g, 28, 0x1_0070, 5);   // LMSW, memory operand, source 0001
        assertEquals(0x2000, e.guestLinearAddress);
    }

    @Test
    void msrBitmapsSelectWhichMsrAccessesExit() {
        Guest g = flat(MSRS, P_MSR_BITMAPS, 0);
        g.core.controls.msrBitmap = 0x1000;
        g.host[0x1000 + (0x174 >>> 3)] |= 1 << (0x174 & 7);   // read bitmap, low MSRs
        g.host[0x1000 + 3072 + (0x80 >>> 3)] |= 1;            // write bitmap, high MSRs: C0000080
        g.core.sysenterEsp = 0xABCD;
        expect(g, 31, 0, 2);
        assertEquals(32, g.run(), "RDMSR 175h was handled by the core; WRMSR EFER exits");
        assertEquals(0xABCD, g.reg(X86Core.EAX));
    }

    @Test
    void withoutMsrBitmapsEveryMsrAccessExits() {
        Guest g = flat(MSRS, 0, 0);
        expect(g, 31, 0, 2);
        expect(g, 31, 0, 2);
        expect(g, 32, 0, 2);
    }

    @Test
    void rdtscpIsUndefinedUnlessEnabledAndExitsWithRdtscExiting() {
        Guest g = flat(TSC, P_RDTSC, 0);
        g.core.controls.exceptionBitmap = UD_BITMAP;
        expect(g, 16, 0, 2);
        assertEquals(0, g.run());
        assertEquals(0x8000_0306, g.core.exit.interruptionInfo, "#UD");
        g = flat(TSC, P_RDTSC, S_RDTSCP);
        expect(g, 16, 0, 2);
        expect(g, 51, 0, 3);
    }

    @Test
    void rdtscReadsTheTscPlusOffsetWhenNotExiting() {
        Guest g = flat(TSC, 1 << 3, S_RDTSCP);   // USE_TSC_OFFSETTING
        g.core.controls.tscOffset = 1_000_000;
        g.core.tsc = 500;
        assertEquals(12, g.run());
        assertEquals(1_000_500 + 1, g.reg(X86Core.EAX), "one instruction had retired");
    }

    @Test
    void invlpgInvdWbinvdMonitorMwaitPause() {
        Guest g = flat(MISC_EXITS, P_INVLPG | P_MONITOR | P_MWAIT | P_PAUSE, S_WBINVD);
        expect(g, 14, 0x1234_5678, 7);
        expect(g, 13, 0, 2);
        expect(g, 54, 0, 2);
        expect(g, 39, 0, 3);
        expect(g, 36, 0, 3);   // MONITOR exited, so the monitor is not armed
        expect(g, 40, 0, 2);
    }

    @Test
    void descriptorTableExitsReportInstructionInformation() {
        Guest g = flat(DESC_TABLES, 0, S_DESC);
        ExitInfo e = expect(g, 46, 0x10, 5);
        assertEquals(0x2199_8882, e.instructionInfo, "LGDT [EBX+ESI*4+10h]");
        e = expect(g, 47, 0, 3);
        assertEquals(0x400, e.instructionInfo, "SLDT EAX: register operand");
        e = expect(g, 47, 0x100, 7);
        assertEquals(0x1841_8080, e.instructionInfo, "STR [100h]: no base, no index");
        e = expect(g, 46, 0, 4);
        assertEquals(0x029D_0800, e.instructionInfo, "SGDT [BP+DI]: 16-bit address, SS");
    }

    @Test
    void rdrandRdseedAndInvpcid() {
        Guest g = flat(RAND_PCID, P_INVLPG, S_RDRAND | S_RDSEED | S_INVPCID);
        ExitInfo e = expect(g, 57, 0, 3);
        assertEquals(0x808, e.instructionInfo, "ECX, 32-bit");
        e = expect(g, 61, 0, 4);
        assertEquals(0x10, e.instructionInfo, "DX, 16-bit");
        e = expect(g, 58, 8, 6);
        assertEquals(0x00C1_8080, e.instructionInfo, "[ECX+8], reg2 EAX");
    }

    @Test
    void invpcidIsUndefinedUnlessEnabledAndRdrandRunsWithoutExiting() {
        Guest g = flat(RAND_PCID, P_INVLPG, 0);
        g.core.controls.exceptionBitmap = UD_BITMAP;
        assertEquals(0, g.run());
        assertEquals(0x100007, g.core.rip, "RDRAND and RDSEED ran; INVPCID is #UD");
        assertEquals(1, g.core.rflags() & Alu.CF, "RDSEED reported a valid value");
    }

    @Test
    void xsetbvAndGetsecExitUnconditionallyWhenEnabledInCr4() {
        Guest g = flat(XSETBV_GETSEC, 0, 0);
        g.core.controls.exceptionBitmap = UD_BITMAP;
        assertEquals(0, g.run(), "CR4.OSXSAVE clear: #UD");
        g = flat(XSETBV_GETSEC, 0, 0);
        g.core.cr4 = X86Core.CR4_OSXSAVE | X86Core.CR4_SMXE;
        expect(g, 55, 0, 3);
        expect(g, 11, 0, 2);
        expect(g, 10, 0, 2);
    }

    @Test
    void vmxInstructionsExitWithInstructionInformation() {
        Guest g = flat(VMX_INSNS, 0, 0);
        g.core.cr4 = X86Core.CR4_VMXE;
        expect(g, 18, 0, 3);
        ExitInfo e = expect(g, 21, 0, 3);
        assertEquals(0x0041_8080, e.instructionInfo, "VMPTRLD [EAX]");
        e = expect(g, 23, 0, 3);
        assertEquals(0x3000_0400, e.instructionInfo, "VMREAD EAX, EBX: register, reg2 = EBX");
        e = expect(g, 25, 0x44, 7);
        assertEquals(0x6841_8080, e.instructionInfo, "VMWRITE ESI, [44h]");
        e = expect(g, 50, 0, 5);
        assertEquals(0x21C1_8080, e.instructionInfo, "INVEPT EDX, [EBX]");
        expect(g, 20, 0, 3);
    }

    @Test
    void vmcallExitsInRealModeButOtherVmxInstructionsAreUndefined() {
        Guest g = new Guest(1 << 20).realMode(0x1000).load(0x1000, VMCALL_REAL);
        g.core.controls.exceptionBitmap = UD_BITMAP;
        expect(g, 18, 0, 3);
        assertEquals(0, g.run());
        assertEquals(0x8000_0306, g.core.exit.interruptionInfo);
    }

    @Test
    void ioBitmapsSelectPortsAndWrapAroundAlwaysExits() {
        Guest g = flat(IO_BITMAP, P_IO_BITMAPS, 0);
        g.core.controls.ioBitmapA = 0x2000;
        g.core.controls.ioBitmapB = 0x3000;
        g.host[0x2000 + (0x80 >>> 3)] |= 1 << (0x80 & 7);
        g.host[0x3000] |= 1;   // port 8000h
        expect(g, 30, 0x0080_0040L, 2);
        expect(g, 30, 0x8000_0008L, 1);   // port 81h passed; IN AL, DX from port 8000h exits
        expect(g, 30, 0xFFFF_0001L, 2);   // OUT DX, AX at FFFFh wraps around: exits
        assertEquals(12, g.run());
    }

    @Test
    void tssIoPermissionFaultBeatsTheIoExit() {
        Guest g = new Guest(8 << 20).protectedMode(0x100000).load(0x100000, IO_BITMAP);
        g.core.controls.procBased |= Guest.PROC_UNCONDITIONAL_IO;
        g.core.controls.exceptionBitmap = 1 << 13;
        // the TSS limit covers an I/O bitmap at offset 68h that allows ports 0-7Fh only
        g.core.tr.limit = 0x68 + 0x20;
        for (int i = 0x10; i <= 0x20; i++) {
            g.ram[Guest.TSS + 0x68 + i] = (byte) 0xFF;
        }
        g.user(0x100000, 0x300000);
        assertEquals(0, g.run(), "CPL 3 > IOPL 0 and port 80h denied by the TSS bitmap: #GP first");
        assertEquals(0x8000_0B0D, g.core.exit.interruptionInfo);
        g.ram[Guest.TSS + 0x68 + 0x10] = (byte) 0xFE;   // allow port 80h
        assertEquals(30, g.run(), "permitted by the TSS: now the I/O exit");
    }

    @Test
    void intoAndBoundRaiseTheirExceptionsThroughTheBitmap() {
        Guest g = flat(INTO_BOUND, 0, 0);
        g.core.controls.exceptionBitmap = 1 << 4 | 1 << 5;
        assertEquals(0, g.run());
        assertEquals(0x8000_0604, g.core.exit.interruptionInfo, "INTO: software exception #OF");
        assertEquals(1, g.core.exit.instructionLength);
        assertEquals(0x100008, g.core.rip);
        g.core.rip += 1;
        assertEquals(0, g.run());
        assertEquals(0x8000_0305, g.core.exit.interruptionInfo, "BOUND: hardware exception #BR");
        assertEquals(0, g.core.exit.instructionLength);
        assertEquals(0x100022, g.core.rip);
    }

    @Test
    void rdpmcExitsWhenSelectedAndXsavesVmfuncAreUndefinedUnlessEnabled() {
        Guest g = flat(RDPMC_XSAVES, 1 << 11, 0);
        g.core.controls.exceptionBitmap = UD_BITMAP;
        expect(g, 15, 0, 2);
        assertEquals(0, g.run(), "XSAVES without the secondary control: #UD");
        assertEquals(0x8000_0306, g.core.exit.interruptionInfo);
    }

    @Test
    void xsavesExitsPerTheXssExitingBitmapAndVmfuncExits() {
        Guest g = flat(RDPMC_XSAVES, 0, 1 << 20 | 1 << 13);   // enable XSAVES/XRSTORS, enable VM functions
        g.core.cr4 = X86Core.CR4_OSXSAVE;
        g.core.sys.xss = 1;   // IA32_XSS, white box: WRMSR accepts no bit (no supervisor state component)
        g.core.controls.xssExitingBitmap = 1;
        g.core.gpr[X86Core.EAX] = 1;   // requested-feature bitmap EDX:EAX = 1
        g.core.rip = 0x100004;         // start at XSAVES (RDPMC would clear EAX)
        g.core.stateLoaded();
        ExitInfo e = expect(g, 63, 0x3000, 7);
        assertEquals(0x0841_8080, e.instructionInfo, "XSAVES [3000h]: 32-bit address, DS, no base, no index");
        expect(g, 59, 0, 3);
    }
}
