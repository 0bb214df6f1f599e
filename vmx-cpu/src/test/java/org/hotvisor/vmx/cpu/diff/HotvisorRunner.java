package org.hotvisor.vmx.cpu.diff;

import static org.hotvisor.api.vmx.VmcsField.*;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.vmx.ControlBit;
import org.hotvisor.api.vmx.ExitControl;
import org.hotvisor.api.vmx.LogicalProcessor;
import org.hotvisor.api.vmx.PinBasedControl;
import org.hotvisor.api.vmx.ProcessorControl;
import org.hotvisor.api.vmx.SecondaryControl;
import org.hotvisor.api.vmx.VmcsField;
import org.hotvisor.api.vmx.VmxProcessor;
import org.hotvisor.api.vmx.VmxStatus;

/**
 * A minimal VMM that runs a harness image on Hotvisor's VT-x processor in this JVM, through the
 * public VMX API exactly as the kernel does: VMXON, VMCLEAR, VMPTRLD, VMWRITE of a 32-bit flat
 * protected-mode guest (unrestricted guest + EPT, paging off, as Multiboot leaves the machine),
 * VMLAUNCH, then VMREAD/VMRESUME per exit. Every port access exits (unconditional I/O exiting):
 * COM1 bytes are collected, the LSR reads 0x60 (THRE | TEMT), a write to port 0xF4 ends the run.
 */
final class HotvisorRunner {

    /** The run ended abnormally (unexpected exit, VMX failure, timeout); carries the output so far. */
    static final class RunFailure extends Exception {
        private static final long serialVersionUID = 1L;
        final String output;

        RunFailure(String message, String output) {
            super(message);
            this.output = output;
        }
    }

    private static final long ENTRY_FAILURE_BIT = ExitReason.ENTRY_FAILURE_BIT & 0xffff_ffffL;
    private static final int BASIC_REASON_MASK = 0xffff;
    // I/O exit qualification (SDM 3C 28.2.1, Table 28-5)
    private static final int IO_SIZE_MASK = 0x7;
    private static final int IO_DIRECTION_IN = 1 << 3;
    private static final int IO_STRING = 1 << 4;
    private static final int IO_PORT_SHIFT = 16;
    // Platform
    private static final int COM1 = 0x3f8;
    private static final int COM1_LSR = COM1 + 5;
    private static final int LSR_THRE_TEMT = 0x60;
    private static final int DEBUG_EXIT_PORT = 0xf4;
    private static final int FLOATING_BUS = 0xff;
    // Host memory map (4-KiB pages of the VMM's private memory)
    private static final int HOST_MEMORY_SIZE = 64 * 1024;
    private static final long VMXON_REGION = 0x1000;
    private static final long VMCS_REGION = 0x2000;
    private static final long EPT_PML4 = 0x4000;
    private static final long EPTP_WRITE_BACK = 6;
    private static final long EPTP_WALK_4_LEVELS = 3L << 3;
    private static final int IA32_VMX_BASIC = 0x480;
    private static final int IA32_VMX_TRUE_PINBASED_CTLS = 0x48d;
    private static final int IA32_VMX_TRUE_PROCBASED_CTLS = 0x48e;
    private static final int IA32_VMX_PROCBASED_CTLS2 = 0x48b;
    private static final int IA32_VMX_TRUE_EXIT_CTLS = 0x48f;
    private static final int IA32_VMX_TRUE_ENTRY_CTLS = 0x490;
    private static final int IA32_VMX_CR0_FIXED0 = 0x486;
    private static final int IA32_VMX_CR4_FIXED0 = 0x488;
    private static final int REVISION_MASK = 0x7fff_ffff;
    // Guest: 32-bit flat protected mode, paging off (Multiboot 0.6.96 3.2 machine state)
    private static final int GUEST_RAM_SIZE = 4 * 1024 * 1024;
    private static final long CR0_PE = 1;
    private static final long CR0_ET = 1 << 4;
    private static final long CR0_NE = 1 << 5;
    private static final long CR0_PG = 1L << 31;
    private static final long CR4_VMXE = 1 << 13;
    private static final int CODE_SELECTOR = 0x08;
    private static final int DATA_SELECTOR = 0x10;
    private static final long FLAT_LIMIT = 0xffff_ffffL;
    /** Access rights in VMCS format (SDM 3C 25.4.1, Table 25-2): type, S, DPL, P, D/B, G. */
    private static final int AR_CODE_32 = 0xc09b;
    private static final int AR_DATA_32 = 0xc093;
    private static final int AR_UNUSABLE = 1 << 16;
    private static final int AR_TSS_32_BUSY = 0x8b;
    private static final long GUEST_STACK = 0x8_0000;
    private static final long RFLAGS_RESERVED_ONE = 0x2;
    private static final long DR7_INIT = 0x400;

