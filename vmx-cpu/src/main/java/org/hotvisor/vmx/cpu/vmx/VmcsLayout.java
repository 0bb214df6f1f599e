package org.hotvisor.vmx.cpu.vmx;

import org.hotvisor.api.vmx.VmcsField;

/**
 * Where every VMCS field lives: in the Java cache of the current VMCS (a dense slot computed from
 * the encoding) and in the VMCS region in host memory (Hotvisor's own format, SDM 3C 25.2: "the
 * format of the VMCS data is implementation-specific").
 *
 * <p><b>Field encoding</b> (SDM 3C 25.11.2, Appendix B): bit 0 access type (1 = high 32 bits of a
 * 64-bit field), bits 9:1 index, bits 11:10 type (control, VM-exit information, guest state, host
 * state), bit 12 reserved (0), bits 14:13 width (16-bit, 64-bit, 32-bit, natural), bits 31:15
 * reserved (0). Supported components are exactly the {@link VmcsField} constants (every field of
 * Appendix B the API names); any other encoding is an unsupported component (SDM 3C 31.4 error 12).
 *
 * <p><b>Cache slot</b>: {@code width << 8 | type << 6 | index} (index &lt; 64). A VMREAD/VMWRITE
 * computes it from the encoding's bits and tests one bit of a 16-word mask of supported indices
 * ({@link #slot(int)}): for a constant encoding the JIT folds all but that test, and the load of
 * the field's value does not wait for a table load. The hot paths of this package use the
 * constants of {@link Slot}.
 *
 * <p><b>VMCS region layout</b> (4096 bytes, little-endian, offsets in bytes):
 * <pre>
 *   0  int  VMCS revision identifier (bits 30:0) | shadow-VMCS indicator (bit 31)   SDM 3C 25.2
 *   4  int  VMX-abort indicator                                                    SDM 3C 25.2
 *   8  int  format tag 'HVMC' (0x434D5648): the region was initialised by VMCLEAR
 *  12  int  launch state: 0 clear, 1 launched, 2 launched when VMXOFF left VMX operation
 *  16..63   reserved (0)
 *  64      the fields, grouped by width then type, each group an array indexed by the
 *          encoding's index: 16-bit groups 32 x 2 bytes, 64-bit control group 64 x 8 bytes,
 *          other 64-bit groups 32 x 8, 32-bit groups 32 x 4, natural-width groups 32 x 8.
 *          The base of each group is {@link #regionOffset(int)}; the whole area ends at 3136.
 * </pre>
 */
public final class VmcsLayout {

    /** VMCS region size reported in IA32_VMX_BASIC bits 44:32 (SDM 3D A.1). */
    public static final int REGION_SIZE = 4096;

    public static final int OFFSET_REVISION = 0;
    public static final int OFFSET_ABORT_INDICATOR = 4;
    public static final int OFFSET_FORMAT_TAG = 8;
    public static final int OFFSET_LAUNCH_STATE = 12;
    public static final int OFFSET_FIELDS = 64;

    /** Marks a region whose field area was initialised by this implementation's VMCLEAR ("HVMC"). */
    public static final int FORMAT_TAG = 0x434D5648;

    public static final int LAUNCH_STATE_CLEAR = 0;
    public static final int LAUNCH_STATE_LAUNCHED = 1;
    /** Launched, then VMXOFF left VMX operation without VMCLEAR: VMRESUME fails with error 6. */
    public static final int LAUNCH_STATE_LAUNCHED_BEFORE_VMXOFF = 2;

    /** Shadow-VMCS indicator, bit 31 of the first word of a VMCS region (SDM 3C 25.2). */
    public static final int SHADOW_VMCS_INDICATOR = 1 << 31;

    static final int ENCODING_ACCESS_HIGH = 1;
    static final int ENCODING_INDEX_SHIFT = 1;
    static final int ENCODING_INDEX_MASK = 0x1FF;
    static final int ENCODING_TYPE_SHIFT = 10;
    static final int ENCODING_WIDTH_SHIFT = 13;

    public static final int WIDTH_16 = 0;
    public static final int WIDTH_64 = 1;
    public static final int WIDTH_32 = 2;
    public static final int WIDTH_NATURAL = 3;

    public static final int TYPE_CONTROL = 0;
    public static final int TYPE_EXIT_INFORMATION = 1;
    public static final int TYPE_GUEST_STATE = 2;
    public static final int TYPE_HOST_STATE = 3;

    /** Number of cache slots: 4 widths x 4 types x 64 indices. */
    public static final int SLOTS = 1024;
    private static final int SLOT_INDEX_LIMIT = 64;

    private static final int SMALL_GROUP = 32;
    private static final int LARGE_GROUP = 64;

