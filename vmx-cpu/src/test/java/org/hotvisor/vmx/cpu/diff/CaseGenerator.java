package org.hotvisor.vmx.cpu.diff;

import static org.hotvisor.vmx.cpu.diff.FlagEffects.DF;
import static org.hotvisor.vmx.cpu.diff.FlagEffects.RESERVED_ONE;
import static org.hotvisor.vmx.cpu.diff.FlagEffects.STATUS;
import static org.hotvisor.vmx.cpu.diff.FlagEffects.ZF;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.hotvisor.vmx.cpu.diff.FlagEffects.Effect;
import org.hotvisor.vmx.cpu.diff.FlagEffects.ShiftKind;
import org.hotvisor.vmx.cpu.diff.TestCase.Layout;

/**
 * Seeded generator of short instruction sequences over the 16/32-bit general-purpose integer
 * ISA. The same seed always yields the same cases ({@link Random} is specified bit for bit).
 *
 * <p>Every instruction is emitted either as NASM source (memory forms, where NASM encodes the
 * addressing) or as raw bytes with the mnemonic in a comment (register forms whose encoding NASM
 * would not pick on its own, e.g. {@code 03 /r} with a register source, {@code 81 /0} on EAX).
 * Operands that must have particular values (divisors, shift counts, addresses, string pointers)
 * are set by MOVs just before the instruction; MOV affects no flag.
 *
 * <p>A quarter of the cases run in a 16-bit code segment (CS.D = 0: 16-bit default operand and
 * address size, the decoding of real-mode and boot code); their forms are prefixed "CS.D=0". The
 * stack segment stays 32-bit (ESP), so only the default sizes change.
 */
final class CaseGenerator {

    static final String[] R32 = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"};
    static final String[] R16 = {"ax", "cx", "dx", "bx", "sp", "bp", "si", "di"};
    static final String[] R8 = {"al", "cl", "dl", "bl", "ah", "ch", "dh", "bh"};
    static final String[] CONDITIONS = {"o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge",
        "le", "g"};
    private static final String[] ALU = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"};
    private static final int ESP = 4;
    private static final int EAX = 0;
    private static final int ECX = 1;
    private static final int EDX = 2;
    private static final int EBX = 3;
    private static final int EBP = 5;
    private static final int ESI = 6;
    private static final int EDI = 7;
    private static final int OPERAND_SIZE_PREFIX = 0x66;
    /** How far ESP may move from TEST_STACK_TOP and still leave room inside the test-stack area. */
    private static final int STACK_SLACK = 56;
    private static final int[] SPECIAL_VALUES = {0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
        0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0xffff_fffe, 0x8000_0001, 0x0f, 0xf0, 0x99, 0x09, 0x0f0f_0f0f,
        0x5555_5555, 0xaaaa_aaaa, 0x00ff_00ff, 0x0000_ff80};

    /** Thrown by a template that cannot be emitted in the current state (a flag it reads is undefined, ...). */
    private static final class Reject extends RuntimeException {
        Reject() {
            super(null, null, false, false);
        }
    }

    private static final Reject REJECT = new Reject();

    private record Template(String name, int weight, java.util.function.Consumer<Sequence> emitter) {
    }

    /** Share of cases run in a 16-bit code segment, in 1/n. */
    private static final int SIXTEEN_BIT_ONE_IN = 4;
    static final String SIXTEEN_BIT_FORM_PREFIX = "CS.D=0: ";

    private final Random random;
    /** x87/MMX/SSE cases, one in {@link FloatCaseGenerator#ONE_IN}, from their own random stream. */
    private final FloatCaseGenerator floats;
    private final List<Template> templates = new ArrayList<>();
    private int totalWeight;
    /** Default operand and address size of the case being generated: 32 or 16. */
    private int codeBits = 32;
    private int caseIndex;

    CaseGenerator(long seed) {
        this.random = new Random(seed);
        this.floats = new FloatCaseGenerator(seed);
        add("alu", 14, this::alu);
        add("test", 3, this::test);
        add("incdec", 3, this::incDec);
        add("negnot", 2, this::negNot);
        add("shift", 10, this::shift);
        add("mul", 3, this::multiplyOneOperand);
        add("imul", 3, this::imulMultiOperand);
        add("div", 4, this::divide);
        add("movx", 3, this::moveExtend);
        add("cmov", 3, this::conditionalMove);
        add("setcc", 3, this::setCondition);
        add("bt", 4, this::bitTest);
        add("bsf", 3, this::bitScan);
        add("shld", 4, this::doubleShift);
        add("xadd", 2, this::exchangeAdd);
        add("cmpxchg", 2, this::compareExchange);
        add("bswap", 1, this::byteSwap);
        add("xchg", 2, this::exchange);
        add("lea", 5, this::loadEffectiveAddress);
        add("stack", 5, this::stack);
        add("string", 5, this::string);
        add("bcd", 3, this::decimal);
        add("convert", 2, this::convert);
        add("flags", 3, this::flagOps);
        add("mov", 3, this::move);
        add("branch", 4, this::branch);
        add("loop", 2, this::loop);
        add("call", 2, this::call);
        add("enterleave", 1, this::enterLeave);
        add("xlat", 1, this::translate);
        add("exception", 3, this::exception);
        add("far", 2, this::farTransfer);
        add("segment", 2, this::segment);
        add("descriptor", 1, this::descriptor);
        add("cmpxchg8b", 1, this::compareExchange8b);
    }

    private void add(String name, int weight, java.util.function.Consumer<Sequence> emitter) {
        templates.add(new Template(name, weight, emitter));
        totalWeight += weight;
    }

    // ------------------------------------------------------------------------------------------
    // The sequence being built
    // ------------------------------------------------------------------------------------------

    private final class Sequence {
        final List<String> lines = new ArrayList<>();
        final List<String> forms = new ArrayList<>();
        int undefinedFlags;
        final int[] registerMasks = {-1, -1, -1, -1, -1, -1, -1, -1};
        int espOffset;
        boolean ended;
        boolean raisesException;
        /** After CMPXCHG8B until all status flags are rewritten: QEMU's EFLAGS image holds garbage. */
        boolean referenceFlagsStale;
        int labels;

        String label() {
            return ".l" + labels++;
        }

        /** A label's value as an offset in CS: linear in 32-bit code, relative to the case's segment base in 16-bit code. */
        String offsetOf(String label) {
            return codeBits == 16 ? "(" + label + " - " + HarnessImage.sixteenBitBase(caseIndex) + ")" : label;
        }

        void setup(String line) {
            lines.add(line);
        }

        /** Emits an instruction under test; rejects it when it would read an undefined flag. */
        void instruction(Effect effect, String line, String form) {
            require(effect);
            lines.add(line);
            forms.add(form);
            undefinedFlags = effect.apply(undefinedFlags);
            if (effect == FlagEffects.COMPARE_EXCHANGE_8B) {
                referenceFlagsStale = true;
            } else if (((effect.written() | effect.undefined()) & STATUS) == STATUS) {
                referenceFlagsStale = false;
            }
        }

        void require(Effect effect) {
            if ((effect.read() & undefinedFlags) != 0) {
                throw REJECT;
            }
        }

        /** ESP moves by delta bytes; rejects moves that would leave the test-stack area. */
        void moveStack(int delta) {
            int next = espOffset + delta;
            if (next < -STACK_SLACK || next > STACK_SLACK) {
                throw REJECT;
            }
            espOffset = next;
        }

        int esp() {
            return Layout.TEST_STACK_TOP + espOffset;
        }
    }

    TestCase generate(int index) {
        TestCase integer = generateInteger(index);
        // the integer case is always generated, so the integer cases do not depend on the FP share
        return FloatCaseGenerator.selects(index) ? floats.generate(integer) : integer;
    }

    private TestCase generateInteger(int index) {
        codeBits = random.nextInt(SIXTEEN_BIT_ONE_IN) == 0 ? 16 : 32;
        caseIndex = index;
        Sequence sequence = new Sequence();
        int instructions = 1 + weighted(40, 30, 20, 10);
        for (int i = 0; i < instructions && !sequence.ended; i++) {
            emitOne(sequence);
        }
        if (sequence.forms.isEmpty()) {
            sequence.instruction(FlagEffects.NONE, "nop", "NOP (90)");
        }
        int[] registers = new int[7];
        for (int i = 0; i < registers.length; i++) {
            registers[i] = value32();
        }
        int eflags = RESERVED_ONE | (random.nextInt() & STATUS) | (random.nextInt(5) == 0 ? DF : 0);
        byte[] scratch = new byte[Layout.SCRATCH_SIZE];
        byte[] stack = new byte[Layout.TEST_STACK_SIZE];
        fill(scratch);
        fill(stack);
        List<String> forms = codeBits == 16
                ? sequence.forms.stream().map(f -> SIXTEEN_BIT_FORM_PREFIX + f).toList() : List.copyOf(sequence.forms);
        return new TestCase(index, codeBits, registers, eflags, scratch, stack, List.copyOf(sequence.lines),
                forms, FlagEffects.comparedMask(sequence.undefinedFlags)
                        & (sequence.referenceFlagsStale ? FlagEffects.VISIBLE_AFTER_CMPXCHG8B : -1),
                sequence.registerMasks.clone(), sequence.raisesException);
    }

    private void emitOne(Sequence sequence) {
        for (int attempt = 0; attempt < 30; attempt++) {
            Template template = pickTemplate();
            int lines = sequence.lines.size();
            int forms = sequence.forms.size();
            int undefinedFlags = sequence.undefinedFlags;
            int[] registerMasks = sequence.registerMasks.clone();
            int espOffset = sequence.espOffset;
            boolean ended = sequence.ended;
            boolean raisesException = sequence.raisesException;
            boolean referenceFlagsStale = sequence.referenceFlagsStale;
            try {
                template.emitter().accept(sequence);
                return;
            } catch (Reject rejected) {
                sequence.lines.subList(lines, sequence.lines.size()).clear();
                sequence.forms.subList(forms, sequence.forms.size()).clear();
                sequence.undefinedFlags = undefinedFlags;
                System.arraycopy(registerMasks, 0, sequence.registerMasks, 0, registerMasks.length);
                sequence.espOffset = espOffset;
                sequence.ended = ended;
                sequence.raisesException = raisesException;
                sequence.referenceFlagsStale = referenceFlagsStale;
            }
        }
    }

    private Template pickTemplate() {
        int pick = random.nextInt(totalWeight);
        for (Template template : templates) {
            pick -= template.weight();
            if (pick < 0) {
                return template;
            }
        }
        throw new IllegalStateException();
    }

    // ------------------------------------------------------------------------------------------
    // Values, registers, operands
    // ------------------------------------------------------------------------------------------

    private int weighted(int... weights) {
        int total = 0;
        for (int w : weights) {
            total += w;
        }
        int pick = random.nextInt(total);
        for (int i = 0; i < weights.length; i++) {
            pick -= weights[i];
            if (pick < 0) {
                return i;
            }
        }
        throw new IllegalStateException();
    }

    private int value32() {
        return switch (random.nextInt(10)) {
            case 0, 1 -> random.nextInt(17);
            case 2 -> -random.nextInt(17);
            case 3, 4 -> SPECIAL_VALUES[random.nextInt(SPECIAL_VALUES.length)];
            case 5 -> SPECIAL_VALUES[random.nextInt(SPECIAL_VALUES.length)] ^ (random.nextInt() & 0xff00);
            default -> random.nextInt();
        };
    }

