; Local APIC and I/O APIC test guest (flat image, 32-bit protected mode: --format flat --load-addr 0x100000).
; With the 8259s masked: reads the xAPIC version through the MMIO page, sends itself a fixed IPI
; (shorthand self), counts three periodic LAPIC-timer ticks, then routes the PIT (ISA IRQ0 = I/O
; APIC pin 2) through the I/O APIC and counts two of its ticks; last, clears IA32_APIC_BASE.EN and
; expects CPUID.01H:EDX.APIC clear, then sets it again and expects it set (SDM 3A 11.4.3;
; kvm-unit-tests apic.c test_apic_disable). Prints PASS/FAIL lines on COM1 and
; leaves through isa-debug-exit with V=0x2a (status 0x55) when everything passed, else V=1 (3).
bits 32
org 0x100000


APIC_VERSION    equ 0x030
ICR_SELF        equ 1 << 18

IOAPIC_VERSION  equ 0x01

IA32_APIC_BASE  equ 0x1b
APIC_BASE_EN    equ 1 << 11
CPUID_FEATURES  equ 1
CPUID_EDX_APIC  equ 1 << 9

VEC_SELF        equ 0x41

start:
    lgdt [gdtr]                     ; the boot GDTR points at low memory: bring our own flat segments
    jmp CODE_SEL:.reload
.reload:
    mov ax, DATA_SEL
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, 0x90000
    cld
    call setup_idt
    mov al, 0xff                    ; the 8259s stay out of this: all lines masked
    out PIC_MASTER_DATA, al
    out PIC_SLAVE_DATA, al

    ; ---- version through the xAPIC page (EPT violation -> the lapic bundle) ----
    mov esi, s_version
    call puts
    mov eax, [APIC + APIC_VERSION]
    call puthex32
    call newline
    mov dword [APIC + APIC_SVR], SVR_ENABLE | 0xff

    ; ---- self IPI ----
    mov dword [APIC + APIC_ICR_LOW], ICR_SELF | VEC_SELF
    sti
    nop
    cli
    mov esi, s_self
    cmp dword [self_count], 1
    call pass_fail

    call check_lapic_timer

    ; ---- the PIT through I/O APIC pin 2 ----
    mov esi, s_ioversion
    call puts
    mov dword [IOAPIC + IOREGSEL], IOAPIC_VERSION
    mov eax, [IOAPIC + IOWIN]
    call puthex32
    call newline
    call check_ioapic_pit

    call check_no_unexpected

    ; ---- IA32_APIC_BASE.EN and CPUID.01H:EDX.APIC (interrupts off; check_ioapic_pit masked the PIT's pin) ----
    mov ecx, IA32_APIC_BASE
    rdmsr
    mov [saved_apic_base], eax
    mov [saved_apic_base + 4], edx
    and eax, ~APIC_BASE_EN
    wrmsr
    mov eax, CPUID_FEATURES
    cpuid
    mov esi, s_cpuid_disabled
    test edx, CPUID_EDX_APIC        ; ZF = 1: bit 9 clear
    call pass_fail
    mov ecx, IA32_APIC_BASE
    mov eax, [saved_apic_base]
    mov edx, [saved_apic_base + 4]
    wrmsr
    mov eax, CPUID_FEATURES
    cpuid
    mov esi, s_cpuid_enabled
    and edx, CPUID_EDX_APIC
    cmp edx, CPUID_EDX_APIC         ; ZF = 1: bit 9 set
    call pass_fail

    jmp exit_with_result

setup_idt:
    mov edi, IDT
    mov ecx, IDT_ENTRIES
    mov eax, isr_unexpected
    call fill_gates
    mov edi, IDT + VEC_TIMER * 8
    mov ecx, 1
    mov eax, isr_timer
    call fill_gates
    mov edi, IDT + VEC_SELF * 8
    mov ecx, 1
    mov eax, isr_self
    call fill_gates
    mov edi, IDT + VEC_PIT * 8
    mov ecx, 1
    mov eax, isr_pit
    call fill_gates
    lidt [idtr]
    ret


isr_self:
    inc dword [self_count]
    jmp eoi_iret

%define WANT_CHECKS
%include "lib/console.inc"
%include "lib/apic.inc"

self_count:     dd 0
saved_apic_base: dq 0
s_version:      db "lapic version ", 0
s_ioversion:    db "ioapic version ", 0
s_self:         db "self-ipi", 0
s_cpuid_disabled: db "apic disabled: cpuid apic clear", 0
s_cpuid_enabled:  db "apic re-enabled: cpuid apic set", 0
