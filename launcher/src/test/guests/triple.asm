; Triple fault in real mode: an IDT limit of 0 makes INT 3 fault (#GP), the #GP fault (#DF),
; and the #DF a shutdown — which under VMX is exit reason 2 (SDM 3C 26.2 / 6.15).
bits 16
org 0x7c00
    cli
    lidt [idtr]
    int 3
    hlt
idtr: dw 0
      dd 0
times 510-($-$$) db 0
dw 0xaa55
