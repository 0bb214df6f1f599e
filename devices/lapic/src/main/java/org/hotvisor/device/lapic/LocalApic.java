package org.hotvisor.device.lapic;

import static org.hotvisor.device.lapic.ApicRegisters.*;

import java.util.concurrent.atomic.AtomicLong;
import org.hotvisor.api.Vcpu;
import org.hotvisor.api.device.ApicBus;
import org.hotvisor.api.device.InterruptController;
import org.hotvisor.api.device.VirtualClock;

/**
 * One local APIC (SDM 3A "Advanced Programmable Interrupt Controller"): the register file in
 * xAPIC (MMIO) and x2APIC (MSR) form, the priority logic, the timer and the ICR. It is also vCPU
 * {@link #index}'s {@link InterruptController}: the kernel samples {@link #interruptPending} before
 * every VM entry and runs the INTA cycle with {@link #acknowledge}.
 *
 * <p>Threads: the owning vCPU reads and writes registers; other vCPUs, the I/O APIC and timer
 * callbacks deliver messages. All state is guarded by this object's monitor, held for a few dozen
 * instructions and never while calling out (to the bus, another APIC, the vCPU or the PIC), so
 * two APICs sending each other IPIs cannot deadlock. What the kernel polls per entry (the APIC's
 * INTR and the ExtINT pass-through) is published in volatiles: that check takes no lock.
 */
final class LocalApic implements InterruptController {
    private static final int BITS_PER_WORD = 32;
    private static final int WORD_SHIFT = 5;
    private static final int BIT_MASK = 31;
    private static final long LOW_32 = 0xFFFF_FFFFL;
    private static final int NO_VECTOR = -1;

    private final int index;
    private final ApicSystem system;
    private final VirtualClock clock;
    private final VirtualClock.Timer timer;

    // ---- architectural state (under the monitor) ----
    private long apicBase;
    private int xapicId;
    private int tpr;
    private int ldr;
    private int dfr;
    private int svr;
    private int esr;
    /** Errors detected since the last ESR write; a write latches them into {@link #esr}. */
    private int pendingErrors;
    private int icrLow;
    private int icrHigh;
    private final int[] lvt = new int[LVT_COUNT];
    private final int[] irr = new int[BITMAP_WORDS];
    private final int[] isr = new int[BITMAP_WORDS];
    private final int[] tmr = new int[BITMAP_WORDS];

    // ---- timer (SDM 3A "APIC Timer"): the bus clock is the virtual nanosecond, as in QEMU and KVM ----
    private int initialCount;
    private int divideConfig;
    private int countShift;
    /** Virtual time at which the current period started (the count was the initial count). */
    private long periodStart;
    /** One-shot count reached zero: the count stays 0 until the next initial-count write. */
    private boolean oneShotExpired;
    private long tscDeadline;

    // ---- published for the lock-free per-entry check ----
    private volatile boolean apicIntr;
    private volatile boolean extIntPassThrough;
    /** The thread that samples INTR: the vCPU. A delivery from any other thread kicks it. */
    private volatile Thread vcpuThread;

    // ---- IA32_APIC_BASE as published in the vCPU's state map for the CPUID handler (under the monitor) ----
    private Vcpu publishedVcpu;
    /** Null while no vCPU is known: nothing is published (CPUID then reports the APIC, as at power-on). */
    private AtomicLong publishedBase;

    // ---- counters (under the monitor) ----
    private long accepted;
    private long dropped;
    private long acknowledges;
    private long spurious;
    private long ipisSent;

    LocalApic(int index, ApicSystem system, VirtualClock clock) {
        this.index = index;
        this.system = system;
        this.clock = clock;
        this.timer = clock.newTimer("lapic" + index, this::timerFired);
        powerOn();
        publishTo(system.vcpu(index));
    }

    int index() {
        return index;
    }

    // =====================================================================================
    // Reset
    // =====================================================================================

    /** Power-on (and platform reset): enabled xAPIC at 0xFEE00000, BSP bit on vCPU 0 (SDM 3A "IA32_APIC_BASE"). */
    synchronized void powerOn() {
        setApicBase(DEFAULT_BASE | BASE_ENABLE | (index == 0 ? BASE_BSP : 0));
        xapicId = index << XAPIC_ID_SHIFT;
        resetRegisters();
    }

