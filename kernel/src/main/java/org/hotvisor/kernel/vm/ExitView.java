package org.hotvisor.kernel.vm;

import org.hotvisor.api.ExitReason;
import org.hotvisor.api.GuestMemory;
import org.hotvisor.api.GuestRegisters;
import org.hotvisor.api.Register;
import org.hotvisor.api.Vcpu;
import org.hotvisor.api.VmExit;
import org.hotvisor.api.vmx.LogicalProcessor;
import org.hotvisor.api.vmx.VmcsField;

/**
 * The {@link VmExit} a handler sees. One instance per vCPU, refilled at every exit from VMREADs of
 * the exit-information fields. Register and VMCS writes are staged in fixed arrays and reach the
 * processor only by {@link #commit()}, so a handler that throws leaves the guest untouched.
 */
final class ExitView implements VmExit, GuestRegisters {
    /** Enough for a whole guest state (an INIT handler rewrites all segments, CRs and descriptor tables). */
    private static final int MAX_STAGED_VMWRITES = 128;
    private static final Register[] REGISTERS = Register.values();
    /*
     * The encodings of the fields every exit reads or writes, as compile-time constants: an enum's
     * instance field is a memory load the JIT cannot fold, once per VMREAD on the hot path.
     */
    static final int VM_EXIT_REASON = VmcsField.VM_EXIT_REASON.encoding();
    static final int EXIT_QUALIFICATION = VmcsField.EXIT_QUALIFICATION.encoding();
    static final int VM_EXIT_INSTRUCTION_LEN = VmcsField.VM_EXIT_INSTRUCTION_LEN.encoding();
    static final int VMX_INSTRUCTION_INFO = VmcsField.VMX_INSTRUCTION_INFO.encoding();
    static final int GUEST_RIP = VmcsField.GUEST_RIP.encoding();
    static final int GUEST_RSP = VmcsField.GUEST_RSP.encoding();
    static final int VM_ENTRY_INTR_INFO_FIELD = VmcsField.VM_ENTRY_INTR_INFO_FIELD.encoding();
    static final int IDT_VECTORING_INFO_FIELD = VmcsField.IDT_VECTORING_INFO_FIELD.encoding();
    static final int VMX_PREEMPTION_TIMER_VALUE = VmcsField.VMX_PREEMPTION_TIMER_VALUE.encoding();
    static final int GUEST_INTERRUPTIBILITY_INFO = VmcsField.GUEST_INTERRUPTIBILITY_INFO.encoding();
    static final int VM_ENTRY_EXCEPTION_ERROR_CODE = VmcsField.VM_ENTRY_EXCEPTION_ERROR_CODE.encoding();

    private final VirtualCpu vcpu;
    private final GuestMemory memory;
    LogicalProcessor cpu;

    // Exit information, read once per exit.
    int rawReason;
    long qualification;
    int instructionLength;
    long guestRip;
    long sequence;

    // Staged register writes: a value per Register and a dirty bit mask.
    private final long[] staged = new long[REGISTERS.length];
    private long dirty;
    // Staged VMWRITEs.
    private final int[] vmwriteEncoding = new int[MAX_STAGED_VMWRITES];
    private final long[] vmwriteValue = new long[MAX_STAGED_VMWRITES];
    private int vmwrites;
    private boolean vmwriteOverflow;
    // Staged event injection.
    int injectInfo;
    int injectErrorCode;
    // Staged stop request.
    boolean stopRequested;
    int stopStatus;
    String stopReason;
    // Staged MMIO completion.
    boolean mmioReadCompleted;
    long mmioReadValue;

    ExitView(VirtualCpu vcpu, GuestMemory memory) {
        this.vcpu = vcpu;
        this.memory = memory;
    }

    /** Loads the exit-information fields for a new exit and clears everything staged. */
    void load(LogicalProcessor cpu, long seq) {
        if (this.cpu != cpu) { // reference stores cost a card mark: only on a processor change
            this.cpu = cpu;
        }
        this.sequence = seq;
        rawReason = (int) cpu.vmread(VM_EXIT_REASON);
        qualification = cpu.vmread(EXIT_QUALIFICATION);
        instructionLength = (int) cpu.vmread(VM_EXIT_INSTRUCTION_LEN);
        guestRip = cpu.vmread(GUEST_RIP);
        discard();
    }

