; Boot sector of the C kernel (workload.c): boot.inc's start and end.inc's GDT, with a loader
; before protected mode. The payload follows at 0x7E00. Hotvisor (--format boot) loads the whole
; image there; a BIOS (QEMU, Bochs) loads only this sector, so the payload's magic word decides
; whether to read the rest with INT 13h. Then main jumps to the payload's entry, 0x7E04.
;   nasm -f bin -i benchmarks/generality/ -DSECTORS=n -o cboot.bin cboot.asm
%ifndef SECTORS
%define SECTORS 17              ; the rest of track 0 of a 1.44 MB floppy
%endif
PAYLOAD_MAGIC equ 0x43564847    ; the payload's first word (workload.c, _start)
%define BEFORE_PM load_payload
%include "boot.inc"
bits 32
main:
    jmp 0x7e04
bits 16
load_payload:                   ; real mode; DL: the boot drive, as the BIOS left it
    xor ax, ax
    mov es, ax
    cmp dword [0x7e00], PAYLOAD_MAGIC
    je .loaded
    mov ax, 0x0200 | SECTORS    ; AH=2: read sectors; AL: count
    mov bx, 0x7e00              ; ES:BX
    mov cx, 0x0002              ; cylinder 0, sector 2
    xor dh, dh                  ; head 0
    int 0x13
    jc .fail
    cmp dword [0x7e00], PAYLOAD_MAGIC
    jne .fail
.loaded:
    ret
.fail:                          ; "!" on port 0xE9, isa-debug-exit status 3
    mov dx, 0xe9
    mov al, '!'
    out dx, al
    mov dx, 0xf4
    mov al, 1
    out dx, al
    cli
    hlt
%include "end.inc"
