package org.hotvisor.kernel.console;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.felix.service.command.Descriptor;
import org.hotvisor.api.vmx.ControlBit;
import org.hotvisor.api.vmx.EntryControl;
import org.hotvisor.api.vmx.ExitControl;
import org.hotvisor.api.vmx.LogicalProcessor;
import org.hotvisor.api.vmx.PinBasedControl;
import org.hotvisor.api.vmx.ProcessorControl;
import org.hotvisor.api.vmx.SecondaryControl;
import org.hotvisor.api.vmx.VmcsField;
import org.hotvisor.api.vmx.VmxProcessor;
import org.hotvisor.api.vmx.VmxStatus;
import org.hotvisor.kernel.vm.ControlNames;
import org.hotvisor.kernel.vm.ExitBitmaps;
import org.hotvisor.kernel.vm.Machine;
import org.hotvisor.kernel.vm.VmcsSettings;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * The console's {@code vmx:} commands: the current vCPU's VMX controls by name (with what the
 * capability MSRs allow), switching one, the I/O bitmaps, and a dump of every VMCS field. Every
 * VMREAD/VMWRITE runs on the vCPU thread between an exit and the next entry
 * ({@link Machine#withProcessor}), so a change takes effect at the next VM entry.
 */
@Component(service = VmxCommands.class, property = {
    "osgi.command.scope=vmx",
    "osgi.command.function=controls", "osgi.command.function=iobitmap", "osgi.command.function=msrbitmap",
    "osgi.command.function=vmcs"})
public final class VmxCommands {
    static final int MAX_PORT = ExitBitmaps.MAX_PORT;

    private final Machine vm;
    private final GuestDebugger debugger;

    @Activate
    public VmxCommands(@Reference Machine vm, @Reference GuestDebugger debugger) {
        this.vm = vm;
        this.debugger = debugger;
    }

    /** The five control words, in console order. */
    private static final Map<String, VmcsField> GROUPS = new LinkedHashMap<>();
    private static final Map<String, List<ControlBit>> BITS = new LinkedHashMap<>();

    static {
        GROUPS.put("pin", VmcsField.PIN_BASED_VM_EXEC_CONTROL);
        GROUPS.put("proc", VmcsField.CPU_BASED_VM_EXEC_CONTROL);
        GROUPS.put("secondary", VmcsField.SECONDARY_VM_EXEC_CONTROL);
        GROUPS.put("exit", VmcsField.VM_EXIT_CONTROLS);
        GROUPS.put("entry", VmcsField.VM_ENTRY_CONTROLS);
        BITS.put("pin", List.of(PinBasedControl.values()));
        BITS.put("proc", List.of(ProcessorControl.values()));
        BITS.put("secondary", List.of(SecondaryControl.values()));
        BITS.put("exit", List.of(ExitControl.values()));
        BITS.put("entry", List.of(EntryControl.values()));
    }

    private static final Map<String, String> GROUP_TITLES = Map.of(
            "pin", "pin-based VM-execution controls (SDM 3C 25.6.1)",
            "proc", "primary processor-based VM-execution controls (SDM 3C 25.6.2)",
            "secondary", "secondary processor-based VM-execution controls (SDM 3C 25.6.2)",
            "exit", "VM-exit controls (SDM 3C 25.7.1)",
            "entry", "VM-entry controls (SDM 3C 25.8.1)");

    /** Controls the kernel or the debugger manage themselves; a manual setting may not last. */
    private static final Map<ControlBit, String> MANAGED = Map.of(
            ProcessorControl.INTERRUPT_WINDOW_EXITING, "the kernel sets it before each entry when an interrupt waits",
            ProcessorControl.MONITOR_TRAP_FLAG, "vm:step and the gdbstub use it; with it on and no step, every instruction exits (37)",
            ProcessorControl.USE_IO_BITMAPS, "vmx:iobitmap fills the bitmaps when it switches to them",
            ProcessorControl.USE_MSR_BITMAPS, "vmx:msrbitmap fills the bitmap when it switches to it",
            PinBasedControl.ACTIVATE_VMX_PREEMPTION_TIMER, "the kernel's timers (PIT, RTC) are delivered through it");

    // ---------------------------------------------------------------- controls

    @Descriptor("every VMX control of the current vCPU by name, with its value and what the capability MSRs allow; 'set NAME on|off' switches one")
    public String controls(@Descriptor("[set NAME on|off]") String... args) {
        if (args.length == 0) {
            return showControls();
        }
        if (args.length == 3 && args[0].equalsIgnoreCase("set")) {
            return setControl(args[1], args[2]);
        }
        return "usage: vmx:controls                  list every control\n"
                + "       vmx:controls set NAME on|off   switch one (e.g. hlt-exiting, rdtsc-exiting, exit.save-ia32-efer)";
    }

    private VmxCapabilities capabilities() {
        VmxProcessor p = vm.processorService();
        if (p == null) {
            throw new IllegalStateException("no VMX processor bundle is bound");
        }
        return new VmxCapabilities(p);
    }

    private String showControls() {
        Map<String, Long> words;
        VmxCapabilities caps;
        try {
            debugger.requireProcessorState();
            caps = capabilities();
            words = vm.withProcessor(c -> {
                Map<String, Long> w = new LinkedHashMap<>();
                GROUPS.forEach((g, f) -> w.put(g, c.vmread(f) & 0xFFFF_FFFFL));
                return w;
            });
        } catch (IllegalStateException e) {
            return "vmx:controls: " + e.getMessage();
        }
        StringBuilder b = new StringBuilder();
        for (Map.Entry<String, List<ControlBit>> group : BITS.entrySet()) {
            String g = group.getKey();
            long word = words.get(g);
            ControlBit first = group.getValue().get(0);
            int msr = caps.msrFor(first);
            b.append(String.format("%s: %s%n  %s = 0x%08x   (capability %s, MSR 0x%x)%n", g, GROUP_TITLES.get(g),
                    GROUPS.get(g).name(), word, VmxCapabilities.msrName(msr), msr));
            long named = 0;
            for (ControlBit bit : group.getValue()) {
                named |= VmxCapabilities.unsigned(bit);
                b.append(String.format("  %-40s bit %2d  %-3s  allowed %s%n", bit.controlName(), bit.bit(),
                        bit.isSet((int) word) ? "on" : "off", caps.describe(bit)));
            }
            long cap = caps.msr(msr);
            List<String> fixedOne = new ArrayList<>(), otherSet = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                long m = 1L << i;
                if ((named & m) != 0) {
                    continue;
                }
                if ((cap & m) != 0) {
                    fixedOne.add(String.valueOf(i)); // SDM 3D A.2: the "default1" class, reported as must-be-1
                } else if ((word & m) != 0) {
                    otherSet.add(String.valueOf(i));
                }
            }
            if (!fixedOne.isEmpty()) {
                b.append("  reserved bits fixed to 1 (default1 class): ").append(String.join(" ", fixedOne)).append('\n');
            }
            if (!otherSet.isEmpty()) {
                b.append("  other bits set: ").append(String.join(" ", otherSet)).append('\n');
            }
            if (g.equals("secondary") && !ProcessorControl.ACTIVATE_SECONDARY_CONTROLS.isSet((int) (long) words.get("proc"))) {
                b.append("  (inactive: proc activate-secondary-controls is off, so these act as 0)\n");
            }
            b.append('\n');
        }
        b.append("vmx:controls set NAME on|off changes one at the next VM entry; names may take a group prefix (exit.load-ia32-efer).\n");
        return b.toString();
    }

    private String setControl(String name, String value) {
        ControlBit bit;
        boolean on;
        try {
            bit = ControlNames.find(name);
            on = ControlNames.parseSwitch(value);
        } catch (IllegalArgumentException e) {
            return "vmx:controls: " + e.getMessage();
        }
        VmxCapabilities caps;
        try {
            caps = capabilities();
        } catch (IllegalStateException e) {
            return "vmx:controls: " + e.getMessage();
        }
        if (!caps.allows(bit, on)) {
            int msr = caps.msrFor(bit);
            return String.format("refused: %s (0x%x) does not allow %s %s = %d (allowed: %s)", VmxCapabilities.msrName(msr), msr,
                    ControlNames.group(bit), bit.controlName(), on ? 1 : 0, caps.describe(bit));
        }
        long[] change;
        try {
            debugger.requireProcessorState();
            change = vm.withProcessor(c -> {
                int old = (int) c.vmread(bit.field());
                int now = bit.set(old, on);
                VmxStatus s = c.vmwrite(bit.field(), now & 0xFFFF_FFFFL);
                if (s != VmxStatus.SUCCEED) {
                    throw new IllegalStateException("VMWRITE " + bit.field() + " failed: " + s);
                }
                return new long[] {old & 0xFFFF_FFFFL, now & 0xFFFF_FFFFL};
            });
        } catch (IllegalStateException e) {
            return "vmx:controls: " + e.getMessage();
        }
        StringBuilder b = new StringBuilder(String.format("%s.%s %s: %s 0x%08x -> 0x%08x, effective at the next VM entry",
                ControlNames.group(bit), bit.controlName(), on ? "on" : "off", bit.field().name(), change[0], change[1]));
        String note = MANAGED.get(bit);
        if (note != null) {
            b.append("\nnote: ").append(note);
        }
        if (bit instanceof SecondaryControl && on) {
            b.append("\nnote: secondary controls act only with proc.activate-secondary-controls on");
        }
        return b.toString();
    }

    // ---------------------------------------------------------------- I/O bitmaps

    @Descriptor("make one I/O port exit (on) or run without an exit (off) through I/O bitmap A/B; without arguments, show the I/O exiting mode")
    public String iobitmap(@Descriptor("[PORT on|off]") String... args) {
        if (args.length == 0) {
            return showIoBitmaps();
        }
        if (args.length != 2) {
            return "usage: vmx:iobitmap PORT on|off   (on: the port's I/O exits; off: it does not)";
        }
        int port;
        boolean exits;
        try {
            long p = MemoryDump.parseAddress(args[0]);
            if (p > MAX_PORT) {
                return "vmx:iobitmap: ports are 0 to 0xffff";
            }
            port = (int) p;
            exits = ControlNames.parseSwitch(args[1]);
        } catch (IllegalArgumentException e) {
            return "vmx:iobitmap: " + e.getMessage();
        }
        VmxCapabilities caps;
        try {
            caps = capabilities();
            debugger.requireProcessorState();
        } catch (IllegalStateException e) {
            return "vmx:iobitmap: " + e.getMessage();
        }
        if (!caps.mayBeOne(ProcessorControl.USE_IO_BITMAPS)) {
            return "refused: the capability MSRs do not allow use-io-bitmaps = 1";
        }
        String[] result;
        try {
            result = vm.withProcessor(c -> {
                String switched = switchToIoBitmaps(c, caps);
                ExitBitmaps.setIoPorts(c, vm, port, port, exits);
                VmcsField field = ExitBitmaps.ioBitmapOf(port);
                return new String[] {switched, field == VmcsField.IO_BITMAP_A ? "A" : "B",
                    String.format("0x%x", ExitBitmaps.ioByteOffset(port)), String.valueOf(port & 7)};
            });
        } catch (IllegalStateException e) {
            return "vmx:iobitmap: " + e.getMessage();
        }
        StringBuilder b = new StringBuilder();
        if (result[0] != null) {
            b.append(result[0]).append('\n');
        }
        b.append(String.format("port 0x%04x: %s (I/O bitmap %s byte %s bit %s), effective at the next VM entry", port,
                exits ? "exits" : "runs without an exit", result[1], result[2], result[3]));
        if (!exits) {
            b.append("\nnote: without an exit no device bundle sees the access; the processor completes it itself");
        }
        return b.toString();
    }

    /**
     * Switches to the I/O bitmaps if they are not in use yet, keeping every other port as it was:
     * all exit under unconditional I/O exiting, none without. Returns what it did, or null.
     */
    private String switchToIoBitmaps(LogicalProcessor c, VmxCapabilities caps) {
        int proc = (int) c.vmread(VmcsField.CPU_BASED_VM_EXEC_CONTROL);
        if (ProcessorControl.USE_IO_BITMAPS.isSet(proc)) {
            return null;
        }
        boolean unconditional = ProcessorControl.UNCONDITIONAL_IO_EXITING.isSet(proc);
        ExitBitmaps.fillIo(c, vm, unconditional);
        int now = ProcessorControl.USE_IO_BITMAPS.set(proc, true);
        if (caps.mayBeZero(ProcessorControl.UNCONDITIONAL_IO_EXITING)) {
            now = ProcessorControl.UNCONDITIONAL_IO_EXITING.set(now, false); // ignored with bitmaps (SDM 3C 25.6.2)
        }
        c.vmwrite(VmcsField.CPU_BASED_VM_EXEC_CONTROL, now & 0xFFFF_FFFFL);
        return unconditional
                ? "switched proc.unconditional-io-exiting -> proc.use-io-bitmaps, every other port's bit set: they still exit"
                : "switched to proc.use-io-bitmaps with every other port's bit clear: they still run without exits";
    }

    private String showIoBitmaps() {
        try {
            debugger.requireProcessorState();
            return vm.withProcessor(c -> {
                int proc = (int) c.vmread(VmcsField.CPU_BASED_VM_EXEC_CONTROL);
                if (!ProcessorControl.USE_IO_BITMAPS.isSet(proc)) {
                    return ProcessorControl.UNCONDITIONAL_IO_EXITING.isSet(proc)
                            ? "unconditional I/O exiting: every IN/OUT/INS/OUTS exits (vmx:iobitmap PORT off switches to the bitmaps)"
                            : "no I/O exiting: the processor completes every port access itself";
                }
                List<String> quiet = new ArrayList<>();
                int start = -1;
                for (int port = 0; port <= MAX_PORT + 1; port++) {
                    boolean exits = port > MAX_PORT || ExitBitmaps.ioPortExits(c, vm, port);
                    if (!exits && start < 0) {
                        start = port;
                    } else if (exits && start >= 0) {
                        quiet.add(start == port - 1 ? String.format("0x%04x", start) : String.format("0x%04x-0x%04x", start, port - 1));
                        start = -1;
                    }
                }
                return String.format("I/O bitmaps A 0x%x, B 0x%x (host-physical): %s%n", c.vmread(VmcsField.IO_BITMAP_A),
                        c.vmread(VmcsField.IO_BITMAP_B), quiet.isEmpty() ? "every port exits"
                                : "ports without exits: " + String.join(", ", quiet) + "; every other port exits");
            });
        } catch (IllegalStateException e) {
            return "vmx:iobitmap: " + e.getMessage();
        }
    }


    // ---------------------------------------------------------------- MSR bitmap

    @Descriptor("make RDMSR or WRMSR of an MSR (or MSR-MSR) exit (on) or run without an exit (off) through the MSR bitmap; without arguments, show it")
    public String msrbitmap(@Descriptor("[read|write MSR[-MSR] on|off]") String... args) {
        if (args.length == 0) {
            return showMsrBitmap();
        }
        if (args.length != 3) {
            return "usage: vmx:msrbitmap read|write MSR[-MSR] on|off   (on: the access exits; off: it does not)";
        }
        VmcsSettings.MsrRange range;
        try {
            range = VmcsSettings.parseMsrs(args[0] + ":" + args[1] + ":" + args[2]);
        } catch (IllegalArgumentException e) {
            return "vmx:msrbitmap: " + e.getMessage();
        }
        return applyMsrs(range, "vmx:msrbitmap");
    }

    private String applyMsrs(VmcsSettings.MsrRange range, String command) {
        try {
            VmxCapabilities caps = capabilities();
            debugger.requireProcessorState();
            if (!caps.mayBeOne(ProcessorControl.USE_MSR_BITMAPS)) {
                return "refused: the capability MSRs do not allow use-msr-bitmaps = 1";
            }
            String switched = vm.withProcessor(c -> {
                String s = switchToMsrBitmap(c);
                ExitBitmaps.setMsrs(c, vm, range.write(), range.first(), range.last(), range.exits());
                return s;
            });
            int bit = ExitBitmaps.msrBitIndex(range.write(), range.first());
            String what = range.first() == range.last() ? String.format("MSR 0x%x", range.first())
                    : String.format("MSRs 0x%x-0x%x", range.first(), range.last());
            return (switched == null ? "" : switched + "\n") + String.format("%s of %s: %s (MSR bitmap byte 0x%x bit %d%s), "
                    + "effective at the next VM entry", range.write() ? "WRMSR" : "RDMSR", what,
                    range.exits() ? "exits" : "runs without an exit", bit >>> 3, bit & 7, range.first() == range.last() ? "" : " on");
        } catch (IllegalStateException | IllegalArgumentException e) {
            return command + ": " + e.getMessage();
        }
    }

    /** Switches "use MSR bitmaps" on with every bit set (every MSR still exits, as before); null if it was on. */
    private String switchToMsrBitmap(LogicalProcessor c) {
        int proc = (int) c.vmread(VmcsField.CPU_BASED_VM_EXEC_CONTROL);
        if (ProcessorControl.USE_MSR_BITMAPS.isSet(proc)) {
            return null;
        }
        ExitBitmaps.fillMsr(c, vm, true);
        c.vmwrite(VmcsField.CPU_BASED_VM_EXEC_CONTROL, ProcessorControl.USE_MSR_BITMAPS.set(proc, true) & 0xFFFF_FFFFL);
        return "switched proc.use-msr-bitmaps on with every other MSR's bits set: they still exit";
    }

    private String showMsrBitmap() {
        try {
            debugger.requireProcessorState();
            return vm.withProcessor(c -> {
                int proc = (int) c.vmread(VmcsField.CPU_BASED_VM_EXEC_CONTROL);
                if (!ProcessorControl.USE_MSR_BITMAPS.isSet(proc)) {
                    return "no MSR bitmap: every RDMSR and WRMSR exits (vmx:msrbitmap read|write MSR off switches to it)";
                }
                return String.format("MSR bitmap 0x%x (host-physical, SDM 3C 25.6.9)%n  RDMSR without exits: %s%n"
                        + "  WRMSR without exits: %s%n  every other RDMSR/WRMSR exits%n", c.vmread(VmcsField.MSR_BITMAP),
                        quietMsrs(c, false), quietMsrs(c, true));
            });
        } catch (IllegalStateException e) {
            return "vmx:msrbitmap: " + e.getMessage();
        }
    }

    private String quietMsrs(LogicalProcessor c, boolean write) {
        List<String> quiet = new ArrayList<>();
        for (long[] half : new long[][] {{ExitBitmaps.MSR_LOW_FIRST, ExitBitmaps.MSR_LOW_LAST},
            {ExitBitmaps.MSR_HIGH_FIRST, ExitBitmaps.MSR_HIGH_LAST}}) {
            long start = -1;
            for (long msr = half[0]; msr <= half[1] + 1; msr++) {
                boolean exits = msr > half[1] || ExitBitmaps.msrExits(c, vm, write, msr);
                if (!exits && start < 0) {
                    start = msr;
                } else if (exits && start >= 0) {
                    quiet.add(start == msr - 1 ? String.format("0x%x", start) : String.format("0x%x-0x%x", start, msr - 1));
                    start = -1;
                }
            }
        }
        return quiet.isEmpty() ? "none" : String.join(", ", quiet);
    }

    // ---------------------------------------------------------------- VMCS dump and set

    @Descriptor("every VMCS field of the current vCPU by name and value (hex), optionally only names containing a substring; "
            + "'set FIELD VALUE' writes one (any --set form: a field, a control NAME on|off, io-bitmap, msr-bitmap)")
    public String vmcs(@Descriptor("[substring | set FIELD VALUE]") String... args) {
        if (args.length == 3 && args[0].equalsIgnoreCase("set")) {
            return setField(args[1], args[2]);
        }
        String filter = args.length == 0 ? "" : String.join("_", args).toUpperCase(Locale.ROOT).replace('-', '_');
        try {
            debugger.requireProcessorState();
            return vm.withProcessor(c -> {
                StringBuilder b = new StringBuilder();
                int shown = 0;
                for (VmcsField f : VmcsField.values()) {
                    if (!f.name().contains(filter)) {
                        continue;
                    }
                    long v = c.vmread(f.encoding());
                    VmxStatus s = c.lastStatus();
                    int digits = switch (f.width()) {
                        case BITS16 -> 4;
                        case BITS32 -> 8;
                        default -> 16;
                    };
                    b.append(String.format("%-44s %04x  %s%n", f.name(), f.encoding(),
                            s == VmxStatus.SUCCEED ? String.format("0x%0" + digits + "x", digits == 16 ? v : v & ((1L << (digits * 4)) - 1))
                                    : "(not supported: " + s + ")"));
                    shown++;
                }
                if (shown == 0) {
                    b.append("no VMCS field name contains '").append(filter).append("'\n");
                }
                return b.toString();
            });
        } catch (IllegalStateException e) {
            return "vmx:vmcs: " + e.getMessage();
        }
    }

    /** vmx:vmcs set NAME VALUE: the same parser as --set ({@link VmcsSettings}), effective at the next VM entry. */
    private String setField(String name, String value) {
        VmcsSettings.Item item;
        try {
            item = VmcsSettings.parseItem(name, value);
        } catch (IllegalArgumentException e) {
            return "vmx:vmcs: " + e.getMessage();
        }
        return switch (item) {
            case VmcsSettings.ControlSwitch sw -> setControl(name, value);
            case VmcsSettings.MsrRange range -> applyMsrs(range, "vmx:vmcs");
            case VmcsSettings.PortRange range -> applyPorts(range);
            case VmcsSettings.FieldWrite w -> writeField(w);
        };
    }

    private String applyPorts(VmcsSettings.PortRange range) {
        try {
            VmxCapabilities caps = capabilities();
            debugger.requireProcessorState();
            if (!caps.mayBeOne(ProcessorControl.USE_IO_BITMAPS)) {
                return "refused: the capability MSRs do not allow use-io-bitmaps = 1";
            }
            String switched = vm.withProcessor(c -> {
                String s = switchToIoBitmaps(c, caps);
                ExitBitmaps.setIoPorts(c, vm, range.first(), range.last(), range.exits());
                return s;
            });
            return (switched == null ? "" : switched + "\n") + String.format("ports 0x%04x-0x%04x: %s, effective at the next VM entry",
                    range.first(), range.last(), range.exits() ? "exit" : "run without exits");
        } catch (IllegalStateException | IllegalArgumentException e) {
            return "vmx:vmcs: " + e.getMessage();
        }
    }

    private String writeField(VmcsSettings.FieldWrite w) {
        VmcsField f = w.field();
        long value = w.value();
        try {
            if (VmcsSettings.isControlWord(f)) {
                VmxProcessor p = vm.processorService();
                if (p == null) {
                    return "vmx:vmcs: no VMX processor bundle is bound";
                }
                try {
                    value = VmcsSettings.adjustControlWord(p, f, value);
                } catch (IllegalArgumentException e) {
                    return "refused: " + e.getMessage();
                }
            }
            debugger.requireProcessorState();
            long wanted = value;
            long old = vm.withProcessor(c -> {
                long before = c.vmread(f);
                VmcsSettings.write(c, f, wanted);
                return before;
            });
            String adjusted = value != w.value() ? String.format(" (must-be-1 bits added: 0x%x)", value & ~w.value()) : "";
            return String.format("%s 0x%x -> 0x%x%s, effective at the next VM entry", f.name(), old, value, adjusted);
        } catch (IllegalStateException | IllegalArgumentException e) {
            return "vmx:vmcs: " + e.getMessage();
        }
    }
}
