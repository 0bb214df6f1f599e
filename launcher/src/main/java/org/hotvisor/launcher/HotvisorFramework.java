package org.hotvisor.launcher;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.LongSupplier;
import java.util.stream.Stream;
import org.apache.felix.framework.FrameworkFactory;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.launch.Framework;
import org.osgi.framework.wiring.BundleWiring;
import org.osgi.framework.wiring.FrameworkWiring;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** An embedded Felix with the distribution's bundles installed and started in {@link StartPhase} order. */
final class HotvisorFramework {
    private static final Logger LOG = LoggerFactory.getLogger(HotvisorFramework.class);
    /** slf4j lives on the launcher's class path; bundles import it from the system bundle. */
    static final String SLF4J_PACKAGES = "org.slf4j;version=2.0.17,org.slf4j.event;version=2.0.17,"
            + "org.slf4j.helpers;version=2.0.17,org.slf4j.spi;version=2.0.17";

    static final String JLINE_BUNDLE = "org.jline";

    private final Framework framework;
    private final Path storage;
    private final List<Bundle> installed = new ArrayList<>();

    private HotvisorFramework(Framework framework, Path storage) {
        this.framework = framework;
        this.storage = storage;
    }

    /**
     * A new, owner-only directory for Felix's cache under {@link #storageBase}. Not
     * Files.createTempDirectory: its SecureRandom loads the security providers (about 20 ms of a
     * cold start, measured). The name carries this process's id and a clock reading; creating a
     * directory is atomic, so a clash with another process fails and retries with a new name.
     */
    static Path newStorageDirectory() throws IOException {
        Path base = storageBase(Path.of(SHARED_MEMORY), Path.of(System.getProperty("java.io.tmpdir")));
        if (base.equals(Path.of(SHARED_MEMORY))) {
            removeAbandoned(base, System.currentTimeMillis()); // memory, not disk: a killed run's cache would stay until reboot
        }
        return newStorageDirectory(base, ProcessHandle.current().pid(), System::nanoTime);
    }

    private static final String SHARED_MEMORY = "/dev/shm";
    private static final String STORAGE_PREFIX = "hotvisor-felix-";

    /**
     * Where the cache goes: {@code shm} (Linux's tmpfs) when it is a writable directory, else
     * {@code fallback}. Felix writes about 120 small files and directories per run and the
     * launcher deletes them at the end: on tmpfs that took about 45 ms less than on this
     * machine's ext4 /tmp (install and stop-and-delete, three interleaved runs each).
     */
    static Path storageBase(Path shm, Path fallback) {
        return Files.isDirectory(shm) && Files.isWritable(shm) ? shm : fallback;
    }

