package org.hotvisor.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/** Writes tiny bundles for the launcher's tests, and copies the real SCR bundles from the class path. */
final class FakeBundles {
    private FakeBundles() {
    }

    /** A bundle with the given symbolic name, manifest headers, test classes and text resources. */
    static Path bundle(Path folder, String symbolicName, Map<String, String> headers, Class<?>[] classes,
            Map<String, String> resources) throws IOException {
        Manifest manifest = new Manifest();
        Attributes main = manifest.getMainAttributes();
        main.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        main.putValue("Bundle-ManifestVersion", "2");
        main.putValue("Bundle-SymbolicName", symbolicName);
        main.putValue("Bundle-Version", "0.0.1");
        headers.forEach(main::putValue);
        Path jar = folder.resolve(symbolicName + ".jar");
        try (OutputStream file = Files.newOutputStream(jar); JarOutputStream out = new JarOutputStream(file, manifest)) {
            for (Class<?> type : classes) {
                String entry = type.getName().replace('.', '/') + ".class";
                out.putNextEntry(new JarEntry(entry));
                try (InputStream bytes = type.getClassLoader().getResourceAsStream(entry)) {
                    bytes.transferTo(out);
                }
                out.closeEntry();
            }
            for (Map.Entry<String, String> resource : resources.entrySet()) {
                out.putNextEntry(new JarEntry(resource.getKey()));
                out.write(resource.getValue().getBytes(StandardCharsets.UTF_8));
                out.closeEntry();
            }
        }
        return jar;
    }

    /** Copies SCR and the three spec bundles it needs (they are on the test class path, provided scope). */
    static void copyDeclarativeServices(Path folder) throws IOException {
        for (String className : new String[] {"org.apache.felix.scr.impl.Activator", "org.osgi.service.component.ComponentContext",
            "org.osgi.util.promise.Promise", "org.osgi.util.function.Function"}) {
            try {
                Class<?> type = Class.forName(className, false, FakeBundles.class.getClassLoader());
                Path jar = Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
                Files.copy(jar, folder.resolve(jar.getFileName()));
            } catch (ClassNotFoundException | URISyntaxException missing) {
                throw new IOException("not on the test class path: " + className, missing);
            }
        }
    }
}
