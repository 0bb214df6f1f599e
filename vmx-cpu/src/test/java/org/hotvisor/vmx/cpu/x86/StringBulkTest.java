package org.hotvisor.vmx.cpu.x86;

import static org.hotvisor.vmx.cpu.x86.X86Core.EAX;
import static org.hotvisor.vmx.cpu.x86.X86Core.ECX;
import static org.hotvisor.vmx.cpu.x86.X86Core.EDI;
import static org.hotvisor.vmx.cpu.x86.X86Core.ESI;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * REP string instructions against a model that executes them one iteration at a time (SDM 2
 * MOVS/STOS/CMPS/SCAS and REP/REPE/REPNE): the processor's whole-page runs ({@code Strings}'s
 * bulk paths) must leave memory, RSI/RDI/RCX and the arithmetic flags exactly as the iterations
 * would. The cases are random, weighted to the edges: page boundaries, overlapping MOVS in both
 * directions, 16-bit address wrap, a difference at any element.
 */
class StringBulkTest {
    private static final int CODE = 0x100000;
    private static final int DATA_LOW = 0x10000, DATA_HIGH = 0x40000;
    private static final int MOVS = 0xA4, STOS = 0xAA, CMPS = 0xA6, SCAS = 0xAE;
    private static final int[] OPS = {MOVS, STOS, CMPS, SCAS};
    private static final long ARITH_FLAGS = 0x8D5;   // OF SF ZF AF PF CF

    private static final int PD = 0x80000, PT0 = 0x81000;

