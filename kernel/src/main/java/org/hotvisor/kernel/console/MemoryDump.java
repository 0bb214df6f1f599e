package org.hotvisor.kernel.console;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.hotvisor.api.vmx.Disassembler;

/**
 * QEMU monitor-style memory dumps ({@code x /NFU ADDR}, {@code xp /NFU ADDR}): N units of size U
 * (b, h, w, g: 1, 2, 4, 8 bytes) in format F: x hex, d signed, u unsigned, o octal, c characters,
 * plus gdb's s (NUL-terminated strings) and i (instructions: disassembled by the vmx-cpu bundle's
 * {@link Disassembler} when it is there, else shown as their bytes). As QEMU prints them: 8 bytes
 * per line for byte units, else 16; linear addresses with 8 hex digits, physical ones with 16.
 */
public final class MemoryDump {
    private MemoryDump() {}

    /** The longest string {@code s} prints before it gives up looking for the NUL. */
    static final int MAX_STRING = 256;
    static final int MAX_COUNT = 4096;

    /** A parsed /NFU: count, format letter, unit size in bytes. */
    public record Spec(int count, char format, int size) {
        public static final Spec DEFAULT = new Spec(1, 'x', 4);

        /** Parses "/16xb", "/s", "/4i"; null or "" gives the default (1 word in hex). */
        public static Spec parse(String text) {
            if (text == null || text.isEmpty()) {
                return DEFAULT;
            }
            if (!text.startsWith("/")) {
                throw new IllegalArgumentException("a format starts with '/', e.g. /16xb");
            }
            int i = 1;
            int count = 1;
            int digitsStart = i;
            while (i < text.length() && Character.isDigit(text.charAt(i))) {
                i++;
            }
            if (i > digitsStart) {
                try {
                    count = Integer.parseInt(text.substring(digitsStart, i));
                } catch (NumberFormatException e) {
                    count = Integer.MAX_VALUE;
                }
            }
            if (count < 1 || count > MAX_COUNT) {
                throw new IllegalArgumentException("the count must be 1 to " + MAX_COUNT);
            }
            char format = 0;
            int size = 0;
            for (; i < text.length(); i++) {
                char ch = Character.toLowerCase(text.charAt(i));
                switch (ch) {
                    case 'x', 'd', 'u', 'o', 'c', 's', 'i' -> format = ch;
                    case 'b' -> size = 1;
                    case 'h' -> size = 2;
                    case 'w' -> size = 4;
                    case 'g' -> size = 8;
                    default -> throw new IllegalArgumentException("unknown format letter '" + text.charAt(i)
                            + "' (formats x d u o c s i, sizes b h w g)");
                }
            }
            if (format == 0) {
                format = 'x';
            }
            if (size == 0) {
                size = format == 'c' || format == 's' || format == 'i' ? 1 : 4;
            }
            if (format == 'c') {
                size = 1; // QEMU: characters are bytes
            }
            return new Spec(count, format, size);
        }

        /** The bytes the dump needs for unit formats (not s and i, which read ahead). */
        public int bytes() {
            return count * size;
        }
    }

    private static String address(long address, boolean physical) {
        return physical ? String.format("%016x", address) : String.format("%08x", address & 0xFFFF_FFFFL);
    }

    /** Unit formats (x d u o c): {@code data} holds the bytes from {@code address} (maybe fewer than asked). */
    public static String units(long address, byte[] data, Spec spec, boolean physical) {
        int size = spec.size();
        int lineSize = size == 1 ? 8 : 16;
        int maxDigits = switch (spec.format()) {
            case 'o' -> (size * 8 + 2) / 3;
            case 'u', 'd' -> (size * 8 * 10 + 32) / 33;
            default -> size * 2;
        };
        StringBuilder b = new StringBuilder();
        int len = Math.min(data.length, spec.bytes()) / size * size;
        for (int line = 0; line < len; line += lineSize) {
            b.append(address(address + line, physical)).append(':');
            int end = Math.min(len, line + lineSize);
            for (int i = line; i < end; i += size) {
                long v = 0;
                for (int k = size - 1; k >= 0; k--) {
                    v = (v << 8) | (data[i + k] & 0xFF); // little-endian
                }
                b.append(' ');
                switch (spec.format()) {
                    case 'o' -> b.append(String.format("%" + maxDigits + "s", v == 0 ? "0" : "0" + Long.toOctalString(v))); // C's %#o
                    case 'u' -> b.append(String.format("%" + maxDigits + "s", Long.toUnsignedString(v)));
                    case 'd' -> b.append(String.format("%" + maxDigits + "d", signExtend(v, size)));
                    case 'c' -> b.append(character((int) v));
                    default -> b.append("0x").append(String.format("%0" + maxDigits + "x", v));
                }
            }
            b.append('\n');
        }
        return b.toString();
    }

    private static long signExtend(long v, int size) {
        int shift = 64 - size * 8;
        return (v << shift) >> shift;
    }

    /** QEMU's monitor_printc: 'A', '\n', '\x00'. */
    static String character(int c) {
        String body = switch (c) {
            case '\'' -> "\\'";
            case '\\' -> "\\\\";
            case '\n' -> "\\n";
            case '\r' -> "\\r";
            default -> c >= 32 && c <= 126 ? String.valueOf((char) c) : String.format("\\x%02x", c);
        };
        return "'" + body + "'";
    }

