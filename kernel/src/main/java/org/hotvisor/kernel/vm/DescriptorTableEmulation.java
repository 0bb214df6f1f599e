package org.hotvisor.kernel.vm;

import static org.hotvisor.kernel.vm.GuestOperand.AR_UNUSABLE;
import static org.hotvisor.kernel.vm.GuestOperand.GP;
import static org.hotvisor.kernel.vm.GuestOperand.INFO_IDENTITY_MASK;
import static org.hotvisor.kernel.vm.GuestOperand.INFO_IDENTITY_SHIFT;
import static org.hotvisor.kernel.vm.GuestOperand.INFO_OPERAND_SIZE_32;
import static org.hotvisor.kernel.vm.GuestOperand.INFO_REGISTER_OPERAND;
import static org.hotvisor.kernel.vm.GuestOperand.NP;
import static org.hotvisor.kernel.vm.GuestOperand.UD;

import org.hotvisor.api.ExitAction;
import org.hotvisor.api.VmExit;
import org.hotvisor.api.vmx.LogicalProcessor;
import org.hotvisor.api.vmx.VmcsField;

/**
 * The kernel's defaults for the descriptor-table exits a tester switches on with the secondary
 * control "descriptor-table exiting" (SDM 3C 26.1.3): GDTR/IDTR access (reason 46: SGDT, SIDT,
 * LGDT, LIDT) and LDTR/TR access (reason 47: SLDT, STR, LLDT, LTR). The VMM emulates the
 * instruction as the processor would have (SDM 2, the instruction pages) from the instruction
 * information (SDM 3C 28.2.5, Tables 28-10 and 28-11) and the displacement in the exit
 * qualification, then the guest goes on after it; the faults the instruction raises are injected.
 *
 * <p>Approximations: paging is walked without setting accessed/dirty bits, and a user-mode
 * operand is not checked against supervisor-only pages (the processor's translation service
 * has no user flag).
 */
final class DescriptorTableEmulation {
    private DescriptorTableEmulation() {}

    /** Instruction identity, bits 29:28 (Table 28-10). */
    static final int SGDT = 0, SIDT = 1, LGDT = 2, LIDT = 3;
    /** Instruction identity, bits 29:28 (Table 28-11). */
    static final int SLDT = 0, STR = 1, LLDT = 2, LTR = 3;

    /** SDM 2 LGDT/SGDT: a 2-byte limit, then a 4-byte base (8 bytes in 64-bit mode). */
    static final int PSEUDO_LIMIT_SIZE = 2, PSEUDO_BASE_SIZE = 4, PSEUDO_BASE_SIZE_64 = 8;
    /** SDM 2 LGDT/SGDT: with a 16-bit operand size only 24 bits of base are loaded or stored. */
    static final long BASE_24_BITS = 0xFF_FFFFL;
    static final int SELECTOR_SIZE = 2;
    private static final long LOW_16 = 0xFFFF, LOW_32 = 0xFFFF_FFFFL;

    // segment selectors (SDM 3A 3.4.2): the error code of #GP(sel)/#NP(sel) drops the RPL
    static final int SELECTOR_TI = 1 << 2, SELECTOR_ERROR_CODE_MASK = 0xFFFC, SELECTOR_OFFSET_MASK = 0xFFF8;

    // system-segment descriptors (SDM 3A 3.4.5, 3.5 Table 3-2; 16 bytes in IA-32e mode, 7.2.3)
    static final int DESCRIPTOR_SIZE = 8, DESCRIPTOR_SIZE_IA32E = 16;
    static final int TYPE_TSS16_AVAILABLE = 1, TYPE_LDT = 2, TYPE_TSS_AVAILABLE = 9, TYPE_TSS_BUSY_BIT = 1 << 1;
    /** Base bits 23:0 sit at descriptor bits 39:16, base 31:24 at 63:56; limit 19:16 at 51:48. */
    private static final int DESC_BASE_LOW_SHIFT = 16, DESC_BASE_HIGH_SHIFT = 32, DESC_LIMIT_HIGH_SHIFT = 32;
    private static final long DESC_BASE_LOW_MASK = 0xFF_FFFFL, DESC_BASE_HIGH_MASK = 0xFF00_0000L,
            DESC_LIMIT_HIGH_MASK = 0xF_0000L;
    private static final int DESC_ACCESS_SHIFT = 40, DESC_FLAGS_SHIFT = 52, DESC_TYPE_MASK = 0xF;
    private static final long DESC_S = 1L << 44, DESC_P = 1L << 47, DESC_G = 1L << 55;
    /** The byte holding type, S, DPL and P: LTR sets the busy bit there. */
    private static final int DESC_ACCESS_BYTE = 5;
    /** IA-32e mode: the type field in the upper 8 bytes (bits 12:8 of its second doubleword) must be 0. */
    private static final int DESC_UPPER_TYPE_SHIFT = 40, DESC_UPPER_TYPE_MASK = 0x1F;
    private static final int AR_ACCESS_MASK = 0xFF, AR_FLAGS_SHIFT = 12, AR_FLAGS_MASK = 0xF;
    private static final int GRANULARITY_SHIFT = 12, GRANULARITY_LOW = 0xFFF;

