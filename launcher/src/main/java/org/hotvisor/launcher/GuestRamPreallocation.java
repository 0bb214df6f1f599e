package org.hotvisor.launcher;

import java.util.Dictionary;
import java.util.Hashtable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.osgi.framework.BundleContext;

/**
 * Allocates the guest RAM on a background thread while Felix starts, and offers it to the kernel
 * as a {@code Supplier<byte[]>} service from the system bundle (a JDK type, visible to every
 * bundle). A zeroed 128 MiB array costs about 0.1 s of page faults here; off the main thread it
 * overlaps the framework's start instead of delaying the VM. The kernel takes it once, when the
 * size matches, and allocates its own otherwise.
 */
final class GuestRamPreallocation implements Supplier<byte[]> {
    /** Service property: the array's length in bytes. */
    static final String BYTES = "hotvisor.guest.ram.bytes";
    private static final long MIN_BYTES = 1L << 20, MAX_BYTES = Integer.MAX_VALUE - 16;

    private final long bytes;
    private final CompletableFuture<byte[]> ram;
    private final AtomicBoolean taken = new AtomicBoolean();

    private GuestRamPreallocation(long bytes) {
        this.bytes = bytes;
        this.ram = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                ram.complete(new byte[(int) bytes]);
            } catch (Throwable e) { // OutOfMemoryError: the kernel tries (and reports) itself
                ram.completeExceptionally(e);
            }
        }, "hotvisor-ram");
        t.setDaemon(true);
        t.start();
    }

    /** Starts allocating; null for a size the kernel would refuse anyway. */
    static GuestRamPreallocation start(long bytes) {
        return bytes >= MIN_BYTES && bytes <= MAX_BYTES ? new GuestRamPreallocation(bytes) : null;
    }

    void register(BundleContext context) {
        Dictionary<String, Object> properties = new Hashtable<>();
        properties.put(BYTES, bytes);
        context.registerService(Supplier.class, this, properties);
    }

    /** The zeroed array, once (null after that, or if the allocation failed). */
    @Override
    public byte[] get() {
        if (!taken.compareAndSet(false, true)) {
            return null;
        }
        try {
            return ram.join();
        } catch (RuntimeException failed) {
            return null;
        }
    }
}
