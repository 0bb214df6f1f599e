package org.hotvisor.kernel.command;

import java.nio.file.Path;
import java.util.Locale;
import org.apache.felix.service.command.Descriptor;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.VmState;
import org.hotvisor.api.vmx.LogicalProcessor;
import org.hotvisor.api.vmx.VmcsField;
import org.hotvisor.kernel.dispatch.DispatchTable;
import org.hotvisor.kernel.dispatch.HandlerEntry;
import org.hotvisor.kernel.loader.ImageException;
import org.hotvisor.kernel.loader.LoadOptions;
import org.hotvisor.kernel.stats.StatsReport;
import org.hotvisor.kernel.vm.Machine;
import org.hotvisor.kernel.vm.StopStatus;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** The console's {@code vm:} commands: life cycle, registers, statistics, handlers, loading. */
@Component(service = VmCommands.class, property = {
    "osgi.command.scope=vm",
    "osgi.command.function=start", "osgi.command.function=pause", "osgi.command.function=resume",
    "osgi.command.function=stop", "osgi.command.function=reset", "osgi.command.function=regs",
    "osgi.command.function=stats", "osgi.command.function=handlers", "osgi.command.function=load",
    "osgi.command.function=status"})
public final class VmCommands {
    private final Machine vm;

    @org.osgi.service.component.annotations.Activate
    public VmCommands(@Reference Machine vm) {
        this.vm = vm;
    }

    @Descriptor("start the loaded VM (or resume a paused one)")
    public String start() {
        vm.start();
        return "VM " + vm.state().name().toLowerCase(Locale.ROOT);
    }

    @Descriptor("pause every vCPU at its next exit")
    public String pause() {
        vm.pause();
        return "VM " + vm.state().name().toLowerCase(Locale.ROOT);
    }

    @Descriptor("resume a paused VM")
    public String resume() {
        vm.resume();
        return "VM " + vm.state().name().toLowerCase(Locale.ROOT);
    }

    @Descriptor("stop the VM")
    public String stop() {
        vm.stop(StopStatus.STOPPED_BY_USER, "stopped from the console");
        return "VM stopping";
    }

    @Descriptor("reset the VM: reload the image and restart from its entry point")
    public String reset() {
        vm.reset();
        return "VM reset";
    }

    @Descriptor("the VM's state and image")
    public String status() {
        String reason = vm.stopReason();
        return "state " + vm.state().name().toLowerCase(Locale.ROOT) + ", image " + vm.image()
                + (reason != null && !reason.isEmpty() ? ", stopped: " + reason : "");
    }

    @Descriptor("load a guest image (format detected), paused until vm:start")
    public String load(@Descriptor("image file") String image) throws ImageException {
        if (vm.state() == VmState.RUNNING || vm.state() == VmState.PAUSED) {
            return "stop the VM first (vm:stop), then load";
        }
        vm.load(Path.of(image).toAbsolutePath(), LoadOptions.detect());
        return "loaded " + image + "; vm:start runs it";
    }

    @Descriptor("exit statistics, perf-kvm-stat style; sort by count, time, avg, max or reason; 'reset' zeroes them")
    public String stats(@Descriptor("count|time|avg|max|reason|reset|json") String... args) {
        String a = args.length == 0 ? "count" : args[0].toLowerCase(Locale.ROOT);
        if (a.equals("reset")) {
            vm.resetStatistics();
            return "statistics reset";
        }
        if (a.equals("json")) {
            return StatsReport.json(vm.statistics());
        }
        return StatsReport.table(vm.statistics(), StatsReport.SortKey.valueOf(a.toUpperCase(Locale.ROOT)));
    }

    @Descriptor("each exit reason with its handler bundles, their ranking, and which one is active")
    public String handlers() {
        DispatchTable t = vm.dispatcher().table();
        StringBuilder b = new StringBuilder(String.format("%-26s %-8s %-40s %s%n", "REASON", "RANKING", "BUNDLE", "ACTIVE"));
        for (ExitReason r : ExitReason.values()) {
            HandlerEntry[] hs = t.handlers(r.number());
            for (int i = 0; i < hs.length; i++) {
                b.append(String.format("%-26s %-8d %-40s %s%n", i == 0 ? r.name() + "(" + r.number() + ")" : "",
                        hs[i].ranking(), hs[i].bundle(), i == 0 ? (vm.dispatcher().swapPending(r.number()) ? "swapping" : "yes") : "standby"));
            }
        }
        b.append("Reasons with no handler use the kernel's built-in defaults (see the README).\n");
        return b.toString();
    }

    @Descriptor("the guest registers of the selected vCPU (vm:cpu) (pauses the VM for the read if it runs)")
    public String regs() {
        return regs(vm.selectedVcpu().index());
    }

    @Descriptor("the guest registers of a vCPU (pauses the VM for the read if it runs)")
    public String regs(@Descriptor("vCPU number") int cpu) {
        if (cpu < 0 || cpu >= vm.vcpuCount()) {
            return "vm:regs: no vCPU " + cpu + " (this VM has " + vm.vcpuCount() + ")";
        }
        boolean wasRunning = vm.state() == VmState.RUNNING;
        if (wasRunning) {
            vm.pause();
        }
        try {
            LogicalProcessor c = vm.vcpu(cpu).processorForInspection();
            if (c == null) {
                return "the VM has no processor state yet (vm:start it, or wait for the CPU bundle)";
            }
            return RegisterDump.render(c);
        } finally {
            if (wasRunning) {
                vm.resume();
            }
        }
    }

    static long rd(LogicalProcessor c, VmcsField f) {
        return c.vmread(f.encoding());
    }
}
