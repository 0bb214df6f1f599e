package org.hotvisor.kernel.vm;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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

/**
 * What an exit experiment sets in the VMCS, from {@code --set} (the hotvisor.set property, a
 * comma-separated list) and from the console ({@code vmx:vmcs set}, {@code vmx:msrbitmap}). The one
 * parser of these forms:
 * <ul>
 * <li>{@code NAME=on|off}: a VMX control bit by name ({@link ControlNames});</li>
 * <li>{@code FIELD=VALUE}: a VMCS field by its {@link VmcsField} name, case-insensitive, dashes or
 *     underscores ({@code exception-bitmap=0x4000}); VALUE decimal or 0x hex. Written after the
 *     kernel's own VMWRITEs, before VMLAUNCH. VM-exit information fields are read-only (SDM 3C
 *     25.9): refused. A whole control word (pin-based, primary or secondary processor-based, exit,
 *     entry) replaces the kernel's word; named bits of the same list then apply on top, and the
 *     result goes through the capability adjustment of every control word (SDM 3D A.3-A.5: the
 *     must-be-1 bits are added, a bit the processor does not allow is refused);</li>
 * <li>{@code io-bitmap=PORT[-PORT][:on|off]}: "use I/O bitmaps" on, "unconditional I/O exiting"
 *     off (SDM 3C 25.6.2, 25.6.4). The bitmaps start with no port exiting when any entry is
 *     {@code :on} (the default), with every port exiting when all are {@code :off}; the entries
 *     then apply in order;</li>
 * <li>{@code msr-bitmap=read|write:MSR[-MSR][:on|off]}: likewise with "use MSR bitmaps" (SDM 3C
 *     25.6.9). MSRs outside 0-1FFF and C0000000-C0001FFF have no bit (they always exit): refused.
 *     Without msr-bitmap the kernel keeps "use MSR bitmaps" off: every RDMSR/WRMSR exits.</li>
 * </ul>
 * Explicit control bits win over the bits the bitmaps imply. Every error is one line.
 */
public final class VmcsSettings {
    public static final String IO_BITMAP = "io-bitmap";
    public static final String MSR_BITMAP = "msr-bitmap";

    /** One parsed entry of the list. */
    public sealed interface Item permits ControlSwitch, FieldWrite, PortRange, MsrRange {}

    public record ControlSwitch(ControlBit bit, boolean on) implements Item {}

    public record FieldWrite(VmcsField field, long value) implements Item {}

    public record PortRange(int first, int last, boolean exits) implements Item {}

    public record MsrRange(boolean write, long first, long last, boolean exits) implements Item {}

    /** The five control words (SDM 3C 25.6.1, 25.6.2, 25.7.1, 25.8.1); the tertiary word is a plain field. */
    private static final List<VmcsField> CONTROL_WORDS = List.of(VmcsField.PIN_BASED_VM_EXEC_CONTROL,
            VmcsField.CPU_BASED_VM_EXEC_CONTROL, VmcsField.SECONDARY_VM_EXEC_CONTROL, VmcsField.VM_EXIT_CONTROLS,
            VmcsField.VM_ENTRY_CONTROLS);

    public static final VmcsSettings NONE = new VmcsSettings(List.of());

    private static final long BITS_16 = 0xFFFFL, BITS_32 = 0xFFFF_FFFFL;
    private static final String ON = "on", OFF = "off";

    private final List<Item> items;

    private VmcsSettings(List<Item> items) {
        this.items = List.copyOf(items);
    }

    // ---------------------------------------------------------------- parsing

    /** Parses "a=on,exception-bitmap=0x8,io-bitmap=0x60-0x64" (blank entries are skipped). */
    public static VmcsSettings parse(String spec) {
        if (spec == null || spec.isBlank()) {
            return NONE;
        }
        List<Item> items = new ArrayList<>();
        for (String entry : spec.split(",")) {
            if (!entry.isBlank()) {
                items.add(parseItem(entry.trim()));
            }
        }
        return new VmcsSettings(items);
    }

