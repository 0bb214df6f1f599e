package org.hotvisor.launcher;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where things are: the distribution ({@code lib/}, {@code bundles/}) and the repository root
 * ({@code guests/}). The script passes {@code -Dhotvisor.root}; {@code -Dhotvisor.dist} and
 * {@code -Dhotvisor.bundles} override the rest (tests, development).
 */
record Distribution(Path home, Path bundles, Path root) {
    static final String DIST_PROPERTY = "hotvisor.dist";
    static final String BUNDLES_PROPERTY = "hotvisor.bundles";
    static final String ROOT_PROPERTY = "hotvisor.root";

    Path demoImage() {
        return root.resolve("guests").resolve("demo").resolve("demo.img");
    }

    Path consoleImage() {
        return root.resolve("guests").resolve("demo").resolve("demo-forever.img");
    }

    static Distribution locate() {
        Path home = property(DIST_PROPERTY);
        if (home == null) {
            home = fromCodeSource();
        }
        Path bundles = property(BUNDLES_PROPERTY);
        if (bundles == null) {
            bundles = home.resolve("bundles");
        }
        Path root = property(ROOT_PROPERTY);
        if (root == null) {
            // launcher/target/dist -> the repository root
            Path guess = home.getParent() == null || home.getParent().getParent() == null ? null
                    : home.getParent().getParent().getParent();
            root = guess != null && Files.isDirectory(guess.resolve("guests")) ? guess : Path.of("").toAbsolutePath();
        }
        return new Distribution(home, bundles, root);
    }

    private static Path property(String name) {
        String value = System.getProperty(name);
        return value == null || value.isBlank() ? null : Path.of(value).toAbsolutePath().normalize();
    }

    /** dist/lib/hotvisor-launcher.jar -> dist; launcher/target/classes (IDE, tests) -> launcher/target/dist. */
    private static Path fromCodeSource() {
        try {
            Path location = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path parent = location.getParent();
            if (Files.isRegularFile(location) && parent != null && parent.getParent() != null) {
                return parent.getParent();
            }
            return parent == null ? location : parent.resolve("dist");
        } catch (URISyntaxException | RuntimeException unknown) {
            return Path.of("dist").toAbsolutePath();
        }
    }
}
