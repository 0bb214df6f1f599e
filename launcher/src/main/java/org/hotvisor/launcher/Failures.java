package org.hotvisor.launcher;

/** Turns exceptions into the one-line messages the launcher prints. */
final class Failures {
    private Failures() {
    }

    /** The innermost cause's message, first line only, or its class name if it has none. */
    static String oneLine(Throwable failure) {
        Throwable root = failure;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return firstLine(root.getMessage() == null ? root.getClass().getName() : root.getMessage());
    }

    static String firstLine(String text) {
        if (text == null) {
            return "";
        }
        int end = text.indexOf('\n');
        String line = end < 0 ? text : text.substring(0, end);
        // Felix repeats a resolution failure's requirement after this marker: once is enough
        int repeat = line.indexOf(" Unresolved requirements:");
        return (repeat < 0 ? line : line.substring(0, repeat)).strip();
    }

    /** The exception's own message and, when different, its innermost cause's: one line. */
    static String describe(Throwable failure) {
        String top = firstLine(failure.getMessage());
        String root = oneLine(failure);
        if (top.isEmpty()) {
            return root;
        }
        return failure.getCause() == null || top.contains(root) ? top : top + ": " + root;
    }
}
