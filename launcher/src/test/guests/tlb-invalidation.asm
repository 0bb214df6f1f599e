; DescriptorTableExitsIT's paging guest (boot sector): INVLPG and INVPCID must reach the TLB when
; they exit (--set invlpg-exiting=on; -DINVPCID with --set enable-invpcid=on,invlpg-exiting=on).
; 32-bit paging: linear 0x400000 maps to PAGE_A, is read (the TLB caches it), its PTE is rewritten
; to PAGE_B, then INVLPG (or INVPCID) and a second read must see PAGE_B. Prints PASS or FAIL and
; the check's letter on port 0xE9; status (4<<1)|1 or (1<<1)|1 through port 0xF4.
bits 16
org 0x7c00
PAGE_DIRECTORY equ 0x20000
PAGE_TABLE_0 equ 0x21000        ; identity map of 0-4 MB
PAGE_TABLE_1 equ 0x22000        ; 4-8 MB: only its first entry is used
PAGE_A equ 0x30000
PAGE_B equ 0x31000
LINEAR equ 0x400000
PRESENT_WRITABLE equ 3
CR0_PG equ 0x80000000
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7c00
    lgdt [gdt_ptr]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp 0x08:pm32

bits 32
pm32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, 0x7c00
    mov edi, PAGE_TABLE_0
    mov eax, PRESENT_WRITABLE
    mov ecx, 1024
.fill:
    stosd
    add eax, 0x1000
    loop .fill
    mov dword [PAGE_DIRECTORY], PAGE_TABLE_0 | PRESENT_WRITABLE
    mov dword [PAGE_DIRECTORY + 4], PAGE_TABLE_1 | PRESENT_WRITABLE
    mov dword [PAGE_TABLE_1], PAGE_A | PRESENT_WRITABLE
    mov dword [PAGE_A], 0xaaaaaaaa
    mov dword [PAGE_B], 0xbbbbbbbb
    mov eax, PAGE_DIRECTORY
    mov cr3, eax
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax

    mov bl, 'a'
    cmp dword [LINEAR], 0xaaaaaaaa   ; the TLB now holds LINEAR -> PAGE_A
    jne fail
    mov dword [PAGE_TABLE_1], PAGE_B | PRESENT_WRITABLE
    mov bl, 'b'
%ifdef INVPCID
    xor eax, eax                     ; type 0: individual address, PCID 0
    invpcid eax, [descriptor]
%else
    invlpg [LINEAR]
%endif
    cmp dword [LINEAR], 0xbbbbbbbb
    jne fail
%ifdef INVPCID
    mov dword [PAGE_TABLE_1], PAGE_A | PRESENT_WRITABLE
    mov bl, 'c'
    mov eax, 2                       ; type 2: all contexts, globals included
    invpcid eax, [descriptor]
    cmp dword [LINEAR], 0xaaaaaaaa
    jne fail
%endif

%define DEBUGCON_CHECKS
%include "lib/console.inc"          ; falls into its pass; fail: BL = the check's letter

align 8
descriptor: dq 0, LINEAR             ; INVPCID: PCID 0, linear address
gdt:
    dq 0
    dq 0x00cf9a000000ffff            ; 0x08 code, flat 4 GB, 32-bit
    dq 0x00cf92000000ffff            ; 0x10 data, flat 4 GB
gdt_end:
gdt_ptr: dw gdt_end - gdt - 1
         dd gdt

times 510-($-$$) db 0
dw 0xaa55
