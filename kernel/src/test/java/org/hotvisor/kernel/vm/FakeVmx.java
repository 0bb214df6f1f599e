package org.hotvisor.kernel.vm;

import java.io.ByteArrayOutputStream;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.hotvisor.api.vmx.LogicalProcessor;
import org.hotvisor.api.vmx.VmcsField;
import org.hotvisor.api.vmx.VmxProcessor;
import org.hotvisor.api.vmx.VmxStatus;
import org.hotvisor.kernel.dispatch.ExitDispatcher;
import org.hotvisor.kernel.loader.LoadOptions;

/**
 * A stand-in VT-x processor for the kernel's VM tests: the VMCS is a map; VMLAUNCH/VMRESUME run no
 * guest code and exit at once, with reason 3 (INIT) when {@code signalInit} was called, 4 (SIPI)
 * when {@code signalStartup} was, else with the preemption-timer exit (52) after a short sleep.
 * As in VMX non-root operation (SDM 3C 26.2, 25.4.2), the wait-for-SIPI activity state blocks
 * INIT and only it takes a SIPI; any other state discards a SIPI. VMWRITEs of {@link #unsupported}
 * fields fail with VM-instruction error 12 (SDM 3C 31.4).
 */
final class FakeVmx implements VmxProcessor {
    static final int EXIT_INIT = 3, EXIT_SIPI = 4, EXIT_PREEMPTION_TIMER = 52, ERROR_UNSUPPORTED_FIELD = 12;
    static final long ACTIVITY_WAIT_FOR_SIPI = 3;
    private static final int NO_SIPI = -1;
    /** IA32_VMX_PROCBASED_CTLS2: every bit but 0 (virtualize APIC accesses) may be 1. */
    static final long SECONDARY_CAPS = 0xFFFF_FFFE_0000_0000L;
    /** IA32_VMX_PINBASED_CTLS: bits 1, 2, 4 must be 1 (the default1 class). */
    static final long PIN_CAPS = 0xFFFF_FFFF_0000_0016L;

    final Set<Integer> unsupported = ConcurrentHashMap.newKeySet();
    final AtomicInteger processors = new AtomicInteger();
    final AtomicInteger initSignals = new AtomicInteger();
    /** The exit reasons in the order the processors reported them. */
    final List<Integer> exits = new java.util.concurrent.CopyOnWriteArrayList<>();
    volatile Map<Integer, Long> vmcs;
    /**
     * Scripted exits: while not empty, each VM entry records {entry interruption information,
     * primary processor-based controls} in {@link #entries}, consumes the injection (as delivery
     * does) and returns the next reason with RFLAGS.IF set; a negative reason is an EPT violation
     * that is a data write.
     */
    final java.util.Queue<Integer> script = new java.util.concurrent.ConcurrentLinkedQueue<>();
    final List<long[]> entries = new java.util.concurrent.CopyOnWriteArrayList<>();
    static final int EXIT_EPT_VIOLATION = 48, EXIT_MONITOR_TRAP_FLAG = 37;

