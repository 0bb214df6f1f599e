; Long-mode demo guest: a Multiboot v1 kernel (a.out kludge, loaded at 1 MiB) that enters IA-32e
; mode on its own, the way kvm-unit-tests' x86_64 cstart64.S does, and then runs 64-bit code:
;   1. 32-bit entry from the firmware: own GDT, identity-mapped 4-level page tables (2-MiB pages
;      for the first GiB), CR4.PAE, CR3, IA32_EFER.LME|NXE (WRMSR), CR0.PG -> EFER.LMA = 1, and a
;      far jump to a 64-bit code segment (SDM 3A 9.8.5).
;   2. In 64-bit mode: prints "Hello from long mode" and some 64-bit facts on COM1 (EFER, CS, a
;      64-bit product, a RIP-relative address, the CPUID vendor), takes a breakpoint (INT3) through a
;      16-byte IDT gate on the IST1 stack of a 64-bit TSS and returns with IRETQ (SDM 3A 6.14).
;   3. Writes 0 to isa-debug-exit (port 0xF4): QEMU and Hotvisor exit with status (0 << 1) | 1 = 1.
; Runs the same under `qemu-system-x86_64 -kernel longmode.img -serial stdio -display none
; -device isa-debug-exit,iobase=0xf4,iosize=4` and `./hotvisor run longmode.img --format multiboot`.

bits 32

LOAD_ADDRESS     equ 0x100000
MB_HEADER_MAGIC  equ 0x1BADB002
MB_HEADER_FLAGS  equ 0x00010003          ; page-aligned modules, memory info, address fields (a.out kludge)
COM1             equ 0x3F8
COM1_LSR         equ COM1 + 5
LSR_THR_EMPTY    equ 0x20
ISA_DEBUG_EXIT   equ 0xF4
MSR_EFER         equ 0xC0000080
EFER_LME         equ 1 << 8
EFER_NXE         equ 1 << 11
CR0_PG           equ 1 << 31
CR4_PAE          equ 1 << 5
PTE_P            equ 1
PTE_RW           equ 2
PTE_PS           equ 0x80
GATE64_INT       equ 0x8E                ; present, DPL 0, 64-bit interrupt gate
VECTOR_BP        equ 3

CODE32           equ 0x08
DATA             equ 0x10
CODE64           equ 0x18
TSS64            equ 0x20

org LOAD_ADDRESS
mb_header:
    dd MB_HEADER_MAGIC
    dd MB_HEADER_FLAGS
    dd -(MB_HEADER_MAGIC + MB_HEADER_FLAGS)
    dd mb_header                          ; header_addr
    dd LOAD_ADDRESS                       ; load_addr
    dd load_end                           ; load_end_addr
    dd bss_end                            ; bss_end_addr (BSS zeroed by the loader)
    dd entry                              ; entry_addr

entry:
    lgdt [gdt_pointer]
    jmp CODE32:.reloaded
.reloaded:
    mov ax, DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, stack_top

    ; PML4[0] -> PDPT, PDPT[0] -> PD, PD[i] = 2-MiB page i (identity map of the first GiB)
    mov eax, pdpt + PTE_P + PTE_RW
    mov [pml4], eax
    mov eax, pd + PTE_P + PTE_RW
    mov [pdpt], eax
    xor ecx, ecx
.fill_pd:
    mov eax, ecx
    shl eax, 21
    or eax, PTE_P + PTE_RW + PTE_PS
    mov [pd + ecx * 8], eax
    inc ecx
    cmp ecx, 512
    jne .fill_pd

    mov eax, cr4
    or eax, CR4_PAE
    mov cr4, eax
    mov eax, pml4
    mov cr3, eax
    mov ecx, MSR_EFER
    rdmsr
    or eax, EFER_LME | EFER_NXE
    wrmsr
    mov eax, cr0
    or eax, CR0_PG                        ; IA-32e mode becomes active (EFER.LMA = 1)
    mov cr0, eax
    jmp CODE64:long_mode

