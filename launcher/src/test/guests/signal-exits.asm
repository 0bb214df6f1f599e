; SignalExitsIT's guest (real mode, boot sector), two builds:
; -DRESET[=CF9]: the platform reset line as INIT (VM exit 3). The first boot marks CMOS byte 0x0F
;   (battery-backed NVRAM: it survives the reset) and pulses the i8042 reset line (0xFE to port
;   0x64), or with -DCF9 writes a soft reset (bit 2, bit 1 clear) to the reset control register
;   0xCF9. The second boot sees the mark and exits through isa-debug-exit with status (5<<1)|1.
; otherwise: an exit matrix, each case an exit only under the --set that enables it:
;   OUT 0xE9 'M'  (port 0xE9: the debug console)
;   INT3          exception bitmap bit 3: exit 0, qualification 0, length 1 (SDM 3C 28.2.1, 28.2.4)
;   OUT 0x80, AL  exit 30, qualification 0x800040 (port 0x80, immediate, OUT, 1 byte), length 2
;   RDMSR 0x10    exit 31, qualification 0, length 2
;   then status (3<<1)|1 through isa-debug-exit (port 0xF4).
bits 16
org 0x7c00
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7c00
%ifdef RESET
    mov al, 0x0f
    out 0x70, al
    in al, 0x71
    cmp al, 0x5a
    je second_boot
    mov al, 0x0f
    out 0x70, al
    mov al, 0x5a
    out 0x71, al
 %ifdef CF9
    mov dx, 0xcf9
    mov al, 0x04
    out dx, al
 %else
    mov al, 0xfe
    out 0x64, al
 %endif
.wait: jmp .wait                 ; INIT is recognised at the next instruction boundary
second_boot:
    mov al, 5
    out 0xf4, al
    hlt
%else
    mov word [3*4], bp_handler   ; IVT: #BP and #GP (an RDMSR no handler knows) return past the instruction
    mov word [3*4+2], 0
    mov word [13*4], gp_handler
    mov word [13*4+2], 0
    mov al, 'M'
    out 0xe9, al
    int3
    mov al, 0x11
    out 0x80, al
    mov ecx, 0x10
    rdmsr
    mov al, 3
    out 0xf4, al
    hlt
bp_handler:
    iret
gp_handler:
    push bp
    mov bp, sp
    add word [bp+2], 2           ; skip the 2-byte RDMSR
    pop bp
    iret
%endif
times 510-($-$$) db 0
dw 0xaa55
