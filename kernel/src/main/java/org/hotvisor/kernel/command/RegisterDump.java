package org.hotvisor.kernel.command;

import org.hotvisor.api.vmx.LogicalProcessor;
import org.hotvisor.api.vmx.VmcsField;

/** Renders the guest's registers from the processor and the current VMCS. */
final class RegisterDump {
    private RegisterDump() {}

    private static final String[] GPR = {"RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
        "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15"};
    private static final String[] FLAGS = {"CF", "", "PF", "", "AF", "", "ZF", "SF", "TF", "IF", "DF", "OF", "", "", "NT", "",
        "RF", "VM", "AC", "VIF", "VIP", "ID"};

    static String render(LogicalProcessor c) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 16; i++) {
            long v = i == 4 ? VmCommands.rd(c, VmcsField.GUEST_RSP) : c.gpr(i);
            b.append(String.format("%-3s=%016x%s", GPR[i], v, i % 4 == 3 ? "\n" : "  "));
        }
        long rflags = VmCommands.rd(c, VmcsField.GUEST_RFLAGS);
        b.append(String.format("RIP=%016x  RFL=%08x [", VmCommands.rd(c, VmcsField.GUEST_RIP), rflags));
        for (int i = FLAGS.length - 1; i >= 0; i--) {
            if (!FLAGS[i].isEmpty() && (rflags & (1L << i)) != 0) {
                b.append(' ').append(FLAGS[i]);
            }
        }
        b.append(String.format(" ] IOPL=%d%n", (rflags >> 12) & 3));
        String[] segs = {"ES", "CS", "SS", "DS", "FS", "GS", "LDTR", "TR"};
        for (int i = 0; i < segs.length; i++) {
            int sel = (int) c.vmread(0x0800 + 2 * i);
            long limit = c.vmread(0x4800 + 2 * i);
            int ar = (int) c.vmread(0x4814 + 2 * i);
            long base = c.vmread(0x6806 + 2 * i);
            b.append(String.format("%-4s=%04x base=%016x limit=%08x ar=%05x%s%n", segs[i], sel, base, limit, ar,
                    (ar & 0x10000) != 0 ? " (unusable)" : describe(ar)));
        }
        b.append(String.format("GDT=%016x/%04x  IDT=%016x/%04x%n",
                VmCommands.rd(c, VmcsField.GUEST_GDTR_BASE), VmCommands.rd(c, VmcsField.GUEST_GDTR_LIMIT),
                VmCommands.rd(c, VmcsField.GUEST_IDTR_BASE), VmCommands.rd(c, VmcsField.GUEST_IDTR_LIMIT)));
        long cr0Mask = VmCommands.rd(c, VmcsField.CR0_GUEST_HOST_MASK);
        long cr4Mask = VmCommands.rd(c, VmcsField.CR4_GUEST_HOST_MASK);
        long cr0 = (VmCommands.rd(c, VmcsField.GUEST_CR0) & ~cr0Mask) | (VmCommands.rd(c, VmcsField.CR0_READ_SHADOW) & cr0Mask);
        long cr4 = (VmCommands.rd(c, VmcsField.GUEST_CR4) & ~cr4Mask) | (VmCommands.rd(c, VmcsField.CR4_READ_SHADOW) & cr4Mask);
        b.append(String.format("CR0=%08x CR2=%016x CR3=%016x CR4=%08x (guest view; actual CR0=%08x CR4=%08x)%n",
                cr0, c.cr2(), VmCommands.rd(c, VmcsField.GUEST_CR3), cr4,
                VmCommands.rd(c, VmcsField.GUEST_CR0), VmCommands.rd(c, VmcsField.GUEST_CR4)));
        b.append(String.format("EFER=%016x DR7=%08x%n", VmCommands.rd(c, VmcsField.GUEST_IA32_EFER), VmCommands.rd(c, VmcsField.GUEST_DR7)));
        long intr = VmCommands.rd(c, VmcsField.GUEST_INTERRUPTIBILITY_INFO);
        long act = VmCommands.rd(c, VmcsField.GUEST_ACTIVITY_STATE);
        long entry = VmCommands.rd(c, VmcsField.VM_ENTRY_INTR_INFO_FIELD);
        b.append(String.format("interruptibility=%x (%s) activity=%s pending-event=%s%n", intr,
                ((intr & 1) != 0 ? "STI " : "") + ((intr & 2) != 0 ? "MOV-SS " : "") + ((intr & 8) != 0 ? "NMI" : ""),
                switch ((int) act) { case 0 -> "active"; case 1 -> "HLT"; case 2 -> "shutdown"; case 3 -> "wait-for-SIPI"; default -> "?"; },
                (entry & 0x80000000L) != 0 ? String.format("vector %d type %d", entry & 0xFF, (entry >> 8) & 7) : "none"));
        b.append(String.format("instructions retired=%d TSC=%d%n", c.instructionsRetired(), c.tsc()));
        return b.toString();
    }

    private static String describe(int ar) {
        if ((ar & 0x10) == 0) {
            return " system type " + (ar & 15);
        }
        boolean code = (ar & 8) != 0;
        return (code ? " code" : " data") + " dpl" + ((ar >> 5) & 3) + ((ar & 0x4000) != 0 ? " 32-bit" : " 16-bit")
                + ((ar & 0x8000) != 0 ? " 4K-gran" : "");
    }
}
