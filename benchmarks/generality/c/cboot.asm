; Boot sector of the C kernel (workload.c): real mode at 0000:7C00. The payload follows at 0x7E00.
; Hotvisor (--format boot) loads the whole image there; a BIOS (QEMU, Bochs) loads only this
; sector, so the payload's magic word decides whether to read the rest with INT 13h. Then flat
; 32-bit protected mode (A20 on) and a jump to the payload's entry, 0x7E04.
;   nasm -f bin -DSECTORS=n -o cboot.bin cboot.asm
%ifndef SECTORS
%define SECTORS 17              ; the rest of track 0 of a 1.44 MB floppy
%endif
bits 16
org 0x7c00
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    cmp dword [0x7e00], 0x43564847
    je loaded
    mov ax, 0x0200 | SECTORS    ; AH=2: read sectors; AL: count
    mov bx, 0x7e00              ; ES:BX
    mov cx, 0x0002              ; cylinder 0, sector 2
    xor dh, dh                  ; head 0; DL: the boot drive, as the BIOS left it
    int 0x13
    jc fail
    cmp dword [0x7e00], 0x43564847
    jne fail
loaded:
    in al, 0x92                 ; fast A20
    or al, 2
    and al, 0xfe
    out 0x92, al
    lgdt [gdtr]
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    jmp dword 0x08:pm
fail:
    mov dx, 0xe9
    mov al, '!'
    out dx, al
    mov dx, 0xf4
    mov al, 1
    out dx, al
    hlt
bits 32
pm:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov fs, ax
    mov gs, ax
    jmp 0x7e04
align 8
gdt:  dq 0
      dq 0x00cf9a000000ffff     ; flat 32-bit code
      dq 0x00cf92000000ffff     ; flat data
gdtr: dw gdtr - gdt - 1
      dd gdt
times 510 - ($ - $$) db 0
dw 0xaa55
