#!/usr/bin/env bash
# Builds the C kernel of the generality check into OUTDIR: ckernel.img (boot sector + payload, for
# Hotvisor's --format boot) and ckernel.flp (the same padded to a 1.44 MB floppy, for QEMU and
# Bochs, whose BIOS loads only the boot sector). Extra arguments go to gcc (-DSCALE=n, -DKERNELS=mask).
#   benchmarks/generality/c/build.sh OUTDIR [GCC-OPTIONS...]     (needs gcc, binutils, nasm)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: $0 OUTDIR [GCC-OPTIONS...]" >&2; exit 2; }
out=$1
shift
for tool in gcc ld objcopy nasm; do
    command -v "$tool" >/dev/null || { echo "$tool not installed (apt-get install gcc binutils nasm)" >&2; exit 2; }
done
mkdir -p "$out"
# 32-bit, no SSE or MMX (the boot leaves CR4.OSFXSR clear), no libc, no stack protector.
gcc -m32 -O2 -march=i686 -mno-sse -mno-mmx -ffreestanding -fno-builtin -fno-pic -fno-pie \
    -fno-stack-protector -fno-asynchronous-unwind-tables -nostdlib "$@" \
    -c "$here/workload.c" -o "$out/workload.o"
ld -m elf_i386 --no-warn-rwx-segments -T "$here/workload.ld" -o "$out/workload.elf" "$out/workload.o"
objcopy -O binary "$out/workload.elf" "$out/workload.bin"
sectors=$(( ($(stat -c %s "$out/workload.bin") + 511) / 512 ))
[ "$sectors" -le 17 ] || { echo "the payload needs $sectors sectors: cboot.asm reads at most 17 (one track)" >&2; exit 1; }
nasm -f bin -i "$here/../" -DSECTORS=17 -o "$out/cboot.bin" "$here/cboot.asm"
cat "$out/cboot.bin" "$out/workload.bin" >"$out/ckernel.img"
cp "$out/ckernel.img" "$out/ckernel.flp"
truncate -s 1474560 "$out/ckernel.flp"