    /** As {@link #newStorageDirectory()}, under {@code base}, for process {@code pid}, naming from {@code clock} (tests). */
    static Path newStorageDirectory(Path base, long pid, LongSupplier clock) throws IOException {
        boolean posix = base.getFileSystem().supportedFileAttributeViews().contains("posix");
        for (int attempt = 0; ; attempt++) {
            Path dir = base.resolve(STORAGE_PREFIX + pid + "-" + Long.toHexString(clock.getAsLong()));
            try {
                return posix ? Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(EnumSet.of(
                        PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE)))
                        : Files.createDirectory(dir);
            } catch (FileAlreadyExistsException clash) {
                if (attempt >= STORAGE_ATTEMPTS) {
                    throw clash;
                }
            }
        }
    }

    /**
     * Deletes the caches of runs that could not delete their own (killed): Felix holds a file lock
     * on {@code cache.lock} in its storage while the framework runs, and the operating system drops
     * it when the process dies, so a lock this process can take marks an abandoned cache (in any
     * PID namespace sharing the directory). A lock file younger than {@link #ABANDONED_AFTER_MILLIS}
     * may belong to a framework between creating it and locking it, and a cache without one to a
     * framework not yet initialised: both stay. So do caches named for this process (closing a
     * channel can drop the locks a JVM holds on the file through another) and caches whose name
     * carries no process id. Returns how many went.
     */
    static int removeAbandoned(Path base, long nowMillis) {
        int removed = 0;
        long self = ProcessHandle.current().pid();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(base, STORAGE_PREFIX + "*")) {
            for (Path dir : dirs) {
                long owner = ownerOf(dir.getFileName().toString());
                if (owner > 0 && owner != self && abandoned(dir.resolve(CACHE_LOCK), nowMillis)) {
                    deleteTree(dir);
                    removed++;
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // best effort, like deleteTree
        }
        return removed;
    }

    /** The process id in a cache directory's name ({@code hotvisor-felix-PID-CLOCK}), or -1. */
    static long ownerOf(String name) {
        int end = name.indexOf('-', STORAGE_PREFIX.length());
        if (!name.startsWith(STORAGE_PREFIX) || end < 0) {
            return -1;
        }
        try {
            return Long.parseLong(name, STORAGE_PREFIX.length(), end, 10);
        } catch (NumberFormatException notAnId) {
            return -1;
        }
    }

    static final String CACHE_LOCK = "cache.lock";
    static final long ABANDONED_AFTER_MILLIS = 10_000;

    private static boolean abandoned(Path lockFile, long nowMillis) throws IOException {
        if (!Files.isRegularFile(lockFile)
                || nowMillis - Files.getLastModifiedTime(lockFile).toMillis() < ABANDONED_AFTER_MILLIS) {
            return false;
        }
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.WRITE)) {
            FileLock lock = channel.tryLock();
            if (lock == null) {
                return false; // a live framework holds it
            }
            lock.release();
            return true;
        } catch (OverlappingFileLockException heldHere) {
            return false; // this JVM's own framework
        }
    }

    private static final int STORAGE_ATTEMPTS = 100;

    /** Creates and initialises (not yet starts) the framework with the run request as properties. */
    static HotvisorFramework create(Map<String, String> hotvisorProperties, Path deployDirectory) throws LaunchException {
        Path storage;
        try {
            storage = newStorageDirectory();
        } catch (IOException | RuntimeException failure) {
            throw new LaunchException("cannot create the framework's storage directory: " + Failures.describe(failure));
        }
        Map<String, Object> configuration = new HashMap<>(hotvisorProperties);
        // A new, empty directory: no storage.clean, whose "onFirstInit" would delete and re-create it
        // (losing its owner-only permissions and the cache.lock that marks it live, see removeAbandoned).
        configuration.put(Constants.FRAMEWORK_STORAGE, storage.toString());
        configuration.put(Constants.FRAMEWORK_SYSTEMPACKAGES_EXTRA, SLF4J_PACKAGES);
        configuration.put("felix.log.logger", new FelixLogger());
        configuration.put("felix.fileinstall.dir", deployDirectory.toString());
        configuration.put("felix.fileinstall.noInitialDelay", "true");
        configuration.put("felix.fileinstall.poll", "250");
        // Never write configurations back into the user's .cfg files (FileInstall's default
        // rewrites, and can truncate, them when a configuration changes).
        configuration.put("felix.fileinstall.enableConfigSave", "false");
        // errors only, through java.util.logging (stderr) rather than FileInstall's System.out
        configuration.put("felix.fileinstall.log.level", "1");
        configuration.put("felix.fileinstall.log.default", "jul");
        // SCR: log errors only (its fallback logger prints to stderr when no LogService runs)
        configuration.put("ds.loglevel", "error");
        @SuppressWarnings({"unchecked", "rawtypes"})
        Map<String, String> felixConfiguration = (Map) configuration; // Felix accepts objects such as the logger
        Framework framework = new FrameworkFactory().newFramework(felixConfiguration);
        try {
            framework.init();
        } catch (BundleException | RuntimeException failure) {
            deleteTree(storage);
            throw new LaunchException("the OSGi framework did not initialise: " + Failures.describe(failure));
        }
        return new HotvisorFramework(framework, storage);
    }

    BundleContext context() {
        return framework.getBundleContext();
    }

    Framework framework() {
        return framework;
    }

    /** The bundle jars of a folder, in name order. */
    static List<Path> bundleJars(Path folder) throws LaunchException {
        if (!Files.isDirectory(folder)) {
            throw new LaunchException("bundle folder not found: " + folder + " (build the distribution: mvn -DskipTests install)");
        }
        try (Stream<Path> files = Files.list(folder)) {
            return files.filter(file -> file.getFileName().toString().endsWith(".jar")).sorted().toList();
        } catch (IOException failure) {
            throw new LaunchException("cannot list " + folder + ": " + Failures.describe(failure));
        }
    }

    /**
     * Installs the folder's jars (by reference: Felix reads them in place instead of copying them).
     * Without {@code withConsole} the Gogo and JLine jars (named as the distribution names them)
     * are not even installed: a headless run does not pay for parsing their manifests.
     */
    void install(Path folder, boolean withConsole) throws LaunchException {
        List<Path> jars = bundleJars(folder);
        BundleContext context = context();
        for (Path jar : jars) {
            if (!withConsole && StartPhase.isConsoleJar(jar.getFileName().toString())) {
                continue;
            }
            try {
                installed.add(context.installBundle("reference:" + jar.toUri()));
            } catch (BundleException | RuntimeException failure) {
                throw new LaunchException("cannot install bundle " + jar.getFileName() + ": " + Failures.describe(failure));
            }
        }
        if (installed.stream().noneMatch(bundle -> StartPhase.KERNEL_BUNDLE.equals(bundle.getSymbolicName()))) {
            throw new LaunchException("the kernel bundle (" + StartPhase.KERNEL_BUNDLE + ") is not among the bundles in " + folder);
        }
    }

    /**
     * Starts the framework, then the bundles phase by phase, up to {@code lastPhase}. A bundle that
     * fails to start is fatal when it is essential or {@code strict}; otherwise it is logged.
     */
    void start(StartPhase lastPhase, boolean strict) throws LaunchException {
        try {
            framework.start();
        } catch (BundleException | RuntimeException failure) {
            throw new LaunchException("the OSGi framework did not start: " + Failures.describe(failure));
        }
        List<Bundle> ordered = new ArrayList<>(installed);
        ordered.sort(Comparator.comparing((Bundle bundle) -> StartPhase.of(bundle.getSymbolicName())));
        List<Bundle> hotvisor = new ArrayList<>();
        for (Bundle bundle : ordered) {
            StartPhase phase = StartPhase.of(bundle.getSymbolicName());
            if (phase.compareTo(lastPhase) > 0 || bundle.getHeaders().get(Constants.FRAGMENT_HOST) != null) {
                continue;
            }
            if (phase == StartPhase.HOTVISOR) {
                hotvisor.add(bundle);
                continue;
            }
            if (!hotvisor.isEmpty()) {
                startConcurrently(hotvisor, strict);
                hotvisor.clear();
            }
            startBundle(bundle, phase.essential() || strict);
        }
        if (!hotvisor.isEmpty()) {
            startConcurrently(hotvisor, strict);
        }
    }

    /**
     * The devices, exit handlers and CPU bundles, on two threads: they only register services
     * (whiteboard), which the kernel, started after all of them, looks up. Resolving them first,
     * together, keeps the two threads off Felix's resolver lock.
     */
    private void startConcurrently(List<Bundle> bundles, boolean strict) throws LaunchException {
        framework.adapt(FrameworkWiring.class).resolveBundles(bundles);
        Queue<Bundle> queue = new ConcurrentLinkedQueue<>(bundles);
        Throwable[] helperFailure = new Throwable[1];
        Thread helper = Thread.ofPlatform().name("hotvisor-bundle-start").start(() -> {
            try {
                startAll(queue, strict);
            } catch (LaunchException | RuntimeException | Error e) {
                helperFailure[0] = e;
            }
        });
        try {
            startAll(queue, strict);
        } finally {
            joinQuietly(helper);
        }
        Throwable failure = helperFailure[0]; // one of the three types startAll throws
        if (failure instanceof LaunchException e) {
            throw e;
        }
        if (failure instanceof RuntimeException e) {
            throw e;
        }
        if (failure instanceof Error e) {
            throw e;
        }
    }

    /** Starts bundles from the shared queue until it is empty; a fatal failure empties it for both threads. */
    private static void startAll(Queue<Bundle> queue, boolean strict) throws LaunchException {
        try {
            for (Bundle b; (b = queue.poll()) != null; ) {
                startBundle(b, strict);
            }
        } catch (LaunchException | RuntimeException | Error e) {
            queue.clear();
            throw e;
        }
    }

    private static void joinQuietly(Thread t) {
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Starts the console bundles that {@link #start} left out: JLine first, then Gogo with JLine's
     * class loader as the thread context class loader. JLine 3.30 finds its terminal providers
     * (exec, ffm, ...) as resources of the context class loader; the launcher's own cannot see
     * them, and JLine would fall back to a dumb terminal.
     */
    void startConsole() throws LaunchException {
        List<Bundle> console = new ArrayList<>(installed.stream()
                .filter(bundle -> StartPhase.of(bundle.getSymbolicName()) == StartPhase.CONSOLE)
                .filter(bundle -> bundle.getHeaders().get(Constants.FRAGMENT_HOST) == null).toList());
        console.sort(Comparator.comparing((Bundle bundle) -> !JLINE_BUNDLE.equals(bundle.getSymbolicName())));
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        try {
            for (Bundle bundle : console) {
                startBundle(bundle, true);
                if (JLINE_BUNDLE.equals(bundle.getSymbolicName())) {
                    BundleWiring wiring = bundle.adapt(BundleWiring.class);
                    if (wiring != null) {
                        thread.setContextClassLoader(wiring.getClassLoader());
                    }
                }
            }
        } finally {
            thread.setContextClassLoader(previous);
        }
    }

    private static void startBundle(Bundle bundle, boolean fatal) throws LaunchException {
        long begin = System.nanoTime();
        try {
            bundle.start();
        } catch (BundleException | RuntimeException failure) {
            String message = "bundle " + bundle.getSymbolicName() + " failed to start: " + Failures.describe(failure);
            if (fatal) {
                throw new LaunchException(message);
            }
            LOG.error(message);
        }
        LOG.debug("started {} in {} ms", bundle.getSymbolicName(), (System.nanoTime() - begin) / 1_000_000);
    }

    Bundle kernelBundle() {
        return installed.stream().filter(bundle -> StartPhase.KERNEL_BUNDLE.equals(bundle.getSymbolicName())).findFirst()
                .orElse(null);
    }

    boolean stopped() {
        int state = framework.getState();
        return state != Bundle.ACTIVE && state != Bundle.STARTING;
    }

    /** Stops the framework, waiting at most {@code timeoutMillis}, and deletes its storage. */
    void stop(long timeoutMillis) {
        try {
            framework.stop();
            FrameworkEvent event = framework.waitForStop(timeoutMillis);
            if (event.getType() == FrameworkEvent.WAIT_TIMEDOUT) {
                LOG.warn("the framework did not stop within {} ms", timeoutMillis);
            }
        } catch (BundleException | RuntimeException failure) {
            LOG.warn("stopping the framework: {}", Failures.describe(failure));
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
        }
        deleteTree(storage);
    }

    /** Waits until something stops the framework (the console's shutdown command). */
    void awaitStop() throws InterruptedException {
        framework.waitForStop(0);
        deleteTree(storage);
    }

    /**
     * Deletes a directory tree, best effort: a temp folder left behind is harmless. Plain
     * recursion over {@code java.io.File}, not a stream of paths: at the end of a run that code
     * is cold, and the stream's lambdas and pipeline cost about 10 ms of class loading and
     * spinning there.
     */
    static void deleteTree(Path root) {
        if (root != null) {
            deleteTree(root.toFile());
        }
    }

    private static void deleteTree(java.io.File file) {
        if (!Files.isSymbolicLink(file.toPath())) {
            java.io.File[] children = file.listFiles();
            if (children != null) {
                for (java.io.File child : children) {
                    deleteTree(child);
                }
            }
        }
        file.delete();
    }

}
