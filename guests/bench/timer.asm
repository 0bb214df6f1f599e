; timer: an interrupt-bound Hotvisor benchmark guest. Programs the 8259A PICs (ICW1-ICW4:
; master vectors 0x20-0x27, slave 0x28-0x2F, only IRQ0 unmasked) and 8254 PIT channel 0 in
; mode 2 with divisor DIVISOR (1193182 Hz / 100 = about 11.9 kHz), installs an IDT whose
; vector 0x20 is a 32-bit interrupt gate to a handler that counts the tick and sends a
; non-specific EOI (and masks IRQ0 at the last tick), then waits with STI; HLT until TICKS
; ticks have arrived.
; Each tick is an interrupt delivery, a HLT and an OUT (EOI): on a VMM, three or more exits.
; Prints "timer ticks=N", then powers off (see lib.inc). Exceptions (vectors 0-31) print
; "timer fault" and power off with isa-debug-exit status 3; other PIC vectors only send EOI.
; On engines whose PIT follows host time (QEMU) the run lasts TICKS / 11932 s at least;
; engines that skip idle time (Hotvisor's deterministic clock, Bochs) run it as fast as they
; deliver interrupts.
;   nasm -f bin -DTICKS=20000 -o timer.img timer.asm
%ifndef TICKS
%define TICKS 20000
%endif
%ifndef DIVISOR
%define DIVISOR 100
%endif
%define WANT_PUTDEC

PIC1_COMMAND    equ 0x20
PIC1_DATA       equ 0x21
PIC2_COMMAND    equ 0xa0
PIC2_DATA       equ 0xa1
ICW1_INIT_ICW4  equ 0x11        ; edge triggered, cascade, ICW4 follows (8259A datasheet)
PIC1_VECTOR     equ 0x20        ; ICW2: IRQ0-7 -> 0x20-0x27
PIC2_VECTOR     equ 0x28        ; ICW2: IRQ8-15 -> 0x28-0x2f
ICW3_MASTER     equ 0x04        ; slave on IR2
ICW3_SLAVE      equ 0x02        ; slave identity 2
ICW4_8086       equ 0x01
OCW1_ONLY_IRQ0  equ 0xfe
OCW1_ALL_MASKED equ 0xff
PIC_EOI         equ 0x20        ; OCW2: non-specific EOI
PIT_CHANNEL0    equ 0x40
PIT_COMMAND     equ 0x43
PIT_CH0_MODE2   equ 0x34        ; channel 0, lobyte/hibyte, mode 2 (rate generator), binary
IDT             equ 0x2000      ; 48 gates: exceptions and both PICs' vectors
IDT_GATES       equ 48
EXCEPTIONS      equ 32
GATE_BYTES      equ 8
GATE_INT32      equ 0x8e00      ; present, DPL 0, 32-bit interrupt gate (SDM 3A 6.11)
FAULT_STATUS    equ 1           ; isa-debug-exit value on an exception: process status 3
VARS            equ 0x1000      ; the tick count, on its own page
ticks           equ VARS

%include "boot.inc"

main:
    ; the IDT: exceptions -> fault, 0x20 -> tick, the other PIC vectors -> spurious
    xor ecx, ecx
.gate:
    mov eax, fault
    cmp ecx, EXCEPTIONS
    jb .set
    mov eax, spurious
    cmp ecx, PIC1_VECTOR
    jne .set
    mov eax, tick
.set:
    mov [IDT + ecx*GATE_BYTES], eax     ; offset 15:0 (the handlers sit below 64 KiB) ...
    mov word [IDT + ecx*GATE_BYTES + 2], CODE_SELECTOR  ; ... then the selector
    mov dword [IDT + ecx*GATE_BYTES + 4], GATE_INT32    ; offset 31:16 = 0, type, P
    inc ecx
    cmp ecx, IDT_GATES
    jb .gate
    lidt [idtr]

    mov dword [ticks], 0
    ; the PICs: ICW1-ICW4, then the masks
    mov al, ICW1_INIT_ICW4
    out PIC1_COMMAND, al
    out PIC2_COMMAND, al
    mov al, PIC1_VECTOR
    out PIC1_DATA, al
    mov al, PIC2_VECTOR
    out PIC2_DATA, al
    mov al, ICW3_MASTER
    out PIC1_DATA, al
    mov al, ICW3_SLAVE
    out PIC2_DATA, al
    mov al, ICW4_8086
    out PIC1_DATA, al
    out PIC2_DATA, al
    mov al, OCW1_ONLY_IRQ0
    out PIC1_DATA, al
    mov al, OCW1_ALL_MASKED
    out PIC2_DATA, al
    ; the PIT: channel 0, mode 2, DIVISOR
    mov al, PIT_CH0_MODE2
    out PIT_COMMAND, al
    mov al, DIVISOR & 0xff
    out PIT_CHANNEL0, al
    mov al, DIVISOR >> 8
    out PIT_CHANNEL0, al

.wait:
    sti                                 ; STI's interrupt shadow covers the HLT (SDM 2 STI)
    hlt
    cmp dword [ticks], TICKS
    jb .wait
    cli

    mov esi, label
    call puts
    mov eax, [ticks]
    call putdec
    jmp newline_poweroff

tick:                                   ; at TICKS, masks IRQ0: no late tick can follow
    push eax
    inc dword [ticks]
    cmp dword [ticks], TICKS
    jb .eoi
    mov al, OCW1_ALL_MASKED
    out PIC1_DATA, al
.eoi:
    mov al, PIC_EOI
    out PIC1_COMMAND, al
    pop eax
    iret

spurious:
    push eax
    mov al, PIC_EOI
    out PIC2_COMMAND, al
    out PIC1_COMMAND, al
    pop eax
    iret

fault:
    mov esi, label_fault
    call puts
    mov al, FAULT_STATUS
    out ISA_DEBUG_EXIT, al
    jmp newline_poweroff.halt

idtr:
    dw IDT_GATES * GATE_BYTES - 1
    dd IDT
label:       db "timer ticks=", 0
label_fault: db "timer fault", 10, 0

%include "lib.inc"
