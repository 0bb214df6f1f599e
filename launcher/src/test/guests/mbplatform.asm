; Multiboot platform check (MultibootPlatformIT): a Multiboot v1 kernel (a.out kludge, loaded at
; 1 MiB) that checks from inside the guest what the loader and the firmware handed it, prints one
; PASS or FAIL line per check on COM1, and exits through isa-debug-exit (0xF4): 0 if every check
; passed (process status 1), 1 otherwise (status 3).
; The IT runs it with: --mem 32M --cpus 2 --append hv-test=1 --initrd initrd.bin --module module.bin=mod-arg=7
; and 16-byte module files starting "INITRD!!" and "MODULE!!".

bits 32

LOAD_ADDRESS        equ 0x100000
TRAMPOLINE_ADDRESS  equ 0x8000          ; real-mode code must sit below 1 MiB
MB_HEADER_MAGIC     equ 0x1BADB002
MB_HEADER_FLAGS     equ 0x00010003       ; page-aligned modules, memory information, address fields
MB_BOOTLOADER_MAGIC equ 0x2BADB002
EXPECTED_INFO_FLAGS equ 0x24D            ; memory, cmdline, mods, mmap, boot loader name
EXPECTED_MEM_UPPER  equ (32 - 1) * 1024  ; KiB above 1 MiB with --mem 32M
EXPECTED_CPUS       equ 2
MODULE_SIZE         equ 16
BSS_PROBE_SIZE      equ 0x100
BDA_TICKS           equ 0x46C
VECTOR_USER_TIMER   equ 0x1C
TICKS_TO_WAIT       equ 3
MAX_HALTS           equ 50

org LOAD_ADDRESS
section .text
mb_header:
    dd MB_HEADER_MAGIC
    dd MB_HEADER_FLAGS
    dd -(MB_HEADER_MAGIC + MB_HEADER_FLAGS)
    dd mb_header                         ; header_addr
    dd LOAD_ADDRESS                      ; load_addr
    dd load_end                          ; load_end_addr: the junk after it must not be loaded
    dd bss_end                           ; bss_end_addr
    dd entry                             ; entry_addr

%macro REPORT 1                          ; ZF = 1: passed
    mov esi, %%name
    call report
    jmp %%after
%%name: db %1, 0
%%after:
%endmacro

entry:
    mov [saved_eax], eax
    mov [saved_ebx], ebx
    lgdt [gdt_pointer]                   ; Multiboot 3.2: the kernel loads its own GDT first
    jmp CODE32:.reloaded
.reloaded:
    mov ax, DATA32
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, stack_top

    cmp dword [saved_eax], MB_BOOTLOADER_MAGIC
    REPORT "magic"
    mov ebx, [saved_ebx]
    cmp dword [ebx], EXPECTED_INFO_FLAGS
    REPORT "flags"
    cmp dword [ebx + 4], 640
    REPORT "mem_lower"
    cmp dword [ebx + 8], EXPECTED_MEM_UPPER
    REPORT "mem_upper"

    ; mmap: 5 entries of 24 bytes (size 20): RAM 0-0x9FC00, EBDA, BIOS, RAM from 1 MiB, MMIO hole
    mov edi, [ebx + 48]
    cmp dword [ebx + 44], 5 * 24
    jne .mmap_checked
    cmp dword [edi], 20
    jne .mmap_checked
    cmp dword [edi + 4], 0
    jne .mmap_checked
    cmp dword [edi + 12], 0x9FC00
    jne .mmap_checked
    cmp dword [edi + 20], 1
    jne .mmap_checked
    cmp dword [edi + 3 * 24 + 4], 0x100000
    jne .mmap_checked
    cmp dword [edi + 3 * 24 + 12], EXPECTED_MEM_UPPER * 1024
    jne .mmap_checked
    cmp dword [edi + 3 * 24 + 20], 1
    jne .mmap_checked
    cmp dword [edi + 4 * 24 + 4], 0xFEC00000
    jne .mmap_checked
    cmp dword [edi + 4 * 24 + 20], 2
.mmap_checked:
    REPORT "mmap"

    mov esi, [ebx + 16]
    mov edi, cmdline_suffix
    call ends_with
    REPORT "cmdline"

    ; modules: the initrd first (string: its path), then module.bin with its argument
    cmp dword [ebx + 20], 2
    jne .modules_checked
    mov ebp, [ebx + 24]
    mov eax, [ebp]
    test eax, 0xFFF
    jnz .modules_checked
    cmp dword [eax], 'INIT'
    jne .modules_checked
    add eax, MODULE_SIZE
    cmp eax, [ebp + 4]
    jne .modules_checked
    mov esi, [ebp + 8]
    mov edi, initrd_suffix
    call ends_with
    jne .modules_checked
    mov eax, [ebp + 16]
    test eax, 0xFFF
    jnz .modules_checked
    cmp dword [eax + 4], 'LE!!'
    jne .modules_checked
    mov esi, [ebp + 16 + 8]
    mov edi, module_suffix
    call ends_with
