; paging: with paging on (4 KiB pages, an identity map of 4 MiB), a read-modify-write at a
; pseudo-random offset of each of 512 pages per pass, 3000 passes (a TLB-bound walk); EBX =
; checksum (18 million instructions).
%include "boot.inc"
bits 32
main:
    ; page directory at 0x100000, one page table at 0x101000 mapping 0-4 MiB
    mov edi, 0x100000
    mov ecx, 1024
    xor eax, eax
    rep stosd
    mov dword [0x100000], 0x101003
    mov edi, 0x101000
    mov eax, 3
    mov ecx, 1024
.pt: stosd
    add eax, 4096
    loop .pt
    mov eax, 0x100000
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    xor ebx, ebx
    mov edx, 12345
    mov ebp, 3000
.pass:
    mov esi, 0x200000
    mov ecx, 512
.pg:
    imul edx, edx, 1103515245
    add edx, 12345
    mov eax, edx
    shr eax, 20
    and eax, 0xffc
    add eax, esi
    add [eax], edx
    xor ebx, [eax]
    rol ebx, 3
    add esi, 4096
    dec ecx
    jnz .pg
    dec ebp
    jnz .pass
    jmp report
%include "end.inc"
