; compute: a compute-bound Hotvisor benchmark guest (ALU, memory, branches), a different mix
; from the shared cpuloop. Each of ROUNDS rounds
;   1. fills a 512-dword array from a linear congruential generator (IMUL, ADD, stores),
;   2. insertion-sorts it, unsigned (loads, stores, compares, data-dependent branches),
;   3. computes the bitwise CRC-32 (reflected, polynomial 0xEDB88320: zlib's) of the sorted
;      array (shifts, carry-dependent branches),
;   4. runs the sieve of Eratosthenes below a limit that changes each round and counts the
;      primes (REP STOSD clear, byte stores and loads with stride p, counting loop),
; and folds the CRC, the prime count and the median element into a checksum:
;   sum = rol(sum, 7) ^ crc + primes + array[256]
; Prints "compute sum=XXXXXXXX" on COM1 and port 0xE9, then powers off (see lib.inc).
; About 0.8 million instructions a round: ~400 million with the default 500 rounds.
; bench_model.py computes the expected checksum independently.
;   nasm -f bin -DROUNDS=500 -o compute.img compute.asm
%ifndef ROUNDS
%define ROUNDS 500
%endif
%define WANT_PUTHEX

ELEMENTS        equ 512         ; array length (dwords)
ARRAY           equ 0x20000     ; the array
SIEVE           equ 0x30000     ; one byte per number: 0 prime (so far), 1 composite
SIEVE_SIZE      equ 32768       ; the largest limit; each round uses SIEVE_SIZE - (round & 1023)
SIEVE_VARIATION equ 1023
CRC32_POLY      equ 0xedb88320  ; reflected IEEE 802.3 polynomial
LCG_MUL         equ 1664525     ; Numerical Recipes LCG
LCG_ADD         equ 1013904223
LCG_SEED        equ 12345
SUM_ROTATE      equ 7
VARS            equ 0x1000      ; variables on their own page (not the code's: no code invalidation)
; variables, addressed as [ebp + name] (EBP = VARS throughout: short encodings)
seed            equ 0
sum             equ 4
round_number    equ 8
crc             equ 12

%include "boot.inc"

main:
    mov ebp, VARS
    mov dword [ebp + seed], LCG_SEED
    xor eax, eax
    mov [ebp + sum], eax
    mov [ebp + round_number], eax
round:
    ; 1. fill the array
    mov eax, [ebp + seed]
    mov edi, ARRAY
    mov ecx, ELEMENTS
.fill:
    imul eax, eax, LCG_MUL
    add eax, LCG_ADD
    mov [edi], eax
    add edi, 4
    dec ecx
    jnz .fill
    mov [ebp + seed], eax

    ; 2. insertion sort, unsigned ascending
    mov esi, 1
.sort_outer:
    mov eax, [ARRAY + esi*4]            ; the key
    mov edi, esi
.sort_inner:
    mov edx, [ARRAY - 4 + edi*4]
    cmp edx, eax
    jbe .sort_place
    mov [ARRAY + edi*4], edx
    dec edi
    jnz .sort_inner
.sort_place:
    mov [ARRAY + edi*4], eax
    inc esi
    cmp esi, ELEMENTS
    jb .sort_outer

    ; 3. CRC-32 of the sorted array, one bit at a time
    mov esi, ARRAY
    mov ecx, ELEMENTS * 4
    mov eax, 0xffffffff
.crc_byte:
    xor al, [esi]
    inc esi
    mov dl, 8
.crc_bit:
    shr eax, 1
    jnc .crc_no_xor
    xor eax, CRC32_POLY
.crc_no_xor:
    dec dl
    jnz .crc_bit
    dec ecx
    jnz .crc_byte
    not eax
    mov [ebp + crc], eax

    ; 4. sieve below limit = SIEVE_SIZE - (round & SIEVE_VARIATION)
    mov edx, [ebp + round_number]
    and edx, SIEVE_VARIATION
    neg edx
    add edx, SIEVE_SIZE
    mov edi, SIEVE
    mov ecx, SIEVE_SIZE / 4
    xor eax, eax
    rep stosd
    mov ebx, 2                          ; p
.sieve_prime:
    mov eax, ebx
    imul eax, ebx                       ; start crossing out at p*p
    cmp eax, edx
    jae .sieve_count
    cmp byte [SIEVE + ebx], 0
    jne .sieve_next
.sieve_mark:
    mov byte [SIEVE + eax], 1
    add eax, ebx
    cmp eax, edx
    jb .sieve_mark
.sieve_next:
    inc ebx
    jmp .sieve_prime
.sieve_count:
    xor eax, eax                        ; primes in [2, limit)
    mov esi, 2
.count_next:
    cmp byte [SIEVE + esi], 0
    jne .count_composite
    inc eax
.count_composite:
    inc esi
    cmp esi, edx
    jb .count_next

    ; 5. fold
    mov edx, [ebp + sum]
    rol edx, SUM_ROTATE
    xor edx, [ebp + crc]
    add edx, eax
    add edx, [ARRAY + (ELEMENTS / 2) * 4]
    mov [ebp + sum], edx
    inc dword [ebp + round_number]
    cmp dword [ebp + round_number], ROUNDS
    jb round

    mov esi, label
    call puts
    mov eax, [ebp + sum]
    call puthex
    jmp newline_poweroff

label: db "compute sum=", 0

%include "lib.inc"
