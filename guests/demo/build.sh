#!/usr/bin/env bash
# Rebuilds the demo guest images from demo.asm: demo.img (4 lines, then power-off) and
# demo-forever.img (ticks until stopped). Needs nasm; installs it with apt-get if missing.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v nasm >/dev/null; then
    echo "build.sh: installing nasm" >&2
    if [ "$(id -u)" -eq 0 ]; then apt-get install -y -q nasm >&2; else sudo apt-get install -y -q nasm >&2; fi
fi
nasm -f bin -DROUNDS=4 -o demo.img demo.asm
nasm -f bin -DROUNDS=0 -o demo-forever.img demo.asm
ls -l demo.img demo-forever.img
