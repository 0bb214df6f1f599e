package org.hotvisor.device.uart16550;

import java.util.function.IntPredicate;

/** The far end of the serial cable: where transmitted characters go and received ones come from. */
interface HostSide {
    /** A character the guest transmitted (vCPU thread; must not block for long). */
    void transmit(int character);

    /** Starts delivering host input to {@code receiver}, which returns false when it cannot take a byte now. */
    void start(IntPredicate receiver);

    /** Disconnects; idempotent. */
    void close();

    /** Output that goes nowhere and input that never comes: a port with no cable. */
    HostSide UNPLUGGED = new HostSide() {
        @Override
        public void transmit(int character) {
        }

        @Override
        public void start(IntPredicate receiver) {
        }

        @Override
        public void close() {
        }
    };
}
