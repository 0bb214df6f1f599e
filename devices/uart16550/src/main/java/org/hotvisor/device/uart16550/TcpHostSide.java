package org.hotvisor.device.uart16550;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntPredicate;

/**
 * A TCP server on 127.0.0.1 only (never another interface): one client at a time is the far end
 * of the cable ({@code nc 127.0.0.1 PORT}, telnet in raw mode). The vCPU never blocks on the
 * socket: output goes through a ring to a writer thread, and is dropped while no client is
 * connected or when the client falls behind by a whole ring.
 */
final class TcpHostSide implements HostSide {
    private static final System.Logger LOG = System.getLogger(TcpHostSide.class.getName());
    private static final int OUTPUT_RING_CAPACITY = 1 << 16;
    /** How long the reader waits for the guest to make room before offering a byte again. */
    private static final long BACK_PRESSURE_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private final ServerSocket server;
    private final ByteRing output = new ByteRing(OUTPUT_RING_CAPACITY);
    private final Thread acceptor;
    private final Thread writer;
    private volatile IntPredicate receiver = b -> false;
    private volatile Socket client;
    private volatile boolean closed;

    TcpHostSide(int port, String name) throws IOException {
        server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        acceptor = Thread.ofPlatform().daemon().name(name + "-tcp-accept").unstarted(this::acceptLoop);
        writer = Thread.ofPlatform().daemon().name(name + "-tcp-write").unstarted(this::writeLoop);
    }

    int localPort() {
        return server.getLocalPort();
    }

    InetAddress boundAddress() {
        return server.getInetAddress();
    }

    @Override
    public void transmit(int character) {
        if (client == null) {
            return; // no cable plugged in: the character is gone, as on a real port
        }
        if (output.offer(character)) {
            LockSupport.unpark(writer);
        }
    }

    @Override
    public void start(IntPredicate receiver) {
        this.receiver = receiver;
        acceptor.start();
        writer.start();
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "closing the serial server socket", e);
        }
        disconnect();
        LockSupport.unpark(writer);
    }

    private void acceptLoop() {
        while (!closed) {
            try (Socket s = server.accept()) {
                s.setTcpNoDelay(true);
                client = s;
                LockSupport.unpark(writer);
                readLoop(s.getInputStream());
            } catch (IOException e) {
                if (!closed) {
                    LOG.log(System.Logger.Level.DEBUG, "serial client disconnected", e);
                }
            } finally {
                client = null;
            }
        }
    }

    private void readLoop(InputStream in) throws IOException {
        int b;
        while (!closed && (b = in.read()) >= 0) {
            // Back-pressure instead of loss: the reader waits while the guest's receive ring is full.
            while (!receiver.test(b) && !closed) {
                LockSupport.parkNanos(BACK_PRESSURE_PAUSE_NANOS);
            }
        }
    }

    private void writeLoop() {
        OutputStream out = null;
        Socket current = null;
        while (!closed) {
            Socket s = client;
            if (s != current) {
                current = s;
                out = null;
                if (s != null) {
                    try {
                        out = new BufferedOutputStream(s.getOutputStream());
                    } catch (IOException e) {
                        LOG.log(System.Logger.Level.DEBUG, "serial client output", e);
                    }
                }
            }
            int b = output.poll();
            if (b < 0) {
                flush(out);
                LockSupport.park(this);
                continue;
            }
            if (out != null) {
                try {
                    out.write(b);
                } catch (IOException e) {
                    out = null;
                    disconnect();
                }
            }
        }
    }

    private void flush(OutputStream out) {
        if (out == null) {
            return;
        }
        try {
            out.flush();
        } catch (IOException e) {
            disconnect();
        }
    }

    private void disconnect() {
        Socket s = client;
        if (s != null) {
            try {
                s.close();
            } catch (IOException e) {
                LOG.log(System.Logger.Level.DEBUG, "closing the serial client", e);
            }
        }
    }
}
