package org.hotvisor.kernel.vm;

import static org.hotvisor.kernel.vm.GuestOperand.GP;
import static org.hotvisor.kernel.vm.GuestOperand.UD;

import org.hotvisor.api.ExitAction;
import org.hotvisor.api.Register;
import org.hotvisor.api.VmExit;
import org.hotvisor.api.vmx.LogicalProcessor;

/**
 * The kernel's defaults for INVLPG (reason 14, "INVLPG exiting") and INVPCID (reason 58, "enable
 * INVPCID" with "INVLPG exiting", SDM 3C 26.1.3). The guest asked for TLB entries to go, so the
 * VMM must make that happen before the guest runs on.
 *
 * <p>On hardware without VPIDs the VM entry itself does it: with "enable VPID" 0, VM entries and
 * exits invalidate the linear and combined mappings of VPID 0000H (SDM 3C 29.4.3). The vmx-cpu
 * core keeps its TLB across entries (it flushes only when the paging controls change), so the
 * emulation drops the processor's cached translations itself with
 * {@link LogicalProcessor#flushGuestTlb()}. Dropping every translation where one page was asked is
 * allowed: a processor may invalidate more than the instruction requires (SDM 3A 4.10.4.1).
 */
final class TlbInvalidation {
    private TlbInvalidation() {}

    /** INVPCID types (SDM 2 INVPCID). */
    static final int INDIVIDUAL_ADDRESS = 0, SINGLE_CONTEXT = 1, ALL_CONTEXTS_WITH_GLOBALS = 2, ALL_CONTEXTS = 3;
    /** The 128-bit descriptor: PCID in bits 11:0 (63:12 reserved, must be 0), the linear address in 127:64. */
    static final int DESCRIPTOR_SIZE = 16, DESCRIPTOR_ADDRESS_OFFSET = 8, QUADWORD = 8;
    static final long PCID_MASK = 0xFFF;
    static final long CR4_PCIDE = 1L << 17;
    private static final long LOW_32 = 0xFFFF_FFFFL;

    /** Reason 14: the qualification is the linear address (SDM 3C 28.2.1); INVLPG never faults on it. */
    static ExitAction invlpg(VmExit exit, LogicalProcessor cpu) {
        cpu.flushGuestTlb();
        return ExitAction.EMULATED;
    }

    /** Reason 58: type in Reg2 (Table 28-13), the descriptor in the memory operand. */
    static ExitAction invpcid(VmExit exit, LogicalProcessor cpu) {
        GuestOperand op = new GuestOperand(exit, cpu);
        // SDM 2 INVPCID: #UD in real-address and virtual-8086 mode, #GP(0) at CPL > 0
        if (!op.protectedMode || op.virtual8086) {
            op.fault(UD, -1);
            return ExitAction.RESUME;
        }
        if (op.cpl > 0) {
            op.fault(GP, 0);
            return ExitAction.RESUME;
        }
        int info = exit.instructionInfo();
        long type = op.regs.gpr(GuestOperand.reg2(info));
        if (!op.mode64) {
            type &= LOW_32; // the register operand is 32 bits outside 64-bit mode
        }
        if (Long.compareUnsigned(type, ALL_CONTEXTS) > 0) {
            op.fault(GP, 0);
            return ExitAction.RESUME;
        }
        if (!op.decodeMemory(info, exit.qualification(), DESCRIPTOR_SIZE, false)) {
            return ExitAction.RESUME;
        }
        long pcidQuadword = op.load(op.linearAt(0), QUADWORD, false);
        long address = op.faulted ? 0 : op.load(op.linearAt(DESCRIPTOR_ADDRESS_OFFSET), QUADWORD, false);
        if (op.faulted) {
            return ExitAction.RESUME;
        }
        boolean pcide = (op.regs.get(Register.CR4) & CR4_PCIDE) != 0;
        boolean reservedSet = (pcidQuadword & ~PCID_MASK) != 0;
        boolean badAddress = type == INDIVIDUAL_ADDRESS && !GuestOperand.canonical(address);
        // with CR4.PCIDE = 0 only PCID 000H exists
        boolean badPcid = type <= SINGLE_CONTEXT && !pcide && (pcidQuadword & PCID_MASK) != 0;
        if (reservedSet || badAddress || badPcid) {
            op.fault(GP, 0);
            return ExitAction.RESUME;
        }
        cpu.flushGuestTlb();
        return ExitAction.EMULATED;
    }
}
