package org.hotvisor.kernel.vm;

import org.hotvisor.api.ExitAction;
import org.hotvisor.api.Register;
import org.hotvisor.api.vmx.VmcsField;

/**
 * What the kernel does with an exit that no handler bundle takes. Each reason's default is
 * documented here and in {@code vm:handlers}:
 * <ul>
 * <li>CPUID: all four registers 0 (an empty leaf), so a guest runs even with no CPUID bundle;</li>
 * <li>IN/OUT: IN reads all-ones, OUT is dropped (an unclaimed ISA port); string I/O stops the VM;</li>
 * <li>HLT: interrupts enabled: idle to the next timer; disabled with nothing pending: power-off (0);</li>
 * <li>RDMSR/WRMSR: #GP(0), as for an MSR the processor lacks;</li>
 * <li>RDTSC/RDTSCP: the guest TSC (TSC + TSC offset); RDTSCP's TSC_AUX is 0;</li>
 * <li>RDPMC: 0; INVD, WBINVD, PAUSE, MONITOR, MWAIT: done as no-ops (nothing is cached);</li>
 * <li>INVLPG, INVPCID: the processor's TLB is flushed; INVPCID's type and descriptor are checked
 *     (#GP(0)) first. See {@link TlbInvalidation};</li>
 * <li>SGDT/SIDT/LGDT/LIDT (46), SLDT/STR/LLDT/LTR (47): emulated from the instruction information,
 *     with the instruction's faults injected. See {@link DescriptorTableEmulation};</li>
 * <li>RDRAND/RDSEED: a value from a deterministic generator, CF=1;</li>
 * <li>VMCALL: KVM's hypercall ABI with no hypercalls: RAX = -KVM_ENOSYS (-1000), or -KVM_EPERM (-1)
 *     above CPL 0, so test kernels written for KVM (kvm-unit-tests' vmexit, hypercall) go on;</li>
 * <li>the other VMX instructions, GETSEC, XSETBV, XSAVES/XRSTORS: #UD (nested VMX is not offered);</li>
 * <li>exception or NMI (the exception bitmap selected it): re-injected unchanged;</li>
 * <li>control-register access: emulated (MOV to/from CR0, CR3, CR4, CR8, CLTS, LMSW) against the
 *     guest/host masks and read shadows, as KVM does;</li>
 * <li>MOV DR: emulated (DR7 in the VMCS, DR0-DR3/DR6 in the processor);</li>
 * <li>INIT (3): vCPU 0 resets the platform, another vCPU takes the INIT state and waits for a SIPI;
 *     SIPI (4): start in real mode at vector:0000; SMI (5, 6): logged once, resumed (no SMM). See
 *     {@link SignalDefaults};</li>
 * <li>anything else: the VM stops with status 10 and a message naming the exit.</li>
 * </ul>
 */
final class DefaultExitHandlers {
    private DefaultExitHandlers() {}

    private static final int UD = 6, GP = 13;
    private static long rngState = 0x9E3779B97F4A7C15L;

