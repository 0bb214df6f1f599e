package org.hotvisor.kernel.console;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import org.apache.felix.service.command.Descriptor;
import org.hotvisor.api.VmState;
import org.hotvisor.api.device.MmioDevice;
import org.hotvisor.api.device.MsrDevice;
import org.hotvisor.api.device.PortIoDevice;
import org.hotvisor.api.vmx.Disassembler;
import org.hotvisor.api.vmx.LogicalProcessor;
import org.hotvisor.api.vmx.VmcsField;
import org.hotvisor.api.vmx.VmxProcessor;
import org.hotvisor.kernel.vm.Machine;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * The console's debugging commands in scope {@code vm}: memory dumps (QEMU's x and xp), the
 * disassembler (dis, and x/i), the machine overview, single-step and software breakpoints.
 * Instructions are decoded by the vmx-cpu bundle's {@link Disassembler} service, so the text is
 * what that processor executes; without the service the commands fall back to instruction bytes.
 */
@Component(service = DebugCommands.class, property = {
    "osgi.command.scope=vm",
    "osgi.command.function=x", "osgi.command.function=xp", "osgi.command.function=info",
    "osgi.command.function=step", "osgi.command.function=break", "osgi.command.function=delete",
    "osgi.command.function=dis", "osgi.command.function=cpu"})
public final class DebugCommands {
    /** Service property a device may carry with its ISA interrupt line(s). */
    static final String IRQ_PROPERTY = "hotvisor.irq";
    static final long STEP_TIMEOUT_MILLIS = 10_000;
    static final int MAX_STEPS = 1_000_000;
    /** vm:dis without a count. */
    static final int DEFAULT_DIS_COUNT = 10;
    static final int MAX_DIS_COUNT = 1000;
    /** SDM 3A 2.3: RFLAGS.VM (bit 17), virtual-8086 mode: 16-bit code whatever CS.D says. */
    static final long RFLAGS_VM = 1L << 17;
    static final int CODE_BITS_16 = 16, CODE_BITS_32 = 32;

    private final Machine vm;
    private final GuestDebugger debugger;
    private final BundleContext context;
    /** The vmx-cpu bundle's disassembler; it may come and go while the console runs (bundle updates). */
    private volatile Disassembler disassembler;

    @Activate
    public DebugCommands(BundleContext context, @Reference Machine vm, @Reference GuestDebugger debugger) {
        this.context = context;
        this.vm = vm;
        this.debugger = debugger;
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindDisassembler(Disassembler d) {
        disassembler = d;
    }

    void unbindDisassembler(Disassembler d) {
        if (disassembler == d) {
            disassembler = null;
        }
    }

    // ---------------------------------------------------------------- x / xp

    @Descriptor("dump guest memory at a linear address, QEMU-style: vm:x [/NFU] ADDR (N count, F x|d|u|o|c|s|i, U b|h|w|g); ADDR may be pc or sp")
    public String x(@Descriptor("[/NFU] ADDR") String... args) {
        return dump(args, false);
    }

    @Descriptor("dump guest-physical memory, QEMU-style: vm:xp [/NFU] ADDR")
    public String xp(@Descriptor("[/NFU] ADDR") String... args) {
        return dump(args, true);
    }

    private String dump(String[] args, boolean physical) {
        String name = physical ? "xp" : "x";
        if (args.length == 0 || args.length > 2) {
            return "usage: vm:" + name + " [/NFU] ADDR   e.g. vm:" + name + " /16xb 0x7c00";
        }
        MemoryDump.Spec spec;
        long address;
        try {
            spec = MemoryDump.Spec.parse(args.length == 2 ? args[0] : null);
            address = address(args[args.length - 1], physical);
        } catch (IllegalArgumentException | IllegalStateException e) {
            return "vm:" + name + ": " + e.getMessage();
        }
        int length = switch (spec.format()) {
            case 's' -> Math.min(spec.count() * (MemoryDump.MAX_STRING + 1), 64 * 1024);
            case 'i' -> spec.count() * InstructionLength.MAX_LENGTH;
            default -> spec.bytes();
        };
        GuestDebugger.MemoryRead read;
        int codeBits;
        try {
            debugger.requireProcessorState();
            read = debugger.read(address, length, !physical);
            codeBits = vm.withProcessor(DebugCommands::codeBits);
        } catch (IllegalStateException | IllegalArgumentException e) {
            return "vm:" + name + ": " + e.getMessage();
        }
        Disassembler d = disassembler;
        String out = switch (spec.format()) {
            case 's' -> MemoryDump.strings(address, read.data(), spec.count(), physical);
            case 'i' -> d != null
                    ? MemoryDump.disassembly(address, read.data(), spec.count(), codeBits, physical, d, MemoryDump.NO_MARK).text()
                    : MemoryDump.instructions(address, read.data(), spec.count(), codeBits == CODE_BITS_32, physical);
            default -> MemoryDump.units(address, read.data(), spec, physical);
        };
        if (read.faultAddress() >= 0 && (spec.format() != 's' || out.isEmpty())) {
            out += String.format("Cannot access memory at address 0x%x (not mapped by the guest's paging)%n", read.faultAddress());
        }
        return out;
    }

    /**
     * The default operand and address size of the guest's code, by the processor's own rule:
     * CS.D (SDM 3A 3.4.5) outside virtual-8086 mode, where code is always 16-bit (SDM 3B 20.2).
     * In real mode (CR0.PE = 0) CS.D is normally 0, so real-mode code is 16-bit too.
     */
    static int codeBits(LogicalProcessor c) {
        boolean v86 = (c.vmread(VmcsField.GUEST_RFLAGS) & RFLAGS_VM) != 0;
        return CpuState.code32(c) && !v86 ? CODE_BITS_32 : CODE_BITS_16;
    }

    // ---------------------------------------------------------------- dis

    @Descriptor("disassemble guest code: vm:dis [ADDR] [N], N instructions (default 10) at a linear address (default pc), "
            + "in the mode of the guest's code segment; => marks the instruction at RIP")
    public String dis(@Descriptor("[ADDR] [N]   ADDR: 0x7c00, 0000:7c00, pc, sp") String... args) {
        if (args.length > 2) {
            return "usage: vm:dis [ADDR] [N]   e.g. vm:dis, vm:dis pc 20, vm:dis 0x7c00";
        }
        int count = DEFAULT_DIS_COUNT;
        if (args.length == 2) {
            try {
                count = Integer.parseInt(args[1].trim());
            } catch (NumberFormatException e) {
                return "vm:dis: '" + args[1] + "' is not a number of instructions";
            }
            if (count < 1 || count > MAX_DIS_COUNT) {
                return "vm:dis: the count must be 1 to " + MAX_DIS_COUNT;
            }
        }
        Disassembler d = disassembler;
        if (d == null) {
            return "vm:dis: no disassembler: the VT-x processor bundle (org.hotvisor.vmx.cpu) provides it; is it installed and active?";
        }
        long address;
        GuestDebugger.MemoryRead read;
        long[] rip;
        try {
            debugger.requireProcessorState();
            address = address(args.length == 0 ? "pc" : args[0], false);
            read = debugger.read(address, count * InstructionLength.MAX_LENGTH, true);
            rip = vm.withProcessor(c -> new long[] {CpuState.linearRip(c), codeBits(c)});
        } catch (IllegalArgumentException | IllegalStateException e) {
            return "vm:dis: " + e.getMessage();
        }
        MemoryDump.Listing listing = MemoryDump.disassembly(address, read.data(), count, (int) rip[1], false, d, rip[0]);
        String out = listing.text();
        if (listing.instructions() < count) {
            long stop = address + listing.end();
            out += read.faultAddress() >= 0
                    ? String.format("Cannot access memory at address 0x%x (not mapped by the guest's paging)%n", read.faultAddress())
                    : String.format("Cannot decode at address 0x%x%n", stop);
        }
        return out;
    }

    /**
     * A number, SEG:OFF, or pc/sp (also rip, eip, rsp, esp, with or without '$': Gogo expands an
     * unquoted $pc as a variable, so the bare word is the console's spelling): linear, CS/SS base added.
     */
    private long address(String text, boolean physical) {
        if (text == null) {
            throw new IllegalArgumentException("no address (Gogo expanded an unquoted $name: write pc, sp or '$pc')");
        }
        String t = text.trim().toLowerCase(Locale.ROOT);
        String register = t.startsWith("$") ? t.substring(1) : t;
        switch (register) {
            case "pc", "rip", "eip" -> {
                debugger.requireProcessorState();
                return vm.withProcessor(CpuState::linearRip);
            }
            case "sp", "rsp", "esp" -> {
                debugger.requireProcessorState();
                return vm.withProcessor(c -> (c.vmread(VmcsField.GUEST_SS_BASE) + c.vmread(VmcsField.GUEST_RSP)) & 0xFFFF_FFFFL);
            }
            default -> {
                if (t.startsWith("$")) {
                    throw new IllegalArgumentException("unknown register " + text + " (pc, sp)");
                }
                return MemoryDump.parseAddress(t);
            }
        }
    }

    // ---------------------------------------------------------------- info

    @Descriptor("the machine: RAM and memory map, CPU model, devices with their bundles, ports and IRQs, vCPU state")
    public String info() {
        StringBuilder b = new StringBuilder();
        String reason = vm.stopReason();
        b.append(String.format("VM: %s, image %s%s%n", vm.state().name().toLowerCase(Locale.ROOT), vm.image(),
                reason != null && !reason.isEmpty() ? " (stopped: " + reason + ")" : ""));
        VmxProcessor p = vm.processorService();
        b.append("CPU: ").append(p == null ? "no VMX processor bundle bound" : p.model() + bundleOf(VmxProcessor.class)).append('\n');
        long ram = vm.ramSize();
        b.append(String.format("%nMemory map (guest-physical):%n"));
        b.append(String.format("  %016x-%016x  RAM, %d MiB (EPT identity map)%n", 0L, ram - 1, ram >> 20));
        List<String[]> mmio = devices(MmioDevice.class, MmioDevice.RANGES);
        for (String[] d : mmio) {
            b.append(String.format("  %-35s  MMIO  %s%s%n", d[0], d[1], d[2]));
        }
        b.append(String.format("  above %016x: %s%n", ram - 1,
                "unbacked; reads all-ones, writes dropped, unless an MMIO device claims the range (EPT violation, exit 48)"));
        b.append(String.format("%nPort I/O devices:%n"));
        List<String[]> ports = devices(PortIoDevice.class, PortIoDevice.PORTS);
        if (ports.isEmpty()) {
            b.append("  none\n");
        }
        for (String[] d : ports) {
            b.append(String.format("  %-35s  %s%s%n", d[0], d[1], d[2]));
        }
        List<String[]> msrs = devices(MsrDevice.class, MsrDevice.MSRS);
        if (!msrs.isEmpty()) {
            b.append(String.format("%nMSR devices:%n"));
            for (String[] d : msrs) {
                b.append(String.format("  %-35s  %s%s%n", d[0], d[1], d[2]));
            }
        }
        b.append(vcpuList());
        List<GuestDebugger.BreakpointInfo> bps = debugger.breakpoints();
        if (!bps.isEmpty()) {
            b.append(String.format("%nBreakpoints: %d (vm:break lists them)%n", bps.size()));
        }
        return b.toString();
    }

    /** vm:info's vCPU section: one line per vCPU with its activity state, the selected one starred. */
    String vcpuList() {
        StringBuilder b = new StringBuilder(String.format(
                "%nvCPUs: %d (vm:cpu selects the one vm:regs, vm:x, vm:dis, vm:step and breakpoints use)%n", vm.vcpuCount()));
        int selected = vm.selectedVcpu().index();
        for (int i = 0; i < vm.vcpuCount(); i++) {
            b.append(i == selected ? "* #" : "  #").append(i).append(' ').append(vcpuLine(i)).append('\n');
        }
        return b.toString();
    }

    private String vcpuLine(int index) {
        VmState s = vm.state();
        String state = s.name().toLowerCase(Locale.ROOT);
        if (s != VmState.RUNNING && s != VmState.PAUSED) {
            return state;
        }
        try {
            return vm.withProcessor(index, c -> String.format("%s at %s (linear 0x%x), activity %s, %s mode, %d instructions retired",
                    state, CpuState.csIp(c), CpuState.linearRip(c),
                    CpuState.activityName((int) c.vmread(VmcsField.GUEST_ACTIVITY_STATE)),
                    CpuState.protectedMode(c) ? (CpuState.code32(c) ? "32-bit protected" : "16-bit protected") : "real",
                    c.instructionsRetired()));
        } catch (IllegalStateException e) {
            return state + " (" + e.getMessage() + ")";
        }
    }

    private String bundleOf(Class<?> service) {
        ServiceReference<?> ref = context.getServiceReference(service.getName());
        return ref == null || ref.getBundle() == null ? "" : " (bundle " + ref.getBundle().getSymbolicName() + ")";
    }

    /** Rows of {bundle, claim, " IRQ n" or ""} for every service of a device type, by claim. */
    private List<String[]> devices(Class<?> type, String claimProperty) {
        List<String[]> rows = new ArrayList<>();
        ServiceReference<?>[] refs;
        try {
            refs = context.getAllServiceReferences(type.getName(), null);
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
        if (refs == null) {
            return rows;
        }
        for (ServiceReference<?> r : refs) {
            Object irq = r.getProperty(IRQ_PROPERTY);
            String bundle = r.getBundle() == null ? "?" : r.getBundle().getSymbolicName();
            Object component = r.getProperty("component.name");
            String ranking = r.getProperty(Constants.SERVICE_RANKING) instanceof Integer i && i != 0 ? " ranking " + i : "";
            rows.add(new String[] {bundle, String.valueOf(r.getProperty(claimProperty)),
                (irq == null ? "" : "  IRQ " + stringOf(irq)) + ranking
                    + (component == null ? "" : "  (" + simpleName(component.toString()) + ")")});
        }
        rows.sort(Comparator.comparingLong((String[] row) -> firstNumber(row[1])));
        return rows;
    }

    /** The first port or address of a claim such as "0x3f8-0x3ff,0x2f8", for ordering. */
    static long firstNumber(String claim) {
        String first = claim.split("[-,\\s]", 2)[0].trim();
        try {
            return MemoryDump.parseAddress(first);
        } catch (IllegalArgumentException e) {
            return Long.MAX_VALUE;
        }
    }

    private static String stringOf(Object o) {
        return o instanceof Object[] a ? String.join(",", java.util.Arrays.stream(a).map(String::valueOf).toList())
                : o instanceof int[] ia ? java.util.Arrays.toString(ia) : String.valueOf(o);
    }

    private static String simpleName(String className) {
        return className.substring(className.lastIndexOf('.') + 1);
    }

    // ---------------------------------------------------------------- cpu

    @Descriptor("show or select the vCPU that vm:regs, vm:x, vm:dis, vm:step, vm:break and the gdb stub address")
    public String cpu(@Descriptor("[N]") String... args) {
        if (args.length > 1) {
            return "usage: vm:cpu [N]";
        }
        if (args.length == 1) {
            try {
                vm.selectVcpu(Integer.parseInt(args[0].trim()));
            } catch (NumberFormatException e) {
                return "vm:cpu: '" + args[0] + "' is not a vCPU number";
            } catch (IllegalArgumentException e) {
                return "vm:cpu: " + e.getMessage();
            }
        }
        int n = vm.selectedVcpu().index();
        return "vCPU " + n + " of " + vm.vcpuCount() + ": " + vcpuLine(n);
    }

    // ---------------------------------------------------------------- step

    @Descriptor("single-step a paused VM N instructions (default 1) with the monitor trap flag, then show RIP and the instruction there")
    public String step(@Descriptor("[N]") String... args) {
        int count = 1;
        if (args.length > 1) {
            return "usage: vm:step [N]";
        }
        if (args.length == 1) {
            try {
                count = Integer.parseInt(args[0].trim());
            } catch (NumberFormatException e) {
                return "vm:step: '" + args[0] + "' is not a number of instructions";
            }
            if (count < 1 || count > MAX_STEPS) {
                return "vm:step: the count must be 1 to " + MAX_STEPS;
            }
        }
        if (vm.state() == VmState.RUNNING) {
            return "vm:step: the VM is running; pause it first (vm:pause)";
        }
        GuestDebugger.StopEvent e;
        long before;
        try {
            debugger.requireProcessorState();
            before = vm.selectedVcpu().instructionsRetired();
            e = debugger.step(count, STEP_TIMEOUT_MILLIS);
        } catch (IllegalStateException | IllegalArgumentException ex) {
            return "vm:step: " + ex.getMessage();
        }
        if (vm.state() == VmState.STOPPED) {
            return "the VM stopped while stepping: " + vm.stopReason();
        }
        long retired = vm.selectedVcpu().instructionsRetired() - before;
        String head = e != null && e.kind() == GuestDebugger.StopKind.BREAKPOINT
                ? "breakpoint " + e.breakpoint() + " hit after " + retired + " instruction(s)"
                : "stepped " + count + " instruction(s)" + (retired != count ? " (" + retired + " retired by the CPU, the rest emulated by the VMM)" : "");
        return head + "\n" + here();
    }

    /**
     * "0000:7c12 (linear 0x7c12): b8 34 12  mov ax, 0x1234" for the instruction at RIP (without
     * the disassembler service: the bytes only, their length from {@link InstructionLength}).
     */
    private String here() {
        long[] rip = vm.withProcessor(c -> new long[] {CpuState.linearRip(c), codeBits(c)});
        String csIp = vm.withProcessor(CpuState::csIp);
        GuestDebugger.MemoryRead read = debugger.read(rip[0], InstructionLength.MAX_LENGTH, true);
        byte[] code = read.data();
        Disassembler d = disassembler;
        StringBuilder text = new StringBuilder();
        int len;
        if (d != null && code.length > 0) {
            try {
                len = d.disassemble(code, 0, rip[0], (int) rip[1], text);
            } catch (RuntimeException e) {
                len = 0;
            }
            len = len > 0 && len <= code.length ? len : -1;
        } else {
            len = InstructionLength.of(code, 0, code.length, rip[1] == CODE_BITS_32);
        }
        StringBuilder b = new StringBuilder(String.format("%s (linear 0x%x):", csIp, rip[0]));
        int shown = len > 0 ? len : Math.min(code.length, 8);
        for (int i = 0; i < shown; i++) {
            b.append(String.format(" %02x", code[i] & 0xFF));
        }
        if (len < 0) {
            b.append(code.length == 0 ? " (not mapped)" : d != null ? " ... (bad)" : " ... (length unknown)");
        } else if (d != null) {
            b.append("  ").append(text);
        }
        return b.toString();
    }

    // ---------------------------------------------------------------- break / delete

    @Descriptor("set a software breakpoint (INT3) at a linear address or SEG:OFF; without an address, list them")
    public String _break(@Descriptor("[ADDR]") String... args) {
        if (args.length == 0) {
            return listBreakpoints();
        }
        if (args.length > 1) {
            return "usage: vm:break [ADDR]   (ADDR: 0x7c2a, or 0000:7c2a in real mode)";
        }
        try {
            long linear = address(args[0], false);
            GuestDebugger.BreakpointInfo bp = debugger.insert(linear, GuestDebugger.Owner.CONSOLE);
            return String.format("breakpoint %d at linear 0x%x (physical 0x%x)", bp.id(), bp.linear(), bp.physical());
        } catch (IllegalArgumentException | IllegalStateException e) {
            return "vm:break: " + e.getMessage();
        }
    }

    private String listBreakpoints() {
        List<GuestDebugger.BreakpointInfo> bps = debugger.breakpoints();
        if (bps.isEmpty()) {
            return "no breakpoints";
        }
        StringBuilder b = new StringBuilder(String.format("%-4s %-12s %-12s %-9s %s%n", "NUM", "LINEAR", "PHYSICAL", "ORIGINAL", "SET BY"));
        for (GuestDebugger.BreakpointInfo bp : bps) {
            b.append(String.format("%-4d 0x%-10x 0x%-10x 0x%02x      %s%n", bp.id(), bp.linear(), bp.physical(), bp.originalByte(),
                    String.join(",", bp.owners().stream().map(o -> o.name().toLowerCase(Locale.ROOT)).sorted().toList())));
        }
        return b.toString();
    }

    @Descriptor("delete breakpoint N, or every breakpoint")
    public String delete(@Descriptor("[N]") String... args) {
        if (args.length > 1) {
            return "usage: vm:delete [N]";
        }
        try {
            if (args.length == 0) {
                int n = debugger.removeAll(null);
                return "deleted " + n + " breakpoint(s)";
            }
            int id;
            try {
                id = Integer.parseInt(args[0].trim());
            } catch (NumberFormatException e) {
                return "vm:delete: '" + args[0] + "' is not a breakpoint number (vm:break lists them)";
            }
            return debugger.remove(id) ? "deleted breakpoint " + id : "no breakpoint " + id;
        } catch (IllegalStateException e) {
            return "vm:delete: " + e.getMessage();
        }
    }
}
