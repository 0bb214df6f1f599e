; Load for the hot-swap test: forever CPUID leaf 0x48560000 (answered by the test's counting
; handler) and OUT 0x80, recording in memory what it saw, until the test sets the stop flag.
;   [0x600] EBX of the last CPUID (the handler generation)    [0x604] CPUIDs completed
;   [0x608] stop flag, set by the test                        [0x60C] OUTs to port 0x80 done
bits 16
org 0x7c00
    cli
    xor ax, ax
    mov ds, ax
    mov dword [0x600], 0
    mov dword [0x604], 0
    mov dword [0x60C], 0
.loop:
    mov eax, 0x48560000
    cpuid
    mov [0x600], ebx
    inc dword [0x604]
    out 0x80, al
    inc dword [0x60C]
    cmp dword [0x608], 0
    je .loop
    mov al, 0x21          ; isa-debug-exit: status (0x21<<1)|1 = 0x43
    out 0xf4, al
    hlt
times 510-($-$$) db 0
dw 0xaa55
