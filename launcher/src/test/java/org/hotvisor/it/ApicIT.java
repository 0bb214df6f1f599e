package org.hotvisor.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The local APIC and I/O APIC bundles end to end on one vCPU: the guest reads the xAPIC page
 * (EPT violations taken by the lapic bundle's handler, ranked above the generic MMIO one), sends
 * itself an IPI, counts periodic LAPIC-timer ticks on the virtual clock, and takes the PIT
 * through I/O APIC pin 2 with both 8259s masked. Then CPUID.01H:EDX.APIC follows
 * IA32_APIC_BASE.EN (the lapic bundle publishes the base, the cpuid bundle reads it).
 */
class ApicIT {
    @Test
    void selfIpiTimerAndIoApicRoutedPit() throws Exception {
        Hotvisor.Result r = Hotvisor.run("run", Hotvisor.guest("lapic").toString(), "--format", "flat",
                "--load-addr", "0x100000", "--mem", "16M");
        assertEquals("""
                lapic version 00050014
                self-ipi PASS
                lapic-timer periodic PASS
                ioapic version 00170011
                ioapic pin2 pit PASS
                no unexpected vectors PASS
                apic disabled: cpuid apic clear PASS
                apic re-enabled: cpuid apic set PASS
                """, r.stdout(), r.toString());
        assertEquals((0x2a << 1) | 1, r.status(), r.toString());
    }
}
