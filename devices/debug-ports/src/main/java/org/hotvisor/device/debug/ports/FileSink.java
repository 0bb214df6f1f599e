package org.hotvisor.device.debug.ports;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** Device output to a file (truncated on open). An I/O error is logged once and output stops: the guest never sees it. */
final class FileSink {
    private static final System.Logger LOG = System.getLogger(FileSink.class.getName());

    private final Path file;
    private OutputStream out;

    FileSink(Path file) throws IOException {
        this.file = file;
        this.out = new BufferedOutputStream(Files.newOutputStream(file));
    }

    void write(int b) {
        if (out == null) {
            return;
        }
        try {
            out.write(b);
        } catch (IOException e) {
            fail(e);
        }
    }

    void flush() {
        if (out == null) {
            return;
        }
        try {
            out.flush();
        } catch (IOException e) {
            fail(e);
        }
    }

    void close() {
        OutputStream o = out;
        out = null;
        if (o != null) {
            try {
                o.close();
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "closing " + file, e);
            }
        }
    }

    private void fail(IOException e) {
        LOG.log(System.Logger.Level.WARNING, "output to " + file + " failed; further output is dropped", e);
        close();
    }
}
