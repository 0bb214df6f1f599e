package org.hotvisor.vmx.cpu.x86;

/**
 * VMREAD and VMWRITE in VMX non-root operation with VMCS shadowing (SDM 3C 31.3, 26.1.3, 25.6.15):
 * <ul>
 *   <li>a VM exit (23/25) when "VMCS shadowing" is 0, when the field encoding sets a bit above
 *       bit 14 (outside IA-32e mode the operand is 32 bits: bits 31:15), or when the bit the
 *       encoding's bits 14:0 select in the VMREAD or VMWRITE bitmap is 1;
 *   <li>otherwise #GP(0) at CPL &gt; 0, then VMfailInvalid for an all-ones VMCS link pointer,
 *       VMfailValid(12) for an unsupported component, VMfailValid(13) for a VMWRITE to a VM-exit
 *       information field (IA32_VMX_MISC bit 29 is 0), else the access to the shadow VMCS.
 * </ul>
 * Operands are 32 bits (no IA-32e mode): VMREAD stores the low 32 bits of the field, VMWRITE
 * zero-extends. A memory destination of VMREAD is written only after the field is known to be
 * valid; a memory source of VMWRITE is read after the link-pointer check (SDM 3C 31.3).
 */
final class VmcsShadowing {
    /** Bits 14:0 of the encoding index the 4-KiB (32768-bit) bitmaps. */
    static final long BITMAP_INDEX_MASK = 0x7FFF;
    private static final long OPERAND_MASK = 0xFFFF_FFFFL;

    private VmcsShadowing() {
    }

    /** Whether this VMREAD/VMWRITE exits instead of accessing the shadow VMCS. */
    static boolean exits(X86Core c, Insn in) {
        VmxControls k = c.controls;
        if ((k.procBased & SystemOps.P_SECONDARY) == 0 || (k.procBased2 & SystemOps.S_VMCS_SHADOWING) == 0) {
            return true;
        }
        long encoding = c.gpr[in.reg()] & in.mask();   // 64-bit operands in 64-bit mode (SDM 2 VMREAD)
        if ((encoding & ~BITMAP_INDEX_MASK) != 0) {
            return true;
        }
        long bitmap = in.op() == Op.VMREAD ? k.vmreadBitmap : k.vmwriteBitmap;
        long address = bitmap + (encoding >>> 3);
        byte[] host = c.hostMemory;
        if (address < 0 || address >= host.length) {
            return true; // VM entry checked the bitmap addresses; exiting is the safe answer regardless
        }
        return (host[(int) address] & (1 << (encoding & 7))) != 0;
    }

    /** Executes the VMREAD/VMWRITE against the shadow VMCS and sets RFLAGS as SDM 3C 31.2 says. */
    static int execute(X86Core c, Insn in) {
        if (c.cpl > 0) {
            throw c.gp(0);
        }
        VmcsShadowAccess shadow = c.shadowVmcs;
        int encoding = (int) (c.gpr[in.reg()] & OPERAND_MASK);
        int status;
        if (shadow == null || !shadow.linkPointerValid()) {
            status = VmcsShadowAccess.FAIL_INVALID;
        } else if (in.op() == Op.VMREAD) {
            long value = shadow.read(encoding) & in.mask();
            status = shadow.lastStatus();
            if (status == VmcsShadowAccess.SUCCEED) {
                if (in.isMem()) {
                    c.write(in.seg(), c.ea(in), in.size(), value);
                } else {
                    c.gpr[in.rm()] = value;
                }
            }
        } else {
            long value = in.isMem() ? c.read(in.seg(), c.ea(in), in.size()) : c.gpr[in.rm()] & in.mask();
            status = shadow.write(encoding, value);
        }
        // SDM 3C 31.2: VMsucceed clears CF PF AF ZF SF OF; VMfailInvalid sets CF; VMfailValid sets ZF
        c.setArithFlags(status == VmcsShadowAccess.SUCCEED ? 0
                : status == VmcsShadowAccess.FAIL_INVALID ? Alu.CF : Alu.ZF);
        return Exec.NEXT;
    }
}
