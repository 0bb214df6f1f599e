; startup: the empty benchmark guest. Enters protected mode like the others, prints
; "startup ok" and powers off at once (see lib.inc). Its wall time is the fixed cost of a run:
; process and framework start-up, VM set-up, boot and power-off; bench.sh subtracts it to get
; the net time per exit of the exit-bound guests.
;   nasm -f bin -o startup.img startup.asm

%include "boot.inc"

main:
    mov esi, label
    call puts
    jmp newline_poweroff

label: db "startup ok", 0

%include "lib.inc"