    /** Reason 46: SGDT, SIDT, LGDT, LIDT (always a memory operand). */
    static ExitAction gdtrIdtr(VmExit exit, LogicalProcessor cpu) {
        GuestOperand op = new GuestOperand(exit, cpu);
        int info = exit.instructionInfo();
        int identity = (info >>> INFO_IDENTITY_SHIFT) & INFO_IDENTITY_MASK;
        boolean load = identity == LGDT || identity == LIDT;
        boolean gdt = identity == SGDT || identity == LGDT;
        // SDM 2 LGDT: #GP(0) at CPL > 0; SGDT: #GP(0) with CR4.UMIP at CPL > 0 (outside real mode)
        if (load ? op.cpl > 0 : op.protectedMode && op.umipBlocks()) {
            op.fault(GP, 0);
            return ExitAction.RESUME;
        }
        int baseSize = op.mode64 ? PSEUDO_BASE_SIZE_64 : PSEUDO_BASE_SIZE;
        // Table 28-10 bit 11: operand size 0 = 16, 1 = 32 bits (undefined, and unused, in 64-bit mode)
        boolean operand16 = !op.mode64 && (info & INFO_OPERAND_SIZE_32) == 0;
        if (!op.decodeMemory(info, exit.qualification(), PSEUDO_LIMIT_SIZE + baseSize, !load)) {
            return ExitAction.RESUME;
        }
        VmcsField baseField = gdt ? VmcsField.GUEST_GDTR_BASE : VmcsField.GUEST_IDTR_BASE;
        VmcsField limitField = gdt ? VmcsField.GUEST_GDTR_LIMIT : VmcsField.GUEST_IDTR_LIMIT;
        if (load) {
            long limit = op.load(op.linearAt(0), PSEUDO_LIMIT_SIZE, false);
            long base = op.faulted ? 0 : op.load(op.linearAt(PSEUDO_LIMIT_SIZE), baseSize, false);
            if (op.faulted) {
                return ExitAction.RESUME;
            }
            if (op.mode64) {
                if (!GuestOperand.canonical(base)) {
                    op.fault(GP, 0);
                    return ExitAction.RESUME;
                }
            } else if (operand16) {
                base &= BASE_24_BITS;
            }
            exit.vmwrite(baseField.encoding(), base);
            exit.vmwrite(limitField.encoding(), limit);
            return ExitAction.EMULATED;
        }
        long base = exit.vmread(baseField.encoding());
        long limit = exit.vmread(limitField.encoding()) & LOW_16;
        // the high byte is 0 with a 16-bit operand size (the 286 wrote 1s there)
        long stored = op.mode64 ? base : operand16 ? base & BASE_24_BITS : base & LOW_32;
        if (!op.probeWritable(op.linearAt(0), PSEUDO_LIMIT_SIZE, false)
                || !op.probeWritable(op.linearAt(PSEUDO_LIMIT_SIZE), baseSize, false)) {
            return ExitAction.RESUME;
        }
        op.store(op.linearAt(0), PSEUDO_LIMIT_SIZE, limit, false);
        op.store(op.linearAt(PSEUDO_LIMIT_SIZE), baseSize, stored, false);
        return ExitAction.EMULATED;
    }