    private void fill(byte[] area) {
        for (int i = 0; i < area.length; i += 4) {
            int v = value32();
            for (int b = 0; b < 4 && i + b < area.length; b++) {
                area[i + b] = (byte) (v >>> (8 * b));
            }
        }
    }

    private int size() {
        return switch (random.nextInt(3)) {
            case 0 -> 8;
            case 1 -> 16;
            default -> 32;
        };
    }

    private int size1632() {
        return random.nextBoolean() ? 16 : 32;
    }

    private static int family(int size, int register) {
        return size == 8 ? register & 3 : register;
    }

    /** A random register number of this size: never ESP/SP, and its family not in avoid (bit per family). */
    private int register(int size, int avoid) {
        for (int attempt = 0; attempt < 64; attempt++) {
            int r = random.nextInt(8);
            if (size != 8 && r == ESP) {
                continue;
            }
            if ((avoid & (1 << family(size, r))) == 0) {
                return r;
            }
        }
        throw REJECT;
    }

    static String registerName(int size, int r) {
        return switch (size) {
            case 8 -> R8[r];
            case 16 -> R16[r];
            default -> R32[r];
        };
    }

    private static String sizeName(int size) {
        return switch (size) {
            case 8 -> "byte";
            case 16 -> "word";
            default -> "dword";
        };
    }

    static String hex(long value) {
        return "0x" + Long.toHexString(value);
    }

    private static String signed(int displacement) {
        return displacement < 0 ? "-" + hex(-(long) displacement) : "+" + hex(displacement);
    }

    private int immediate(int size) {
        int v = value32();
        return switch (size) {
            case 8 -> v & 0xff;
            case 16 -> v & 0xffff;
            default -> v;
        };
    }

    private static String immediateText(int size, int value) {
        return hex(size == 32 ? value & 0xffff_ffffL : value & ((1L << size) - 1));
    }

    /** A sign-extended imm8 (for 83 /n, 6B, 6A), as the assembler's signed text. */
    private int immediate8() {
        return (byte) immediate(8);
    }

    /** An operand: register number or memory expression. */
    private record Operand(int size, int register, String memory) {
        boolean isMemory() {
            return memory != null;
        }

        String text() {
            return isMemory() ? sizeName(size) + " " + memory : registerName(size, register);
        }

        /** "r/m32"-style form text. */
        String kind() {
            return isMemory() ? "m" + size : "r" + size;
        }

        int family() {
            return isMemory() ? -1 : CaseGenerator.family(size, register);
        }
    }

    private Operand reg(int size, int avoid) {
        return new Operand(size, register(size, avoid), null);
    }

    private Operand mem(Sequence s, int size, int avoid) {
        return new Operand(size, -1, memoryAddress(s, size / 8, avoid, 16));
    }

    private Operand regOrMem(Sequence s, int size, int avoid) {
        return random.nextInt(5) < 2 ? mem(s, size, avoid) : reg(size, avoid);
    }

    private int scratchTarget(int accessBytes, int span) {
        int margin = 16;
        int room = Layout.SCRATCH_SIZE - 2 * margin - accessBytes - span;
        return Layout.SCRATCH + margin + random.nextInt(Math.max(1, room));
    }

    private String segmentOverride() {
        return switch (random.nextInt(24)) {
            case 0 -> "es:";
            case 1 -> "ss:";
            case 2 -> "fs:";
            case 3 -> "gs:";
            case 4 -> "ds:";
            default -> "";
        };
    }

    /**
     * An address expression for an access of accessBytes inside the scratch area (or the test
     * stack for the ESP-based form), with MOVs that set its base and index registers. The
     * registers used never belong to a family in avoid. span: extra bytes that must stay valid
     * after the address.
     */
    private String memoryAddress(Sequence s, int accessBytes, int avoid, int span) {
        int target = scratchTarget(accessBytes, span);
        String segment = segmentOverride();
        int form = random.nextInt(11);
        switch (form) {
            case 0 -> {
                return "[" + segment + hex(target) + "]";
            }
            case 1, 2, 3 -> {
                int base = register(32, avoid);
                int displacement = switch (form) {
                    case 1 -> 0;
                    case 2 -> random.nextInt(256) - 128;
                    default -> random.nextInt();
                };
                s.setup("mov " + R32[base] + ", " + hex((target - displacement) & 0xffff_ffffL));
                String forced = form == 3 ? "dword " : "";
                return "[" + segment + forced + R32[base] + (displacement == 0 ? "" : signed(displacement)) + "]";
            }
            case 4, 5, 6 -> {
                int base = register(32, avoid);
                int index = register(32, avoid | (1 << base));
                int scale = 1 << random.nextInt(4);
                int indexValue = random.nextInt(33) - 16;
                int displacement = form == 4 ? 0 : form == 5 ? random.nextInt(256) - 128 : random.nextInt();
                s.setup("mov " + R32[index] + ", " + hex(indexValue & 0xffff_ffffL));
                s.setup("mov " + R32[base] + ", " + hex((target - displacement - indexValue * scale) & 0xffff_ffffL));
                String forced = form == 6 ? "dword " : "";
                return "[" + segment + forced + R32[base] + "+" + R32[index] + "*" + scale
                        + (displacement == 0 ? "" : signed(displacement)) + "]";
            }
            case 7 -> {
                // No base: SIB with base = 101b and mod = 00, i.e. [index*scale + disp32]
                int index = register(32, avoid);
                int scale = 1 << random.nextInt(4);
                int indexValue = random.nextInt(64);
                s.setup("mov " + R32[index] + ", " + hex(indexValue));
                return "[" + segment + "nosplit " + R32[index] + "*" + scale + "+" + hex(target - indexValue * scale)
                        + "]";
            }
            case 8 -> {
                if ((avoid & (1 << EBP)) != 0) {
                    throw REJECT;
                }
                int displacement = random.nextInt(64) - 32;
                s.setup("mov ebp, " + hex(target - displacement));
                return "[" + segment + "ebp" + (displacement == 0 ? "" : signed(displacement)) + "]";
            }
            case 9 -> {
                // ESP base (SIB required); the access lands in the test-stack area.
                int address = Layout.TEST_STACK + 4 + random.nextInt(Layout.TEST_STACK_SIZE - 8 - accessBytes);
                int displacement = address - s.esp();
                return "[" + segment + "esp" + (displacement == 0 ? "" : signed(displacement)) + "]";
            }
            default -> {
                return address16(s, target, avoid, segment);
            }
        }
    }

    /** A 16-bit addressing form (67h prefix; SDM Vol. 2A Table 2-1), wrapping at 64 KiB. */
    private String address16(Sequence s, int target, int avoid, String segment) {
        int[][] combinations = {{EBX, ESI}, {EBX, EDI}, {EBP, ESI}, {EBP, EDI}, {ESI}, {EDI}, {EBP}, {EBX}, {}};
        int[] combination = combinations[random.nextInt(combinations.length)];
        for (int r : combination) {
            if ((avoid & (1 << r)) != 0) {
                throw REJECT;
            }
        }
        if (combination.length == 0) {
            return "[" + segment + "word " + hex(target) + "]";
        }
        int displacement = random.nextBoolean() ? random.nextInt(256) - 128 : random.nextInt(0x1_0000) - 0x8000;
        if (combination.length == 1 && combination[0] == EBP && displacement == 0) {
            displacement = 1;
        }
        int remaining = target - displacement;
        StringBuilder text = new StringBuilder("[").append(segment);
        for (int i = 0; i < combination.length; i++) {
            int value = i == combination.length - 1 ? remaining : random.nextInt(0x1_0000);
            remaining -= value;
            s.setup("mov " + R16[combination[i]] + ", " + hex(value & 0xffff));
            text.append(i == 0 ? "" : "+").append(R16[combination[i]]);
        }
        if (displacement != 0) {
            text.append(signed(displacement));
        }
        return text.append("]").toString();
    }

    // ------------------------------------------------------------------------------------------
    // Raw encodings for register forms
    // ------------------------------------------------------------------------------------------

    private static int modrmRegister(int reg, int rm) {
        return 0xc0 | (reg << 3) | rm;
    }

    /** "db 0x66, 0x03, 0xc3 ; add ax, bx" */
    private static String raw(String mnemonic, List<Integer> bytes) {
        StringBuilder text = new StringBuilder("db ");
        for (int i = 0; i < bytes.size(); i++) {
            text.append(i == 0 ? "" : ", ").append(String.format("0x%02x", bytes.get(i) & 0xff));
        }
        return text.append(" ; ").append(mnemonic).toString();
    }

    /** Opcode bytes with the operand-size prefix when size is the non-default one of the code segment. */
    private List<Integer> bytes(int size, int... opcodeAndModrm) {
        List<Integer> list = new ArrayList<>();
        if (size != 8 && size != codeBits) {
            list.add(OPERAND_SIZE_PREFIX);
        }
        for (int b : opcodeAndModrm) {
            list.add(b);
        }
        return list;
    }

    private static void appendImmediate(List<Integer> bytes, int size, int value) {
        for (int i = 0; i < size / 8; i++) {
            bytes.add((value >>> (8 * i)) & 0xff);
        }
    }

    private static int wide(int size) {
        return size == 8 ? 0 : 1;
    }

    private String lock(Operand destination) {
        return destination.isMemory() && random.nextInt(6) == 0 ? "lock " : "";
    }

    // ------------------------------------------------------------------------------------------
    // Templates
    // ------------------------------------------------------------------------------------------

    private static Effect aluEffect(int op) {
        return switch (op) {
            case 2, 3 -> FlagEffects.ARITHMETIC_WITH_CARRY;
            case 1, 4, 6 -> FlagEffects.LOGIC;
            default -> FlagEffects.ARITHMETIC;
        };
    }

