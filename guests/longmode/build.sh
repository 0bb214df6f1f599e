#!/usr/bin/env bash
# Rebuilds longmode.img from longmode.asm (a Multiboot a.out-kludge kernel that enters long mode).
# Needs nasm; installs it with apt-get if missing.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v nasm >/dev/null; then
    echo "build.sh: installing nasm" >&2
    if [ "$(id -u)" -eq 0 ]; then apt-get install -y -q nasm >&2; else sudo apt-get install -y -q nasm >&2; fi
fi
nasm -f bin -o longmode.img longmode.asm
ls -l longmode.img
