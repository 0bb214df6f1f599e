package org.hotvisor.vmx.cpu.vmx;

import static org.hotvisor.api.vmx.VmcsField.*;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.vmx.EntryControl;
import org.hotvisor.api.vmx.ExitControl;
import org.hotvisor.api.vmx.PinBasedControl;
import org.hotvisor.api.vmx.ProcessorControl;
import org.hotvisor.api.vmx.VmxStatus;

/**
 * Micro-measurement (not a test): nanoseconds (wall clock and thread CPU time, the latter less
 * disturbed by other processes on a shared machine) per VM-exit round trip of a guest that runs CPUID in
 * a loop, with the VMREAD/VMWRITE traffic of the kernel's run loop (VirtualCpu) per exit. Uses the
 * controls the kernel asks for: preemption timer, TSC offsetting, load/save IA32_EFER and IA32_PAT.
 *
 * <pre>
 * mvn -q dependency:build-classpath -Dmdep.outputFile=cp.txt   # once, in vmx-cpu/ (cp.txt is ignored by git)
 * java -cp target/classes:target/test-classes:$(cat cp.txt) org.hotvisor.vmx.cpu.vmx.VmExitRoundTripMain [exits] [runs]
 * </pre>
 */
public final class VmExitRoundTripMain {

    /** CPUID; JMP $-4 at 0000:7C00. */
    private static final byte[] CPUID_LOOP = {0x0F, (byte) 0xA2, (byte) 0xEB, (byte) 0xFC};
    private static final long PAT_DEFAULT = 0x0007_0406_0007_0406L;
    private static final long TIMER_TICKS = 0xFFFF_FFFFL;
    private static final int INTERRUPTIBILITY_STI_MOV_SS = 3;

    private VmExitRoundTripMain() {
    }

    public static void main(String[] args) {
        int exits = args.length > 0 ? Integer.parseInt(args[0]) : 2_000_000;
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        VmxFixture fixture = new VmxFixture();
        System.arraycopy(CPUID_LOOP, 0, fixture.guestRam, (int) VmxFixture.GUEST_START, CPUID_LOOP.length);
        VmxLogicalProcessor p = fixture.readyProcessor();
        VmxFixture.write(p, PIN_BASED_VM_EXEC_CONTROL, VmxFixture.PIN | PinBasedControl.ACTIVATE_VMX_PREEMPTION_TIMER.mask());
        VmxFixture.write(p, CPU_BASED_VM_EXEC_CONTROL, VmxFixture.PROC | ProcessorControl.USE_TSC_OFFSETTING.mask());
        VmxFixture.write(p, VM_EXIT_CONTROLS, VmxFixture.EXIT | ExitControl.SAVE_IA32_EFER.mask()
                | ExitControl.LOAD_IA32_EFER.mask() | ExitControl.SAVE_IA32_PAT.mask() | ExitControl.LOAD_IA32_PAT.mask());
        VmxFixture.write(p, VM_ENTRY_CONTROLS, VmxFixture.ENTRY | EntryControl.LOAD_IA32_EFER.mask()
                | EntryControl.LOAD_IA32_PAT.mask());
        VmxFixture.write(p, GUEST_IA32_PAT, PAT_DEFAULT);
        VmxFixture.write(p, HOST_IA32_PAT, PAT_DEFAULT);
        VmxFixture.write(p, GUEST_IA32_EFER, 0);
        VmxFixture.write(p, HOST_IA32_EFER, 0x500);
        VmxFixture.write(p, VMX_PREEMPTION_TIMER_VALUE, TIMER_TICKS);
        if (p.vmlaunch() != VmxStatus.SUCCEED || p.vmread(VM_EXIT_REASON) != ExitReason.CPUID.number()) {
            throw new IllegalStateException("launch failed: " + p.lastEntryFailure());
        }
        long sink = 0;
        // JIT warm-up
        for (int i = 0; i < 3; i++) {
            sink += roundTrips(p, exits / 2);
        }
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        double[] wall = new double[runs];
        double[] cpu = new double[runs];
        for (int r = 0; r < runs; r++) {
            long start = System.nanoTime();
            long startCpu = threads.getCurrentThreadCpuTime();
            sink += roundTrips(p, exits);
            cpu[r] = (threads.getCurrentThreadCpuTime() - startCpu) / (double) exits;
            wall[r] = (System.nanoTime() - start) / (double) exits;
            System.out.printf("run %d: %.1f ns wall, %.1f ns thread CPU per exit round trip%n", r + 1, wall[r], cpu[r]);
        }
        Arrays.sort(wall);
        Arrays.sort(cpu);
        System.out.printf("median of %d runs x %d exits: %.1f ns wall, %.1f ns thread CPU per exit round trip;"
                + " best run %.1f ns wall (checksum %d)%n", runs, exits, wall[runs / 2], cpu[runs / 2], wall[0], sink & 0xFF);
    }

    /** What the kernel does per exit (VirtualCpu: view.load, the CPUID handler, apply(EMULATED), prepareEntry). */
    private static long roundTrips(VmxLogicalProcessor p, int exits) {
        long sink = 0;
        int reasonEncoding = VM_EXIT_REASON.encoding();
        for (int i = 0; i < exits; i++) {
            long reason = p.vmread(reasonEncoding);
            long qualification = p.vmread(EXIT_QUALIFICATION.encoding());
            long length = p.vmread(VM_EXIT_INSTRUCTION_LEN.encoding());
            long info = p.vmread(VMX_INSTRUCTION_INFO.encoding());
            long rip = p.vmread(GUEST_RIP.encoding());
            long vectoring = p.vmread(IDT_VECTORING_INFO_FIELD.encoding());
            long entryInfo = p.vmread(VM_ENTRY_INTR_INFO_FIELD.encoding());
            if (reason != ExitReason.CPUID.number()) {
                throw new IllegalStateException("unexpected exit " + reason + ": " + p.lastEntryFailure());
            }
            sink += qualification + info + vectoring + entryInfo;
            p.setGpr(0, 0x0000_000D);
            p.setGpr(3, 0x756E_6547);
            p.setGpr(1, 0x6C65_746E);
            p.setGpr(2, 0x4965_6E69);
            p.vmwrite(GUEST_RIP.encoding(), rip + length);
            long interruptibility = p.vmread(GUEST_INTERRUPTIBILITY_INFO.encoding());
            p.vmwrite(GUEST_INTERRUPTIBILITY_INFO.encoding(), interruptibility & ~INTERRUPTIBILITY_STI_MOV_SS);
            p.vmwrite(VMX_PREEMPTION_TIMER_VALUE.encoding(), TIMER_TICKS);
            if (p.vmresume() != VmxStatus.SUCCEED) {
                throw new IllegalStateException("resume failed: " + p.lastEntryFailure());
            }
        }
        return sink;
    }
}