    /** Per slot: region offset of a supported field, or -1 for an unsupported component. */
    private static final short[] REGION_OFFSET = new short[SLOTS];
    /** Bits 31:15 and bit 12 of an encoding: reserved (SDM 3C 25.11.2). */
    private static final int ENCODING_RESERVED = 0xFFFF_9000;
    /** Per (width, type) group: bit i set if index i names a supported field. */
    private static final long[] SUPPORTED_INDICES = new long[16];
    /** Per {@link VmcsField#ordinal()}: the slot (-1 if the field is beyond this layout). */
    private static final short[] SLOT_BY_ORDINAL = new short[VmcsField.values().length];
    /** Per width (16, 64, 32, natural): the bits a field keeps (SDM 3C 31.3 VMWRITE). */
    private static final long[] WIDTH_MASK = {0xFFFFL, -1L, 0xFFFF_FFFFL, -1L};
    /** Per (width, type): group base in the region. */
    private static final int[] GROUP_BASE = new int[16];
    private static final int[] GROUP_CAPACITY = new int[16];
    /** End of the field area in the region. */
    public static final int FIELDS_END;
    /** Highest index (encoding bits 9:1) of any supported field, for IA32_VMX_VMCS_ENUM (SDM 3D A.9). */
    public static final int HIGHEST_INDEX;

    static {
        int offset = OFFSET_FIELDS;
        for (int width = 0; width < 4; width++) {
            for (int type = 0; type < 4; type++) {
                int group = width << 2 | type;
                int capacity = width == WIDTH_64 && type == TYPE_CONTROL ? LARGE_GROUP : SMALL_GROUP;
                GROUP_BASE[group] = offset;
                GROUP_CAPACITY[group] = capacity;
                offset += capacity * bytesOfWidth(width);
            }
        }
        FIELDS_END = offset;
        java.util.Arrays.fill(REGION_OFFSET, (short) -1);
        int highest = 0;
        for (VmcsField field : VmcsField.values()) {
            int encoding = field.encoding();
            int index = (encoding >>> ENCODING_INDEX_SHIFT) & ENCODING_INDEX_MASK;
            int width = (encoding >>> ENCODING_WIDTH_SHIFT) & 3;
            int type = (encoding >>> ENCODING_TYPE_SHIFT) & 3;
            int group = width << 2 | type;
            if (index >= GROUP_CAPACITY[group]) {
                continue; // a field added to the API beyond this layout stays unsupported (error 12)
            }
            REGION_OFFSET[slotOf(width, type, index)] = (short) (GROUP_BASE[group] + index * bytesOfWidth(width));
            SUPPORTED_INDICES[group] |= 1L << index;
            highest = Math.max(highest, index);
        }
        HIGHEST_INDEX = highest;
        for (VmcsField field : VmcsField.values()) {
            SLOT_BY_ORDINAL[field.ordinal()] = (short) slot(field.encoding());
        }
    }

    private VmcsLayout() {
    }

    static int bytesOfWidth(int width) {
        return switch (width) {
            case WIDTH_16 -> 2;
            case WIDTH_32 -> 4;
            default -> 8;
        };
    }

    private static int slotOf(int width, int type, int index) {
        return width << 8 | type << 6 | index;
    }

    /**
     * The cache slot of a full-access or high-access encoding, or -1 if the encoding names no
     * supported component (reserved bits set, unknown field, or a high access to a field that is
     * not 64 bits wide).
     */
    public static int slot(int encoding) {
        int group = ((encoding >>> ENCODING_WIDTH_SHIFT) & 3) << 2 | ((encoding >>> ENCODING_TYPE_SHIFT) & 3);
        int index = (encoding >>> ENCODING_INDEX_SHIFT) & ENCODING_INDEX_MASK;
        if ((encoding & ENCODING_RESERVED) != 0 || index >= SLOT_INDEX_LIMIT
                || ((SUPPORTED_INDICES[group] >>> index) & 1) == 0
                || ((encoding & ENCODING_ACCESS_HIGH) != 0 && group >>> 2 != WIDTH_64)) { // SDM 3C 25.11.2: high access, 64-bit fields only
            return -1;
        }
        return group << 6 | index; // = slotOf(width, type, index)
    }

    /** The slot of a named field (always supported unless it is beyond this layout). */
    public static int slot(VmcsField field) {
        return SLOT_BY_ORDINAL[field.ordinal()];
    }

    public static boolean isHighAccess(int encoding) {
        return (encoding & ENCODING_ACCESS_HIGH) != 0;
    }

    public static int widthOfSlot(int slot) {
        return slot >>> 8;
    }

    public static int typeOfSlot(int slot) {
        return (slot >>> 6) & 3;
    }

    /** Offset of a supported slot's value in the VMCS region. */
    public static int regionOffset(int slot) {
        return REGION_OFFSET[slot];
    }

    /** Keeps the bits a field of this slot's width can hold (SDM 3C 31.3 VMWRITE: high bits ignored). */
    public static long truncate(int slot, long value) {
        return value & WIDTH_MASK[widthOfSlot(slot)];
    }
}
