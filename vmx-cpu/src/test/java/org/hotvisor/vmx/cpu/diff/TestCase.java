package org.hotvisor.vmx.cpu.diff;

import java.util.List;

/**
 * One generated case: the initial machine state (written into the harness's data table) and the
 * instruction lines it runs.
 *
 * @param index case number within its batch (printed on the result line)
 * @param codeBits 32, or 16 when the instructions run in a 16-bit code segment (CS.D = 0)
 * @param registers initial EAX, ECX, EDX, EBX, EBP, ESI, EDI (ESP is always {@link Layout#TEST_STACK_TOP})
 * @param eflags initial EFLAGS
 * @param scratch initial bytes of the scratch area
 * @param stack initial bytes of the test-stack area
 * @param lines the generated assembly (setup MOVs and the instructions under test), one per line
 * @param forms the instruction forms under test, e.g. {@code "ADC r/m32, imm8 (83 /2)"}, for reports
 * @param flagMask EFLAGS bits compared (the defined ones at the end of the sequence)
 * @param registerMasks per register (EAX=0 ... EDI=7, ESP=4 included): the bits architecturally defined
 *     at the end (-1 normally; 0 for BSF's destination after a zero source; LAR's bits 19:16)
 * @param raisesException the case ends with an instruction that raises an exception on purpose
 */
record TestCase(int index, int codeBits, int[] registers, int eflags, byte[] scratch, byte[] stack, List<String> lines,
        List<String> forms, int flagMask, int[] registerMasks, boolean raisesException) {


    /** The guest memory layout shared by the generator and harness.asm (keep the two in sync). */
    static final class Layout {
        static final int LOAD_ADDRESS = 0x10_0000;
        static final int SCRATCH = 0x8000;
        static final int SCRATCH_SIZE = 128;
        static final int TEST_STACK = 0x9000;
        static final int TEST_STACK_SIZE = 128;
        static final int TEST_STACK_TOP = TEST_STACK + 64;

        private Layout() {
        }
    }
}
