; Platform devices test guest (flat image, 32-bit protected mode: --format flat --load-addr 0x100000).
; Probes QEMU's PC platform devices as kvm-unit-tests do and prints what it found on COM1:
;   fw_cfg (0x510/0x511): signature, CPU count, RAM size, file-directory count;
;   PCI configuration mechanism #1 (0xCF8/0xCFC): the host bridge at 00:00.0, an absent 00:01.0;
;   the ACPI PM timer (0xB008) read twice around a delay, and PM1_CNT.SCI_EN (0xB004);
;   the pc-testdev latch (0xE0) with 32-, 8- and 16-bit writes and reads;
;   pc-testdev iomem at 0xFF000000 through EPT violations, and an unclaimed MMIO read.
; Then isa-debug-exit with V=0x2a (status 0x55), or, built with -DS5, an ACPI S5 power-off (status 0).
bits 32
org 0x100000

FW_CFG_SEL      equ 0x510
FW_CFG_DATA     equ 0x511
FW_CFG_SIGNATURE equ 0x00
FW_CFG_RAM_SIZE equ 0x03
FW_CFG_NB_CPUS  equ 0x05
FW_CFG_FILE_DIR equ 0x19
PCI_ADDR        equ 0xcf8
PCI_DATA        equ 0xcfc
PCI_ENABLE      equ 0x80000000
PM1_CNT         equ 0xb004
PM_TMR          equ 0xb008
PM_TMR_MASK     equ 0x00ffffff
SLP_EN          equ 1 << 13
TESTDEV_LATCH   equ 0xe0
IOMEM           equ 0xff000000
UNCLAIMED_MMIO  equ 0xfe000000
DELAY_LOOPS     equ 20000

start:
    mov esp, 0x90000
    cld

    ; ---- fw_cfg ----
    mov esi, s_fwcfg
    call puts
    mov ax, FW_CFG_SIGNATURE
    call fw_select
    mov ecx, 4
.sig:
    in al, dx
    call putc
    loop .sig
    mov esi, s_cpus
    call puts
    mov ax, FW_CFG_NB_CPUS
    mov ecx, 2
    call fw_read_le
    call puthex16
    mov esi, s_ram
    call puts
    mov ax, FW_CFG_RAM_SIZE
    mov ecx, 4
    call fw_read_le                 ; low dword of the 64-bit size
    mov ebx, eax
    mov ecx, 4
    call fw_read_more_le            ; high dword
    call puthex32
    mov eax, ebx
    call puthex32
    mov esi, s_files
    call puts
    mov ax, FW_CFG_FILE_DIR
    call fw_select
    xor eax, eax
    mov ecx, 4
.count:                             ; the count is big-endian
    shl eax, 8
    in al, dx
    loop .count
    call puthex32
    call newline

    ; ---- PCI ----
    mov esi, s_pci
    call puts
    mov eax, PCI_ENABLE | 0x00
    call pci_read
    call puthex32
    mov esi, s_class
    call puts
    mov eax, PCI_ENABLE | 0x08
    call pci_read
    call puthex32
    mov esi, s_absent
    call puts
    mov eax, PCI_ENABLE | (1 << 11)
    call pci_read
    call puthex32
    call newline

    ; ---- ACPI PM timer and PM1_CNT ----
    mov dx, PM_TMR
    in eax, dx
    mov ebx, eax
    mov ecx, DELAY_LOOPS
.delay:
    loop .delay
    in eax, dx
    sub eax, ebx
    and eax, PM_TMR_MASK
    mov esi, s_pm_still
    jz .pm_print
    cmp eax, 0x800000
    jae .pm_print
    mov esi, s_pm_advanced
.pm_print:
    call puts
    mov esi, s_sci
    call puts
    mov dx, PM1_CNT
    in ax, dx
    call puthex16
    call newline

    ; ---- pc-testdev latch ----
    mov esi, s_latch
    call puts
    mov eax, 0x12345678
    out TESTDEV_LATCH, eax
    in eax, TESTDEV_LATCH
    call puthex32
    call space
    mov al, 0xab
    out TESTDEV_LATCH + 1, al
    in eax, TESTDEV_LATCH
    call puthex32
    call space
    mov ax, 0xcdef
    out TESTDEV_LATCH + 2, ax
    in eax, TESTDEV_LATCH
    call puthex32
    call space
    in al, TESTDEV_LATCH + 1
    call puthex8
    call space
    in ax, TESTDEV_LATCH + 2
    call puthex16
    call newline

    ; ---- pc-testdev iomem (EPT violations) ----
    mov esi, s_iomem
    call puts
    mov dword [IOMEM], 0xcafebabe   ; 1: write32
    mov eax, [IOMEM]                ; 2: read32
    call puthex32
    call space
    mov byte [IOMEM + 4], 0x5a      ; 3: write8
    movzx eax, byte [IOMEM + 4]     ; 4: read8
    call puthex8
    call space
    movzx eax, word [IOMEM]         ; 5: read16
    call puthex16
    call space
    mov word [IOMEM + 8], 0xbeef    ; 6: write16
    mov eax, [IOMEM + 8]            ; 7: read32
    call puthex32
    mov esi, s_unclaimed
    call puts
    mov eax, [UNCLAIMED_MMIO]       ; 8: nobody's: all ones
    call puthex32
    call newline

%ifdef S5
    mov esi, s_s5
    call puts
    mov dx, PM1_CNT
    mov ax, SLP_EN | 1              ; SLP_TYP 0 = S5, SCI_EN kept
    out dx, ax
%endif
    mov al, 0x2a
    out ISA_DEBUG_EXIT, al
    hlt

; ---- fw_cfg helpers ----
; fw_select: AX = key; leaves DX = the data port
fw_select:
    mov dx, FW_CFG_SEL
    out dx, ax
    mov dx, FW_CFG_DATA
    ret
; fw_read_le: AX = key, ECX = bytes (1-4): EAX = the little-endian value
fw_read_le:
    call fw_select
; fw_read_more_le: ECX more bytes (1-4) of the selected item, least significant first
fw_read_more_le:
    push ebx
    push ecx
    push esi
    mov esi, ecx
    xor ebx, ebx
    xor ecx, ecx                    ; CL: where the next byte goes
.byte:
    in al, dx
    movzx eax, al
    shl eax, cl
    or ebx, eax
    add ecx, 8
    dec esi
    jnz .byte
    mov eax, ebx
    pop esi
    pop ecx
    pop ebx
    ret

; pci_read: EAX = CONFIG_ADDRESS: EAX = the dword
pci_read:
    mov dx, PCI_ADDR
    out dx, eax
    mov dx, PCI_DATA
    in eax, dx
    ret

%include "lib/console.inc"
s_fwcfg:        db "fw_cfg ", 0
s_cpus:         db " cpus=", 0
s_ram:          db " ram=", 0
s_files:        db " files=", 0
s_pci:          db "pci 00:00.0=", 0
s_class:        db " class=", 0
s_absent:       db " 00:01.0=", 0
s_pm_advanced:  db "pm-timer advanced", 0
s_pm_still:     db "pm-timer stuck", 0
s_sci:          db " pm1_cnt=", 0
s_latch:        db "latch ", 0
s_iomem:        db "iomem ", 0
s_unclaimed:    db " unclaimed=", 0
s_s5:           db "S5", 10, 0