    /** ADD OR ADC SBB AND SUB XOR CMP: opcodes 00-3D, 80-83 (SDM Vol. 2A ADD etc., Table A-2). */
    private void alu(Sequence s) {
        int op = random.nextInt(8);
        String m = ALU[op];
        Effect effect = aluEffect(op);
        int size = size();
        String upper = m.toUpperCase();
        switch (random.nextInt(5)) {
            case 0 -> { // r/m, r: 00 /r + op*8 (01 for 16/32)
                Operand destination = regOrMem(s, size, 0);
                Operand source = reg(size, 0);
                String lock = op == 7 ? "" : lock(destination);
                s.instruction(effect, lock + m + " " + destination.text() + ", " + source.text(),
                        upper + " " + destination.kind() + ", r" + size + " (" + hexByte(op * 8 + wide(size)) + " /r)");
            }
            case 1 -> { // r, r/m: 02 /r + op*8 (03 for 16/32); register source encoded by hand
                int destination = register(size, 0);
                int opcode = op * 8 + 2 + wide(size);
                if (random.nextBoolean()) {
                    Operand source = mem(s, size, 0);
                    s.instruction(effect, m + " " + registerName(size, destination) + ", " + source.text(),
                            upper + " r" + size + ", m" + size + " (" + hexByte(opcode) + " /r)");
                } else {
                    int source = register(size, 0);
                    String mnemonic = m + " " + registerName(size, destination) + ", " + registerName(size, source);
                    s.instruction(effect, raw(mnemonic, bytes(size, opcode, modrmRegister(destination, source))),
                            upper + " r" + size + ", r" + size + " (" + hexByte(opcode) + " /r, mod=11)");
                }
            }
            case 2 -> { // AL/AX/EAX, imm: 04 + op*8 (05 for 16/32)
                int opcode = op * 8 + 4 + wide(size);
                int imm = immediate(size);
                List<Integer> encoding = bytes(size, opcode);
                appendImmediate(encoding, size, imm);
                s.instruction(effect, raw(m + " " + registerName(size, EAX) + ", " + immediateText(size, imm), encoding),
                        upper + " " + registerName(size, EAX) + ", imm" + size + " (" + hexByte(opcode) + ")");
            }
            case 3 -> { // r/m, imm: 80 /op ib, 81 /op iw/id; 82 /op ib is the 8-bit alias (valid outside 64-bit mode)
                int imm = immediate(size);
                boolean alias = size == 8 && random.nextInt(4) == 0;
                int opcode = alias ? 0x82 : 0x80 + wide(size);
                if (!alias && random.nextBoolean()) {
                    Operand destination = mem(s, size, 0);
                    String lock = op == 7 ? "" : lock(destination);
                    s.instruction(effect, lock + m + " " + destination.text() + ", strict " + sizeName(size) + " "
                            + immediateText(size, imm),
                            upper + " m" + size + ", imm" + size + " (" + hexByte(opcode) + " /" + op + ")");
                } else {
                    int destination = register(size, 0);
                    List<Integer> encoding = bytes(size, opcode, modrmRegister(op, destination));
                    appendImmediate(encoding, size, imm);
                    s.instruction(effect, raw(m + " " + registerName(size, destination) + ", " + immediateText(size, imm),
                            encoding), upper + " r" + size + ", imm" + size + " (" + hexByte(opcode) + " /" + op + ")");
                }
            }
            default -> { // r/m16/32, imm8 sign-extended: 83 /op ib
                int wideSize = size1632();
                int imm = immediate8();
                if (random.nextBoolean()) {
                    Operand destination = mem(s, wideSize, 0);
                    String lock = op == 7 ? "" : lock(destination);
                    s.instruction(effect, lock + m + " " + destination.text() + ", byte " + imm,
                            upper + " m" + wideSize + ", imm8 (83 /" + op + ")");
                } else {
                    int destination = register(wideSize, 0);
                    List<Integer> encoding = bytes(wideSize, 0x83, modrmRegister(op, destination), imm);
                    s.instruction(effect, raw(m + " " + registerName(wideSize, destination) + ", " + imm, encoding),
                            upper + " r" + wideSize + ", imm8 (83 /" + op + ")");
                }
            }
        }
    }

    private static String hexByte(int b) {
        return String.format("%02X", b & 0xff);
    }

    /** TEST: 84/85 /r, A8/A9, F6/F7 /0 (SDM Vol. 2B TEST). */
    private void test(Sequence s) {
        int size = size();
        Effect effect = FlagEffects.LOGIC;
        switch (random.nextInt(3)) {
            case 0 -> {
                Operand destination = regOrMem(s, size, 0);
                Operand source = reg(size, 0);
                s.instruction(effect, "test " + destination.text() + ", " + source.text(),
                        "TEST " + destination.kind() + ", r" + size + " (" + hexByte(0x84 + wide(size)) + " /r)");
            }
            case 1 -> {
                int imm = immediate(size);
                List<Integer> encoding = bytes(size, 0xa8 + wide(size));
                appendImmediate(encoding, size, imm);
                s.instruction(effect, raw("test " + registerName(size, EAX) + ", " + immediateText(size, imm), encoding),
                        "TEST " + registerName(size, EAX) + ", imm" + size + " (" + hexByte(0xa8 + wide(size)) + ")");
            }
            default -> {
                int imm = immediate(size);
                int opcode = 0xf6 + wide(size);
                if (random.nextBoolean()) {
                    Operand destination = mem(s, size, 0);
                    s.instruction(effect, "test " + destination.text() + ", " + immediateText(size, imm),
                            "TEST m" + size + ", imm" + size + " (" + hexByte(opcode) + " /0)");
                } else {
                    int destination = register(size, 0);
                    List<Integer> encoding = bytes(size, opcode, modrmRegister(0, destination));
                    appendImmediate(encoding, size, imm);
                    s.instruction(effect, raw("test " + registerName(size, destination) + ", " + immediateText(size, imm),
                            encoding), "TEST r" + size + ", imm" + size + " (" + hexByte(opcode) + " /0)");
                }
            }
        }
    }

    /** INC/DEC: FE/FF /0 /1 and the one-byte 40+r / 48+r forms (SDM Vol. 2A INC, DEC). */
    private void incDec(Sequence s) {
        boolean decrement = random.nextBoolean();
        String m = decrement ? "dec" : "inc";
        String upper = m.toUpperCase();
        int size = size();
        if (size != 8 && random.nextBoolean()) {
            int r = register(size, 0);
            int opcode = (decrement ? 0x48 : 0x40) + r;
            s.instruction(FlagEffects.INC_DEC, raw(m + " " + registerName(size, r), bytes(size, opcode)),
                    upper + " r" + size + " (" + (decrement ? "48" : "40") + "+r)");
            return;
        }
        int opcode = 0xfe + wide(size);
        if (random.nextBoolean()) {
            Operand destination = mem(s, size, 0);
            s.instruction(FlagEffects.INC_DEC, lock(destination) + m + " " + destination.text(),
                    upper + " m" + size + " (" + hexByte(opcode) + " /" + (decrement ? 1 : 0) + ")");
        } else {
            int r = register(size, 0);
            s.instruction(FlagEffects.INC_DEC,
                    raw(m + " " + registerName(size, r), bytes(size, opcode, modrmRegister(decrement ? 1 : 0, r))),
                    upper + " r" + size + " (" + hexByte(opcode) + " /" + (decrement ? 1 : 0) + ")");
        }
    }

    /** NEG F6/F7 /3 (flags as SUB 0, x), NOT F6/F7 /2 (no flags) (SDM Vol. 2B NEG, NOT). */
    private void negNot(Sequence s) {
        boolean negate = random.nextBoolean();
        int size = size();
        Operand destination = regOrMem(s, size, 0);
        s.instruction(negate ? FlagEffects.ARITHMETIC : FlagEffects.NONE,
                lock(destination) + (negate ? "neg " : "not ") + destination.text(),
                (negate ? "NEG " : "NOT ") + destination.kind() + " (" + hexByte(0xf6 + wide(size)) + " /"
                        + (negate ? 3 : 2) + ")");
    }

    private int shiftCount(int width) {
        return switch (random.nextInt(10)) {
            case 0 -> 0;
            case 1, 2 -> 1;
            case 3 -> width - 1;
            case 4 -> width;
            case 5 -> width + 1;
            case 6 -> 31 + random.nextInt(3);
            case 7 -> random.nextInt(256);
            default -> 2 + random.nextInt(width - 2);
        };
    }

    /** ROL ROR RCL RCR SHL SHR SAR: D0/D1 (1), D2/D3 (CL), C0/C1 (imm8) (SDM Vol. 2B RCL/RCR/ROL/ROR, SAL/SAR/SHL/SHR). */
    private void shift(Sequence s) {
        ShiftKind[] kinds = {ShiftKind.ROL, ShiftKind.ROR, ShiftKind.RCL, ShiftKind.RCR, ShiftKind.SHL, ShiftKind.SHR,
            ShiftKind.SAR};
        ShiftKind kind = kinds[random.nextInt(kinds.length)];
        String m = kind.name().toLowerCase();
        int size = size();
        int form = random.nextInt(3);
        int count = form == 0 ? 1 : shiftCount(size);
        Effect effect = FlagEffects.shift(kind, size, count);
        s.require(effect);
        int avoid = form == 1 ? 1 << ECX : 0;
        Operand destination = regOrMem(s, size, avoid);
        String note = " count=" + count;
        switch (form) {
            case 0 -> s.instruction(effect, m + " " + destination.text() + ", 1",
                    kind + " " + destination.kind() + ", 1 (" + hexByte(0xd0 + wide(size)) + " /" + kind.ordinal() + ")");
            case 1 -> {
                s.setup("mov cl, " + hex(count));
                s.instruction(effect, m + " " + destination.text() + ", cl", kind + " " + destination.kind() + ", CL ("
                        + hexByte(0xd2 + wide(size)) + " /" + kind.ordinal() + ")" + note);
            }
            default -> s.instruction(effect, m + " " + destination.text() + ", strict byte " + count,
                    kind + " " + destination.kind() + ", imm8 (" + hexByte(0xc0 + wide(size)) + " /" + kind.ordinal()
                            + ")" + note);
        }
    }

    /** MUL F6/F7 /4, IMUL F6/F7 /5 (SDM Vol. 2B MUL, 2A IMUL). */
    private void multiplyOneOperand(Sequence s) {
        boolean signed = random.nextBoolean();
        int size = size();
        Operand source = regOrMem(s, size, 0);
        String m = signed ? "imul" : "mul";
        s.instruction(FlagEffects.MULTIPLY, m + " " + source.text(), m.toUpperCase() + " " + source.kind() + " ("
                + hexByte(0xf6 + wide(size)) + " /" + (signed ? 5 : 4) + ")");
    }

    /** IMUL r, r/m (0F AF); IMUL r, r/m, imm8 (6B); IMUL r, r/m, imm16/32 (69) (SDM Vol. 2A IMUL). */
    private void imulMultiOperand(Sequence s) {
        int size = size1632();
        int destination = register(size, 0);
        Operand source = regOrMem(s, size, 0);
        String d = registerName(size, destination);
        switch (random.nextInt(3)) {
            case 0 -> s.instruction(FlagEffects.MULTIPLY, "imul " + d + ", " + source.text(),
                    "IMUL r" + size + ", " + source.kind() + " (0F AF /r)");
            case 1 -> s.instruction(FlagEffects.MULTIPLY, "imul " + d + ", " + source.text() + ", byte " + immediate8(),
                    "IMUL r" + size + ", " + source.kind() + ", imm8 (6B /r ib)");
            default -> s.instruction(FlagEffects.MULTIPLY, "imul " + d + ", " + source.text() + ", strict "
                    + sizeName(size) + " " + immediateText(size, immediate(size)),
                    "IMUL r" + size + ", " + source.kind() + ", imm" + size + " (69 /r)");
        }
    }

