package org.hotvisor.benchmarks.jmh;

import org.hotvisor.harness.HandlerTestBench;

/** A benchmark run counts only when the guest printed its line and powered off as it should. */
final class GuestCheck {
    private GuestCheck() {}

    static void check(String guest, String expected, String output, HandlerTestBench.Result r, int status) {
        if (r.status() != status || !(output.contains(expected) || undoubled(output).contains(expected))) {
            throw new IllegalStateException(guest + ": expected \"" + expected + "\" and status " + status
                    + ", got " + r + " and output \"" + output.strip() + "\"");
        }
    }

    /**
     * The guests write each character to COM1 and to port 0xE9, and the harness collects both
     * in one stream: "ccoommppuuttee" reads back as "compute".
     */
    static String undoubled(String output) {
        if (output.length() % 2 != 0) {
            return output;
        }
        StringBuilder b = new StringBuilder(output.length() / 2);
        for (int i = 0; i < output.length(); i += 2) {
            if (output.charAt(i) != output.charAt(i + 1)) {
                return output;
            }
            b.append(output.charAt(i));
        }
        return b.toString();
    }
}
