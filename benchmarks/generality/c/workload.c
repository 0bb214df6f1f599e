/*
 * The C kernel of the generality check: compiler-generated code (gcc -O2, 32-bit, no SSE), not
 * hand-written loops. Eight sub-kernels of the kinds of code real guests run, each folded into one
 * checksum that is printed in hex on port 0xE9 before power-off (see cboot.asm for the boot).
 * No libc: memcpy and memset are defined here, since gcc emits calls to them.
 */
typedef unsigned int u32;
typedef unsigned char u8;
typedef unsigned long long u64;

#ifndef SCALE
#define SCALE 4 /* about 330 million instructions */
#endif

static inline void outb(unsigned short port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }

void *memcpy(void *d, const void *s, unsigned n) {
    u8 *dp = d;
    const u8 *sp = s;
    while (n--) *dp++ = *sp++;
    return d;
}

void *memset(void *d, int c, unsigned n) {
    u8 *dp = d;
    while (n--) *dp++ = (u8) c;
    return d;
}

/* The entry: cboot.asm jumps here in flat 32-bit protected mode. Zero the bss (the boot loads
 * only the file's bytes), set the stack, run. The magic word lets cboot.asm see whether the engine
 * loaded the whole image (Hotvisor) or only the boot sector (a BIOS). */
__asm__(".section .text.start, \"ax\"\n"
        ".long 0x43564847\n"
        ".globl _start\n"
        "_start:\n"
        "  mov $0x90000, %esp\n"
        "  mov $__bss_start, %edi\n"
        "  mov $__bss_end, %ecx\n"
        "  sub %edi, %ecx\n"
        "  xor %eax, %eax\n"
        "  cld\n"
        "  rep stosb\n"
        "  call cmain\n"
        "1: cli\n"
        "  hlt\n"
        "  jmp 1b\n"
        ".text\n");

static u32 seed = 12345;
static u32 rnd(void) { seed = seed * 1103515245u + 12345u; return seed >> 8; }

/* 1. Table-driven CRC-32 (byte loads, shifts, table lookups). */
static u32 crc_table[256];
static u8 buffer[16384];
static u32 crc32(const u8 *p, u32 n) {
    u32 c = 0xffffffffu;
    while (n--) c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
    return ~c;
}
static u32 k_crc(void) {
    for (u32 i = 0; i < 256; i++) {
        u32 c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
    for (u32 i = 0; i < sizeof buffer; i++) buffer[i] = (u8) rnd();
    u32 x = 0;
    for (int r = 0; r < 24 * SCALE; r++) { buffer[r] ^= (u8) x; x ^= crc32(buffer, sizeof buffer); }
    return x;
}

/* 2. Recursive quicksort (calls, compares, swaps, unpredictable branches). */
static int sort_data[30000];
static void quicksort(int *a, int lo, int hi) {
    while (lo < hi) {
        int p = a[(lo + hi) >> 1], i = lo, j = hi;
        while (i <= j) {
            while (a[i] < p) i++;
            while (a[j] > p) j--;
            if (i <= j) { int t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
        }
        if (j - lo < hi - i) { quicksort(a, lo, j); lo = i; } else { quicksort(a, i, hi); hi = j; }
    }
}
static u32 k_sort(void) {
    u32 x = 0;
    for (int r = 0; r < 4 * SCALE; r++) {
        int n = sizeof sort_data / sizeof sort_data[0];
        for (int i = 0; i < n; i++) sort_data[i] = (int) (rnd() & 0xfffff) - 0x80000;
        quicksort(sort_data, 0, n - 1);
        for (int i = 0; i < n; i += 97) x = x * 31 + (u32) sort_data[i];
    }
    return x;
}

/* 3. Sieve of Eratosthenes (byte stores, strided loops). */
static u8 composite[200000];
static u32 k_sieve(void) {
    u32 count = 0;
    for (int r = 0; r < 3 * SCALE; r++) {
        memset(composite, 0, sizeof composite);
        count = 0;
        for (u32 i = 2; i < sizeof composite; i++) {
            if (composite[i]) continue;
            count++;
            for (u32 j = i * 2; j < sizeof composite; j += i) composite[j] = 1;
        }
    }
    return count;
}

/* 4. Integer matrix multiply (IMUL, nested loops, 2-D indexing). */
#define N 48
static int ma[N][N], mb[N][N], mc[N][N];
static u32 k_matmul(void) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) { ma[i][j] = (int) (rnd() & 255) - 128; mb[i][j] = (int) (rnd() & 255) - 128; }
    u32 x = 0;
    for (int r = 0; r < 6 * SCALE; r++) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                int s = 0;
                for (int k = 0; k < N; k++) s += ma[i][k] * mb[k][j];
                mc[i][j] = s;
            }
        for (int i = 0; i < N; i++) { x = x * 33 + (u32) mc[i][(i * 7 + r) % N]; ma[i][r % N] ^= mc[i][i] & 7; }
    }
    return x;
}