    /**
     * DIV F6/F7 /6, IDIV F6/F7 /7 (SDM Vol. 2A DIV, IDIV). Dividend, divisor and quotient are chosen
     * so that no #DE can occur: quotient = q is drawn first, dividend = q * divisor + remainder.
     */
    private void divide(Sequence s) {
        boolean signed = random.nextBoolean();
        int size = size();
        int avoid = size == 8 ? 1 << EAX : (1 << EAX) | (1 << EDX);
        long divisor;
        long quotient;
        long remainder;
        long dividend;
        long half = 1L << (size - 1);
        if (!signed) {
            divisor = 1 + (randomBits(size) % ((1L << size) - 1));
            if (random.nextInt(4) == 0) {
                divisor = 1 + random.nextInt(16);
            }
            quotient = randomBits(size);
            remainder = randomBits(size) % divisor;
            dividend = quotient * divisor + remainder;  // < 2^(2*size); fits in 64 bits unsigned
        } else {
            do {
                divisor = signExtend(randomBits(size), size);
                if (random.nextInt(4) == 0) {
                    divisor = random.nextInt(33) - 16;
                }
            } while (divisor == 0);
            do {
                quotient = signExtend(randomBits(size), size);
                if (random.nextInt(3) == 0) {
                    quotient = random.nextInt(33) - 16;
                }
            } while (quotient == -half);  // the most negative quotient: avoid the edge entirely
            long magnitude = Math.abs(divisor);
            remainder = Math.floorMod(randomBits(size), magnitude);
            long product = quotient * divisor;
            if (product < 0 || (product == 0 && random.nextBoolean())) {
                remainder = -remainder;
            }
            dividend = product + remainder;
            if (dividend / divisor != quotient) {
                throw REJECT;
            }
        }
        Operand source = regOrMem(s, size, avoid);
        switch (size) {
            case 8 -> s.setup("mov ax, " + hex(dividend & 0xffff));
            case 16 -> {
                s.setup("mov ax, " + hex(dividend & 0xffff));
                s.setup("mov dx, " + hex((dividend >>> 16) & 0xffff));
            }
            default -> {
                s.setup("mov eax, " + hex(dividend & 0xffff_ffffL));
                s.setup("mov edx, " + hex((dividend >>> 32) & 0xffff_ffffL));
            }
        }
        long divisorBits = divisor & ((1L << size) - 1);
        if (source.isMemory()) {
            s.setup("mov " + source.text() + ", " + hex(divisorBits));
        } else {
            s.setup("mov " + source.text() + ", " + hex(divisorBits));
        }
        String m = signed ? "idiv" : "div";
        s.instruction(FlagEffects.DIVIDE, m + " " + source.text(), m.toUpperCase() + " " + source.kind() + " ("
                + hexByte(0xf6 + wide(size)) + " /" + (signed ? 7 : 6) + ")");
    }

    private long randomBits(int bits) {
        long v = random.nextLong();
        if (random.nextInt(3) == 0) {
            v = value32();
        }
        return bits == 64 ? v : v & ((1L << bits) - 1);
    }

    private static long signExtend(long value, int bits) {
        return (value << (64 - bits)) >> (64 - bits);
    }

    /** MOVZX 0F B6/B7, MOVSX 0F BE/BF (SDM Vol. 2B MOVZX, MOVSX). */
    private void moveExtend(Sequence s) {
        boolean signExtend = random.nextBoolean();
        int sourceSize;
        int destinationSize;
        switch (random.nextInt(4)) {
            case 3 -> {
                sourceSize = 16;   // 66 0F B7/BF: a 16-bit copy
                destinationSize = 16;
            }
            case 0 -> {
                sourceSize = 8;
                destinationSize = 16;
            }
            case 1 -> {
                sourceSize = 8;
                destinationSize = 32;
            }
            default -> {
                sourceSize = 16;
                destinationSize = 32;
            }
        }
        String m = signExtend ? "movsx" : "movzx";
        int opcode = (signExtend ? 0xbe : 0xb6) + (sourceSize == 16 ? 1 : 0);
        if (destinationSize == 16 && sourceSize == 16) {
            // NASM has no mnemonic for this 16-to-16 form: encode it by hand
            int destination = register(16, 0);
            int source = register(16, 0);
            s.instruction(FlagEffects.NONE, raw(m + " " + R16[destination] + ", " + R16[source],
                    bytes(16, 0x0f, opcode, modrmRegister(destination, source))),
                    m.toUpperCase() + " r16, r16 (66 0F " + hexByte(opcode) + " /r)");
            return;
        }
        Operand source = regOrMem(s, sourceSize, 0);
        int destination = register(destinationSize, 0);
        s.instruction(FlagEffects.NONE, m + " " + registerName(destinationSize, destination) + ", " + source.text(),
                m.toUpperCase() + " r" + destinationSize + ", " + source.kind() + " (0F " + hexByte(opcode) + " /r)");
    }

    /** CMOVcc 0F 40+cc (SDM Vol. 2A CMOVcc). */
    private void conditionalMove(Sequence s) {
        int cc = random.nextInt(16);
        int size = size1632();
        Operand source = regOrMem(s, size, 0);
        int destination = register(size, 0);
        s.instruction(FlagEffects.condition(cc), "cmov" + CONDITIONS[cc] + " " + registerName(size, destination) + ", "
                + source.text(), "CMOV" + CONDITIONS[cc].toUpperCase() + " r" + size + ", " + source.kind() + " (0F "
                + hexByte(0x40 + cc) + " /r)");
    }

    /** SETcc 0F 90+cc (SDM Vol. 2B SETcc). */
    private void setCondition(Sequence s) {
        int cc = random.nextInt(16);
        Operand destination = regOrMem(s, 8, 0);
        s.instruction(FlagEffects.condition(cc), "set" + CONDITIONS[cc] + " " + destination.text(),
                "SET" + CONDITIONS[cc].toUpperCase() + " " + destination.kind() + " (0F " + hexByte(0x90 + cc) + " /0)");
    }

    /** BT/BTS/BTR/BTC: 0F A3/AB/B3/BB /r and 0F BA /4-7 ib (SDM Vol. 2A BT, BTS, BTR, BTC). */
    private void bitTest(Sequence s) {
        int op = random.nextInt(4);
        String[] names = {"bt", "bts", "btr", "btc"};
        int[] registerOpcodes = {0xa3, 0xab, 0xb3, 0xbb};
        String m = names[op];
        String upper = m.toUpperCase();
        int size = size1632();
        String lockPrefix = op == 0 ? "" : "lock ";
        if (random.nextBoolean()) {
            // bit offset in a register: for a memory operand it is a signed bit string offset
            int offset = register(size, 0);
            if (random.nextBoolean()) {
                int bitOffset = random.nextInt(512) - 256;
                s.setup("mov " + R32[offset] + ", " + hex(bitOffset & 0xffff_ffffL));
                Operand destination = new Operand(size, -1, memoryAddressAtMiddle(s, 1 << offset));
                s.instruction(FlagEffects.BIT_TEST, (random.nextInt(4) == 0 ? lockPrefix : "") + m + " "
                        + destination.text() + ", " + registerName(size, offset),
                        upper + " m" + size + ", r" + size + " (0F " + hexByte(registerOpcodes[op]) + " /r)");
            } else {
                int destination = register(size, 0);
                s.instruction(FlagEffects.BIT_TEST, m + " " + registerName(size, destination) + ", "
                        + registerName(size, offset),
                        upper + " r" + size + ", r" + size + " (0F " + hexByte(registerOpcodes[op]) + " /r)");
            }
        } else {
            int imm = random.nextInt(256);
            Operand destination = regOrMem(s, size, 0);
            s.instruction(FlagEffects.BIT_TEST, (destination.isMemory() && random.nextInt(4) == 0 ? lockPrefix : "")
                    + m + " " + destination.text() + ", " + imm,
                    upper + " " + destination.kind() + ", imm8 (0F BA /" + (4 + op) + ")");
        }
    }

    /** A [base] or [base+disp8] address in the middle of the scratch area (for bit-string offsets of +-256 bits). */
    private String memoryAddressAtMiddle(Sequence s, int avoid) {
        int target = Layout.SCRATCH + Layout.SCRATCH_SIZE / 2;
        int base = register(32, avoid);
        int displacement = random.nextInt(16) - 8;
        s.setup("mov " + R32[base] + ", " + hex(target - displacement));
        return "[" + R32[base] + (displacement == 0 ? "" : signed(displacement)) + "]";
    }

    /**
     * BSF 0F BC, BSR 0F BD (SDM Vol. 2A BSF, BSR). The source value is set first; a zero source
     * leaves the destination undefined, so such a case ends there and skips that register.
     */
    private void bitScan(Sequence s) {
        boolean reverse = random.nextBoolean();
        int size = size1632();
        boolean zero = random.nextInt(6) == 0;
        int value;
        do {
            value = zero ? 0 : value32();
            if (!zero && random.nextInt(3) == 0) {
                value = 1 << random.nextInt(size);
            }
        } while (!zero && (value & (size == 16 ? 0xffff : -1)) == 0);
        if (zero && size == 16 && random.nextBoolean()) {
            value = random.nextInt() & 0xffff_0000; // upper half set, operand is zero
        }
        int destination = register(size, 0);
        Operand source;
        if (random.nextBoolean()) {
            source = mem(s, size, 0);
            s.setup("mov " + source.text() + ", " + immediateText(size, value));
        } else {
            source = reg(size, 0);
            s.setup("mov " + R32[source.register()] + ", " + hex(value & 0xffff_ffffL));
        }
        String m = reverse ? "bsr" : "bsf";
        s.instruction(FlagEffects.BIT_SCAN, m + " " + registerName(size, destination) + ", " + source.text(),
                m.toUpperCase() + " r" + size + ", " + source.kind() + " (0F " + (reverse ? "BD" : "BC") + " /r)"
                        + (zero ? " source=0" : ""));
        if (zero) {
            s.registerMasks[destination] = 0;
            s.ended = true;
        }
    }

    /** SHLD 0F A4/A5, SHRD 0F AC/AD (SDM Vol. 2B SHLD, SHRD). */
    private void doubleShift(Sequence s) {
        boolean right = random.nextBoolean();
        int size = size1632();
        boolean byCl = random.nextBoolean();
        int count = shiftCount(size);
        int masked = count & 0x1f;
        boolean undefinedResult = masked > size;
        Effect effect = FlagEffects.doubleShift(size, count);
        s.require(effect);
        int avoid = byCl ? 1 << ECX : 0;
        Operand destination = undefinedResult ? reg(size, avoid) : regOrMem(s, size, avoid);
        int source = register(size, byCl ? 0 : 0);
        String m = right ? "shrd" : "shld";
        int opcode = (right ? 0xac : 0xa4) + (byCl ? 1 : 0);
        if (byCl) {
            s.setup("mov cl, " + hex(count));
        }
        s.instruction(effect, m + " " + destination.text() + ", " + registerName(size, source) + ", "
                + (byCl ? "cl" : String.valueOf(count)),
                m.toUpperCase() + " " + destination.kind() + ", r" + size + ", " + (byCl ? "CL" : "imm8") + " (0F "
                        + hexByte(opcode) + ") count=" + count);
        if (undefinedResult) {
            s.registerMasks[destination.register()] = 0;
            s.ended = true;
        }
    }

    /** XADD 0F C0/C1 (SDM Vol. 2B XADD). */
    private void exchangeAdd(Sequence s) {
        int size = size();
        Operand destination = regOrMem(s, size, 0);
        int source = register(size, 0);
        s.instruction(FlagEffects.ARITHMETIC, lock(destination) + "xadd " + destination.text() + ", "
                + registerName(size, source),
                "XADD " + destination.kind() + ", r" + size + " (0F " + hexByte(0xc0 + wide(size)) + " /r)");
    }

    /** CMPXCHG 0F B0/B1 (SDM Vol. 2A CMPXCHG); half the time the accumulator equals the destination. */
    private void compareExchange(Sequence s) {
        int size = size();
        Operand destination = regOrMem(s, size, 1 << EAX);
        int source = register(size, 0);
        if (random.nextBoolean()) {
            if (destination.isMemory()) {
                int value = immediate(size);
                s.setup("mov " + destination.text() + ", " + immediateText(size, value));
                s.setup("mov " + registerName(size, EAX) + ", " + immediateText(size, value));
            } else {
                s.setup("mov " + registerName(size, EAX) + ", " + destination.text());
            }
        }
        s.instruction(FlagEffects.ARITHMETIC, lock(destination) + "cmpxchg " + destination.text() + ", "
                + registerName(size, source),
                "CMPXCHG " + destination.kind() + ", r" + size + " (0F " + hexByte(0xb0 + wide(size)) + " /r)");
    }

