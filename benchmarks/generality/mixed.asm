; mixed: instructions the other kernels leave out, on variables that share the boot sector's page
; with its code (as a boot sector's data does): an ADC chain over four limbs with LOOP, NEG, NOT,
; RCL, RCR, BSF, BSR, XCHG with memory (locked), CDQ and IDIV, ENTER/LEAVE and SBB in a call,
; REP MOVSB and REPNE SCASB over 32 bytes; 200,000 rounds, EBX = checksum (13 million instructions).
%include "boot.inc"
bits 32
main:
    xor ebx, ebx
    mov ebp, 200000
.round:
    ; 4-limb add with carry
    mov esi, a
    mov edi, b
    clc
    mov ecx, 4
.add: mov eax, [esi]
    adc eax, [edi]
    mov [esi], eax
    lea esi, [esi+4]
    lea edi, [edi+4]
    loop .add
    mov eax, [a]
    neg eax
    not eax
    rcl eax, 3
    rcr eax, 1
    bsf ecx, eax
    jz .z
    add ebx, ecx
.z: bsr ecx, eax
    jz .z2
    add ebx, ecx
.z2: xchg [c], eax
    add ebx, eax
    mov eax, ebp
    cdq
    mov ecx, 7
    idiv ecx
    add ebx, edx
    push ebp
    call fn
    pop ebp
    ; copy 32 bytes, scan for a zero
    mov esi, a
    mov edi, buf
    mov ecx, 32
    rep movsb
    mov edi, buf
    mov ecx, 32
    xor al, al
    repne scasb
    add ebx, ecx
    dec ebp
    jnz .round
    jmp report
fn: enter 16, 0
    mov eax, [ebp+8]
    mov [ebp-4], eax
    sbb eax, [ebp-4]
    add ebx, eax
    leave
    ret
align 4
a: dd 0x89abcdef, 0x12345678, 0xfedcba98, 0x01234567, 0,0,0,0
b: dd 0xdeadbeef, 0xcafebabe, 0x8badf00d, 0x0badc0de
c: dd 5
buf: times 40 db 0
%include "end.inc"
