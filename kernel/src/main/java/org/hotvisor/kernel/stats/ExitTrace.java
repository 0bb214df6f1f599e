package org.hotvisor.kernel.stats;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.Writer;
import java.util.Locale;
import org.hotvisor.api.ExitReason;

/**
 * The exit trace: one JSON line per exit with the sequence number, reason number and name,
 * qualification, instruction length, guest RIP, handling bundle and handler nanoseconds.
 * Off by default; when on, it costs a formatted line per exit.
 */
public final class ExitTrace implements AutoCloseable {
    private final Writer out;
    private volatile int[] reasonFilter; // null = all

    public ExitTrace(Writer out) {
        this.out = out instanceof BufferedWriter ? out : new BufferedWriter(out, 1 << 16);
    }

    /** Restricts the trace to some basic reasons (null or empty: all). */
    public void filter(int[] reasons) {
        reasonFilter = reasons == null || reasons.length == 0 ? null : reasons.clone();
    }

    public void exit(long seq, int rawReason, long qualification, int length, long rip, String bundle, long nanos) {
        int basic = rawReason & 0xFFFF;
        int[] f = reasonFilter;
        if (f != null) {
            boolean hit = false;
            for (int r : f) {
                hit |= r == basic;
            }
            if (!hit) {
                return;
            }
        }
        ExitReason r = ExitReason.of(basic);
        String line = String.format(Locale.ROOT,
                "{\"seq\":%d,\"reason\":%d,\"name\":\"%s\",\"entryFailure\":%b,\"qualification\":\"0x%x\",\"length\":%d,\"rip\":\"0x%x\",\"bundle\":%s,\"nanos\":%d}%n",
                seq, basic, r == null ? "REASON_" + basic : r.name(), rawReason < 0, qualification, length, rip,
                bundle == null ? "null" : "\"" + bundle + "\"", nanos);
        try {
            out.write(line);
        } catch (IOException e) {
            // A full disk must not stop the guest; the trace just ends.
        }
    }

    public void flush() {
        try {
            out.flush();
        } catch (IOException ignored) {
            // see exit()
        }
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException ignored) {
            // see exit()
        }
    }
}