.modules_checked:
    REPORT "modules"

    mov edi, load_end
    mov ecx, BSS_PROBE_SIZE / 4
    xor eax, eax
.bss:
    or eax, [edi]
    add edi, 4
    dec ecx
    jnz .bss
    test eax, eax
    REPORT "bss"

    ; RSDP: "RSD PTR " on a 16-byte boundary in 0xE0000-0xFFFFF, both checksums zero
    mov esi, 0xE0000
.find_rsdp:
    cmp dword [esi], 'RSD '
    jne .next_rsdp
    cmp dword [esi + 4], 'PTR '
    je .found_rsdp
.next_rsdp:
    add esi, 16
    cmp esi, 0x100000
    jb .find_rsdp
    xor esi, esi
.found_rsdp:
    mov [rsdp], esi
    test esi, esi
    jnz .rsdp_found
    or esi, 1                            ; ZF = 0: no RSDP
    jmp .rsdp_checked
.rsdp_found:
    mov ecx, 20
    call checksum
    jnz .rsdp_checked
    mov esi, [rsdp]
    mov ecx, 36
    call checksum
.rsdp_checked:
    REPORT "rsdp"

    mov eax, 'APIC'
    call find_table
    test esi, esi
    jnz .madt_found
    or esi, 1                            ; ZF = 0: no MADT
    jmp .madt_checked
.madt_found:
    mov edi, esi
    add edi, [esi + 4]                   ; end of the MADT
    add esi, 44
    xor ecx, ecx
.madt_entry:
    cmp byte [esi], 0                    ; Processor Local APIC
    jne .madt_next
    inc ecx
.madt_next:
    movzx eax, byte [esi + 1]
    add esi, eax
    cmp esi, edi
    jb .madt_entry
    cmp ecx, EXPECTED_CPUS
.madt_checked:
    REPORT "madt_cpus"

    mov eax, 'FACP'
    call find_table
    test esi, esi
    jnz .fadt_found
    or esi, 1                            ; ZF = 0: no FADT
    jmp .fadt_checked
.fadt_found:
    cmp dword [esi + 76], 0xB008
.fadt_checked:
    REPORT "fadt_pm_timer"

    cmp word [0x400], COM1
    jne .bda_checked
    cmp word [0x40E], 0x9FC0
    jne .bda_checked
    cmp word [0x413], 639
.bda_checked:
    REPORT "bda"

    in al, 0x21
    cmp al, 0xF8                         ; IRQ0, IRQ1, IRQ2 open
    jne .pic_checked
    in al, 0xA1
    cmp al, 0xEE                         ; IRQ8, IRQ12 open
.pic_checked:
    REPORT "pic_masks"

    mov al, 0xE2                         ; read-back: status of counter 0 only
    out 0x43, al
    in al, 0x40
    and al, 0x3F
    cmp al, 0x34                         ; LSB then MSB, mode 2, binary
    REPORT "pit_mode"

    in al, 0x92
    and al, 2
    cmp al, 2
    REPORT "a20"

    ; Real mode: copy the trampoline below 1 MiB, drop to real mode, wait for timer ticks with
    ; sti; hlt through the firmware's IVT handlers, come back.
    mov esi, section.trampoline.start
    mov edi, TRAMPOLINE_ADDRESS
    mov ecx, trampoline_end - trampoline_start
.copy:
    mov al, [esi]
    mov [edi], al
    inc esi
    inc edi
    dec ecx
    jnz .copy
    mov [saved_esp], esp
    jmp CODE16:real_mode_drop
back_in_protected_mode:
    mov ax, DATA32
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, [saved_esp]
    mov eax, [ticks_after]
    sub eax, [ticks_before]
    cmp eax, TICKS_TO_WAIT
    jb .real_mode_checked
    cmp word [hook_calls], TICKS_TO_WAIT
    jb .real_mode_checked
    xor eax, eax                         ; ZF = 1
.real_mode_checked:
    REPORT "real_mode_tick"

    mov esi, msg_done
    call puts
    mov al, [failures]
    out ISA_DEBUG_EXIT, al
.halt:
    cli
    hlt
    jmp .halt

; ZF = 1: pass. Prints "PASS name" or "FAIL name" (ESI: the name).
report:
    jnz .fail
    push esi
    mov esi, msg_pass
    call puts
    pop esi
    jmp .name
.fail:
    mov byte [failures], 1
    push esi
    mov esi, msg_fail
    call puts
    pop esi
