package org.hotvisor.exit.testkit;

import org.hotvisor.api.ExitReason;
import org.hotvisor.api.GuestRegisters;
import org.hotvisor.api.GuestMemory;
import org.hotvisor.api.Vcpu;
import org.hotvisor.api.VmExit;
import org.hotvisor.api.vmx.VmcsField;

/**
 * One VM exit a test sets up field by field. VMCS fields live in an array indexed by encoding
 * (allocation-free, so tests can measure handler allocation); fields never written read 0.
 */
public final class FakeVmExit implements VmExit {
    public ExitReason reason;
    public long qualification;
    public int instructionLength = 1;
    public int instructionInfo;
    public long guestLinearAddress;
    public long guestRip;
    public long sequence = 1;
    public final FakeRegisters registers = new FakeRegisters();
    public final FakeMemory memory;
    public final FakeVcpu vcpu;
    private static final int ENCODING_LIMIT = 0x8000;
    private final long[] vmcsValues = new long[ENCODING_LIMIT];
    private final boolean[] vmcsWritten = new boolean[ENCODING_LIMIT];
    /** Number of VMWRITEs the handler made (setField does not count). */
    public int vmwrites;

    /** The last injected exception vector, or -1. */
    public int injectedVector = -1;
    public int injectedErrorCode;
    /** The status and reason passed to stop(), or -1 / null. */
    public int stopStatus = -1;
    public String stopReason;

    public FakeVmExit(FakeVcpu vcpu, FakeMemory memory) {
        this.vcpu = vcpu;
        this.memory = memory;
    }

    public FakeVmExit() {
        this(new FakeVcpu(0), new FakeMemory(1 << 20));
    }

    public long field(VmcsField f) {
        return vmread(f.encoding());
    }

    public void setField(VmcsField f, long value) {
        vmcsValues[f.encoding()] = value;
        vmcsWritten[f.encoding()] = true;
    }

    /** Whether a field was ever set or written. */
    public boolean hasField(VmcsField f) {
        return vmcsWritten[f.encoding()];
    }

    /** Forgets every VMCS field and the VMWRITE count. */
    public void clearVmcs() {
        java.util.Arrays.fill(vmcsValues, 0);
        java.util.Arrays.fill(vmcsWritten, false);
        vmwrites = 0;
    }

    /** Clears the per-exit outcome so the same object can be handled again. */
    public void resetOutcome() {
        injectedVector = -1;
        injectedErrorCode = 0;
        stopStatus = -1;
        stopReason = null;
    }

    @Override public ExitReason reason() { return reason; }
    @Override public int rawReason() { return reason == null ? 0 : reason.number(); }
    @Override public long qualification() { return qualification; }
    @Override public int instructionLength() { return instructionLength; }
    @Override public int instructionInfo() { return instructionInfo; }
    @Override public long guestLinearAddress() { return guestLinearAddress; }
    @Override public long guestPhysicalAddress() { return 0; }
    @Override public int accessSize() { return 0; }
    @Override public long accessData() { return 0; }
    @Override public void completeRead(long value) { throw new UnsupportedOperationException("not an EPT violation"); }
    @Override public long guestRip() { return guestRip; }
    @Override public GuestRegisters registers() { return registers; }
    @Override public GuestMemory memory() { return memory; }
    @Override public Vcpu vcpu() { return vcpu; }
    @Override
    public long vmread(int encoding) {
        return encoding >= 0 && encoding < ENCODING_LIMIT ? vmcsValues[encoding] : 0;
    }

    @Override
    public void vmwrite(int encoding, long value) {
        if (encoding < 0 || encoding >= ENCODING_LIMIT) {
            throw new IllegalArgumentException("no VMCS field 0x" + Integer.toHexString(encoding));
        }
        vmcsValues[encoding] = value;
        vmcsWritten[encoding] = true;
        vmwrites++;
    }
    @Override public long sequence() { return sequence; }

    @Override
    public void injectException(int vector, int errorCode) {
        injectedVector = vector;
        injectedErrorCode = errorCode;
    }

    @Override
    public void stop(int status, String reason) {
        stopStatus = status;
        stopReason = reason;
    }
}
