package org.hotvisor.kernel.gdb;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One gdb connection speaking the remote serial protocol in all-stop mode, with the packets a
 * bare-metal stub needs (as QEMU's gdbstub answers them): qSupported, ?, g/G, p/P, m/M, c, s,
 * Z0/z0 and Z1/z1 (both as software breakpoints), k, D, Ctrl-C, qAttached, qC, the thread queries
 * of a one-thread target, QStartNoAckMode; anything else gets the empty reply ("unsupported").
 */
final class GdbSession {
    private static final Logger LOG = LoggerFactory.getLogger(GdbSession.class);

    /** The largest packet we accept, hex: gdb sizes its m/M/X packets by it. */
    static final int PACKET_SIZE = 0x4000;
    /** Extra registers of gdb's default i386 target description (x87, SSE), sent as their reset values. */
    static final int FIRST_X87 = 16, FIRST_X87_CONTROL = 24, FIRST_XMM = 32, MXCSR = 40;
    static final long FCTRL_RESET = 0x037F, MXCSR_RESET = 0x1F80; // SDM 1 8.1.5 (FINIT), 10.2.3.1
    static final String THREAD = "01";

    private final InputStream in;
    private final OutputStream out;
    private final GdbTarget target;
    private final AtomicBoolean running = new AtomicBoolean();
    private volatile boolean noAck;
    private volatile boolean closed;
    private byte[] lastSent;

    GdbSession(InputStream in, OutputStream out, GdbTarget target) {
        this.in = in;
        this.out = out;
        this.target = target;
    }

    /** Serves the connection until gdb detaches, kills or disconnects. */
    void run() throws IOException {
        try {
            target.attach();
        } catch (GdbTarget.TargetException e) {
            LOG.warn("gdb attached but the VM cannot stop for it: {}", e.getMessage());
        }
        try {
            while (!closed) {
                RspCodec.Input input = RspCodec.read(in);
                switch (input) {
                    case RspCodec.Eof e -> closed = true;
                    case RspCodec.Interrupt i -> interrupt();
                    case RspCodec.Ack a -> {
                        if (!a.positive()) {
                            resend();
                        }
                    }
                    case RspCodec.Packet p -> {
                        if (!p.checksumOk()) {
                            if (!noAck) {
                                out.write(RspCodec.NACK);
                                out.flush();
                            }
                            continue;
                        }
                        if (!noAck) {
                            synchronized (this) {
                                out.write(RspCodec.ACK);
                                out.flush();
                            }
                        }
                        String reply = handle(p.data());
                        if (reply != null) {
                            send(reply);
                        }
                        if (p.data().equals("QStartNoAckMode")) {
                            noAck = true; // after our acknowledged OK (gdb manual, "Packet Acknowledgment")
                        }
                    }
                }
            }
        } finally {
            if (!detachedOrKilled) {
                target.detach(); // gdb went away: let the guest run on, as QEMU does
            }
        }
    }

    private boolean detachedOrKilled;

    private void interrupt() {
        if (running.get()) {
            target.interrupt(); // the stop reply follows from the waiter
        }
    }

    synchronized void send(String data) throws IOException {
        lastSent = RspCodec.frame(data);
        out.write(lastSent);
        out.flush();
    }

    private synchronized void resend() throws IOException {
        if (lastSent != null) {
            out.write(lastSent);
            out.flush();
        }
    }

    /** The reply to one packet, or null for none now (c, s: the stop reply comes later; k). */
    String handle(String packet) {
        if (packet.isEmpty()) {
            return "";
        }
        try {
            return dispatch(packet);
        } catch (GdbTarget.TargetException e) {
            LOG.debug("gdb packet {}: {}", packet, e.getMessage());
            return error(e.errno);
        } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
            LOG.debug("malformed gdb packet {}: {}", packet, e.getMessage());
            return error(GdbTarget.EINVAL);
        } catch (RuntimeException e) { // the VM went away under us: gdb gets an error, the host survives
            LOG.debug("gdb packet {} failed: {}", packet, e.toString());
            return error(GdbTarget.EIO);
        }
    }

    private static String error(int errno) {
        return String.format("E%02x", errno & 0xFF);
    }

    private String dispatch(String p) throws GdbTarget.TargetException {
        char kind = p.charAt(0);
        String args = p.substring(1);
        switch (kind) {
            case '?':
                return stopReply(target.currentStop());
            case 'g':
                return readRegisters();
            case 'G':
                writeRegisters(args);
                return "OK";
            case 'p':
                return readRegister((int) RspCodec.parseHexNumber(args));
            case 'P': {
                int eq = args.indexOf('=');
                int n = (int) RspCodec.parseHexNumber(args.substring(0, eq));
                String value = args.substring(eq + 1);
                if (n < GdbTarget.CORE_REGISTERS) {
                    target.writeRegister(n, RspCodec.parseLittleEndian(value.substring(0, Math.min(8, value.length()))));
                }
                return "OK"; // x87/SSE writes are accepted and dropped: the stub shows their reset values
            }
            case 'm': {
                int comma = args.indexOf(',');
                long address = RspCodec.parseHexNumber(args.substring(0, comma));
                int length = (int) Math.min(RspCodec.parseHexNumber(args.substring(comma + 1)), PACKET_SIZE / 2);
                return RspCodec.hex(target.readMemory(address, length));
            }
            case 'M': {
                int comma = args.indexOf(','), colon = args.indexOf(':');
                long address = RspCodec.parseHexNumber(args.substring(0, comma));
                int length = (int) RspCodec.parseHexNumber(args.substring(comma + 1, colon));
                byte[] data = RspCodec.unhex(args.substring(colon + 1));
                if (data.length != length) {
                    throw new IllegalArgumentException("M length " + length + " but " + data.length + " bytes");
                }
                target.writeMemory(address, data);
                return "OK";
            }
            case 'c':
            case 's':
                if (!args.isEmpty()) { // c ADDR / s ADDR: resume at ADDR
                    target.writeRegister(8, RspCodec.parseHexNumber(args));
                }
                resume(kind == 's');
                return null;
            case 'Z':
            case 'z':
                return breakpoint(kind == 'Z', args);
            case 'k':
                detachedOrKilled = true;
                closed = true;
                target.kill();
                return null;
            case 'D':
                detachedOrKilled = true;
                target.detach();
                closed = true;
                return "OK";
            case 'H':
            case 'T':
                return "OK"; // one thread: any thread selection is that one
            case 'q':
            case 'Q':
            case 'v':
                return query(p);
            default:
                return "";
        }
    }

    private String query(String p) throws GdbTarget.TargetException {
        if (p.startsWith("qSupported")) {
            return String.format(Locale.ROOT, "PacketSize=%x;QStartNoAckMode+;swbreak+;hwbreak+", PACKET_SIZE);
        }
        if (p.equals("QStartNoAckMode")) {
            return "OK";
        }
        if (p.equals("qAttached") || p.startsWith("qAttached:")) {
            return "1"; // attached to an existing VM: gdb detaches at its end instead of killing
        }
        if (p.equals("qC")) {
            return "QC" + THREAD;
        }
        if (p.equals("qfThreadInfo")) {
            return "m" + THREAD;
        }
        if (p.equals("qsThreadInfo")) {
            return "l";
        }
        if (p.startsWith("qSymbol")) {
            return "OK";
        }
        if (p.startsWith("vKill")) {
            detachedOrKilled = true;
            closed = true;
            target.kill();
            return "OK";
        }
        return ""; // qTStatus, qOffsets, vCont?, vMustReplyEmpty, qXfer...: not supported
    }

    private String breakpoint(boolean insert, String args) throws GdbTarget.TargetException {
        String[] parts = args.split(",");
        if (parts.length < 2) {
            throw new IllegalArgumentException("Z/z needs TYPE,ADDR,KIND");
        }
        int type = (int) RspCodec.parseHexNumber(parts[0]);
        if (type != 0 && type != 1) {
            return ""; // watchpoints: not supported
        }
        long address = RspCodec.parseHexNumber(parts[1]);
        if (insert) {
            target.insertBreakpoint(address);
        } else {
            target.removeBreakpoint(address);
        }
        return "OK";
    }

    private String readRegisters() throws GdbTarget.TargetException {
        long[] r = target.readRegisters();
        StringBuilder s = new StringBuilder(GdbTarget.CORE_REGISTERS * 8);
        for (int i = 0; i < GdbTarget.CORE_REGISTERS; i++) {
            s.append(RspCodec.littleEndianHex(r[i], 4));
        }
        return s.toString();
    }

    private void writeRegisters(String hex) throws GdbTarget.TargetException {
        long[] current = target.readRegisters();
        for (int i = 0; i < GdbTarget.CORE_REGISTERS && (i + 1) * 8 <= hex.length(); i++) {
            long v = RspCodec.parseLittleEndian(hex.substring(i * 8, (i + 1) * 8));
            if (v != (current[i] & 0xFFFF_FFFFL)) {
                target.writeRegister(i, v);
            }
        }
    }

    private String readRegister(int n) throws GdbTarget.TargetException {
        if (n < GdbTarget.CORE_REGISTERS) {
            return RspCodec.littleEndianHex(target.readRegisters()[n], 4);
        }
        if (n < FIRST_X87_CONTROL) {
            return RspCodec.littleEndianHex(0, 10); // st0-st7, 80-bit
        }
        if (n < FIRST_XMM) {
            return RspCodec.littleEndianHex(n == FIRST_X87_CONTROL ? FCTRL_RESET : 0, 4);
        }
        if (n < MXCSR) {
            return RspCodec.littleEndianHex(0, 8) + RspCodec.littleEndianHex(0, 8); // xmm0-xmm7
        }
        if (n == MXCSR) {
            return RspCodec.littleEndianHex(MXCSR_RESET, 4);
        }
        throw new GdbTarget.TargetException(GdbTarget.EINVAL, "no register " + n);
    }

    private void resume(boolean step) throws GdbTarget.TargetException {
        if (!running.compareAndSet(false, true)) {
            return;
        }
        try {
            if (step) {
                target.step();
            } else {
                target.resume();
            }
        } catch (GdbTarget.TargetException | RuntimeException e) {
            running.set(false);
            throw e;
        }
        Thread waiter = new Thread(this::awaitStop, "hotvisor-gdb-stop");
        waiter.setDaemon(true);
        waiter.start();
    }

    private void awaitStop() {
        try {
            GdbTarget.Stop stop = target.awaitStop();
            running.set(false);
            if (!closed) {
                send(stopReply(stop));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            closed = true; // gdb went away
        }
    }

    static String stopReply(GdbTarget.Stop s) {
        if (s.exited()) {
            return String.format("W%02x", s.exitStatus() & 0xFF);
        }
        return String.format("T%02xthread:%s;%s", s.signal(), THREAD, s.softwareBreakpoint() ? "swbreak:;" : "");
    }

    void close() {
        closed = true;
    }

    /** Whether the target runs for gdb (a c or s awaits its stop). */
    boolean running() {
        return running.get();
    }
}
