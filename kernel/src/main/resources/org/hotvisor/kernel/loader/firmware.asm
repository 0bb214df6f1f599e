; Hotvisor firmware: the machine a PC BIOS and a Multiboot boot loader leave, set up by guest code.
;
; The loader (FirmwareImage.java) puts this image at 0xF0000, the system BIOS segment F000, fills
; the parameter block below and starts the vCPU in real mode at F000:start. Like SeaBIOS's POST
; followed by QEMU's multiboot option ROM, the code then
;   1. enables A20 through System Control Port A (port 0x92, bit 1; bit 0 would reset),
;   2. initialises both 8259A PICs with ICW1-ICW4 (vector bases 0x08 and 0x70, slave on IR2) and
;      unmasks what SeaBIOS unmasks: IRQ2 (pic_setup), IRQ0 and IRQ8 (clock_setup), IRQ1 and
;      IRQ12 (ps2port_setup),
;   3. programs PIT channel 0 in mode 2 with reload 0 = 65536 (18.2 Hz), as SeaBIOS's pit_setup,
;   4. fills the real-mode IVT: every vector points at an IRET; the IRQ vectors first acknowledge
;      the PIC (master; slave and master for IRQ8-15); IRQ0 also counts the BIOS tick at 0040:006C
;      and calls the INT 1Ch user hook, as a BIOS's INT 08h does,
;   5. writes the BIOS data area basics and the one-KiB EBDA's size byte,
;   6. enters 32-bit protected mode through a flat GDT and jumps to the kernel with the machine
;      state of Multiboot 0.6.96 section 3.2: EAX = magic, EBX = the boot information, CS a flat
;      4 GiB execute/read segment, DS/ES/FS/GS/SS flat 4 GiB read/write, EFLAGS.IF = 0, VM = 0,
;      CR0.PE = 1, CR0.PG = 0. (The GDTR it leaves is the firmware's; the spec says a kernel must
;      load its own before it reloads a segment register.)
; Every step is an OUT or a memory write the device bundles and the CPU see like any guest's.
; The code uses no stack and runs with interrupts off, so it writes no RAM but the IVT, the BDA and
; the EBDA byte: a kernel loaded anywhere else (even over the ESP it is handed) stays intact.
; EFLAGS: CLI clears IF and real mode has VM = 0; the arithmetic flags are left as the code leaves
; them, which Multiboot 3.2 allows ("other bits are undefined").
;
; Rebuild after an edit (the kernel build does not need nasm; FirmwareImageTest compares them):
;   nasm -f bin -o firmware.bin firmware.asm

bits 16
org 0

FIRMWARE_BASE        equ 0xF0000       ; physical address the loader places this image at
FIRMWARE_SEGMENT     equ FIRMWARE_BASE >> 4
PARAMETER_VERSION    equ 1

; Port numbers
PORT_SYSTEM_CONTROL_A equ 0x92
PORT_PIC_MASTER_CMD  equ 0x20
PORT_PIC_MASTER_DATA equ 0x21
PORT_PIC_SLAVE_CMD   equ 0xA0
PORT_PIC_SLAVE_DATA  equ 0xA1
PORT_PIT_COUNTER0    equ 0x40
PORT_PIT_MODE        equ 0x43

SYSTEM_CONTROL_A20   equ 0x02          ; port 0x92 bit 1: A20 gate
SYSTEM_CONTROL_RESET equ 0x01          ; port 0x92 bit 0: fast reset, must stay 0

; 8259A (Intel 8259A datasheet, "Initialization command words" and "Operation command words")
ICW1_INIT_WITH_ICW4  equ 0x11          ; D4 = 1: ICW1; D0 = IC4: ICW4 follows; edge triggered, cascade
ICW2_MASTER_VECTORS  equ 0x08          ; IRQ0-7 -> INT 08h-0Fh (the PC BIOS assignment)
ICW2_SLAVE_VECTORS   equ 0x70          ; IRQ8-15 -> INT 70h-77h
ICW3_MASTER_SLAVE_ON_IR2 equ 0x04      ; master: a slave hangs on IR2 (bit mask)
ICW3_SLAVE_ID        equ 0x02          ; slave: its cascade identity is 2
ICW4_8086_MODE       equ 0x01          ; uPM = 1: 8086/8088 mode, normal EOI
OCW2_NONSPECIFIC_EOI equ 0x20
IRQ_TIMER            equ 0
IRQ_KEYBOARD         equ 1
IRQ_CASCADE          equ 2
IRQ_RTC              equ 8
IRQ_MOUSE            equ 12
MASTER_IRQ_MASK      equ 0xFF & ~((1 << IRQ_TIMER) | (1 << IRQ_KEYBOARD) | (1 << IRQ_CASCADE))
SLAVE_IRQ_MASK       equ 0xFF & ~((1 << (IRQ_RTC - 8)) | (1 << (IRQ_MOUSE - 8)))

