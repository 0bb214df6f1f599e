package org.hotvisor.it;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.apache.felix.framework.FrameworkFactory;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.launch.Framework;

/**
 * A real Felix with the distribution's bundles, in the test's JVM. The Hotvisor bundles' classes
 * live in their own class loaders, so the test talks to services reflectively (see {@link #call}).
 */
final class Platform implements AutoCloseable {
    static final String DISPATCHER_PID = "org.hotvisor.kernel.dispatcher";
    final Framework framework;
    final BundleContext context;
    final Path deploy;

    Platform(Map<String, String> extra) throws Exception {
        Path dist = Hotvisor.root().resolve("launcher/target/dist/bundles");
        if (!Files.isDirectory(dist)) {
            throw new IllegalStateException("no distribution at " + dist + ": run mvn package first");
        }
        deploy = Hotvisor.tempDirectory("hv-deploy");
        Map<String, String> config = new HashMap<>();
        config.put("org.osgi.framework.storage", Hotvisor.tempDirectory("hv-felix").toString());
        config.put("org.osgi.framework.storage.clean", "onFirstInit");
        config.put("org.osgi.framework.system.packages.extra",
                "org.slf4j;version=2.0.17,org.slf4j.event;version=2.0.17,org.slf4j.helpers;version=2.0.17,org.slf4j.spi;version=2.0.17");
        config.put("felix.fileinstall.dir", deploy.toString());
        config.put("felix.fileinstall.poll", "100");
        config.put("felix.fileinstall.noInitialDelay", "true");
        config.put("felix.fileinstall.log.level", "1");
        config.put("felix.fileinstall.enableConfigSave", "false");
        config.put("hotvisor.mode", "console");
        config.put("hotvisor.clock", "deterministic");
        config.putAll(extra);
        framework = new FrameworkFactory().newFramework(config);
        framework.init();
        context = framework.getBundleContext();
        List<Bundle> bundles = new ArrayList<>();
        Bundle configAdmin = null;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dist, "*.jar")) {
            for (Path jar : ds) {
                if (jar.getFileName().toString().contains("gogo.jline") || jar.getFileName().toString().startsWith("jline")) {
                    continue; // no terminal here
                }
                Bundle b = context.installBundle(jar.toUri().toString());
                if ("org.apache.felix.configadmin".equals(b.getSymbolicName())) {
                    configAdmin = b;
                } else {
                    bundles.add(b);
                }
            }
        }
        framework.start();
        if (configAdmin != null) {
            configAdmin.start(); // before FileInstall and SCR, or start-up stalls (FELIX-ON-JAVA25.md)
        }
        for (Bundle b : bundles) {
            if (b.getHeaders().get("Fragment-Host") == null) {
                try {
                    b.start();
                } catch (org.osgi.framework.BundleException e) {
                    throw new IllegalStateException("bundle " + b.getSymbolicName() + " failed to start: " + e.getMessage(), e);
                }
            }
        }
    }

    /** The service object registered under {@code className}, waiting up to 5 s for it. */
    Object service(String className, String filter) throws Exception {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline) {
            ServiceReference<?>[] refs = context.getAllServiceReferences(className, filter);
            if (refs != null && refs.length > 0) {
                return context.getService(refs[0]);
            }
            Thread.sleep(10);
        }
        StringBuilder states = new StringBuilder();
        for (Bundle b : context.getBundles()) {
            states.append("\n  ").append(b.getSymbolicName()).append(" state ").append(b.getState());
        }
        throw new AssertionError("no service " + className + " " + filter + "; bundles:" + states);
    }

    Object vm() throws Exception {
        return service("org.hotvisor.api.Vm", null);
    }

    /**
     * Calls a public method by name on an object whose class the test cannot see, choosing the
     * overload whose parameter types accept the arguments (vmread(int) vs vmread(VmcsField)).
     */
    static Object call(Object target, String method, Object... args) throws Exception {
        java.util.List<Method> candidates = new java.util.ArrayList<>();
        for (Class<?> c = target.getClass(); c != null; c = c.getSuperclass()) {
            for (Class<?> i : c.getInterfaces()) {
                candidates.addAll(java.util.Arrays.asList(i.getMethods()));
            }
        }
        candidates.addAll(java.util.Arrays.asList(target.getClass().getMethods()));
        for (Method m : candidates) {
            if (m.getName().equals(method) && accepts(m.getParameterTypes(), args)) {
                m.setAccessible(true);
                return m.invoke(target, args);
            }
        }
        throw new NoSuchMethodException(method + " on " + target.getClass());
    }

    private static boolean accepts(Class<?>[] types, Object[] args) {
        if (types.length != args.length) {
            return false;
        }
        for (int i = 0; i < types.length; i++) {
            Class<?> t = types[i].isPrimitive() ? boxed(types[i]) : types[i];
            if (args[i] != null && !t.isInstance(args[i])) {
                return false;
            }
        }
        return true;
    }

    private static Class<?> boxed(Class<?> p) {
        return p == int.class ? Integer.class : p == long.class ? Long.class : p == boolean.class ? Boolean.class
                : p == byte.class ? Byte.class : p == short.class ? Short.class : p == char.class ? Character.class
                : p == double.class ? Double.class : Float.class;
    }

    /** Reads a 32-bit word of guest memory. */
    long guest32(Object vm, long address) throws Exception {
        return ((Integer) call(call(vm, "memory"), "read32", address)) & 0xFFFF_FFFFL;
    }

    void guestWrite32(Object vm, long address, int value) throws Exception {
        call(call(vm, "memory"), "write32", address, value);
    }

    /** Loads an image through the kernel's console command object and returns the Vm. */
    Object load(Path image) throws Exception {
        Object commands = service("org.hotvisor.kernel.command.VmCommands", null);
        call(commands, "load", image.toString());
        return vm();
    }

    /** A bundle jar made of test classes, with extra manifest headers. */
    static byte[] bundleJar(String bsn, String version, Map<String, String> headers, Class<?>... classes) throws IOException {
        Manifest mf = new Manifest();
        Attributes a = mf.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Bundle-ManifestVersion", "2");
        a.putValue("Bundle-SymbolicName", bsn);
        a.putValue("Bundle-Version", version);
        headers.forEach(a::putValue);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (JarOutputStream jar = new JarOutputStream(bytes, mf)) {
            for (Class<?> c : classes) {
                String path = c.getName().replace('.', '/') + ".class";
                jar.putNextEntry(new JarEntry(path));
                try (InputStream in = c.getClassLoader().getResourceAsStream(path)) {
                    in.transferTo(jar);
                }
                jar.closeEntry();
            }
        }
        return bytes.toByteArray();
    }

    static InputStream stream(byte[] b) {
        return new ByteArrayInputStream(b);
    }

    @Override
    public void close() throws Exception {
        framework.stop();
        framework.waitForStop(10_000);
    }
}
