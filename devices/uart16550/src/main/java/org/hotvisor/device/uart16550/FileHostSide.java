package org.hotvisor.device.uart16550;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.IntPredicate;

/** Output to a file (truncated when the port opens), flushed at each line end; no input. */
final class FileHostSide implements HostSide {
    private static final System.Logger LOG = System.getLogger(FileHostSide.class.getName());
    private static final int LINE_FEED = '\n';

    private final Path file;
    private OutputStream out;

    FileHostSide(Path file) throws IOException {
        this.file = file;
        this.out = new BufferedOutputStream(Files.newOutputStream(file));
    }

    @Override
    public void transmit(int character) {
        if (out == null) {
            return;
        }
        try {
            out.write(character);
            if (character == LINE_FEED) {
                out.flush();
            }
        } catch (IOException e) {
            // The guest sees a cable that went dead; the host keeps running.
            LOG.log(System.Logger.Level.WARNING, "serial output to " + file + " failed; further output is dropped", e);
            closeQuietly();
        }
    }

    @Override
    public void start(IntPredicate receiver) {
    }

    @Override
    public void close() {
        closeQuietly();
    }

    private void closeQuietly() {
        OutputStream o = out;
        out = null;
        if (o != null) {
            try {
                o.close();
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "closing " + file + " failed", e);
            }
        }
    }
}
