; Reads three bytes from COM1 (polling LSR bit 0, data ready) and echoes each to port 0xE9,
; then isa-debug-exit V=5 (status 11).
bits 16
org 0x7c00
    cli
    mov cx, 3
.next:
    mov dx, 0x3fd
.wait:
    in al, dx
    test al, 1
    jz .wait
    mov dx, 0x3f8
    in al, dx
    out 0xe9, al
    loop .next
    mov al, 10
    out 0xe9, al
    mov al, 5
    out 0xf4, al
    hlt
times 510-($-$$) db 0
dw 0xaa55