    /** Reason 47: SLDT, STR, LLDT, LTR (register or memory operand). */
    static ExitAction ldtrTr(VmExit exit, LogicalProcessor cpu) {
        GuestOperand op = new GuestOperand(exit, cpu);
        int info = exit.instructionInfo();
        int identity = (info >>> INFO_IDENTITY_SHIFT) & INFO_IDENTITY_MASK;
        boolean load = identity == LLDT || identity == LTR;
        boolean ldt = identity == SLDT || identity == LLDT;
        // SDM 2 LLDT/LTR/SLDT/STR: #UD in real-address and virtual-8086 mode
        if (!op.protectedMode || op.virtual8086) {
            op.fault(UD, -1);
            return ExitAction.RESUME;
        }
        if (load ? op.cpl > 0 : op.umipBlocks()) {
            op.fault(GP, 0);
            return ExitAction.RESUME;
        }
        boolean register = (info & INFO_REGISTER_OPERAND) != 0;
        if (!load) {
            long selector = exit.vmread((ldt ? VmcsField.GUEST_LDTR_SELECTOR : VmcsField.GUEST_TR_SELECTOR).encoding()) & LOW_16;
            if (register) {
                int reg = GuestOperand.reg1(info);
                // SDM 2 SLDT/STR: a 16-bit register keeps its upper bits; 32/64-bit ones are zero-extended
                long old = op.regs.gpr(reg);
                op.regs.setGpr(reg, op.registerFormOperandSize() == 16 ? (old & ~LOW_16) | selector : selector);
            } else if (!op.decodeMemory(info, exit.qualification(), SELECTOR_SIZE, true)
                    || !op.store(op.linear, SELECTOR_SIZE, selector, false)) {
                return ExitAction.RESUME;
            }
            return ExitAction.EMULATED;
        }
        int selector;
        if (register) {
            selector = (int) (op.regs.gpr(GuestOperand.reg1(info)) & LOW_16);
        } else {
            if (!op.decodeMemory(info, exit.qualification(), SELECTOR_SIZE, false)) {
                return ExitAction.RESUME;
            }
            selector = (int) op.load(op.linear, SELECTOR_SIZE, false);
            if (op.faulted) {
                return ExitAction.RESUME;
            }
        }
        return ldt ? lldt(op, selector) : ltr(op, selector);
    }

    /** SDM 2 LLDT. */
    private static ExitAction lldt(GuestOperand op, int selector) {
        VmExit exit = op.exit;
        if ((selector & SELECTOR_ERROR_CODE_MASK) == 0) {
            // a null selector (bits 15:2 clear) marks LDTR invalid: unusable in the VMCS (SDM 3C 25.4.1)
            writeSegment(exit, VmcsField.GUEST_LDTR_SELECTOR, VmcsField.GUEST_LDTR_BASE, VmcsField.GUEST_LDTR_LIMIT,
                    VmcsField.GUEST_LDTR_AR_BYTES, selector, 0, 0, AR_UNUSABLE);
            return ExitAction.EMULATED;
        }
        SystemDescriptor d = SystemDescriptor.read(op, selector);
        if (d == null) {
            return ExitAction.RESUME;
        }
        if (!checkLoadable(op, d, selector, d.type() == TYPE_LDT)) {
            return ExitAction.RESUME;
        }
        writeSegment(exit, VmcsField.GUEST_LDTR_SELECTOR, VmcsField.GUEST_LDTR_BASE, VmcsField.GUEST_LDTR_LIMIT,
                VmcsField.GUEST_LDTR_AR_BYTES, selector, d.base(op), d.limit(), d.accessRights());
        return ExitAction.EMULATED;
    }

    /** SDM 2 LTR: loads an available TSS and marks its descriptor busy in the GDT. */
    private static ExitAction ltr(GuestOperand op, int selector) {
        VmExit exit = op.exit;
        if ((selector & SELECTOR_ERROR_CODE_MASK) == 0) {
            op.fault(GP, 0);
            return ExitAction.RESUME;
        }
        SystemDescriptor d = SystemDescriptor.read(op, selector);
        if (d == null) {
            return ExitAction.RESUME;
        }
        int type = d.type();
        // IA-32e mode: only an available 64-bit TSS (type 9); otherwise also the 16-bit one (type 1)
        boolean available = type == TYPE_TSS_AVAILABLE || type == TYPE_TSS16_AVAILABLE && !op.ia32e;
        if (!checkLoadable(op, d, selector, available)) {
            return ExitAction.RESUME;
        }
        int accessByte = (int) (d.low >>> DESC_ACCESS_SHIFT) & AR_ACCESS_MASK;
        if (!op.store(d.address + DESC_ACCESS_BYTE, 1, accessByte | TYPE_TSS_BUSY_BIT, true)) {
            return ExitAction.RESUME;
        }
        writeSegment(exit, VmcsField.GUEST_TR_SELECTOR, VmcsField.GUEST_TR_BASE, VmcsField.GUEST_TR_LIMIT,
                VmcsField.GUEST_TR_AR_BYTES, selector, d.base(op), d.limit(), d.accessRights() | TYPE_TSS_BUSY_BIT);
        return ExitAction.EMULATED;
    }