    /**
     * The register reset of power-up and INIT (SDM 3A "Local APIC State After Power-Up Reset" /
     * "After an INIT Reset"): IRR/ISR/TMR, ICR, LDR, TPR, timer counts and divide clear, DFR all
     * ones, SVR 0xFF (software disabled), every LVT masked. The ID and the base MSR stay. The BSP's
     * LINT0 is ExtINT and unmasked, as firmware leaves it, so the 8259 keeps reaching the CPU.
     */
    private void resetRegisters() {
        tpr = 0;
        ldr = 0;
        dfr = DFR_RESET;
        svr = SVR_RESET;
        esr = 0;
        pendingErrors = 0;
        icrLow = 0;
        icrHigh = 0;
        java.util.Arrays.fill(lvt, LVT_MASKED);
        if (index == 0) {
            lvt[LVT_INDEX_LINT0] = LINT0_BSP_EXTINT;
        }
        java.util.Arrays.fill(irr, 0);
        java.util.Arrays.fill(isr, 0);
        java.util.Arrays.fill(tmr, 0);
        initialCount = 0;
        divideConfig = 0;
        countShift = divideShift(0);
        oneShotExpired = false;
        tscDeadline = 0;
        timer.cancel();
        if (x2apicMode()) {
            ldr = x2apicLogicalId(index);
        }
        update();
    }

    /** Stops the timer for good (the component is deactivating). */
    synchronized void shutdown() {
        initialCount = 0;
        tscDeadline = 0;
        timer.cancel();
    }

    /** The INIT message: the APIC's own INIT reset; the vCPU is signalled by the caller. */
    synchronized void initReset() {
        resetRegisters();
    }

    // =====================================================================================
    // Modes
    // =====================================================================================

    private boolean globallyEnabled() {
        return (apicBase & BASE_ENABLE) != 0;
    }

    private boolean x2apicMode() {
        return (apicBase & (BASE_ENABLE | BASE_EXTD)) == (BASE_ENABLE | BASE_EXTD);
    }

    private boolean softwareEnabled() {
        return (svr & SVR_SOFTWARE_ENABLE) != 0;
    }

    synchronized boolean x2apic() {
        return x2apicMode();
    }

    /** Whether the xAPIC page decodes {@code address}: enabled, not x2APIC, inside the page at the base. */
    synchronized boolean mmioDecodes(long address) {
        return globallyEnabled() && !x2apicMode() && address >= mmioBase() && address < mmioBase() + PAGE_SIZE;
    }

    synchronized long mmioBase() {
        return apicBase & BASE_ADDRESS_MASK_LOW & system.physicalAddressMask();
    }

    /** The x2APIC logical ID: cluster = ID[19:4] in bits 31:16, 1 << ID[3:0] below (SDM 3A "Logical Destination Mode in x2APIC Mode"). */
    static int x2apicLogicalId(int x2apicId) {
        return ((x2apicId >>> 4) << 16) | (1 << (x2apicId & 0xF));
    }

    // =====================================================================================
    // IA32_APIC_BASE
    // =====================================================================================

    synchronized long apicBase() {
        return apicBase;
    }

    /** Every change of IA32_APIC_BASE goes through here, so the published copy never lags (caller holds the monitor). */
    private void setApicBase(long value) {
        apicBase = value;
        AtomicLong published = publishedBase;
        if (published != null) {
            published.set(value);
        }
    }

    /**
     * From now on IA32_APIC_BASE is published in {@code vcpu}'s state map ({@link PublishedApicBase});
     * the current value at once. A no-op for the vCPU already bound (so a foreign object under the
     * key is logged once); null unbinds.
     */
    void publishTo(Vcpu vcpu) {
        synchronized (this) {
            if (vcpu == publishedVcpu) {
                return;
            }
        }
        AtomicLong holder = PublishedApicBase.of(vcpu); // outside the monitor: no call-outs while holding it
        synchronized (this) {
            publishedVcpu = vcpu;
            publishedBase = holder;
            setApicBase(apicBase);
        }
    }

