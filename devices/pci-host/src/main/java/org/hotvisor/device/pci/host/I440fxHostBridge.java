package org.hotvisor.device.pci.host;

/**
 * The Intel 82441FX PCI and Memory Controller (i440FX) as QEMU's PC machine shows it at
 * bus 0, device 0, function 0: vendor 8086h, device 1237h, revision 02h, class 06/00/00 (host
 * bridge), header type 0. Like QEMU it reports subsystem 1AF4h:1100h, SMRAM (72h) 02h, and the
 * RAM size in 8 MiB units at 57h (a register old coreboot reads).
 *
 * <p>Memory-mapping registers are plain storage: PAM0-PAM6 (59h-5Fh) and SMRAM read back what
 * was written but map nothing, since Hotvisor has no shadow BIOS ROM or SMRAM to switch.
 */
final class I440fxHostBridge extends ConfigSpace {
    static final int VENDOR_INTEL = 0x8086;
    static final int DEVICE_82441 = 0x1237;
    static final int REVISION = 0x02;
    static final int CLASS_BRIDGE = 0x06;
    static final int SUBCLASS_HOST = 0x00;
    /** QEMU's default subsystem IDs (Red Hat/Qumranet, QEMU). */
    static final int SUBSYSTEM_VENDOR_QEMU = 0x1AF4;
    static final int SUBSYSTEM_QEMU = 0x1100;

    /** 82441FX device-specific registers. */
    static final int RAM_SIZE_8M = 0x57;
    static final int PAM0 = 0x59;
    static final int PAM_COUNT = 7;
    static final int SMRAM = 0x72;
    static final int SMRAM_RESET = 0x02;
    static final long RAM_SIZE_UNIT = 8L << 20;
    static final int RAM_SIZE_MAX_UNITS = 0xFF;

    /** Command register bits software may set: I/O space, memory space, bus master, parity, SERR#, INTx disable. */
    static final int COMMAND_WRITABLE = 0x0547;
    private static final int ALL_BITS = 0xFF;

    I440fxHostBridge(long ramSize) {
        set16(VENDOR_ID, VENDOR_INTEL);
        set16(DEVICE_ID, DEVICE_82441);
        set8(REVISION_ID, REVISION);
        set8(CLASS_SUBCLASS, SUBCLASS_HOST);
        set8(CLASS_BASE, CLASS_BRIDGE);
        set8(HEADER_TYPE, HEADER_TYPE_NORMAL);
        set16(SUBSYSTEM_VENDOR_ID, SUBSYSTEM_VENDOR_QEMU);
        set16(SUBSYSTEM_ID, SUBSYSTEM_QEMU);
        set8(RAM_SIZE_8M, (int) Math.min(RAM_SIZE_MAX_UNITS, ramSize / RAM_SIZE_UNIT));
        set8(SMRAM, SMRAM_RESET);
        writable16(COMMAND, COMMAND_WRITABLE);
        writable8(LATENCY_TIMER, ALL_BITS);
        for (int i = 0; i < PAM_COUNT; i++) {
            writable8(PAM0 + i, ALL_BITS);
        }
        writable8(SMRAM, ALL_BITS);
    }

    @Override
    public String toString() {
        return "i440FX host bridge 8086:1237";
    }
}
