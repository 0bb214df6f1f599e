package org.hotvisor.kernel.gdb;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A gdb remote-protocol server on 127.0.0.1 only (the stub can rewrite guest memory and stop the
 * VM: it must not listen on the network). Connections are served one after the other on the
 * accept thread; a second gdb waits until the first detaches.
 */
final class GdbServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GdbServer.class);

    private final ServerSocket server;
    private final Supplier<GdbTarget> targets;
    private final Thread acceptor;
    private volatile Socket client;
    private volatile GdbSession session;
    private volatile boolean closed;

    GdbServer(int port, Supplier<GdbTarget> targets) throws IOException {
        this.targets = targets;
        ServerSocket s = new ServerSocket();
        s.setReuseAddress(true);
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        this.server = s;
        this.acceptor = new Thread(this::serve, "hotvisor-gdb-" + s.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    int port() {
        return server.getLocalPort();
    }

    boolean connected() {
        return client != null;
    }

    private void serve() {
        while (!closed) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                if (!closed) {
                    LOG.warn("gdb server on port {} failed: {}", port(), e.toString());
                }
                return;
            }
            client = s;
            try (s) {
                s.setTcpNoDelay(true);
                GdbSession g = new GdbSession(new BufferedInputStream(s.getInputStream()),
                        new BufferedOutputStream(s.getOutputStream()), targets.get());
                session = g;
                LOG.info("gdb connected from {}", s.getRemoteSocketAddress());
                g.run();
            } catch (IOException | RuntimeException e) {
                if (!closed) {
                    LOG.debug("gdb connection ended: {}", e.toString());
                }
            } finally {
                session = null;
                client = null;
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        GdbSession g = session;
        if (g != null) {
            g.close();
        }
        try {
            server.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        Socket c = client;
        if (c != null) {
            try {
                c.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }
}
