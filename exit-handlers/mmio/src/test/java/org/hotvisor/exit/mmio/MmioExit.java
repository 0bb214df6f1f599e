package org.hotvisor.exit.mmio;

import org.hotvisor.api.ExitReason;
import org.hotvisor.api.GuestMemory;
import org.hotvisor.api.GuestRegisters;
import org.hotvisor.api.Vcpu;
import org.hotvisor.api.VmExit;

/** An EPT-violation exit as the kernel's view presents it: address, size, write data, and the read completion. */
final class MmioExit implements VmExit {
    long qualification;
    long address;
    int size;
    long data;
    boolean completed;
    long completedValue;

    /** Sets up a data access and clears the outcome. */
    MmioExit access(boolean write, long gpa, int accessSize, long value) {
        qualification = EptQualification.dataAccess(write);
        address = gpa;
        size = accessSize;
        data = value;
        completed = false;
        completedValue = 0;
        return this;
    }

    @Override public ExitReason reason() { return ExitReason.EPT_VIOLATION; }
    @Override public int rawReason() { return ExitReason.EPT_VIOLATION.number(); }
    @Override public long qualification() { return qualification; }
    @Override public int instructionLength() { return 0; }
    @Override public int instructionInfo() { return 0; }
    @Override public long guestLinearAddress() { return address; }
    @Override public long guestPhysicalAddress() { return address; }
    @Override public int accessSize() { return size; }
    @Override public long accessData() { return data; }

    @Override
    public void completeRead(long value) {
        completed = true;
        completedValue = value;
    }

    @Override public long guestRip() { return 0x1000; }
    @Override public GuestRegisters registers() { throw new UnsupportedOperationException("an MMIO handler needs no registers"); }
    @Override public GuestMemory memory() { throw new UnsupportedOperationException("an MMIO handler needs no guest memory"); }
    @Override public Vcpu vcpu() { throw new UnsupportedOperationException(); }
    @Override public long vmread(int encoding) { return 0; }
    @Override public void vmwrite(int encoding, long value) { throw new UnsupportedOperationException(); }
    @Override public void injectException(int vector, int errorCode) { throw new UnsupportedOperationException(); }
    @Override public void stop(int status, String reason) { throw new UnsupportedOperationException(); }
    @Override public long sequence() { return 1; }
}
