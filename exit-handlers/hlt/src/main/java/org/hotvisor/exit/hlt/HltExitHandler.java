package org.hotvisor.exit.hlt;

import java.lang.System.Logger.Level;
import java.util.Map;
import org.hotvisor.api.ExitAction;
import org.hotvisor.api.ExitHandler;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.HandlesExit;
import org.hotvisor.api.Vcpu;
import org.hotvisor.api.VmExit;
import org.hotvisor.api.device.VirtualClock;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;

/**
 * HLT (exit reason 12, with "HLT exiting", SDM 3C 26.1.3). HLT stops the processor until an
 * enabled interrupt, NMI, SMI, INIT or reset (SDM Vol. 2A HLT). The handler idles the vCPU on
 * the virtual clock, running timers, until an interrupt can be taken, then returns EMULATED: RIP
 * moves past HLT and the kernel injects the interrupt at the next VM entry, so the interrupt's
 * return address is the instruction after HLT, as on hardware.
 *
 * <p>When nothing can ever wake the guest it has powered off: the VM stops with status 0.
 * <ul>
 *   <li>RFLAGS.IF = 0 (the "cli; hlt" idiom): stop at once, even with a timer armed, since an INTR
 *       can never be delivered. Only an NMI could wake it; the API cannot tell a pending NMI from
 *       an INTR, so guests that rely on an NMI set {@code interrupts.disabled = wait}.</li>
 *   <li>RFLAGS.IF = 1, no timer armed, nothing pending: stop ({@code idle.forever = stop}, the
 *       default), or idle in slices waiting for host input ({@code idle.forever = wait}).</li>
 * </ul>
 * If the vCPU thread is interrupted while idling (the kernel stopping or pausing the VM), the
 * handler returns RESUME with RIP still on HLT, so the guest halts again when it resumes.
 */
@Component(name = HltExitHandler.PID, service = ExitHandler.class)
@HandlesExit(reason = ExitReason.HLT)
@Designate(ocd = HltConfig.class)
public final class HltExitHandler implements ExitHandler {
    /** ConfigAdmin PID (and component name). */
    public static final String PID = "org.hotvisor.exit.hlt";
    static final long DEFAULT_IDLE_SLICE_NANOS = 10_000_000L;
    static final String STOP = "stop";
    static final String WAIT = "wait";
    static final int POWER_OFF_STATUS = 0;
    static final String REASON_INTERRUPTS_DISABLED = "HLT with interrupts disabled and nothing pending";
    static final String REASON_NOTHING_ARMED = "HLT with no timer armed and no interrupt source";

    private static final System.Logger LOG = System.getLogger(PID);

    private final VirtualClock clock;

    /** Immutable settings, swapped whole on configuration change. */
    private record Settings(boolean waitForever, boolean waitWithInterruptsDisabled, long idleSliceNanos) {
    }

    private volatile Settings settings = new Settings(false, false, DEFAULT_IDLE_SLICE_NANOS);

    /** More than one vCPU: another one may still send the IPI that ends this halt. */
    private final boolean multiprocessor;

    @Activate
    public HltExitHandler(@Reference(name = "clock") VirtualClock clock, org.osgi.framework.BundleContext context,
            Map<String, Object> properties) {
        this(clock, properties, cpus(context.getProperty("hotvisor.cpus")));
    }

    HltExitHandler(VirtualClock clock, Map<String, Object> properties) {
        this(clock, properties, 1);
    }

    HltExitHandler(VirtualClock clock, Map<String, Object> properties, int cpus) {
        this.clock = clock;
        this.multiprocessor = cpus > 1;
        configure(properties);
    }

    /** The launcher's --cpus (framework property hotvisor.cpus); 1 when absent or malformed. */
    static int cpus(String value) {
        try {
            return value == null ? 1 : Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            return 1;
        }
    }

    @Modified
    void modified(Map<String, Object> properties) {
        configure(properties);
    }

    void configure(Map<String, ?> properties) {
        Map<String, ?> p = properties == null ? Map.of() : properties;
        boolean waitForever = choice(p, "idle.forever");
        boolean waitDisabled = choice(p, "interrupts.disabled");
        long slice = DEFAULT_IDLE_SLICE_NANOS;
        Object sliceValue = p.get("idle.slice.nanos");
        if (sliceValue != null) {
            try {
                slice = Long.decode(String.valueOf(sliceValue).trim());
            } catch (NumberFormatException e) {
                LOG.log(Level.WARNING, "idle.slice.nanos=''{0}'' is not a number; using {1}", sliceValue, DEFAULT_IDLE_SLICE_NANOS);
            }
            if (slice <= 0) {
                LOG.log(Level.WARNING, "idle.slice.nanos must be positive; using {0}", DEFAULT_IDLE_SLICE_NANOS);
                slice = DEFAULT_IDLE_SLICE_NANOS;
            }
        }
        settings = new Settings(waitForever, waitDisabled, slice);
    }

    /** true for "wait", false for "stop" (the default, also for a bad value). */
    private static boolean choice(Map<String, ?> p, String key) {
        Object v = p.get(key);
        if (v == null) {
            return false;
        }
        String text = String.valueOf(v).trim();
        if (!text.equals(STOP) && !text.equals(WAIT)) {
            LOG.log(Level.WARNING, "{0}=''{1}'' is neither stop nor wait; using stop", key, text);
            return false;
        }
        return text.equals(WAIT);
    }

    @Override
    public ExitAction handle(VmExit exit) {
        Settings s = settings;
        Vcpu vcpu = exit.vcpu();
        boolean interruptsEnabled = vcpu.interruptsEnabled();
        if (!interruptsEnabled && !s.waitWithInterruptsDisabled()) {
            return powerOff(exit, REASON_INTERRUPTS_DISABLED);
        }
        while (true) {
            if (vcpu.interruptPending()) {
                return ExitAction.EMULATED; // wake: RIP past HLT, the kernel injects at VM entry
            }
            long deadline = clock.nextDeadline();
            if (deadline == Long.MAX_VALUE) {
                if (multiprocessor && !s.waitForever()) {
                    clock.idleUntil(Long.MAX_VALUE); // until a kick: another vCPU's IPI may end this halt
                } else if (!s.waitForever()) {
                    return powerOff(exit, interruptsEnabled ? REASON_NOTHING_ARMED : REASON_INTERRUPTS_DISABLED);
                } else {
                    clock.idleUntil(clock.nanos() + s.idleSliceNanos()); // a host thread may raise an interrupt meanwhile
                }
            } else {
                clock.idleUntil(deadline); // runs the timers due; a timer may raise an interrupt
            }
            if (Thread.currentThread().isInterrupted()) {
                return ExitAction.RESUME; // the kernel wants the vCPU back; HLT re-executes on resume
            }
        }
    }

    private static ExitAction powerOff(VmExit exit, String reason) {
        exit.stop(POWER_OFF_STATUS, reason);
        return ExitAction.STOP;
    }
}
