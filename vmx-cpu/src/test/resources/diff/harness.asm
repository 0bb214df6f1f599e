; Hotvisor differential-test harness (see DifferentialTest.java).
;
; ONE flat binary, loaded at 0x100000, that runs identically on
;  - QEMU TCG:  qemu-system-i386 -kernel harness.bin  (Multiboot 1, a.out kludge: header flag
;               bit 16, so QEMU takes load/entry addresses from the header, not from an ELF), and
;  - Hotvisor:  the test loads the same bytes at 0x100000 and VM-enters at `entry` in 32-bit
;               flat protected mode.
; Both environments start in 32-bit protected mode with paging off; the harness loads its own
; GDT and IDT first, so everything after the first few instructions sees the same machine.
;
; Per test case (generated into cases.inc / data.inc), in 32-bit code or, for a quarter of them, in
; a 16-bit code segment (CASE_BEGIN16):
;   copy the scratch area and the test stack from the case's table record, load EFLAGS and
;   EAX..EDI (not ESP) from the record, ESP = TEST_STACK_TOP, run the generated instructions,
;   save the registers and EFLAGS, print on COM1 one line:
;     C <case> <eax> <ecx> <edx> <ebx> <esp> <ebp> <esi> <edi> <eflags & mask> <sum scratch> <sum stack>
;   An exception prints instead
;     X <case> <vector> <eip> <error code> <eax> ... <sum stack>   (the state when it was raised)
;   and the harness moves on to the next case. The exception frame is zeroed before the stack
;   checksum (the pushed EFLAGS may hold undefined flags, the CS slot's upper half is not specified).
; At the end it prints "E" and writes to the isa-debug-exit port 0xF4.
;
; The harness itself uses only MOV, ADD, AND, XOR, ROL, DEC, JNZ/JZ/JMP, CALL/RET, PUSH/POP,
; PUSHFD/POPFD, IN/OUT, LGDT/LIDT/LLDT and far JMPs, so it works on a CPU that is still young.

bits 32

%define LOAD_ADDRESS      0x100000
%define SCRATCH           0x8000        ; scratch data area, reachable by 16-bit addressing too
%define SCRATCH_SIZE      128
%define TEST_STACK        0x9000        ; test stack area (checksummed as well)
%define TEST_STACK_SIZE   128
%define TEST_STACK_TOP    (TEST_STACK + 64)
%define HARNESS_STACK     0x80000
%define COM1              0x3f8
%define COM1_LSR          (COM1 + 5)
%define LSR_THRE          0x20          ; 16550 LSR bit 5: transmitter holding register empty
%define DEBUG_EXIT_PORT   0xf4
%define CR0_MP            0x2
%define CR0_EM            0x4
%define CR0_TS            0x8
%define CR0_NE            0x20
%define CR4_OSFXSR        0x200
%define CR4_OSXMMEXCPT    0x400
%define CODE_SELECTOR     0x08
%define DATA_SELECTOR     0x10
%define CODE16_SELECTOR   0x18          ; 16-bit code segment, based at the current 16-bit case
%define RECORD_SIZE       (32 + SCRATCH_SIZE + TEST_STACK_SIZE)

org LOAD_ADDRESS

; ---- Multiboot 1 header with the a.out kludge (Multiboot spec 0.6.96, section 3.1) ----
MB_MAGIC equ 0x1BADB002
MB_FLAGS equ 0x00010000                 ; bit 16: the address fields below are valid
multiboot_header:
    dd MB_MAGIC
    dd MB_FLAGS
    dd -(MB_MAGIC + MB_FLAGS)
    dd multiboot_header                 ; header_addr
    dd LOAD_ADDRESS                     ; load_addr
    dd load_end                         ; load_end_addr
    dd bss_end                          ; bss_end_addr
    dd entry                            ; entry_addr

entry:
    cli
    lgdt [gdtr]
    jmp CODE_SELECTOR:.reload
.reload:
    mov eax, DATA_SELECTOR
    mov ds, eax
    mov es, eax
    mov fs, eax
    mov gs, eax
    mov ss, eax
    mov esp, HARNESS_STACK
    ; IDT: 32 interrupt gates (SDM 3A 6.11, Figure 6-2) to the exception stubs
    mov esi, isr_table
    mov edi, idt
    mov ecx, 32
.gate:
    mov eax, [esi]
    mov [edi], ax                       ; offset 15:0
    mov word [edi + 2], CODE_SELECTOR
    and eax, 0xffff0000                 ; offset 31:16
    add eax, 0x8e00                     ; P=1, DPL=0, 32-bit interrupt gate
    mov [edi + 4], eax
    add esi, 4
    add edi, 8
    dec ecx
    jnz .gate
    lidt [idtr]
    ; x87/SSE cases (FloatCaseGenerator): CR0.MP and CR0.NE (native #MF), EM and TS clear; CR4.OSFXSR
    ; and CR4.OSXMMEXCPT (SDM 3A 2.5, 13.1.3). Under the test's VMM CR4.VMXE is owned by the host
    ; (guest/host mask) and reads as 0, so writing it back as 0 causes no exit.
    mov eax, cr0
    and eax, ~(CR0_EM | CR0_TS)
    or eax, CR0_MP | CR0_NE
    mov cr0, eax
    mov eax, cr4
    or eax, CR4_OSFXSR | CR4_OSXMMEXCPT
    mov cr4, eax
    fninit
    ; A null LDT: QEMU leaves LDTR in its reset state (base 0, limit 0xffff), the VMM starts the
    ; guest with LDTR unusable; LAR/LSL/VERR on TI=1 selectors must see the same machine.
    xor eax, eax
    lldt ax
    jmp cases_begin

; ---- output ----
; COM1 output. Both UART models (QEMU's 16550 and the test's VMM) accept a byte at any time; the
; harness still checks LSR.THRE, once per line: every port access is a VM exit on Hotvisor, and one
; poll per line instead of per byte halves the exits of a run.
wait_transmitter:
    push edx
    push eax
    mov edx, COM1_LSR
.wait:
    in al, dx
    and al, LSR_THRE
    jz .wait
    pop eax
    pop edx
    ret

putc:                                   ; AL -> COM1
    push edx
    mov edx, COM1
    out dx, al
    pop edx
    ret

put_hex_spaced:                         ; ' ' then EAX as 8 hex digits
    push eax
    mov al, ' '
    call putc
    pop eax
put_hex:
    push ecx
    push ebx
    mov ebx, eax
    mov ecx, 8
.digit:
    rol ebx, 4
    mov eax, ebx
    and eax, 15
    mov al, [hex_digits + eax]
    call putc
    dec ecx
    jnz .digit
    pop ebx
    pop ecx
    ret

checksum:                               ; ESI = area, ECX = dwords -> EAX
    xor eax, eax
.next:
    rol eax, 5
    xor eax, [esi]
    add eax, 0x9e3779b9
    add esi, 4
    dec ecx
    jnz .next
    ret

; Copies the scratch area and the test stack of the record at ESI.
load_memory:
    add esi, 32
    mov edi, SCRATCH
    mov ecx, SCRATCH_SIZE / 4
.s: mov eax, [esi]
    mov [edi], eax
    add esi, 4
    add edi, 4
    dec ecx
    jnz .s
    mov edi, TEST_STACK
    mov ecx, TEST_STACK_SIZE / 4
.t: mov eax, [esi]
    mov [edi], eax
    add esi, 4
    add edi, 4
    dec ecx
    jnz .t
    ret

; Prints " <eax> ... <edi> <eflags & current_mask> <sum scratch> <sum stack>" and a newline.
print_state:
    mov eax, [saved_eax]
    call put_hex_spaced
    mov eax, [saved_ecx]
    call put_hex_spaced
    mov eax, [saved_edx]
    call put_hex_spaced
    mov eax, [saved_ebx]
    call put_hex_spaced
    mov eax, [saved_esp]
    call put_hex_spaced
    mov eax, [saved_ebp]
    call put_hex_spaced
    mov eax, [saved_esi]
    call put_hex_spaced
    mov eax, [saved_edi]
    call put_hex_spaced
    mov eax, [saved_eflags]
    and eax, [current_mask]
    call put_hex_spaced
    mov esi, SCRATCH
    mov ecx, SCRATCH_SIZE / 4
    call checksum
    call put_hex_spaced
    mov esi, TEST_STACK
    mov ecx, TEST_STACK_SIZE / 4
    call checksum
    call put_hex_spaced
    mov al, 10
    call putc
    ret

; Prints the "C" line of the current case. Runs on the harness stack.
dump_case:
    call wait_transmitter
    mov al, 'C'
    call putc
    mov eax, [current_case]
    call put_hex_spaced
    jmp print_state

; ---- exceptions: print "X case vector eip error" and continue with the next case ----
%assign vector 0
%rep 32
isr_ %+ vector:
%if vector == 8 || vector == 10 || vector == 11 || vector == 12 || vector == 13 || vector == 14 || vector == 17 || vector == 21
    push dword vector                   ; the CPU pushed an error code (SDM 3A 6.13)
%else
    push dword 0
    push dword vector
%endif
    jmp isr_common
%assign vector vector + 1
%endrep

; Stack here: vector, error code, EIP, CS, EFLAGS (20 bytes below the ESP of the faulting code).
isr_common:
    mov [saved_eax], eax
    mov [saved_ecx], ecx
    mov [saved_edx], edx
    mov [saved_ebx], ebx
    mov [saved_ebp], ebp
    mov [saved_esi], esi
    mov [saved_edi], edi
    mov eax, esp
    add eax, 20
    mov [saved_esp], eax
    mov eax, [esp]
    mov [exception_vector], eax
    mov eax, [esp + 4]
    mov [exception_error], eax
    mov eax, [esp + 8]
    mov [exception_eip], eax
    mov eax, [esp + 16]
    mov [saved_eflags], eax
    xor eax, eax
    mov [esp], eax
    mov [esp + 4], eax
    mov [esp + 8], eax
    mov [esp + 12], eax
    mov [esp + 16], eax
    mov esp, HARNESS_STACK
    push dword 0x2                      ; a known EFLAGS (DF = 0, IF = 0)
    popfd
    call wait_transmitter
    mov al, 'X'
    call putc
    mov eax, [current_case]
    call put_hex_spaced
    mov eax, [exception_vector]
    call put_hex_spaced
    mov eax, [exception_eip]
    call put_hex_spaced
    mov eax, [exception_error]
    call put_hex_spaced
    call print_state
    jmp [resume_address]

; Called after the last case.
finish:
    mov esp, HARNESS_STACK
    call wait_transmitter
    mov al, 'E'
    call putc
    mov al, 10
    call putc
    mov edx, DEBUG_EXIT_PORT
    xor eax, eax
    out dx, al
.halt:
    cli
    hlt
    jmp .halt

; Per-case prologue and epilogue, used by cases.inc.
; CASE_BEGIN index, record label, next-case label, EFLAGS mask
%macro CASE_BEGIN 4
    mov esp, HARNESS_STACK
    mov dword [current_case], %1
    mov dword [resume_address], %3
    mov dword [current_mask], %4
    mov esi, %2
    call load_memory
    push dword [%2 + 28]
    popfd
    mov eax, [%2 + 0]
    mov ecx, [%2 + 4]
    mov edx, [%2 + 8]
    mov ebx, [%2 + 12]
    mov ebp, [%2 + 16]
    mov esi, [%2 + 20]
    mov edi, [%2 + 24]
    mov esp, TEST_STACK_TOP
%endmacro

; CASE_BEGIN16 index, record label, next-case label, EFLAGS mask, case code label:
; the case runs in a 16-bit code segment (CS.D = 0) whose base is its first instruction, so its
; offsets stay below 64 KiB wherever the image puts it; SS stays the 32-bit flat segment. The
; generated code returns with a far JMP to CODE_SELECTOR:case_N_end.
%macro CASE_BEGIN16 5
    mov esp, HARNESS_STACK
    mov eax, %5
    mov [gdt + CODE16_SELECTOR + 2], ax ; base 15:0
    rol eax, 16
    mov [gdt + CODE16_SELECTOR + 4], al ; base 23:16
    mov [gdt + CODE16_SELECTOR + 7], ah ; base 31:24
    CASE_BEGIN %1, %2, %3, %4
    jmp CODE16_SELECTOR:0
%endmacro

%macro CASE_END 0
    mov [saved_eax], eax
    mov [saved_ecx], ecx
    mov [saved_edx], edx
    mov [saved_ebx], ebx
    mov [saved_esp], esp
    mov [saved_ebp], ebp
    mov [saved_esi], esi
    mov [saved_edi], edi
    mov esp, HARNESS_STACK
    pushfd
    pop dword [saved_eflags]
    push dword 0x2
    popfd
    call dump_case
%endmacro

cases_begin:
%include "cases.inc"
    jmp finish

; ---- data ----
align 4
isr_table:
%assign vector 0
%rep 32
    dd isr_ %+ vector
%assign vector vector + 1
%endrep
hex_digits: db "0123456789abcdef"
align 8
; The accessed bits are preset: QEMU TCG does not set them on a far JMP, hardware does (SDM 3A
; 3.4.5.1); LAR would see the difference.
gdt:
    dq 0
    dq 0x00cf9b000000ffff               ; 0x08: code, base 0, limit 4 GiB, 32-bit, accessed
    dq 0x00cf93000000ffff               ; 0x10: data, base 0, limit 4 GiB, 32-bit, accessed
    dq 0x000099000000ffff               ; 0x18: code, execute-only, 16-bit, limit 64 KiB, accessed; base set per case
gdtr:
    dw gdtr - gdt - 1
    dd gdt
align 8
idtr:
    dw 32 * 8 - 1
    dd idt
align 4
current_case:     dd 0
current_mask:     dd 0
resume_address:   dd finish
exception_vector: dd 0
exception_error:  dd 0
exception_eip:    dd 0
saved_eax:    dd 0
saved_ecx:    dd 0
saved_edx:    dd 0
saved_ebx:    dd 0
saved_esp:    dd 0
saved_ebp:    dd 0
saved_esi:    dd 0
saved_edi:    dd 0
saved_eflags: dd 0
align 4
; case records: eax ecx edx ebx ebp esi edi eflags, then scratch bytes, then test-stack bytes
%include "data.inc"
align 8
idt: times 32 * 8 db 0
load_end:
bss_end:
