package org.hotvisor.vmx.cpu.x86;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Test fixture: an {@link X86Core} with guest RAM, set up as a VMM would after VM entry into a
 * real-mode (unrestricted) guest, plus a minimal exit loop acting as the VMM.
 */
final class Guest {
    static final int PROC_UNCONDITIONAL_IO = 1 << 24;
    static final int EXIT_CPUID = 10, EXIT_HLT = 12, EXIT_IO = 30;

    final byte[] ram;
    final byte[] host = new byte[64 * 1024];
    final X86Core core;
    final StringBuilder serial = new StringBuilder();
    boolean poweredOff;
    long ioExits, cpuidExits;

    Guest(int ramSize) {
        this(new byte[ramSize]);
    }

    /** A processor on the given RAM: two guests on one array are two processors of one machine. */
    Guest(byte[] sharedRam) {
        ram = sharedRam;
        core = new X86Core(ram, host);
    }

    /** Real-mode state at 0000:ip with all segments base 0, limit 0xFFFF (SDM 3A 9.1.1 style). */
    Guest realMode(int ip) {
        X86Core c = core;
        for (int s = 0; s < 6; s++) {
            c.segments[s].load(0, 0, 0xFFFF, s == X86Core.CS ? 0x9B : 0x93);
        }
        c.ldtr.load(0, 0, 0xFFFF, 0x82);
        c.tr.load(0, 0, 0xFFFF, 0x8B);
        c.gdtrLimit = 0xFFFF;
        c.idtrLimit = 0x3FF;
        c.setRflags(2);
        c.cr0 = 0x10;
        c.rip = ip;
        c.stateLoaded();
        return this;
    }

    /** 32-bit flat protected mode, CPL 0, paging off. */
    Guest flat32(long eip) {
        X86Core c = core;
        for (int s = 0; s < 6; s++) {
            c.segments[s].load(s == X86Core.CS ? 8 : 16, 0, 0xFFFF_FFFF, s == X86Core.CS ? 0xC09B : 0xC093);
        }
        c.ldtr.load(0, 0, 0, Segment.AR_UNUSABLE);
        c.tr.load(0x18, 0, 0x67, 0x8B);
        c.setRflags(2);
        c.cr0 = 0x11;
        c.rip = eip;
        c.stateLoaded();
        return this;
    }

    // ---- protected-mode scaffolding: GDT at 0x1000, IDT at 0x2000, TSS at 0x3000 ----
    static final int GDT = 0x1000, IDT = 0x2000, TSS = 0x3000, RING0_STACK = 0x9000;
    static final int SEL_CODE0 = 0x08, SEL_DATA0 = 0x10, SEL_CODE3 = 0x1B, SEL_DATA3 = 0x23, SEL_TSS = 0x28;
    static final int GATE_INT32 = 0xE, GATE_TRAP32 = 0xF, GATE_TASK = 0x5;
    static final int PROC_HLT_EXITING = 1 << 7;

    /** Writes GDT entry {@code index}: base, 20-bit limit, access byte, flags nibble (G D/B L AVL). */
    Guest descriptor(int index, long base, long limit, int access, int flags) {
        long d = (limit & 0xFFFF) | (base & 0xFFFFFF) << 16 | (long) (access & 0xFF) << 40
                | ((limit >>> 16) & 0xF) << 48 | (long) (flags & 0xF) << 52 | ((base >>> 24) & 0xFF) << 56;
        putLong(GDT + index * 8, d);
        return this;
    }

    /** Writes IDT gate {@code vector}. */
    Guest gate(int vector, int selector, long offset, int type, int dpl) {
        long g = (offset & 0xFFFF) | (long) (selector & 0xFFFF) << 16 | (long) (0x80 | dpl << 5 | type) << 40
                | ((offset >>> 16) & 0xFFFF) << 48;
        putLong(IDT + vector * 8, g);
        return this;
    }

    /** Flat 32-bit protected mode, CPL 0, with GDT (code/data for ring 0 and 3, a TSS), IDT and TSS. */
    Guest protectedMode(long eip) {
        descriptor(1, 0, 0xFFFFF, 0x9A, 0xC);
        descriptor(2, 0, 0xFFFFF, 0x92, 0xC);
        descriptor(3, 0, 0xFFFFF, 0xFA, 0xC);
        descriptor(4, 0, 0xFFFFF, 0xF2, 0xC);
        descriptor(5, TSS, 0x67, 0x8B, 0x0);
        putInt(TSS + 4, RING0_STACK);        // ESP0
        putInt(TSS + 8, SEL_DATA0);          // SS0
        putShort(TSS + 102, 0x68);           // I/O map base: right after the TSS (no bitmap)
        flat32(eip);
        X86Core c = core;
        c.gdtrBase = GDT;
        c.gdtrLimit = 6 * 8 - 1;
        c.idtrBase = IDT;
        c.idtrLimit = 256 * 8 - 1;
        c.tr.load(SEL_TSS, TSS, 0x67, 0x8B);
        c.gpr[X86Core.ESP] = RING0_STACK;
        c.stateLoaded();
        return this;
    }

