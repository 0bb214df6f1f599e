package org.hotvisor.benchmarks.jmh;

import org.hotvisor.api.ExitReason;
import org.hotvisor.api.GuestMemory;
import org.hotvisor.api.GuestRegisters;
import org.hotvisor.api.Register;
import org.hotvisor.api.Vcpu;
import org.hotvisor.api.VmExit;

/**
 * A VM exit without a VM, for measuring the dispatcher alone: the exit-information fields and
 * the registers are plain fields, as the kernel's per-vCPU view holds them after its VMREADs.
 * Reused for every call, like the kernel's view; allocates nothing.
 */
final class BenchExit implements VmExit, GuestRegisters {
    private static final int GPR_COUNT = Register.GPR_COUNT;

    private final long[] gprs = new long[GPR_COUNT];
    private ExitReason reason;
    private long qualification;
    private int instructionLength;
    private long sequence;

    /** Loads the exit as the kernel does before dispatching. */
    BenchExit load(ExitReason reason, long qualification, int instructionLength) {
        this.reason = reason;
        this.qualification = qualification;
        this.instructionLength = instructionLength;
        sequence++;
        return this;
    }

    @Override public ExitReason reason() { return reason; }
    @Override public int rawReason() { return reason.number(); }
    @Override public long qualification() { return qualification; }
    @Override public int instructionLength() { return instructionLength; }
    @Override public int instructionInfo() { return 0; }
    @Override public long guestLinearAddress() { return 0; }
    @Override public long guestPhysicalAddress() { return 0; }
    @Override public int accessSize() { return 0; }
    @Override public long accessData() { return 0; }
    @Override public void completeRead(long value) { }
    @Override public long guestRip() { return 0x7c00; }
    @Override public GuestRegisters registers() { return this; }
    @Override public GuestMemory memory() { throw new UnsupportedOperationException("no guest memory in the dispatch benchmark"); }
    @Override public Vcpu vcpu() { throw new UnsupportedOperationException("no vCPU in the dispatch benchmark"); }
    @Override public long vmread(int encoding) { return 0; }
    @Override public void vmwrite(int encoding, long value) { }
    @Override public void injectException(int vector, int errorCode) { }
    @Override public void stop(int status, String reason) { }
    @Override public long sequence() { return sequence; }

    @Override public long get(Register r) { return r.ordinal() < GPR_COUNT ? gprs[r.ordinal()] : 0; }
    @Override public void set(Register r, long value) {
        if (r.ordinal() < GPR_COUNT) {
            gprs[r.ordinal()] = value;
        }
    }
    @Override public long gpr(int index) { return gprs[index & (GPR_COUNT - 1)]; }
    @Override public void setGpr(int index, long value) { gprs[index & (GPR_COUNT - 1)] = value; }
}