    /**
     * SDM 2 LLDT/LTR, in their order: #GP(selector) unless a system descriptor of the wanted type,
     * #NP(selector) if not present, #GP(selector) if the upper half of a 16-byte descriptor is bad.
     * Returns false with the fault raised.
     */
    private static boolean checkLoadable(GuestOperand op, SystemDescriptor d, int selector, boolean wantedType) {
        int errorCode = selector & SELECTOR_ERROR_CODE_MASK;
        if (!d.system() || !wantedType) {
            return op.fault(GP, errorCode);
        }
        if (!d.present()) {
            return op.fault(NP, errorCode);
        }
        if (!d.upperValid(op)) {
            return op.fault(GP, errorCode);
        }
        return true;
    }

    private static void writeSegment(VmExit exit, VmcsField selectorField, VmcsField baseField, VmcsField limitField,
            VmcsField rightsField, int selector, long base, long limit, int rights) {
        exit.vmwrite(selectorField.encoding(), selector);
        exit.vmwrite(baseField.encoding(), base);
        exit.vmwrite(limitField.encoding(), limit);
        exit.vmwrite(rightsField.encoding(), rights);
    }

    /** A GDT entry for LLDT/LTR: the low 8 bytes, the high 8 in IA-32e mode, and its linear address. */
    private record SystemDescriptor(long low, long high, long address) {
        /**
         * Reads the descriptor of a GDT selector: #GP(sel) for the LDT (TI = 1) or an entry past
         * the GDT limit, #PF if the table is not mapped (an implicit supervisor access).
         *
         * @return null if a fault was injected
         */
        static SystemDescriptor read(GuestOperand op, int selector) {
            VmExit exit = op.exit;
            int size = op.ia32e ? DESCRIPTOR_SIZE_IA32E : DESCRIPTOR_SIZE;
            long offset = selector & SELECTOR_OFFSET_MASK;
            long limit = exit.vmread(VmcsField.GUEST_GDTR_LIMIT.encoding()) & LOW_16;
            if ((selector & SELECTOR_TI) != 0 || offset + size - 1 > limit) {
                op.fault(GP, selector & SELECTOR_ERROR_CODE_MASK);
                return null;
            }
            long address = exit.vmread(VmcsField.GUEST_GDTR_BASE.encoding()) + offset;
            if (!op.ia32e) {
                address &= LOW_32;
            }
            long low = op.load(address, DESCRIPTOR_SIZE, true);
            long high = op.faulted || !op.ia32e ? 0 : op.load(address + DESCRIPTOR_SIZE, DESCRIPTOR_SIZE, true);
            return op.faulted ? null : new SystemDescriptor(low, high, address);
        }

        int type() {
            return (int) (low >>> DESC_ACCESS_SHIFT) & DESC_TYPE_MASK;
        }

        boolean system() {
            return (low & DESC_S) == 0;
        }

        boolean present() {
            return (low & DESC_P) != 0;
        }

        /** IA-32e mode: the upper half's type field is 0 and the 64-bit base is canonical. */
        boolean upperValid(GuestOperand op) {
            return !op.ia32e || ((high >>> DESC_UPPER_TYPE_SHIFT) & DESC_UPPER_TYPE_MASK) == 0
                    && GuestOperand.canonical(base(op));
        }

        /** Base 31:0 from bits 39:16 and 63:56; 63:32 from the upper half in IA-32e mode. */
        long base(GuestOperand op) {
            long base = (low >>> DESC_BASE_LOW_SHIFT) & DESC_BASE_LOW_MASK | (low >>> DESC_BASE_HIGH_SHIFT) & DESC_BASE_HIGH_MASK;
            return op.ia32e ? base | (high & LOW_32) << 32 : base;
        }

        /** The limit in bytes: bits 15:0 and 51:48, scaled by 4 KBytes if G is set. */
        long limit() {
            long raw = low & LOW_16 | (low >>> DESC_LIMIT_HIGH_SHIFT) & DESC_LIMIT_HIGH_MASK;
            return (low & DESC_G) != 0 ? raw << GRANULARITY_SHIFT | GRANULARITY_LOW : raw;
        }

        /** VMCS access-rights format (SDM 3C 25.4.1 Table 25-2): descriptor bits 47:40 and 55:52. */
        int accessRights() {
            return (int) (low >>> DESC_ACCESS_SHIFT) & AR_ACCESS_MASK
                    | ((int) (low >>> DESC_FLAGS_SHIFT) & AR_FLAGS_MASK) << AR_FLAGS_SHIFT;
        }
    }
}
