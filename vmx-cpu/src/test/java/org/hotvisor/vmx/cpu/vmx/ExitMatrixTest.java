package org.hotvisor.vmx.cpu.vmx;

import static org.hotvisor.api.vmx.VmcsField.*;
import static org.hotvisor.vmx.cpu.vmx.MatrixGuest.AREA;
import static org.hotvisor.vmx.cpu.vmx.MatrixGuest.CODE;
import static org.hotvisor.vmx.cpu.vmx.MatrixGuest.HANDLER;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.function.Consumer;
import java.util.stream.Stream;
import org.hotvisor.api.vmx.ExitControl;
import org.hotvisor.api.vmx.PinBasedControl;
import org.hotvisor.api.vmx.ProcessorControl;
import org.hotvisor.api.vmx.SecondaryControl;
import org.hotvisor.vmx.cpu.x86.CoreAccess;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Issue #3 section 5, first bullet: one test per VM exit of the tables, under a real
 * VMLAUNCH of a 32-bit protected-mode guest ({@link MatrixGuest}). With the control ON the exit
 * carries the basic reason, the exit qualification (SDM 3C 28.2.1), the VM-exit instruction length
 * (28.2.4) and the VM-exit instruction information (28.2.5; checked where the SDM defines it) and
 * is fault-like (GUEST_RIP at the instruction) unless noted. With the control OFF there is no exit:
 * the instruction executes (the guest reaches the HLT after it) or faults as the SDM says (the
 * exception bitmap is all ones, so a fault exits with reason 0 and its vector). {@link #priorities()}
 * lists the exceptions that win over an exit whose control is on (SDM 3C 26.1.1: #UD, privilege
 * faults, the TSS I/O bitmap).
 *
 * <p>Issue table rows and the rows covering them (control ON / OFF):
 * <ul>
 *   <li>Unconditional: CPUID 10, GETSEC 11, INVD 13, XSETBV 55, VMCALL 18, VMCLEAR 19, VMLAUNCH 20,
 *       VMPTRLD 21, VMPTRST 22, VMREAD 23, VMRESUME 24, VMWRITE 25, VMXOFF 26, VMXON 27, INVEPT 50,
 *       INVVPID 53: {@link #rows()} "CPUID" .. "INVVPID"; "OFF" is the mode or CR4 bit that makes the
 *       instruction #UD (or the CPL that makes it #GP) instead.</li>
 *   <li>Under controls: HLT 12, INVLPG 14, RDPMC 15, RDTSC 16, RDTSCP 51, CR access 28 (MOV to CR0
 *       and CR4 against masks and shadows, MOV to CR3 with the CR3-target list, MOV from CR3, CLTS,
 *       LMSW register and memory), MOV DR 29, I/O 30 (unconditional, bitmaps A and B, INS, OUTS),
 *       RDMSR 31 / WRMSR 32 (with and without MSR bitmaps), MWAIT 36, MONITOR 39, PAUSE 40 (PAUSE
 *       exiting and PAUSE-loop exiting), LGDT/LIDT/SGDT/SIDT 46, LLDT/LTR/SLDT/STR 47, WBINVD 54,
 *       RDRAND 57, INVPCID 58, RDSEED 61, XSAVES 63, XRSTORS 64. CR8 and the TPR shadow: MOV CR8 is
 *       not encodable outside 64-bit mode, so CR8 exiting shows as the #UD PRIORITY row.</li>
 *   <li>Events: exception 0 (exception bitmap; #PF error-code mask/match), external interrupt 1
 *       (with and without acknowledge interrupt on exit), triple fault 2, interrupt window 7, NMI
 *       window 8, task switch 9, monitor trap flag 37, VMX-preemption timer 52, EPT violation 48.</li>
 *   <li>Not here (EXITS-A): VMREAD/VMWRITE under VMCS shadowing, INIT 3, SIPI 4, SMI 5/6. NMI
 *       exiting has no NMI source in the processor yet (only injection, which never exits).</li>
 * </ul>
 */
class ExitMatrixTest {
    static final int EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESI = 6, EDI = 7;
    static final int UD = 6, NM = 7, GP = 13;
    static final int EXIT_EXCEPTION = 0, EXIT_HLT = 12, EXIT_PREEMPTION_TIMER = 52;
    /** Instruction length not saved for this exit (SDM 3C 28.2.4): not checked. */
    static final int NO_LENGTH = -1;
    static final long CR0_TS = 1 << 3, CR4_TSD = 1 << 2, CR4_PCE = 1 << 8, CR4_SMXE = 1 << 14, CR4_OSXSAVE = 1 << 18;
    static final long IO_BITMAP_A = VmxFixture.IO_BITMAP_A_PAGE, IO_BITMAP_B = VmxFixture.IO_BITMAP_B_PAGE,
            MSR_BITMAP = VmxFixture.MSR_BITMAP_PAGE;

    /** What happens with the control off. */
    record Outcome(int reason, int vector, long rip) {
        /** No exit: the snippet ran to the HLT after it. */
        static Outcome executes() {
            return new Outcome(EXIT_HLT, -1, -1);
        }

        static Outcome faults(int vector) {
            return new Outcome(EXIT_EXCEPTION, vector, -1);
        }

        /** Delivered through the guest IDT to the handler's HLT. */
        static Outcome delivered() {
            return new Outcome(EXIT_HLT, -1, HANDLER);
        }

        static Outcome exits(int reason) {
            return new Outcome(reason, -1, -1);
        }
    }

    /**
     * One exit: the snippet, the ON set-up and its exit fields ({@code info} null where the SDM
     * leaves the instruction information undefined; {@code rip} the expected GUEST_RIP, -1 for
     * the instruction itself), the OFF set-up and what it does.
     */
    record Row(String name, String code, Consumer<MatrixGuest> on, int reason, long qualification, int length,
            Integer info, long rip, Consumer<MatrixGuest> off, Outcome offOutcome) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static Row row(String name, String code, Consumer<MatrixGuest> on, int reason, long qualification,
            int length, Integer info, Consumer<MatrixGuest> off, Outcome offOutcome) {
        return new Row(name, code, on, reason, qualification, length, info, -1, off, offOutcome);
    }

    private static Consumer<MatrixGuest> none() {
        return g -> { };
    }

    private static int p(ProcessorControl c) {
        return c.mask();
    }

    private static int s(SecondaryControl c) {
        return c.mask();
    }

    // memory-operand instruction information (SDM 3C 28.2.5): 32-bit address 0x80, DS 0x18000,
    // index invalid 0x400000, base invalid 0x8000000, base register << 23
    static final int INFO_DS_BASE_EAX = 0x0041_8080, INFO_DS_BASE_EBX = 0x01C1_8080, INFO_DS_NO_BASE = 0x0841_8080;

    static Stream<Row> rows() {
        return Stream.of(
            // ---- unconditional (SDM 3C 26.1.2) ----
            row("CPUID", "0fa2", none(), 10, 0, 2, null, null, null),
            row("GETSEC", "0f37", g -> g.cr4(CR4_SMXE), 11, 0, 2, null, none(), Outcome.faults(UD)),
            row("INVD", "0f08", none(), 13, 0, 2, null, MatrixGuest::user, Outcome.faults(GP)),
            row("XSETBV", "0f01d1", g -> g.cr4(CR4_OSXSAVE), 55, 0, 3, null, none(), Outcome.faults(UD)),
            row("VMCALL", "0f01c1", none(), 18, 0, 3, null, null, null),
            row("VMCLEAR [eax]", "660fc730", none(), 19, 0, 4, INFO_DS_BASE_EAX, MatrixGuest::realMode,
                    Outcome.faults(UD)),
            row("VMLAUNCH", "0f01c2", none(), 20, 0, 3, null, MatrixGuest::realMode, Outcome.faults(UD)),
            row("VMPTRLD [eax]", "0fc730", none(), 21, 0, 3, INFO_DS_BASE_EAX, MatrixGuest::realMode,
                    Outcome.faults(UD)),
            row("VMPTRST [eax]", "0fc738", none(), 22, 0, 3, INFO_DS_BASE_EAX, MatrixGuest::realMode,
                    Outcome.faults(UD)),
            row("VMREAD eax, ebx", "0f78d8", none(), 23, 0, 3, 0x3000_0400, MatrixGuest::realMode,
                    Outcome.faults(UD)),
            row("VMRESUME", "0f01c3", none(), 24, 0, 3, null, MatrixGuest::realMode, Outcome.faults(UD)),
            row("VMWRITE esi, [44h]", "0f793544000000", none(), 25, 0x44, 7, 0x6841_8080, MatrixGuest::realMode,
                    Outcome.faults(UD)),
            row("VMXOFF", "0f01c4", none(), 26, 0, 3, null, MatrixGuest::realMode, Outcome.faults(UD)),
            row("VMXON [eax]", "f30fc730", none(), 27, 0, 4, INFO_DS_BASE_EAX, MatrixGuest::realMode,
                    Outcome.faults(UD)),
            row("INVEPT edx, [ebx]", "660f388013", none(), 50, 0, 5, 0x21C1_8080, MatrixGuest::realMode,
                    Outcome.faults(UD)),
            row("INVVPID edx, [ebx]", "660f388113", none(), 53, 0, 5, 0x21C1_8080, MatrixGuest::realMode,
                    Outcome.faults(UD)),

            // ---- under controls (SDM 3C 26.1.3) ----
            row("HLT", "", none(), 12, 0, 1, null,
                    g -> g.procOff(p(ProcessorControl.HLT_EXITING))
                            .pin(PinBasedControl.ACTIVATE_VMX_PREEMPTION_TIMER.mask())
                            .write(VMX_PREEMPTION_TIMER_VALUE, 100),
                    Outcome.exits(EXIT_PREEMPTION_TIMER)),
            row("INVLPG [12345678h]", "0f013d78563412", g -> g.proc(p(ProcessorControl.INVLPG_EXITING)), 14,
                    0x1234_5678, 7, null, none(), Outcome.executes()),
            row("RDPMC", "0f33", g -> g.proc(p(ProcessorControl.RDPMC_EXITING)), 15, 0, 2, null, none(),
                    Outcome.executes()),
            row("RDTSC", "0f31", g -> g.proc(p(ProcessorControl.RDTSC_EXITING)), 16, 0, 2, null, none(),
                    Outcome.executes()),
            row("RDTSCP", "0f01f9",
                    g -> g.proc(p(ProcessorControl.RDTSC_EXITING)).proc2(s(SecondaryControl.ENABLE_RDTSCP)), 51, 0,
                    3, null, g -> g.proc2(s(SecondaryControl.ENABLE_RDTSCP)), Outcome.executes()),
            row("MOV CR0, eax (TS owned by the host)", "0f22c0",
                    g -> g.write(CR0_GUEST_HOST_MASK, 0x20 | CR0_TS).gpr(EAX, 0x19), 28, 0x000, 3, null,
                    g -> g.gpr(EAX, 0x19), Outcome.executes()),
            row("MOV CR3, eax (CR3-load exiting, not a target)", "0f22d8",
                    g -> g.proc(p(ProcessorControl.CR3_LOAD_EXITING)).gpr(EAX, 0x5000), 28, 0x003, 3, null,
                    g -> g.proc(p(ProcessorControl.CR3_LOAD_EXITING)).gpr(EAX, 0x5000)
                            .write(CR3_TARGET_COUNT, 1).write(CR3_TARGET_VALUE0, 0x5000),
                    Outcome.executes()),
            row("MOV edx, CR3 (CR3-store exiting)", "0f20da", g -> g.proc(p(ProcessorControl.CR3_STORE_EXITING)),
                    28, 0x213, 3, null, none(), Outcome.executes()),
            row("MOV CR4, eax (VMXE differs from the shadow)", "0f22e0", g -> g.gpr(EAX, 0x2000), 28, 0x004, 3,
                    null, g -> g.gpr(EAX, 0), Outcome.executes()),
            row("CLTS (TS owned, shadow TS = 1)", "0f06",
                    g -> g.write(CR0_GUEST_HOST_MASK, 0x20 | CR0_TS).write(CR0_READ_SHADOW, 0x11 | CR0_TS), 28,
                    0x020, 2, null, none(), Outcome.executes()),
            row("LMSW ax (PE owned, shadow PE = 0)", "0f01f0",
                    g -> g.write(CR0_GUEST_HOST_MASK, 0x21).write(CR0_READ_SHADOW, 0x10).gpr(EAX, 1), 28,
                    0x1_0030, 3, null, g -> g.gpr(EAX, 1), Outcome.executes()),
            row("LMSW [2000h] (memory operand)", "0f013500200000",
                    g -> {
                        g.write(CR0_GUEST_HOST_MASK, 0x21).write(CR0_READ_SHADOW, 0x10);
                        g.putShort(0x2000, 1);
                    }, 28, 0x1_0070, 7, null, g -> g.putShort(0x2000, 1), Outcome.executes()),
            row("MOV DR7, eax", "0f23f8", g -> g.proc(p(ProcessorControl.MOV_DR_EXITING)), 29, 0x007, 3, null,
                    none(), Outcome.executes()),
            row("MOV ecx, DR6", "0f21f1", g -> g.proc(p(ProcessorControl.MOV_DR_EXITING)), 29, 0x116, 3, null,
                    none(), Outcome.executes()),
            row("OUT 80h, al (unconditional I/O exiting)", "e680",
                    g -> g.proc(p(ProcessorControl.UNCONDITIONAL_IO_EXITING)), 30, 0x0080_0040L, 2, null, none(),
                    Outcome.executes()),
            row("OUT dx, ax (bitmap A, port 80h)", "66ef", g -> {
                g.proc(p(ProcessorControl.USE_IO_BITMAPS)).gpr(EDX, 0x80);
                g.hostBit(IO_BITMAP_A, 0x80);
            }, 30, 0x0080_0001L, 2, null, g -> g.proc(p(ProcessorControl.USE_IO_BITMAPS)).gpr(EDX, 0x80),
                    Outcome.executes()),
            row("IN al, dx (bitmap B, port 8000h)", "ec", g -> {
                g.proc(p(ProcessorControl.USE_IO_BITMAPS)).gpr(EDX, 0x8000);
                g.hostBit(IO_BITMAP_B, 0);
            }, 30, 0x8000_0008L, 1, null, g -> g.proc(p(ProcessorControl.USE_IO_BITMAPS)).gpr(EDX, 0x8000),
                    Outcome.executes()),
            row("INSB (port 60h)", "6c",
                    g -> g.proc(p(ProcessorControl.UNCONDITIONAL_IO_EXITING)).gpr(EDX, 0x60).gpr(EDI, 0x2000), 30,
                    0x0060_0018L, 1, 0x80, g -> g.gpr(EDX, 0x60).gpr(EDI, 0x2000), Outcome.executes()),
            row("REP OUTSB (port 3F8h)", "f36e",
                    g -> g.proc(p(ProcessorControl.UNCONDITIONAL_IO_EXITING)).gpr(EDX, 0x3F8).gpr(ESI, 0x2000)
                            .gpr(ECX, 3), 30, 0x03F8_0030L, 2, 0x1_8080,
                    g -> g.gpr(EDX, 0x3F8).gpr(ESI, 0x2000).gpr(ECX, 3), Outcome.executes()),
            row("RDMSR 174h (no MSR bitmaps)", "0f32", g -> g.gpr(ECX, 0x174), 31, 0, 2, null,
                    g -> g.proc(p(ProcessorControl.USE_MSR_BITMAPS)).gpr(ECX, 0x174), Outcome.executes()),
            row("WRMSR 174h (write bitmap bit set)", "0f30", g -> {
                g.proc(p(ProcessorControl.USE_MSR_BITMAPS)).gpr(ECX, 0x174);
                g.hostBit(MSR_BITMAP + 2048, 0x174);
            }, 32, 0, 2, null, g -> g.proc(p(ProcessorControl.USE_MSR_BITMAPS)).gpr(ECX, 0x174),
                    Outcome.executes()),
            row("MWAIT", "0f01c9", g -> g.proc(p(ProcessorControl.MWAIT_EXITING)), 36, 0, 3, null, none(),
                    Outcome.executes()),
            row("MONITOR", "0f01c8", g -> g.proc(p(ProcessorControl.MONITOR_EXITING)), 39, 0, 3, null, none(),
                    Outcome.executes()),
            row("PAUSE (PAUSE exiting)", "f390", g -> g.proc(p(ProcessorControl.PAUSE_EXITING)), 40, 0, 2, null,
                    none(), Outcome.executes()),
            row("PAUSE loop (PAUSE-loop exiting: gap 4, window 50)", "f390ebfc",
                    g -> g.proc2(s(SecondaryControl.PAUSE_LOOP_EXITING)).write(PLE_GAP, 4).write(PLE_WINDOW, 50),
                    40, 0, 2, null,
                    g -> g.pin(PinBasedControl.ACTIVATE_VMX_PREEMPTION_TIMER.mask())
                            .write(VMX_PREEMPTION_TIMER_VALUE, 1000),
                    Outcome.exits(EXIT_PREEMPTION_TIMER)),
            row("LGDT [ebx+esi*4+10h]", "0f0154b310", g -> g.proc2(s(SecondaryControl.DESCRIPTOR_TABLE_EXITING)),
                    46, 0x10, 5, 0x2199_8882, none(), Outcome.executes()),
            row("SGDT [2000h]", "0f010500200000", g -> g.proc2(s(SecondaryControl.DESCRIPTOR_TABLE_EXITING)), 46,
                    0x2000, 7, INFO_DS_NO_BASE | 0x800, none(), Outcome.executes()),
            row("SIDT [2000h]", "0f010d00200000", g -> g.proc2(s(SecondaryControl.DESCRIPTOR_TABLE_EXITING)), 46,
                    0x2000, 7, INFO_DS_NO_BASE | 0x800 | 1 << 28, none(), Outcome.executes()),
            row("LIDT [eax]", "0f0118", g -> g.proc2(s(SecondaryControl.DESCRIPTOR_TABLE_EXITING)), 46, 0, 3,
                    INFO_DS_BASE_EAX | 0x800 | 3 << 28, none(), Outcome.executes()),
            row("SLDT eax", "0f00c0", g -> g.proc2(s(SecondaryControl.DESCRIPTOR_TABLE_EXITING)), 47, 0, 3, 0x400,
                    none(), Outcome.executes()),
            row("STR [100h]", "0f000d00010000", g -> g.proc2(s(SecondaryControl.DESCRIPTOR_TABLE_EXITING)), 47,
                    0x100, 7, INFO_DS_NO_BASE | 1 << 28, none(), Outcome.executes()),
            row("LLDT ax (null selector)", "0f00d0", g -> g.proc2(s(SecondaryControl.DESCRIPTOR_TABLE_EXITING)), 47,
                    0, 3, 0x400 | 2 << 28, none(), Outcome.executes()),
            row("LTR cx", "0f00d9", g -> g.proc2(s(SecondaryControl.DESCRIPTOR_TABLE_EXITING)), 47, 0, 3,
                    0x400 | 1 << 3 | 3 << 28, none(), Outcome.faults(GP)),
            row("WBINVD", "0f09", g -> g.proc2(s(SecondaryControl.WBINVD_EXITING)), 54, 0, 2, null, none(),
                    Outcome.executes()),
            row("RDRAND ecx", "0fc7f1", g -> g.proc2(s(SecondaryControl.RDRAND_EXITING)), 57, 0, 3, 0x808, none(),
                    Outcome.executes()),
            row("RDSEED dx", "660fc7fa", g -> g.proc2(s(SecondaryControl.RDSEED_EXITING)), 61, 0, 4, 0x10, none(),
                    Outcome.executes()),
            row("INVPCID eax, [ecx+8]", "660f38824108",
                    g -> g.proc(p(ProcessorControl.INVLPG_EXITING)).proc2(s(SecondaryControl.ENABLE_INVPCID)), 58, 8,
                    6, 0x00C1_8080, g -> g.proc2(s(SecondaryControl.ENABLE_INVPCID)), Outcome.executes()),
            // guest code enables PASID state in IA32_XSS (WRMSR DA0h, bit 10), then XSAVES/XRSTORS
            // with EDX:EAX = bit 10: the exit needs EDX:EAX & IA32_XSS & the XSS-exiting bitmap != 0
            new Row("XSAVES [3000h] after WRMSR IA32_XSS = PASID", XSS_PASID_FROM_GUEST + "0fc72d00300000",
                    g -> xsavesFromGuest(g, PASID_COMPONENT), 63, 0x3000, 7, INFO_DS_NO_BASE, CODE + XSS_PASID_LENGTH,
                    g -> xsavesFromGuest(g, ~PASID_COMPONENT), Outcome.executes()),
            new Row("XRSTORS [3000h] after WRMSR IA32_XSS = PASID", XSS_PASID_FROM_GUEST + "0fc71d00300000",
                    g -> xsavesFromGuest(g, PASID_COMPONENT), 64, 0x3000, 7, INFO_DS_NO_BASE, CODE + XSS_PASID_LENGTH,
                    g -> xsavesFromGuest(g, ~PASID_COMPONENT), Outcome.executes()),

            // ---- events ----
            row("exception: #UD in the exception bitmap", "0f0b", none(), 0, 0, NO_LENGTH, null,
                    g -> g.write(EXCEPTION_BITMAP, 0), Outcome.delivered()),
            row("exception: #PF, error-code mask/match select it", "a100004000",
                    g -> g.paging().write(EXCEPTION_BITMAP, 1 << 14), 0, 0x40_0000, NO_LENGTH, null,
                    g -> g.paging().write(EXCEPTION_BITMAP, 1 << 14).write(PAGE_FAULT_ERROR_CODE_MASK, 1)
                            .write(PAGE_FAULT_ERROR_CODE_MATCH, 1),
                    Outcome.delivered()),
            row("external interrupt (host kick)", "", g -> g.p.requestExit(), 1, 0, NO_LENGTH, null, null, null),
            row("triple fault", "0f0b", g -> g.write(EXCEPTION_BITMAP, 0).write(GUEST_IDTR_LIMIT, 0), 2, 0,
                    NO_LENGTH, null, null, null),
            row("interrupt window", "", g -> g.proc(p(ProcessorControl.INTERRUPT_WINDOW_EXITING))
                    .write(GUEST_RFLAGS, 0x202), 7, 0, NO_LENGTH, null, g -> g.write(GUEST_RFLAGS, 0x202),
                    Outcome.executes()),
            row("NMI window", "", g -> g.pin(PinBasedControl.NMI_EXITING.mask() | PinBasedControl.VIRTUAL_NMIS.mask())
                    .proc(p(ProcessorControl.NMI_WINDOW_EXITING)), 8, 0, NO_LENGTH, null,
                    g -> g.pin(PinBasedControl.NMI_EXITING.mask() | PinBasedControl.VIRTUAL_NMIS.mask()),
                    Outcome.executes()),
            row("task switch: JMP to an available TSS", "ea000000003000", none(), 9,
                    MatrixGuest.SEL_TSS_AVAILABLE | 2L << 30, 7, null, null, null),
            new Row("monitor trap flag (trap-like: after the NOP)", "90",
                    g -> g.proc(p(ProcessorControl.MONITOR_TRAP_FLAG)), 37, 0, NO_LENGTH, null, CODE + 1, none(),
                    Outcome.executes()),
            row("VMX-preemption timer", "", g -> g.pin(PinBasedControl.ACTIVATE_VMX_PREEMPTION_TIMER.mask())
                    .write(VMX_PREEMPTION_TIMER_VALUE, 0), 52, 0, NO_LENGTH, null, none(), Outcome.executes()),
            row("EPT violation: read beyond RAM (mov eax, [ebx])", "8b03", g -> g.gpr(EBX, 0x1000_0000L), 48, 0x181,
                    NO_LENGTH, null, g -> g.gpr(EBX, 0x2000), Outcome.executes()));
    }

    /** An exception that wins over an exit whose control is on (SDM 3C 26.1.1): the set-up, the vector. */
    record Priority(String name, String code, Consumer<MatrixGuest> setup, int vector) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Priority> priorities() {
        int descriptorTables = s(SecondaryControl.DESCRIPTOR_TABLE_EXITING);
        return Stream.of(
            new Priority("HLT at CPL 3", "", MatrixGuest::user, GP),
            new Priority("INVLPG at CPL 3", "0f013d78563412", g -> g.proc(p(ProcessorControl.INVLPG_EXITING)).user(),
                    GP),
            new Priority("RDPMC at CPL 3 without CR4.PCE", "0f33", g -> g.proc(p(ProcessorControl.RDPMC_EXITING)).user(),
                    GP),
            new Priority("RDTSC at CPL 3 with CR4.TSD", "0f31",
                    g -> g.proc(p(ProcessorControl.RDTSC_EXITING)).cr4(CR4_TSD).user(), GP),
            new Priority("RDTSCP without enable RDTSCP", "0f01f9", g -> g.proc(p(ProcessorControl.RDTSC_EXITING)), UD),
            new Priority("MOV to CR8 (F0 0F 22: not in 32-bit mode), CR8-load exiting", "f00f22c0",
                    g -> g.proc(p(ProcessorControl.CR8_LOAD_EXITING)), UD),
            new Priority("MOV CR3 at CPL 3, CR3-load exiting", "0f22d8",
                    g -> g.proc(p(ProcessorControl.CR3_LOAD_EXITING)).user(), GP),
            new Priority("CLTS at CPL 3", "0f06",
                    g -> g.write(CR0_GUEST_HOST_MASK, 0x20 | CR0_TS).write(CR0_READ_SHADOW, 0x11 | CR0_TS).user(), GP),
            new Priority("MOV DR7 at CPL 3, MOV-DR exiting", "0f23f8",
                    g -> g.proc(p(ProcessorControl.MOV_DR_EXITING)).user(), GP),
            new Priority("IN at CPL 3 denied by the TSS bitmap, unconditional I/O exiting", "e460",
                    g -> g.proc(p(ProcessorControl.UNCONDITIONAL_IO_EXITING)).user(), GP),
            new Priority("RDMSR at CPL 3", "0f32", MatrixGuest::user, GP),
            new Priority("WRMSR at CPL 3", "0f30", MatrixGuest::user, GP),
            new Priority("LGDT at CPL 3, descriptor-table exiting", "0f0118", g -> g.proc2(descriptorTables).user(), GP),
            new Priority("LLDT in real mode, descriptor-table exiting", "0f00d0",
                    g -> g.realMode().proc2(descriptorTables), UD),
            new Priority("WBINVD at CPL 3, WBINVD exiting", "0f09",
                    g -> g.proc2(s(SecondaryControl.WBINVD_EXITING)).user(), GP),
            new Priority("INVPCID without enable INVPCID, INVLPG exiting", "660f38824108",
                    g -> g.proc(p(ProcessorControl.INVLPG_EXITING)), UD),
            new Priority("INVD at CPL 3", "0f08", MatrixGuest::user, GP),
            new Priority("XSETBV at CPL 3", "0f01d1", g -> g.cr4(CR4_OSXSAVE).user(), GP),
            new Priority("GETSEC without CR4.SMXE", "0f37", none(), UD),
            new Priority("XSAVES without enable XSAVES/XRSTORS", "0fc72d00300000", g -> {
                xsaves(g, -1L);
                g.write(SECONDARY_VM_EXEC_CONTROL, VmxFixture.PROC2);
            }, UD),
            new Priority("XSAVES without CR4.OSXSAVE", "0fc72d00300000", g -> xsaves(g, -1L).cr4Off(CR4_OSXSAVE), UD),
            new Priority("XRSTORS at CPL 3", "0fc71d00300000", g -> xsaves(g, -1L).user(), GP),
            new Priority("XSAVES with a LOCK prefix", "f00fc72d00300000", g -> xsaves(g, -1L), UD),
            new Priority("VMXON in real mode", "f30fc730", MatrixGuest::realMode, UD));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("priorities")
    void exceptionsWithPriorityBeatTheExit(Priority r) {
        MatrixGuest g = new MatrixGuest();
        r.setup().accept(g);
        assertEquals(EXIT_EXCEPTION, g.run(bytes(r.code())), "the exception, not the instruction's exit");
        assertEquals(0x8000_0000L | r.vector(), g.read(VM_EXIT_INTR_INFO) & 0x8000_00FFL);
    }

    /** XSAVE state component 10, PASID state (IA32_PASID), the one supervisor component of the core. */
    static final long PASID_COMPONENT = 1L << 10;
    /** mov ecx, 0DA0h (IA32_XSS); mov eax, 400h; xor edx, edx; wrmsr; mov eax, 400h (the instruction mask). */
    static final String XSS_PASID_FROM_GUEST = "b9a00d0000b80004000031d20f30b800040000";
    static final int XSS_PASID_LENGTH = XSS_PASID_FROM_GUEST.length() / 2;

    /**
     * "enable XSAVES/XRSTORS", CR4.OSXSAVE, the XSS-exiting bitmap, IA32_XSS = PASID (white box:
     * the priority rows; the exit rows set it from guest code), EDX:EAX = PASID, a valid compacted area.
     */
    private static MatrixGuest xsaves(MatrixGuest g, long xssExitingBitmap) {
        xsavesFromGuest(g, xssExitingBitmap);
        CoreAccess.setXss(g.core, PASID_COMPONENT);
        g.gpr(EAX, PASID_COMPONENT).gpr(EDX, 0);
        return g;
    }

    /**
     * The controls and the area only: IA32_XSS stays 0 until the guest's WRMSR (XSS_PASID_FROM_GUEST),
     * which the MSR bitmaps (all clear) let through.
     */
    private static MatrixGuest xsavesFromGuest(MatrixGuest g, long xssExitingBitmap) {
        g.proc(p(ProcessorControl.USE_MSR_BITMAPS));
        g.proc2(s(SecondaryControl.ENABLE_XSAVES_XRSTORS)).cr4(CR4_OSXSAVE).write(XSS_EXIT_BITMAP, xssExitingBitmap);
        g.putLong(AREA + 520, 1L << 63);   // XCOMP_BV: compacted, no component
        return g;
    }

    private static byte[] bytes(String hex) {
        byte[] b = new byte[hex.length() / 2];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
        }
        return b;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void controlOnExitsWithTheSdmExitInformation(Row r) {
        MatrixGuest g = new MatrixGuest();
        r.on().accept(g);
        byte[] code = bytes(r.code());
        assertEquals(r.reason(), g.run(code), "basic exit reason");
        assertEquals(r.qualification(), g.read(EXIT_QUALIFICATION), "exit qualification");
        if (r.length() != NO_LENGTH) {
            assertEquals(r.length(), g.read(VM_EXIT_INSTRUCTION_LEN), "VM-exit instruction length");
            assertEquals(r.rip() < 0 ? CODE : r.rip(), g.read(GUEST_RIP), "fault-like: RIP at the instruction");
        } else if (r.rip() >= 0) {
            assertEquals(r.rip(), g.read(GUEST_RIP), "GUEST_RIP");
        }
        if (r.info() != null) {
            assertEquals(r.info().longValue(), g.read(VMX_INSTRUCTION_INFO), "VM-exit instruction information");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void controlOffDoesNotExit(Row r) {
        assumeTrue(r.off() != null, "unconditional, or no OFF setting exists (must-be-1 control)");
        MatrixGuest g = new MatrixGuest();
        r.off().accept(g);
        Outcome o = r.offOutcome();
        assertEquals(o.reason(), g.run(bytes(r.code())), "basic exit reason");
        if (o.vector() >= 0) {
            assertEquals(0x8000_0000L | o.vector(), g.read(VM_EXIT_INTR_INFO) & 0x8000_00FFL, "the fault's vector");
        } else if (o.reason() == EXIT_HLT) {
            assertEquals(o.rip() < 0 ? g.codeEnd() : o.rip(), g.read(GUEST_RIP), "ran to the HLT");
        }
    }
}
