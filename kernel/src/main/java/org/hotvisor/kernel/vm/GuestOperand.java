package org.hotvisor.kernel.vm;

import org.hotvisor.api.GuestRegisters;
import org.hotvisor.api.Register;
import org.hotvisor.api.VmExit;
import org.hotvisor.api.vmx.EntryControl;
import org.hotvisor.api.vmx.LogicalProcessor;
import org.hotvisor.api.vmx.VmcsField;

/**
 * The operands of an exiting instruction as a VMM emulates them from the exit information: the
 * memory operand described by the VM-exit instruction-information field (SDM 3C 28.2.5) and the
 * displacement in the exit qualification (SDM 3C 28.2.1), its segmentation checks (SDM 3A 5.3,
 * 3.4.2) and its paging translation. A fault the instruction would take is injected into the guest
 * through {@link VmExit#injectException} (with CR2 for #PF) and {@link #faulted} is set; the
 * caller then returns {@code RESUME} without emulating further.
 *
 * <p>One instance per emulated exit (these exits happen only when a tester switches them on).
 */
final class GuestOperand {
    // VM-exit instruction-information field (SDM 3C 28.2.5, Tables 28-10, 28-11 and 28-13)
    static final int INFO_SCALING_MASK = 0x3;
    static final int INFO_REG1_SHIFT = 3;
    static final int INFO_ADDRESS_SIZE_SHIFT = 7, INFO_ADDRESS_SIZE_MASK = 0x7;
    static final int INFO_REGISTER_OPERAND = 1 << 10;
    static final int INFO_OPERAND_SIZE_32 = 1 << 11;
    static final int INFO_SEGMENT_SHIFT = 15, INFO_SEGMENT_MASK = 0x7;
    static final int INFO_INDEX_SHIFT = 18, INFO_INDEX_INVALID = 1 << 22;
    static final int INFO_BASE_SHIFT = 23, INFO_BASE_INVALID = 1 << 27;
    static final int INFO_IDENTITY_SHIFT = 28, INFO_IDENTITY_MASK = 0x3;
    static final int INFO_REG2_SHIFT = 28;
    static final int INFO_REGISTER_MASK = 0xF;
    static final int ADDRESS_SIZE_16 = 0, ADDRESS_SIZE_32 = 1, ADDRESS_SIZE_64 = 2;

    // segment registers as the instruction-information field numbers them
    static final int ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;
    private static final VmcsField[] SEGMENT_BASE = {VmcsField.GUEST_ES_BASE, VmcsField.GUEST_CS_BASE,
        VmcsField.GUEST_SS_BASE, VmcsField.GUEST_DS_BASE, VmcsField.GUEST_FS_BASE, VmcsField.GUEST_GS_BASE};
    private static final VmcsField[] SEGMENT_LIMIT = {VmcsField.GUEST_ES_LIMIT, VmcsField.GUEST_CS_LIMIT,
        VmcsField.GUEST_SS_LIMIT, VmcsField.GUEST_DS_LIMIT, VmcsField.GUEST_FS_LIMIT, VmcsField.GUEST_GS_LIMIT};
    private static final VmcsField[] SEGMENT_ACCESS_RIGHTS = {VmcsField.GUEST_ES_AR_BYTES, VmcsField.GUEST_CS_AR_BYTES,
        VmcsField.GUEST_SS_AR_BYTES, VmcsField.GUEST_DS_AR_BYTES, VmcsField.GUEST_FS_AR_BYTES, VmcsField.GUEST_GS_AR_BYTES};

    // guest-segment access rights, VMCS format (SDM 3C 25.4.1, Table 25-2)
    static final int AR_TYPE_MASK = 0xF, AR_S = 1 << 4, AR_DPL_SHIFT = 5, AR_DPL_MASK = 0x3, AR_P = 1 << 7;
    static final int AR_L = 1 << 13, AR_DB = 1 << 14, AR_G = 1 << 15, AR_UNUSABLE = 1 << 16;
    /** Code/data type bits (SDM 3A 3.4.5.1, Table 3-1): code, expand-down (data), writable (data) / readable (code). */
    static final int TYPE_CODE = 1 << 3, TYPE_EXPAND_DOWN = 1 << 2, TYPE_WRITABLE_OR_READABLE = 1 << 1;

