; sse2: the x87 kernel's Mandelbrot set in SSE2 scalar doubles (MULSD, ADDSD, SUBSD, COMISD,
; CVTSI2SD, MOVAPD, XORPD), 6 times, after enabling SSE (CR0.EM = 0, CR4.OSFXSR); EBX = the
; iterations counted (about 95 million instructions).
%include "boot.inc"
bits 32
main:
    mov eax, cr0
    and eax, ~4            ; EM = 0
    or eax, 2              ; MP = 1
    mov cr0, eax
    mov eax, cr4
    or eax, 0x600          ; OSFXSR | OSXMMEXCPT
    mov cr4, eax
    xor ebx, ebx
    xor ebp, ebp
.rep:
    xor edi, edi           ; py
.row:
    xor esi, esi           ; px
.col:
    cvtsi2sd xmm0, esi
    mulsd xmm0, [sx]
    subsd xmm0, [ox]       ; cr
    cvtsi2sd xmm1, edi
    mulsd xmm1, [sy]
    subsd xmm1, [oy]       ; ci
    xorpd xmm2, xmm2       ; zr
    xorpd xmm3, xmm3       ; zi
    mov ecx, 256
.it:
    movapd xmm4, xmm2
    mulsd xmm4, xmm4       ; zr2
    movapd xmm5, xmm3
    mulsd xmm5, xmm5       ; zi2
    movapd xmm6, xmm4
    addsd xmm6, xmm5
    comisd xmm6, [four]
    ja .done
    mulsd xmm3, xmm2
    addsd xmm3, xmm3
    addsd xmm3, xmm1       ; zi = 2 zr zi + ci
    subsd xmm4, xmm5
    addsd xmm4, xmm0
    movapd xmm2, xmm4      ; zr = zr2 - zi2 + cr
    inc ebx
    dec ecx
    jnz .it
.done:
    inc esi
    cmp esi, 160
    jb .col
    inc edi
    cmp edi, 100
    jb .row
    inc ebp
    cmp ebp, 6
    jb .rep
    jmp report
%include "mandelbrot.inc"
%include "end.inc"
