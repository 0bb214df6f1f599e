package org.hotvisor.exit.cpuid;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * An immutable, precomputed CPUID table (SDM Vol. 2A, CPUID instruction, Table 3-8). Built from
 * the configuration off the vCPU thread; the hot path only indexes {@link #rows}.
 *
 * <p>Every leaf is one row of four ints (EAX, EBX, ECX, EDX) in a flat array. Per-vCPU values
 * (the initial APIC ID in leaf 1 EBX[31:24] and leaf 0xB EDX, the echoed subleaf of leaf 0xB)
 * are patched in by {@link #lookup} arithmetically, so a lookup allocates nothing.
 */
final class CpuModel {
    static final String DEFAULT_VENDOR = "GenuineIntel";
    static final String DEFAULT_BRAND = "Hotvisor Virtual CPU @ 1.00GHz";

    /**
     * Our hypervisor signature in leaf 0x40000000 EBX, ECX, EDX (12 ASCII bytes, like KVM's
     * "KVMKVMKVM\0\0\0"): guests that look for a known hypervisor find "HotvisorVMX!".
     */
    static final String HYPERVISOR_SIGNATURE = "HotvisorVMX!";
    /**
     * Leaf 0x40000001 EAX: the Hotvisor paravirtual interface revision. Revision 1 defines no
     * paravirtual features (EBX = Hotvisor version 0x00MMmmpp, ECX = EDX = 0 feature bits).
     */
    static final int HYPERVISOR_INTERFACE_REVISION = 1;
    static final int HOTVISOR_VERSION = 0x00_00_01_00; // 0.1.0

    static final int REGS = 4;
    static final int EAX = 0, EBX = 1, ECX = 2, EDX = 3;

    // Leaf numbers.
    static final int LEAF_VENDOR = 0x0;
    static final int LEAF_VERSION_FEATURES = 0x1;
    static final int LEAF_CACHE_DESCRIPTORS = 0x2;
    static final int LEAF_CACHE_PARAMETERS = 0x4;
    static final int LEAF_STRUCTURED_FEATURES = 0x7;
    static final int LEAF_TOPOLOGY = 0xB;
    /** Processor extended state enumeration (SDM Vol. 2A, CPUID leaf 0DH). */
    static final int LEAF_XSAVE = 0xD;
    /** The highest basic leaf implemented; CPUID.0:EAX. */
    static final int MAX_BASIC_LEAF = LEAF_XSAVE;
    /** Leaf 0xD subleaves 0 (XCR0 features, sizes) and 1 (XSAVE extensions, IA32_XSS), then row 2 = component 10 (PASID). */
    static final int XSAVE_MAIN_SUBLEAF = 0, XSAVE_EXTENSIONS_SUBLEAF = 1, XSAVE_SUBLEAVES = 3;
    private static final int XSAVE_PASID_ROW = 2;
    static final int HYPERVISOR_BASE = 0x4000_0000;
    static final int HYPERVISOR_MAX = 0x4000_0001;
    static final int EXTENDED_BASE = 0x8000_0000;
    static final int EXT_FEATURES = 0x8000_0001;
    static final int EXT_BRAND_FIRST = 0x8000_0002;
    static final int EXT_L2_CACHE = 0x8000_0006;
    static final int EXT_ADDRESS_SIZES = 0x8000_0008;
    static final int EXTENDED_MAX = EXT_ADDRESS_SIZES;

    // Leaf 1 EAX version fields (SDM Vol. 2A Figure 3-6 "Version Information Returned by CPUID in EAX").
    private static final int STEPPING_SHIFT = 0;
    private static final int MODEL_SHIFT = 4;
    private static final int FAMILY_SHIFT = 8;
    private static final int EXT_MODEL_SHIFT = 16;
    private static final int EXT_FAMILY_SHIFT = 20;
    private static final int FAMILY_USES_EXTENDED = 0xF;
    static final int MAX_FAMILY = FAMILY_USES_EXTENDED + 0xFF;

    // Leaf 1 EBX fields.
    private static final int CLFLUSH_LINE_SHIFT = 8;
    private static final int MAX_LOGICAL_IDS_SHIFT = 16;
    static final int INITIAL_APIC_ID_SHIFT = 24;

    /**
     * Leaf 2 cache and TLB descriptors (SDM Vol. 2A, Table 3-12), a Pentium III-like hierarchy:
     * AL = 01 (execute leaf 2 once); 01H ITLB 4K 4-way 32 entries, 02H ITLB 4M 2 entries,
     * 03H DTLB 4K 4-way 64 entries; EDX: 43H L2 512K 4-way 32-byte lines, 08H L1I 16K 4-way
     * 32-byte lines, 04H DTLB 4M 4-way 8 entries, 0CH L1D 16K 4-way 32-byte lines.
     * Bit 31 of each register clear = the register holds valid descriptors.
     */
    static final int LEAF2_EAX = 0x0302_0101;
    static final int LEAF2_EDX = 0x0C04_0843;

    /** The caches leaf 4 describes; must agree with the leaf 2 descriptors and leaf 0x80000006. */
    private static final Cache[] CACHES = {
        new Cache(Cache.DATA, 1, 16 * 1024, 4, 32),
        new Cache(Cache.INSTRUCTION, 1, 16 * 1024, 4, 32),
        new Cache(Cache.UNIFIED, 2, 512 * 1024, 4, 32),
    };
    private static final Cache L2 = CACHES[2];
    /** Leaf 0x80000006 ECX[15:12] associativity encoding for 4 ways (SDM Vol. 2A, CPUID leaf 80000006H). */
    private static final int L2_ASSOC_4_WAY = 0x4;

    // Leaf 0xB level types (SDM Vol. 2A, CPUID leaf 0BH, ECX[15:8]).
    private static final int LEVEL_INVALID = 0;
    private static final int LEVEL_SMT = 1;
    private static final int LEVEL_CORE = 2;
    private static final int LEVEL_TYPE_SHIFT = 8;
    static final int LEVEL_NUMBER_MASK = 0xFF;

    final String vendor;
    final String brand;
    /** Non-fatal configuration problems found while building, for the log. */
    final List<String> problems;

    final int[] rows;
    private final int leaf4Offset;
    private final int leaf4Count;
    private final int leaf7Offset;
    private final int leafBOffset;
    private final int leafBCount;
    private final int leafDOffset;
    /** Leaf 1 ECX advertises XSAVE (then leaf 0xD is filled and OSXSAVE reflects CR4). */
    final boolean xsave;
    private final int hypervisorOffset;
    private final int extendedOffset;
    private final int zeroRow;
    private final boolean hypervisorLeaves;

    private record Cache(int type, int level, int sizeBytes, int ways, int lineBytes) {
        static final int DATA = 1, INSTRUCTION = 2, UNIFIED = 3;

        int sets() {
            return sizeBytes / (ways * lineBytes);
        }
    }

    static CpuModel defaults() {
        return from(Map.of());
    }

    /** Builds the model from ConfigAdmin properties; bad values keep their defaults and are listed in {@link #problems}. */
    static CpuModel from(Map<String, ?> properties) {
        return new CpuModel(properties);
    }

    private CpuModel(Map<String, ?> properties) {
        List<String> found = new java.util.ArrayList<>();
        ConfigValues cfg = new ConfigValues(properties, found);

        vendor = fixedAscii(cfg.string("vendor", DEFAULT_VENDOR), 12, ' ', "vendor", found);
        brand = cfg.string("brand", DEFAULT_BRAND);
        int family = cfg.bounded("family", 6, 0, MAX_FAMILY);
        int model = cfg.bounded("model", 1, 0, 0xFF);
        int stepping = cfg.bounded("stepping", 0, 0, 0xF);
        int leaf1Edx = cfg.word("leaf1.edx", CpuFeatures.DEFAULT_LEAF1_EDX);
        int leaf1Ecx = cfg.word("leaf1.ecx", CpuFeatures.DEFAULT_LEAF1_ECX);
        int leaf7Ebx = cfg.word("leaf7.ebx", CpuFeatures.DEFAULT_LEAF7_EBX);
        int leaf7Ecx = cfg.word("leaf7.ecx", 0);
        int leaf7Edx = cfg.word("leaf7.edx", 0);
        int ext1Ecx = cfg.word("ext1.ecx", CpuFeatures.DEFAULT_EXT1_ECX);
        int ext1Edx = cfg.word("ext1.edx", CpuFeatures.DEFAULT_EXT1_EDX);
        int physicalBits = cfg.bounded("physical.address.bits", 36, 32, 52);
        int linearBits = cfg.bounded("linear.address.bits", CpuFeatures.DEFAULT_LINEAR_BITS, 32, 57);
        int logicalProcessors = cfg.bounded("logical.processors", 1, 1, 255);

        if (model > 0xF && family != 6 && family < FAMILY_USES_EXTENDED) {
            found.add("model=0x" + Integer.toHexString(model) + " needs family 6 or >= 0xF (extended model field); using model "
                    + (model & 0xF));
            model &= 0xF;
        }
        if (logicalProcessors > 1) {
            leaf1Edx |= CpuFeatures.EDX_HTT; // EBX[23:16] becomes meaningful
        }

        leaf4Count = CACHES.length + 1; // the last subleaf is the null cache type that ends enumeration
        leafBCount = 2;                 // SMT and core levels; higher subleaves are invalid levels
        int basicRows = MAX_BASIC_LEAF + 1;
        leaf4Offset = basicRows * REGS;
        leaf7Offset = leaf4Offset + leaf4Count * REGS;
        leafBOffset = leaf7Offset + REGS;
        leafDOffset = leafBOffset + (leafBCount + 1) * REGS;
        hypervisorOffset = leafDOffset + XSAVE_SUBLEAVES * REGS;
        extendedOffset = hypervisorOffset + (HYPERVISOR_MAX - HYPERVISOR_BASE + 1) * REGS;
        zeroRow = extendedOffset + (EXTENDED_MAX - EXTENDED_BASE + 1) * REGS;
        rows = new int[zeroRow + REGS];

        // Leaf 0: highest basic leaf and the vendor string in EBX, EDX, ECX order.
        byte[] v = vendor.getBytes(StandardCharsets.US_ASCII);
        put(basic(LEAF_VENDOR), MAX_BASIC_LEAF, le32(v, 0), le32(v, 8), le32(v, 4));

        // Leaf 1: version, brand index / CLFLUSH size / logical IDs, features.
        int version = stepping << STEPPING_SHIFT;
        int displayFamily = Math.min(family, FAMILY_USES_EXTENDED);
        version |= displayFamily << FAMILY_SHIFT;
        if (family >= FAMILY_USES_EXTENDED) {
            version |= (family - FAMILY_USES_EXTENDED) << EXT_FAMILY_SHIFT;
        }
        version |= (model & 0xF) << MODEL_SHIFT | (model >> 4) << EXT_MODEL_SHIFT;
        int ebx1 = 0;
        if ((leaf1Edx & CpuFeatures.EDX_CLFSH) != 0) {
            ebx1 |= (L2.lineBytes() / 8) << CLFLUSH_LINE_SHIFT; // in 8-byte units
        }
        if ((leaf1Edx & CpuFeatures.EDX_HTT) != 0) {
            ebx1 |= Integer.highestOneBit(logicalProcessors * 2 - 1) << MAX_LOGICAL_IDS_SHIFT; // next power of two
        }
        put(basic(LEAF_VERSION_FEATURES), version, ebx1, leaf1Ecx, leaf1Edx);

        put(basic(LEAF_CACHE_DESCRIPTORS), LEAF2_EAX, 0, 0, LEAF2_EDX);

        // Leaf 4: deterministic cache parameters, "plus one" encodings (SDM Vol. 2A, CPUID leaf 04H).
        int coreIdsMinusOne = logicalProcessors - 1;
        for (int i = 0; i < CACHES.length; i++) {
            Cache c = CACHES[i];
            int eax = c.type() | c.level() << 5 | 1 << 8 /* self-initializing */ | coreIdsMinusOne << 26;
            int ebx = (c.lineBytes() - 1) | 0 << 12 /* one partition */ | (c.ways() - 1) << 22;
            put(leaf4Offset + i * REGS, eax, ebx, c.sets() - 1, 0);
        }
        // Leaf 4 row 0 in the basic table is never read: subleaf rows are.
        // Leaf 7 subleaf 0: EAX = highest subleaf (0), then the structured feature words.
        put(leaf7Offset, 0, leaf7Ebx, leaf7Ecx, leaf7Edx);

        // Leaf 0xB: one thread per core (SMT shift 0), logicalProcessors cores per package.
        int coreShift = 32 - Integer.numberOfLeadingZeros(logicalProcessors - 1); // ceil(log2)
        put(leafBOffset, 0, 1, 0 | LEVEL_SMT << LEVEL_TYPE_SHIFT, 0);
        put(leafBOffset + REGS, coreShift, logicalProcessors, 1 | LEVEL_CORE << LEVEL_TYPE_SHIFT, 0);
        put(leafBOffset + 2 * REGS, 0, 0, LEVEL_INVALID << LEVEL_TYPE_SHIFT, 0); // ECX[7:0] echoed at lookup

        // Leaf 0xD, only with XSAVE: x87 is the one state component; XSAVES (subleaf 1 EAX bit 3)
        // is added per CPUID from the VMCS controls. OSXSAVE is never configured: CPUID copies CR4.
        leaf1Ecx &= ~CpuFeatures.ECX_OSXSAVE;
        rows[basic(LEAF_VERSION_FEATURES) + ECX] = leaf1Ecx;
        xsave = (leaf1Ecx & CpuFeatures.ECX_XSAVE) != 0;
        if (xsave) {
            put(leafDOffset, (int) CpuFeatures.SUPPORTED_XCR0, CpuFeatures.XSAVE_AREA_SIZE, CpuFeatures.XSAVE_AREA_SIZE,
                    (int) (CpuFeatures.SUPPORTED_XCR0 >>> 32));
            // subleaf 1: EBX and ECX/EDX (IA32_XSS bits) are filled per CPUID only when the VMCS
            // enables XSAVES (CpuidExitHandler); without it IA32_XSS is not enumerated
            put(leafDOffset + REGS, CpuFeatures.XSAVE_SUBLEAF1_XSAVEOPT | CpuFeatures.XSAVE_SUBLEAF1_XSAVEC,
                    CpuFeatures.XSAVE_AREA_SIZE, 0, 0);
            put(leafDOffset + XSAVE_PASID_ROW * REGS, CpuFeatures.PASID_STATE_SIZE, 0, CpuFeatures.SUBLEAF_SUPERVISOR, 0);
        }

        // Hypervisor leaves, present only with the hypervisor bit.
        hypervisorLeaves = (leaf1Ecx & CpuFeatures.ECX_HYPERVISOR) != 0;
        byte[] sig = HYPERVISOR_SIGNATURE.getBytes(StandardCharsets.US_ASCII);
        put(hypervisorOffset, HYPERVISOR_MAX, le32(sig, 0), le32(sig, 4), le32(sig, 8));
        put(hypervisorOffset + REGS, HYPERVISOR_INTERFACE_REVISION, HOTVISOR_VERSION, 0, 0);

        // Extended leaves. On Intel, 0x80000000 EBX/ECX/EDX and 0x80000001 EAX/EBX are reserved (0).
        put(extended(EXTENDED_BASE), EXTENDED_MAX, 0, 0, 0);
        put(extended(EXT_FEATURES), 0, 0, ext1Ecx, ext1Edx);
        byte[] b = brandBytes(brand, found);
        for (int i = 0; i < 3; i++) {
            put(extended(EXT_BRAND_FIRST + i), le32(b, 16 * i), le32(b, 16 * i + 4), le32(b, 16 * i + 8), le32(b, 16 * i + 12));
        }
        put(extended(EXT_L2_CACHE), 0, 0, (L2.sizeBytes() / 1024) << 16 | L2_ASSOC_4_WAY << 12 | L2.lineBytes(), 0);
        put(extended(EXT_ADDRESS_SIZES), physicalBits | linearBits << 8, 0, 0, 0);

        problems = List.copyOf(found);
    }

    private int basic(int leaf) {
        return leaf * REGS;
    }

    private int extended(int leaf) {
        return extendedOffset + (leaf - EXTENDED_BASE) * REGS;
    }

    private void put(int offset, int eax, int ebx, int ecx, int edx) {
        rows[offset + EAX] = eax;
        rows[offset + EBX] = ebx;
        rows[offset + ECX] = ecx;
        rows[offset + EDX] = edx;
    }

    /**
     * The leaf the processor actually answers. SDM Vol. 2A, CPUID: "If a value entered for CPUID.EAX
     * is higher than the maximum input value for basic or extended function for that processor then
     * the data for the highest basic information leaf is returned." The hypervisor range counts as
     * a class of its own (as KVM does), present only while leaf 1 ECX[31] is set.
     */
    int effectiveLeaf(int leaf) {
        if (Integer.compareUnsigned(leaf, MAX_BASIC_LEAF) <= 0) {
            return leaf;
        }
        if (hypervisorLeaves && Integer.compareUnsigned(leaf, HYPERVISOR_BASE) >= 0
                && Integer.compareUnsigned(leaf, HYPERVISOR_MAX) <= 0) {
            return leaf;
        }
        if (Integer.compareUnsigned(leaf, EXTENDED_BASE) >= 0 && Integer.compareUnsigned(leaf, EXTENDED_MAX) <= 0) {
            return leaf;
        }
        return MAX_BASIC_LEAF;
    }

    /**
     * The offset in {@link #rows} of the row for an effective leaf and subleaf. Leaves within range
     * that are not implemented (3, 5, 6, 8-0xA, 0x80000005, 0x80000007) return zeros, as the SDM says.
     */
    int row(int leaf, int subleaf) {
        switch (leaf) {
            case LEAF_CACHE_PARAMETERS:
                return Integer.compareUnsigned(subleaf, leaf4Count) < 0 ? leaf4Offset + subleaf * REGS : zeroRow;
            case LEAF_STRUCTURED_FEATURES:
                return subleaf == 0 ? leaf7Offset : zeroRow;
            case LEAF_TOPOLOGY:
                return leafBOffset + (Integer.compareUnsigned(subleaf, leafBCount) < 0 ? subleaf : leafBCount) * REGS;
            case LEAF_XSAVE:
                if (subleaf == CpuFeatures.PASID_SUBLEAF) {
                    return leafDOffset + XSAVE_PASID_ROW * REGS;
                }
                return Integer.compareUnsigned(subleaf, XSAVE_PASID_ROW) < 0 ? leafDOffset + subleaf * REGS : zeroRow;
            default:
                if (Integer.compareUnsigned(leaf, MAX_BASIC_LEAF) <= 0) {
                    return basic(leaf);
                }
                if (Integer.compareUnsigned(leaf, EXTENDED_BASE) >= 0) {
                    return extended(leaf);
                }
                return hypervisorOffset + (leaf - HYPERVISOR_BASE) * REGS;
        }
    }

    // ---- helpers used only while building ----

    private static int le32(byte[] bytes, int offset) {
        return (bytes[offset] & 0xFF) | (bytes[offset + 1] & 0xFF) << 8 | (bytes[offset + 2] & 0xFF) << 16
                | (bytes[offset + 3] & 0xFF) << 24;
    }

    /** Exactly {@code length} printable ASCII characters: padded or truncated, non-ASCII replaced by '?'. */
    private static String fixedAscii(String text, int length, char pad, String key, List<String> problems) {
        StringBuilder sb = new StringBuilder(length);
        for (int i = 0; i < text.length() && sb.length() < length; i++) {
            char c = text.charAt(i);
            sb.append(c >= 0x20 && c < 0x7F ? c : '?');
        }
        if (text.length() != length) {
            problems.add(key + "='" + text + "' is not " + length + " characters; using '" + sb + "' (padded/truncated)");
        }
        while (sb.length() < length) {
            sb.append(pad);
        }
        return sb.toString();
    }

    /** The 48-byte brand string: at most 47 characters and a NUL terminator, NUL-padded (SDM Vol. 2A, CPUID 80000002H-80000004H). */
    private static byte[] brandBytes(String brand, List<String> problems) {
        byte[] out = new byte[48];
        int max = out.length - 1;
        if (brand.length() > max) {
            problems.add("brand is longer than " + max + " characters; truncated");
        }
        for (int i = 0; i < Math.min(brand.length(), max); i++) {
            char c = brand.charAt(i);
            out[i] = (byte) (c >= 0x20 && c < 0x7F ? c : '?');
        }
        return out;
    }
}
