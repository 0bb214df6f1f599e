package org.hotvisor.device.lapic;

import org.hotvisor.api.ExitReason;
import org.hotvisor.api.GuestMemory;
import org.hotvisor.api.GuestRegisters;
import org.hotvisor.api.Vcpu;
import org.hotvisor.api.VmExit;
import org.hotvisor.exit.testkit.FakeVcpu;
import org.hotvisor.exit.testkit.FakeVmExit;

/** A FakeVmExit with the EPT-violation extensions (address, size, write data, read completion). */
final class ApicTestExit implements VmExit {
    final FakeVmExit base;
    long address;
    int size;
    long data;
    boolean completed;
    long completedValue;

    ApicTestExit(FakeVcpu vcpu) {
        base = new FakeVmExit(vcpu, new org.hotvisor.exit.testkit.FakeMemory(4096));
    }

    /** A data access through the EPT (qualification: read or write, linear address valid, final translation). */
    ApicTestExit access(boolean write, long gpa, int accessSize, long value) {
        base.reason = ExitReason.EPT_VIOLATION;
        base.qualification = (write ? ApicExits.EPT_DATA_WRITE : 1L) | ApicExits.EPT_LINEAR_VALID | ApicExits.EPT_FINAL_TRANSLATION;
        address = gpa;
        size = accessSize;
        data = value;
        completed = false;
        completedValue = 0;
        base.resetOutcome();
        return this;
    }

    /** RDMSR (write false) or WRMSR of {@code value} to {@code msr}. */
    ApicTestExit msr(boolean write, int msr, long value) {
        base.reason = write ? ExitReason.WRMSR : ExitReason.RDMSR;
        base.qualification = 0;
        base.registers.setRcx(msr);
        base.registers.setRax(write ? value & 0xFFFF_FFFFL : 0x1111);
        base.registers.setRdx(write ? value >>> 32 : 0x2222);
        base.resetOutcome();
        return this;
    }

    long edxEax() {
        return base.registers.rdx() << 32 | (base.registers.rax() & 0xFFFF_FFFFL);
    }

    @Override public ExitReason reason() { return base.reason(); }
    @Override public int rawReason() { return base.rawReason(); }
    @Override public long qualification() { return base.qualification(); }
    @Override public int instructionLength() { return base.instructionLength(); }
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
    @Override public GuestRegisters registers() { return base.registers(); }
    @Override public GuestMemory memory() { return base.memory(); }
    @Override public Vcpu vcpu() { return base.vcpu(); }
    @Override public long vmread(int encoding) { return base.vmread(encoding); }
    @Override public void vmwrite(int encoding, long value) { base.vmwrite(encoding, value); }
    @Override public void injectException(int vector, int errorCode) { base.injectException(vector, errorCode); }
    @Override public void stop(int status, String reason) { base.stop(status, reason); }
    @Override public long sequence() { return 1; }
}
