; SMP test guest (flat image, 32-bit protected mode: --format flat --load-addr 0x100000 --cpus 4).
; The BSP copies a real-mode trampoline to 0x8000, enables its local APIC and sends INIT, SIPI,
; SIPI to all excluding self (SDM 3A 9.4.4, the universal start-up algorithm). Each AP enters
; protected mode, enables its own APIC, takes a stack and counts itself with LOCK XADD, records its
; APIC ID with LOCK BTS, sends a fixed IPI to APIC 0 (vector 0x60 + its APIC ID: one vector per AP,
; since IPIs of one vector coalesce in the IRR) and halts. The BSP checks the count, the IDs and
; the three IPIs, then counts three periodic LAPIC-timer ticks and two PIT ticks routed through
; I/O APIC pin 2 (ISA IRQ0, the MADT's override). PASS/FAIL lines on COM1; isa-debug-exit with
; V=0x2a (status 0x55) when everything passed, else V=1 (3).
bits 32
org 0x100000

PIC_MASTER_DATA equ 0x21
PIC_SLAVE_DATA  equ 0xa1
PIT_CTRL        equ 0x43
PIT_CH0         equ 0x40
PIT_CH0_RATE2   equ 0x34            ; channel 0, lo/hi byte, mode 2 (rate generator)
PIT_1MS         equ 1193

APIC            equ 0xfee00000
APIC_ID         equ 0x020
APIC_EOI        equ 0x0b0
APIC_SVR        equ 0x0f0
APIC_ICR_LOW    equ 0x300
APIC_ICR_HIGH   equ 0x310
APIC_LVT_TIMER  equ 0x320
APIC_TMICT      equ 0x380
APIC_TDCR       equ 0x3e0
APIC_ID_SHIFT   equ 24
SVR_ENABLE      equ 0x100
ICR_INIT        equ 5 << 8
ICR_STARTUP     equ 6 << 8
ICR_ASSERT      equ 1 << 14
ICR_ALL_BUT_SELF equ 3 << 18
LVT_MASKED      equ 1 << 16
LVT_PERIODIC    equ 1 << 17
TDCR_DIV1       equ 0xb
TIMER_COUNT     equ 100000          ; 100 us at the 1 GHz APIC bus clock

IOAPIC          equ 0xfec00000
IOREGSEL        equ 0x00
IOWIN           equ 0x10
PIN2_LOW        equ 0x10 + 2 * 2
PIN2_HIGH       equ PIN2_LOW + 1

APS             equ 3
TRAMPOLINE      equ 0x8000
SIPI_VECTOR     equ TRAMPOLINE >> 12
CR0_PE          equ 1
AP_STACKS       equ 0x70000         ; 4 KiB per AP, below the BSP's stack
AP_STACK_SIZE   equ 0x1000
SIPI_DELAY      equ 20000           ; PAUSE iterations between the IPIs (the SDM's 10 ms / 200 us)
AP_WAIT         equ 0x10000000      ; PAUSE iterations before the BSP gives up on the APs

VEC_TIMER       equ 0x40
VEC_AP_IPI      equ 0x60            ; + the sender's APIC ID
VEC_PIT         equ 0x50
IDT             equ 0x80000
IDT_ENTRIES     equ 256
GATE_INTR32     equ 0x8e00
CODE_SEL        equ 0x08
DATA_SEL        equ 0x10

start:
    lgdt [gdtr]
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
    mov dword [APIC + APIC_SVR], SVR_ENABLE | 0xff

    ; ---- the trampoline at 0x8000 (SIPI vector 8: CS = 0x0800, IP = 0) ----
    mov esi, trampoline
    mov edi, TRAMPOLINE
    mov ecx, trampoline_end - trampoline
    rep movsb

    ; ---- INIT, SIPI, SIPI to all excluding self ----
    mov dword [APIC + APIC_ICR_HIGH], 0
    mov dword [APIC + APIC_ICR_LOW], ICR_ALL_BUT_SELF | ICR_INIT | ICR_ASSERT
    call delay
    mov dword [APIC + APIC_ICR_LOW], ICR_ALL_BUT_SELF | ICR_STARTUP | ICR_ASSERT | SIPI_VECTOR
    call delay
    mov dword [APIC + APIC_ICR_LOW], ICR_ALL_BUT_SELF | ICR_STARTUP | ICR_ASSERT | SIPI_VECTOR

    ; ---- wait for three APs and their three IPIs ----
    sti
    mov ecx, AP_WAIT
.wait_aps:
    cmp dword [ap_count], APS
    jb .not_yet
    cmp dword [ipi_bits], 0xe
    je .aps_done
.not_yet:
    pause
    dec ecx
    jnz .wait_aps
.aps_done:
    cli
    mov esi, s_started
    cmp dword [ap_count], APS
    call pass_fail
    mov esi, s_ids
    cmp dword [ap_ids], 0xe         ; APIC IDs 1, 2, 3
    call pass_fail
    mov esi, s_ipis
    cmp dword [ipi_bits], 0xe       ; vectors 0x61-0x63 each taken
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

    ; ---- the PIT through I/O APIC pin 2, to APIC 0 ----
    mov dword [IOAPIC + IOREGSEL], PIN2_HIGH
    mov dword [IOAPIC + IOWIN], 0
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
    mov dword [IOAPIC + IOREGSEL], PIN2_LOW
    mov dword [IOAPIC + IOWIN], LVT_MASKED | VEC_PIT
    mov esi, s_pit
    cmp dword [pit_count], 2
    call pass_fail

    mov esi, s_unexpected
    cmp dword [unexpected_count], 0
    call pass_fail

    jmp exit_with_result

delay:
    push ecx
    mov ecx, SIPI_DELAY
.spin:
    pause
    loop .spin
    pop ecx
    ret

; ---------------------------------------------------------------- the APs (32-bit, after the trampoline)
ap_main:
    mov ax, DATA_SEL
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, 1
    lock xadd [ap_count], eax       ; EAX = this AP's rank, 0-2
    inc eax
    shl eax, 12
    lea esp, [eax + AP_STACKS]      ; its own 4 KiB stack
    mov dword [APIC + APIC_SVR], SVR_ENABLE | 0xff
    mov eax, [APIC + APIC_ID]
    shr eax, APIC_ID_SHIFT
    lock bts [ap_ids], eax
    add eax, VEC_AP_IPI
    mov dword [APIC + APIC_ICR_HIGH], 0 << APIC_ID_SHIFT ; physical destination: the BSP
    mov [APIC + APIC_ICR_LOW], eax                      ; fixed, physical, edge
.park:
    cli
    hlt
    jmp .park

; ---------------------------------------------------------------- the real-mode trampoline
; Copied to TRAMPOLINE; runs at CS = SIPI_VECTOR << 8 (base TRAMPOLINE), IP 0, with DS = 0.
bits 16
trampoline:
    cli
    o32 lgdt [cs:tramp_gdtr - trampoline]
    mov eax, cr0
    or eax, CR0_PE
    mov cr0, eax
    jmp dword CODE_SEL:ap_main
align 4
tramp_gdtr:     dw 3 * 8 - 1
                dd gdt
trampoline_end:
bits 32

setup_idt:
    mov edi, IDT
    mov ecx, IDT_ENTRIES
    mov eax, isr_unexpected
    call fill_gates
    mov edi, IDT + VEC_TIMER * 8
    mov ecx, 1
    mov eax, isr_timer
    call fill_gates
    mov edi, IDT + (VEC_AP_IPI + 1) * 8
    mov ecx, 1
    mov eax, isr_ap_ipi1
    call fill_gates
    mov edi, IDT + (VEC_AP_IPI + 2) * 8
    mov ecx, 1
    mov eax, isr_ap_ipi2
    call fill_gates
    mov edi, IDT + (VEC_AP_IPI + 3) * 8
    mov ecx, 1
    mov eax, isr_ap_ipi3
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
    mov [edi], dx
    mov [edi + 2], bx
    mov word [edi + 4], GATE_INTR32
    mov eax, edx
    shr eax, 16
    mov [edi + 6], ax
    add edi, 8
    loop .gate
    ret

isr_timer:
    inc dword [timer_count]
    jmp eoi_iret
isr_ap_ipi1:
    lock bts dword [ipi_bits], 1
    jmp eoi_iret
isr_ap_ipi2:
    lock bts dword [ipi_bits], 2
    jmp eoi_iret
isr_ap_ipi3:
    lock bts dword [ipi_bits], 3
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
ap_count:       dd 0
ap_ids:         dd 0
ipi_bits:       dd 0
timer_count:    dd 0
pit_count:      dd 0
unexpected_count: dd 0
s_started:      db "3 APs started (INIT-SIPI-SIPI, LOCK XADD)", 0
s_ids:          db "AP APIC IDs 1-3", 0
s_ipis:         db "fixed IPIs from the 3 APs", 0
s_timer:        db "lapic-timer periodic", 0
s_pit:          db "ioapic pin2 pit", 0
s_unexpected:   db "no unexpected vectors", 0
