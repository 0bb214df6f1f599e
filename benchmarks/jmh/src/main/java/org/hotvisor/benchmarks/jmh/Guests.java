package org.hotvisor.benchmarks.jmh;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** The benchmark guests (guests/bench/*.img) and their expected lines, from the class path. */
final class Guests {
    private Guests() {}

    static byte[] image(String name) {
        return resource("/guests/" + name + ".img");
    }

    /** The line {@code name} must print, from guests/bench/expected.txt ("name TAB line"). */
    static String expected(String name) {
        String table = new String(resource("/guests/expected.txt"), StandardCharsets.UTF_8);
        return table.lines().filter(l -> l.startsWith(name + "\t")).map(l -> l.substring(name.length() + 1))
                .findFirst().orElseThrow(() -> new IllegalStateException("no expected line for " + name));
    }

    private static byte[] resource(String path) {
        try (InputStream in = Guests.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException(path + " is not on the class path (guests/bench/build.sh builds it)");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