    /** BSWAP 0F C8+r, 32-bit only (the 16-bit form is undefined, SDM Vol. 2A BSWAP). */
    private void byteSwap(Sequence s) {
        int r = register(32, 0);
        s.instruction(FlagEffects.NONE, "bswap " + R32[r], "BSWAP r32 (0F C8+r)");
    }

    /** XCHG 86/87 /r and 90+r (SDM Vol. 2B XCHG). */
    private void exchange(Sequence s) {
        int size = size();
        if (size != 8 && random.nextBoolean()) {
            int r = register(size, 0);
            s.instruction(FlagEffects.NONE, raw("xchg " + registerName(size, EAX) + ", " + registerName(size, r),
                    bytes(size, 0x90 + r)), "XCHG " + registerName(size, EAX) + ", r" + size + " (90+r)");
            return;
        }
        Operand destination = regOrMem(s, size, 0);
        int source = register(size, 0);
        s.instruction(FlagEffects.NONE, "xchg " + destination.text() + ", " + registerName(size, source),
                "XCHG " + destination.kind() + ", r" + size + " (" + hexByte(0x86 + wide(size)) + " /r)");
    }

    /** LEA 8D /r with every 32-bit and 16-bit addressing form (SDM Vol. 2A LEA, Tables 2-1 to 2-3). */
    private void loadEffectiveAddress(Sequence s) {
        int size = size1632();
        int destination = register(size, 0);
        String address;
        String form;
        if (random.nextInt(3) == 0) {
            String[] forms = {"bx+si", "bx+di", "bp+si", "bp+di", "si", "di", "bp", "bx"};
            String base = forms[random.nextInt(forms.length)];
            int displacement = switch (random.nextInt(3)) {
                case 0 -> 0;
                case 1 -> random.nextInt(256) - 128;
                default -> random.nextInt(0x1_0000) - 0x8000;
            };
            if (base.equals("bp") && displacement == 0) {
                displacement = 2;
            }
            if (random.nextInt(8) == 0) {
                address = "[word " + hex(random.nextInt(0x1_0000)) + "]";
                form = "LEA r" + size + ", [disp16] (67 8D)";
            } else {
                address = "[" + base + (displacement == 0 ? "" : signed(displacement)) + "]";
                form = "LEA r" + size + ", [" + base + (displacement == 0 ? "" : displacement >= -128
                        && displacement < 128 ? "+d8" : "+d16") + "] (67 8D)";
            }
        } else {
            int kind = random.nextInt(8);
            int base = random.nextInt(8);
            int index = random.nextInt(8);
            while (index == ESP) {
                index = random.nextInt(8);
            }
            int scale = 1 << random.nextInt(4);
            int displacement8 = random.nextInt(256) - 128;
            int displacement32 = random.nextInt();
            switch (kind) {
                case 0 -> {
                    address = "[" + hex(displacement32 & 0xffff_ffffL) + "]";
                    form = "LEA r" + size + ", [disp32]";
                }
                case 1 -> {
                    address = "[" + R32[base] + "]";
                    form = "LEA r" + size + ", [base]";
                }
                case 2 -> {
                    address = "[" + R32[base] + signed(displacement8) + "]";
                    form = "LEA r" + size + ", [base+disp8]";
                }
                case 3 -> {
                    address = "[dword " + R32[base] + signed(displacement32) + "]";
                    form = "LEA r" + size + ", [base+disp32]";
                }
                case 4 -> {
                    address = "[" + R32[base] + "+" + R32[index] + "*" + scale + "]";
                    form = "LEA r" + size + ", [base+index*scale]";
                }
                case 5 -> {
                    address = "[" + R32[base] + "+" + R32[index] + "*" + scale + signed(displacement8) + "]";
                    form = "LEA r" + size + ", [base+index*scale+disp8]";
                }
                case 6 -> {
                    address = "[dword " + R32[base] + "+" + R32[index] + "*" + scale + signed(displacement32) + "]";
                    form = "LEA r" + size + ", [base+index*scale+disp32]";
                }
                default -> {
                    address = "[nosplit " + R32[index] + "*" + scale + signed(displacement32) + "]";
                    form = "LEA r" + size + ", [index*scale+disp32]";
                }
            }
            form += " (8D)";
        }
        s.instruction(FlagEffects.NONE, "lea " + registerName(size, destination) + ", " + address, form);
    }

    /** PUSH/POP in all operand forms, PUSHA/POPA, PUSHF/POPF (SDM Vol. 2B PUSH, POP, PUSHA, POPA, PUSHF, POPF). */
    private void stack(Sequence s) {
        switch (random.nextInt(12)) {
            case 0 -> { // PUSH r16/r32 (50+r), including ESP (pushes the value before the decrement)
                int size = size1632();
                int r = random.nextInt(8);
                s.moveStack(-size / 8);
                s.instruction(FlagEffects.NONE, raw("push " + registerName(size, r), bytes(size, 0x50 + r)),
                        "PUSH r" + size + " (50+r)" + (r == ESP ? " ESP" : ""));
            }
            case 1 -> { // POP r16/r32 (58+r); POP ESP ends the case (ESP becomes data)
                int size = size1632();
                int r = random.nextInt(8);
                if (r == ESP && size == 16) {
                    throw REJECT;
                }
                s.moveStack(size / 8);
                s.instruction(FlagEffects.NONE, raw("pop " + registerName(size, r), bytes(size, 0x58 + r)),
                        "POP r" + size + " (58+r)" + (r == ESP ? " ESP" : ""));
                if (r == ESP) {
                    s.ended = true;
                }
            }
            case 2 -> { // PUSH imm8 (6A), imm16 (66 68 / 66 6A), imm32 (68)
                switch (random.nextInt(4)) {
                    case 0 -> {
                        s.moveStack(-codeBits / 8);   // the default operand size
                        s.instruction(FlagEffects.NONE, "push byte " + immediate8(), "PUSH imm8 (6A)");
                    }
                    case 1 -> {
                        s.moveStack(-4);
                        s.instruction(FlagEffects.NONE, "push strict dword " + immediateText(32, immediate(32)),
                                "PUSH imm32 (68)");
                    }
                    case 2 -> {
                        s.moveStack(-2);
                        s.instruction(FlagEffects.NONE, "push strict word " + immediateText(16, immediate(16)),
                                "PUSH imm16 (66 68)");
                    }
                    default -> {
                        s.moveStack(-2);
                        s.instruction(FlagEffects.NONE, "push word " + immediate8(), "PUSH imm8 o16 (66 6A)");
                    }
                }
            }
            case 3 -> { // PUSH r/m16/32 (FF /6); an ESP-based source uses ESP before the decrement
                int size = size1632();
                Operand source = mem(s, size, 0);
                s.moveStack(-size / 8);
                s.instruction(FlagEffects.NONE, "push " + source.text(), "PUSH m" + size + " (FF /6)");
            }
            case 4 -> { // POP r/m16/32 (8F /0); an ESP-based destination uses ESP after the increment
                int size = size1632();
                s.moveStack(size / 8);
                Operand destination = mem(s, size, 0);
                s.instruction(FlagEffects.NONE, "pop " + destination.text(), "POP m" + size + " (8F /0)");
            }
            case 5 -> { // PUSHA/PUSHAD (60)
                boolean word = random.nextBoolean();
                s.moveStack(word ? -16 : -32);
                s.instruction(FlagEffects.NONE, word ? "o16 pusha" : "pushad", word ? "PUSHA (66 60)" : "PUSHAD (60)");
            }
            case 6 -> { // POPA/POPAD (61): ESP's slot is skipped
                boolean word = random.nextBoolean();
                s.moveStack(word ? 16 : 32);
                s.instruction(FlagEffects.NONE, word ? "o16 popa" : "popad", word ? "POPA (66 61)" : "POPAD (61)");
            }
            case 7 -> { // PUSHF/PUSHFD (9C)
                boolean word = random.nextBoolean();
                s.moveStack(word ? -2 : -4);
                s.instruction(FlagEffects.PUSH_FLAGS, word ? "o16 pushf" : "pushfd", word ? "PUSHF (66 9C)" : "PUSHFD (9C)");
            }
            case 8 -> { // POPF/POPFD (9D) of a controlled value: TF and IF stay 0 (bits 8, 9)
                boolean word = random.nextBoolean();
                int value = random.nextInt() & (word ? 0xfcff : 0x0024_fcff) & ~(0x3 << 12) & ~(1 << 14);
                s.moveStack(-4);
                s.setup("push strict dword " + hex(value & 0xffff_ffffL));
                if (word) {
                    s.moveStack(2);
                    s.instruction(FlagEffects.POP_FLAGS, "o16 popf", "POPF (66 9D) value=" + hex(value & 0xffff));
                } else {
                    s.moveStack(4);
                    s.instruction(FlagEffects.POP_FLAGS, "popfd", "POPFD (9D) value=" + hex(value & 0xffff_ffffL));
                }
            }
            case 9 -> { // PUSH ESP-relative memory / POP to [ESP+disp] (the classic effective-address edge)
                int size = size1632();
                s.moveStack(size / 8);
                int slot = random.nextInt(4) * 4;
                if (s.esp() + slot + size / 8 > Layout.TEST_STACK + Layout.TEST_STACK_SIZE) {
                    throw REJECT;
                }
                s.instruction(FlagEffects.NONE, "pop " + sizeName(size) + " [esp+" + slot + "]",
                        "POP m" + size + " [esp+disp] (8F /0, ESP after increment)");
            }
            default -> { // a PUSH/POP pair through registers
                int r = register(32, 0);
                int r2 = register(32, 0);
                s.moveStack(-4);
                s.instruction(FlagEffects.NONE, "push " + R32[r], "PUSH r32 (50+r)");
                s.moveStack(4);
                s.instruction(FlagEffects.NONE, "pop " + R32[r2], "POP r32 (58+r)");
            }
        }
    }

    /** MOVS CMPS STOS LODS SCAS, with REP/REPE/REPNE, both directions, 32- and 16-bit addressing. */
    private void string(Sequence s) {
        String[] operations = {"movs", "cmps", "stos", "lods", "scas"};
        int operation = random.nextInt(operations.length);
        int size = size();
        char suffix = size == 8 ? 'b' : size == 16 ? 'w' : 'd';
        boolean compare = operation == 1 || operation == 4;
        String prefix = switch (random.nextInt(3)) {
            case 0 -> "";
            case 1 -> compare ? "repe " : "rep ";
            default -> compare ? "repne " : "rep ";
        };
        boolean address16 = random.nextInt(4) == 0;
        boolean down = random.nextInt(3) == 0;
        int count = random.nextInt(9);
        int bytes = size / 8;
        int span = bytes * Math.max(count, 1);
        int low = Layout.SCRATCH + 8;
        int room = Layout.SCRATCH_SIZE - 16 - span;
        int source = down ? low + span - bytes + random.nextInt(room) : low + random.nextInt(room);
        int destination = down ? low + span - bytes + random.nextInt(room) : low + random.nextInt(room);
        String directionLine = down ? "std" : "cld";
        s.instruction(FlagEffects.DIRECTION_WRITE, directionLine, down ? "STD (FD)" : "CLD (FC)");
        String si = address16 ? "si" : "esi";
        String di = address16 ? "di" : "edi";
        String cx = address16 ? "cx" : "ecx";
        if (operation == 0 || operation == 1 || operation == 3) {
            s.setup("mov " + si + ", " + hex(source));
        }
        if (operation != 3) {
            s.setup("mov " + di + ", " + hex(destination));
        }
        if (!prefix.isEmpty()) {
            s.setup("mov " + cx + ", " + hex(count));
        }
        Effect effect = compare ? FlagEffects.STRING_COMPARE : FlagEffects.STRING_MOVE;
        if (compare && !prefix.isEmpty() && count == 0) {
            effect = FlagEffects.STRING_MOVE; // zero iterations: flags untouched
        }
        String segment = (operation == 0 || operation == 1 || operation == 3) && random.nextInt(6) == 0 ? "fs " : "";
        String line = (address16 ? "a16 " : "a32 ") + segment + prefix + operations[operation] + suffix;
        s.instruction(effect, line, (prefix.isEmpty() ? "" : prefix.trim().toUpperCase() + " ")
                + operations[operation].toUpperCase() + Character.toUpperCase(suffix)
                + (address16 ? " a16" : "") + (down ? " DF=1" : "") + (prefix.isEmpty() ? "" : " count=" + count));
    }