.name:
    call puts
    call newline
    ret

%include "lib/console.inc"

; ZF = 1 if the string at ESI ends with the string at EDI.
ends_with:
    mov ecx, esi
.end_of_string:
    cmp byte [ecx], 0
    je .end_of_suffix_start
    inc ecx
    jmp .end_of_string
.end_of_suffix_start:
    mov edx, edi
.end_of_suffix:
    cmp byte [edx], 0
    je .compare
    inc edx
    jmp .end_of_suffix
.compare:                                ; walk back from both ends
    cmp edx, edi
    je .matched
    cmp ecx, esi
    je .mismatch
    dec ecx
    dec edx
    mov al, [ecx]
    cmp al, [edx]
    jne .mismatch
    jmp .compare
.matched:
    xor eax, eax
    ret
.mismatch:
    or eax, 1
    ret

; ZF = 1 if the ECX bytes at ESI sum to 0 mod 256.
checksum:
    xor eax, eax
.add:
    add al, [esi]
    inc esi
    dec ecx
    jnz .add
    test al, al
    ret

; ESI = the table with signature EAX listed in the RSDT, or 0.
find_table:
    mov esi, [rsdp]
    test esi, esi
    jz .none
    mov edx, [esi + 16]                  ; RSDT
    mov ecx, [edx + 4]
    sub ecx, 36
    shr ecx, 2
    jz .none
    add edx, 36
.entry:
    mov esi, [edx]
    cmp [esi], eax
    je .found
    add edx, 4
    dec ecx
    jnz .entry
.none:
    xor esi, esi
.found:
    ret

align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF                ; 0x08 flat 32-bit code
    dq 0x00CF92000000FFFF                ; 0x10 flat 32-bit data
    dq 0x00009A000000FFFF                ; 0x18 16-bit code, base 0, limit 64 KiB
    dq 0x000092000000FFFF                ; 0x20 16-bit data, base 0, limit 64 KiB
gdt_end:
CODE32 equ 0x08
DATA32 equ 0x10
CODE16 equ 0x18
DATA16 equ 0x20
gdt_pointer:
    dw gdt_end - gdt - 1
    dd gdt

saved_eax:   dd 0
saved_ebx:   dd 0
saved_esp:   dd 0
rsdp:        dd 0
failures:    db 0
cmdline_suffix: db "mbplatform.img hv-test=1", 0
initrd_suffix:  db "initrd.bin", 0
module_suffix:  db "module.bin mod-arg=7", 0
msg_pass:    db "PASS ", 0
msg_fail:    db "FAIL ", 0
msg_done:    db "DONE", 10, 0

; ---------------------------------------------------------------------------------------------
; Runs at TRAMPOLINE_ADDRESS. SDM 3A 10.9.2 "Switching Back to Real-Address Mode": from a 16-bit
; code segment with 64 KiB limits loaded everywhere, IDTR = the real-mode IVT, clear CR0.PE, far
; jump, then load real-mode segments.
section trampoline follows=.text vstart=TRAMPOLINE_ADDRESS
bits 16
trampoline_start:
real_mode_drop:
    mov ax, DATA16
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov fs, ax
    mov gs, ax
    lidt [ivt_pointer]
    mov eax, cr0
    and eax, ~1
    mov cr0, eax
    jmp 0:.real
.real:
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7C00
    mov word [VECTOR_USER_TIMER * 4], user_timer_hook
    mov word [VECTOR_USER_TIMER * 4 + 2], 0
    mov eax, [BDA_TICKS]
    mov [ticks_before], eax
    add eax, TICKS_TO_WAIT
    mov cx, MAX_HALTS
.wait:
    sti
    hlt                                  ; the PIT's IRQ0 wakes us through IVT vector 8
    cli
    cmp [BDA_TICKS], eax
    jae .ticked
    dec cx
    jnz .wait
.ticked:
    mov eax, [BDA_TICKS]
    mov [ticks_after], eax
    o32 lgdt [gdt_pointer_low]
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    jmp dword CODE32:back_in_protected_mode

user_timer_hook:                         ; INT 1Ch, called by the firmware's INT 08h handler
    inc word [cs:hook_calls]
    iret

ivt_pointer:
    dw 0x3FF
    dd 0
gdt_pointer_low:
    dw gdt_end - gdt - 1
    dd gdt
ticks_before: dd 0
ticks_after:  dd 0
hook_calls:   dw 0
trampoline_end:

; Not loaded (after load_end_addr): where the BSS starts. A loader that copied the whole file
; would leave these 0xFF bytes in the BSS.
section junk follows=trampoline
load_end:
    times BSS_PROBE_SIZE db 0xFF
bss_end equ load_end + 0x2000
stack_top equ bss_end
