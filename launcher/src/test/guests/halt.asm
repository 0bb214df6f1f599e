; HLT with interrupts disabled and nothing pending: the guest has powered off (status 0).
bits 16
org 0x7c00
    cli
    hlt
times 510-($-$$) db 0
dw 0xaa55