    /**
     * WRMSR IA32_APIC_BASE. Returns false for #GP: reserved bits, EXTD without EN, x2APIC to
     * xAPIC, disabled to x2APIC (SDM 3A "x2APIC State Transitions"). Disabling resets the APIC
     * to its power-up register state; entering x2APIC mode makes the ID the x2APIC ID.
     */
    boolean writeApicBase(long value) {
        boolean wasExtInt;
        synchronized (this) {
            long reserved = BASE_RESERVED_LOW | ~system.physicalAddressMask();
            if ((value & reserved) != 0) {
                return false;
            }
            boolean enable = (value & BASE_ENABLE) != 0;
            boolean extd = (value & BASE_EXTD) != 0;
            boolean wasEnabled = globallyEnabled();
            boolean wasX2 = x2apicMode();
            if (extd && !enable) {
                return false; // invalid state
            }
            if (wasX2 && enable && !extd) {
                return false; // x2APIC -> xAPIC must go through disabled
            }
            if (!wasEnabled && enable && extd) {
                return false; // disabled -> x2APIC must go through xAPIC
            }
            // The BSP flag is the processor's, not software's.
            setApicBase((value & ~BASE_BSP) | (apicBase & BASE_BSP));
            if (!enable && wasEnabled) {
                xapicId = index << XAPIC_ID_SHIFT;
                resetRegisters();
            } else if (extd && !wasX2) {
                // SDM 3A "x2APIC Register Availability": the ID becomes the x2APIC ID, LDR derives from it.
                xapicId = index << XAPIC_ID_SHIFT;
                ldr = x2apicLogicalId(index);
            }
            wasExtInt = extIntPassThrough;
            update();
        }
        // Re-enabling may let a waiting 8259 request through: look again.
        if (!wasExtInt && extIntPassThrough) {
            kickIfForeign();
        }
        return true;
    }

    // =====================================================================================
    // xAPIC MMIO (the EPT-violation path)
    // =====================================================================================

    /**
     * A read of {@code size} bytes at {@code offset} in the page: the 32-bit register holding it,
     * shifted; bytes past the register's 32 bits read 0. Reserved registers read 0.
     */
    long mmioRead(int offset, int size) {
        int registerOffset = offset & REGISTER_OFFSET_MASK;
        int byteInRegister = offset & (REGISTER_STRIDE - 1);
        if (byteInRegister >= Integer.BYTES) {
            return 0;
        }
        long value = readRegister(registerOffset) & LOW_32;
        value >>>= byteInRegister * Byte.SIZE;
        return size >= Long.BYTES ? value : value & ((1L << (size * Byte.SIZE)) - 1);
    }

    /** A write: only whole, aligned 32-bit (or 64-bit: the low half counts) stores reach a register, as on KVM. */
    void mmioWrite(int offset, int size, long value) {
        if ((offset & (REGISTER_STRIDE - 1)) != 0 || size < Integer.BYTES) {
            synchronized (this) {
                dropped++;
            }
            return;
        }
        writeRegister(offset & REGISTER_OFFSET_MASK, (int) value, false);
    }

    // =====================================================================================
    // x2APIC MSRs
    // =====================================================================================

    /** Whether RDMSR of an x2APIC MSR is legal now (else #GP, SDM 3A "x2APIC Register Address Space"). */
    synchronized boolean x2apicReadable(int msr) {
        if (!x2apicMode()) {
            return false;
        }
        int offset = (msr - X2APIC_MSR_FIRST) << X2APIC_OFFSET_SHIFT;
        return switch (offset) {
            case ID, VERSION, TPR, PPR, LDR, SVR, ESR, ICR_LOW, LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1,
                    LVT_ERROR, TIMER_INITIAL, TIMER_CURRENT, TIMER_DIVIDE -> true;
            default -> (offset >= ISR_BASE && offset < IRR_BASE + BITMAP_SPAN);
        };
    }

