package org.hotvisor.device.ioapic;

import static org.hotvisor.device.ioapic.IoApic.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import org.hotvisor.api.device.ApicBus;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Register file, edge/level pin logic and ISA wiring, in the order kvm-unit-tests' ioapic.c checks them. */
class IoApicTest {
    /** A bus that records messages: "dest/logical/mode/vector/level". */
    static final class RecordingBus implements ApicBus {
        final List<String> messages = new ArrayList<>();
        EoiListener listener;

        @Override
        public void deliver(int destination, boolean logical, int deliveryMode, int vector, boolean levelTriggered) {
            messages.add(destination + "/" + (logical ? "L" : "P") + "/" + deliveryMode + "/0x" + Integer.toHexString(vector)
                    + "/" + (levelTriggered ? "level" : "edge"));
        }

        @Override
        public void eoiListener(EoiListener l) {
            listener = l;
        }
    }

    RecordingBus bus;
    IoApic ioApic;

    @BeforeEach
    void setUp() {
        bus = new RecordingBus();
        ioApic = new IoApic(() -> bus);
    }

    void write(int register, int value) {
        ioApic.mmioWrite(IOREGSEL, 1, register);
        ioApic.mmioWrite(IOWIN, 4, value);
    }

    int read(int register) {
        ioApic.mmioWrite(IOREGSEL, 4, register);
        return (int) ioApic.mmioRead(IOWIN, 4);
    }

    void route(int pin, int low, int destination) {
        write(REG_REDIRECTION_BASE + 2 * pin + 1, destination << 24);
        write(REG_REDIRECTION_BASE + 2 * pin, low);
    }

    @Test
    void identificationRegisters() {
        assertEquals(0x00170011, read(REG_VERSION));
        write(REG_ID, 0x0F00_00FF);
        assertEquals(0x0F00_0000, read(REG_ID));
        assertEquals(0x0F00_0000, read(REG_ARBITRATION));
        assertEquals(REG_ARBITRATION, ioApic.mmioRead(IOREGSEL, 4), "IOREGSEL reads back");
        assertEquals(MASKED, read(REG_REDIRECTION_BASE + 2 * 23), "entries power on masked");
        assertEquals(0, read(REG_REDIRECTION_BASE + 2 * 24), "past entry 23");
    }

    @Test
    void edgePinSendsOncePerRisingEdgeAndNotWhileMasked() {
        route(14, 0x77, 1);
        ioApic.setPin(14, true);
        ioApic.setPin(14, true);
        ioApic.setPin(14, false);
        assertEquals(List.of("1/P/0/0x77/edge"), bus.messages);
        route(14, 0x77 | MASKED, 1);
        ioApic.setPin(14, true);
        ioApic.setPin(14, false);
        route(14, 0x77, 1);
        assertEquals(1, bus.messages.size(), "an edge on a masked pin is lost, also after unmasking");
    }

    @Test
    void levelPinWaitsForEoiAndRetriggersWhileAsserted() {
        route(14, 0x78 | TRIGGER_LEVEL, 0);
        ioApic.setPin(14, true);
        ioApic.setPin(14, true);
        assertEquals(1, bus.messages.size(), "Remote IRR holds the second assertion (coalesced)");
        assertTrue((read(REG_REDIRECTION_BASE + 28) & REMOTE_IRR) != 0);
        ioApic.endOfInterrupt(0x78);
        assertEquals(2, bus.messages.size(), "still asserted at EOI: sends again");
        ioApic.setPin(14, false);
        ioApic.endOfInterrupt(0x78);
        assertEquals(2, bus.messages.size());
        assertEquals(0, read(REG_REDIRECTION_BASE + 28) & REMOTE_IRR);
        assertEquals("0/P/0/0x78/level", bus.messages.get(0));
    }

    @Test
    void unmaskingAnAssertedLevelPinSends() {
        route(14, 0x8A | TRIGGER_LEVEL | MASKED, 0);
        ioApic.setPin(14, true);
        assertTrue(bus.messages.isEmpty());
        route(14, 0x8A | TRIGGER_LEVEL, 0);
        assertEquals(1, bus.messages.size());
    }

    @Test
    void remoteIrrIsReadOnlyAndClearedByTheEdgeMode() {
        route(3, 0x90 | TRIGGER_LEVEL, 0);
        ioApic.setPin(3, true);
        write(REG_REDIRECTION_BASE + 6, 0x90 | TRIGGER_LEVEL | MASKED);
        assertTrue((ioApic.entryLow(3) & REMOTE_IRR) != 0, "software cannot clear Remote IRR");
        write(REG_REDIRECTION_BASE + 6, 0x90 | MASKED | REMOTE_IRR | DELIVERY_STATUS);
        assertEquals(0x90 | MASKED, ioApic.entryLow(3), "edge: no Remote IRR; delivery status read-only");
    }

    @Test
    void logicalAndModeFieldsReachTheBus() {
        route(5, 0x31 | DEST_LOGICAL | (ApicBus.LOWEST_PRIORITY << DELIVERY_MODE_SHIFT), 0x0F);
        ioApic.setPin(5, true);
        assertEquals(List.of("15/L/1/0x31/edge"), bus.messages);
    }

    @Test
    void withoutABusMessagesAreCountedLost() {
        IoApic alone = new IoApic(() -> null);
        alone.mmioWrite(IOREGSEL, 1, REG_REDIRECTION_BASE + 2);
        alone.mmioWrite(IOWIN, 4, 0x40 | TRIGGER_LEVEL);
        alone.setPin(1, true);
        assertEquals(1, alone.lostMessages());
        assertEquals(0, alone.entryLow(1) & REMOTE_IRR, "nothing was sent: no Remote IRR");
        alone.setPin(99, true);
        assertEquals(1, alone.badPins());
    }

    @Test
    void isaLinesReachThePicAndTheIoApicWithTheTimerOnPinTwo() {
        IoApicComponent component = new IoApicComponent();
        List<String> picLevels = new ArrayList<>();
        component.bindPic((irq, high) -> picLevels.add(irq + "=" + high));
        component.bindBus(bus);
        assertSame(component, bus.listener, "the I/O APIC listens for EOI messages");
        component.mmioWrite(DEFAULT_BASE + IOREGSEL, 4, REG_REDIRECTION_BASE + 2 * TIMER_PIN_FOR_TEST);
        component.mmioWrite(DEFAULT_BASE + IOWIN, 4, 0x20);
        component.pulse(0);
        assertEquals(List.of("0=true", "0=false"), picLevels);
        assertEquals(List.of("0/P/0/0x20/edge"), bus.messages, "ISA IRQ0 is pin 2");
        component.setLevel(20, true);
        assertEquals(2, picLevels.size(), "lines 16-23 do not exist on the 8259");
        assertEquals(5, IoApicComponent.pinOf(5));
    }

    static final int TIMER_PIN_FOR_TEST = 2;

    @Test
    void resetMasksEverything() {
        route(1, 0x41, 0);
        ioApic.reset();
        assertEquals(MASKED, ioApic.entryLow(1));
    }
}
