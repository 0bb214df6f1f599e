; memcopy: a string- and memory-copy-bound Hotvisor benchmark guest. Each of ROUNDS rounds
; first mutates one dword of the source buffer, then for each of 8 copies (sizes 16 B to
; 30001 B, source and destination misaligned by 0-3 bytes, see the table) does
;   REP STOSD    fill the destination with a pattern,
;   REP MOVSD + REP MOVSB   copy source to destination (dwords, then the 0-3 byte tail),
;   XOR the byte at (round * 7919) mod size, then REPE CMPSB finds it,
;   STD; REP MOVSB; CLD   copy back to front (overlap-safe direction), restoring the copy,
;   a byte loop (MOV AL/MOV/INC/INC/DEC/JNZ) into a third buffer, for copies up to 4096 B,
; and folds the remaining REPE CMPSB count and the first and last dword of the copy (the
; third buffer's where the byte loop ran) into a checksum.
; Prints "memcopy sum=XXXXXXXX", then powers off (see lib.inc). Per round about 110,000
; REP iterations and 57,000 byte-loop instructions; bench_model.py has the reference.
;   nasm -f bin -DROUNDS=2000 -o memcopy.img memcopy.asm
%ifndef ROUNDS
%define ROUNDS 2000
%endif
%define WANT_PUTHEX

SRC             equ 0x20000     ; 64 KiB + 4 source buffer
DST             equ 0x40000     ; destination
TMP             equ 0x60000     ; byte-loop target
BUFFER_DWORDS   equ 0x10000 / 4 + 1
BYTE_LOOP_MAX   equ 4096
LCG_MUL         equ 1103515245
LCG_ADD         equ 12345
MUTATE_MUL      equ 0x9e3779b1  ; golden-ratio hash of the round number
MUTATE_MASK     equ 0xfffc      ; dword offset within the source buffer
FILL_MUL        equ 0x01010101
POKE_MUL        equ 7919
POKE_XOR        equ 0x5a
SUM_ROTATE      equ 5
ENTRY_SIZE      equ 0           ; table entry: dw size, db source offset, db destination offset
ENTRY_SRC_OFF   equ 2
ENTRY_DST_OFF   equ 3
ENTRY_BYTES     equ 4
VARS            equ 0x1000      ; variables on their own page, as [ebp + name]
sum             equ 0
round_number    equ 4

%include "boot.inc"

main:
    mov ebp, VARS
    mov edi, SRC                        ; the source: LCG words
    mov ecx, BUFFER_DWORDS
    mov eax, 1
.init:
    imul eax, eax, LCG_MUL
    add eax, LCG_ADD
    stosd
    loop .init
    xor eax, eax
    mov [ebp + sum], eax
    mov [ebp + round_number], eax
round:
    mov eax, [ebp + round_number]
    lea edx, [eax*4]
    and edx, MUTATE_MASK
    imul eax, eax, MUTATE_MUL
    xor [SRC + edx], eax
    mov ebx, copies
copy:
    movzx esi, byte [ebx + ENTRY_SRC_OFF]
    add esi, SRC
    movzx edi, byte [ebx + ENTRY_DST_OFF]
    add edi, DST
    movzx edx, word [ebx + ENTRY_SIZE]
    ; fill
    push edi
    mov ecx, edx
    shr ecx, 2
    imul eax, [ebp + round_number], FILL_MUL
    rep stosd
    pop edi
    ; copy: dwords, then the tail
    push esi
    push edi
    mov ecx, edx
    shr ecx, 2
    rep movsd
    mov ecx, edx
    and ecx, 3
    rep movsb
    pop edi
    pop esi
    ; poke at (round * 7919) mod size, then find it
    imul eax, [ebp + round_number], POKE_MUL
    mov ecx, edx
    xor edx, edx
    div ecx
    xor byte [edi + edx], POKE_XOR
    mov edx, ecx
    push esi
    push edi
    repe cmpsb
    xor [ebp + sum], ecx                ; size - position - 1
    pop edi
    pop esi
    ; copy again, back to front: ends with ESI, EDI one below the start
    lea esi, [esi + edx - 1]
    lea edi, [edi + edx - 1]
    mov ecx, edx
    std
    rep movsb
    cld
    inc edi
    ; byte loop into TMP; then the fold reads the TMP copy
    cmp edx, BYTE_LOOP_MAX
    ja .fold
    mov esi, edi
    mov edi, TMP
    mov ecx, edx
.byte:
    mov al, [esi]
    mov [edi], al
    inc esi
    inc edi
    dec ecx
    jnz .byte
    sub edi, edx                        ; back to TMP
.fold:
    mov eax, [ebp + sum]
    rol eax, SUM_ROTATE
    add eax, [edi]
    xor eax, [edi + edx - 4]
    mov [ebp + sum], eax
    add ebx, ENTRY_BYTES
    cmp ebx, copies_end
    jb copy
    inc dword [ebp + round_number]
    cmp dword [ebp + round_number], ROUNDS
    jb round

    mov esi, label
    call puts
    mov eax, [ebp + sum]
    call puthex
    jmp newline_poweroff

copies:                                 ; size, source offset, destination offset
    dw 16
    db 0, 0
    dw 61
    db 1, 3
    dw 256
    db 0, 2
    dw 1000
    db 3, 1
    dw 4096
    db 0, 0
    dw 4093
    db 2, 1
    dw 16384
    db 1, 1
    dw 30001
    db 3, 0
copies_end:
label: db "memcopy sum=", 0

%include "lib.inc"