    /** DAA DAS AAA AAS AAM AAD (SDM Vol. 2A). */
    private void decimal(Sequence s) {
        if (random.nextBoolean()) {
            // a BCD-looking AX half the time; otherwise the random AX
            s.setup("mov ax, " + hex(((random.nextInt(10) << 12) | (random.nextInt(16) << 8) | (random.nextInt(10) << 4)
                    | random.nextInt(16)) & 0xffff));
        }
        switch (random.nextInt(6)) {
            case 0 -> s.instruction(FlagEffects.DECIMAL_ADJUST, "daa", "DAA (27)");
            case 1 -> s.instruction(FlagEffects.DECIMAL_ADJUST, "das", "DAS (2F)");
            case 2 -> s.instruction(FlagEffects.ASCII_ADJUST, "aaa", "AAA (37)");
            case 3 -> s.instruction(FlagEffects.ASCII_ADJUST, "aas", "AAS (3F)");
            case 4 -> {
                int base = random.nextBoolean() ? 10 : 1 + random.nextInt(255);
                s.instruction(FlagEffects.ASCII_ADJUST_MUL_DIV, "aam " + base, "AAM imm8 (D4 ib)");
            }
            default -> {
                int base = random.nextBoolean() ? 10 : random.nextInt(256);
                s.instruction(FlagEffects.ASCII_ADJUST_MUL_DIV, "aad " + base, "AAD imm8 (D5 ib)");
            }
        }
    }

    /** CBW CWDE CWD CDQ (SDM Vol. 2A). */
    private void convert(Sequence s) {
        switch (random.nextInt(4)) {
            case 0 -> s.instruction(FlagEffects.NONE, "cbw", "CBW (66 98)");
            case 1 -> s.instruction(FlagEffects.NONE, "cwde", "CWDE (98)");
            case 2 -> s.instruction(FlagEffects.NONE, "cwd", "CWD (66 99)");
            default -> s.instruction(FlagEffects.NONE, "cdq", "CDQ (99)");
        }
    }

    /** LAHF SAHF CLC STC CMC CLD STD (SDM Vol. 2A/2B). */
    private void flagOps(Sequence s) {
        switch (random.nextInt(7)) {
            case 0 -> s.instruction(FlagEffects.LAHF, "lahf", "LAHF (9F)");
            case 1 -> s.instruction(FlagEffects.SAHF, "sahf", "SAHF (9E)");
            case 2 -> s.instruction(FlagEffects.CARRY_WRITE, "clc", "CLC (F8)");
            case 3 -> s.instruction(FlagEffects.CARRY_WRITE, "stc", "STC (F9)");
            case 4 -> s.instruction(FlagEffects.CARRY_COMPLEMENT, "cmc", "CMC (F5)");
            case 5 -> s.instruction(FlagEffects.DIRECTION_WRITE, "cld", "CLD (FC)");
            default -> s.instruction(FlagEffects.DIRECTION_WRITE, "std", "STD (FD)");
        }
    }

    /** MOV 88/89/8A/8B, B0+r/B8+r, C6/C7, A0-A3; NOP 90, 66 90, 0F 1F /0 (SDM Vol. 2B MOV, NOP). */
    private void move(Sequence s) {
        int size = size();
        switch (random.nextInt(7)) {
            case 0 -> {
                Operand destination = regOrMem(s, size, 0);
                int source = register(size, 0);
                s.instruction(FlagEffects.NONE, "mov " + destination.text() + ", " + registerName(size, source),
                        "MOV " + destination.kind() + ", r" + size + " (" + hexByte(0x88 + wide(size)) + " /r)");
            }
            case 1 -> {
                int destination = register(size, 0);
                int opcode = 0x8a + wide(size);
                if (random.nextBoolean()) {
                    Operand source = mem(s, size, 0);
                    s.instruction(FlagEffects.NONE, "mov " + registerName(size, destination) + ", " + source.text(),
                            "MOV r" + size + ", m" + size + " (" + hexByte(opcode) + " /r)");
                } else {
                    int source = register(size, 0);
                    s.instruction(FlagEffects.NONE, raw("mov " + registerName(size, destination) + ", "
                            + registerName(size, source), bytes(size, opcode, modrmRegister(destination, source))),
                            "MOV r" + size + ", r" + size + " (" + hexByte(opcode) + " /r, mod=11)");
                }
            }
            case 2 -> {
                int destination = register(size, 0);
                int imm = immediate(size);
                List<Integer> encoding = bytes(size, (size == 8 ? 0xb0 : 0xb8) + destination);
                appendImmediate(encoding, size, imm);
                s.instruction(FlagEffects.NONE, raw("mov " + registerName(size, destination) + ", "
                        + immediateText(size, imm), encoding), "MOV r" + size + ", imm" + size + " ("
                        + (size == 8 ? "B0" : "B8") + "+r)");
            }
            case 3 -> {
                int imm = immediate(size);
                int opcode = 0xc6 + wide(size);
                if (random.nextBoolean()) {
                    Operand destination = mem(s, size, 0);
                    s.instruction(FlagEffects.NONE, "mov " + destination.text() + ", " + immediateText(size, imm),
                            "MOV m" + size + ", imm" + size + " (" + hexByte(opcode) + " /0)");
                } else {
                    int destination = register(size, 0);
                    List<Integer> encoding = bytes(size, opcode, modrmRegister(0, destination));
                    appendImmediate(encoding, size, imm);
                    s.instruction(FlagEffects.NONE, raw("mov " + registerName(size, destination) + ", "
                            + immediateText(size, imm), encoding),
                            "MOV r" + size + ", imm" + size + " (" + hexByte(opcode) + " /0)");
                }
            }
            case 4 -> {
                int address = scratchTarget(4, 0);
                boolean store = random.nextBoolean();
                String accumulator = registerName(size, EAX);
                int opcode = (store ? 0xa2 : 0xa0) + wide(size);
                s.instruction(FlagEffects.NONE, store ? "mov [" + hex(address) + "], " + accumulator
                        : "mov " + accumulator + ", [" + hex(address) + "]",
                        "MOV " + (store ? "moffs" + size + ", " + accumulator : accumulator + ", moffs" + size) + " ("
                                + hexByte(opcode) + ")");
            }
            case 5 -> {
                switch (random.nextInt(5)) {
                    case 3 -> s.instruction(FlagEffects.NONE, "pause", "PAUSE (F3 90)");
                    case 4 -> s.instruction(new Effect(FlagEffects.CF, 0, 0), "db 0xd6 ; salc",
                            "SALC (D6, undocumented: AL = CF ? FF : 00)");
                    case 0 -> s.instruction(FlagEffects.NONE, "nop", "NOP (90)");
                    case 1 -> s.instruction(FlagEffects.NONE, "o16 nop", "NOP (66 90)");
                    default -> s.instruction(FlagEffects.NONE, "nop dword [eax+eax*1+0x7f]", "NOP m32 (0F 1F /0)");
                }
            }
            default -> {
                // MOV r32, r32 through 8B with an 8-bit write into a live 32-bit register (partial-register merge)
                int destination = register(8, 0);
                int source = register(8, 0);
                s.instruction(FlagEffects.NONE, raw("mov " + R8[destination] + ", " + R8[source],
                        bytes(8, 0x8a, modrmRegister(destination, source))), "MOV r8, r8 (8A /r, mod=11)");
            }
        }
    }

    /** Jcc rel8/rel32 (7x, 0F 8x), JMP rel8/rel32/r/m32 (EB, E9, FF /4) (SDM Vol. 2A Jcc, JMP). */
    private void branch(Sequence s) {
        String target = s.label();
        int skipped = register(32, 0);
        String skippedLine = "mov " + R32[skipped] + ", " + hex(random.nextInt() & 0xffff_ffffL);
        switch (random.nextInt(6)) {
            case 0, 1 -> {
                int cc = random.nextInt(16);
                boolean near = random.nextBoolean();
                s.instruction(FlagEffects.condition(cc), "j" + CONDITIONS[cc] + (near ? " near " : " short ") + target,
                        "J" + CONDITIONS[cc].toUpperCase() + (near ? " rel" + codeBits + " (0F " + hexByte(0x80 + cc) + ")"
                                : " rel8 (" + hexByte(0x70 + cc) + ")"));
            }
            case 2 -> s.instruction(FlagEffects.NONE, "jmp short " + target, "JMP rel8 (EB)");
            case 3 -> s.instruction(FlagEffects.NONE, "jmp near " + target, "JMP rel" + codeBits + " (E9)");
            case 4 -> {
                int r = register(codeBits, 0);
                s.setup("mov " + registerName(codeBits, r) + ", " + s.offsetOf(target));
                s.instruction(FlagEffects.NONE, "jmp " + registerName(codeBits, r), "JMP r" + codeBits + " (FF /4)");
            }
            default -> {
                Operand slot = mem(s, codeBits, 0);
                s.setup("mov " + slot.text() + ", " + s.offsetOf(target));
                s.instruction(FlagEffects.NONE, "jmp " + slot.text(), "JMP m" + codeBits + " (FF /4)");
            }
        }
        s.setup(skippedLine);
        s.setup(target + ":");
    }

