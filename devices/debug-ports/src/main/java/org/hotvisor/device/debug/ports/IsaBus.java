package org.hotvisor.device.debug.ports;

/** What these 8-bit ISA devices share: the open-bus value and the port-list syntax. */
final class IsaBus {
    /** A byte lane no device drives reads as all ones. */
    static final int BYTE_MASK = 0xFF;
    private static final int BITS_PER_BYTE = 8;
    private static final int MAX_SIZE = 4;

    private IsaBus() {
    }

    /** All ones at the width of an access of {@code size} bytes: what an undriven bus reads. */
    static int openBus(int size) {
        return -1 >>> (Integer.SIZE - BITS_PER_BYTE * Math.max(1, Math.min(size, MAX_SIZE)));
    }

    /** The first port of a {@code "0xf4-0xf7"} style list, or -1 if it does not parse. */
    static int firstPort(String ports) {
        if (ports == null) {
            return -1;
        }
        try {
            int port = Integer.decode(ports.split("[,-]", 2)[0].trim());
            return port >= 0 && port <= 0xFFFF ? port : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