    // vectors and #PF error-code bits (SDM 3A 6.15, Figure 4-12)
    static final int UD = 6, NP = 11, SS_FAULT = 12, GP = 13, PF = 14;
    static final int PF_PRESENT = 1, PF_WRITE = 1 << 1, PF_USER = 1 << 2;

    static final long CR0_PE = 1, CR4_UMIP = 1 << 11, RFLAGS_VM = 1 << 17;
    private static final long LOW_16 = 0xFFFF, LOW_32 = 0xFFFF_FFFFL;
    private static final int PAGE_SHIFT = 12;
    /** Bits 63:47 of a canonical 48-bit linear address are all equal (SDM 3A 3.3.7.1). */
    private static final int CANONICAL_SHIFT = 47;
    private static final int OPERAND_SIZE_PREFIX = 0x66, REX_MASK = 0xF0, REX = 0x40, REX_W = 0x08;

    final VmExit exit;
    final GuestRegisters regs;
    final LogicalProcessor cpu;
    /** IA32_EFER.LMA: the exit stores it in the "IA-32e mode guest" entry control (SDM 3C 28.2, IA32_VMX_MISC bit 5). */
    final boolean ia32e;
    /** 64-bit mode: IA-32e mode with CS.L = 1 (SDM 3A 5.2.1). */
    final boolean mode64;
    final boolean protectedMode, virtual8086;
    /** SDM 3C 25.4.1: SS.DPL is always the CPL. */
    final int cpl;
    /** Set once a fault was injected: stop emulating and resume the guest. */
    boolean faulted;

    /** The last decoded memory operand: segment, offset (effective address) and its linear address. */
    int segment;
    long offset;
    long linear;
    private long addressMask, segmentBase;

    GuestOperand(VmExit exit, LogicalProcessor cpu) {
        this.exit = exit;
        this.regs = exit.registers();
        this.cpu = cpu;
        ia32e = EntryControl.IA32E_MODE_GUEST.isSet((int) exit.vmread(VmcsField.VM_ENTRY_CONTROLS.encoding()));
        mode64 = ia32e && (accessRights(CS) & AR_L) != 0;
        protectedMode = (regs.get(Register.CR0) & CR0_PE) != 0;
        virtual8086 = protectedMode && (regs.get(Register.RFLAGS) & RFLAGS_VM) != 0;
        cpl = (accessRights(SS) >> AR_DPL_SHIFT) & AR_DPL_MASK;
    }

    int accessRights(int seg) {
        return (int) exit.vmread(SEGMENT_ACCESS_RIGHTS[seg].encoding());
    }

    /** UMIP (SDM 3A 2.5): SGDT, SIDT, SLDT, SMSW, STR at CPL &gt; 0 are #GP(0). */
    boolean umipBlocks() {
        return cpl > 0 && (regs.get(Register.CR4) & CR4_UMIP) != 0;
    }

