package org.hotvisor.kernel.gdb;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * The GDB remote serial protocol's framing (gdb manual, "Overview" of Remote Protocol):
 * {@code $packet-data#checksum}, the checksum the sum of the data bytes modulo 256 in two hex
 * digits; '}' escapes '#', '$', '}' and '*' as the byte XOR 0x20; '*' in a reply starts a
 * run-length encoding (this stub never sends one, and expands them on input); 0x03 alone
 * interrupts the target; '+' and '-' acknowledge.
 */
public final class RspCodec {
    private RspCodec() {}

    public static final int START = '$', END = '#', ESCAPE = '}', RLE = '*', ACK = '+', NACK = '-', INTERRUPT = 0x03;
    static final int ESCAPE_XOR = 0x20;
    /** RLE: the repeat count is the character after '*' minus 29 (gdb manual). */
    static final int RLE_BIAS = 29;
    /** Packets longer than this are garbage (our PacketSize is far below). */
    static final int MAX_PACKET = 1 << 20;

    /** What the reader got: a packet (checksum ok or not), an interrupt, an ack/nack, or the end of the stream. */
    public sealed interface Input {}

    public record Packet(String data, boolean checksumOk) implements Input {}

    public record Interrupt() implements Input {}

    public record Ack(boolean positive) implements Input {}

    public record Eof() implements Input {}

    /** Frames a reply: escapes what must be escaped, appends the checksum. */
    public static byte[] frame(String data) {
        ByteArrayOutputStream body = new ByteArrayOutputStream(data.length() + 8);
        for (int i = 0; i < data.length(); i++) {
            int c = data.charAt(i) & 0xFF;
            if (c == START || c == END || c == ESCAPE || c == RLE) {
                body.write(ESCAPE);
                body.write(c ^ ESCAPE_XOR);
            } else {
                body.write(c);
            }
        }
        byte[] b = body.toByteArray();
        int sum = checksum(b, 0, b.length);
        ByteArrayOutputStream out = new ByteArrayOutputStream(b.length + 4);
        out.write(START);
        out.write(b, 0, b.length);
        out.write(END);
        out.write(hexDigit(sum >>> 4));
        out.write(hexDigit(sum & 15));
        return out.toByteArray();
    }

    public static int checksum(byte[] b, int off, int len) {
        int sum = 0;
        for (int i = off; i < off + len; i++) {
            sum += b[i] & 0xFF;
        }
        return sum & 0xFF;
    }

    /** Reads the next input; bytes outside packets other than '+', '-' and 0x03 are skipped. */
    public static Input read(InputStream in) throws IOException {
        while (true) {
            int c = in.read();
            switch (c) {
                case -1 -> {
                    return new Eof();
                }
                case INTERRUPT -> {
                    return new Interrupt();
                }
                case ACK -> {
                    return new Ack(true);
                }
                case NACK -> {
                    return new Ack(false);
                }
                case START -> {
                    return readPacket(in);
                }
                default -> { } // noise between packets
            }
        }
    }

    private static Input readPacket(InputStream in) throws IOException {
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        while (true) {
            int c = in.read();
            if (c < 0) {
                return new Eof();
            }
            if (c == END) {
                break;
            }
            if (c == START) { // a new packet started: gdb gave up on this one
                raw.reset();
                continue;
            }
            if (raw.size() >= MAX_PACKET) {
                return new Packet("", false);
            }
            raw.write(c);
        }
        int hi = in.read(), lo = in.read();
        if (hi < 0 || lo < 0) {
            return new Eof();
        }
        byte[] b = raw.toByteArray();
        int expected = hexValue(hi) * 16 + hexValue(lo);
        boolean ok = hexValue(hi) >= 0 && hexValue(lo) >= 0 && expected == checksum(b, 0, b.length);
        return new Packet(decode(b), ok);
    }

    /** Removes escapes and expands run-length encoding. */
    static String decode(byte[] b) {
        StringBuilder s = new StringBuilder(b.length);
        for (int i = 0; i < b.length; i++) {
            int c = b[i] & 0xFF;
            if (c == ESCAPE && i + 1 < b.length) {
                s.append((char) ((b[++i] & 0xFF) ^ ESCAPE_XOR));
            } else if (c == RLE && i + 1 < b.length && s.length() > 0) {
                int n = (b[++i] & 0xFF) - RLE_BIAS;
                char last = s.charAt(s.length() - 1);
                for (int k = 0; k < n; k++) {
                    s.append(last);
                }
            } else {
                s.append((char) c);
            }
        }
        return s.toString();
    }

    // ---- hex helpers

    static char hexDigit(int v) {
        return "0123456789abcdef".charAt(v & 15);
    }

    static int hexValue(int c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }

    /** Bytes as hex pairs. */
    public static String hex(byte[] b) {
        StringBuilder s = new StringBuilder(b.length * 2);
        for (byte x : b) {
            s.append(hexDigit((x & 0xFF) >>> 4)).append(hexDigit(x & 15));
        }
        return s.toString();
    }

    public static String hex(String text) {
        return hex(text.getBytes(StandardCharsets.ISO_8859_1));
    }

    /** Hex pairs as bytes; IllegalArgumentException on an odd length or a non-hex digit. */
    public static byte[] unhex(String s) {
        if ((s.length() & 1) != 0) {
            throw new IllegalArgumentException("odd number of hex digits");
        }
        byte[] b = new byte[s.length() / 2];
        for (int i = 0; i < b.length; i++) {
            int hi = hexValue(s.charAt(2 * i)), lo = hexValue(s.charAt(2 * i + 1));
            if (hi < 0 || lo < 0) {
                throw new IllegalArgumentException("not hex: " + s);
            }
            b[i] = (byte) (hi * 16 + lo);
        }
        return b;
    }

    /** A register value as target-order (little-endian) hex of {@code bytes} bytes. */
    public static String littleEndianHex(long value, int bytes) {
        StringBuilder s = new StringBuilder(bytes * 2);
        for (int i = 0; i < bytes; i++) {
            int b = (int) (value >>> (8 * i)) & 0xFF;
            s.append(hexDigit(b >>> 4)).append(hexDigit(b & 15));
        }
        return s.toString();
    }

    /** Little-endian hex (up to 8 bytes) as a value. */
    public static long parseLittleEndian(String hex) {
        byte[] b = unhex(hex);
        if (b.length > 8) {
            throw new IllegalArgumentException("more than 8 bytes");
        }
        long v = 0;
        for (int i = b.length - 1; i >= 0; i--) {
            v = (v << 8) | (b[i] & 0xFF);
        }
        return v;
    }

    /** A big-endian hex number as gdb writes addresses and lengths ("7c10"). */
    public static long parseHexNumber(String s) {
        if (s.isEmpty() || s.length() > 16) {
            throw new IllegalArgumentException("bad number '" + s + "'");
        }
        long v = 0;
        for (int i = 0; i < s.length(); i++) {
            int d = hexValue(s.charAt(i));
            if (d < 0) {
                throw new IllegalArgumentException("bad number '" + s + "'");
            }
            v = (v << 4) | d;
        }
        return v;
    }
}
