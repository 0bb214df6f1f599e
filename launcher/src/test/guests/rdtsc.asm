; Executes RDTSC three times then powers off through 0x8900: exits only when rdtsc-exiting is on.
bits 16
org 0x7c00
    cli
    rdtsc
    rdtsc
    rdtsc
    mov dx, 0x8900
    mov si, shut
.s: lodsb
    test al, al
    jz .h
    out dx, al
    jmp .s
.h: hlt
shut: db "Shutdown", 0
times 510-($-$$) db 0
dw 0xaa55
