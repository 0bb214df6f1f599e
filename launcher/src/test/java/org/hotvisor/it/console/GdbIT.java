package org.hotvisor.it.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.hotvisor.it.Hotvisor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Debian's gdb attached to {@code ./hotvisor run IMAGE --gdb PORT} as to QEMU's -s -S: the guest
 * waits before its first instruction, gdb sets a breakpoint, continues to it, reads registers and
 * memory, single-steps, continues past it, and the guest then ends normally.
 */
class GdbIT {
    private Process hotvisor;
    private Path stdout;
    private Path stderr;

    /** Starts hotvisor with a gdb server and waits until it listens. */
    private int start(String image) throws Exception {
        int port = Tools.freePort();
        stdout = Hotvisor.tempFile("hv-gdb-out", ".txt");
        stderr = Hotvisor.tempFile("hv-gdb-err", ".txt");
        hotvisor = new ProcessBuilder(Tools.root().resolve("hotvisor").toString(), "run", image, "--gdb", String.valueOf(port))
                .directory(Tools.root().toFile()).redirectOutput(stdout.toFile()).redirectError(stderr.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        String listening = "gdb server on 127.0.0.1:" + port;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.readString(stderr).contains(listening)) {
            assertTrue(hotvisor.isAlive(), "hotvisor ended: " + Files.readString(stderr));
            assertTrue(System.nanoTime() < deadline, "no gdb server after 30 s: " + Files.readString(stderr));
            Thread.sleep(50);
        }
        return port;
    }

    @AfterEach
    void end() throws Exception {
        if (hotvisor != null && hotvisor.isAlive()) {
            hotvisor.destroy();
            if (!hotvisor.waitFor(10, TimeUnit.SECONDS)) {
                hotvisor.destroyForcibly();
            }
        }
        for (Path p : new Path[] {stdout, stderr}) {
            if (p != null) {
                Files.deleteIfExists(p);
            }
        }
    }

    private int awaitExit() throws Exception {
        assertTrue(hotvisor.waitFor(60, TimeUnit.SECONDS), "hotvisor did not end after gdb");
        return hotvisor.exitValue();
    }

    @Test
    void gdbBreaksContinuesStepsAndTheGuestEndsNormally() throws Exception {
        int port = start(Tools.guest("debug").toString());
        List<String> gdb = new ArrayList<>(List.of("gdb", "-batch", "-nx"));
        for (String command : new String[] {
            "set architecture i8086",
            "target remote 127.0.0.1:" + port,
            "info registers eip",           // held before the first instruction
            "break *0x7c10",
            "continue",
            "info registers",
            "x/4xb 0x7c10",                 // the original bytes, not the INT3
            "stepi",
            "info registers eip",
            "continue",                     // over the breakpoint, round 2
            "info registers ebx eip",
            "delete",
            "continue"}) {
            gdb.add("-ex");
            gdb.add(command);
        }
        String out = Tools.exec(gdb);
        int status = awaitExit();

        assertTrue(out.contains("Breakpoint 1 at 0x7c10"), out);
        assertTrue(out.matches("(?s).*eip +0x7c00 .*Breakpoint 1, 0x0*7c10 in.*"), "held at 0x7c00, then the breakpoint:\n" + out);
        assertTrue(out.matches("(?s).*ecx +0x3 +3\\s+edx.*ebx +0x0 +0.*esp +0x7c00.*eip +0x7c10 .*cs +0x0 +0.*"), out);
        assertTrue(out.contains("0x7c10:\t0xb8\t0x34\t0x12\t0x43"), out);
        assertTrue(out.matches("(?s).*0x0*7c13 in \\?\\? \\(\\)\\s+eip +0x7c13 .*"), "stepi ran mov ax, 0x1234:\n" + out);
        assertTrue(out.matches("(?s).*ebx +0x1 +1\\s+eip +0x7c10 .*"), "the second round stops at the breakpoint:\n" + out);
        assertTrue(out.contains("exited with code 043"), "gdb saw the isa-debug-exit status 0x23:\n" + out);
        assertEquals(0x23, status, Files.readString(stderr));
        assertEquals("123\n", Files.readString(stdout));
    }

    @Test
    void ctrlCStopsTheRunningGuestAndKillEndsTheRun() throws Exception {
        int port = start(Tools.root().resolve("guests/demo/demo-forever.img").toString());
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(20_000);
            InputStream in = new BufferedInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            assertEquals("T05thread:01;", ask(in, out, "?"));
            send(in, out, "c");
            Thread.sleep(500);
            out.write(0x03);
            out.flush();
            assertEquals("T02thread:01;", reply(in, out), "Ctrl-C: SIGINT as QEMU reports it");
            String eip = ask(in, out, "p8");
            assertEquals(8, eip.length(), eip);
            assertTrue(!eip.equals("007c0000"), "the guest ran between c and Ctrl-C: eip " + eip);
            send(in, out, "k");
        }
        int status = awaitExit();
        assertEquals(12, status, "stopped by the user: " + Files.readString(stderr));
        assertTrue(Files.readString(stderr).contains("hotvisor: killed by gdb"), Files.readString(stderr));
    }

    // A minimal RSP client: enough framing for the Ctrl-C test (gdb -batch cannot send one).

    private static String ask(InputStream in, OutputStream out, String packet) throws IOException {
        send(in, out, packet);
        return reply(in, out);
    }

    private static void send(InputStream in, OutputStream out, String packet) throws IOException {
        int sum = 0;
        for (byte b : packet.getBytes(StandardCharsets.ISO_8859_1)) {
            sum += b & 0xFF;
        }
        out.write(String.format("$%s#%02x", packet, sum & 0xFF).getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        assertEquals('+', in.read(), "the stub acknowledges " + packet);
    }

    private static String reply(InputStream in, OutputStream out) throws IOException {
        int c;
        while ((c = in.read()) != '$') {
            assertTrue(c >= 0, "the stub hung up");
        }
        StringBuilder b = new StringBuilder();
        while ((c = in.read()) != '#') {
            assertTrue(c >= 0, "the stub hung up");
            b.append((char) c);
        }
        in.read();
        in.read();
        out.write('+');
        out.flush();
        return b.toString();
    }
}
