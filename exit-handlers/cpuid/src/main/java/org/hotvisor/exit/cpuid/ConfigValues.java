package org.hotvisor.exit.cpuid;

import java.util.List;
import java.util.Map;

/**
 * Tolerant reading of ConfigAdmin properties. A .cfg file delivers strings, so numbers may be
 * written in decimal or 0x-hex. A bad value never throws: the default stays and the problem is
 * added to {@code problems} so the caller can log it.
 */
final class ConfigValues {
    private final Map<String, ?> properties;
    private final List<String> problems;

    ConfigValues(Map<String, ?> properties, List<String> problems) {
        this.properties = properties == null ? Map.of() : properties;
        this.problems = problems;
    }

    String string(String key, String fallback) {
        Object v = properties.get(key);
        return v == null ? fallback : String.valueOf(v).trim();
    }

    /** A 32-bit word; accepts values up to 0xFFFFFFFF (unsigned) as well as negative ints. */
    int word(String key, int fallback) {
        long v = number(key, fallback & 0xFFFFFFFFL);
        if (v < Integer.MIN_VALUE || v > 0xFFFFFFFFL) {
            problems.add(key + "=" + v + " does not fit in 32 bits; using 0x" + Integer.toHexString(fallback));
            return fallback;
        }
        return (int) v;
    }

    /** An int within [min, max]. */
    int bounded(String key, int fallback, int min, int max) {
        long v = number(key, fallback);
        if (v < min || v > max) {
            problems.add(key + "=" + v + " is outside [" + min + ", " + max + "]; using " + fallback);
            return fallback;
        }
        return (int) v;
    }

    private long number(String key, long fallback) {
        Object v = properties.get(key);
        if (v == null) {
            return fallback;
        }
        if (v instanceof Number n) {
            return n.longValue();
        }
        String text = String.valueOf(v).trim().replace("_", "");
        try {
            if (text.startsWith("0x") || text.startsWith("0X")) {
                return Long.parseUnsignedLong(text.substring(2), 16);
            }
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            problems.add(key + "='" + text + "' is not a number; keeping the default");
            return fallback;
        }
    }
}