    /** gdb's x/s: {@code count} NUL-terminated strings from {@code data}. */
    public static String strings(long address, byte[] data, int count, boolean physical) {
        StringBuilder b = new StringBuilder();
        int p = 0;
        for (int n = 0; n < count && p < data.length; n++) {
            int start = p;
            StringBuilder s = new StringBuilder();
            while (p < data.length && data[p] != 0 && p - start < MAX_STRING) {
                int c = data[p++] & 0xFF;
                s.append(c == '"' ? "\\\"" : c >= 32 && c <= 126 ? String.valueOf((char) c) : c == '\n' ? "\\n"
                        : c == '\r' ? "\\r" : String.format("\\%03o", c));
            }
            boolean terminated = p < data.length && data[p] == 0;
            b.append(address(address + start, physical)).append(": \"").append(s).append('"')
                    .append(terminated ? "" : "...").append('\n');
            if (terminated) {
                p++;
            }
        }
        return b.toString();
    }

    /** x/i: {@code count} instructions, each as its bytes (lengths from {@link InstructionLength}). */
    public static String instructions(long address, byte[] data, int count, boolean code32, boolean physical) {
        StringBuilder b = new StringBuilder();
        int p = 0;
        for (int n = 0; n < count && p < data.length; n++) {
            int len = InstructionLength.of(data, p, data.length - p, code32);
            b.append(address(address + p, physical)).append(':');
            if (len < 0) {
                b.append(" ").append(String.format("%02x", data[p] & 0xFF)).append("  (undecodable)\n");
                break;
            }
            for (int i = 0; i < len; i++) {
                b.append(' ').append(String.format("%02x", data[p + i] & 0xFF));
            }
            b.append('\n');
            p += len;
        }
        return b.toString();
    }

    /** No instruction to mark in a {@link #disassembly}. */
    public static final long NO_MARK = -1;
    /** gdb's mark of the instruction at RIP, and the blank of the same width on other lines. */
    static final String MARK = "=> ", NO_MARK_PAD = "   ";
    /** The bytes column is at least this many bytes wide, so short listings line up too. */
    static final int MIN_BYTES_COLUMN = 4;

    /**
     * {@code count} instructions from {@code data} (the bytes at {@code address}) disassembled, one
     * line each: [mark] address, the instruction's bytes padded to the longest, and its text. Bytes
     * that are no instruction show as one byte of {@code (bad)} and the listing goes on after it
     * (as objdump); in the last 15 bytes of {@code data} they end the listing instead, since the
     * instruction may just be cut off (callers read 15 bytes per instruction asked for).
     *
     * @param codeBits 16 or 32: the code segment's default operand and address size
     * @param mark the address to mark with "=> " (the current RIP), or {@link #NO_MARK} for no mark column
     * @return the lines, where the listing stopped in {@code data}, and how many instructions it shows
     */
    public static Listing disassembly(long address, byte[] data, int count, int codeBits, boolean physical,
            Disassembler disassembler, long mark) {
        List<int[]> spans = new ArrayList<>();   // {offset, length} per line
        List<String> texts = new ArrayList<>();
        int p = 0;
        int widest = MIN_BYTES_COLUMN;
        StringBuilder text = new StringBuilder();
        while (spans.size() < count && p < data.length) {
            text.setLength(0);
            int len;
            try {
                len = disassembler.disassemble(data, p, address + p, codeBits, text);
            } catch (RuntimeException e) {
                len = 0;   // a misbehaving service: the bytes show as (bad)
                text.setLength(0);
                text.append("(bad)");
            }
            if (len <= 0 || len > data.length - p) {
                if (data.length - p < InstructionLength.MAX_LENGTH) {
                    break;   // maybe an instruction cut off by the end of what could be read: the caller says why
                }
                spans.add(new int[] {p, 1});
                texts.add("(bad)");
                p++;
                continue;
            }
            spans.add(new int[] {p, len});
            texts.add(text.toString());
            widest = Math.max(widest, len);
            p += len;
        }
        StringBuilder b = new StringBuilder();
        int column = widest * 3 - 1;
        for (int i = 0; i < spans.size(); i++) {
            int[] span = spans.get(i);
            long at = address + span[0];
            if (mark != NO_MARK) {
                b.append(at == mark ? MARK : NO_MARK_PAD);
            }
            StringBuilder bytes = new StringBuilder(column);
            for (int k = 0; k < span[1]; k++) {
                if (k > 0) {
                    bytes.append(' ');
                }
                bytes.append(String.format("%02x", data[span[0] + k] & 0xFF));
            }
            b.append(address(at, physical)).append(":  ").append(String.format("%-" + column + "s", bytes))
                    .append("  ").append(texts.get(i)).append('\n');
        }
        return new Listing(b.toString(), p, spans.size());
    }

    /** A disassembly: its text, where it stopped in the data, and how many instructions it shows. */
    public record Listing(String text, int end, int instructions) {}

    /** "0x7c00", "31744", "0000:7c00" (real-mode segment:offset, hex) as an address. */
    public static long parseAddress(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT).replace("_", "");
        try {
            int colon = t.indexOf(':');
            if (colon > 0) {
                long segment = Long.parseLong(strip(t.substring(0, colon)), 16);
                long offset = Long.parseLong(strip(t.substring(colon + 1)), 16);
                if (segment > 0xFFFF) {
                    throw new IllegalArgumentException("segment " + t.substring(0, colon) + " is over 0xffff");
                }
                return (segment << 4) + offset;
            }
            long v = t.startsWith("0x") ? Long.parseUnsignedLong(t.substring(2), 16) : Long.parseLong(t);
            if (v < 0) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is not an address (0x hex, decimal, or SEG:OFF)");
        }
    }

    private static String strip(String hex) {
        return hex.startsWith("0x") ? hex.substring(2) : hex;
    }
}