    /** RDMSR of an x2APIC MSR; call {@link #x2apicReadable} first. The ICR reads as one 64-bit register. */
    synchronized long x2apicRead(int msr) {
        int offset = (msr - X2APIC_MSR_FIRST) << X2APIC_OFFSET_SHIFT;
        if (offset == ICR_LOW) {
            return (long) icrHigh << BITS_PER_WORD | (icrLow & LOW_32);
        }
        if (offset == ID) {
            return index & LOW_32;
        }
        return readRegisterLocked(offset) & LOW_32;
    }

    /**
     * WRMSR of an x2APIC MSR. Returns false for #GP: not in x2APIC mode, read-only or absent
     * registers, bits 63:32 set (except the ICR), a non-zero EOI or ESR write, reserved SELF_IPI
     * bits (SDM 3A "x2APIC Register Address Space", "SELF IPI Register").
     */
    boolean x2apicWrite(int msr, long value) {
        int offset = (msr - X2APIC_MSR_FIRST) << X2APIC_OFFSET_SHIFT;
        synchronized (this) {
            if (!x2apicMode()) {
                return false;
            }
            if (offset != ICR_LOW && (value >>> BITS_PER_WORD) != 0) {
                return false;
            }
            switch (offset) {
                case TPR, SVR, LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, TIMER_INITIAL, TIMER_DIVIDE, ICR_LOW -> { }
                case EOI, ESR -> {
                    if (value != 0) {
                        return false;
                    }
                }
                case SELF_IPI -> {
                    if ((value & ~(long) ICR_VECTOR) != 0) {
                        return false;
                    }
                }
                default -> {
                    return false;
                }
            }
        }
        if (offset == SELF_IPI) {
            // SDM 3A "SELF IPI Register": a fixed, edge-triggered IPI to this APIC.
            acceptFixed((int) value & ICR_VECTOR, false);
            return true;
        }
        if (offset == ICR_LOW) {
            int destination = (int) (value >>> BITS_PER_WORD);
            int low;
            synchronized (this) {
                icrHigh = destination;
                icrLow = (int) value & ICR_LOW_WRITABLE;
                low = icrLow;
                ipisSent++;
            }
            system.sendIpi(this, low, destination, true);
            return true;
        }
        writeRegister(offset, (int) value, true);
        return true;
    }

    // =====================================================================================
    // IA32_TSC_DEADLINE (SDM 3A "TSC-Deadline Mode")
    // =====================================================================================

    /** Reads 0 outside TSC-deadline mode. */
    synchronized long tscDeadline() {
        return timerMode() == TIMER_TSC_DEADLINE ? tscDeadline : 0;
    }

    /** Arms (non-zero) or disarms (zero) the deadline; ignored outside TSC-deadline mode. */
    synchronized void writeTscDeadline(long value) {
        if (timerMode() != TIMER_TSC_DEADLINE) {
            return;
        }
        tscDeadline = value;
        if (value == 0) {
            timer.cancel();
        } else {
            timer.armAt(value);
        }
    }

    // =====================================================================================
    // The register file
    // =====================================================================================

    synchronized int readRegister(int offset) {
        return readRegisterLocked(offset);
    }

    private int readRegisterLocked(int offset) {
        switch (offset) {
            case ID -> {
                return xapicId;
            }
            case VERSION -> {
                return VERSION_VALUE;
            }
            case TPR -> {
                return tpr;
            }
            case APR -> {
                return arbitrationPriority();
            }
            case PPR -> {
                return processorPriority();
            }
            case LDR -> {
                return ldr;
            }
            case DFR -> {
                return x2apicMode() ? 0 : dfr;
            }
            case SVR -> {
                return svr;
            }
            case ESR -> {
                return esr;
            }
            case ICR_LOW -> {
                return icrLow; // delivery status 0: a message is delivered before the write returns
            }
            case ICR_HIGH -> {
                return icrHigh;
            }
            case LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR -> {
                return lvt[lvtIndex(offset)];
            }
            case TIMER_INITIAL -> {
                return timerMode() == TIMER_TSC_DEADLINE ? 0 : initialCount;
            }
            case TIMER_CURRENT -> {
                return currentCount();
            }
            case TIMER_DIVIDE -> {
                return divideConfig;
            }
            default -> {
                if (offset >= ISR_BASE && offset < ISR_BASE + BITMAP_SPAN) {
                    return isr[(offset - ISR_BASE) >> 4];
                }
                if (offset >= TMR_BASE && offset < TMR_BASE + BITMAP_SPAN) {
                    return tmr[(offset - TMR_BASE) >> 4];
                }
                if (offset >= IRR_BASE && offset < IRR_BASE + BITMAP_SPAN) {
                    return irr[(offset - IRR_BASE) >> 4];
                }
                return 0; // reserved
            }
        }
    }

