; Platform reset through the 8042: the first boot marks CMOS byte 0x0F (the BIOS shutdown-status
; byte, battery-backed NVRAM) and pulses the reset line (command 0xFE to port 0x64). The machine
; restarts from the image; the second boot sees the mark and powers off with status (7<<1)|1.
bits 16
org 0x7c00
    cli
    xor ax, ax
    mov ds, ax
    mov al, 0x0f
    out 0x70, al
    in al, 0x71
    cmp al, 0xa5
    je after_reset
    mov al, 0x0f
    out 0x70, al
    mov al, 0xa5
    out 0x71, al
    mov si, first
    call puts
    mov al, 0xfe
    out 0x64, al
.wait: jmp .wait                ; the reset takes over at the next exit
after_reset:
    mov si, second
    call puts
    mov al, 7
    out 0xf4, al
    hlt
puts:
    lodsb
    test al, al
    jz .d
    out 0xe9, al
    jmp puts
.d: ret
first:  db "first boot", 10, 0
second: db "after reset", 10, 0
times 510-($-$$) db 0
dw 0xaa55
