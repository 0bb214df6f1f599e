package org.hotvisor.kernel.vm;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.function.IntConsumer;
import org.hotvisor.api.device.HostConsole;

/**
 * Guest output to the host's stdout (headless) or the console's terminal. Output is buffered and
 * flushed at each newline, and at every byte when interactive so prompts show at once.
 */
public final class HostConsoleImpl implements HostConsole {
    private final OutputStream out;
    private final boolean interactive;
    private final byte[] buffer = new byte[8192];
    private int used;
    private volatile IntConsumer input;

    public HostConsoleImpl(boolean interactive) {
        this(new FileOutputStream(FileDescriptor.out), interactive);
    }

    public HostConsoleImpl(OutputStream out, boolean interactive) {
        this.out = out;
        this.interactive = interactive;
    }

    @Override
    public synchronized void write(int b) {
        buffer[used++] = (byte) b;
        if (used == buffer.length || b == '\n' || interactive) {
            flush();
        }
    }

    @Override
    public synchronized void flush() {
        if (used == 0) {
            return;
        }
        try {
            out.write(buffer, 0, used);
            out.flush();
        } catch (IOException e) {
            // stdout closed (a pipe reader left): guest output is dropped, the guest runs on
        }
        used = 0;
    }

    /** A line from the VMM itself (handler fault reports) on the same stream, after pending guest output. */
    public synchronized void report(String line) {
        flush();
        System.err.println("hotvisor: " + line);
    }

    @Override
    public void setInputListener(IntConsumer listener) {
        input = listener;
    }

    /** Feeds one byte of host input to the registered device, if any. Returns whether one took it. */
    public boolean input(int b) {
        IntConsumer l = input;
        if (l == null) {
            return false;
        }
        l.accept(b);
        return true;
    }
}
