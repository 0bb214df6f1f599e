; Writes "one" to COM1 (0x3F8) and "two" to COM2 (0x2F8), then isa-debug-exit V=3 (status 7).
bits 16
org 0x7c00
    cli
    xor ax, ax
    mov ds, ax
    mov si, one
    mov dx, 0x3f8
    call puts
    mov si, two
    mov dx, 0x2f8
    call puts
    mov al, 3
    out 0xf4, al
    hlt
puts:
    lodsb
    test al, al
    jz .d
    out dx, al
    jmp puts
.d: ret
one: db "one", 10, 0
two: db "two", 10, 0
times 510-($-$$) db 0
dw 0xaa55
