package org.hotvisor.device.pci.host;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class PciHostTest {
    private static final int ADDR = 0xCF8;
    private static final int DATA = 0xCFC;
    private final PciHost host = new PciHost(PciHost.DEFAULT_BASE);

    PciHostTest() {
        host.attach(0, 0, new I440fxHostBridge(128L << 20));
    }

    private static int address(int bus, int device, int function, int register) {
        return PciHost.ENABLE | bus << 16 | device << 11 | function << 8 | register;
    }

    private int readDword(int bus, int device, int function, int register) {
        host.ioWrite(ADDR, 4, address(bus, device, function, register));
        return host.ioRead(DATA, 4);
    }

    @Test
    void hostBridgeIdentifiesAsI440fx() {
        assertEquals(0x1237_8086, readDword(0, 0, 0, 0x00));
        assertEquals(0x0600_0002, readDword(0, 0, 0, 0x08), "class 06/00/00, revision 02");
        assertEquals(0x00, (readDword(0, 0, 0, 0x0C) >>> 16) & 0xFF, "header type 0");
        assertEquals(0x1100_1AF4, readDword(0, 0, 0, 0x2C), "QEMU's subsystem IDs");
        assertEquals(16, readDword(0, 0, 0, 0x54) >>> 24, "RAM size in 8 MiB units at 0x57");
    }

    @Test
    void byteAndWordAccessesUseTheirLanes() {
        host.ioWrite(ADDR, 4, address(0, 0, 0, 0x00));
        assertEquals(0x86, host.ioRead(DATA, 1));
        assertEquals(0x80, host.ioRead(DATA + 1, 1));
        assertEquals(0x37, host.ioRead(DATA + 2, 1));
        assertEquals(0x12, host.ioRead(DATA + 3, 1));
        assertEquals(0x8086, host.ioRead(DATA, 2));
        assertEquals(0x1237, host.ioRead(DATA + 2, 2));
        host.ioWrite(ADDR, 4, address(0, 0, 0, 0x08));
        assertEquals(0x06, host.ioRead(DATA + 3, 1));
    }

    @Test
    void aWordReadAtTheLastLaneHasOnesBeyondConfigData() {
        host.ioWrite(ADDR, 4, address(0, 0, 0, 0x00));
        assertEquals(0xFF12, host.ioRead(DATA + 3, 2));
    }

    @Test
    void otherFunctionsBusesAndTheDisabledMechanismReadAllOnes() {
        assertEquals(-1, readDword(0, 1, 0, 0));
        assertEquals(-1, readDword(0, 0, 1, 0));
        assertEquals(-1, readDword(1, 0, 0, 0));
        host.ioWrite(ADDR, 4, 0x0000_0000); // enable bit clear
        assertEquals(-1, host.ioRead(DATA, 4));
        assertEquals(0xFFFF, host.ioRead(DATA, 2));
        assertEquals(0xFF, host.ioRead(DATA + 1, 1));
        host.ioWrite(DATA, 4, 0x1234); // goes nowhere
    }

    @Test
    void onlyDwordWritesSetConfigAddressAndItReadsBack() {
        host.ioWrite(ADDR, 4, 0x8000_1234);
        host.ioWrite(ADDR, 1, 0x55);
        host.ioWrite(ADDR + 1, 2, 0x55);
        assertEquals(0x8000_1234, host.ioRead(ADDR, 4));
        assertEquals(0x12, host.ioRead(ADDR + 1, 1));
        assertEquals(0x8000, host.ioRead(ADDR + 2, 2));
        assertEquals(2, host.ignoredAddressWrites);
    }

    @Test
    void writableRegistersKeepWritesAndIdentityIsReadOnly() {
        host.ioWrite(ADDR, 4, address(0, 0, 0, 0x00));
        host.ioWrite(DATA, 4, 0);
        assertEquals(0x1237_8086, host.ioRead(DATA, 4), "vendor and device are read-only");
        host.ioWrite(ADDR, 4, address(0, 0, 0, 0x04));
        host.ioWrite(DATA, 2, 0xFFFF);
        assertEquals(I440fxHostBridge.COMMAND_WRITABLE, host.ioRead(DATA, 2));
        host.ioWrite(ADDR, 4, address(0, 0, 0, 0x58));
        host.ioWrite(DATA + 1, 1, 0x30); // PAM0: enable BIOS shadow read/write, as SeaBIOS does
        assertEquals(0x30, host.ioRead(DATA + 1, 1));
        host.ioWrite(ADDR, 4, address(0, 0, 0, 0x70));
        assertEquals(0x02, host.ioRead(DATA + 2, 1), "SMRAM at reset");
    }

    @Test
    void moreFunctionsCanBeAttached() {
        host.attach(1, 0, new ConfigSpace() {
            {
                set16(VENDOR_ID, 0x1234);
                set16(DEVICE_ID, 0x1111);
            }
        });
        assertEquals(0x1111_1234, readDword(0, 1, 0, 0));
    }

    @Test
    void portsComeFromConfigurationWithAFallback() {
        assertEquals(0xCF8, PciHostComponent.basePort("0xcf8-0xcff"));
        assertEquals(0xCF8, PciHostComponent.basePort("bad"));
        assertEquals(0xCF8, PciHostComponent.basePort("0xfffc"));
    }
}
