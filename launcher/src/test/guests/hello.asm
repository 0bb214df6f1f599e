; Prints "hi" on port 0xE9, executes two CPUIDs, then isa-debug-exit with V=0x10 (status 0x21).
bits 16
org 0x7c00
    cli
    mov al, 'h'
    out 0xe9, al
    mov al, 'i'
    out 0xe9, al
    mov al, 10
    out 0xe9, al
    xor eax, eax
    cpuid
    xor eax, eax
    cpuid
    mov al, 0x10
    out 0xf4, al
    hlt
times 510-($-$$) db 0
dw 0xaa55
