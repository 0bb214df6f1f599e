package org.hotvisor.api.vmx;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A disassembler for the instruction set the VT-x processor implements, provided as a service by
 * the {@code vmx-cpu} bundle (since 1.1). It decodes with the processor's own decoder, so what it
 * prints is what the processor executes.
 */
@ConsumerType
public interface Disassembler {

    /**
     * Disassembles the instruction at {@code bytes[offset]}.
     *
     * @param bytes the code bytes; fewer than 15 may be available near the end
     * @param offset where the instruction starts in {@code bytes}
     * @param address the instruction's address (linear, or CS offset), used for branch targets
     * @param codeBits the default operand and address size of the code segment: 16 or 32
     * @param out receives the text, in Intel syntax, e.g. {@code mov eax, dword [ebx+4]}
     * @return the instruction's length in bytes, or 0 if the bytes are not a valid instruction
     *     (or are cut off), in which case {@code out} receives a {@code (bad)} line
     */
    int disassemble(byte[] bytes, int offset, long address, int codeBits, StringBuilder out);
}
