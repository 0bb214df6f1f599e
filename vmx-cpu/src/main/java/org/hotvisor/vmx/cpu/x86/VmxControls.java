package org.hotvisor.vmx.cpu.x86;

/**
 * Execution controls the core consults while the guest runs; the VMX layer fills them before
 * each entry (SDM 3C 25.6). Plain fields: the core reads them on its hot path.
 */
public final class VmxControls {
    public int pinBased, procBased, procBased2, exceptionBitmap, pageFaultErrorCodeMask, pageFaultErrorCodeMatch;
    public long cr0GuestHostMask, cr0ReadShadow, cr4GuestHostMask, cr4ReadShadow;
    public int cr3TargetCount;
    public final long[] cr3TargetValues = new long[4];
    /** Host-physical addresses in hostMemory (valid when the controls use them). */
    public long ioBitmapA, ioBitmapB, msrBitmap;
    /** Applied when USE_TSC_OFFSETTING. */
    public long tscOffset;
    public int tprThreshold;
    public long virtualApicPageAddress;
    /** VMCS shadowing. */
    public long vmreadBitmap, vmwriteBitmap;
    /** Counts down at TSC >> rateShift. */
    public boolean preemptionTimerActive;
    public long preemptionTimerValue;
    /** IA32_VMX_MISC bits 4:0. */
    public int preemptionTimerRateShift;
    public int exitControls, entryControls;
    /** XSS-exiting bitmap (SDM 3C 25.6.19), consulted by XSAVES/XRSTORS. */
    public long xssExitingBitmap;
    /** PLE_Gap and PLE_Window (SDM 3C 25.6.13), in TSC ticks, for "PAUSE-loop exiting" ({@link PauseLoop}). */
    public int pleGap, pleWindow;
}