    /** LOOP LOOPE LOOPNE JECXZ (E2 E1 E0 E3), with 32- and 16-bit counters (67h) (SDM Vol. 2A Jcc, 2B LOOP). */
    private void loop(Sequence s) {
        switch (random.nextInt(4)) {
            case 0 -> { // a backward LOOP running an ADD/XOR/ROL body 1-4 times
                int iterations = 1 + random.nextInt(4);
                int accumulator = register(32, 1 << ECX);
                int other = register(32, 1 << ECX);
                String top = s.label();
                s.setup("mov ecx, " + iterations);
                s.setup(top + ":");
                switch (random.nextInt(3)) {
                    case 0 -> s.instruction(FlagEffects.ARITHMETIC, "add " + R32[accumulator] + ", " + R32[other],
                            "ADD r/m32, r32 (01 /r)");
                    case 1 -> s.instruction(FlagEffects.LOGIC, "xor " + R32[accumulator] + ", " + R32[other],
                            "XOR r/m32, r32 (31 /r)");
                    default -> s.instruction(FlagEffects.shift(ShiftKind.ROL, 32, 3), "rol " + R32[accumulator]
                            + ", 3", "ROL r/m32, imm8 (C1 /0)");
                }
                s.instruction(FlagEffects.NONE, "loop " + top + ", ecx", "LOOP rel8 backward (E2)");
            }
            case 1 -> { // forward LOOP/LOOPE/LOOPNE, maybe with CX
                int kind = random.nextInt(3);
                boolean counter16 = random.nextInt(3) == 0;
                String target = s.label();
                int count = random.nextInt(3) == 0 ? random.nextInt(3) : value32();
                s.setup("mov " + (counter16 ? "cx" : "ecx") + ", " + hex((counter16 ? count & 0xffff : count)
                        & 0xffff_ffffL));
                String m = kind == 0 ? "loop" : kind == 1 ? "loope" : "loopne";
                Effect effect = kind == 0 ? FlagEffects.NONE : new Effect(ZF, 0, 0);
                s.instruction(effect, m + " " + target + (counter16 ? ", cx" : ", ecx"), m.toUpperCase() + " rel8 ("
                        + hexByte(0xe2 - kind) + ")" + (counter16 ? " a16/CX" : ""));
                s.setup("mov " + R32[register(32, 1 << ECX)] + ", " + hex(random.nextInt() & 0xffff_ffffL));
                s.setup(target + ":");
            }
            default -> { // JECXZ / JCXZ
                boolean counter16 = random.nextBoolean();
                String target = s.label();
                int value = random.nextBoolean() ? 0 : value32();
                if (counter16) {
                    s.setup("mov cx, " + hex(value & 0xffff));
                } else {
                    s.setup("mov ecx, " + hex(value & 0xffff_ffffL));
                }
                s.instruction(FlagEffects.NONE, (counter16 ? "jcxz " : "jecxz ") + target,
                        counter16 ? "JCXZ rel8 (67 E3)" : "JECXZ rel8 (E3)");
                s.setup("mov " + R32[register(32, 1 << ECX)] + ", " + hex(random.nextInt() & 0xffff_ffffL));
                s.setup(target + ":");
            }
        }
    }

    /** CALL rel32/r32/m32 (E8, FF /2), RET and RET imm16 (C3, C2) (SDM Vol. 2A CALL, 2B RET). */
    private void call(Sequence s) {
        // near CALL/RET use the default operand size: 4 bytes of stack in 32-bit code, 2 in 16-bit code
        int unit = codeBits / 8;
        String rel = codeBits == 16 ? "rel16" : "rel32";
        switch (random.nextInt(4)) {
            case 0 -> { // call to the next instruction: pushes its own address, maybe popped into a register
                String next = s.label();
                s.moveStack(-unit);
                s.instruction(FlagEffects.NONE, "call " + next, "CALL " + rel + " (E8)");
                s.setup(next + ":");
                if (random.nextBoolean()) {
                    s.moveStack(unit);
                    s.instruction(FlagEffects.NONE, "pop " + registerName(codeBits, register(codeBits, 0)),
                            "POP r" + codeBits + " (58+r)");
                }
            }
            default -> {
                String function = s.label();
                String after = s.label();
                int how = random.nextInt(3);
                s.moveStack(-unit);
                if (how == 0) {
                    s.instruction(FlagEffects.NONE, "call " + function, "CALL " + rel + " (E8)");
                } else if (how == 1) {
                    int r = register(codeBits, 0);
                    s.setup("mov " + registerName(codeBits, r) + ", " + s.offsetOf(function));
                    s.instruction(FlagEffects.NONE, "call " + registerName(codeBits, r), "CALL r" + codeBits
                            + " (FF /2)");
                } else {
                    Operand slot = mem(s, codeBits, 0);
                    s.setup("mov " + slot.text() + ", " + s.offsetOf(function));
                    s.instruction(FlagEffects.NONE, "call " + slot.text(), "CALL m" + codeBits + " (FF /2)");
                }
                s.setup("jmp short " + after);
                s.setup(function + ":");
                int body = register(32, 0);
                s.setup("mov " + R32[body] + ", " + hex(random.nextInt() & 0xffff_ffffL));
                int release = random.nextInt(3) == 0 ? 2 * random.nextInt(5) : 0;
                s.moveStack(unit + release);
                boolean plain = release == 0 && random.nextBoolean();
                s.instruction(FlagEffects.NONE, plain ? "ret" : "ret " + release, plain ? "RET (C3)" : "RET imm16 (C2)");
                s.setup(after + ":");
            }
        }
    }

    /** ENTER (C8) with nesting levels 0-3 and LEAVE (C9), 32- and 16-bit (SDM Vol. 2A ENTER, LEAVE). */
    private void enterLeave(Sequence s) {
        boolean word = random.nextInt(4) == 0;
        int unit = word ? 2 : 4;
        if (random.nextBoolean()) {
            int level = random.nextInt(4);
            int locals = 2 * random.nextInt(5);
            int frame = Layout.TEST_STACK + 24 + random.nextInt(Layout.TEST_STACK_SIZE - 32);
            s.setup("mov ebp, " + hex(frame));
            s.moveStack(-unit - unit * level - locals);
            s.instruction(FlagEffects.NONE, (word ? "o16 " : "o32 ") + "enter " + locals + ", " + level,
                    "ENTER imm16, " + level + (word ? " o16 (66 C8)" : " (C8)"));
        } else {
            int frame = Layout.TEST_STACK + 8 + random.nextInt(Layout.TEST_STACK_SIZE - 20);
            s.setup("mov ebp, " + hex(frame));
            int delta = frame + unit - s.esp();
            s.moveStack(delta);
            s.instruction(FlagEffects.NONE, word ? "o16 leave" : "o32 leave", word ? "LEAVE o16 (66 C9)" : "LEAVE (C9)");
        }
    }

    /** XLAT (D7) (SDM Vol. 2B XLAT). */
    private void translate(Sequence s) {
        s.setup("mov ebx, " + hex(Layout.SCRATCH + 8));
        s.setup("mov al, " + hex(random.nextInt(Layout.SCRATCH_SIZE - 16)));
        s.instruction(FlagEffects.NONE, "xlatb", "XLAT (D7)");
    }


    // ------------------------------------------------------------------------------------------
    // Exceptions on purpose, far transfers, segment registers, descriptors
    // ------------------------------------------------------------------------------------------

    /** Ends the case with an instruction that raises an exception (a fault changes no state). */
    private void raise(Sequence s, Effect reads, String line, String form) {
        s.require(reads);
        s.lines.add(line);
        s.forms.add(form);
        s.raisesException = true;
        s.ended = true;
    }

    /**
     * #DE (DIV by 0, IDIV overflow, AAM 0), #BR (BOUND), #OF (INTO), #BP (INT3), INT n, #UD (UD2,
     * LOCK on a register form), #GP (segment loads with bad selectors, an instruction longer than 15
     * bytes) (SDM Vol. 3A 6.15 and the instruction pages).
     */
    private void exception(Sequence s) {
        switch (random.nextInt(12)) {
            case 0 -> {
                int size = size();
                Operand divisor = regOrMem(s, size, size == 8 ? 1 << EAX : (1 << EAX) | (1 << EDX));
                s.setup("mov " + divisor.text() + ", 0");
                String m = random.nextBoolean() ? "div" : "idiv";
                raise(s, FlagEffects.NONE, m + " " + divisor.text(), m.toUpperCase() + " " + divisor.kind()
                        + " by zero (#DE)");
            }
            case 1 -> {
                int size = size();
                Operand divisor = regOrMem(s, size, size == 8 ? 1 << EAX : (1 << EAX) | (1 << EDX));
                boolean signed = random.nextBoolean();
                // Quotient too big: the high half (AH, DX, EDX) is >= 2 and the divisor is +-1 or +-2
                // (signed) or 1-2 (unsigned), so |quotient| >= 2^size. Never MIN / -1: QEMU 7.2 divides
                // that on the host and dies of SIGFPE.
                long high = 2 + random.nextInt(0x7e);
                long low = random.nextInt() & ((1L << size) - 1);
                switch (size) {
                    case 8 -> s.setup("mov ax, " + hex(high << 8 | low));
                    case 16 -> {
                        s.setup("mov ax, " + hex(low));
                        s.setup("mov dx, " + hex(high));
                    }
                    default -> {
                        s.setup("mov eax, " + hex(low));
                        s.setup("mov edx, " + hex(high));
                    }
                }
                long divisorValue = (1 + random.nextInt(2)) * (signed && random.nextBoolean() ? -1 : 1);
                s.setup("mov " + divisor.text() + ", " + hex(divisorValue & ((1L << size) - 1)));
                String m = signed ? "idiv" : "div";
                raise(s, FlagEffects.NONE, m + " " + divisor.text(), m.toUpperCase() + " " + divisor.kind()
                        + " quotient overflow (#DE)");
            }
            case 2 -> raise(s, FlagEffects.NONE, "aam 0", "AAM 0 (D4 00, #DE)");
            case 3 -> { // BOUND r, m: in range (no exception) or outside (#BR fault)
                int size = size1632();
                int r = register(size, 0);
                int base = register(32, 1 << r);
                int low = random.nextInt(200) - 100;
                int high = low + random.nextInt(100);
                int value = random.nextBoolean() ? low + random.nextInt(high - low + 1)
                        : random.nextBoolean() ? low - 1 - random.nextInt(50) : high + 1 + random.nextInt(50);
                int address = scratchTarget(8, 0);
                String unit = sizeName(size);
                int step = size / 8;
                s.setup("mov " + R32[base] + ", " + hex(address));
                s.setup("mov " + unit + " [" + R32[base] + "], " + immediateText(size, low));
                s.setup("mov " + unit + " [" + R32[base] + "+" + step + "], " + immediateText(size, high));
                s.setup("mov " + R32[r] + ", " + hex(value & 0xffff_ffffL));
                String line = "bound " + registerName(size, r) + ", [" + R32[base] + "]";
                String form = "BOUND r" + size + ", m" + size + "&" + size + " (62 /r)";
                if (value < low || value > high) {
                    raise(s, FlagEffects.NONE, line, form + " out of range (#BR)");
                } else {
                    s.instruction(FlagEffects.NONE, line, form + " in range");
                }
            }
            case 4 -> { // INTO: #OF trap when OF = 1, else nothing
                boolean overflow = random.nextBoolean();
                s.moveStack(-4);
                s.setup("push strict dword " + hex(RESERVED_ONE | (overflow ? FlagEffects.OF : 0)
                        | (random.nextInt() & (STATUS & ~FlagEffects.OF))));
                s.moveStack(4);
                s.instruction(FlagEffects.POP_FLAGS, "popfd", "POPFD (9D)");
                if (overflow) {
                    raise(s, new Effect(FlagEffects.OF, 0, 0), "into", "INTO (CE) with OF=1 (#OF trap)");
                } else {
                    s.instruction(new Effect(FlagEffects.OF, 0, 0), "into", "INTO (CE) with OF=0");
                }
            }
            case 5 -> raise(s, FlagEffects.NONE, "int3", "INT3 (CC, #BP trap)");
            case 6 -> {
                int[] vectors = {0, 1, 3, 4, 5, 6, 7, 9, 15, 16, 18, 19, 20, 22, 30, 31};
                int vector = vectors[random.nextInt(vectors.length)];
                raise(s, FlagEffects.NONE, "int " + vector, "INT imm8 (CD " + hexByte(vector) + ")");
            }
            // (INT1/ICEBP, F1, is #DB per the SDM but #UD in QEMU TCG, built without WANT_ICEBP: not generated)
            case 7, 8 -> raise(s, FlagEffects.NONE, "ud2", "UD2 (0F 0B, #UD)");
            case 9 -> {
                // (LOCK MOV m32 would be #UD too, but QEMU TCG executes it: not generated)
                int destination = register(32, 0);
                int source = register(32, 0);
                raise(s, FlagEffects.NONE, raw("lock add " + R32[destination] + ", " + R32[source],
                        List.of(0xf0, 0x01, modrmRegister(source, destination))), "LOCK ADD r32, r32 (F0 01, #UD)");
            }
            case 10 -> {
                // Segment loads that fault (SDM Vol. 2B MOV: #GP(selector)); a write through CS would
                // be #GP(0) too, but QEMU TCG does not check it: not generated.
                int[][] faulting = {{2, 0x08}, {2, 0x00}, {3, 0x18}, {0, 0x1b}, {4, 0x13}, {5, 0x0b}, {3, 0x800}};
                int[] pick = faulting[random.nextInt(faulting.length)];
                int r = register(32, 0);
                s.setup("mov " + R16[r] + ", " + hex(pick[1]));
                raise(s, FlagEffects.NONE, "mov " + SEGMENTS[pick[0]] + ", " + R16[r], "MOV Sreg, r16 (8E /" + pick[0]
                        + ") selector " + hex(pick[1]) + " (#GP)");
            }
            default -> {
                int[] prefixes = {0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67};
                List<Integer> bytes = new ArrayList<>();
                for (int i = 0; i < 15; i++) {
                    bytes.add(prefixes[random.nextInt(prefixes.length)]);
                }
                bytes.add(0x90);
                raise(s, FlagEffects.NONE, raw("16-byte nop", bytes), "NOP with 15 prefixes (16 bytes, #GP(0))");
            }
        }
    }

