#!/usr/bin/env python3
"""Reference models of the benchmark guests: computes, independently of any x86 engine, the
line each guest must print. build.sh writes expected.txt from it (and --check boots each image
under QEMU against it); bench.sh and the JMH benchmarks read expected.txt
(``bench_model.py expect``).

    bench_model.py compute [ROUNDS]     compute.img's line
    bench_model.py memcopy [ROUNDS]     memcopy.img's line
    bench_model.py exits [ROUNDS]       exits.img's line
    bench_model.py timer [TICKS]        timer.img's line
    bench_model.py startup              startup.img's line
    bench_model.py expect               every image's line (build.sh's images), "name<TAB>line"
"""
import sys
import zlib

MASK32 = 0xFFFFFFFF


def rol32(v, n):
    v &= MASK32
    return ((v << n) | (v >> (32 - n))) & MASK32


# ---------------------------------------------------------------- compute.asm
COMPUTE_ROUNDS = 500
ELEMENTS = 512
SIEVE_SIZE = 32768
SIEVE_VARIATION = 1023
LCG_MUL, LCG_ADD, LCG_SEED = 1664525, 1013904223, 12345


def primes_below(limit):
    composite = bytearray(limit)
    p = 2
    while p * p < limit:
        if not composite[p]:
            composite[p * p::p] = b"\x01" * len(range(p * p, limit, p))
        p += 1
    return limit - 2 - sum(composite[2:])


def compute(rounds=COMPUTE_ROUNDS):
    seed, total = LCG_SEED, 0
    prime_counts = {}
    for r in range(rounds):
        array = []
        for _ in range(ELEMENTS):
            seed = (seed * LCG_MUL + LCG_ADD) & MASK32
            array.append(seed)
        array.sort()
        crc = zlib.crc32(b"".join(v.to_bytes(4, "little") for v in array))
        limit = SIEVE_SIZE - (r & SIEVE_VARIATION)
        if limit not in prime_counts:
            prime_counts[limit] = primes_below(limit)
        total = ((rol32(total, 7) ^ crc) + prime_counts[limit] + array[ELEMENTS // 2]) & MASK32
    return "compute sum=%08x" % total


# ---------------------------------------------------------------- memcopy.asm
MEMCOPY_ROUNDS = 2000
SRC, DST, TMP = 0x20000, 0x40000, 0x60000
BUFFER = 0x10000
# (size, source offset, destination offset): as the table in memcopy.asm
COPIES = [(16, 0, 0), (61, 1, 3), (256, 0, 2), (1000, 3, 1), (4096, 0, 0), (4093, 2, 1),
          (16384, 1, 1), (30001, 3, 0)]
BYTE_LOOP_MAX = 4096
POKE_MUL, POKE_XOR = 7919, 0x5A
MUTATE_MUL = 0x9E3779B1
FILL_MUL = 0x01010101


def memcopy(rounds=MEMCOPY_ROUNDS):
    mem = bytearray(0x70000)

    def rd(a):
        return int.from_bytes(mem[a:a + 4], "little")

    def wr(a, v):
        mem[a:a + 4] = (v & MASK32).to_bytes(4, "little")

    v = 1
    for i in range(BUFFER // 4 + 1):
        v = (v * 1103515245 + 12345) & MASK32
        wr(SRC + 4 * i, v)
    total = 0
    for r in range(rounds):
        a = SRC + ((r * 4) & 0xFFFC)
        wr(a, rd(a) ^ ((r * MUTATE_MUL) & MASK32))
        for size, so, do in COPIES:
            s, d = SRC + so, DST + do
            # fill: REP STOSD
            pattern = (r * FILL_MUL) & MASK32
            mem[d:d + (size >> 2) * 4] = pattern.to_bytes(4, "little") * (size >> 2)
            # memcpy: REP MOVSD then REP MOVSB for the tail
            mem[d:d + size] = mem[s:s + size]
            # poke one byte, REPE CMPSB finds it
            pos = ((r * POKE_MUL) & MASK32) % size
            mem[d + pos] ^= POKE_XOR
            remaining = size - pos - 1
            total ^= remaining
            # backward REP MOVSB (DF=1) restores the destination
            mem[d:d + size] = mem[s:s + size]
            if size <= BYTE_LOOP_MAX:
                mem[TMP:TMP + size] = mem[d:d + size]
                d = TMP
            total = (rol32(total, 5) + rd(d)) & MASK32
            total ^= rd(d + size - 4)
    return "memcopy sum=%08x" % total


# ---------------------------------------------------------------- exits.asm, timer.asm
EXITS_ROUNDS = 200000
TIMER_TICKS = 20000


def exits(rounds=EXITS_ROUNDS):
    return "exits rounds=%d bad=0" % rounds


def timer(ticks=TIMER_TICKS):
    return "timer ticks=%d" % ticks


# The -small images that build.sh makes for the JMH benchmarks: rounds
SMALL_VARIANTS = {"compute": 20, "memcopy": 100, "exits": 20000}

def startup():
    return "startup ok"


MODELS = {"startup": startup, "compute": compute, "memcopy": memcopy, "exits": exits, "timer": timer}

if __name__ == "__main__":
    if len(sys.argv) < 2 or (sys.argv[1] not in MODELS and sys.argv[1] != "expect"):
        sys.exit(__doc__)
    if sys.argv[1] == "expect":
        for name, model in MODELS.items():
            print("%s\t%s" % (name, model()))
        for name, rounds in SMALL_VARIANTS.items():
            print("%s-small\t%s" % (name, MODELS[name](rounds)))
    else:
        args = [int(a) for a in sys.argv[2:]]
        print(MODELS[sys.argv[1]](*args))
