package org.hotvisor.vmx.cpu.diff;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Compares the result lines of one batch, reference (QEMU) against the CPU under test (Hotvisor). */
final class Comparison {

    /** One case whose results differ; expected is null only when the reference itself failed. */
    record Mismatch(TestCase testCase, ResultLine expected, ResultLine actual, String differences) {
    }

    private Comparison() {
    }

    /**
     * Every case whose compared state differs. A missing actual line is reported once (for the
     * first case without output): the cases after it are collateral.
     */
    static List<Mismatch> compare(List<TestCase> cases, Map<Integer, ResultLine> expected,
            Map<Integer, ResultLine> actual) {
        List<Mismatch> mismatches = new ArrayList<>();
        for (TestCase c : cases) {
            ResultLine reference = expected.get(c.index());
            ResultLine candidate = actual.get(c.index());
            if (reference == null) {
                mismatches.add(new Mismatch(c, null, candidate, "the reference produced no line for this case"));
                continue;
            }
            if (candidate == null) {
                mismatches.add(new Mismatch(c, reference, null, "no result line: the run stopped before this case"));
                break;
            }
            String differences = differences(c, reference, candidate);
            if (differences != null) {
                mismatches.add(new Mismatch(c, reference, candidate, differences));
            }
        }
        return mismatches;
    }

    /** Null if equal on everything defined; else a list like "EAX 00000001 vs 00000002; flags CF". */
    static String differences(TestCase c, ResultLine reference, ResultLine candidate) {
        List<String> parts = new ArrayList<>();
        if (reference.exception() != candidate.exception()) {
            return "reference: " + (reference.exception() ? exceptionText(reference) : "no exception")
                    + "; under test: " + (candidate.exception() ? exceptionText(candidate) : "no exception");
        }
        if (reference.exception()) {
            if (reference.vector() != candidate.vector() || reference.eip() != candidate.eip()
                    || reference.errorCode() != candidate.errorCode()) {
                parts.add("exception " + exceptionText(reference) + " vs " + exceptionText(candidate));
            }
        }
        for (int r = 0; r < ResultLine.REGISTERS.length; r++) {
            int want = reference.state()[r];
            int got = candidate.state()[r];
            if (((want ^ got) & c.registerMasks()[r]) != 0) {
                parts.add(String.format("%s %08x vs %08x", ResultLine.REGISTERS[r], want, got));
            }
        }
        int flagsWant = reference.state()[ResultLine.EFLAGS];
        int flagsGot = candidate.state()[ResultLine.EFLAGS];
        if (flagsWant != flagsGot) {
            int differing = flagsWant ^ flagsGot;
            parts.add(String.format("EFLAGS %08x vs %08x (differ: %s; reference has %s set)", flagsWant, flagsGot,
                    FlagEffects.names(differing), FlagEffects.names(flagsWant & differing).isEmpty() ? "none"
                            : FlagEffects.names(flagsWant & differing)));
        }
        if (reference.state()[ResultLine.SUM_SCRATCH] != candidate.state()[ResultLine.SUM_SCRATCH]) {
            parts.add(String.format("scratch memory at %#x differs (checksum %08x vs %08x)", TestCase.Layout.SCRATCH,
                    reference.state()[ResultLine.SUM_SCRATCH], candidate.state()[ResultLine.SUM_SCRATCH]));
        }
        if (reference.state()[ResultLine.SUM_STACK] != candidate.state()[ResultLine.SUM_STACK]) {
            parts.add(String.format("test stack at %#x differs (checksum %08x vs %08x)", TestCase.Layout.TEST_STACK,
                    reference.state()[ResultLine.SUM_STACK], candidate.state()[ResultLine.SUM_STACK]));
        }
        return parts.isEmpty() ? null : String.join("; ", parts);
    }

    private static String exceptionText(ResultLine line) {
        return String.format("%s at EIP %08x error %08x", ResultLine.exceptionName(line.vector()), line.eip(),
                line.errorCode());
    }

    /** A self-contained, actionable description of one mismatch. */
    static String describe(HarnessImage image, String batchName, Mismatch m, String referenceName,
            String candidateName) {
        TestCase c = m.testCase();
        StringBuilder text = new StringBuilder();
        text.append(batchName).append(" case ").append(c.index()).append(": ").append(m.differences()).append('\n');
        text.append("  forms: ").append(String.join(" | ", c.forms())).append('\n');
        text.append("  code (after the initial state is loaded; ESP=").append(String.format("%#x",
                TestCase.Layout.TEST_STACK_TOP)).append("):\n");
        for (int l = 0; l < c.lines().size(); l++) {
            String line = c.lines().get(l);
            String bytes = image == null ? "" : image.bytesOf(c.index(), l);
            text.append(String.format("    %-52s %s%n", line, bytes));
        }
        int[] r = c.registers();
        text.append(String.format("  initial: eax=%08x ecx=%08x edx=%08x ebx=%08x ebp=%08x esi=%08x edi=%08x eflags=%08x [%s]%n",
                r[0], r[1], r[2], r[3], r[4], r[5], r[6], c.eflags(), FlagEffects.names(c.eflags())));
        text.append(String.format("  compared EFLAGS bits: %08x%s%n", c.flagMask(), undefinedNames(c.registerMasks())));
        text.append("  ").append(String.format("%-9s", referenceName + ":")).append(' ')
                .append(m.expected() == null ? "(none)" : m.expected().describe()).append('\n');
        text.append("  ").append(String.format("%-9s", candidateName + ":")).append(' ')
                .append(m.actual() == null ? "(none)" : m.actual().describe()).append('\n');
        return text.toString();
    }

    private static String undefinedNames(int[] masks) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < ResultLine.REGISTERS.length; i++) {
            if (masks[i] != -1) {
                names.add(String.format("%s (compared bits %08x)", ResultLine.REGISTERS[i], masks[i]));
            }
        }
        return names.isEmpty() ? "" : "; undefined register bits: " + String.join(", ", names);
    }
}