    /** Bit 0: compiled blocks; bit 1: paging, with the data area's pages mapped to shuffled frames. */
    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3})
    void repStringInstructionsMatchTheirIterations(int variant) {
        boolean compiled = (variant & 1) != 0, paged = (variant & 2) != 0;
        Random rnd = new Random(0x5EED + variant);
        int[] frame = new int[1024];
        for (int i = 0; i < frame.length; i++) {
            frame[i] = i;
        }
        if (paged) {   // adjacent linear pages are rarely adjacent in RAM: a run must stop at each page end
            for (int i = DATA_HIGH >>> 12; i > DATA_LOW >>> 12; i--) {
                int j = (DATA_LOW >>> 12) + rnd.nextInt(i - (DATA_LOW >>> 12));
                int t = frame[i - 1];
                frame[i - 1] = frame[j];
                frame[j] = t;
            }
        }
        Guest g = new Guest(2 << 20);
        for (int round = 0; round < 1000; round++) {
            Case k = Case.random(rnd);
            byte[] expected = Arrays.copyOf(g.ram, DATA_HIGH);
            k.fill(rnd, expected, frame);
            System.arraycopy(expected, 0, g.ram, 0, DATA_HIGH);
            Model m = new Model(k, expected, frame);
            m.run();

            g.flat32(CODE).load(CODE, k.code());
            if (paged) {
                g.putInt(PD, PT0 | 7);
                for (int i = 0; i < 1024; i++) {
                    g.putInt(PT0 + 4 * i, (long) frame[i] << 12 | 7);
                }
                g.core.cr3 = PD;
                g.core.cr0 |= 0x8000_0000L;
            }
            g.core.controls.procBased |= Guest.PROC_HLT_EXITING;
            g.core.compileBlocks = compiled;
            g.core.compileThreshold = 1;
            g.core.gpr[ESI] = k.esi;
            g.core.gpr[EDI] = k.edi;
            g.core.gpr[ECX] = k.ecx;
            g.core.gpr[EAX] = k.eax;
            g.core.stateLoaded();
            assertEquals(Guest.EXIT_HLT, g.run(), k + ": ran to its HLT");
            assertEquals(Long.toHexString(m.esi), Long.toHexString(g.core.gpr[ESI]), k + ": RSI");
            assertEquals(Long.toHexString(m.edi), Long.toHexString(g.core.gpr[EDI]), k + ": RDI");
            assertEquals(Long.toHexString(m.ecx), Long.toHexString(g.core.gpr[ECX]), k + ": RCX");
            assertEquals(Long.toHexString(m.flags), Long.toHexString(g.core.rflags() & ARITH_FLAGS), k + ": flags");
            assertArrayEquals(expected, Arrays.copyOf(g.ram, DATA_HIGH), k + ": memory");
        }
    }

    /** The RAM index of a linear address under the test's page map (identity without paging). */
    private static int phys(long linear, int[] frame) {
        return frame[(int) (linear >>> 12)] << 12 | (int) (linear & 0xFFF);
    }

    /** One instruction: its encoding's choices and the registers it starts with. */
    private record Case(int op, int size, boolean down, boolean repne, boolean addr16, long esi, long edi, long ecx,
            long eax, int planted) {

        static Case random(Random rnd) {
            int op = OPS[rnd.nextInt(OPS.length)];
            int size = new int[] {1, 2, 4}[rnd.nextInt(3)];
            boolean down = rnd.nextInt(3) == 0;
            boolean repne = (op == CMPS || op == SCAS) && rnd.nextBoolean();
            boolean addr16 = rnd.nextInt(6) == 0;
            long esi = near(rnd, addr16);
            long edi = rnd.nextInt(3) == 0 ? esi + rnd.nextInt(25) - 12 : near(rnd, addr16);
            long count = switch (rnd.nextInt(5)) {
                case 0 -> rnd.nextInt(3);
                case 1 -> rnd.nextInt(40);
                case 2 -> 1023 + rnd.nextInt(3);   // around Exec.REP_CHUNK
                default -> rnd.nextInt(6000);
            };
            long high = addr16 ? (rnd.nextLong() & 0xFFFF_0000L) : 0;   // CX only: ECX's high half survives
            long eax = rnd.nextLong() & 0xFFFF_FFFFL;
            return new Case(op, size, down, repne, addr16, addrOf(esi, addr16), addrOf(edi, addr16), high | count, eax,
                    rnd.nextInt(Math.max(1, (int) count + 2)));
        }

        /** An address in the data area, often a few bytes from a page boundary. */
        private static long near(Random rnd, boolean addr16) {
            int base = addr16 ? 0 : DATA_LOW + 0x8000;   // room for 6000 dwords either way
            int span = addr16 ? 0x10000 : DATA_HIGH - DATA_LOW - 0x10000;
            int a = base + rnd.nextInt(span);
            return rnd.nextBoolean() ? (a & ~0xFFF) + rnd.nextInt(9) - 4 : a;
        }

        private static long addrOf(long a, boolean addr16) {
            return addr16 ? a & 0xFFFF : a;
        }

        long mask() {
            return addr16 ? 0xFFFF : 0xFFFF_FFFFL;
        }

        /** [CLD|STD] [67] [66] F3|F2 op HLT */
        byte[] code() {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            b.write(down ? 0xFD : 0xFC);
            if (addr16) {
                b.write(0x67);
            }
            if (size == 2) {
                b.write(0x66);
            }
            b.write(repne ? 0xF2 : 0xF3);
            b.write(size == 1 ? op : op + 1);
            b.write(0xF4);
            return b.toByteArray();
        }

        /**
         * Random data, made mostly equal where a compare runs (the destination a copy of the
         * source, or SCAS's element repeated) with one difference planted at element
         * {@code planted}, which may lie past the count.
         */
        void fill(Random rnd, byte[] ram, int[] frame) {
            int low = addr16 ? 0 : DATA_LOW, high = addr16 ? 0x10000 : DATA_HIGH;
            byte[] noise = new byte[high - low];
            rnd.nextBytes(noise);
            System.arraycopy(noise, 0, ram, low, noise.length);
            if (op != CMPS && op != SCAS) {
                return;
            }
            long step = down ? -size : size;
            long n = ecx & mask();
            for (long i = 0; i < n; i++) {
                int d = (int) ((edi + i * step) & mask());
                for (int j = 0; j < size; j++) {
                    int s = (int) ((esi + i * step) & mask());
                    byte v = op == CMPS ? ram[phys(s + j, frame)] : (byte) (eax >>> (8 * j));
                    if (!repne) {
                        ram[phys(d + j, frame)] = v;
                    } else if (ram[phys(d + j, frame)] == v && j == 0) {
                        ram[phys(d + j, frame)] = (byte) (v + 1);   // REPNE: unequal until planted
                    }
                }
            }
            if (planted < n) {
                int d = (int) ((edi + planted * step) & mask());
                int s = (int) ((esi + planted * step) & mask());
                for (int j = 0; j < size; j++) {
                    byte v = op == CMPS ? ram[phys(s + j, frame)] : (byte) (eax >>> (8 * j));
                    int at = phys(d + j, frame);
                    ram[at] = repne ? v : (byte) (v ^ (1 << rnd.nextInt(8)));
                }
            }
        }
    }

    /** The instruction one iteration at a time, on a byte array standing for guest memory. */
    private static final class Model {
        final Case k;
        final byte[] ram;
        final int[] frame;
        long esi, edi, ecx, flags;

        Model(Case k, byte[] ram, int[] frame) {
            this.k = k;
            this.ram = ram;
            this.frame = frame;
            esi = k.esi;
            edi = k.edi;
            ecx = k.ecx;
        }

        void run() {
            long am = k.mask();
            long step = k.down ? -k.size : k.size;
            long elementMask = k.size == 4 ? 0xFFFF_FFFFL : (1L << (8 * k.size)) - 1;
            boolean compares = k.op == CMPS || k.op == SCAS;
            while ((ecx & am) != 0) {
                long s = esi & am, d = edi & am;
                switch (k.op) {
                    case MOVS -> store(d, load(s));
                    case STOS -> store(d, k.eax & elementMask);
                    case CMPS -> sub(load(s), load(d));
                    default -> sub(k.eax & elementMask, load(d));
                }
                if (k.op == MOVS || k.op == CMPS) {
                    esi = (esi & ~am) | ((esi + step) & am);
                }
                edi = (edi & ~am) | ((edi + step) & am);
                ecx = (ecx & ~am) | ((ecx - 1) & am);
                if (compares && ((flags & 0x40) != 0) == k.repne) {
                    break;   // REPE ends on a difference, REPNE on an equal pair
                }
            }
        }

        /** Byte j of the element at offset a: the offset wraps at the address size, its bytes do not. */
        private int at(long a, int j) {
            return phys((a & k.mask()) + j, frame);
        }

        long load(long a) {
            long v = 0;
            for (int j = 0; j < k.size; j++) {
                v |= (ram[at(a, j)] & 0xFFL) << (8 * j);
            }
            return v;
        }

        void store(long a, long v) {
            for (int j = 0; j < k.size; j++) {
                ram[at(a, j)] = (byte) (v >>> (8 * j));
            }
        }

        /** SDM 1 Appendix A: the status flags of a - b at the element size. */
        void sub(long a, long b) {
            int bits = 8 * k.size;
            long mask = bits == 32 ? 0xFFFF_FFFFL : (1L << bits) - 1;
            long r = (a - b) & mask;
            long f = 0;
            if (Long.compareUnsigned(a, b) < 0) {
                f |= 0x1;
            }
            if ((Integer.bitCount((int) (r & 0xFF)) & 1) == 0) {
                f |= 0x4;
            }
            if (((a ^ b ^ r) & 0x10) != 0) {
                f |= 0x10;
            }
            if (r == 0) {
                f |= 0x40;
            }
            if ((r >>> (bits - 1) & 1) != 0) {
                f |= 0x80;
            }
            if ((((a ^ b) & (a ^ r)) >>> (bits - 1) & 1) != 0) {
                f |= 0x800;
            }
            flags = f;
        }
    }
}
