; x87: a Mandelbrot set in x87 arithmetic (double-extended precision, as after FINIT): 160 x 100
; points, up to 256 iterations each, 3 times; EBX = the iterations counted (FLD/FMUL/FADD/FSUB,
; FXCH, FCOMP with FNSTSW/SAHF, register-stack pops; about 60 million instructions).
%include "boot.inc"
bits 32
main:
    finit
    xor ebx, ebx
.rep:
    mov dword [py], 0
.row:
    mov dword [px], 0
.col:
    fild dword [px]
    fmul qword [sx]
    fsub qword [ox]        ; cr
    fild dword [py]
    fmul qword [sy]
    fsub qword [oy]        ; ci cr
    fldz                   ; zi ci cr
    fldz                   ; zr zi ci cr
    mov ecx, 256
.it:
    fld st0
    fmul st0, st0          ; zr2 zr zi ci cr
    fld st2
    fmul st0, st0          ; zi2 zr2 zr zi ci cr
    fld st1
    fadd st0, st1          ; s zi2 zr2 zr zi ci cr
    fcomp qword [four]
    fnstsw ax
    sahf
    ja .out2
    fsubp st1, st0         ; zr2-zi2 zr zi ci cr
    fadd st0, st4          ; nzr zr zi ci cr
    fxch st1               ; zr nzr zi ci cr
    fmulp st2, st0         ; nzr zr*zi ci cr
    fxch st1
    fadd st0, st0
    fadd st0, st2          ; nzi nzr ci cr
    fxch st1               ; nzr nzi ci cr
    inc ebx
    dec ecx
    jnz .it
    jmp .done
.out2:
    fstp st0
    fstp st0
.done:
    fstp st0
    fstp st0
    fstp st0
    fstp st0
    inc dword [px]
    cmp dword [px], 160
    jb .col
    inc dword [py]
    cmp dword [py], 100
    jb .row
    add dword [rep_], 1
    cmp dword [rep_], 3
    jb .rep
    jmp report
%include "mandelbrot.inc"
px: dd 0
py: dd 0
rep_: dd 0
%include "end.inc"
