; DescriptorTableExitsIT's guest (boot sector). Run with --set descriptor-table-exiting=on, every
; descriptor-table instruction is a VM exit (46: SGDT SIDT LGDT LIDT, 47: SLDT STR LLDT LTR; SDM 3C
; 26.1.3) that the kernel emulates; the guest checks each result and prints PASS (or FAIL and the
; check's letter) on the debug console (port 0xE9), then leaves through isa-debug-exit (port 0xF4):
; status (4<<1)|1 if every check passed, (1<<1)|1 if one failed.
;   real mode:  LGDT [gdt1_ptr]           16-bit operand size: 24 bits of base
;   32-bit protected mode, CPL 0:
;   a SGDT [sgdt_buf]        the GDTR LGDT loaded
;   b LIDT [idt_ptr]
;     SIDT [ebx+4]            the IDTR LIDT loaded
;   c LGDT [gdt2_ptr]        then FS from selector 0x28, which only GDT2 holds, reads the marker
;   d LLDT ax (0x18)         then GS from LDT selector 0x04 reads the marker
;   e LTR [tss_sel] (0x20)   the TSS descriptor is now busy (type 0xB)
;   f SLDT [sldt_buf]        0x18
;   g STR cx (16-bit)        0x20 in CX, the upper half of ECX kept
bits 16
org 0x7c00
MARKER equ 0xC0FFEE42
MARKER_ADDRESS equ 0x10000
TSS_ADDRESS equ 0x9000           ; 0x68 zero bytes of RAM outside the boot sector
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7c00
    lgdt [gdt1_ptr]
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
    mov dword [MARKER_ADDRESS], MARKER

    mov bl, 'a'
    sgdt [sgdt_buf]
    cmp word [sgdt_buf], gdt1_end - gdt1 - 1
    jne fail
    cmp dword [sgdt_buf + 2], gdt1
    jne fail

    mov bl, 'b'
    lidt [idt_ptr]
    mov ebx, sidt_buf - 4
    sidt [ebx + 4]
    mov bl, 'b'
    cmp word [sidt_buf], 0x1ff
    jne fail
    cmp dword [sidt_buf + 2], 0x00012340
    jne fail

    mov bl, 'c'
    lgdt [gdt2_ptr]
    mov ax, 0x28
    mov fs, ax
    cmp dword [fs:0], MARKER
    jne fail

    mov bl, 'd'
    mov ax, 0x18
    lldt ax
    mov ax, 0x04                ; LDT entry 0, TI = 1
    mov gs, ax
    cmp dword [gs:0], MARKER
    jne fail

    mov bl, 'e'
    ltr [tss_sel]
    mov al, [gdt2 + 0x20 + 5]
    cmp al, 0x8b
    jne fail

    mov bl, 'f'
    sldt [sldt_buf]
    cmp word [sldt_buf], 0x18
    jne fail

    mov bl, 'g'
    mov ecx, 0xdead0000
    str cx
    cmp ecx, 0xdead0020
    jne fail

%define DEBUGCON_CHECKS
%include "lib/console.inc"          ; falls into its pass; fail: BL = the check's letter

align 8
gdt1:
    dq 0
    dq 0x00cf9a000000ffff       ; 0x08 code, flat 4 GB, 32-bit
    dq 0x00cf92000000ffff       ; 0x10 data, flat 4 GB
gdt1_end:
gdt2:
    dq 0
    dq 0x00cf9a000000ffff       ; 0x08 code
    dq 0x00cf92000000ffff       ; 0x10 data
    ; 0x18 LDT: base ldt, limit 7
    dw 7, ldt
    db 0, 0x82, 0, 0
    ; 0x20 available 32-bit TSS: base TSS_ADDRESS, limit 0x67
    dw 0x67, TSS_ADDRESS
    db 0, 0x89, 0, 0
    dq 0x000f92010000ffff       ; 0x28 data, base 0x10000, limit 64 KB
gdt2_end:
ldt:
    dq 0x000f92010000ffff       ; LDT 0x04: data, base 0x10000

gdt1_ptr: dw gdt1_end - gdt1 - 1
          dd gdt1 + 0xff000000  ; the high byte is ignored with a 16-bit operand size
gdt2_ptr: dw gdt2_end - gdt2 - 1
          dd gdt2
idt_ptr:  dw 0x1ff
          dd 0x00012340
tss_sel:  dw 0x20
sgdt_buf: times 6 db 0xee
sidt_buf: times 6 db 0xee
sldt_buf: dw 0xeeee

times 510-($-$$) db 0
dw 0xaa55
