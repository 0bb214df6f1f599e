package org.hotvisor.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * One VM exit as a handler sees it: the exit-information fields already read from the VMCS,
 * the guest registers (staged), guest memory, and raw VMREAD/VMWRITE for everything else.
 *
 * <p>One instance per vCPU is reused for every exit: do not keep a reference after
 * {@link ExitHandler#handle} returns.
 */
@ProviderType
public interface VmExit {

    /** The basic exit reason (exit-reason bits 15:0), or {@code null} for a number the SDM does not define. */
    ExitReason reason();

    /** The full 32-bit exit-reason field, including bit 31 (VM-entry failure). */
    int rawReason();

    /** The exit qualification (SDM 3C 28.2.1). */
    long qualification();

    /** The VM-exit instruction length, for exits caused by instructions. */
    int instructionLength();

    /** The VM-exit instruction-information field (SDM 3C 28.2.5). */
    int instructionInfo();

    /** The guest-linear-address field, where the exit defines it. */
    long guestLinearAddress();

    /** The guest-physical-address field (EPT violations). */
    long guestPhysicalAddress();

    /**
     * Hotvisor extension for EPT violations caused by data accesses: the access size in bytes
     * (1, 2, 4 or 8), or 0 where the exit is not such an access.
     */
    int accessSize();

    /**
     * Hotvisor extension for EPT violations caused by writes: the value written. For reads, a
     * handler supplies the value with {@link #completeRead(long)}.
     */
    long accessData();

    /** Completes a read that caused an EPT violation: the CPU delivers this value to the instruction on resume. */
    void completeRead(long value);

    /** The guest's RIP at the exit (the exiting instruction). */
    long guestRip();

    /** The guest registers; writes are staged and committed when the handler returns normally. */
    GuestRegisters registers();

    /** Guest-physical memory. */
    GuestMemory memory();

    /** The vCPU that exited. */
    Vcpu vcpu();

    /** Raw VMREAD of the current VMCS (SDM encoding, Appendix B). */
    long vmread(int encoding);

    /** Raw VMWRITE of the current VMCS; staged like register writes. */
    void vmwrite(int encoding, long value);

    /**
     * Injects a hardware exception at the next VM entry (VM-entry interruption-information field,
     * SDM 3C 27.6). Pass {@code errorCode < 0} for vectors that push none. Return {@link ExitAction#RESUME}.
     */
    void injectException(int vector, int errorCode);

    /** Asks the VM to stop after this exit with the given process status and a one-line reason. Return {@link ExitAction#STOP}. */
    void stop(int status, String reason);

    /** The sequence number of this exit on its vCPU, from 1. */
    long sequence();
}
