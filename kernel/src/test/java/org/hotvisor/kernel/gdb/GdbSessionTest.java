package org.hotvisor.kernel.gdb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The packets of the gdbstub against a scripted target. */
class GdbSessionTest {
    /** A target that records calls; stops come from a queue the test fills. */
    static final class FakeTarget implements GdbTarget {
        final long[] registers = new long[CORE_REGISTERS];
        final byte[] memory = new byte[0x10000];
        final List<String> calls = new ArrayList<>();
        final BlockingQueue<Stop> stops = new ArrayBlockingQueue<>(4);

        FakeTarget() {
            for (int i = 0; i < CORE_REGISTERS; i++) {
                registers[i] = 0x11111111L * (i + 1) & 0xFFFF_FFFFL;
            }
        }

        private synchronized void call(String c) {
            calls.add(c);
        }

        synchronized List<String> calls() {
            return List.copyOf(calls);
        }

        @Override
        public void attach() {
            call("attach");
        }

        @Override
        public long[] readRegisters() {
            return registers.clone();
        }

        @Override
        public void writeRegister(int index, long value) throws TargetException {
            if (index == 10 && value != registers[10]) {
                throw new TargetException(EINVAL, "no segment loads here");
            }
            registers[index] = value;
            call("write " + REGISTER_NAMES[index] + "=" + Long.toHexString(value));
        }

        @Override
        public byte[] readMemory(long address, int length) throws TargetException {
            if (address >= memory.length) {
                throw new TargetException(EFAULT, "unmapped");
            }
            int n = (int) Math.min(length, memory.length - address);
            return java.util.Arrays.copyOfRange(memory, (int) address, (int) address + n);
        }

        @Override
        public void writeMemory(long address, byte[] data) {
            System.arraycopy(data, 0, memory, (int) address, data.length);
        }

        @Override
        public void insertBreakpoint(long address) {
            call("break " + Long.toHexString(address));
        }

        @Override
        public void removeBreakpoint(long address) {
            call("unbreak " + Long.toHexString(address));
        }

        @Override
        public void resume() {
            call("resume");
        }

        @Override
        public void step() {
            call("step");
        }

        @Override
        public void interrupt() {
            call("interrupt");
            stops.add(Stop.signal(Stop.SIGINT));
        }

        @Override
        public Stop awaitStop() throws InterruptedException {
            return stops.take();
        }

        @Override
        public Stop currentStop() {
            return Stop.signal(Stop.SIGTRAP);
        }

        @Override
        public void detach() {
            call("detach");
        }

        @Override
        public void kill() {
            call("kill");
        }
    }

    private final FakeTarget target = new FakeTarget();
    private final GdbSession session = new GdbSession(InputStream.nullInputStream(), new ByteArrayOutputStream(), target);

    @Test
    void capabilitiesAndTheOneThread() {
        assertEquals("PacketSize=4000;QStartNoAckMode+;swbreak+;hwbreak+", session.handle("qSupported:multiprocess+;swbreak+"));
        assertEquals("T05thread:01;", session.handle("?"));
        assertEquals("1", session.handle("qAttached"));
        assertEquals("QC01", session.handle("qC"));
        assertEquals("m01", session.handle("qfThreadInfo"));
        assertEquals("l", session.handle("qsThreadInfo"));
        assertEquals("OK", session.handle("Hg0"));
        assertEquals("OK", session.handle("Hc-1"));
        assertEquals("", session.handle("vMustReplyEmpty"));
        assertEquals("", session.handle("qTStatus"));
        assertEquals("", session.handle("vCont?"));
        assertEquals("", session.handle("X7c00,0:"), "binary writes: gdb falls back to M");
    }

    @Test
    void gSendsTheSixteenI386RegistersLittleEndian() {
        String g = session.handle("g");
        assertEquals(16 * 8, g.length());
        assertEquals("11111111", g.substring(0, 8), "eax");
        assertEquals("99999999", g.substring(8 * 8, 9 * 8), "eip is register 8");
        assertEquals(RspCodec.littleEndianHex(target.registers[15], 4), g.substring(15 * 8), "gs last");
        assertEquals(RspCodec.littleEndianHex(target.registers[8], 4), session.handle("p8"));
    }

    @Test
    void theX87AndSseRegistersOfGdbsDefaultI386DescriptionReadAsTheirResetValues() {
        assertEquals("00".repeat(10), session.handle("p10"), "st0: 80 bits");
        assertEquals("7f030000", session.handle("p18"), "fctrl after FINIT");
        assertEquals("00".repeat(16), session.handle("p20"), "xmm0");
        assertEquals("801f0000", session.handle("p28"), "mxcsr");
        assertEquals("E16", session.handle("p29"));
    }

    @Test
    void registerWritesGoThroughOnlyWhenChanged() {
        assertEquals("OK", session.handle("P8=127c0000"));
        assertEquals(0x7c12, target.registers[8]);
        StringBuilder g = new StringBuilder(session.handle("g"));
        g.replace(0, 8, "78563412");
        assertEquals("OK", session.handle("G" + g));
        assertEquals(List.of("write eip=7c12", "write eax=12345678"), target.calls().stream().filter(c -> c.startsWith("write")).toList());
        assertEquals("E16", session.handle("P" + "a=00000000"), "cs: the target refuses a segment load");
    }

