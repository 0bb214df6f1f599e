package org.hotvisor.vmx.cpu.x86;

/** Manual benchmark: {@code java ... BenchMain cpuloop.img|exitloop.img [repeats]}. */
public final class BenchMain {
    private BenchMain() {
    }

    public static void main(String[] args) {
        String image = args.length > 0 ? args[0] : "cpuloop.img";
        int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        byte[] img = image.contains("/") ? readFile(image) : Guest.benchImage(image);
        for (int k = 0; k < repeats; k++) {
            Guest g = new Guest(16 << 20).realMode(0x7C00).load(0x7C00, img);
            java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
            long c0 = mx.getCurrentThreadCpuTime();
            long t0 = System.nanoTime();
            int reason = g.runBench();
            long ns = System.nanoTime() - t0;
            long cpu = mx.getCurrentThreadCpuTime() - c0;
            long n = g.core.instructionsRetired();
            System.out.printf("%s: exit %d, %.3f s wall (%.3f s cpu), %d instructions, %.1f MIPS (%.1f per cpu-s),"
                    + " %d I/O + %d CPUID exits (%.0f ns per exit, cpu), blocks compiled %d (%d heading loops, %d loop runs), output %s%n",
                    image, reason, ns / 1e9, cpu / 1e9, n, n / (ns / 1e3), n / (cpu / 1e3), g.ioExits, g.cpuidExits,
                    (double) cpu / Math.max(1, g.ioExits + g.cpuidExits), g.core.compiler.compiled,
                    g.core.compiler.loopingBlocks, g.core.loopRuns,
                    g.serial.toString().replace("\n", "\\n"));
        }
    }

    private static byte[] readFile(String f) {
        try {
            return java.nio.file.Files.readAllBytes(java.nio.file.Path.of(f));
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
