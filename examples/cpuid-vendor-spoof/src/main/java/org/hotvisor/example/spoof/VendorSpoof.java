package org.hotvisor.example.spoof;

import org.hotvisor.api.ExitAction;
import org.hotvisor.api.ExitHandler;
import org.hotvisor.api.ExitReason;
import org.hotvisor.api.GuestRegisters;
import org.hotvisor.api.HandlesExit;
import org.hotvisor.api.VmExit;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.propertytypes.ServiceRanking;

/**
 * Answers CPUID leaf 0 with the vendor "HotvisorDemo" instead of the stock CPU model's; every
 * other leaf passes to the stock handler. Ranked above it (the stock handler ranks 0).
 */
@Component(service = ExitHandler.class)
@HandlesExit(reason = ExitReason.CPUID)
@ServiceRanking(10)
public class VendorSpoof implements ExitHandler {
    // "HotvisorDemo" as CPUID returns a vendor: EBX, EDX, ECX, four ASCII bytes each, little-endian.
    private static final long EBX = 0x76746f48; // "Hotv"
    private static final long EDX = 0x726f7369; // "isor"
    private static final long ECX = 0x6f6d6544; // "Demo"

    @Override
    public ExitAction handle(VmExit exit) {
        GuestRegisters r = exit.registers();
        if ((r.rax() & 0xFFFF_FFFFL) != 0) {
            return ExitAction.PASS;
        }
        r.setRax(0xB); // the highest basic leaf, as the stock CPU model reports it
        r.setRbx(EBX);
        r.setRdx(EDX);
        r.setRcx(ECX);
        return ExitAction.EMULATED;
    }
}
