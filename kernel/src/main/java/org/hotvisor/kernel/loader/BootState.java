package org.hotvisor.kernel.loader;

/**
 * The processor state a loaded image starts in.
 *
 * @param protectedMode false: real mode, CS = {@code codeSelector} with base selector*16;
 *                      true: 32-bit flat protected mode, paging off, every segment base 0 and limit 4 GiB
 * @param codeSelector  the CS selector (real mode: the segment; protected mode: 0x08, data segments 0x10)
 * @param rip           the first instruction (offset within CS)
 * @param rsp           the initial stack pointer
 * @param eax           initial EAX (Multiboot: 0x2BADB002)
 * @param ebx           initial EBX (Multiboot: physical address of the boot information)
 * @param edx           initial EDX (boot sector: DL = the BIOS boot drive)
 * @param description   one line saying what was loaded where, for logs and the console
 */
public record BootState(boolean protectedMode, int codeSelector, long rip, long rsp, long eax, long ebx, long edx,
        String description) {
}
