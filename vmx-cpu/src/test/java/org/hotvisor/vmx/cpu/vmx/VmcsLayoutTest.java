package org.hotvisor.vmx.cpu.vmx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.hotvisor.api.vmx.VmcsField;
import org.junit.jupiter.api.Test;

/** The encoding-to-slot map that every VMREAD and VMWRITE goes through (SDM 3C 25.11.2, Appendix B). */
class VmcsLayoutTest {

    /** The model: a full access to a named field, or a high access (bit 0) to a 64-bit one. */
    private static Map<Integer, VmcsField> supported() {
        Map<Integer, VmcsField> m = new HashMap<>();
        for (VmcsField f : VmcsField.values()) {
            m.put(f.encoding(), f);
            if (((f.encoding() >>> 13) & 3) == VmcsLayout.WIDTH_64) {
                m.put(f.encoding() | 1, f);
            }
        }
        return m;
    }

    @Test
    void everyEncodingBelow2To16MapsToItsFieldsSlotOrIsUnsupported() {
        Map<Integer, VmcsField> supported = supported();
        int found = 0;
        for (int encoding = 0; encoding < 0x1_0000; encoding++) {
            int slot = VmcsLayout.slot(encoding);
            VmcsField field = supported.get(encoding);
            if (field == null) {
                assertEquals(-1, slot, String.format("0x%04x names no supported component (error 12)", encoding));
                continue;
            }
            found++;
            assertEquals(VmcsLayout.slot(field), slot, field.name());
            assertEquals((encoding >>> 13) & 3, VmcsLayout.widthOfSlot(slot), field.name());
            assertEquals((encoding >>> 10) & 3, VmcsLayout.typeOfSlot(slot), field.name());
            assertTrue(VmcsLayout.regionOffset(slot) >= VmcsLayout.OFFSET_FIELDS, field.name());
        }
        assertEquals(supported.size(), found);
    }

    @Test
    void reservedBitsMakeAnyEncodingUnsupported() {
        for (VmcsField f : VmcsField.values()) {
            assertEquals(-1, VmcsLayout.slot(f.encoding() | 1 << 12), f.name() + " with bit 12");
            for (int bit = 15; bit < 32; bit++) {
                assertEquals(-1, VmcsLayout.slot(f.encoding() | 1 << bit), f.name() + " with bit " + bit);
            }
        }
    }

    @Test
    void distinctFieldsHaveDistinctSlotsAndRegionOffsets() {
        Set<Integer> slots = new HashSet<>();
        Set<Integer> offsets = new HashSet<>();
        for (VmcsField f : VmcsField.values()) {
            int slot = VmcsLayout.slot(f.encoding());
            assertTrue(slot >= 0 && slot < VmcsLayout.SLOTS, f.name());
            assertTrue(slots.add(slot), f.name() + " shares slot " + slot);
            int offset = VmcsLayout.regionOffset(slot);
            assertTrue(offsets.add(offset), f.name() + " shares region offset " + offset);
            assertTrue(offset + VmcsLayout.bytesOfWidth(VmcsLayout.widthOfSlot(slot)) <= VmcsLayout.FIELDS_END, f.name());
        }
    }
}