    private final VmxProcessor processor;
    private final long timeoutMillis;
    private final ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "difftest-watchdog");
        t.setDaemon(true);
        return t;
    });

    HotvisorRunner(VmxProcessor processor, long timeoutMillis) {
        this.processor = processor;
        this.timeoutMillis = timeoutMillis;
    }

    void close() {
        watchdog.shutdownNow();
    }

    /** Runs the image to its write to port 0xF4 and returns the COM1 output. */
    String run(HarnessImage image) throws RunFailure {
        byte[] guestRam = new byte[GUEST_RAM_SIZE];
        System.arraycopy(image.binary, 0, guestRam, TestCase.Layout.LOAD_ADDRESS, image.binary.length);
        byte[] hostMemory = new byte[HOST_MEMORY_SIZE];
        int revision = (int) processor.capabilityMsr(IA32_VMX_BASIC) & REVISION_MASK;
        writeInt(hostMemory, (int) VMXON_REGION, revision);
        writeInt(hostMemory, (int) VMCS_REGION, revision);
        LogicalProcessor cpu = processor.createLogicalProcessor(guestRam, hostMemory);
        StringBuilder output = new StringBuilder();
        expect(cpu.vmxon(VMXON_REGION), "VMXON", cpu, output);
        expect(cpu.vmclear(VMCS_REGION), "VMCLEAR", cpu, output);
        expect(cpu.vmptrld(VMCS_REGION), "VMPTRLD", cpu, output);
        writeVmcs(cpu, image.entryPoint(), output);

        ScheduledFuture<?> deadline = watchdog.schedule(cpu::requestExit, timeoutMillis, TimeUnit.MILLISECONDS);
        try {
            VmxStatus status = cpu.vmlaunch();
            while (true) {
                if (status != VmxStatus.SUCCEED) {
                    throw new RunFailure("VM entry failed as an instruction: " + status + ", VM-instruction error "
                            + cpu.vmread(VM_INSTRUCTION_ERROR), output.toString());
                }
                long reason = cpu.vmread(VM_EXIT_REASON);
                long rip = cpu.vmread(GUEST_RIP);
                if ((reason & ENTRY_FAILURE_BIT) != 0) {
                    throw new RunFailure(String.format("VM entry failed on guest state: exit reason %#x, qualification %#x",
                            reason, cpu.vmread(EXIT_QUALIFICATION)), output.toString());
                }
                int basic = (int) reason & BASIC_REASON_MASK;
                ExitReason exitReason = ExitReason.of(basic);
                if (exitReason == ExitReason.IO_INSTRUCTION) {
                    if (handleIo(cpu, output)) {
                        return output.toString();
                    }
                    cpu.vmwrite(GUEST_RIP, rip + cpu.vmread(VM_EXIT_INSTRUCTION_LEN));
                } else if (exitReason == ExitReason.EXTERNAL_INTERRUPT) {
                    throw new RunFailure(String.format(
                            "timed out after %d ms (guest RIP %#x, %d instructions retired): a guest loop that never exits?",
                            timeoutMillis, rip, cpu.instructionsRetired()), output.toString());
                } else if (exitReason == ExitReason.TRIPLE_FAULT) {
                    throw new RunFailure(String.format(
                            "triple fault at guest RIP %#x (the harness IDT could not handle an exception)", rip),
                            output.toString());
                } else if (exitReason == ExitReason.EPT_VIOLATION) {
                    throw new RunFailure(String.format(
                            "EPT violation (access outside the %d-MiB guest RAM) at guest RIP %#x: guest-physical %#x,"
                                    + " guest-linear %#x, qualification %#x", GUEST_RAM_SIZE >> 20, rip,
                            cpu.vmread(GUEST_PHYSICAL_ADDRESS), cpu.vmread(GUEST_LINEAR_ADDRESS),
                            cpu.vmread(EXIT_QUALIFICATION)), output.toString());
                } else {
                    throw new RunFailure(String.format(
                            "unexpected VM exit %d (%s) at guest RIP %#x, qualification %#x, interruption info %#x",
                            basic, exitReason, rip, cpu.vmread(EXIT_QUALIFICATION), cpu.vmread(VM_EXIT_INTR_INFO)),
                            output.toString());
                }
                status = cpu.vmresume();
            }
        } catch (RuntimeException e) {
            // The CPU must never throw to its host; report it as the finding it is.
            RunFailure failure = new RunFailure("the processor threw " + e, output.toString());
            failure.initCause(e);
            throw failure;
        } finally {
            deadline.cancel(false);
        }
    }

    /** Emulates the two ports the harness uses; true when the guest asked to stop. */
    private static boolean handleIo(LogicalProcessor cpu, StringBuilder output) throws RunFailure {
        long qualification = cpu.vmread(EXIT_QUALIFICATION);
        int size = (int) (qualification & IO_SIZE_MASK) + 1;
        boolean in = (qualification & IO_DIRECTION_IN) != 0;
        int port = (int) (qualification >>> IO_PORT_SHIFT) & 0xffff;
        if ((qualification & IO_STRING) != 0) {
            throw new RunFailure(String.format("unexpected string I/O at port %#x", port), output.toString());
        }
        long mask = size == 4 ? 0xffff_ffffL : (1L << (8 * size)) - 1;
        if (in) {
            long value = port == COM1_LSR ? LSR_THRE_TEMT : FLOATING_BUS;
            long rax = cpu.gpr(0);
            cpu.setGpr(0, (rax & ~mask) | (value & mask));
            return false;
        }
        long value = cpu.gpr(0) & mask;
        if (port == COM1) {
            output.append((char) (value & 0xff));
        }
        return port == DEBUG_EXIT_PORT;
    }

    private void writeVmcs(LogicalProcessor cpu, long entry, StringBuilder output) throws RunFailure {
        // Controls: what we want, adjusted by the capability MSRs as a VMM must (SDM 3C A.3-A.5:
        // bits 31:0 are the allowed 0-settings, bits 63:32 the allowed 1-settings).
        int pin = adjust(IA32_VMX_TRUE_PINBASED_CTLS, PinBasedControl.EXTERNAL_INTERRUPT_EXITING);
        int proc = adjust(IA32_VMX_TRUE_PROCBASED_CTLS, ProcessorControl.UNCONDITIONAL_IO_EXITING,
                ProcessorControl.HLT_EXITING, ProcessorControl.ACTIVATE_SECONDARY_CONTROLS);
        int proc2 = adjust(IA32_VMX_PROCBASED_CTLS2, SecondaryControl.ENABLE_EPT, SecondaryControl.UNRESTRICTED_GUEST);
        int exit = adjust(IA32_VMX_TRUE_EXIT_CTLS, ExitControl.HOST_ADDRESS_SPACE_SIZE);
        int entryControls = adjust(IA32_VMX_TRUE_ENTRY_CTLS);
        write(cpu, PIN_BASED_VM_EXEC_CONTROL, pin, output);
        write(cpu, CPU_BASED_VM_EXEC_CONTROL, proc, output);
        write(cpu, SECONDARY_VM_EXEC_CONTROL, proc2, output);
        write(cpu, VM_EXIT_CONTROLS, exit, output);
        write(cpu, VM_ENTRY_CONTROLS, entryControls, output);
        write(cpu, EPT_POINTER, EPT_PML4 | EPTP_WRITE_BACK | EPTP_WALK_4_LEVELS, output);
        write(cpu, VMCS_LINK_POINTER, -1L, output);
        write(cpu, EXCEPTION_BITMAP, 0, output);   // the harness's own IDT reports exceptions
        write(cpu, CR0_GUEST_HOST_MASK, 0, output);
        write(cpu, CR0_READ_SHADOW, 0, output);
        write(cpu, CR4_GUEST_HOST_MASK, CR4_VMXE, output);
        write(cpu, CR4_READ_SHADOW, 0, output);
        // Host state (checked at entry; control returns to this Java loop)
        write(cpu, HOST_CR0, 0x8005_0033L, output);
        write(cpu, HOST_CR3, 0x10_0000, output);
        write(cpu, HOST_CR4, 0x2020, output);
        write(cpu, HOST_CS_SELECTOR, 0x10, output);
        write(cpu, HOST_SS_SELECTOR, 0x18, output);
        write(cpu, HOST_DS_SELECTOR, 0, output);
        write(cpu, HOST_ES_SELECTOR, 0, output);
        write(cpu, HOST_FS_SELECTOR, 0, output);
        write(cpu, HOST_GS_SELECTOR, 0, output);
        write(cpu, HOST_TR_SELECTOR, 0x40, output);
        write(cpu, HOST_RIP, 0xffff_ffff_8100_0000L, output);
        write(cpu, HOST_RSP, 0xffff_c900_0000_0000L, output);
        // Guest state: flat 4-GiB segments (the harness reloads the same ones from its own GDT)
        VmcsField[][] data = {
            {GUEST_ES_SELECTOR, GUEST_ES_BASE, GUEST_ES_LIMIT, GUEST_ES_AR_BYTES},
            {GUEST_SS_SELECTOR, GUEST_SS_BASE, GUEST_SS_LIMIT, GUEST_SS_AR_BYTES},
            {GUEST_DS_SELECTOR, GUEST_DS_BASE, GUEST_DS_LIMIT, GUEST_DS_AR_BYTES},
            {GUEST_FS_SELECTOR, GUEST_FS_BASE, GUEST_FS_LIMIT, GUEST_FS_AR_BYTES},
            {GUEST_GS_SELECTOR, GUEST_GS_BASE, GUEST_GS_LIMIT, GUEST_GS_AR_BYTES}};
        for (VmcsField[] segment : data) {
            write(cpu, segment[0], DATA_SELECTOR, output);
            write(cpu, segment[1], 0, output);
            write(cpu, segment[2], FLAT_LIMIT, output);
            write(cpu, segment[3], AR_DATA_32, output);
        }
        write(cpu, GUEST_CS_SELECTOR, CODE_SELECTOR, output);
        write(cpu, GUEST_CS_BASE, 0, output);
        write(cpu, GUEST_CS_LIMIT, FLAT_LIMIT, output);
        write(cpu, GUEST_CS_AR_BYTES, AR_CODE_32, output);
        write(cpu, GUEST_LDTR_SELECTOR, 0, output);
        write(cpu, GUEST_LDTR_BASE, 0, output);
        write(cpu, GUEST_LDTR_LIMIT, 0, output);
        write(cpu, GUEST_LDTR_AR_BYTES, AR_UNUSABLE, output);
        write(cpu, GUEST_TR_SELECTOR, 0, output);
        write(cpu, GUEST_TR_BASE, 0, output);
        write(cpu, GUEST_TR_LIMIT, 0xffff, output);
        write(cpu, GUEST_TR_AR_BYTES, AR_TSS_32_BUSY, output);
        write(cpu, GUEST_GDTR_BASE, 0, output);
        write(cpu, GUEST_GDTR_LIMIT, 0xffff, output);
        write(cpu, GUEST_IDTR_BASE, 0, output);
        write(cpu, GUEST_IDTR_LIMIT, 0x3ff, output);
        long cr0Fixed0 = processor.capabilityMsr(IA32_VMX_CR0_FIXED0);
        // With unrestricted guest, PE and PG may be 0 (SDM 3C 27.3.1.1); we keep PE = 1, PG = 0.
        write(cpu, GUEST_CR0, ((cr0Fixed0 & ~(CR0_PE | CR0_PG)) | CR0_PE | CR0_ET | CR0_NE), output);
        write(cpu, GUEST_CR3, 0, output);
        write(cpu, GUEST_CR4, processor.capabilityMsr(IA32_VMX_CR4_FIXED0) | CR4_VMXE, output);
        write(cpu, GUEST_DR7, DR7_INIT, output);
        write(cpu, GUEST_RIP, entry, output);
        write(cpu, GUEST_RSP, GUEST_STACK, output);
        write(cpu, GUEST_RFLAGS, RFLAGS_RESERVED_ONE, output);
        write(cpu, GUEST_ACTIVITY_STATE, 0, output);
        write(cpu, GUEST_INTERRUPTIBILITY_INFO, 0, output);
        write(cpu, GUEST_PENDING_DBG_EXCEPTIONS, 0, output);
        write(cpu, VM_ENTRY_INTR_INFO_FIELD, 0, output);
    }

    private int adjust(int capabilityMsr, ControlBit... wanted) {
        long capability = processor.capabilityMsr(capabilityMsr);
        int mustBeOne = (int) capability;
        int mayBeOne = (int) (capability >>> 32);
        return (ControlBit.maskOf(wanted) | mustBeOne) & mayBeOne;
    }

    private static void write(LogicalProcessor cpu, VmcsField field, long value, StringBuilder output)
            throws RunFailure {
        VmxStatus status = cpu.vmwrite(field, value);
        if (status != VmxStatus.SUCCEED) {
            throw new RunFailure("VMWRITE " + field + " = " + Long.toHexString(value) + " failed: " + status
                    + ", VM-instruction error " + cpu.vmread(VM_INSTRUCTION_ERROR), output.toString());
        }
    }

    private static void expect(VmxStatus status, String instruction, LogicalProcessor cpu, StringBuilder output)
            throws RunFailure {
        if (status != VmxStatus.SUCCEED) {
            throw new RunFailure(instruction + " failed: " + status, output.toString());
        }
    }

    private static void writeInt(byte[] memory, int address, int value) {
        for (int i = 0; i < 4; i++) {
            memory[address + i] = (byte) (value >>> (8 * i));
        }
    }
}