    /**
     * Decodes the memory operand of the exiting instruction and checks [offset, offset + size) against
     * its segment (limit, type, null; canonical form in 64-bit mode). On success {@link #linear}
     * holds the operand's linear address.
     *
     * @return false if a fault was injected
     */
    boolean decodeMemory(int info, long displacement, int size, boolean write) {
        int addressSize = (info >>> INFO_ADDRESS_SIZE_SHIFT) & INFO_ADDRESS_SIZE_MASK;
        long mask = addressSize == ADDRESS_SIZE_16 ? LOW_16 : addressSize == ADDRESS_SIZE_32 ? LOW_32 : -1L;
        // SDM 3C 28.2.1: the qualification is the displacement, sign-extended (RIP-relative: plus the next RIP)
        long ea = displacement;
        if ((info & INFO_BASE_INVALID) == 0) {
            ea += regs.gpr((info >>> INFO_BASE_SHIFT) & INFO_REGISTER_MASK);
        }
        if ((info & INFO_INDEX_INVALID) == 0) {
            ea += regs.gpr((info >>> INFO_INDEX_SHIFT) & INFO_REGISTER_MASK) << (info & INFO_SCALING_MASK);
        }
        segment = (info >>> INFO_SEGMENT_SHIFT) & INFO_SEGMENT_MASK;
        addressMask = mask;
        offset = ea & mask;
        if (segment > GS) {
            return fault(GP, 0); // reserved encoding: no such segment register
        }
        int segmentFault = segment == SS ? SS_FAULT : GP;
        if (mode64) {
            // SDM 3A 3.4.4: only FS and GS bases apply; the address must be canonical
            segmentBase = segment == FS || segment == GS ? exit.vmread(SEGMENT_BASE[segment].encoding()) : 0;
            linear = segmentBase + offset;
            if (!canonical(linear) || !canonical(linear + size - 1)) {
                return fault(segmentFault, 0);
            }
            return true;
        }
        int ar = accessRights(segment);
        if ((ar & AR_UNUSABLE) != 0) {
            return fault(segmentFault, 0); // a null selector (SDM 3A 5.4.1)
        }
        if (protectedMode && !virtual8086) {
            boolean code = (ar & TYPE_CODE) != 0;
            boolean writableOrReadable = (ar & TYPE_WRITABLE_OR_READABLE) != 0;
            // SDM 3A 5.5/5.6: no writes to code or read-only data, no reads from execute-only code
            if (write ? code || !writableOrReadable : code && !writableOrReadable) {
                return fault(segmentFault, 0);
            }
        }
        if (!withinLimit(ar, exit.vmread(SEGMENT_LIMIT[segment].encoding()) & LOW_32, offset, size)) {
            return fault(segmentFault, 0);
        }
        segmentBase = exit.vmread(SEGMENT_BASE[segment].encoding());
        linear = linearAt(0);
        return true;
    }

    /** The linear address of the operand's byte {@code delta}: the offset wraps at the address size. */
    long linearAt(int delta) {
        long a = segmentBase + ((offset + delta) & addressMask);
        return mode64 ? a : a & LOW_32;
    }

    /** SDM 3A 5.3: expand-up [0, limit]; expand-down data (limit, 0xFFFF or 0xFFFFFFFF by D/B]. */
    static boolean withinLimit(int ar, long limit, long offset, int size) {
        long last = offset + size - 1;
        boolean expandDown = (ar & TYPE_CODE) == 0 && (ar & TYPE_EXPAND_DOWN) != 0 && (ar & AR_S) != 0;
        if (expandDown) {
            long upper = (ar & AR_DB) != 0 ? LOW_32 : LOW_16;
            return offset > limit && last <= upper;
        }
        return last <= limit;
    }

    static boolean canonical(long linear) {
        long high = linear >> CANONICAL_SHIFT;
        return high == 0 || high == -1;
    }

    /** The guest's general-purpose register named in bits 6:3 (Reg1) of the instruction information. */
    static int reg1(int info) {
        return (info >>> INFO_REG1_SHIFT) & INFO_REGISTER_MASK;
    }

    /** Reg2, bits 31:28 (INVEPT, INVPCID, INVVPID: SDM 3C 28.2.5 Table 28-13). */
    static int reg2(int info) {
        return (info >>> INFO_REG2_SHIFT) & INFO_REGISTER_MASK;
    }

    /** The linear address at {@code i} bytes past {@code base}: 32 bits wrap outside IA-32e mode. */
    private long step(long base, int i) {
        long a = base + i;
        return ia32e ? a : a & LOW_32;
    }

