package org.hotvisor.device.ioapic;

import org.hotvisor.api.device.ApicBus;
import org.hotvisor.api.device.InterruptLines;
import org.hotvisor.api.device.MmioDevice;
import org.hotvisor.api.device.ResetListener;
import org.osgi.framework.Constants;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * The I/O APIC (pid {@value #PID}): MMIO at 0xFEC00000, and the machine's ISA interrupt lines.
 * Its {@link InterruptLines} service is ranked {@value #LINES_RANKING}, above the 8259's, so
 * devices drive it; every level goes on to the 8259 pair (as on a PC, where each ISA line reaches
 * both controllers) and to an I/O APIC pin: ISA IRQ0 to pin 2 (the MADT's interrupt source
 * override, as QEMU wires it), the others to the pin of the same number. Lines 16-23 (QEMU's
 * pc-testdev drives them) reach only the I/O APIC.
 */
@Component(name = IoApicComponent.PID, configurationPid = IoApicComponent.PID, immediate = true,
        service = {MmioDevice.class, InterruptLines.class, ResetListener.class},
        property = {MmioDevice.RANGES + "=" + IoApic.RANGES, Constants.SERVICE_RANKING + ":Integer=" + IoApicComponent.LINES_RANKING})
public final class IoApicComponent implements MmioDevice, InterruptLines, ResetListener, ApicBus.EoiListener {
    static final String PID = "org.hotvisor.device.ioapic";
    static final int LINES_RANKING = 100;
    /** The 8259 pair's component name: its InterruptLines are the ones we forward to. */
    static final String PIC_COMPONENT = "org.hotvisor.device.pic8259";
    static final int ISA_IRQS = 16;
    /** MADT interrupt source override: ISA IRQ0 (the PIT) is I/O APIC pin 2. */
    static final int TIMER_IRQ = 0;
    static final int TIMER_PIN = 2;

    private final IoApic ioApic = new IoApic(this::bus);
    private volatile ApicBus bus;
    private volatile InterruptLines pic;

    @Activate
    void activate() {
        ApicBus b = bus;
        if (b != null) {
            b.eoiListener(this);
        }
    }

    @Deactivate
    void deactivate() {
        ApicBus b = bus;
        if (b != null) {
            b.eoiListener(null);
        }
    }

    @Reference(name = "bus", cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindBus")
    void bindBus(ApicBus b) {
        bus = b;
        b.eoiListener(this);
    }

    void unbindBus(ApicBus b) {
        if (bus == b) {
            bus = null;
        }
    }

    @Reference(name = "pic", service = InterruptLines.class, cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY,
            target = "(component.name=" + PIC_COMPONENT + ")", unbind = "unbindPic")
    void bindPic(InterruptLines lines) {
        pic = lines;
    }

    void unbindPic(InterruptLines lines) {
        if (pic == lines) {
            pic = null;
        }
    }

    private ApicBus bus() {
        return bus;
    }

    IoApic ioApic() {
        return ioApic;
    }

    /** The I/O APIC pin an ISA (or pc-testdev) line drives. */
    static int pinOf(int line) {
        return line == TIMER_IRQ ? TIMER_PIN : line;
    }

    // ---- InterruptLines: devices, any thread ----

    @Override
    public void setLevel(int irq, boolean high) {
        InterruptLines p = pic;
        if (p != null && irq >= 0 && irq < ISA_IRQS) {
            p.setLevel(irq, high);
        }
        ioApic.setPin(pinOf(irq), high);
    }

    // ---- EOI messages from the local APICs ----

    @Override
    public void endOfInterrupt(int vector) {
        ioApic.endOfInterrupt(vector);
    }

    // ---- MmioDevice ----

    @Override
    public long mmioRead(long address, int size) {
        return ioApic.mmioRead(address - IoApic.DEFAULT_BASE, size);
    }

    @Override
    public void mmioWrite(long address, int size, long value) {
        ioApic.mmioWrite(address - IoApic.DEFAULT_BASE, size, value);
    }

    // ---- ResetListener ----

    @Override
    public void machineReset() {
        ioApic.reset();
    }

    @Override
    public String toString() {
        return ioApic.toString();
    }
}
