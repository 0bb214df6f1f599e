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


APIC_ID         equ 0x020
APIC_ICR_HIGH   equ 0x310
APIC_ID_SHIFT   equ 24
ICR_INIT        equ 5 << 8
ICR_STARTUP     equ 6 << 8
ICR_ASSERT      equ 1 << 14
ICR_ALL_BUT_SELF equ 3 << 18


APS             equ 3
TRAMPOLINE      equ 0x8000
SIPI_VECTOR     equ TRAMPOLINE >> 12
CR0_PE          equ 1
AP_STACKS       equ 0x70000         ; 4 KiB per AP, below the BSP's stack
AP_STACK_SIZE   equ 0x1000
SIPI_DELAY      equ 20000           ; PAUSE iterations between the IPIs (the SDM's 10 ms / 200 us)
AP_WAIT         equ 0x10000000      ; PAUSE iterations before the BSP gives up on the APs

VEC_AP_IPI      equ 0x60            ; + the sender's APIC ID

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

    call check_lapic_timer

    ; ---- the PIT through I/O APIC pin 2, to APIC 0 ----
    call check_ioapic_pit

    call check_no_unexpected

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


isr_ap_ipi1:
    lock bts dword [ipi_bits], 1
    jmp eoi_iret
isr_ap_ipi2:
    lock bts dword [ipi_bits], 2
    jmp eoi_iret
isr_ap_ipi3:
    lock bts dword [ipi_bits], 3
    jmp eoi_iret

%define WANT_CHECKS
%include "lib/console.inc"
%include "lib/apic.inc"

ap_count:       dd 0
ap_ids:         dd 0
ipi_bits:       dd 0
s_started:      db "3 APs started (INIT-SIPI-SIPI, LOCK XADD)", 0
s_ids:          db "AP APIC IDs 1-3", 0
s_ipis:         db "fixed IPIs from the 3 APs", 0
