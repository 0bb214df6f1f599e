; Local APIC and I/O APIC test guest (flat image, 32-bit protected mode: --format flat --load-addr 0x100000).
; With the 8259s masked: reads the xAPIC version through the MMIO page, sends itself a fixed IPI
; (shorthand self), counts three periodic LAPIC-timer ticks, then routes the PIT (ISA IRQ0 = I/O
; APIC pin 2) through the I/O APIC and counts two of its ticks; last, clears IA32_APIC_BASE.EN and
; expects CPUID.01H:EDX.APIC clear, then sets it again and expects it set (SDM 3A 11.4.3;
; kvm-unit-tests apic.c test_apic_disable). Prints PASS/FAIL lines on COM1 and
; leaves through isa-debug-exit with V=0x2a (status 0x55) when everything passed, else V=1 (3).
bits 32
org 0x100000

PIC_MASTER_DATA equ 0x21
PIC_SLAVE_DATA  equ 0xa1
PIT_CTRL        equ 0x43
PIT_CH0         equ 0x40
PIT_CH0_RATE2   equ 0x34            ; channel 0, lo/hi byte, mode 2 (rate generator)
PIT_1MS         equ 1193

APIC            equ 0xfee00000
APIC_VERSION    equ 0x030
APIC_EOI        equ 0x0b0
APIC_SVR        equ 0x0f0
APIC_ICR_LOW    equ 0x300
APIC_LVT_TIMER  equ 0x320
APIC_TMICT      equ 0x380
APIC_TDCR       equ 0x3e0
SVR_ENABLE      equ 0x100
ICR_SELF        equ 1 << 18
LVT_MASKED      equ 1 << 16
LVT_PERIODIC    equ 1 << 17
TDCR_DIV1       equ 0xb
TIMER_COUNT     equ 100000          ; 100 us at the 1 GHz APIC bus clock

IOAPIC          equ 0xfec00000
IOREGSEL        equ 0x00
IOWIN           equ 0x10
IOAPIC_VERSION  equ 0x01
PIN2_LOW        equ 0x10 + 2 * 2
PIN2_HIGH       equ PIN2_LOW + 1
IOREDTBL_MASKED equ 1 << 16

IA32_APIC_BASE  equ 0x1b
APIC_BASE_EN    equ 1 << 11
CPUID_FEATURES  equ 1
CPUID_EDX_APIC  equ 1 << 9

VEC_TIMER       equ 0x40
VEC_SELF        equ 0x41
VEC_PIT         equ 0x50
IDT             equ 0x80000
IDT_ENTRIES     equ 256
GATE_INTR32     equ 0x8e00
CODE_SEL        equ 0x08
DATA_SEL        equ 0x10

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

    ; ---- periodic LAPIC timer: three ticks ----
    mov dword [APIC + APIC_TDCR], TDCR_DIV1
    mov dword [APIC + APIC_LVT_TIMER], LVT_PERIODIC | VEC_TIMER
    mov dword [APIC + APIC_TMICT], TIMER_COUNT
.wait_timer:
    sti
    hlt
    cli
    cmp dword [timer_count], 3
    jb .wait_timer
    mov dword [APIC + APIC_LVT_TIMER], LVT_MASKED | VEC_TIMER
    mov dword [APIC + APIC_TMICT], 0
    mov esi, s_timer
    cmp dword [timer_count], 3
    call pass_fail

    ; ---- the PIT through I/O APIC pin 2 ----
    mov esi, s_ioversion
    call puts
    mov dword [IOAPIC + IOREGSEL], IOAPIC_VERSION
    mov eax, [IOAPIC + IOWIN]
    call puthex32
    call newline
    mov dword [IOAPIC + IOREGSEL], PIN2_HIGH
    mov dword [IOAPIC + IOWIN], 0   ; physical destination APIC 0
    mov dword [IOAPIC + IOREGSEL], PIN2_LOW
    mov dword [IOAPIC + IOWIN], VEC_PIT ; fixed, edge, unmasked
    mov al, PIT_CH0_RATE2
    out PIT_CTRL, al
    mov ax, PIT_1MS
    out PIT_CH0, al
    mov al, ah
    out PIT_CH0, al
.wait_pit:
    sti
    hlt
    cli
    cmp dword [pit_count], 2
    jb .wait_pit
    mov esi, s_pit
    cmp dword [pit_count], 2
    call pass_fail

    mov esi, s_unexpected
    cmp dword [unexpected_count], 0
    call pass_fail

    ; ---- IA32_APIC_BASE.EN and CPUID.01H:EDX.APIC, interrupts off, the PIT's pin masked ----
    mov dword [IOAPIC + IOREGSEL], PIN2_LOW
    mov dword [IOAPIC + IOWIN], IOREDTBL_MASKED | VEC_PIT
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

; EDI: first gate, ECX: count, EAX: handler. 32-bit interrupt gates in the current code segment.
fill_gates:
    mov edx, eax
    mov bx, CODE_SEL
.gate:
    mov [edi], dx                   ; offset 15:0
    mov [edi + 2], bx               ; selector
    mov word [edi + 4], GATE_INTR32
    mov eax, edx
    shr eax, 16
    mov [edi + 6], ax               ; offset 31:16
    add edi, 8
    loop .gate
    ret

isr_timer:
    inc dword [timer_count]
    jmp eoi_iret
isr_self:
    inc dword [self_count]
    jmp eoi_iret
isr_pit:
    inc dword [pit_count]
    jmp eoi_iret
isr_unexpected:
    inc dword [unexpected_count]
eoi_iret:
    mov dword [APIC + APIC_EOI], 0
    iret

%define WANT_CHECKS
%include "lib/console.inc"

align 8
gdt:            dq 0
                dq 0x00cf9a000000ffff   ; 0x08: code, base 0, 4 GiB, 32-bit
                dq 0x00cf92000000ffff   ; 0x10: data, base 0, 4 GiB
gdtr:           dw 3 * 8 - 1
                dd gdt
align 4
idtr:           dw IDT_ENTRIES * 8 - 1
                dd IDT
timer_count:    dd 0
self_count:     dd 0
pit_count:      dd 0
unexpected_count: dd 0
saved_apic_base: dq 0
s_version:      db "lapic version ", 0
s_ioversion:    db "ioapic version ", 0
s_self:         db "self-ipi", 0
s_timer:        db "lapic-timer periodic", 0
s_pit:          db "ioapic pin2 pit", 0
s_unexpected:   db "no unexpected vectors", 0
s_cpuid_disabled: db "apic disabled: cpuid apic clear", 0
s_cpuid_enabled:  db "apic re-enabled: cpuid apic set", 0
