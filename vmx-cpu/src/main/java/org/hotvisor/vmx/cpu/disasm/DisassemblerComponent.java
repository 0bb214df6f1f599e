package org.hotvisor.vmx.cpu.disasm;

import org.hotvisor.api.vmx.Disassembler;
import org.hotvisor.vmx.cpu.x86.IntelSyntax;
import org.osgi.annotation.bundle.Capability;
import org.osgi.service.component.annotations.Component;

/**
 * The {@link Disassembler} service: the processor's own decoder with an Intel-syntax formatter
 * ({@link IntelSyntax}), so what the console prints is what the processor executes. A Declarative
 * Services component in OSGi and a {@link java.util.ServiceLoader} provider outside it
 * (META-INF/services, and the capability below for the generated module-info).
 */
@Component(service = Disassembler.class)
@Capability(namespace = "osgi.serviceloader", name = "org.hotvisor.api.vmx.Disassembler",
        attribute = "register:=org.hotvisor.vmx.cpu.disasm.DisassemblerComponent")
public final class DisassemblerComponent implements Disassembler {

    /** Public no-argument constructor: required by both SCR and ServiceLoader. */
    public DisassemblerComponent() {
    }

    /** Thread-safe: the decoder keeps scratch state, so every call gets its own (a few fields; not a hot path). */
    @Override
    public int disassemble(byte[] bytes, int offset, long address, int codeBits, StringBuilder out) {
        return new IntelSyntax().disassemble(bytes, offset, address, codeBits, out);
    }
}