    private static int lvtIndex(int offset) {
        return (offset - LVT_TIMER) >> 4;
    }

    /** A register write from the guest (xAPIC page, or an x2APIC MSR already checked). */
    void writeRegister(int offset, int value, boolean x2apic) {
        int eoiVector = NO_VECTOR;
        boolean sendIpi = false;
        int ipiLow = 0;
        int ipiDestination = 0;
        boolean wasExtInt;
        synchronized (this) {
            wasExtInt = extIntPassThrough;
            switch (offset) {
                case ID -> {
                    // Writable in xAPIC mode (QEMU and KVM allow it); read-only in x2APIC mode (checked before).
                    xapicId = value & XAPIC_ID_MASK;
                }
                case TPR -> tpr = value & TPR_MASK;
                case EOI -> eoiVector = endOfInterrupt();
                case LDR -> ldr = value & LDR_XAPIC_MASK;
                case DFR -> dfr = value | ~DFR_MODEL_MASK;
                case SVR -> writeSvr(value);
                case ESR -> {
                    esr = pendingErrors;
                    pendingErrors = 0;
                }
                case ICR_LOW -> {
                    icrLow = value & ICR_LOW_WRITABLE;
                    ipiLow = icrLow;
                    ipiDestination = icrHigh >>> XAPIC_ID_SHIFT;
                    sendIpi = true;
                    ipisSent++;
                }
                case ICR_HIGH -> icrHigh = value & ICR_HIGH_XAPIC_MASK;
                case LVT_TIMER -> writeLvtTimer(value);
                case LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR -> writeLvt(lvtIndex(offset), value);
                case TIMER_INITIAL -> writeInitialCount(value);
                case TIMER_DIVIDE -> writeDivide(value);
                default -> pendingErrors |= ESR_ILLEGAL_REGISTER; // read-only or reserved: ignored
            }
            update();
        }
        if (eoiVector != NO_VECTOR) {
            system.endOfInterrupt(eoiVector);
        }
        if (sendIpi) {
            system.sendIpi(this, ipiLow, ipiDestination, x2apic);
        }
        if (!wasExtInt && extIntPassThrough) {
            kickIfForeign();
        }
    }

    private void writeSvr(int value) {
        svr = value & SVR_WRITABLE;
        if (!softwareEnabled()) {
            // SDM 3A "Software Enabling/Disabling": software disable sets every LVT mask bit.
            for (int i = 0; i < LVT_COUNT; i++) {
                lvt[i] |= LVT_MASKED;
            }
        }
    }

    private void writeLvt(int lvtIndex, int value) {
        int v = value & LVT_WRITABLE[lvtIndex];
        if (!softwareEnabled()) {
            v |= LVT_MASKED; // the mask bits cannot be cleared while software disabled
        }
        lvt[lvtIndex] = v;
    }

    // =====================================================================================
    // Priorities (SDM 3A "Task Priority", "Processor Priority", "Arbitration Priority")
    // =====================================================================================

    private int processorPriority() {
        int isrv = highestBit(isr);
        int isrClass = isrv < 0 ? 0 : isrv & PRIORITY_CLASS;
        return (tpr & PRIORITY_CLASS) >= isrClass ? tpr : isrClass;
    }

    private int arbitrationPriority() {
        int irrv = highestBit(irr);
        int isrv = highestBit(isr);
        int highest = Math.max(irrv < 0 ? 0 : irrv & PRIORITY_CLASS, isrv < 0 ? 0 : isrv & PRIORITY_CLASS);
        return (tpr & PRIORITY_CLASS) >= highest ? tpr : highest;
    }

    /** The TPR, for lowest-priority arbitration. */
    synchronized int taskPriority() {
        return tpr;
    }

