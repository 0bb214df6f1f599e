; realmode: a 16-bit load/ALU/store loop in real mode (segment arithmetic, 16-bit operands,
; LOOP), 3000 x 8000 rounds (about 216 million instructions); protected mode only to report.
%define REALMODE
%include "boot.inc"
bits 16
main16:
    xor bx, bx
    xor dx, dx
    mov cx, 3000
.outer:
    mov si, 0x1000
    mov di, 8000
.inner:
    mov ax, [si]
    add ax, di
    xor ax, bx
    rol ax, 3
    mov [si], ax
    add bx, ax
    add si, 2
    dec di
    jnz .inner
    add dx, bx
    loop .outer
    mov di, bx           ; enter_pm clobbers AX and BX
    call enter_pm
bits 32
    movzx ebx, di
    jmp report
%include "end.inc"