bits 64
long_mode:
    mov ax, DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov rsp, stack_top

    ; the TSS descriptor's base and the IDT gate's offset are filled in at run time
    lea rax, [rel tss]
    mov [rel gdt_tss + 2], ax
    shr rax, 16
    mov [rel gdt_tss + 4], al
    mov [rel gdt_tss + 7], ah
    lea rax, [rel ist1_top]
    mov [rel tss + 36], rax               ; IST1
    lea rax, [rel breakpoint_handler]
    mov [rel idt + VECTOR_BP * 16], ax
    mov word [rel idt + VECTOR_BP * 16 + 2], CODE64
    mov byte [rel idt + VECTOR_BP * 16 + 4], 1        ; IST1
    mov byte [rel idt + VECTOR_BP * 16 + 5], GATE64_INT
    shr rax, 16
    mov [rel idt + VECTOR_BP * 16 + 6], ax
    shr rax, 16
    mov [rel idt + VECTOR_BP * 16 + 8], eax
    mov ax, TSS64
    ltr ax
    lidt [rel idt_pointer]

    lea rsi, [rel msg_hello]
    call print

    lea rsi, [rel msg_efer]
    call print
    mov ecx, MSR_EFER
    rdmsr
    shl rdx, 32
    or rax, rdx
    call print_hex
    call newline

    lea rsi, [rel msg_cs]
    call print
    mov ax, cs
    movzx rax, ax
    call print_hex
    call newline

    lea rsi, [rel msg_product]
    call print
    mov rax, 0x123456789
    mov rbx, 0x1000000001
    imul rax, rbx                         ; a product beyond 32 bits
    call print_hex
    call newline

    lea rsi, [rel msg_rip]
    call print
    lea rax, [rel long_mode]
    call print_hex
    call newline

    lea rsi, [rel msg_vendor]
    call print
    xor eax, eax
    cpuid
    mov [rel vendor], ebx
    mov [rel vendor + 4], edx
    mov [rel vendor + 8], ecx
    lea rsi, [rel vendor]
    call print
    call newline

    mov r15, rsp
    int3                                  ; through the 16-byte IDT gate, on the IST1 stack
    cmp r15, rsp
    jne .fail
    lea rsi, [rel msg_iretq]
    call print

    lea rsi, [rel msg_done]
    call print
    xor eax, eax
    out ISA_DEBUG_EXIT, eax               ; exit status (0 << 1) | 1 = 1
.fail:
    lea rsi, [rel msg_fail]
    call print
    mov eax, 1
    out ISA_DEBUG_EXIT, eax
    cli
.halt:
    hlt
    jmp .halt

breakpoint_handler:
    lea rsi, [rel msg_bp]
    call print
    mov rax, rsp                          ; the IST1 stack, 16-byte aligned, less 5 pushed qwords
    call print_hex
    call newline
    iretq

; print the NUL-terminated string at RSI on COM1
print:
    push rax
    push rdx
.next:
    lodsb
    test al, al
    jz .done
    mov ah, al
    mov dx, COM1_LSR
.wait:
    in al, dx
    test al, LSR_THR_EMPTY
    jz .wait
    mov al, ah
    mov dx, COM1
    out dx, al
    jmp .next
.done:
    pop rdx
    pop rax
    ret

newline:
    push rsi
    lea rsi, [rel msg_newline]
    call print
    pop rsi
    ret

; print RAX as 0x followed by 16 hex digits
print_hex:
    push rax
    push rbx
    push rcx
    push rsi
    mov rbx, rax
    lea rsi, [rel hex_buffer + 2]
    mov ecx, 16
.digit:
    rol rbx, 4
    mov eax, ebx
    and eax, 0xF
    lea rdx, [rel hex_digits]
    mov al, [rdx + rax]
    mov [rsi], al
    inc rsi
    loop .digit
    lea rsi, [rel hex_buffer]
    call print
    pop rsi
    pop rcx
    pop rbx
    pop rax
    ret

msg_hello:   db "Hello from long mode", 13, 10, 0
msg_efer:    db "IA32_EFER = ", 0
msg_cs:      db "CS        = ", 0
msg_product: db "0x123456789 * 0x1000000001 = ", 0
msg_rip:     db "RIP-relative address of long_mode = ", 0
msg_vendor:  db "CPUID vendor: ", 0
msg_bp:      db "INT3 through a 64-bit IDT gate, IST1 stack at ", 0
msg_iretq:   db "IRETQ back, RSP restored", 13, 10, 0
msg_done:    db "Long mode demo done", 13, 10, 0
msg_fail:    db "FAIL", 13, 10, 0
msg_newline: db 13, 10, 0
hex_digits:  db "0123456789abcdef"
hex_buffer:  db "0x0000000000000000", 0
vendor:      times 13 db 0

align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF                 ; 0x08: 32-bit code
    dq 0x00CF92000000FFFF                 ; 0x10: data
    dq 0x00AF9A000000FFFF                 ; 0x18: 64-bit code (L = 1, D = 0)
gdt_tss:
    dq 0x0000890000000067                 ; 0x20: 64-bit TSS (available), base filled in at run time
    dq 0                                  ;       base bits 63:32
gdt_end:
gdt_pointer:
    dw gdt_end - gdt - 1
    dq gdt                                ; LGDT in 32-bit code reads 4 bytes of base; 64-bit code 8
idt_pointer:
    dw 256 * 16 - 1
    dq idt

align 16
tss:
    times 104 db 0

load_end:

section .bss
alignb 4096
pml4:        resb 4096
pdpt:        resb 4096
pd:          resb 4096
idt:         resb 256 * 16
stack:       resb 8192
stack_top:
ist1:        resb 4096
ist1_top:
bss_end:
