; bitops: MOVZX, MOVSX, LEA with a scaled index, BSWAP, BT, SETcc, CMOVcc and XCHG in one
; 15-instruction block, 10 million rounds (150 million instructions).
%include "boot.inc"
bits 32
main:
    xor ebx, ebx
    mov ecx, 12345
    mov esi, 10000000
.round:
    movzx eax, cl
    movsx edx, ch
    lea eax, [eax + edx*4 + 7]
    bswap ecx
    bt ecx, 5
    setc dl
    movzx edx, dl
    add ebx, edx
    cmp eax, ebx
    cmovb eax, ebx
    xchg eax, ecx
    add ecx, esi
    xor ebx, ecx
    dec esi
    jnz .round
    jmp report
%include "end.inc"