    /** Drops everything a handler staged (after a fault). */
    void discard() {
        dirty = 0;
        vmwrites = 0;
        vmwriteOverflow = false;
        injectInfo = 0;
        stopRequested = false;
        mmioReadCompleted = false;
    }

    /** Applies what the handler staged to the processor. */
    void commit() {
        for (long d = dirty; d != 0; d &= d - 1) { // the staged registers only
            int i = Long.numberOfTrailingZeros(d);
            if (i < Register.GPR_COUNT) {
                writeGprThrough(i, staged[i]);
            } else {
                writeThrough(REGISTERS[i], staged[i]);
            }
        }
        for (int i = 0; i < vmwrites; i++) {
            cpu.vmwrite(vmwriteEncoding[i], vmwriteValue[i]);
        }
        if (injectInfo != 0) {
            cpu.vmwrite(VM_ENTRY_INTR_INFO_FIELD, injectInfo & 0xFFFFFFFFL);
            cpu.vmwrite(VM_ENTRY_EXCEPTION_ERROR_CODE, injectErrorCode);
        }
        if (mmioReadCompleted) {
            cpu.completeMmioRead(mmioReadValue);
        }
        dirty = 0;
        vmwrites = 0;
    }

    boolean vmwriteOverflowed() {
        return vmwriteOverflow;
    }

    // GPRs go by index, not through the Register switches: the handlers' rax()/setRax() are the
    // hot path, and an enum's ordinal is a load the JIT cannot fold (each switch would be compiled).
    private long readGprThrough(int index) {
        return index == RSP ? cpu.vmread(GUEST_RSP) : cpu.gpr(index);
    }

    private void writeGprThrough(int index, long v) {
        if (index == RSP) {
            cpu.vmwrite(GUEST_RSP, v);
        } else {
            cpu.setGpr(index, v);
        }
    }

    private static final int RSP = 4;

    private long readThrough(Register r) {
        int o = r.ordinal();
        if (o < Register.GPR_COUNT) {
            return readGprThrough(o);
        }
        return switch (r) {
            case RIP -> cpu.vmread(GUEST_RIP);
            case RFLAGS -> cpu.vmread(VmcsField.GUEST_RFLAGS.encoding());
            // The guest's view of CR0/CR4: shadowed bits from the read shadow (SDM 3C 25.6.6).
            case CR0 -> shadowed(VmcsField.GUEST_CR0, VmcsField.CR0_GUEST_HOST_MASK, VmcsField.CR0_READ_SHADOW);
            case CR4 -> shadowed(VmcsField.GUEST_CR4, VmcsField.CR4_GUEST_HOST_MASK, VmcsField.CR4_READ_SHADOW);
            case CR2 -> cpu.cr2();
            case CR3 -> cpu.vmread(VmcsField.GUEST_CR3.encoding());
            default -> 0;
        };
    }

    private long shadowed(VmcsField value, VmcsField mask, VmcsField shadow) {
        long m = cpu.vmread(mask.encoding());
        return (cpu.vmread(value.encoding()) & ~m) | (cpu.vmread(shadow.encoding()) & m);
    }

    /** The registers other than the GPRs. */
    private void writeThrough(Register r, long v) {
        switch (r) {
            case RIP -> cpu.vmwrite(GUEST_RIP, v);
            case RFLAGS -> cpu.vmwrite(VmcsField.GUEST_RFLAGS.encoding(), v | 2); // bit 1 is reserved-1
            case CR0 -> writeShadowed(v, VmcsField.GUEST_CR0, VmcsField.CR0_GUEST_HOST_MASK, VmcsField.CR0_READ_SHADOW);
            case CR4 -> writeShadowed(v, VmcsField.GUEST_CR4, VmcsField.CR4_GUEST_HOST_MASK, VmcsField.CR4_READ_SHADOW);
            case CR2 -> cpu.setCr2(v);
            case CR3 -> cpu.vmwrite(VmcsField.GUEST_CR3.encoding(), v);
            default -> { }
        }
    }