    /** Recomputes the published INTR (and the ExtINT pass-through) after any state change; under the monitor. */
    private void update() {
        int irrv = highestBit(irr);
        apicIntr = globallyEnabled() && softwareEnabled() && irrv >= 0
                && (irrv & PRIORITY_CLASS) > (processorPriority() & PRIORITY_CLASS);
        int lint0 = lvt[LVT_INDEX_LINT0];
        // The 8259 reaches INTR through LINT0 in ExtINT mode, or directly when the APIC is off (SDM 3A "Local Vector Table").
        extIntPassThrough = !globallyEnabled()
                || ((lint0 & LVT_MASKED) == 0 && ((lint0 >>> LVT_DELIVERY_MODE_SHIFT) & LVT_DELIVERY_MODE_MASK) == ApicBus.EXTINT);
    }

    /** The highest set bit of a 256-bit register, or -1; allocation-free. */
    static int highestBit(int[] bits) {
        for (int word = BITMAP_WORDS - 1; word >= 0; word--) {
            int w = bits[word];
            if (w != 0) {
                return (word << WORD_SHIFT) + (BITS_PER_WORD - 1 - Integer.numberOfLeadingZeros(w));
            }
        }
        return NO_VECTOR;
    }

    private static void setBit(int[] bits, int vector) {
        bits[vector >>> WORD_SHIFT] |= 1 << (vector & BIT_MASK);
    }

    private static void clearBit(int[] bits, int vector) {
        bits[vector >>> WORD_SHIFT] &= ~(1 << (vector & BIT_MASK));
    }

    private static boolean testBit(int[] bits, int vector) {
        return (bits[vector >>> WORD_SHIFT] & (1 << (vector & BIT_MASK))) != 0;
    }

    /** EOI: clears the highest in-service bit; returns its vector if it was level-triggered (an EOI message follows), else -1. */
    private int endOfInterrupt() {
        int vector = highestBit(isr);
        if (vector < 0) {
            return NO_VECTOR;
        }
        clearBit(isr, vector);
        return testBit(tmr, vector) ? vector : NO_VECTOR;
    }

    // =====================================================================================
    // InterruptController: the kernel, on the vCPU thread
    // =====================================================================================

    @Override
    public boolean interruptPending() {
        Thread current = Thread.currentThread();
        if (vcpuThread != current) {
            vcpuThread = current;
        }
        if (apicIntr) {
            return true;
        }
        if (extIntPassThrough) {
            InterruptController pic = system.pic();
            return pic != null && pic.interruptPending();
        }
        return false;
    }

    /**
     * The INTA cycle: the highest IRR vector above the processor priority moves to the ISR; else
     * the 8259 supplies the vector through ExtINT; else the APIC answers with its spurious vector
     * (SDM 3A "Spurious Interrupt"), ISR untouched.
     */
    @Override
    public int acknowledge() {
        vcpuThread = Thread.currentThread();
        synchronized (this) {
            acknowledges++;
            if (apicIntr) {
                int vector = highestBit(irr);
                clearBit(irr, vector);
                setBit(isr, vector);
                update();
                return vector;
            }
        }
        if (extIntPassThrough) {
            InterruptController pic = system.pic();
            if (pic != null && pic.interruptPending()) {
                return pic.acknowledge();
            }
        }
        synchronized (this) {
            spurious++;
            return svr & SVR_VECTOR;
        }
    }

    // =====================================================================================
    // Messages from the APIC bus (any thread)
    // =====================================================================================

    /**
     * A fixed (or lowest-priority) interrupt: IRR set, TMR set for level-triggered, cleared for
     * edge. Dropped while the APIC is disabled; a vector below 16 is a receive error.
     */
    void acceptFixed(int vector, boolean levelTriggered) {
        boolean kick;
        synchronized (this) {
            if (vector < FIRST_LEGAL_VECTOR) {
                pendingErrors |= ESR_RECEIVE_ILLEGAL_VECTOR;
                dropped++;
                return;
            }
            if (!globallyEnabled() || !softwareEnabled()) {
                dropped++; // SDM 3A "Software Enabling/Disabling": a disabled APIC accepts no fixed interrupts
                return;
            }
            boolean before = apicIntr;
            setBit(irr, vector);
            if (levelTriggered) {
                setBit(tmr, vector);
            } else {
                clearBit(tmr, vector);
            }
            accepted++;
            update();
            kick = !before && apicIntr;
        }
        if (kick) {
            kickIfForeign();
        }
    }

