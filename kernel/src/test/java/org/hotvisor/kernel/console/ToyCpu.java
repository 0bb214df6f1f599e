package org.hotvisor.kernel.console;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.hotvisor.api.vmx.LogicalProcessor;
import org.hotvisor.api.vmx.ProcessorControl;
import org.hotvisor.api.vmx.VmcsField;
import org.hotvisor.api.vmx.VmxProcessor;
import org.hotvisor.api.vmx.VmxStatus;
import org.hotvisor.kernel.dispatch.ExitDispatcher;
import org.hotvisor.kernel.loader.LoadOptions;
import org.hotvisor.kernel.vm.HostConsoleImpl;
import org.hotvisor.kernel.vm.Machine;

/**
 * A toy VT-x processor for the kernel's own tests (the real one lives in another module): the
 * VMCS is a map, and VMLAUNCH/VMRESUME run a four-instruction ISA on guest RAM at CS.base + RIP:
 * 90 NOP, EB rel8 JMP, E6 imm8 OUT (exits with reason 30 under unconditional I/O exiting),
 * CC INT3 (exits with reason 0 when the exception bitmap has bit 3, else a no-op), with the
 * monitor trap flag (reason 37 after each instruction), host kicks (reason 1) and, after
 * {@link #SLICE} instructions, a preemption-timer exit (52) so the kernel gets control.
 */
public final class ToyCpu implements LogicalProcessor {
    static final int SLICE = 1000;
    static final long WAIT_FOR_SIPI = 3;
    static final int NOP = 0x90, JMP = 0xEB, OUT = 0xE6, INT3 = 0xCC;

    final Map<Integer, Long> vmcs = new HashMap<>();
    final byte[] ram;
    final long[] gprs = new long[16];
    private volatile boolean exitRequested;
    long retired;
    int mtfExits;
    /** External interrupts the VMM injected (the toy counts them and delivers nothing). */
    int injected;

    ToyCpu(byte[] ram) {
        this.ram = ram;
    }

    /** A Machine with this toy CPU and {@code code} as a boot sector at 0x7C00 (loaded, not started). */
    public static Machine machine(byte[] code) throws Exception {
        return machine(code, 1);
    }

    /** {@link #machine(byte[])} with {@code cpus} vCPUs (the APs wait for a SIPI: the toy idles them). */
    public static Machine machine(byte[] code, int cpus) throws Exception {
        Machine m = new Machine(new Machine.Settings(2L << 20, false, Map.of()).withCpus(cpus), new ExitDispatcher(),
                new HostConsoleImpl(new java.io.ByteArrayOutputStream(), false));
        m.processor(new VmxProcessor() {
            @Override
            public LogicalProcessor createLogicalProcessor(byte[] guestRam, byte[] hostMemory) {
                return new ToyCpu(guestRam);
            }

            @Override
            public long capabilityMsr(int msr) {
                return switch (msr) {
                    case 0x480 -> 1; // IA32_VMX_BASIC: revision 1, no TRUE controls
                    case 0x481 -> 0xFFFF_FFFF_0000_0016L; // pin-based: bits 1, 2, 4 must be 1 (default1)
                    case 0x48B -> 0xFFFF_FFFE_0000_0000L; // secondary: virtualize-apic-accesses unsupported
                    case 0x482, 0x483, 0x484 -> 0xFFFF_FFFF_0000_0000L;
                    default -> 0;
                };
            }

            @Override
            public String model() {
                return "toy";
            }
        });
        byte[] sector = new byte[512];
        System.arraycopy(code, 0, sector, 0, code.length);
        Path image = Files.createTempFile("toy", ".img");
        image.toFile().deleteOnExit();
        Files.write(image, sector);
        m.load(image, new LoadOptions("boot", -1, -1, "", List.of()));
        return m;
    }

    private long rd(VmcsField f) {
        return vmcs.getOrDefault(f.encoding(), 0L);
    }

    private void wr(VmcsField f, long v) {
        vmcs.put(f.encoding(), v);
    }

