package org.hotvisor.vmx.cpu.diff;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One batch of cases assembled into the harness binary (resources/diff/harness.asm +
 * generated cases.inc and data.inc) with NASM, plus the encoded bytes of every generated line
 * (from NASM's listing) for failure reports.
 */
final class HarnessImage {

    private static final String TEMPLATE = "/diff/harness.asm";
    private static final String LINE_TAG = ";@";
    private static final Pattern LISTING_LINE = Pattern.compile("^\\s*\\d+\\s+[0-9A-F]{8}\\s+([0-9A-F()\\[\\]-]+)(.*)$");
    private static final Pattern CONTINUATION = Pattern.compile("^\\s*\\d+\\s+[0-9A-F]{8}\\s+([0-9A-F]+)-?\\s*$");
    private static final long NASM_TIMEOUT_SECONDS = 60;
    /** Multiboot header field offsets (Multiboot 0.6.96, 3.1.1). */
    private static final int HEADER_ENTRY_ADDRESS = 28;

    final List<TestCase> cases;
    final byte[] binary;
    /** Encoded bytes of case c's line l, key "c:l", as "83 53 04 FD". */
    private final Map<String, String> lineBytes;

    private HarnessImage(List<TestCase> cases, byte[] binary, Map<String, String> lineBytes) {
        this.cases = cases;
        this.binary = binary;
        this.lineBytes = lineBytes;
    }

    int entryPoint() {
        return (binary[HEADER_ENTRY_ADDRESS] & 0xff) | (binary[HEADER_ENTRY_ADDRESS + 1] & 0xff) << 8
                | (binary[HEADER_ENTRY_ADDRESS + 2] & 0xff) << 16 | (binary[HEADER_ENTRY_ADDRESS + 3] & 0xff) << 24;
    }

    String bytesOf(int caseIndex, int line) {
        return lineBytes.getOrDefault(caseIndex + ":" + line, "");
    }

    /** Assembles the cases in directory (which must exist); keeps harness.bin there for QEMU. */
    static HarnessImage build(String nasm, Path directory, List<TestCase> cases) throws IOException, InterruptedException {
        try (InputStream template = HarnessImage.class.getResourceAsStream(TEMPLATE)) {
            if (template == null) {
                throw new IOException("missing test resource " + TEMPLATE);
            }
            Files.write(directory.resolve("harness.asm"), template.readAllBytes());
        }
        Files.writeString(directory.resolve("cases.inc"), casesSource(cases));
        Files.writeString(directory.resolve("data.inc"), dataSource(cases));
        Path binary = directory.resolve("harness.bin");
        Path listing = directory.resolve("harness.lst");
        Process process = new ProcessBuilder(nasm, "-f", "bin", "-I" + directory + "/", "-o", binary.toString(),
                "-l", listing.toString(), directory.resolve("harness.asm").toString())
                .directory(directory.toFile()).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(NASM_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IOException("nasm timed out in " + directory);
        }
        if (process.exitValue() != 0) {
            throw new IOException("nasm failed on the generated harness in " + directory + ":\n" + output);
        }
        return new HarnessImage(cases, Files.readAllBytes(binary), parseListing(Files.readAllLines(listing)));
    }

    /**
     * The label at the start of a 16-bit case's code: the base of its code segment (selector 0x18,
     * whose base the harness sets to this address before jumping to offset 0).
     */
    static String sixteenBitBase(int caseIndex) {
        return "code16_" + caseIndex;
    }

    static String casesSource(List<TestCase> cases) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < cases.size(); i++) {
            TestCase c = cases.get(i);
            String next = i + 1 < cases.size() ? "case_" + (i + 1) : "finish";
            boolean sixteen = c.codeBits() == 16;
            text.append("case_").append(i).append(":\n");
            text.append(sixteen ? "    CASE_BEGIN16 " : "    CASE_BEGIN ").append(c.index()).append(", record_").append(i)
                    .append(", ").append(next).append(", ").append(CaseGenerator.hex(c.flagMask() & 0xffff_ffffL));
            if (sixteen) {
                text.append(", ").append(sixteenBitBase(c.index())).append('\n');
                text.append("bits 16\n").append(sixteenBitBase(c.index())).append(":\n");
            } else {
                text.append('\n');
            }
            for (int l = 0; l < c.lines().size(); l++) {
                String line = c.lines().get(l);
                String code = line.contains(";") ? line.substring(0, line.indexOf(';')).trim() : line;
                if (code.endsWith(":")) {
                    text.append(code).append('\n');
                } else {
                    text.append("    ").append(code).append(" ").append(LINE_TAG).append(c.index()).append(':').append(l)
                            .append('\n');
                }
            }
            if (sixteen) {
                text.append("    jmp dword CODE_SELECTOR:case_").append(i).append("_end\n");
                text.append("bits 32\ncase_").append(i).append("_end:\n");
            }
            text.append("    CASE_END\n");
        }
        return text.toString();
    }

    static String dataSource(List<TestCase> cases) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < cases.size(); i++) {
            TestCase c = cases.get(i);
            text.append("record_").append(i).append(":\n    dd ");
            for (int r = 0; r < c.registers().length; r++) {
                text.append(CaseGenerator.hex(c.registers()[r] & 0xffff_ffffL)).append(", ");
            }
            text.append(CaseGenerator.hex(c.eflags() & 0xffff_ffffL)).append('\n');
            appendBytes(text, c.scratch());
            appendBytes(text, c.stack());
        }
        return text.toString();
    }

    private static void appendBytes(StringBuilder text, byte[] bytes) {
        for (int i = 0; i < bytes.length; i += 16) {
            text.append("    db ");
            for (int b = i; b < Math.min(bytes.length, i + 16); b++) {
                text.append(b == i ? "" : ",").append(String.format("0x%02x", bytes[b] & 0xff));
            }
            text.append('\n');
        }
    }

    /** Extracts the bytes of every tagged line; NASM continues long byte strings on following lines. */
    private static Map<String, String> parseListing(List<String> listing) {
        Map<String, String> bytes = new HashMap<>();
        for (int i = 0; i < listing.size(); i++) {
            String line = listing.get(i);
            int tag = line.indexOf(LINE_TAG);
            if (tag < 0) {
                continue;
            }
            Matcher m = LISTING_LINE.matcher(line);
            if (!m.find()) {
                continue;
            }
            StringBuilder hex = new StringBuilder(m.group(1).replace("-", ""));
            while (m.group(1).endsWith("-") && i + 1 < listing.size()) {
                Matcher c = CONTINUATION.matcher(listing.get(i + 1));
                if (!c.find()) {
                    break;
                }
                hex.append(c.group(1));
                i++;
                if (!listing.get(i).trim().endsWith("-")) {
                    break;
                }
            }
            String key = line.substring(tag + LINE_TAG.length()).trim();
            bytes.put(key, spaced(hex.toString().replaceAll("[^0-9A-F]", "")));
        }
        return bytes;
    }

    private static String spaced(String hex) {
        List<String> pairs = new ArrayList<>();
        for (int i = 0; i + 1 < hex.length(); i += 2) {
            pairs.add(hex.substring(i, i + 2));
        }
        return String.join(" ", pairs);
    }
}
