package org.hotvisor.kernel.vm;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.hotvisor.api.vmx.ControlBit;
import org.hotvisor.api.vmx.EntryControl;
import org.hotvisor.api.vmx.ExitControl;
import org.hotvisor.api.vmx.PinBasedControl;
import org.hotvisor.api.vmx.ProcessorControl;
import org.hotvisor.api.vmx.SecondaryControl;

/** VMX controls by their command-line names ({@code hlt-exiting}), for --set and the console. */
public final class ControlNames {
    private ControlNames() {}

    /** Every named control bit. Names that occur in two words (e.g. conceal-vmx-from-pt) take a prefix: exit./entry./secondary. */
    public static List<ControlBit> all() {
        List<ControlBit> l = new ArrayList<>();
        l.addAll(List.of(PinBasedControl.values()));
        l.addAll(List.of(ProcessorControl.values()));
        l.addAll(List.of(SecondaryControl.values()));
        l.addAll(List.of(ExitControl.values()));
        l.addAll(List.of(EntryControl.values()));
        return l;
    }

    /** The group prefix of a control: pin, proc, secondary, exit, entry. */
    public static String group(ControlBit b) {
        return switch (b) {
            case PinBasedControl p -> "pin";
            case ProcessorControl p -> "proc";
            case SecondaryControl s -> "secondary";
            case ExitControl e -> "exit";
            case EntryControl e -> "entry";
            default -> "?";
        };
    }

    /** Finds a control by name, with or without its group prefix ("exit.load-ia32-efer"). */
    public static ControlBit find(String name) {
        ControlBit b = lookup(name);
        if (b == null) {
            throw new IllegalArgumentException("unknown VMX control '" + name + "' (see vmx:controls for the names)");
        }
        return b;
    }

    /** Like {@link #find} but null when no control has the name (an ambiguous name still throws). */
    public static ControlBit lookup(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        String group = null;
        int dot = n.indexOf('.');
        if (dot > 0) {
            group = n.substring(0, dot);
            n = n.substring(dot + 1);
        }
        List<ControlBit> hits = new ArrayList<>();
        for (ControlBit b : all()) {
            if (b.controlName().equals(n) && (group == null || group.equals(group(b)))) {
                hits.add(b);
            }
        }
        if (hits.isEmpty()) {
            return null;
        }
        if (hits.size() > 1) {
            throw new IllegalArgumentException("VMX control '" + name + "' is ambiguous: prefix it with "
                    + String.join(", ", hits.stream().map(ControlNames::group).toList()) + " and a dot");
        }
        return hits.get(0);
    }

    public static boolean parseSwitch(String value) {
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "on", "1", "true", "yes" -> true;
            case "off", "0", "false", "no" -> false;
            default -> throw new IllegalArgumentException("a VMX control is on or off, not '" + value + "'");
        };
    }

    /**
     * The control bits of a {@code --set} list (the hotvisor.set property); the list may also hold
     * VMCS fields and bitmaps, see {@link VmcsSettings#parse}, which this delegates to.
     */
    public static Map<ControlBit, Boolean> parseSettings(String spec) {
        return VmcsSettings.parse(spec).controlBits();
    }
}
