package org.hotvisor.kernel.vm;

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
import org.hotvisor.kernel.loader.BootState;

/**
 * Step 3 of the life cycle: the VMWRITEs of the VM-execution, exit and entry controls, the host
 * state and the guest state, for the boot state the loader produced.
 */
final class VmcsSetup {
    private VmcsSetup() {}

    // SDM 3D Appendix A: the capability MSRs, TRUE variants where IA32_VMX_BASIC[55] says they exist.
    static final int IA32_VMX_BASIC = 0x480;
    static final int IA32_VMX_TRUE_PINBASED_CTLS = 0x48D;
    static final int IA32_VMX_TRUE_PROCBASED_CTLS = 0x48E;
    static final int IA32_VMX_TRUE_EXIT_CTLS = 0x48F;
    static final int IA32_VMX_TRUE_ENTRY_CTLS = 0x490;
    static final int IA32_VMX_PINBASED_CTLS = 0x481;
    static final int IA32_VMX_PROCBASED_CTLS = 0x482;
    static final int IA32_VMX_EXIT_CTLS = 0x483;
    static final int IA32_VMX_ENTRY_CTLS = 0x484;
    static final int IA32_VMX_PROCBASED_CTLS2 = 0x48B;
    static final int IA32_VMX_CR0_FIXED0 = 0x486;
    static final int IA32_VMX_CR4_FIXED0 = 0x488;

    static final long CR0_PE = 1, CR0_ET = 1 << 4, CR0_NE = 1 << 5;
    static final long CR4_VMXE = 1 << 13;

    /** The control words the kernel asks for, before the user's --set overrides and capability adjustment. */
    record Controls(int pin, int proc, int proc2, int exit, int entry) {
        static Controls defaults() {
            return new Controls(
                    ControlBit.maskOf(PinBasedControl.EXTERNAL_INTERRUPT_EXITING, PinBasedControl.NMI_EXITING,
                            PinBasedControl.ACTIVATE_VMX_PREEMPTION_TIMER),
                    ControlBit.maskOf(ProcessorControl.HLT_EXITING, ProcessorControl.UNCONDITIONAL_IO_EXITING,
                            ProcessorControl.USE_TSC_OFFSETTING, ProcessorControl.USE_MSR_BITMAPS,
                            ProcessorControl.ACTIVATE_SECONDARY_CONTROLS),
                    // RDTSCP and INVPCID are #UD in the guest unless enabled (SDM 3C 26.3, 25.6.2)
                    ControlBit.maskOf(SecondaryControl.ENABLE_EPT, SecondaryControl.UNRESTRICTED_GUEST,
                            SecondaryControl.ENABLE_RDTSCP, SecondaryControl.ENABLE_INVPCID),
                    ControlBit.maskOf(ExitControl.HOST_ADDRESS_SPACE_SIZE, ExitControl.SAVE_IA32_EFER,
                            ExitControl.LOAD_IA32_EFER, ExitControl.SAVE_IA32_PAT, ExitControl.LOAD_IA32_PAT),
                    ControlBit.maskOf(EntryControl.LOAD_IA32_EFER, EntryControl.LOAD_IA32_PAT));
        }

        /** Applies --set NAME=on|off overrides by control name. */
        Controls with(Map<ControlBit, Boolean> overrides) {
            int p = pin, c = proc, c2 = proc2, x = exit, e = entry;
            for (Map.Entry<ControlBit, Boolean> o : overrides.entrySet()) {
                ControlBit b = o.getKey();
                boolean on = o.getValue();
                switch (b) {
                    case PinBasedControl pb -> p = pb.set(p, on);
                    case ProcessorControl pc -> c = pc.set(c, on);
                    case SecondaryControl sc -> c2 = sc.set(c2, on);
                    case ExitControl ec -> x = ec.set(x, on);
                    case EntryControl en -> e = en.set(e, on);
                    default -> { }
                }
            }
            return new Controls(p, c, c2, x, e);
        }

        /** Replaces one whole control word (a {@code --set} of the field by name). */
        Controls withWord(VmcsField word, int value) {
            return switch (word) {
                case PIN_BASED_VM_EXEC_CONTROL -> new Controls(value, proc, proc2, exit, entry);
                case CPU_BASED_VM_EXEC_CONTROL -> new Controls(pin, value, proc2, exit, entry);
                case SECONDARY_VM_EXEC_CONTROL -> new Controls(pin, proc, value, exit, entry);
                case VM_EXIT_CONTROLS -> new Controls(pin, proc, proc2, value, entry);
                case VM_ENTRY_CONTROLS -> new Controls(pin, proc, proc2, exit, value);
                default -> throw new IllegalArgumentException(word + " is not a control word");
            };
        }
    }