    /** Counts an illegal vector this APIC tried to send (ICR). */
    synchronized void sendError() {
        pendingErrors |= ESR_SEND_ILLEGAL_VECTOR;
    }

    synchronized void countDropped() {
        dropped++;
    }

    private void kickIfForeign() {
        if (Thread.currentThread() != vcpuThread) {
            Vcpu v = system.vcpu(index);
            if (v != null) {
                v.kick();
            }
        }
    }

    // =====================================================================================
    // Destination matching (SDM 3A "Determining IPI Destination")
    // =====================================================================================

    /**
     * Whether a message for {@code destination} reaches this APIC. {@code x2apicFormat}: a 32-bit
     * destination from an x2APIC sender (broadcast 0xFFFFFFFF), else 8 bits (broadcast 0xFF).
     */
    synchronized boolean matches(int destination, boolean logical, boolean x2apicFormat) {
        if (!globallyEnabled()) {
            return false;
        }
        int broadcast = x2apicFormat ? X2APIC_BROADCAST : XAPIC_BROADCAST;
        if (!logical) {
            if (destination == broadcast) {
                return true;
            }
            return x2apicMode() ? destination == index : destination == (xapicId >>> XAPIC_ID_SHIFT);
        }
        if (x2apicMode()) {
            if (destination == broadcast) {
                return true;
            }
            // SDM 3A "Logical Destination Mode in x2APIC Mode": cluster ID in 31:16, member bitmap in 15:0.
            return (destination >>> 16) == (ldr >>> 16) && (destination & ldr & 0xFFFF) != 0;
        }
        int logicalId = ldr >>> XAPIC_ID_SHIFT;
        int dest8 = destination & XAPIC_BROADCAST;
        if ((dfr >>> 28) == DFR_FLAT) {
            return (dest8 & logicalId) != 0; // flat model: bitmap (0xFF reaches every APIC with an LDR bit)
        }
        if (dest8 == XAPIC_BROADCAST) {
            return true;
        }
        // Cluster model: cluster in 7:4 must match, member bits 3:0 intersect.
        return (dest8 >>> 4) == (logicalId >>> 4) && (dest8 & logicalId & 0xF) != 0;
    }

    // =====================================================================================
    // Timer
    // =====================================================================================

    private int timerMode() {
        return (lvt[LVT_INDEX_TIMER] >>> LVT_TIMER_MODE_SHIFT) & LVT_TIMER_MODE_MASK;
    }

    /** Divide configuration bits 0, 1, 3 -> shift: 0b111 divides by 1, 0b000 by 2, ... 0b110 by 128. */
    static int divideShift(int config) {
        int v = (config & 0x3) | ((config >>> 1) & 0x4);
        return (v + 1) & DIVIDE_SHIFT_MASK;
    }

    private long periodNanos() {
        return (initialCount & LOW_32) << countShift;
    }

    private int currentCount() {
        if (timerMode() == TIMER_TSC_DEADLINE || initialCount == 0 || oneShotExpired) {
            return 0;
        }
        long initial = initialCount & LOW_32;
        long elapsed = Math.max(0, clock.nanos() - periodStart) >>> countShift;
        if (timerMode() == TIMER_PERIODIC) {
            return (int) (initial - elapsed % initial);
        }
        return elapsed >= initial ? 0 : (int) (initial - elapsed);
    }

    private void writeInitialCount(int value) {
        if (timerMode() == TIMER_TSC_DEADLINE) {
            return; // SDM 3A "TSC-Deadline Mode": writes to the initial-count register are ignored
        }
        initialCount = value;
        periodStart = clock.nanos();
        oneShotExpired = false;
        armForPeriod();
    }

    private void armForPeriod() {
        if (initialCount == 0 || oneShotExpired || timerMode() == TIMER_TSC_DEADLINE) {
            timer.cancel();
        } else {
            timer.armAt(periodStart + periodNanos());
        }
    }