    @Override
    public LogicalProcessor createLogicalProcessor(byte[] guestRam, byte[] hostMemory) {
        processors.incrementAndGet();
        Map<Integer, Long> fields = new ConcurrentHashMap<>();
        vmcs = fields;
        boolean[] initPending = {false};
        int[] sipiVector = {NO_SIPI};
        VmxStatus[] last = {VmxStatus.SUCCEED};
        InvocationHandler h = (proxy, m, args) -> {
            if (m.isDefault()) {
                return InvocationHandler.invokeDefault(proxy, m, args);
            }
            switch (m.getName()) {
                case "vmread":
                    return fields.getOrDefault((Integer) args[0], 0L);
                case "vmwrite":
                    if (unsupported.contains((Integer) args[0])) {
                        fields.put(VmcsField.VM_INSTRUCTION_ERROR.encoding(), (long) ERROR_UNSUPPORTED_FIELD);
                        return last[0] = VmxStatus.FAIL_VALID;
                    }
                    fields.put((Integer) args[0], (Long) args[1]);
                    return last[0] = VmxStatus.SUCCEED;
                case "vmlaunch", "vmresume":
                    Integer scripted = script.poll();
                    if (scripted != null) {
                        int info = VmcsField.VM_ENTRY_INTR_INFO_FIELD.encoding();
                        entries.add(new long[] {fields.getOrDefault(info, 0L),
                            fields.getOrDefault(VmcsField.CPU_BASED_VM_EXEC_CONTROL.encoding(), 0L)});
                        fields.put(info, 0L);
                        fields.put(VmcsField.GUEST_RFLAGS.encoding(), 0x202L);
                        return scripted < 0 ? exit(fields, EXIT_EPT_VIOLATION, 0x182) : exit(fields, scripted, 0);
                    }
                    boolean waiting = fields.getOrDefault(VmcsField.GUEST_ACTIVITY_STATE.encoding(), 0L) == ACTIVITY_WAIT_FOR_SIPI;
                    synchronized (initPending) {
                        if (sipiVector[0] != NO_SIPI && !waiting) {
                            sipiVector[0] = NO_SIPI; // discarded outside wait-for-SIPI
                        }
                        if (initPending[0] && !waiting) {
                            initPending[0] = false;
                            return exit(fields, EXIT_INIT, 0);
                        }
                        if (sipiVector[0] != NO_SIPI) {
                            int v = sipiVector[0];
                            sipiVector[0] = NO_SIPI;
                            return exit(fields, EXIT_SIPI, v);
                        }
                    }
                    LockSupport.parkNanos(200_000);
                    return exit(fields, EXIT_PREEMPTION_TIMER, 0);
                case "signalStartup":
                    synchronized (initPending) {
                        sipiVector[0] = (Integer) args[0];
                    }
                    return null;
                case "signalInit":
                    initSignals.incrementAndGet();
                    synchronized (initPending) {
                        initPending[0] = true;
                    }
                    return null;
                case "lastStatus":
                    return last[0];
                case "vmxon", "vmxoff", "vmclear", "vmptrld":
                    return VmxStatus.SUCCEED;
                case "toString":
                    return "FakeVmx";
                case "hashCode":
                    return System.identityHashCode(proxy);
                case "equals":
                    return proxy == args[0];
                default:
                    Class<?> r = m.getReturnType();
                    return r == long.class ? (Object) 0L : r == int.class ? (Object) 0 : r == boolean.class ? (Object) false : null;
            }
        };
        return (LogicalProcessor) Proxy.newProxyInstance(LogicalProcessor.class.getClassLoader(),
                new Class<?>[] {LogicalProcessor.class}, h);
    }

    private VmxStatus exit(Map<Integer, Long> fields, int reason, long qualification) {
        fields.put(VmcsField.VM_EXIT_REASON.encoding(), (long) reason);
        fields.put(VmcsField.EXIT_QUALIFICATION.encoding(), qualification);
        exits.add(reason);
        return VmxStatus.SUCCEED;
    }

    @Override
    public long capabilityMsr(int msr) {
        return switch (msr) {
            case VmcsSetup.IA32_VMX_BASIC -> 1; // revision 1, no TRUE controls
            case VmcsSetup.IA32_VMX_PINBASED_CTLS -> PIN_CAPS;
            case VmcsSetup.IA32_VMX_PROCBASED_CTLS2 -> SECONDARY_CAPS;
            case VmcsSetup.IA32_VMX_PROCBASED_CTLS, VmcsSetup.IA32_VMX_EXIT_CTLS, VmcsSetup.IA32_VMX_ENTRY_CTLS -> 0xFFFF_FFFF_0000_0000L;
            default -> 0;
        };
    }

    @Override
    public String model() {
        return "fake";
    }

    long field(VmcsField f) {
        return vmcs.getOrDefault(f.encoding(), 0L);
    }

    /** A test's teardown: stops the machine (if the test made one) and checks that every vCPU thread ended. */
    static void stopAndAwait(Machine vm) throws InterruptedException {
        if (vm != null) {
            vm.stop(0, "test over");
            org.junit.jupiter.api.Assertions.assertTrue(vm.awaitStop(5000), "every vCPU thread ended");
        }
    }

    /** A machine with this processor and a boot sector of NOPs, loaded (not started), with the given --set list. */
    Machine machine(String set) throws Exception {
        return machine(set, 1);
    }

    /** {@link #machine(String)} with {@code cpus} vCPUs. */
    Machine machine(String set, int cpus) throws Exception {
        Machine m = new Machine(new Machine.Settings(2L << 20, false, VmcsSettings.parse(set)).withCpus(cpus), new ExitDispatcher(),
                new HostConsoleImpl(new ByteArrayOutputStream(), false));
        m.processor(this);
        byte[] sector = new byte[512];
        java.util.Arrays.fill(sector, (byte) 0x90);
        Path image = Files.createTempFile("fakevmx", ".img");
        image.toFile().deleteOnExit();
        Files.write(image, sector);
        m.load(image, new LoadOptions("boot", -1, -1, "", List.of()));
        return m;
    }
}
