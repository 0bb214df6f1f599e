/**
 * The IA-32 core of Hotvisor's VT-x processor: everything that happens in VMX non-root operation.
 *
 * <ul>
 *   <li>{@link org.hotvisor.vmx.cpu.x86.X86Core}: architectural state (public, moved to and from
 *       the VMCS by the VMX layer), the run loop and the interpreter.</li>
 *   <li>{@link org.hotvisor.vmx.cpu.x86.Decoder} turns bytes into immutable
 *       {@link org.hotvisor.vmx.cpu.x86.Insn} records, grouped into blocks and cached per
 *       guest-physical address ({@code CodeCache}); hot blocks are translated to JVM bytecode by
 *       {@code BlockCompiler}. Writes to pages holding code drop their blocks.</li>
 *   <li>{@code Hot} (frequent instructions), {@code Exec}, {@code Strings}, {@code Bcd},
 *       {@code Control} (far transfers, interrupts), {@code SystemOps} (system instructions and
 *       their VM exits), {@code Protection} (LAR/LSL/VERR/VERW/ARPL).</li>
 *   <li>{@code Mmu}: segment checks, paging, the software TLB, EPT-violation exits for
 *       addresses beyond RAM; {@code Segments}: descriptor loads; {@code Events}: exception and
 *       interrupt delivery, the exception bitmap, #DF/triple fault; {@code Debug}: DR0-DR7.</li>
 *   <li>{@link org.hotvisor.vmx.cpu.x86.Segment}, {@link org.hotvisor.vmx.cpu.x86.VmxControls},
 *       {@link org.hotvisor.vmx.cpu.x86.ExitInfo}: the contract with the VMX layer.</li>
 * </ul>
 *
 * <p>Private to the vmx-cpu bundle (not exported).
 */
package org.hotvisor.vmx.cpu.x86;
