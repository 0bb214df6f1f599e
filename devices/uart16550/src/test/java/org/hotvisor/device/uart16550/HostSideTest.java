package org.hotvisor.device.uart16550;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The far ends of the cable: a file and a loopback TCP socket. */
class HostSideTest {

    @Test
    void fileOutputIsWrittenAndFlushedAtEachLineEnd(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("com1.log");
        FileHostSide side = new FileHostSide(file);
        for (char c : "boot\n".toCharArray()) {
            side.transmit(c);
        }
        assertEquals("boot\n", Files.readString(file), "flushed at the line feed");
        side.transmit('x');
        side.close();
        assertEquals("boot\nx", Files.readString(file));
        side.transmit('y'); // after close: dropped, no exception
    }

    @Test
    @Timeout(10)
    void tcpServerListensOnLoopbackAndCarriesBothDirections() throws Exception {
        TcpHostSide side = new TcpHostSide(0, "test");
        LinkedBlockingQueue<Integer> received = new LinkedBlockingQueue<>();
        side.start(b -> received.offer(b));
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), side.localPort())) {
            OutputStream out = client.getOutputStream();
            out.write('k');
            out.flush();
            assertEquals('k', received.poll(5, TimeUnit.SECONDS));
            // The accept loop publishes the client before reading, so output flows once input has.
            side.transmit('o');
            side.transmit('k');
            InputStream in = client.getInputStream();
            assertEquals('o', in.read());
            assertEquals('k', in.read());
        } finally {
            side.close();
        }
    }

    @Test
    void theTcpServerIsBoundToLoopbackOnly() throws Exception {
        TcpHostSide side = new TcpHostSide(0, "test");
        try {
            assertTrue(side.boundAddress().isLoopbackAddress(), side.boundAddress().toString());
        } finally {
            side.close();
        }
    }
}
