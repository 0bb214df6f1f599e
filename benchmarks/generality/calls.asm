; calls: recursive Fibonacci, fib(24) 200 times: CALL, RET, PUSH and POP in blocks of 1-5
; instructions, returns to two different sites (about 240 million instructions).
%include "boot.inc"
bits 32
main:
    xor ebx, ebx
    mov esi, 200
.round:
    mov eax, 24
    call fib
    add ebx, eax
    dec esi
    jnz .round
    jmp report
fib:                     ; eax = fib(eax); ecx clobbered
    cmp eax, 2
    jb .done
    push eax
    dec eax
    call fib
    mov ecx, eax
    pop eax
    push ecx
    sub eax, 2
    call fib
    pop ecx
    add eax, ecx
.done:
    ret
%include "end.inc"