; 8254 control word: SC = counter 0 (7:6), RW = LSB then MSB (5:4), M = mode 2 (3:1), BCD = 0
PIT_COUNTER0_MODE2_WORD equ (0 << 6) | (3 << 4) | (2 << 1) | 0
PIT_RELOAD_65536     equ 0             ; a count of 0 is the maximum, 65536: 1193182 / 65536 = 18.2 Hz

; Real-mode interrupt vector table and BIOS data area (segment 0 addressing)
IVT_VECTORS          equ 256
IVT_ENTRY_SIZE       equ 4
IVT_LIMIT            equ IVT_VECTORS * IVT_ENTRY_SIZE - 1
VECTOR_MASTER_IRQ0   equ ICW2_MASTER_VECTORS
VECTOR_SLAVE_IRQ8    equ ICW2_SLAVE_VECTORS
VECTOR_USER_TIMER    equ 0x1C          ; INT 1Ch: called by INT 08h on every tick
BDA_COM1_BASE        equ 0x400         ; word: I/O base of COM1 (0040:0000)
BDA_EBDA_SEGMENT     equ 0x40E         ; word: segment of the extended BIOS data area
BDA_EQUIPMENT        equ 0x410         ; word: equipment list
BDA_BASE_MEMORY_KIB  equ 0x413         ; word: conventional memory below the EBDA, in KiB
BDA_TICKS            equ 0x46C         ; dword: timer ticks since midnight
BDA_MIDNIGHT         equ 0x470         ; byte: ticks rolled over midnight
COM1_BASE            equ 0x3F8
EBDA_SEGMENT         equ 0x9FC0        ; the EBDA is the last KiB below 640 KiB
EBDA_SIZE_KIB        equ 1             ; byte 0 of the EBDA: its size in KiB
BASE_MEMORY_KIB      equ EBDA_SEGMENT >> 6
EQUIPMENT_FPU        equ 1 << 1        ; bit 1: math coprocessor installed
EQUIPMENT_ONE_SERIAL equ 1 << 9        ; bits 11:9: number of serial ports
EQUIPMENT_WORD       equ EQUIPMENT_FPU | EQUIPMENT_ONE_SERIAL
TICKS_PER_DAY        equ 0x1800B0      ; 24 h at 1193182 / 65536 Hz, where the BIOS count wraps

CR0_PE               equ 1
CODE_SELECTOR        equ gdt_flat_code - gdt
DATA_SELECTOR        equ gdt_flat_data - gdt

; ---------------------------------------------------------------------------------------------
; The parameter block. FirmwareImage.java names these offsets; the loader checks the signature
; and version and fills the kernel fields.
firmware_header:
    db 'HVFW'                          ; +0  signature
    dw PARAMETER_VERSION               ; +4  layout version
    dw start                           ; +6  entry offset within segment F000
param_kernel_entry:
    dd 0                               ; +8  physical address of the kernel's first instruction
param_kernel_eax:
    dd 0                               ; +12 EAX at the kernel's entry (Multiboot: 0x2BADB002)
param_kernel_ebx:
    dd 0                               ; +16 EBX at the kernel's entry (the boot information)
param_kernel_esp:
    dd 0                               ; +20 ESP at the kernel's entry

; ---------------------------------------------------------------------------------------------
start:
    cli
    cld
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax

    ; 1. A20 on, without touching the fast-reset bit.
    in al, PORT_SYSTEM_CONTROL_A
    or al, SYSTEM_CONTROL_A20
    and al, 0xFF & ~SYSTEM_CONTROL_RESET
    out PORT_SYSTEM_CONTROL_A, al

    ; 2. Both PICs: ICW1 to each, then ICW2-ICW4 to each data port, then the masks (OCW1).
    mov al, ICW1_INIT_WITH_ICW4
    out PORT_PIC_MASTER_CMD, al
    out PORT_PIC_SLAVE_CMD, al
    mov al, ICW2_MASTER_VECTORS
    out PORT_PIC_MASTER_DATA, al
    mov al, ICW2_SLAVE_VECTORS
    out PORT_PIC_SLAVE_DATA, al
    mov al, ICW3_MASTER_SLAVE_ON_IR2
    out PORT_PIC_MASTER_DATA, al
    mov al, ICW3_SLAVE_ID
    out PORT_PIC_SLAVE_DATA, al
    mov al, ICW4_8086_MODE
    out PORT_PIC_MASTER_DATA, al
    out PORT_PIC_SLAVE_DATA, al
    mov al, MASTER_IRQ_MASK
    out PORT_PIC_MASTER_DATA, al
    mov al, SLAVE_IRQ_MASK
    out PORT_PIC_SLAVE_DATA, al

    ; 3. PIT counter 0: mode 2, reload 65536, low byte then high byte.
    mov al, PIT_COUNTER0_MODE2_WORD
    out PORT_PIT_MODE, al
    mov al, PIT_RELOAD_65536 & 0xFF
    out PORT_PIT_COUNTER0, al
    mov al, PIT_RELOAD_65536 >> 8
    out PORT_PIT_COUNTER0, al

    ; 4. The IVT: IRET everywhere, then the IRQ vectors.
    xor di, di
    mov cx, IVT_VECTORS