    /** The capability MSR of a control word, TRUE variant where IA32_VMX_BASIC[55] says it exists (SDM 3D A.3-A.5). */
    static int capabilityMsrOf(VmxProcessor p, VmcsField word) {
        boolean trueCtls = (p.capabilityMsr(IA32_VMX_BASIC) & (1L << 55)) != 0;
        return switch (word) {
            case PIN_BASED_VM_EXEC_CONTROL -> trueCtls ? IA32_VMX_TRUE_PINBASED_CTLS : IA32_VMX_PINBASED_CTLS;
            case CPU_BASED_VM_EXEC_CONTROL -> trueCtls ? IA32_VMX_TRUE_PROCBASED_CTLS : IA32_VMX_PROCBASED_CTLS;
            case SECONDARY_VM_EXEC_CONTROL -> IA32_VMX_PROCBASED_CTLS2;
            case VM_EXIT_CONTROLS -> trueCtls ? IA32_VMX_TRUE_EXIT_CTLS : IA32_VMX_EXIT_CTLS;
            case VM_ENTRY_CONTROLS -> trueCtls ? IA32_VMX_TRUE_ENTRY_CTLS : IA32_VMX_ENTRY_CTLS;
            default -> throw new IllegalArgumentException(word + " is not a control word");
        };
    }

    /** {@link #adjust} for a control word by its field. */
    static int adjustWord(VmxProcessor p, VmcsField word, int wanted) {
        return adjust(p, capabilityMsrOf(p, word), wanted, word.name());
    }

    /**
     * SDM 3D A.3-A.5: OR in the bits that must be 1 (low dword of the capability MSR) and keep only
     * the bits allowed to be 1 (high dword). A requested bit that is not allowed is an
     * IllegalArgumentException: the user asked for it (--set, the console).
     */
    static int adjust(VmxProcessor p, int msr, int wanted, String what) {
        long cap = p.capabilityMsr(msr);
        int mustBeOne = (int) cap;
        int mayBeOne = (int) (cap >>> 32);
        int notAllowed = wanted & ~mayBeOne;
        if (notAllowed != 0) {
            throw new IllegalArgumentException(String.format(
                    "the VMX processor does not support %s control bits 0x%x (allowed-1 0x%x)", what, notAllowed, mayBeOne));
        }
        return wanted | mustBeOne;
    }

    static void writeControls(VmxProcessor p, LogicalProcessor c, Controls want, HostMemoryLayout layout) {
        int pin = adjustWord(p, VmcsField.PIN_BASED_VM_EXEC_CONTROL, want.pin());
        int proc = adjustWord(p, VmcsField.CPU_BASED_VM_EXEC_CONTROL, want.proc());
        int proc2 = ProcessorControl.ACTIVATE_SECONDARY_CONTROLS.isSet(proc)
                ? adjustWord(p, VmcsField.SECONDARY_VM_EXEC_CONTROL, want.proc2()) : 0;
        int exit = adjustWord(p, VmcsField.VM_EXIT_CONTROLS, want.exit());
        int entry = adjustWord(p, VmcsField.VM_ENTRY_CONTROLS, want.entry());
        w(c, VmcsField.PIN_BASED_VM_EXEC_CONTROL, pin & 0xFFFFFFFFL);
        w(c, VmcsField.CPU_BASED_VM_EXEC_CONTROL, proc & 0xFFFFFFFFL);
        w(c, VmcsField.SECONDARY_VM_EXEC_CONTROL, proc2 & 0xFFFFFFFFL);
        w(c, VmcsField.VM_EXIT_CONTROLS, exit & 0xFFFFFFFFL);
        w(c, VmcsField.VM_ENTRY_CONTROLS, entry & 0xFFFFFFFFL);
        w(c, VmcsField.EXCEPTION_BITMAP, 0);
        w(c, VmcsField.PAGE_FAULT_ERROR_CODE_MASK, 0);
        w(c, VmcsField.PAGE_FAULT_ERROR_CODE_MATCH, 0);
        w(c, VmcsField.CR3_TARGET_COUNT, 0);
        w(c, VmcsField.VM_EXIT_MSR_STORE_COUNT, 0);
        w(c, VmcsField.VM_EXIT_MSR_LOAD_COUNT, 0);
        w(c, VmcsField.VM_ENTRY_MSR_LOAD_COUNT, 0);
        w(c, VmcsField.VM_ENTRY_INTR_INFO_FIELD, 0);
        w(c, VmcsField.IO_BITMAP_A, layout.ioBitmapA());
        w(c, VmcsField.IO_BITMAP_B, layout.ioBitmapB());
        w(c, VmcsField.MSR_BITMAP, layout.msrBitmap());
        w(c, VmcsField.TSC_OFFSET, 0);
        // SDM 3C 25.6.11: EPTP = PML4 address | page-walk length - 1 (3) in bits 5:3 | WB (6) in bits 2:0.
        w(c, VmcsField.EPT_POINTER, layout.eptPml4() | (3 << 3) | 6);
        // SDM 3C 25.6.6: the guest owns CR0/CR4 except the bits VMX operation fixes (NE, VMXE);
        // it reads those from the shadows as a bare-metal CPU would show them.
        long cr0Fixed = p.capabilityMsr(IA32_VMX_CR0_FIXED0) & ~(CR0_PE | (1L << 31));
        long cr4Fixed = p.capabilityMsr(IA32_VMX_CR4_FIXED0);
        w(c, VmcsField.CR0_GUEST_HOST_MASK, cr0Fixed);
        w(c, VmcsField.CR4_GUEST_HOST_MASK, cr4Fixed);
        // SDM 3C 25.6.15 / 25.10: zeroed VMREAD/VMWRITE bitmaps and a shadow VMCS, so that turning
        // "VMCS shadowing" on means every field is shadowed: guest VMREAD/VMWRITE run without exits.
        w(c, VmcsField.VMREAD_BITMAP, layout.vmreadBitmap());
        w(c, VmcsField.VMWRITE_BITMAP, layout.vmwriteBitmap());
        c.vmclear(layout.shadowVmcs()); // formats the region; the VMM wrote its revision id and shadow indicator
        // SDM 3C 27.3.1.5: all-ones unless VMCS shadowing. Any other value makes every VM entry
        // re-read the linked region and so re-run the whole guest-state check group.
        w(c, VmcsField.VMCS_LINK_POINTER, -1L);
        linkShadowVmcs(c, layout);
    }