    static ExitAction handle(int reason, ExitView exit, Machine machine) {
        return switch (reason) {
            case 10 -> { // CPUID
                exit.setGpr(0, 0); exit.setGpr(1, 0); exit.setGpr(2, 0); exit.setGpr(3, 0);
                yield ExitAction.EMULATED;
            }
            case 30 -> io(exit, machine);
            case 12 -> hlt(exit, machine);
            case 31, 32 -> {
                exit.injectException(GP, 0);
                yield ExitAction.RESUME;
            }
            case 16, 51 -> { // RDTSC, RDTSCP
                long tsc = exit.cpu.tsc() + exit.cpu.vmread(VmcsField.TSC_OFFSET.encoding());
                exit.setGpr(0, tsc & 0xFFFF_FFFFL);
                exit.setGpr(2, tsc >>> 32);
                if (reason == 51) {
                    exit.setGpr(1, 0);
                }
                yield ExitAction.EMULATED;
            }
            case 15 -> { // RDPMC
                exit.setGpr(0, 0);
                exit.setGpr(2, 0);
                yield ExitAction.EMULATED;
            }
            case 13, 54, 40, 39, 36 -> ExitAction.EMULATED;
            case 14 -> TlbInvalidation.invlpg(exit, exit.cpu);
            case 58 -> TlbInvalidation.invpcid(exit, exit.cpu);
            case 46 -> DescriptorTableEmulation.gdtrIdtr(exit, exit.cpu);
            case 47 -> DescriptorTableEmulation.ldtrTr(exit, exit.cpu);
            case 28 -> ControlRegisterEmulation.handle(exit);
            case 3 -> SignalDefaults.init(exit, machine);
            case 4 -> SignalDefaults.startup(exit);
            case 5, 6 -> SignalDefaults.smi(exit);
            case 29 -> movDr(exit);
            case 57, 61 -> { // RDRAND, RDSEED: operand register in instruction info bits 6:3 (SDM 3C 28.2.5)
                long v = next();
                int reg = (exit.instructionInfo() >> 3) & 15;
                int size = (exit.instructionInfo() >> 11) & 3; // 0: 16, 1: 32, 2: 64 bits
                long masked = size == 0 ? v & 0xFFFF : size == 1 ? v & 0xFFFF_FFFFL : v;
                long old = exit.gpr(reg);
                exit.setGpr(reg, size == 0 ? (old & ~0xFFFFL) | masked : masked);
                exit.set(Register.RFLAGS, (exit.get(Register.RFLAGS) & ~0x8D5L) | 1); // CF=1, others 0
                yield ExitAction.EMULATED;
            }
            case 18 -> vmcall(exit);
            case 11, 19, 20, 21, 22, 23, 24, 25, 26, 27, 50, 53, 55, 63, 64 -> {
                exit.injectException(UD, -1);
                yield ExitAction.RESUME;
            }
            case 0 -> { // re-inject what the exception bitmap caught (SDM 3C 28.2.2 interruption information)
                int info = (int) exit.vmread(VmcsField.VM_EXIT_INTR_INFO.encoding());
                if (info < 0) {
                    int type = (info >> 8) & 7;
                    boolean hasCode = (info & (1 << 11)) != 0;
                    if (type == 3 || type == 6 || type == 5 || type == 4 || type == 2) {
                        exit.vmwrite(VmcsField.VM_ENTRY_INTR_INFO_FIELD.encoding(), (info & 0x80000FFF) & 0xFFFFFFFFL);
                        if (hasCode) {
                            exit.vmwrite(VmcsField.VM_ENTRY_EXCEPTION_ERROR_CODE.encoding(),
                                    exit.vmread(VmcsField.VM_EXIT_INTR_ERROR_CODE.encoding()));
                        }
                        if (type >= 4) {
                            exit.vmwrite(VmcsField.VM_ENTRY_INSTRUCTION_LEN.encoding(), exit.instructionLength);
                        }
                        if ((info & 0xFF) == 14) { // #PF: CR2 holds the faulting address (exit qualification)
                            exit.set(Register.CR2, exit.qualification);
                        }
                    }
                }
                yield ExitAction.RESUME;
            }
            default -> {
                exit.stop(StopStatus.UNHANDLED_EXIT, String.format(
                        "unhandled VM exit %d (%s) at RIP 0x%x: no handler bundle serves it and its default is to stop",
                        reason, VirtualCpu.name(reason), exit.guestRip));
                yield ExitAction.STOP;
            }
        };
    }

    /** KVM's answers to an unknown hypercall (include/uapi/linux/kvm_para.h): -KVM_ENOSYS, -KVM_EPERM above CPL 0. */
    static final long KVM_ENOSYS = 1000, KVM_EPERM = 1;
    /** SDM 3C 25.4.1: access-rights DPL bits 6:5 (SS.DPL is the CPL), CS.L bit 13. */
    private static final int AR_DPL_SHIFT = 5, AR_DPL_MASK = 3, AR_L = 1 << 13;
    /** SDM 3C 25.8.1: VM-entry control bit 9, IA-32e mode guest (the processor saves EFER.LMA there at exits). */
    private static final long ENTRY_IA32E_MODE_GUEST = 1L << 9;