    /** JMP ptr16:32 (EA), JMP m16:32 (FF /5), CALL ptr16:32 (9A), CALL m16:32 (FF /3), RETF (CB, CA), IRETD (CF). */
    private void farTransfer(Sequence s) {
        if (codeBits == 16) {
            throw REJECT;   // the 16-bit case code lives in a segment of its own: far targets are 32-bit code
        }
        String target = s.label();
        int skipped = register(32, 0);
        switch (random.nextInt(5)) {
            case 0 -> {
                s.instruction(FlagEffects.NONE, "jmp dword 0x08:" + target, "JMP ptr16:32 (EA)");
                s.setup("mov " + R32[skipped] + ", " + hex(random.nextInt() & 0xffff_ffffL));
                s.setup(target + ":");
            }
            case 1 -> {
                int base = register(32, 0);
                s.setup("mov " + R32[base] + ", " + hex(scratchTarget(6, 0)));
                s.setup("mov dword [" + R32[base] + "], " + target);
                s.setup("mov word [" + R32[base] + "+4], 0x08");
                s.instruction(FlagEffects.NONE, "jmp far [" + R32[base] + "]", "JMP m16:32 (FF /5)");
                s.setup("mov " + R32[skipped] + ", " + hex(random.nextInt() & 0xffff_ffffL));
                s.setup(target + ":");
            }
            case 2, 3 -> {
                String after = s.label();
                s.moveStack(-8);
                if (random.nextBoolean()) {
                    s.instruction(FlagEffects.NONE, "call dword 0x08:" + target, "CALL ptr16:32 (9A)");
                } else {
                    int base = register(32, 0);
                    s.setup("mov " + R32[base] + ", " + hex(scratchTarget(6, 0)));
                    s.setup("mov dword [" + R32[base] + "], " + target);
                    s.setup("mov word [" + R32[base] + "+4], 0x08");
                    s.instruction(FlagEffects.NONE, "call far [" + R32[base] + "]", "CALL m16:32 (FF /3)");
                }
                s.setup("jmp short " + after);
                s.setup(target + ":");
                // The upper half of the pushed CS slot is not specified: make it the same everywhere.
                s.setup("mov word [esp+6], 0");
                int release = random.nextInt(3) == 0 ? 2 * random.nextInt(5) : 0;
                s.moveStack(8 + release);
                s.instruction(FlagEffects.NONE, release == 0 ? "retf" : "retf " + release,
                        release == 0 ? "RETF (CB)" : "RETF imm16 (CA)");
                s.setup(after + ":");
            }
            default -> {
                int flags = random.nextInt() & 0x0024_0cd5 | RESERVED_ONE;   // status flags, DF, AC, ID
                s.moveStack(-12);
                s.setup("push strict dword " + hex(flags & 0xffff_ffffL));
                s.setup("push strict dword 0x08");
                s.setup("push strict dword " + target);
                s.moveStack(12);
                s.instruction(FlagEffects.POP_FLAGS, "iretd", "IRETD (CF) same privilege, EFLAGS=" + hex(flags));
                s.setup("mov " + R32[skipped] + ", " + hex(random.nextInt() & 0xffff_ffffL));
                s.setup(target + ":");
            }
        }
    }

    private static final int LAR_UNDEFINED_BITS = 0xfff0_ffff;
    private static final String[] SEGMENTS = {"es", "cs", "ss", "ds", "fs", "gs"};
    private static final int DATA_SELECTOR = 0x10;

    /** MOV Sreg (8C, 8E), PUSH/POP Sreg, LDS/LES/LFS/LGS/LSS (SDM Vol. 2B MOV, PUSH, POP; 2A LDS). */
    private void segment(Sequence s) {
        switch (random.nextInt(5)) {
            case 0 -> { // MOV r/m, Sreg: a 32-bit register gets the selector zero-extended (P6 and later)
                int sreg = random.nextInt(6);
                int size = random.nextInt(3) == 0 ? 16 : 32;
                Operand destination = random.nextInt(3) == 0 ? mem(s, 16, 0) : reg(size, 0);
                s.instruction(FlagEffects.NONE, "mov " + destination.text() + ", " + SEGMENTS[sreg],
                        "MOV " + destination.kind() + ", Sreg (8C /" + sreg + ")");
            }
            case 1 -> { // MOV Sreg, r/m16 with the flat data selector
                int[] loadable = {0, 2, 3, 4, 5};
                int sreg = loadable[random.nextInt(loadable.length)];
                if (random.nextBoolean()) {
                    int r = register(32, 0);
                    s.setup("mov " + R16[r] + ", " + hex(DATA_SELECTOR));
                    s.instruction(FlagEffects.NONE, "mov " + SEGMENTS[sreg] + ", " + R16[r],
                            "MOV Sreg, r16 (8E /" + sreg + ")");
                } else {
                    Operand source = mem(s, 16, 0);
                    s.setup("mov " + source.text() + ", " + hex(DATA_SELECTOR));
                    s.instruction(FlagEffects.NONE, "mov " + SEGMENTS[sreg] + ", " + source.text(),
                            "MOV Sreg, m16 (8E /" + sreg + ")");
                }
            }
            case 2 -> { // 16-bit PUSH Sreg (a 32-bit push may leave the slot's upper half unwritten)
                int sreg = random.nextInt(6);
                s.moveStack(-2);
                s.instruction(FlagEffects.NONE, "o16 push " + SEGMENTS[sreg], "PUSH Sreg o16");
            }
            case 3 -> { // POP Sreg, 16 and 32 bits
                int[] loadable = {0, 2, 3, 4, 5};
                int sreg = loadable[random.nextInt(loadable.length)];
                boolean word = random.nextBoolean();
                s.moveStack(word ? -2 : -4);
                s.setup((word ? "push word " : "push dword ") + hex(DATA_SELECTOR));
                s.moveStack(word ? 2 : 4);
                s.instruction(FlagEffects.NONE, (word ? "o16 pop " : "o32 pop ") + SEGMENTS[sreg],
                        "POP Sreg" + (word ? " o16" : ""));
            }
            default -> { // far pointer loads
                String[] names = {"les", "lss", "lds", "lfs", "lgs"};
                int which = random.nextInt(names.length);
                int size = size1632();
                int base = register(32, 0);
                int destination = register(size, 1 << base);
                int address = scratchTarget(6, 0);
                int offset = random.nextInt();
                s.setup("mov " + R32[base] + ", " + hex(address));
                s.setup("mov " + sizeName(size) + " [" + R32[base] + "], " + immediateText(size, offset));
                s.setup("mov word [" + R32[base] + "+" + size / 8 + "], " + hex(DATA_SELECTOR));
                s.instruction(FlagEffects.NONE, names[which] + " " + registerName(size, destination) + ", ["
                        + R32[base] + "]", names[which].toUpperCase() + " r" + size + ", m16:" + size);
            }
        }
    }

    /** LAR, LSL, VERR, VERW, ARPL on the harness GDT's selectors (SDM Vol. 2A ARPL, LAR, LSL; 2B VERR/VERW). */
    private void descriptor(Sequence s) {
        int[] selectors = {0x08, 0x10, 0x00, 0x18, 0x0b, 0x13, 0x09, 0x800};
        int selector = random.nextInt(4) == 0 ? random.nextInt(0x1_0000) : selectors[random.nextInt(selectors.length)];
        Effect zeroFlag = new Effect(0, ZF, 0);
        int kind = random.nextInt(5);
        Operand source;
        if (random.nextBoolean()) {
            source = mem(s, 16, 0);
            s.setup("mov " + source.text() + ", " + hex(selector));
        } else {
            source = reg(16, 0);
            s.setup("mov " + R32[source.register()] + ", " + hex(random.nextInt() & 0xffff_0000L | selector));
        }
        String form = "(selector " + hex(selector) + ")";
        switch (kind) {
            case 0, 1 -> {
                int size = size1632();
                int destination = register(size, 0);
                String m = kind == 0 ? "lar" : "lsl";
                s.instruction(zeroFlag, m + " " + registerName(size, destination) + ", " + source.text(),
                        m.toUpperCase() + " r" + size + ", " + source.kind() + " (0F " + (kind == 0 ? "02" : "03")
                                + ") " + form);
                if (kind == 0 && size == 32) {
                    // SDM Vol. 2A LAR: the access rights are masked with 00FxFF00H, bits 19:16 undefined
                    s.registerMasks[destination] &= LAR_UNDEFINED_BITS;
                    s.ended = true;
                }
            }
            case 2 -> s.instruction(zeroFlag, "verr " + source.text(), "VERR " + source.kind() + " (0F 00 /4) " + form);
            case 3 -> s.instruction(zeroFlag, "verw " + source.text(), "VERW " + source.kind() + " (0F 00 /5) " + form);
            default -> {
                int other = register(16, 0);
                s.instruction(zeroFlag, "arpl " + source.text() + ", " + R16[other], "ARPL " + source.kind()
                        + ", r16 (63 /r)");
            }
        }
    }

    /** CMPXCHG8B m64 (0F C7 /1); see {@link FlagEffects#COMPARE_EXCHANGE_8B} for its flags. */
    private void compareExchange8b(Sequence s) {
        int avoid = (1 << EAX) | (1 << EDX) | (1 << ECX) | (1 << EBX);
        String address = memoryAddress(s, 8, avoid, 16);
        if (random.nextBoolean()) {
            int low = value32();
            int high = value32();
            s.setup("mov dword " + address + ", " + hex(low & 0xffff_ffffL));
            s.setup("mov eax, " + hex(low & 0xffff_ffffL));
            s.setup("mov dword " + address.replace("]", "+4]") + ", " + hex(high & 0xffff_ffffL));
            s.setup("mov edx, " + hex(high & 0xffff_ffffL));
        }
        s.instruction(FlagEffects.COMPARE_EXCHANGE_8B, (random.nextInt(4) == 0 ? "lock " : "") + "cmpxchg8b qword "
                + address,
                "CMPXCHG8B m64 (0F C7 /1)");
    }
}