    @Test
    void memoryReadsAndWritesInHex() {
        target.memory[0x7c00] = (byte) 0xfa;
        target.memory[0x7c01] = 0x31;
        assertEquals("fa31", session.handle("m7c00,2"));
        assertEquals("OK", session.handle("M7c00,3:b83412"));
        assertEquals("b83412", session.handle("m7c00,3"));
        assertEquals("E0e", session.handle("m20000,4"), "EFAULT");
        assertEquals("E16", session.handle("M7c00,3:b834"), "EINVAL: the length does not match");
        assertEquals("E16", session.handle("mzz,1"));
    }

    @Test
    void breakpointsZ0AndZ1AreSoftwareBreakpointsWatchpointsAreNotSupported() {
        assertEquals("OK", session.handle("Z0,7c10,1"));
        assertEquals("OK", session.handle("Z1,7c20,1"));
        assertEquals("OK", session.handle("z0,7c10,1"));
        assertEquals("", session.handle("Z2,1000,4"));
        assertEquals(List.of("break 7c10", "break 7c20", "unbreak 7c10"), target.calls());
    }

    @Test
    void stopRepliesSayWhy() {
        assertEquals("T05thread:01;swbreak:;", GdbSession.stopReply(GdbTarget.Stop.breakpoint()));
        assertEquals("T02thread:01;", GdbSession.stopReply(GdbTarget.Stop.signal(2)));
        assertEquals("W23", GdbSession.stopReply(GdbTarget.Stop.exit(0x23)));
    }

    @Test
    void continueRepliesAtTheStopAndCtrlCInterrupts() throws Exception {
        // A loopback socket, as gdb's: piped streams break when the writing thread ends.
        java.net.ServerSocket listener = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
        java.net.Socket client = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), listener.getLocalPort());
        java.net.Socket stubSide = listener.accept();
        listener.close();
        client.setSoTimeout(10_000);
        OutputStream toStub = client.getOutputStream();
        InputStream fromStub = new java.io.BufferedInputStream(client.getInputStream());
        GdbSession s = new GdbSession(stubSide.getInputStream(), stubSide.getOutputStream(), target);
        Thread t = new Thread(() -> {
            try {
                s.run();
            } catch (Exception e) {
                // the socket closed
            }
        });
        t.start();
        toStub.write(RspCodec.frame("c"));
        toStub.flush();
        assertEquals(new RspCodec.Ack(true), RspCodec.read(fromStub));
        target.stops.add(GdbTarget.Stop.breakpoint());
        assertEquals(new RspCodec.Packet("T05thread:01;swbreak:;", true), RspCodec.read(fromStub));
        toStub.write('+');

        toStub.write(RspCodec.frame("c"));
        toStub.flush();
        assertEquals(new RspCodec.Ack(true), RspCodec.read(fromStub));
        waitFor(() -> target.calls().stream().filter("resume"::equals).count() == 2);
        toStub.write(RspCodec.INTERRUPT);
        toStub.flush();
        assertEquals(new RspCodec.Packet("T02thread:01;", true), RspCodec.read(fromStub));
        toStub.write('+');

        toStub.write(RspCodec.frame("QStartNoAckMode"));
        toStub.flush();
        assertEquals(new RspCodec.Ack(true), RspCodec.read(fromStub));
        assertEquals(new RspCodec.Packet("OK", true), RspCodec.read(fromStub));
        toStub.write('+');
        toStub.write(RspCodec.frame("D"));
        toStub.flush();
        assertEquals(new RspCodec.Packet("OK", true), RspCodec.read(fromStub), "no '+' first in no-ack mode");
        t.join(5000);
        client.close();
        stubSide.close();
        assertEquals(List.of("attach", "resume", "resume", "interrupt", "detach"), target.calls());
    }

    @Test
    void aBadChecksumGetsANackAndDisconnectingDetaches() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new GdbSession(new java.io.ByteArrayInputStream("$g#00$k#6b".getBytes(StandardCharsets.ISO_8859_1)), out, target).run();
        assertEquals("-+", out.toString(StandardCharsets.ISO_8859_1));
        assertEquals(List.of("attach", "kill"), target.calls());
        target.calls.clear();
        new GdbSession(InputStream.nullInputStream(), new ByteArrayOutputStream(), target).run();
        assertEquals(List.of("attach", "detach"), target.calls(), "gdb went away: the guest runs on");
    }

    @Test
    void stepThenContinueAtAnAddress() throws Exception {
        assertNull(session.handle("s"), "the stop reply comes when the step is done");
        target.stops.add(GdbTarget.Stop.signal(GdbTarget.Stop.SIGTRAP));
        waitFor(() -> !session.running());
        assertNull(session.handle("c7c10"));
        assertEquals(0x7c10, target.registers[8]);
        assertEquals(List.of("step", "write eip=7c10", "resume"), target.calls());
    }

    private static void waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out");
            Thread.sleep(5);
        }
    }
}