    /** A new divider keeps the current count and counts on at the new rate. */
    private void writeDivide(int value) {
        int count = currentCount();
        divideConfig = value & DIVIDE_WRITABLE;
        countShift = divideShift(divideConfig);
        if (count != 0) {
            periodStart = clock.nanos() - (((initialCount & LOW_32) - (count & LOW_32)) << countShift);
            armForPeriod();
        }
    }

    /**
     * A timer-LVT write. Entering or leaving TSC-deadline mode stops the timer (initial count
     * and deadline clear, as KVM does); one-shot and periodic switch with the count running on.
     */
    private void writeLvtTimer(int value) {
        int oldMode = timerMode();
        writeLvt(LVT_INDEX_TIMER, value);
        int newMode = timerMode();
        if (oldMode == newMode) {
            return;
        }
        if (oldMode == TIMER_TSC_DEADLINE || newMode == TIMER_TSC_DEADLINE) {
            initialCount = 0;
            tscDeadline = 0;
            oneShotExpired = false;
            timer.cancel();
            return;
        }
        // Keep the count: move the period start to the start of the current period.
        long period = periodNanos();
        if (period > 0 && !oneShotExpired) {
            long elapsed = Math.max(0, clock.nanos() - periodStart);
            periodStart += (elapsed / period) * period;
            armForPeriod();
        }
    }

    /** The timer's callback (a vCPU thread): the count reached zero, or the TSC deadline passed. */
    void timerFired() {
        int vector = NO_VECTOR;
        synchronized (this) {
            long now = clock.nanos();
            if (timerMode() == TIMER_TSC_DEADLINE) {
                if (tscDeadline != 0 && now >= tscDeadline) {
                    tscDeadline = 0; // SDM 3A: the MSR clears when the deadline fires
                    vector = timerVector();
                } else if (tscDeadline != 0) {
                    timer.armAt(tscDeadline);
                }
            } else if (initialCount != 0 && !oneShotExpired) {
                long period = periodNanos();
                long elapsed = now - periodStart;
                if (elapsed < period) {
                    timer.armAt(periodStart + period); // early (a rebase moved the period): wait on
                } else if (timerMode() == TIMER_PERIODIC) {
                    periodStart += (elapsed / period) * period;
                    timer.armAt(periodStart + period);
                    vector = timerVector();
                } else {
                    oneShotExpired = true;
                    vector = timerVector();
                }
            }
        }
        if (vector != NO_VECTOR) {
            acceptFixed(vector, false);
        }
    }

    /** The timer LVT's vector, or -1 while masked (the count runs on regardless). */
    private int timerVector() {
        int entry = lvt[LVT_INDEX_TIMER];
        return (entry & LVT_MASKED) != 0 ? NO_VECTOR : entry & LVT_VECTOR;
    }

    // =====================================================================================
    // Console / tests
    // =====================================================================================

    synchronized boolean inService(int vector) {
        return testBit(isr, vector);
    }

    synchronized boolean requested(int vector) {
        return testBit(irr, vector);
    }

    synchronized boolean levelTriggered(int vector) {
        return testBit(tmr, vector);
    }

    synchronized long accepted() {
        return accepted;
    }

    synchronized long dropped() {
        return dropped;
    }

    synchronized long spurious() {
        return spurious;
    }

    @Override
    public synchronized String toString() {
        return String.format("lapic %d: base=0x%x%s id=0x%x tpr=0x%x ppr=0x%x svr=0x%x irr=%d isr=%d lvt0=0x%x timer=0x%x "
                + "tmict=%d tmcct=%d div=%d; accepted=%d dropped=%d acks=%d spurious=%d ipis=%d",
                index, apicBase, x2apicMode() ? " x2apic" : "", xapicId >>> XAPIC_ID_SHIFT, tpr, processorPriority(), svr,
                highestBit(irr), highestBit(isr), lvt[LVT_INDEX_LINT0], lvt[LVT_INDEX_TIMER], initialCount & LOW_32,
                currentCount() & LOW_32, 1 << countShift, accepted, dropped, acknowledges, spurious, ipisSent);
    }
}
