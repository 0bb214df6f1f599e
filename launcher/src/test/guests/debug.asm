; debug: the debugger integration tests' guest. A boot sector: real mode at 0000:7C00.
; A loop at 0x7C10 runs three times; each round prints the digit of its count on port 0xE9
; ("123", then a newline), then isa-debug-exit with V=0x11 (process status 0x23).
; Fixed addresses the tests use:
;   0x7C10 loop_top: mov ax, 0x1234 (3 bytes)   0x7C13 inc bx (1 byte)   0x7C14 mov al, '0'
bits 16
org 0x7c00
DEBUG_PORT  equ 0xe9    ; Bochs/QEMU debug console
EXIT_PORT   equ 0xf4    ; isa-debug-exit
EXIT_VALUE  equ 0x11
ROUNDS      equ 3

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7c00
    xor bx, bx
    mov cx, ROUNDS
    times 0x10 - ($ - $$) nop
loop_top:                   ; 0x7c10
    mov ax, 0x1234
    inc bx
    mov al, '0'
    add al, bl
    out DEBUG_PORT, al
    loop loop_top
    mov al, 10
    out DEBUG_PORT, al
    mov al, EXIT_VALUE
    out EXIT_PORT, al
.halt:
    hlt
    jmp .halt
times 510-($-$$) db 0
dw 0xaa55