    /**
     * Reads {@code size} (at most 8) bytes little-endian at a guest-linear address through paging.
     * {@code supervisor}: an implicit supervisor access (descriptor tables, SDM 3A 4.6) rather than one at the CPL.
     *
     * @return the value; 0 with {@link #faulted} set if a #PF was injected
     */
    long load(long address, int size, boolean supervisor) {
        long value = 0;
        long page = -1, physical = -1;
        for (int i = 0; i < size; i++) {
            long a = step(address, i);
            if (a >>> PAGE_SHIFT != page || physical < 0) {
                page = a >>> PAGE_SHIFT;
                physical = cpu.translateGuestLinear(a, false);
                if (physical < 0) {
                    pageFault(a, false, supervisor);
                    return 0;
                }
                physical -= a & ((1 << PAGE_SHIFT) - 1);
            }
            value |= (long) exit.memory().read8(physical + (a & ((1 << PAGE_SHIFT) - 1))) << (8 * i);
        }
        return value;
    }

    /**
     * Writes {@code size} (at most 8) bytes little-endian at a guest-linear address through paging.
     * Every page is translated for writing first, so a #PF leaves memory unchanged.
     *
     * @return false if a #PF was injected
     */
    boolean store(long address, int size, long value, boolean supervisor) {
        if (!probeWritable(address, size, supervisor)) {
            return false;
        }
        for (int i = 0; i < size; i++) {
            long a = step(address, i);
            exit.memory().write8(cpu.translateGuestLinear(a, true), (int) (value >>> (8 * i)) & 0xFF);
        }
        return true;
    }

    /** Checks that [address, address + size) is writable through paging, without writing; injects the #PF if not. */
    boolean probeWritable(long address, int size, boolean supervisor) {
        for (int i = 0; i < size; i++) {
            long a = step(address, i);
            if ((i == 0 || (a & ((1 << PAGE_SHIFT) - 1)) == 0) && cpu.translateGuestLinear(a, true) < 0) {
                pageFault(a, true, supervisor);
                return false;
            }
        }
        return true;
    }

    /** SDM 3A 4.7: #PF with CR2 = the faulting linear address; P set if the page is present (a protection fault). */
    private void pageFault(long address, boolean write, boolean supervisor) {
        int code = (cpu.translateGuestLinear(address, false) >= 0 ? PF_PRESENT : 0) | (write ? PF_WRITE : 0)
                | (!supervisor && cpl == 3 ? PF_USER : 0);
        regs.set(Register.CR2, address);
        fault(PF, code);
    }

    /** Injects a fault ({@code errorCode < 0}: none) and returns false. */
    boolean fault(int vector, int errorCode) {
        exit.injectException(vector, errorCode);
        faulted = true;
        return false;
    }

    /**
     * The operand size of the exiting instruction when the instruction information does not hold
     * it (SLDT/STR with a register operand, Table 28-11): the VMM decodes the prefixes, which are
     * every byte before the 3-byte opcode and ModR/M (a register operand has no SIB or displacement).
     *
     * @return 16, 32 or 64; the mode's default if the instruction bytes cannot be fetched
     */
    int registerFormOperandSize() {
        int defaultSize = mode64 || (accessRights(CS) & AR_DB) != 0 ? 32 : 16;
        long csBase = mode64 ? 0 : exit.vmread(VmcsField.GUEST_CS_BASE.encoding());
        long rip = step(csBase, 0) + exit.guestRip();
        int prefixes = exit.instructionLength() - 3;
        boolean operandSizePrefix = false;
        int rex = 0;
        for (int i = 0; i < prefixes; i++) {
            long physical = cpu.translateGuestLinear(step(rip, i), false);
            if (physical < 0) {
                return defaultSize;
            }
            int b = exit.memory().read8(physical);
            operandSizePrefix |= b == OPERAND_SIZE_PREFIX;
            // SDM 2 2.2.1: a REX prefix counts only immediately before the opcode
            rex = mode64 && (b & REX_MASK) == REX ? b : 0;
        }
        if (mode64) {
            return (rex & REX_W) != 0 ? 64 : operandSizePrefix ? 16 : 32;
        }
        return operandSizePrefix ? 48 - defaultSize : defaultSize;
    }
}