    private VmxStatus run() {
        long rip = rd(VmcsField.GUEST_RIP);
        long base = rd(VmcsField.GUEST_CS_BASE);
        int proc = (int) rd(VmcsField.CPU_BASED_VM_EXEC_CONTROL);
        if ((int) rd(VmcsField.VM_ENTRY_INTR_INFO_FIELD) < 0) {
            injected++;
            wr(VmcsField.VM_ENTRY_INTR_INFO_FIELD, 0); // SDM 3C 28.2: the valid bit is cleared on exit
        }
        wr(VmcsField.VM_EXIT_INTR_INFO, 0);
        wr(VmcsField.EXIT_QUALIFICATION, 0);
        wr(VmcsField.VM_EXIT_INSTRUCTION_LEN, 0);
        if (rd(VmcsField.GUEST_ACTIVITY_STATE) == WAIT_FOR_SIPI) {
            java.util.concurrent.locks.LockSupport.parkNanos(200_000); // an AP waiting for its SIPI
            boolean kicked = exitRequested;
            exitRequested = false;
            return exit(kicked ? 1 : 52, rip);
        }
        for (int budget = SLICE; ; budget--) {
            if (exitRequested) {
                exitRequested = false;
                return exit(1, rip);
            }
            if (budget == 0) {
                return exit(52, rip);
            }
            int op = ram[(int) (base + rip)] & 0xFF;
            switch (op) {
                case NOP -> rip += 1;
                case JMP -> rip = (rip + 2 + ram[(int) (base + rip + 1)]) & 0xFFFF;
                case OUT -> {
                    if (ProcessorControl.UNCONDITIONAL_IO_EXITING.isSet(proc)) {
                        wr(VmcsField.EXIT_QUALIFICATION, (long) (ram[(int) (base + rip + 1)] & 0xFF) << 16); // OUT, 1 byte
                        wr(VmcsField.VM_EXIT_INSTRUCTION_LEN, 2);
                        return exit(30, rip);
                    }
                    rip += 2;
                }
                case INT3 -> {
                    if ((rd(VmcsField.EXCEPTION_BITMAP) & 8) != 0) {
                        wr(VmcsField.VM_EXIT_INTR_INFO, 0x8000_0603L); // valid, software exception, #BP
                        wr(VmcsField.VM_EXIT_INSTRUCTION_LEN, 1);
                        return exit(0, rip);
                    }
                    rip += 1;
                }
                default -> {
                    return exit(2, rip); // "triple fault": not in the toy ISA
                }
            }
            retired++;
            if (ProcessorControl.MONITOR_TRAP_FLAG.isSet(proc)) {
                mtfExits++;
                return exit(37, rip);
            }
        }
    }

    private VmxStatus exit(int reason, long rip) {
        wr(VmcsField.VM_EXIT_REASON, reason);
        wr(VmcsField.GUEST_RIP, rip);
        return VmxStatus.SUCCEED;
    }

    @Override
    public VmxStatus vmxon(long region) {
        return VmxStatus.SUCCEED;
    }

    @Override
    public VmxStatus vmxoff() {
        return VmxStatus.SUCCEED;
    }

    @Override
    public VmxStatus vmclear(long address) {
        return VmxStatus.SUCCEED;
    }

    @Override
    public VmxStatus vmptrld(long address) {
        return VmxStatus.SUCCEED;
    }

    @Override
    public long vmptrst() {
        return 0x1000;
    }

    @Override
    public long vmread(int encoding) {
        return vmcs.getOrDefault(encoding, 0L);
    }

    @Override
    public VmxStatus vmwrite(int encoding, long value) {
        vmcs.put(encoding, value);
        return VmxStatus.SUCCEED;
    }

    @Override
    public VmxStatus vmlaunch() {
        return run();
    }

    @Override
    public VmxStatus vmresume() {
        return run();
    }

    @Override
    public VmxStatus lastStatus() {
        return VmxStatus.SUCCEED;
    }

    @Override
    public long gpr(int index) {
        return gprs[index];
    }

    @Override
    public void setGpr(int index, long value) {
        gprs[index] = value;
    }

    @Override
    public long cr2() {
        return 0;
    }

    @Override
    public void setCr2(long value) {
    }

    @Override
    public long dr(int index) {
        return 0;
    }

    @Override
    public void setDr(int index, long value) {
    }

    @Override
    public void flushGuestTlb() {
        // the toy ISA has no paging: nothing is cached
    }

    @Override
    public void signalInit() {
    }

    @Override
    public void signalStartup(int vector) {
    }

    @Override
    public void signalSmi() {
    }

    @Override
    public void requestExit() {
        exitRequested = true;
    }

    @Override
    public long instructionsRetired() {
        return retired;
    }

    /** Cycles the VMM let pass besides the retired instructions (idle time, the cost of exits). */
    long advancedCycles;

    @Override
    public long tsc() {
        return retired + advancedCycles;
    }

    @Override
    public void advanceTsc(long cycles) {
        advancedCycles += Math.max(0, cycles);
    }

    @Override
    public void setA20(boolean enabled) {
    }

    @Override
    public void invalidateCode(long address, int length) {
    }

    @Override
    public int mmioAccessSize() {
        return 0;
    }

    @Override
    public long mmioWriteData() {
        return 0;
    }

    @Override
    public void completeMmioRead(long value) {
    }

    @Override
    public void completeMmioWrite() {
    }

    @Override
    public long translateGuestLinear(long linear, boolean write) {
        return linear < ram.length ? linear : -1;
    }
}
