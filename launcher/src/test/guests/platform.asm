; Platform test guest (real mode, like a small OS): programs the 8259 PICs and the 8254 PIT,
; takes timer interrupts in a sti/hlt loop, reads the MC146818 RTC, and prints through the
; 16550 UART in interrupt-driven mode (THRE interrupts feed the transmitter from a queue).
bits 16
org 0x7c00
start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7000
    mov word [8*4], timer_isr        ; IVT: IRQ0 -> vector 8, IRQ4 -> vector 0x0C
    mov word [8*4+2], 0
    mov word [0x0c*4], com1_isr
    mov word [0x0c*4+2], 0
    ; 8259: ICW1 edge+ICW4, ICW2 bases 0x08/0x70, ICW3 cascade on IR2, ICW4 8086 mode
    mov al, 0x11
    out 0x20, al
    out 0xa0, al
    mov al, 0x08
    out 0x21, al
    mov al, 0x70
    out 0xa1, al
    mov al, 4
    out 0x21, al
    mov al, 2
    out 0xa1, al
    mov al, 1
    out 0x21, al
    out 0xa1, al
    mov al, 0xee                     ; OCW1: unmask IRQ0 (timer) and IRQ4 (COM1) only
    out 0x21, al
    mov al, 0xff
    out 0xa1, al
    ; 8254 channel 0, mode 2 (rate generator), divisor 11932: 100 Hz
    mov al, 0x34
    out 0x43, al
    mov al, 11932 & 0xff
    out 0x40, al
    mov al, 11932 >> 8
    out 0x40, al
    ; 16550: 8N1, FIFOs on, OUT2 (IRQ gate) on, THRE interrupt enabled later by puts
    mov dx, 0x3fb
    mov al, 0x03
    out dx, al
    mov dx, 0x3fa
    mov al, 0x07
    out dx, al
    mov dx, 0x3fc
    mov al, 0x08
    out dx, al
    sti
    ; RTC: seconds, minutes, hours, day, month, year (register B says BCD by default)
    mov si, msg_rtc
    call puts
    mov bl, 9                        ; year
    call rtc_hex
    mov al, '-'
    call putc
    mov bl, 8
    call rtc_hex
    mov al, '-'
    call putc
    mov bl, 7
    call rtc_hex
    mov al, ' '
    call putc
    mov bl, 4
    call rtc_hex
    mov al, ':'
    call putc
    mov bl, 2
    call rtc_hex
    mov al, 10
    call putc
wait_ticks:
    hlt                              ; IF=1: woken by IRQ0
    cmp word [ticks], 50
    jb wait_ticks
    mov si, msg_ticks
    call puts
    call drain
    mov dx, 0xf4                     ; isa-debug-exit: status (0x2a<<1)|1
    mov al, 0x2a
    out dx, al
    cli
    hlt

; rtc_hex: BL = register index -> prints its value as two hex digits
rtc_hex:
    mov al, bl
    out 0x70, al
    in al, 0x71
    push ax
    shr al, 4
    call hexdigit
    pop ax
    and al, 15
hexdigit:
    add al, '0'
    cmp al, '9'
    jbe putc
    add al, 7
; putc: queue AL and enable the THRE interrupt; the ISR transmits
putc:
    cli
    movzx bx, byte [qtail]
    mov [queue+bx], al
    inc byte [qtail]
    mov dx, 0x3f9
    mov al, 0x02                     ; IER: THRE interrupt
    out dx, al
    sti
    ret
puts:
    lodsb
    test al, al
    jz .d
    call putc
    jmp puts
.d: ret
drain:                               ; wait until the ISR has sent everything
    mov al, [qhead]
    cmp al, [qtail]
    je .d
    hlt
    jmp drain
.d: ret

timer_isr:
    inc word [cs:ticks]
    push ax
    mov al, 0x20                     ; non-specific EOI
    out 0x20, al
    pop ax
    iret

com1_isr:
    push ax
    push bx
    push dx
    mov dx, 0x3fa                    ; IIR: reading it acknowledges THRE
    in al, dx
.next:
    movzx bx, byte [cs:qhead]
    cmp bl, [cs:qtail]
    je .empty
    mov al, [cs:queue+bx]
    mov dx, 0x3f8
    out dx, al
    inc byte [cs:qhead]
    jmp .eoi
.empty:
    mov dx, 0x3f9                    ; nothing left: THRE interrupt off
    xor al, al
    out dx, al
.eoi:
    mov al, 0x20
    out 0x20, al
    pop dx
    pop bx
    pop ax
    iret

msg_rtc:   db "RTC 20", 0
msg_ticks: db "50 timer ticks", 10, 0
ticks: dw 0
qhead: db 0
qtail: db 0
times 510-($-$$) db 0
dw 0xaa55
queue equ 0x6000
