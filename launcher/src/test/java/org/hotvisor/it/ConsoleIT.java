package org.hotvisor.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The interactive console in a real terminal: tmux runs {@code ./hotvisor}, send-keys types,
 * capture-pane reads the screen.
 */
class ConsoleIT {
    private final String session = "hv-it-" + ProcessHandle.current().pid();

    private static String tmux(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("tmux"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(10, TimeUnit.SECONDS);
        return out;
    }

    private String screen() throws IOException, InterruptedException {
        return tmux("capture-pane", "-p", "-S", "-200", "-t", session);
    }

    private void type(String line) throws IOException, InterruptedException {
        tmux("send-keys", "-t", session, line, "Enter");
    }

    private String await(String text, int seconds) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        String s = "";
        while (System.nanoTime() < deadline) {
            s = screen();
            if (s.contains(text)) {
                return s;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("'" + text + "' never appeared; the screen:\n" + s);
    }

    @BeforeEach
    void open() throws Exception {
        tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "50", Hotvisor.root().resolve("hotvisor").toString());
    }

    @AfterEach
    void close() throws Exception {
        tmux("kill-session", "-t", session);
    }

    @Test
    void startTheDemoPauseAndInspect() throws Exception {
        await("vm:start", 30); // the banner tells the user what to type
        type("vm:start");
        await("CPU vendor", 20);
        type("vm:pause");
        await("VM paused", 10);
        type("vm:regs");
        String s = await("RIP=", 10);
        assertTrue(s.contains("CS  =") && s.contains("CR0="), s);
        type("vm:dis");   // the vmx-cpu bundle's disassembler, the instruction at RIP marked as gdb does
        s = await("=> ", 10);
        assertTrue(s.matches("(?s).*\\n=> [0-9a-f]{8}:  [0-9a-f]{2}( [0-9a-f]{2})* +[a-z].*"), s);
        type("vm:stats");
        s = await("VM-EXIT", 10);
        assertTrue(s.contains("CPUID(10)"), s);
        type("vm:handlers");
        s = await("org.hotvisor.exit.cpuid", 10);
        type("lb -s");
        await("org.hotvisor.vmx.cpu", 10);
    }
}