/* 5. A bytecode interpreter: a switch the compiler turns into a jump table (indirect jumps). */
enum { OP_PUSH, OP_ADD, OP_SUB, OP_MUL, OP_DUP, OP_SWAP, OP_JNZ, OP_DEC, OP_XOR, OP_SHL, OP_POP, OP_HALT };
static const u8 program[] = {
    OP_PUSH, 0, OP_PUSH, 200,                        /* acc, counter */
    OP_SWAP, OP_PUSH, 3, OP_MUL, OP_PUSH, 7, OP_ADD,  /* acc = acc * 3 + 7 */
    OP_DUP, OP_PUSH, 5, OP_SHL, OP_XOR,               /* acc ^= acc << 5 */
    OP_SWAP, OP_DEC, OP_DUP, OP_JNZ, 4,               /* loop while --counter */
    OP_POP, OP_HALT,
};
static u32 run_vm(u32 start) {
    u32 stack[16];
    int sp = 0, pc = 0;
    stack[sp++] = start;
    for (;;) {
        switch (program[pc++]) {
        case OP_PUSH: stack[sp++] = program[pc++]; break;
        case OP_ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case OP_SUB: sp--; stack[sp - 1] -= stack[sp]; break;
        case OP_MUL: sp--; stack[sp - 1] *= stack[sp]; break;
        case OP_DUP: stack[sp] = stack[sp - 1]; sp++; break;
        case OP_SWAP: { u32 t = stack[sp - 1]; stack[sp - 1] = stack[sp - 2]; stack[sp - 2] = t; break; }
        case OP_JNZ: { u32 t = stack[--sp]; if (t) pc = program[pc]; else pc++; break; }
        case OP_DEC: stack[sp - 1]--; break;
        case OP_XOR: sp--; stack[sp - 1] ^= stack[sp]; break;
        case OP_SHL: sp--; stack[sp - 1] <<= stack[sp] & 31; break;
        case OP_POP: sp--; break;
        default: return stack[sp - 1] + stack[0];
        }
    }
}
static u32 k_vm(void) {
    u32 x = 0;
    for (int r = 0; r < 800 * SCALE; r++) x += run_vm(x + (u32) r);
    return x;
}

/* 6. Open-addressing hash table (multiplicative hashing, probing, 64-bit keys). */
#define SLOTS 16384
static u64 keys[SLOTS];
static u32 values[SLOTS];
static u32 k_hash(void) {
    u32 found = 0;
    for (int r = 0; r < 3 * SCALE; r++) {
        memset(keys, 0, sizeof keys);
        for (u32 i = 1; i <= SLOTS * 3 / 4; i++) {
            u64 k = (u64) rnd() << 20 ^ i;
            u32 h = (u32) ((k * 0x9e3779b97f4a7c15ull) >> 50);
            while (keys[h]) h = (h + 1) & (SLOTS - 1);
            keys[h] = k;
            values[h] = i;
        }
        for (u32 i = 0; i < SLOTS; i++) {
            u32 h = (u32) ((keys[i] * 0x9e3779b97f4a7c15ull) >> 50);
            while (keys[h] && keys[h] != keys[i]) h = (h + 1) & (SLOTS - 1);
            found += values[h];
        }
    }
    return found;
}

/* 7. Linked structures: a shuffled list walked by pointer (dependent loads), with struct copies. */
struct node { struct node *next; u32 value; u32 pad[2]; };
static struct node nodes[8192];
static u32 k_list(void) {
    static u32 order[8192];
    int n = sizeof nodes / sizeof nodes[0];
    for (int i = 0; i < n; i++) order[i] = (u32) i;
    for (int i = n - 1; i > 0; i--) { u32 j = rnd() % (u32) (i + 1), t = order[i]; order[i] = order[j]; order[j] = t; }
    for (int i = 0; i < n; i++) { nodes[order[i]].next = &nodes[order[(i + 1) % n]]; nodes[order[i]].value = (u32) i * 2654435761u; }
    u32 x = 0;
    struct node *p = &nodes[order[0]];
    for (int r = 0; r < 40 * n * SCALE; r++) { struct node c = *p; x = (x ^ c.value) * 16777619u; p = c.next; }
    return x;
}

/* 8. Text: a decimal formatter and a word counter over generated text (division by 10, bytes). */
static char text[32768];
static u32 k_text(void) {
    u32 len = 0;
    for (u32 i = 0; len + 16 < sizeof text; i++) {
        u32 v = rnd() % 100000;
        char digits[12];
        int d = 0;
        do { digits[d++] = (char) ('0' + v % 10); v /= 10; } while (v);
        while (d) text[len++] = digits[--d];
        text[len++] = (i % 7) ? ' ' : '\n';
    }
    u32 x = 0;
    for (int r = 0; r < 6 * SCALE; r++) {
        u32 words = 0, lines = 0, sum = 0, in = 0, num = 0;
        for (u32 i = 0; i < len; i++) {
            char c = text[i];
            if (c >= '0' && c <= '9') { num = num * 10 + (u32) (c - '0'); if (!in) { words++; in = 1; } }
            else { sum += num; num = 0; in = 0; if (c == '\n') lines++; }
        }
        x = x * 7 + words + lines * 3 + sum;
        text[r] = (char) ('1' + r % 9);
    }
    return x;
}

static void report(u32 v) {
    static const char hex[] = "0123456789abcdef";
    for (int i = 28; i >= 0; i -= 4) outb(0xe9, (u8) hex[(v >> i) & 15]);
    outb(0xe9, '\n');
    outb(0xf4, 0);                                      /* isa-debug-exit: QEMU, Hotvisor */
    for (const char *s = "Shutdown"; *s; s++) outb(0x8900, (u8) *s); /* Bochs */
    for (;;) __asm__ volatile("cli; hlt");
}

#ifndef KERNELS
#define KERNELS 0xff /* a bit per sub-kernel, to time one alone */
#endif

void cmain(void) {
    static u32 (*const kernels[])(void) = {k_crc, k_sort, k_sieve, k_matmul, k_vm, k_hash, k_list, k_text};
    u32 sum = 0;
    for (int i = 0; i < 8; i++)
        if (KERNELS >> i & 1) sum = sum * 3 + kernels[i]();
    report(sum);
}