    /**
     * VMCALL always exits in VMX non-root operation (SDM 3C 26.1.2); the VMM defines what it does.
     * Hotvisor answers as KVM does for a hypercall it does not know: the result in RAX, truncated to
     * 32 bits outside 64-bit mode, and the guest goes on after the instruction.
     */
    static ExitAction vmcall(org.hotvisor.api.VmExit exit) {
        int cpl = (int) (exit.vmread(VmcsField.GUEST_SS_AR_BYTES.encoding()) >> AR_DPL_SHIFT) & AR_DPL_MASK;
        long result = cpl == 0 ? -KVM_ENOSYS : -KVM_EPERM;
        boolean longMode = (exit.vmread(VmcsField.VM_ENTRY_CONTROLS.encoding()) & ENTRY_IA32E_MODE_GUEST) != 0
                && (exit.vmread(VmcsField.GUEST_CS_AR_BYTES.encoding()) & AR_L) != 0;
        exit.registers().setGpr(0, longMode ? result : result & 0xFFFF_FFFFL);
        return ExitAction.EMULATED;
    }

    /** SDM 3C 28.2.1, Table 28-4: DR number 2:0, direction 4 (1 = MOV from DR), GPR 11:8. */
    private static ExitAction movDr(ExitView exit) {
        long q = exit.qualification;
        int dr = (int) (q & 7);
        boolean fromDr = (q & 16) != 0;
        int gpr = (int) ((q >> 8) & 15);
        if (fromDr) {
            long v = dr == 7 ? exit.vmread(VmcsField.GUEST_DR7.encoding()) : dr < 4 || dr == 6 ? exit.cpu.dr(dr) : 0;
            exit.setGpr(gpr, v & 0xFFFF_FFFFL);
        } else {
            long v = exit.gpr(gpr) & 0xFFFF_FFFFL;
            if (dr == 7) {
                exit.vmwrite(VmcsField.GUEST_DR7.encoding(), (v | 0x400) & ~0xD800L); // reserved bits (SDM 3A 18.2.4)
            } else if (dr < 4 || dr == 6) {
                exit.cpu.setDr(dr, v);
            }
        }
        return ExitAction.EMULATED;
    }

    private static long next() {
        long x = rngState;
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
        rngState = x;
        return x;
    }

    /** SDM 3C 28.2.1, Table 28-5: the I/O-instruction qualification. */
    private static ExitAction io(ExitView exit, Machine machine) {
        long q = exit.qualification;
        int size = (int) (q & 7) + 1;
        boolean in = (q & 8) != 0;
        boolean string = (q & 16) != 0;
        if (string) {
            exit.stop(StopStatus.UNHANDLED_EXIT, String.format(
                    "string I/O at RIP 0x%x on port 0x%x but no I/O handler bundle is installed", exit.guestRip, q >>> 16));
            return ExitAction.STOP;
        }
        if (in) {
            long mask = size == 4 ? 0xFFFF_FFFFL : (1L << (size * 8)) - 1;
            long rax = exit.gpr(0);
            exit.setGpr(0, size == 4 ? mask : (rax & ~mask) | mask);
        }
        return ExitAction.EMULATED;
    }

    private static ExitAction hlt(ExitView exit, Machine machine) {
        boolean ifSet = (exit.get(Register.RFLAGS) & (1 << 9)) != 0;
        VirtualClockImpl clock = machine.clock();
        if (!ifSet && !exit.vcpu().interruptPending()) {
            exit.stop(StopStatus.POWER_OFF, "");
            return ExitAction.STOP;
        }
        if (ifSet && !exit.vcpu().interruptPending()) {
            long deadline = clock.nextDeadline();
            if (deadline == Long.MAX_VALUE && !clock.hostPaced() && machine.vcpuCount() == 1) {
                exit.stop(StopStatus.POWER_OFF, "HLT with no timer armed and no interrupt source");
                return ExitAction.STOP;
            }
            // with more vCPUs another one may send the IPI that ends this halt: wait for a kick
            clock.idleUntil(deadline);
        }
        return ExitAction.EMULATED;
    }
}
