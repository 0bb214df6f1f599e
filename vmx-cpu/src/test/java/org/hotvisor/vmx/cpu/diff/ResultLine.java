package org.hotvisor.vmx.cpu.diff;

import java.util.HashMap;
import java.util.Map;

/**
 * One line of harness output: {@code C case eax ecx edx ebx esp ebp esi edi eflags sum-scratch sum-stack}
 * or, when the case raised an exception, {@code X case vector eip error} followed by the same state
 * as it was when the exception was raised.
 *
 * @param state EAX ECX EDX EBX ESP EBP ESI EDI, masked EFLAGS, scratch checksum, stack checksum
 */
record ResultLine(boolean exception, int caseIndex, int vector, int eip, int errorCode, int[] state, String text) {

    /** Register order of the state (the dump order of harness.asm). */
    static final String[] REGISTERS = {"EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI"};
    static final int EFLAGS = 8;
    static final int SUM_SCRATCH = 9;
    static final int SUM_STACK = 10;
    private static final int STATE_VALUES = 11;
    private static final int EXCEPTION_VALUES = 3;
    static final String[] EXCEPTION_NAMES = {"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO",
        "#TS", "#NP", "#SS", "#GP", "#PF", "15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP"};

    /** Parses every C and X line of the output by case number; other lines (firmware noise) are ignored. */
    static Map<Integer, ResultLine> parseAll(String output) {
        Map<Integer, ResultLine> lines = new HashMap<>();
        for (String raw : output.split("\n")) {
            ResultLine line = parse(raw.trim());
            if (line != null) {
                lines.putIfAbsent(line.caseIndex(), line);
            }
        }
        return lines;
    }

    static ResultLine parse(String text) {
        String[] fields = text.split(" ");
        boolean exception = fields[0].equals("X");
        if (!exception && !fields[0].equals("C")) {
            return null;
        }
        int header = exception ? EXCEPTION_VALUES : 0;
        if (fields.length != 2 + header + STATE_VALUES) {
            return null;
        }
        try {
            int[] values = new int[fields.length - 1];
            for (int i = 1; i < fields.length; i++) {
                values[i - 1] = Integer.parseUnsignedInt(fields[i], 16);
            }
            int[] state = new int[STATE_VALUES];
            System.arraycopy(values, 1 + header, state, 0, STATE_VALUES);
            return exception ? new ResultLine(true, values[0], values[1], values[2], values[3], state, text)
                    : new ResultLine(false, values[0], -1, 0, 0, state, text);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    static String exceptionName(int vector) {
        return vector >= 0 && vector < EXCEPTION_NAMES.length ? EXCEPTION_NAMES[vector] : "vector " + vector;
    }

    String describe() {
        StringBuilder text = new StringBuilder();
        if (exception) {
            text.append(String.format("EXCEPTION %s at EIP %08x, error code %08x; state: ", exceptionName(vector), eip,
                    errorCode));
        }
        for (int i = 0; i < REGISTERS.length; i++) {
            text.append(REGISTERS[i].toLowerCase()).append('=').append(String.format("%08x", state[i])).append(' ');
        }
        text.append(String.format("eflags=%08x [%s] sum(scratch)=%08x sum(stack)=%08x", state[EFLAGS],
                FlagEffects.names(state[EFLAGS]), state[SUM_SCRATCH], state[SUM_STACK]));
        return text.toString();
    }
}
