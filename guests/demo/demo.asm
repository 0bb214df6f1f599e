; demo: the Hotvisor demo guest. A raw boot sector: real mode at 0000:7C00, no BIOS calls.
; Prints a greeting and the CPUID vendor on COM1, then every 0.25 s of guest time (25 ticks
; of a 100 Hz PIT interrupt through the 8259 PIC) prints "tick N: CPU vendor is <vendor>",
; executing CPUID again each time, so a hot-swapped CPUID handler shows at once.
; After ROUNDS lines (0 = forever) it writes "Shutdown" to the Bochs/Hotvisor power-off port.
;   nasm -f bin -DROUNDS=4 -o demo.img demo.asm      (see build.sh)
%ifndef ROUNDS
%define ROUNDS 4
%endif

COM1            equ 0x3f8   ; 16550 THR/RBR (DLL when LCR.DLAB=1)
COM1_IER        equ 0x3f9   ; interrupt enable (DLM when LCR.DLAB=1)
COM1_LCR        equ 0x3fb   ; line control
COM1_LSR        equ 0x3fd   ; line status
LCR_DLAB        equ 0x80    ; divisor latch access
LCR_8N1         equ 0x03    ; 8 data bits, no parity, 1 stop bit
LSR_THRE        equ 0x20    ; transmitter holding register empty
PIC1_COMMAND    equ 0x20
PIC1_DATA       equ 0x21
PIC2_COMMAND    equ 0xa0
PIC2_DATA       equ 0xa1
ICW1_INIT_ICW4  equ 0x11    ; edge triggered, cascade, ICW4 follows
ICW4_8086       equ 0x01
PIC_EOI         equ 0x20    ; non-specific end of interrupt
IRQ0_VECTOR     equ 0x08    ; master vector base, as the PC BIOS sets it
PIT_CHANNEL0    equ 0x40
PIT_COMMAND     equ 0x43
PIT_CH0_MODE2   equ 0x34    ; channel 0, lobyte/hibyte, mode 2 (rate generator), binary
PIT_DIVISOR     equ 11932   ; 1193182 Hz / 100 Hz
TICKS_PER_LINE  equ 25      ; 0.25 s at 100 Hz
POWER_OFF_PORT  equ 0x8900  ; "Shutdown" written here powers off (Bochs, Hotvisor)

bits 16
org 0x7c00
start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    cld
    ; COM1: 115200 baud (divisor 1), 8N1, no UART interrupts
    mov dx, COM1_LCR
    mov al, LCR_DLAB
    out dx, al
    mov dx, COM1
    mov al, 1
    out dx, al
    inc dx                      ; COM1_IER = DLM while DLAB is set
    xor al, al
    out dx, al
    mov dx, COM1_LCR
    mov al, LCR_8N1
    out dx, al
    mov dx, COM1_IER
    xor al, al
    out dx, al

    mov si, hello
    call puts
    call read_vendor
    mov si, vendor_is
    call puts
    mov si, vendor
    call puts
    mov si, crlf
    call puts

    ; IRQ0 handler in the real-mode IVT
    mov word [IRQ0_VECTOR * 4], irq0
    mov word [IRQ0_VECTOR * 4 + 2], 0
    ; 8259 pair: ICW1-ICW4, master vectors 0x08-0x0f, slave 0x70-0x77, only IRQ0 unmasked
    mov al, ICW1_INIT_ICW4
    out PIC1_COMMAND, al
    out PIC2_COMMAND, al
    mov al, IRQ0_VECTOR
    out PIC1_DATA, al
    mov al, 0x70
    out PIC2_DATA, al
    mov al, 0x04                ; ICW3 master: slave on IRQ2
    out PIC1_DATA, al
    mov al, 0x02                ; ICW3 slave: cascade identity 2
    out PIC2_DATA, al
    mov al, ICW4_8086
    out PIC1_DATA, al
    out PIC2_DATA, al
    mov al, 0xfe
    out PIC1_DATA, al
    mov al, 0xff
    out PIC2_DATA, al
    ; PIT channel 0: 100 Hz rate generator
    mov al, PIT_CH0_MODE2
    out PIT_COMMAND, al
    mov ax, PIT_DIVISOR
    out PIT_CHANNEL0, al
    mov al, ah
    out PIT_CHANNEL0, al

    sti
wait_tick:
    hlt
    cmp word [ticks], TICKS_PER_LINE
    jb wait_tick
    mov word [ticks], 0
    inc word [lines]
    mov si, tick
    call puts
    mov ax, [lines]
    call put_decimal
    call read_vendor
    mov si, vendor_is_lower
    call puts
    mov si, vendor
    call puts
    mov si, crlf
    call puts
%if ROUNDS > 0
    cmp word [lines], ROUNDS
    jb wait_tick
    mov dx, POWER_OFF_PORT
    mov si, shutdown
.off:
    lodsb
    test al, al
    jz .halt
    out dx, al
    jmp .off
.halt:
    cli
    hlt
    jmp .halt
%else
    jmp wait_tick
%endif

irq0:
    inc word [cs:ticks]
    push ax
    mov al, PIC_EOI
    out PIC1_COMMAND, al
    pop ax
    iret

read_vendor:                    ; CPUID leaf 0: vendor = EBX, EDX, ECX
    xor eax, eax
    cpuid
    mov [vendor], ebx
    mov [vendor + 4], edx
    mov [vendor + 8], ecx
    ret

put_decimal:                    ; ax -> decimal digits
    mov bx, 10
    xor cx, cx
.divide:
    xor dx, dx
    div bx
    push dx
    inc cx
    test ax, ax
    jnz .divide
.digit:
    pop ax
    add al, '0'
    call putc
    loop .digit
    ret

puts:                           ; ds:si -> COM1, up to the NUL
    lodsb
    test al, al
    jz .done
    call putc
    jmp puts
.done:
    ret

putc:                           ; al -> COM1 once the transmitter holding register is empty
    push dx
    push ax
    mov dx, COM1_LSR
.busy:
    in al, dx
    test al, LSR_THRE
    jz .busy
    pop ax
    mov dx, COM1
    out dx, al
    pop dx
    ret

hello:           db "Hello from a Hotvisor guest!", 13, 10, 0
vendor_is:       db "CPU vendor: ", 0
vendor_is_lower: db ": CPU vendor is ", 0
tick:            db "tick ", 0
crlf:            db 13, 10, 0
shutdown:        db "Shutdown", 0
ticks:           dw 0
lines:           dw 0
vendor:          times 12 db 0
                 db 0
times 510-($-$$) db 0
dw 0xaa55