.every_vector:
    mov word [di], default_iret
    mov word [di + 2], FIRMWARE_SEGMENT
    add di, IVT_ENTRY_SIZE
    dec cx
    jnz .every_vector
    mov word [VECTOR_MASTER_IRQ0 * IVT_ENTRY_SIZE], timer_irq
    mov di, (VECTOR_MASTER_IRQ0 + 1) * IVT_ENTRY_SIZE
    mov cx, 7
.master_vector:
    mov word [di], master_irq
    add di, IVT_ENTRY_SIZE
    dec cx
    jnz .master_vector
    mov di, VECTOR_SLAVE_IRQ8 * IVT_ENTRY_SIZE
    mov cx, 8
.slave_vector:
    mov word [di], slave_irq
    add di, IVT_ENTRY_SIZE
    dec cx
    jnz .slave_vector

    ; 5. BIOS data area and EBDA.
    mov word [BDA_COM1_BASE], COM1_BASE
    mov word [BDA_EBDA_SEGMENT], EBDA_SEGMENT
    mov word [BDA_EQUIPMENT], EQUIPMENT_WORD
    mov word [BDA_BASE_MEMORY_KIB], BASE_MEMORY_KIB
    mov dword [BDA_TICKS], 0
    mov byte [BDA_MIDNIGHT], 0
    mov ax, EBDA_SEGMENT
    mov es, ax
    mov byte [es:0], EBDA_SIZE_KIB

    ; 6. Protected mode, then the kernel.
    o32 lidt [cs:ivt_pointer]
    o32 lgdt [cs:gdt_pointer]
    mov eax, cr0
    or eax, CR0_PE
    mov cr0, eax
    jmp dword CODE_SELECTOR:(FIRMWARE_BASE + protected_mode_entry)

bits 32
protected_mode_entry:
    mov ax, DATA_SELECTOR
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, [FIRMWARE_BASE + param_kernel_esp]
    xor ecx, ecx
    xor edx, edx
    xor esi, esi
    xor edi, edi
    xor ebp, ebp
    mov eax, [FIRMWARE_BASE + param_kernel_eax]
    mov ebx, [FIRMWARE_BASE + param_kernel_ebx]
    jmp [FIRMWARE_BASE + param_kernel_entry]

; ---------------------------------------------------------------------------------------------
; Default real-mode handlers, reached through the IVT by kernels that return to real mode.
bits 16

; INT 08h, IRQ0: count the tick, call the user hook INT 1Ch, acknowledge the master PIC.
timer_irq:
    push ds
    push ax
    xor ax, ax
    mov ds, ax
    add dword [BDA_TICKS], 1
    cmp dword [BDA_TICKS], TICKS_PER_DAY
    jb .counted
    mov dword [BDA_TICKS], 0
    inc byte [BDA_MIDNIGHT]
.counted:
    int VECTOR_USER_TIMER
    mov al, OCW2_NONSPECIFIC_EOI
    out PORT_PIC_MASTER_CMD, al
    pop ax
    pop ds
    iret

; INT 09h-0Fh, IRQ1-7: acknowledge the master PIC.
master_irq:
    push ax
    mov al, OCW2_NONSPECIFIC_EOI
    out PORT_PIC_MASTER_CMD, al
    pop ax
    iret

; INT 70h-77h, IRQ8-15: acknowledge the slave, then the master (its IR2 is in service too).
slave_irq:
    push ax
    mov al, OCW2_NONSPECIFIC_EOI
    out PORT_PIC_SLAVE_CMD, al
    out PORT_PIC_MASTER_CMD, al
    pop ax
    iret

; Every other vector, INT 1Ch included: nothing to do.
default_iret:
    iret

; ---------------------------------------------------------------------------------------------
align 8
gdt:
    dq 0                               ; the null descriptor
gdt_flat_code:                         ; base 0, limit 0xFFFFF pages, G, D, P, DPL 0, execute/read
    dq 0x00CF9A000000FFFF
gdt_flat_data:                         ; base 0, limit 0xFFFFF pages, G, B, P, DPL 0, read/write
    dq 0x00CF92000000FFFF
gdt_end:

gdt_pointer:
    dw gdt_end - gdt - 1
    dd FIRMWARE_BASE + gdt
ivt_pointer:
    dw IVT_LIMIT
    dd 0
