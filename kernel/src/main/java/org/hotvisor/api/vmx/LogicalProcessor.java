package org.hotvisor.api.vmx;

import org.osgi.annotation.versioning.ProviderType;

/**
 * One logical processor with VT-x, driven like hardware: VMXON, VMCLEAR, VMPTRLD, VMWRITE,
 * VMLAUNCH, then on each VM exit VMREAD and VMRESUME, and VMXOFF at the end.
 *
 * <p>VMLAUNCH and VMRESUME run the guest on the calling thread and return at the next VM exit
 * ({@link VmxStatus#SUCCEED}) or when VM entry fails as an instruction ({@link VmxStatus#FAIL_VALID}
 * with the VM-instruction error set). A VM-entry failure during guest-state checks is a VM exit
 * with bit 31 set in the exit reason (SDM 3C 27.8), which also returns SUCCEED.
 *
 * <p>As on hardware, state that is not in the VMCS belongs to the VMM to save: the general-purpose
 * registers other than RSP, CR2, and DR0-DR3/DR6. After a VM exit they still hold the guest's values.
 */
@ProviderType
public interface LogicalProcessor {

    // ---- VMX instructions (SDM 3C chapter 31) ----

    VmxStatus vmxon(long vmxonRegion);

    VmxStatus vmxoff();

    VmxStatus vmclear(long vmcsAddress);

    VmxStatus vmptrld(long vmcsAddress);

    /** The current-VMCS pointer, or all-ones ({@code -1L}) if there is none. */
    long vmptrst();

    /** VMREAD; check {@link #lastStatus()} when the encoding may be unsupported. */
    long vmread(int encoding);

    VmxStatus vmwrite(int encoding, long value);

    VmxStatus vmlaunch();

    VmxStatus vmresume();

    /** The status the last VMX instruction reported in RFLAGS. */
    VmxStatus lastStatus();

    default long vmread(VmcsField field) {
        return vmread(field.encoding());
    }

    default VmxStatus vmwrite(VmcsField field, long value) {
        return vmwrite(field.encoding(), value);
    }

    // ---- state outside the VMCS ----

    /** General-purpose register by encoding, 0 = RAX ... 15 = R15. RSP lives in the VMCS while in VMX operation. */
    long gpr(int index);

    void setGpr(int index, long value);

    long cr2();

    void setCr2(long value);

    /** DR0-DR3 and DR6 (index 0-3, 6). */
    long dr(int index);

    void setDr(int index, long value);

    // ---- the platform around the processor ----

    /**
     * Thread-safe: makes the running guest exit with an external interrupt (reason 1) at the next
     * instruction boundary, as a host IPI does on hardware. A request made while in root
     * operation makes the next VM entry exit at once.
     */
    void requestExit();

    /** Guest instructions retired in VMX non-root operation so far. */
    long instructionsRetired();

    /**
     * The processor's time-stamp counter. It advances one per retired instruction, plus the idle
     * time the VMM adds with {@link #advanceTsc(long)}; RDTSC in the guest adds the TSC offset.
     */
    long tsc();

    /** Lets time pass while the VMM idles the vCPU (HLT): the TSC and the VMX-preemption timer advance. */
    void advanceTsc(long cycles);

    /**
     * Drops every guest-linear translation the processor caches (since 1.1): what a VM entry with
     * "enable VPID" 0 does on hardware (SDM 3C 29.4.3), for a VMM that emulates INVLPG or INVPCID
     * or changed the guest's page tables. The processor may keep its TLB across VM entries
     * otherwise, as if the guest had a VPID of its own.
     */
    void flushGuestTlb();

    /** Gates address line 20 of guest-physical accesses (A20M#). */
    void setA20(boolean enabled);

    /**
     * Tells the processor that guest-physical [address, address + length) was written by someone
     * other than this processor (DMA, the loader, a handler), so decoded code there is dropped.
     */
    void invalidateCode(long address, int length);

    /** For an EPT violation caused by a data access: the access size in bytes, or 0. */
    int mmioAccessSize();

    /** For an EPT violation caused by a write: the data written. */
    long mmioWriteData();

    /**
     * Completes an EPT-violation read: at the next VM entry the instruction is re-executed and its
     * access at that guest-physical address gets this value instead of exiting again.
     */
    void completeMmioRead(long value);

    /** Completes an EPT-violation write: the re-executed instruction's write there is taken as done. */
    void completeMmioWrite();

    /**
     * Translates a guest-linear address with the guest paging state in the current VMCS.
     *
     * @return the guest-physical address, or -1 if not present (or not writable for {@code write})
     */
    long translateGuestLinear(long linear, boolean write);

    // ---- signals from the platform (since 1.1) ----

    /**
     * Thread-safe: asserts INIT# (a platform reset line, or an INIT IPI). In VMX non-root operation
     * INIT is not blocked: it causes a VM exit with reason 3 at the next instruction boundary
     * (SDM 3C 26.2, 28.1). In root operation it stays pending until the next VM entry.
     */
    void signalInit();

    /**
     * Thread-safe: delivers a start-up IPI with the 8-bit vector. It causes a VM exit with reason 4
     * and the vector as exit qualification only if the guest is in the wait-for-SIPI activity
     * state; otherwise it is discarded (SDM 3C 26.2, 28.2.1).
     */
    void signalStartup(int vector);

    /**
     * Thread-safe: raises an SMI. Hotvisor's VMM plays the SMM monitor of the dual-monitor
     * treatment (SDM 3C 32.15.2): the SMI causes a VM exit with reason 5 (I/O SMI, when it
     * arrives right after the guest retired an I/O instruction) or 6 (other SMI).
     */
    void signalSmi();
}