    /** Bit 31 of a VMCS region's first dword: the shadow-VMCS indicator (SDM 3C 25.2, 25.10). */
    static final int SHADOW_VMCS_INDICATOR = 1 << 31;

    /**
     * Points the VMCS link pointer at the shadow VMCS while "VMCS shadowing" is in effect and back to
     * all-ones when it is not (SDM 3C 27.3.1.5: the region's shadow indicator must equal the
     * control). Called at set-up and whenever the console may have switched the control; a link
     * pointer the user set to anything else is left alone.
     */
    static void linkShadowVmcs(LogicalProcessor c, HostMemoryLayout layout) {
        int proc = (int) c.vmread(VmcsField.CPU_BASED_VM_EXEC_CONTROL);
        boolean shadowing = ProcessorControl.ACTIVATE_SECONDARY_CONTROLS.isSet(proc)
                && SecondaryControl.VMCS_SHADOWING.isSet((int) c.vmread(VmcsField.SECONDARY_VM_EXEC_CONTROL));
        long link = c.vmread(VmcsField.VMCS_LINK_POINTER);
        if (shadowing && link == -1L) {
            c.vmwrite(VmcsField.VMCS_LINK_POINTER, layout.shadowVmcs());
        } else if (!shadowing && link == layout.shadowVmcs()) {
            c.vmwrite(VmcsField.VMCS_LINK_POINTER, -1L);
        }
    }

    /** SDM 3C 27.2.2: a conventional 64-bit host, as a VMM running on x86-64 would write it. */
    static void writeHostState(LogicalProcessor c) {
        w(c, VmcsField.HOST_CR0, 0x8005_0033L); // PG, AM, WP, NE, ET, MP, PE
        w(c, VmcsField.HOST_CR3, 0x1000);
        w(c, VmcsField.HOST_CR4, 0x2020); // VMXE, PAE
        w(c, VmcsField.HOST_CS_SELECTOR, 0x10);
        w(c, VmcsField.HOST_SS_SELECTOR, 0x18);
        w(c, VmcsField.HOST_DS_SELECTOR, 0);
        w(c, VmcsField.HOST_ES_SELECTOR, 0);
        w(c, VmcsField.HOST_FS_SELECTOR, 0);
        w(c, VmcsField.HOST_GS_SELECTOR, 0);
        w(c, VmcsField.HOST_TR_SELECTOR, 0x40);
        w(c, VmcsField.HOST_FS_BASE, 0);
        w(c, VmcsField.HOST_GS_BASE, 0);
        w(c, VmcsField.HOST_TR_BASE, 0xFFFF_FE00_0000_3000L);
        w(c, VmcsField.HOST_GDTR_BASE, 0xFFFF_FE00_0000_1000L);
        w(c, VmcsField.HOST_IDTR_BASE, 0xFFFF_FE00_0000_0000L);
        w(c, VmcsField.HOST_IA32_SYSENTER_CS, 0);
        w(c, VmcsField.HOST_IA32_SYSENTER_ESP, 0);
        w(c, VmcsField.HOST_IA32_SYSENTER_EIP, 0);
        w(c, VmcsField.HOST_IA32_EFER, 0x500); // LMA | LME
        w(c, VmcsField.HOST_IA32_PAT, 0x0007_0406_0007_0406L);
        w(c, VmcsField.HOST_RSP, 0xFFFF_C900_0000_8000L);
        w(c, VmcsField.HOST_RIP, 0xFFFF_FFFF_8100_0000L); // the "vmexit stub": control returns to the run loop
    }

