package org.hotvisor.device.debug.ports;

import org.hotvisor.api.device.PortIoDevice;

/**
 * What every debug-port DS component does besides building its chip: hand the guest's port
 * accesses to the chip, and read its configured port with a fallback to the chip's default.
 */
abstract class PortComponent implements PortIoDevice {
    private static final System.Logger LOG = System.getLogger(PortComponent.class.getName());

    /** The chip, set by the subclass's activate method. */
    PortIoDevice device;

    /** The first port of a configured port list, or {@code fallback} (logged) if it does not parse. */
    static int portOr(String configured, int fallback, String deviceName) {
        int port = IsaBus.firstPort(configured);
        if (port < 0) {
            LOG.log(System.Logger.Level.ERROR, "{0}: bad port \"{1}\"; using 0x{2}", deviceName, configured,
                    Integer.toHexString(fallback));
            return fallback;
        }
        return port;
    }

    @Override
    public int ioRead(int port, int size) {
        return device.ioRead(port, size);
    }

    @Override
    public void ioWrite(int port, int size, int value) {
        device.ioWrite(port, size, value);
    }

    @Override
    public String toString() {
        return String.valueOf(device);
    }
}
