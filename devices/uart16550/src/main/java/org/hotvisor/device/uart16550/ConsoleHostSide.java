package org.hotvisor.device.uart16550;

import java.util.function.IntPredicate;
import org.hotvisor.api.device.HostConsole;

/**
 * The launcher's terminal. The console decides when to flush (at each line end, and at every
 * byte when interactive so that prompts show at once); the UART only hands it characters.
 */
final class ConsoleHostSide implements HostSide {
    private final HostConsole console;

    ConsoleHostSide(HostConsole console) {
        this.console = console;
    }

    @Override
    public void transmit(int character) {
        console.write(character);
    }

    @Override
    public void start(IntPredicate receiver) {
        // Typed input that finds the ring full is dropped (and counted by the UART): a terminal has no flow control.
        console.setInputListener(receiver::test);
    }

    @Override
    public void close() {
        console.setInputListener(null);
    }
}
