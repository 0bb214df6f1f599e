; exits: an exit-bound Hotvisor benchmark guest. Each of ROUNDS rounds executes seven
; instructions that a VT-x VMM intercepts (SDM 3C 26.1.2 and 26.1.3: CPUID always exits;
; I/O and MSR accesses exit with unconditional I/O exiting or without bitmaps):
;   CPUID (leaf 0), OUT 0x80 (POST code), OUT 0x3FF + IN 0x3FF (the COM1 16550 scratch
;   register, read back and compared), WRMSR + RDMSR IA32_SYSENTER_CS (0x174, read back and
;   compared), RDMSR IA32_PAT (0x277, compared with its power-up value, SDM 3A 13.12.4).
; A round whose read-backs differ counts as bad. Prints "exits rounds=N bad=B" (B must be 0),
; then powers off (see lib.inc). Default 200,000 rounds: 1.4 million exits.
;   nasm -f bin -DROUNDS=200000 -o exits.img exits.asm
%ifndef ROUNDS
%define ROUNDS 200000
%endif
%define WANT_PUTDEC

POST_PORT           equ 0x80
COM1_SCRATCH        equ 0x3ff   ; 16550 SCR: a plain read/write byte
IA32_SYSENTER_CS    equ 0x174
IA32_PAT            equ 0x277
PAT_POWER_UP_LOW    equ 0x00070406  ; WB, WT, UC-, UC in PA0-PA3 (and again in PA4-PA7)
PAT_POWER_UP_HIGH   equ 0x00070406
SELECTOR_MASK       equ 0xfff8  ; a selector-shaped SYSENTER_CS value (RPL 0, GDT)

%include "boot.inc"

main:
    mov esi, ROUNDS                     ; rounds left
    xor edi, edi                        ; bad rounds
.round:
    xor eax, eax
    cpuid
    mov eax, esi
    out POST_PORT, al
    mov dx, COM1_SCRATCH
    out dx, al
    mov ah, al
    in al, dx
    cmp al, ah
    jne .bad
    mov ecx, IA32_SYSENTER_CS
    mov eax, esi
    and eax, SELECTOR_MASK
    mov ebx, eax
    xor edx, edx
    wrmsr
    xor eax, eax
    rdmsr
    cmp eax, ebx
    jne .bad
    mov ecx, IA32_PAT
    rdmsr
    cmp eax, PAT_POWER_UP_LOW
    jne .bad
    cmp edx, PAT_POWER_UP_HIGH
    je .next
.bad:
    inc edi
.next:
    dec esi
    jnz .round

    mov esi, label_rounds
    call puts
    mov eax, ROUNDS
    call putdec
    mov esi, label_bad
    call puts
    mov eax, edi
    call putdec
    jmp newline_poweroff

label_rounds: db "exits rounds=", 0
label_bad:    db " bad=", 0

%include "lib.inc"
