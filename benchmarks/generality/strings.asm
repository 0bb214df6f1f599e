; strings: a LODSB/STOSB/LOOP byte loop over 1 KiB and a REP MOVSD that copies its output back
; to its input, 30000 rounds (about 184 million instructions; a REP MOVSD counts as one).
%include "boot.inc"
bits 32
main:
    xor ebx, ebx
    mov ebp, 30000
.round:
    mov esi, 0x10000
    mov edi, 0x20000
    mov ecx, 1024
.bytes:
    lodsb
    add al, cl
    add bl, al
    xor al, bl
    stosb
    loop .bytes
    add bl, [0x20000 + 17]
    mov esi, 0x20000
    mov edi, 0x10000
    mov ecx, 256
    rep movsd
    add ebx, [0x10000 + 64]
    dec ebp
    jnz .round
    jmp report
%include "end.inc"
