; Never stops: for --timeout.
bits 16
org 0x7c00
    cli
spin: jmp spin
times 510-($-$$) db 0
dw 0xaa55
