package org.hotvisor.api;

/**
 * Basic VM-exit reasons, named and numbered as in SDM Vol. 3D Appendix C ("VMX Basic Exit Reasons").
 * The number is bits 15:0 of the exit-reason VMCS field.
 */
public enum ExitReason {
    EXCEPTION_OR_NMI(0),
    EXTERNAL_INTERRUPT(1),
    TRIPLE_FAULT(2),
    INIT_SIGNAL(3),
    SIPI(4),
    IO_SMI(5),
    OTHER_SMI(6),
    INTERRUPT_WINDOW(7),
    NMI_WINDOW(8),
    TASK_SWITCH(9),
    CPUID(10),
    GETSEC(11),
    HLT(12),
    INVD(13),
    INVLPG(14),
    RDPMC(15),
    RDTSC(16),
    RSM(17),
    VMCALL(18),
    VMCLEAR(19),
    VMLAUNCH(20),
    VMPTRLD(21),
    VMPTRST(22),
    VMREAD(23),
    VMRESUME(24),
    VMWRITE(25),
    VMXOFF(26),
    VMXON(27),
    CONTROL_REGISTER_ACCESS(28),
    MOV_DR(29),
    IO_INSTRUCTION(30),
    RDMSR(31),
    WRMSR(32),
    ENTRY_FAILURE_GUEST_STATE(33),
    ENTRY_FAILURE_MSR_LOADING(34),
    MWAIT(36),
    MONITOR_TRAP_FLAG(37),
    MONITOR(39),
    PAUSE(40),
    ENTRY_FAILURE_MACHINE_CHECK(41),
    TPR_BELOW_THRESHOLD(43),
    APIC_ACCESS(44),
    VIRTUALIZED_EOI(45),
    GDTR_IDTR_ACCESS(46),
    LDTR_TR_ACCESS(47),
    EPT_VIOLATION(48),
    EPT_MISCONFIGURATION(49),
    INVEPT(50),
    RDTSCP(51),
    PREEMPTION_TIMER(52),
    INVVPID(53),
    WBINVD(54),
    XSETBV(55),
    APIC_WRITE(56),
    RDRAND(57),
    INVPCID(58),
    VMFUNC(59),
    ENCLS(60),
    RDSEED(61),
    PML_FULL(62),
    XSAVES(63),
    XRSTORS(64),
    SPP_EVENT(66),
    UMWAIT(67),
    TPAUSE(68),
    LOADIWKEY(69),
    ENCLV(70),
    ENQCMD_PASID_TRANSLATION_FAILURE(72),
    ENQCMDS_PASID_TRANSLATION_FAILURE(73),
    BUS_LOCK(74),
    INSTRUCTION_TIMEOUT(75),
    SEAMCALL(76),
    TDCALL(77);

    /** Exit-reason bit 31: VM-entry failure (SDM 3C 27.8 / 28.2.1). */
    public static final int ENTRY_FAILURE_BIT = 1 << 31;

    private static final ExitReason[] BY_NUMBER = new ExitReason[128];

    static {
        for (ExitReason r : values()) {
            BY_NUMBER[r.number] = r;
        }
    }

    private final int number;

    ExitReason(int number) {
        this.number = number;
    }

    /** The SDM's basic exit-reason number. */
    public int number() {
        return number;
    }

    /** The highest basic exit reason number Hotvisor knows, plus one: the size of a per-reason table. */
    public static final int TABLE_SIZE = 128;

    /** The reason for a basic exit-reason number, or {@code null} if the SDM defines none. */
    public static ExitReason of(int basicReason) {
        return basicReason >= 0 && basicReason < BY_NUMBER.length ? BY_NUMBER[basicReason] : null;
    }

    /**
     * Parses a reason as written in a service property or on a command line: a name ("CPUID",
     * case-insensitive, '-' accepted for '_') or a number (decimal or 0x-hex).
     *
     * @throws IllegalArgumentException naming the text if it is neither
     */
    public static ExitReason parse(String text) {
        String t = text.trim();
        try {
            int n = t.startsWith("0x") || t.startsWith("0X") ? Integer.parseInt(t.substring(2), 16) : Integer.parseInt(t);
            ExitReason r = of(n);
            if (r == null) {
                throw new IllegalArgumentException("no VMX exit reason has number " + n);
            }
            return r;
        } catch (NumberFormatException notANumber) {
            try {
                return valueOf(t.toUpperCase(java.util.Locale.ROOT).replace('-', '_'));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown VMX exit reason '" + t + "'");
            }
        }
    }
}
