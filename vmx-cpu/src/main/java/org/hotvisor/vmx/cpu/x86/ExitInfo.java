package org.hotvisor.vmx.cpu.x86;

/** What the core reports when it stops for a VM exit (SDM 3C 28.2, the VM-exit information fields). */
public final class ExitInfo {
    /** Full exit-reason field (basic reason in bits 15:0). */
    public int reason;
    public long qualification;
    public int instructionLength, instructionInfo;
    public long guestLinearAddress, guestPhysicalAddress;
    /** VM-exit interruption information and error code. */
    public int interruptionInfo, interruptionErrorCode;
    public int idtVectoringInfo, idtVectoringErrorCode;
    public long ioRcx, ioRsi, ioRdi, ioRip;
    /** Hotvisor extension for EPT violations. */
    public int mmioSize;
    public long mmioData;

    public void clear() {
        reason = 0;
        qualification = 0;
        instructionLength = 0;
        instructionInfo = 0;
        guestLinearAddress = 0;
        guestPhysicalAddress = 0;
        interruptionInfo = 0;
        interruptionErrorCode = 0;
        idtVectoringInfo = 0;
        idtVectoringErrorCode = 0;
        ioRcx = 0;
        ioRsi = 0;
        ioRdi = 0;
        ioRip = 0;
        mmioSize = 0;
        mmioData = 0;
    }

    @Override
    public String toString() {
        return String.format("exit reason=%d qual=%x len=%d info=%x gla=%x gpa=%x intr=%x/%x idtv=%x/%x",
                reason, qualification, instructionLength, instructionInfo, guestLinearAddress,
                guestPhysicalAddress, interruptionInfo, interruptionErrorCode, idtVectoringInfo,
                idtVectoringErrorCode);
    }
}
