; divmul: DIV, IMUL and MUL with a data dependency through EBX, 20 million rounds
; (about 180 million instructions).
%include "boot.inc"
bits 32
main:
    xor ebx, ebx
    mov esi, 20000000
    mov edi, 7
.round:
    mov eax, esi
    xor edx, edx
    div edi
    add ebx, edx
    imul eax, ebx
    mul esi
    add ebx, eax
    dec esi
    jnz .round
    jmp report
%include "end.inc"