    // SDM 3C 25.4.1, Table 25-2: access rights. Type in 3:0, S 4, DPL 6:5, P 7, AVL 12, L 13, D/B 14, G 15, unusable 16.
    static final int AR_CODE16_REAL = 0x9B; // present, S, execute/read accessed
    static final int AR_DATA16_REAL = 0x93; // present, S, read/write accessed
    static final int AR_CODE32_FLAT = 0xC09B; // + G, D/B
    static final int AR_DATA32_FLAT = 0xC093;
    static final int AR_TSS32_BUSY = 0x8B;
    static final int AR_LDT = 0x82;
    static final int AR_UNUSABLE = 1 << 16;

    /** The guest state for a boot: real mode at CS:IP, or flat 32-bit protected mode. */
    static void writeGuestState(VmxProcessor p, LogicalProcessor c, BootState boot) {
        long cr0Fixed = p.capabilityMsr(IA32_VMX_CR0_FIXED0) & ~(CR0_PE | (1L << 31));
        long cr4Fixed = p.capabilityMsr(IA32_VMX_CR4_FIXED0);
        long cr0Guest = CR0_ET | (boot.protectedMode() ? CR0_PE : 0);
        w(c, VmcsField.GUEST_CR0, cr0Guest | cr0Fixed);
        w(c, VmcsField.CR0_READ_SHADOW, cr0Guest);
        w(c, VmcsField.GUEST_CR3, 0);
        w(c, VmcsField.GUEST_CR4, cr4Fixed);
        w(c, VmcsField.CR4_READ_SHADOW, 0);
        w(c, VmcsField.GUEST_DR7, 0x400);
        w(c, VmcsField.GUEST_RFLAGS, 0x2);
        w(c, VmcsField.GUEST_RIP, boot.rip());
        w(c, VmcsField.GUEST_RSP, boot.rsp());
        VmcsField[][] segs = {
            {VmcsField.GUEST_ES_SELECTOR, VmcsField.GUEST_ES_BASE, VmcsField.GUEST_ES_LIMIT, VmcsField.GUEST_ES_AR_BYTES},
            {VmcsField.GUEST_CS_SELECTOR, VmcsField.GUEST_CS_BASE, VmcsField.GUEST_CS_LIMIT, VmcsField.GUEST_CS_AR_BYTES},
            {VmcsField.GUEST_SS_SELECTOR, VmcsField.GUEST_SS_BASE, VmcsField.GUEST_SS_LIMIT, VmcsField.GUEST_SS_AR_BYTES},
            {VmcsField.GUEST_DS_SELECTOR, VmcsField.GUEST_DS_BASE, VmcsField.GUEST_DS_LIMIT, VmcsField.GUEST_DS_AR_BYTES},
            {VmcsField.GUEST_FS_SELECTOR, VmcsField.GUEST_FS_BASE, VmcsField.GUEST_FS_LIMIT, VmcsField.GUEST_FS_AR_BYTES},
            {VmcsField.GUEST_GS_SELECTOR, VmcsField.GUEST_GS_BASE, VmcsField.GUEST_GS_LIMIT, VmcsField.GUEST_GS_AR_BYTES},
        };
        for (int i = 0; i < segs.length; i++) {
            boolean code = i == 1;
            if (boot.protectedMode()) {
                int sel = code ? boot.codeSelector() : boot.codeSelector() + 8;
                seg(c, segs[i], sel, 0, 0xFFFF_FFFFL, code ? AR_CODE32_FLAT : AR_DATA32_FLAT);
            } else {
                int sel = code ? boot.codeSelector() : 0;
                seg(c, segs[i], sel, (long) sel << 4, 0xFFFF, code ? AR_CODE16_REAL : AR_DATA16_REAL);
            }
        }
        seg(c, new VmcsField[] {VmcsField.GUEST_LDTR_SELECTOR, VmcsField.GUEST_LDTR_BASE, VmcsField.GUEST_LDTR_LIMIT,
            VmcsField.GUEST_LDTR_AR_BYTES}, 0, 0, 0xFFFF, AR_LDT | AR_UNUSABLE);
        seg(c, new VmcsField[] {VmcsField.GUEST_TR_SELECTOR, VmcsField.GUEST_TR_BASE, VmcsField.GUEST_TR_LIMIT,
            VmcsField.GUEST_TR_AR_BYTES}, 0, 0, 0xFFFF, AR_TSS32_BUSY);
        w(c, VmcsField.GUEST_GDTR_BASE, 0);
        w(c, VmcsField.GUEST_GDTR_LIMIT, 0xFFFF);
        w(c, VmcsField.GUEST_IDTR_BASE, 0);
        w(c, VmcsField.GUEST_IDTR_LIMIT, 0x3FF); // the real-mode IVT
        w(c, VmcsField.GUEST_IA32_EFER, 0);
        w(c, VmcsField.GUEST_IA32_PAT, 0x0007_0406_0007_0406L); // power-up value, SDM 3A 13.12.4
        w(c, VmcsField.GUEST_IA32_DEBUGCTL, 0);
        w(c, VmcsField.GUEST_SYSENTER_CS, 0);
        w(c, VmcsField.GUEST_SYSENTER_ESP, 0);
        w(c, VmcsField.GUEST_SYSENTER_EIP, 0);
        w(c, VmcsField.GUEST_INTERRUPTIBILITY_INFO, 0);
        w(c, VmcsField.GUEST_ACTIVITY_STATE, 0);
        w(c, VmcsField.GUEST_PENDING_DBG_EXCEPTIONS, 0);
        w(c, VmcsField.VMX_PREEMPTION_TIMER_VALUE, 0xFFFF_FFFFL);
        for (int i = 0; i < 16; i++) {
            c.setGpr(i, 0);
        }
        c.setGpr(0, boot.eax());
        c.setGpr(3, boot.ebx());
        c.setGpr(2, boot.edx());
        c.setCr2(0);
    }