    /** A guest write to CR0/CR4: host-owned bits go to the read shadow, the rest to the register. */
    private void writeShadowed(long v, VmcsField value, VmcsField mask, VmcsField shadow) {
        long m = cpu.vmread(mask.encoding());
        cpu.vmwrite(shadow.encoding(), v);
        cpu.vmwrite(value.encoding(), (v & ~m) | (cpu.vmread(value.encoding()) & m));
    }

    // ---- VmExit ----

    @Override
    public ExitReason reason() {
        return ExitReason.of(rawReason & 0xFFFF); // on demand: few handlers ask
    }

    @Override
    public int rawReason() {
        return rawReason;
    }

    @Override
    public long qualification() {
        return qualification;
    }

    @Override
    public int instructionLength() {
        return instructionLength;
    }

    @Override
    public int instructionInfo() {
        return (int) cpu.vmread(VMX_INSTRUCTION_INFO); // on demand: most exits never ask (no staged write can change it)
    }

    @Override
    public long guestLinearAddress() {
        return cpu.vmread(VmcsField.GUEST_LINEAR_ADDRESS.encoding());
    }

    @Override
    public long guestPhysicalAddress() {
        return cpu.vmread(VmcsField.GUEST_PHYSICAL_ADDRESS.encoding());
    }

    @Override
    public int accessSize() {
        return cpu.mmioAccessSize();
    }

    @Override
    public long accessData() {
        return cpu.mmioWriteData();
    }

    @Override
    public void completeRead(long value) {
        mmioReadCompleted = true;
        mmioReadValue = value;
    }

    @Override
    public long guestRip() {
        return guestRip;
    }

    @Override
    public GuestRegisters registers() {
        return this;
    }

    @Override
    public GuestMemory memory() {
        return memory;
    }

    @Override
    public Vcpu vcpu() {
        return vcpu;
    }

    @Override
    public long vmread(int encoding) {
        for (int i = vmwrites - 1; i >= 0; i--) {
            if (vmwriteEncoding[i] == encoding) {
                return vmwriteValue[i];
            }
        }
        return cpu.vmread(encoding);
    }

    @Override
    public void vmwrite(int encoding, long value) {
        if (vmwrites == MAX_STAGED_VMWRITES) {
            vmwriteOverflow = true;
            throw new IllegalStateException("more than " + MAX_STAGED_VMWRITES + " VMWRITEs staged in one exit");
        }
        vmwriteEncoding[vmwrites] = encoding;
        vmwriteValue[vmwrites] = value;
        vmwrites++;
    }

    @Override
    public void injectException(int vector, int errorCode) {
        // SDM 3C 25.8.3: valid (31), type 3 = hardware exception (10:8), deliver error code (11).
        int info = 0x8000_0000 | (3 << 8) | (vector & 0xFF);
        if (errorCode >= 0) {
            info |= 1 << 11;
        }
        injectInfo = info;
        injectErrorCode = Math.max(0, errorCode);
    }

    @Override
    public void stop(int status, String reason) {
        stopRequested = true;
        stopStatus = status;
        stopReason = reason;
    }

    @Override
    public long sequence() {
        return sequence;
    }

    // ---- GuestRegisters ----

    @Override
    public long get(Register r) {
        int o = r.ordinal();
        return (dirty & (1L << o)) != 0 ? staged[o] : readThrough(r);
    }

    @Override
    public void set(Register r, long value) {
        int o = r.ordinal();
        staged[o] = value;
        dirty |= 1L << o;
    }

    @Override
    public long gpr(int index) {
        int i = index & 15; // Register ordinals 0..15 are the GPRs in encoding order
        return (dirty & (1L << i)) != 0 ? staged[i] : readGprThrough(i);
    }

    @Override
    public void setGpr(int index, long value) {
        int i = index & 15;
        staged[i] = value;
        dirty |= 1L << i;
    }
}
