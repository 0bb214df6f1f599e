#!/usr/bin/env bash
# Generality check: nine small compute kernels that are not in ./hotvisor bench, and a C kernel
# (c/workload.c, compiled by gcc: code no hand has tuned), each run on
# Hotvisor, QEMU (TCG) and Bochs in rounds. Prints, per kernel, the median wall time of each
# engine, Hotvisor's guest MIPS (run --stats) and whether every run of every engine printed the
# same checksum (exit status 1 if not; 2 for bad usage or no nasm).
#   benchmarks/generality/run.sh [RUNS]        (default 3; needs nasm, gcc, binutils, qemu-system-i386, bochs)
# See benchmarks/README.md, "Generality".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ $# -le 1 ] || { echo "usage: $0 [RUNS]" >&2; exit 2; }
runs=${1:-3}
case "$runs" in ''|*[!0-9]*|0) echo "usage: $0 [RUNS]  (RUNS: a positive number, not '$runs')" >&2; exit 2 ;; esac
command -v nasm >/dev/null || { echo "nasm not installed (apt-get install nasm)" >&2; exit 2; }
kernels=(calls divmul realmode bitops strings x87 sse2 mixed paging)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for k in "${kernels[@]}"; do
    nasm -f bin -i "$here/" -o "$work/$k.img" "$here/$k.asm" || { echo "nasm failed on $k.asm" >&2; exit 1; }
    cp "$work/$k.img" "$work/$k.flp" # a boot sector boots as is from a floppy
done
# The C kernel: boot sector + payload; a BIOS loads the payload from the floppy, Hotvisor loads all.
"$here/c/build.sh" "$work/c" || { echo "building the C kernel failed" >&2; exit 2; }
cp "$work/c/ckernel.img" "$work/ckernel.img"
cp "$work/c/ckernel.flp" "$work/ckernel.flp"
kernels+=(ckernel)
export BXSHARE=${BXSHARE:-/usr/share/bochs}
engines=(hotvisor)
command -v qemu-system-i386 >/dev/null && engines+=(qemu) || echo "no qemu-system-i386: skipping QEMU" >&2
command -v bochs >/dev/null && engines+=(bochs) || echo "no bochs: skipping Bochs" >&2
now_ns() { date +%s%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A wall mips sum differs
for ((i = 1; i <= runs; i++)); do
    for k in "${kernels[@]}"; do
        img="$work/$k.img"
        floppy="$work/$k.flp"
        for e in "${engines[@]}"; do
            out="$work/$e.$k.out"
            t0=$(now_ns)
            case "$e" in
                hotvisor) "$root/hotvisor" run "$img" --format boot --stats --timeout 300 </dev/null >"$out" 2>&1 ;;
                qemu) timeout 300 qemu-system-i386 -display none -nodefaults -debugcon stdio \
                        -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
                        -drive if=floppy,format=raw,readonly=on,file="$floppy" </dev/null >"$out" 2>&1 ;;
                bochs) printf 'c\n' | timeout 300 bochs -q -f "$root/benchmarks/bochsrc" \
                        "floppya: 1_44=$floppy, status=inserted" >"$out" 2>&1 ;;
            esac
            t1=$(now_ns)
            wall[$e.$k]+="$(( (t1 - t0) / 1000000 )) "
            got=$(tr -d '\r' <"$out" | grep -aoE '^[0-9a-f]{8}$' | head -1)
            # every run of every engine must print what the first run printed
            [ -n "${sum[$k]+set}" ] || sum[$k]=$got
            [ -n "$got" ] && [ "$got" = "${sum[$k]}" ] || differs[$k]+=" $e(run $i)=${got:-none}"
            if [ "$e" = hotvisor ]; then
                mips[$k]+="$(grep -aoE '[0-9.]+ MIPS' "$out" | head -1 | cut -d' ' -f1) "
            fi
        done
    done
done
printf '%-9s' kernel
for e in "${engines[@]}"; do printf ' %12s' "$e ms"; done
printf ' %14s  %s\n' "Hotvisor MIPS" "checksum"
status=0
for k in "${kernels[@]}"; do
    printf '%-9s' "$k"
    for e in "${engines[@]}"; do printf ' %12s' "$(tr ' ' '\n' <<<"${wall[$e.$k]}" | grep . | median)"; done
    printf ' %14s' "$(tr ' ' '\n' <<<"${mips[$k]}" | grep . | median)"
    if [ -z "${differs[$k]:-}" ]; then printf '  %s (all engines, all runs)\n' "${sum[$k]}"; else
        printf '  DIFFERS from %s:%s\n' "${sum[$k]:-none}" "${differs[$k]}"; status=1; fi
done
exit $status