    /** Switches the loaded state to ring 3 at eip with the given stack. */
    Guest user(long eip, long esp) {
        X86Core c = core;
        c.cs.load(SEL_CODE3, 0, 0xFFFF_FFFF, 0xC0FB);
        for (Segment s : new Segment[] {c.ss, c.ds, c.es, c.fs, c.gs}) {
            s.load(SEL_DATA3, 0, 0xFFFF_FFFF, 0xC0F3);
        }
        c.rip = eip;
        c.gpr[X86Core.ESP] = esp;
        c.stateLoaded();
        return this;
    }

    void putLong(int a, long v) {
        X86Core.VH64.set(ram, a, v);
        core.invalidateCode(a, 8);
    }

    void putInt(int a, long v) {
        X86Core.VH32.set(ram, a, (int) v);
        core.invalidateCode(a, 4);
    }

    void putShort(int a, int v) {
        X86Core.VH16.set(ram, a, (short) v);
        core.invalidateCode(a, 2);
    }

    long getInt(long a) {
        return (int) X86Core.VH32.get(ram, (int) a) & 0xFFFF_FFFFL;
    }

    int getShort(long a) {
        return (short) X86Core.VH16.get(ram, (int) a) & 0xFFFF;
    }

    /** Runs once and returns the basic exit reason. */
    int run() {
        core.run();
        return core.exit.reason & 0xFFFF;
    }

    /** A started thread that kicks the processor ({@code requestExit}, a host kick) after {@code millis} ms. */
    Thread kickAfter(long millis) {
        Thread kicker = new Thread(() -> {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            core.requestExit();
        });
        kicker.start();
        return kicker;
    }

    long reg(int r) {
        return core.gpr[r];
    }

    static byte[] hex(String s) {
        byte[] b = new byte[s.length() / 2];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        }
        return b;
    }

    Guest load(int addr, byte[] bytes) {
        System.arraycopy(bytes, 0, ram, addr, bytes.length);
        core.invalidateCode(addr, bytes.length);
        return this;
    }

    /**
     * Runs with unconditional I/O exiting, acting as the VMM for I/O and CPUID, until the guest
     * writes to port 0xF4 (isa-debug-exit) or an unexpected exit happens.
     *
     * @return the last exit reason
     */
    int runBench() {
        core.controls.procBased |= PROC_UNCONDITIONAL_IO;
        while (true) {
            core.stateLoaded();
            core.run();
            ExitInfo e = core.exit;
            switch (e.reason) {
                case EXIT_IO -> {
                    ioExits++;
                    handleIo(e);
                    if (poweredOff) {
                        return e.reason;
                    }
                }
                case EXIT_CPUID -> {
                    cpuidExits++;
                    cpuid();
                }
                default -> {
                    return e.reason;
                }
            }
            core.rip += e.instructionLength;
        }
    }

    private void handleIo(ExitInfo e) {
        long q = e.qualification;
        int size = (int) (q & 7) + 1;
        boolean in = (q & 8) != 0;
        int port = (int) (q >>> 16) & 0xFFFF;
        long mask = size == 4 ? 0xFFFF_FFFFL : (1L << (8 * size)) - 1;
        if (in) {
            long v = port == 0x92 ? 0 : mask;
            core.gpr[0] = (core.gpr[0] & ~mask) | (v & mask);
            return;
        }
        long v = core.gpr[0] & mask;
        if (port == 0x3F8) {
            serial.append((char) v);
        } else if (port == 0xF4) {
            poweredOff = true;
        }
    }

    private void cpuid() {
        long[] r = core.gpr;
        if ((r[0] & 0xFFFF_FFFFL) == 0) {
            r[0] = 1;
            r[3] = 0x756E_6547L;   // "Genu"
            r[2] = 0x4965_6E69L;   // "ineI"
            r[1] = 0x6C65_746EL;   // "ntel"
        } else {
            r[0] = r[1] = r[2] = r[3] = 0;
        }
    }

    // ---- locating the shared bench images ----

    static Path benchDir() {
        String root = System.getProperty("hotvisor.root");
        if (root != null && !root.isBlank()) {
            Path p = Path.of(root).resolve("../shared/bench").normalize();
            if (Files.isDirectory(p)) {
                return p;
            }
        }
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            for (Path p : new Path[] {d.resolve("shared/bench"), d.resolve("../shared/bench")}) {
                if (Files.exists(p.resolve("cpuloop.img"))) {
                    return p.normalize();
                }
            }
        }
        throw new IllegalStateException("cannot find shared/bench (set -Dhotvisor.root)");
    }

    static byte[] benchImage(String name) {
        try {
            return Files.readAllBytes(benchDir().resolve(name));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