    /** One NAME=VALUE entry. */
    public static Item parseItem(String entry) {
        int eq = entry.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException("--set takes NAME=VALUE (a control =on|off, a VMCS field =number, "
                    + "io-bitmap=, msr-bitmap=), not '" + entry + "'");
        }
        try {
            return parseItem(entry.substring(0, eq), entry.substring(eq + 1));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--set " + entry.trim() + ": " + e.getMessage());
        }
    }

    /** One entry given as name and value (the console's form). */
    public static Item parseItem(String name, String value) {
        String key = normalize(name);
        if (key.equals(IO_BITMAP)) {
            return parsePorts(value);
        }
        if (key.equals(MSR_BITMAP)) {
            return parseMsrs(value);
        }
        ControlBit bit = ControlNames.lookup(name);
        if (bit != null) {
            return new ControlSwitch(bit, ControlNames.parseSwitch(value));
        }
        VmcsField field = fieldOrNull(name);
        if (field == null) {
            throw new IllegalArgumentException("unknown VMX control or VMCS field '" + name.trim()
                    + "' (vmx:controls and vmx:vmcs list the names)");
        }
        return new FieldWrite(checkWritable(field), fitTo(field, parseNumber(value)));
    }

    /** A VMCS field the VMM may write, by name; unknown or read-only is an IllegalArgumentException. */
    public static VmcsField findField(String name) {
        VmcsField f = fieldOrNull(name);
        if (f == null) {
            throw new IllegalArgumentException("unknown VMCS field '" + name.trim() + "' (vmx:vmcs lists them)");
        }
        return checkWritable(f);
    }

    private static VmcsField fieldOrNull(String name) {
        try {
            return VmcsField.valueOf(name.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static VmcsField checkWritable(VmcsField f) {
        if (f.readOnly()) {
            throw new IllegalArgumentException(f.name() + " is a read-only VM-exit information field (SDM 3C 25.9)");
        }
        return f;
    }

    /** Whether the field is one of the five 32-bit control words that go through the capability adjustment. */
    public static boolean isControlWord(VmcsField f) {
        return CONTROL_WORDS.contains(f);
    }

    /** The value as a field of this width holds it; a value too wide is an error (negative values wrap: -1). */
    public static long fitTo(VmcsField f, long value) {
        long mask = switch (f.width()) {
            case BITS16 -> BITS_16;
            case BITS32 -> BITS_32;
            default -> -1L;
        };
        if (mask != -1L && value >= 0 && (value & ~mask) != 0) {
            throw new IllegalArgumentException(String.format("0x%x does not fit the %s field %s", value,
                    f.width() == VmcsField.Width.BITS16 ? "16-bit" : "32-bit", f.name()));
        }
        return value & mask;
    }

    /** Decimal or 0x hex, optionally negative. */
    public static long parseNumber(String text) {
        String s = text.trim().toLowerCase(Locale.ROOT).replace("_", "");
        boolean negative = s.startsWith("-");
        String digits = negative ? s.substring(1) : s;
        try {
            long v = digits.startsWith("0x") ? Long.parseUnsignedLong(digits.substring(2), 16) : Long.parseLong(digits);
            return negative ? -v : v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text.trim() + "' is not a number (decimal or 0x hex)");
        }
    }

    /** PORT[-PORT][:on|off]. */
    public static PortRange parsePorts(String value) {
        String[] parts = value.trim().split(":", -1);
        if (parts.length > 2) {
            throw new IllegalArgumentException("io-bitmap takes PORT[-PORT][:on|off], not '" + value.trim() + "'");
        }
        long[] range = parseRange(parts[0], "port");
        if (range[1] > ExitBitmaps.MAX_PORT) {
            throw new IllegalArgumentException("ports are 0 to 0xffff");
        }
        return new PortRange((int) range[0], (int) range[1], parts.length < 2 || onOff(parts[1]));
    }

    /** read|write:MSR[-MSR][:on|off]. */
    public static MsrRange parseMsrs(String value) {
        String[] parts = value.trim().split(":", -1);
        if (parts.length < 2 || parts.length > 3) {
            throw new IllegalArgumentException("msr-bitmap takes read|write:MSR[-MSR][:on|off], not '" + value.trim() + "'");
        }
        boolean write = switch (parts[0].trim().toLowerCase(Locale.ROOT)) {
            case "read", "rdmsr" -> false;
            case "write", "wrmsr" -> true;
            default -> throw new IllegalArgumentException("msr-bitmap takes read: or write:, not '" + parts[0].trim() + ":'");
        };
        long[] range = parseRange(parts[1], "MSR");
        boolean lowHalf = range[0] <= ExitBitmaps.MSR_LOW_LAST && range[1] <= ExitBitmaps.MSR_LOW_LAST;
        boolean highHalf = range[0] >= ExitBitmaps.MSR_HIGH_FIRST && range[1] <= ExitBitmaps.MSR_HIGH_LAST;
        if (!lowHalf && !highHalf) {
            throw new IllegalArgumentException(String.format("MSRs 0x%x-0x%x are not all in 0-0x1fff or 0xc0000000-0xc0001fff: "
                    + "the MSR bitmap has no bits for others, RDMSR/WRMSR of them always exit (SDM 3C 25.6.9)", range[0], range[1]));
        }
        return new MsrRange(write, range[0], range[1], parts.length < 3 || onOff(parts[2]));
    }

    private static long[] parseRange(String text, String what) {
        String t = text.trim();
        int dash = t.indexOf('-', 1);
        long first = parseNumber(dash < 0 ? t : t.substring(0, dash));
        long last = dash < 0 ? first : parseNumber(t.substring(dash + 1));
        if (first < 0 || last < first) {
            throw new IllegalArgumentException("bad " + what + " range '" + t + "'");
        }
        return new long[] {first, last};
    }

    private static boolean onOff(String s) {
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case ON -> true;
            case OFF -> false;
            default -> throw new IllegalArgumentException("a bitmap entry ends in :on or :off, not ':" + s.trim() + "'");
        };
    }

    private static String normalize(String name) {
        return name.trim().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    // ---------------------------------------------------------------- what was parsed

    public List<Item> items() {
        return items;
    }

    public boolean isEmpty() {
        return items.isEmpty();
    }

    /** The explicit NAME=on|off control bits, in order. */
    public Map<ControlBit, Boolean> controlBits() {
        Map<ControlBit, Boolean> m = new LinkedHashMap<>();
        for (Item i : items) {
            if (i instanceof ControlSwitch s) {
                m.put(s.bit(), s.on());
            }
        }
        return m;
    }

    private boolean has(Class<? extends Item> kind) {
        return items.stream().anyMatch(kind::isInstance);
    }

    /**
     * The kernel's control words with the user's: whole words replace the kernel's, then the bits
     * the bitmaps imply, then the explicit bits. The capability adjustment follows in
     * {@link VmcsSetup#writeControls}.
     */
    VmcsSetup.Controls applyTo(VmcsSetup.Controls base) {
        VmcsSetup.Controls c = base;
        for (Item i : items) {
            if (i instanceof FieldWrite w && isControlWord(w.field())) {
                c = c.withWord(w.field(), (int) w.value());
            }
        }
        Map<ControlBit, Boolean> bits = new LinkedHashMap<>();
        if (has(PortRange.class)) {
            bits.put(ProcessorControl.USE_IO_BITMAPS, true);
            bits.put(ProcessorControl.UNCONDITIONAL_IO_EXITING, false); // ignored with the bitmaps (SDM 3C 25.6.2)
        }
        if (has(MsrRange.class)) {
            bits.put(ProcessorControl.USE_MSR_BITMAPS, true);
        }
        bits.putAll(controlBits());
        return c.with(bits);
    }

    /**
     * After the kernel's own VMWRITEs, before VMLAUNCH: the fields (other than the control words,
     * already in) and the bitmaps. A VMWRITE the processor refuses is an IllegalArgumentException
     * naming the field and the VM-instruction error.
     */
    void writeAfterSetup(LogicalProcessor c, Machine vm) {
        for (Item i : items) {
            if (i instanceof FieldWrite w && !isControlWord(w.field())) {
                write(c, w.field(), w.value());
            }
        }
        List<PortRange> ports = items.stream().filter(PortRange.class::isInstance).map(PortRange.class::cast).toList();
        if (!ports.isEmpty()) {
            ExitBitmaps.fillIo(c, vm, ports.stream().noneMatch(PortRange::exits));
            for (PortRange p : ports) {
                ExitBitmaps.setIoPorts(c, vm, p.first(), p.last(), p.exits());
            }
        }
        List<MsrRange> msrs = items.stream().filter(MsrRange.class::isInstance).map(MsrRange.class::cast).toList();
        if (!msrs.isEmpty()) {
            ExitBitmaps.fillMsr(c, vm, msrs.stream().noneMatch(MsrRange::exits));
            for (MsrRange m : msrs) {
                ExitBitmaps.setMsrs(c, vm, m.write(), m.first(), m.last(), m.exits());
            }
        }
    }

    /** A VMWRITE whose failure is an IllegalArgumentException with the VM-instruction error (SDM 3C 31.4). */
    public static void write(LogicalProcessor c, VmcsField f, long value) {
        VmxStatus s = c.vmwrite(f, value);
        if (s != VmxStatus.SUCCEED) {
            throw new IllegalArgumentException(String.format("VMWRITE %s failed: %s%s", f.name(), s,
                    s == VmxStatus.FAIL_VALID ? " (VM-instruction error " + c.vmread(VmcsField.VM_INSTRUCTION_ERROR) + ")" : ""));
        }
    }

    /**
     * A control word as the capability MSRs allow it: the must-be-1 bits added, a bit that may not
     * be 1 refused (SDM 3D A.3-A.5). For the console's {@code vmx:vmcs set}.
     */
    public static long adjustControlWord(VmxProcessor p, VmcsField word, long value) {
        return VmcsSetup.adjustWord(p, word, (int) value) & BITS_32;
    }

    @Override
    public String toString() {
        return items.toString();
    }
}