    private static void seg(LogicalProcessor c, VmcsField[] f, int sel, long base, long limit, int ar) {
        w(c, f[0], sel);
        w(c, f[1], base);
        w(c, f[2], limit);
        w(c, f[3], ar);
    }

    static void w(LogicalProcessor c, VmcsField f, long value) {
        VmxStatus s = c.vmwrite(f.encoding(), value);
        if (s != VmxStatus.SUCCEED) {
            throw new IllegalStateException("VMWRITE " + f + " failed: " + s
                    + (s == VmxStatus.FAIL_VALID ? " error " + c.vmread(VmcsField.VM_INSTRUCTION_ERROR.encoding()) : ""));
        }
    }

    /**
     * Where the VMM's own structures live in host-physical memory: VMXON region, one VMCS per
     * vCPU, I/O bitmaps A and B, MSR bitmap, EPT PML4, and for VMCS shadowing the VMREAD and
     * VMWRITE bitmaps (all zero: nothing exits) and one shadow VMCS (shared; one vCPU today).
     */
    record HostMemoryLayout(long vmxonRegion, long vmcsBase, long ioBitmapA, long ioBitmapB, long msrBitmap, long eptPml4,
            long vmreadBitmap, long vmwriteBitmap, long shadowVmcs, int size) {
        static HostMemoryLayout forCpus(int cpus) {
            long vmcs = 0x1000;
            long after = vmcs + 0x1000L * cpus;
            // SDM 3C 24.11.5: each logical processor has its own VMXON region; vCPU 0's stays at 0, the
            // others follow the shared regions (so one vCPU's layout is unchanged).
            return new HostMemoryLayout(0, vmcs, after, after + 0x1000, after + 0x2000, after + 0x3000,
                    after + 0x4000, after + 0x5000, after + 0x6000, (int) (after + 0x7000 + 0x1000L * (cpus - 1)));
        }

        long vmcs(int cpu) {
            return vmcsBase + 0x1000L * cpu;
        }

        /** The VMXON region of a vCPU (vCPU 0: {@link #vmxonRegion()}). */
        long vmxonRegion(int cpu) {
            return cpu == 0 ? vmxonRegion : shadowVmcs + 0x1000L * cpu;
        }
    }
}
