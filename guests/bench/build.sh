#!/usr/bin/env bash
# Rebuilds the benchmark guests (startup, compute, memcopy, exits, timer .img, and the -small variants
# that the JMH benchmarks boot) from their nasm sources
# and expected.txt (the line each must print) from bench_model.py, the engine-independent
# reference. With --check, also boots each image under QEMU (TCG) and checks its line and its
# isa-debug-exit status (1). Needs nasm (installed with apt-get if missing); --check needs
# qemu-system-i386. Sizes: -DROUNDS=N (compute, memcopy, exits) and -DTICKS=N (timer) in the
# sources; the committed images use the defaults there.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"
GUESTS=(startup compute memcopy exits timer)

install_missing() {
    echo "build.sh: installing $*" >&2
    if [ "$(id -u)" -eq 0 ]; then apt-get install -y -q "$@" >&2; else sudo apt-get install -y -q "$@" >&2; fi
}
command -v nasm >/dev/null || install_missing nasm

for g in "${GUESTS[@]}"; do
    nasm -f bin -o "$g.img" "$g.asm"
done
# Short variants for the JMH benchmarks (benchmarks/jmh), which boot a guest per operation
nasm -f bin -DROUNDS=20 -o compute-small.img compute.asm
nasm -f bin -DROUNDS=100 -o memcopy-small.img memcopy.asm
nasm -f bin -DROUNDS=20000 -o exits-small.img exits.asm
if command -v python3 >/dev/null; then
    python3 bench_model.py expect > expected.txt
else
    echo "build.sh: no python3; keeping the committed expected.txt" >&2
fi
ls -l ./*.img expected.txt

if [ "${1:-}" = "--check" ]; then
    command -v qemu-system-i386 >/dev/null || install_missing qemu-system-x86
    failed=0
    for g in "${GUESTS[@]}"; do
        expected="$(awk -F'\t' -v g="$g" '$1 == g { print $2 }' expected.txt)"
        start=$(date +%s%N)
        status=0
        out="$(timeout 120 qemu-system-i386 -display none -nodefaults -serial stdio \
            -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
            -drive if=floppy,format=raw,readonly=on,file="$g.img" </dev/null)" || status=$?
        end=$(date +%s%N)
        if [ "$status" -eq 1 ] && grep -qxF "$expected" <<<"${out//$'\r'/}"; then
            printf 'ok    %-8s %-32s QEMU %6.3f s\n' "$g" "$expected" "$(awk -v n=$((end - start)) 'BEGIN { print n / 1e9 }')"
        else
            printf 'FAIL  %-8s status %s, expected "%s", got "%s"\n' "$g" "$status" "$expected" "$out"
            failed=1
        fi
    done
    exit "$failed"
fi
