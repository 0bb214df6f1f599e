#!/usr/bin/env bash
# Tests bench.sh without Java, QEMU or Bochs: a fake Hotvisor prints each guest's line (or a
# wrong one) and writes --stats-json in the kernel's format with known numbers. Checks the
# medians, min and max, the JSON, the line check, fail-fast and the option errors.
# Prints "N passed, N failed"; exit status 0 when all passed.
set -uo pipefail
here="$(cd "$(dirname "$(readlink -f "$0")")" && pwd)"
bench="$here/bench.sh"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/test-bench.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

check() { # check NAME CONDITION-COMMAND...
    local name="$1"
    shift
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $name" >&2
    fi
}

# The fake: run k of an image reports guestNanos (k-th of 3e9, 1e9, 2e9) and 500 exits;
# FAKE_MODE=wrong prints a wrong line; every call is logged.
cat >"$tmp/fake-hotvisor" <<'EOF'
#!/usr/bin/env bash
img="$2"; stats=""
while [ $# -gt 0 ]; do [ "$1" = --stats-json ] && stats="$2"; shift; done
name="$(basename "$img" .img)"
echo "$name" >>"$FAKE_DIR/calls"
count=$(grep -c "^$name\$" "$FAKE_DIR/calls")
nanos=(0 3000000000 1000000000 2000000000)
line="$(awk -F'\t' -v g="$name" '$1 == g { print $2 }' "$FAKE_EXPECTED")"
case "$name" in exitloop*) line="exits done" ;; esac
[ "$name" = exitloop10m ] && sleep 0.9 # 0.9 s more than exitloop: 50 ns per exit of the 18M between them
if [ "${FAKE_MODE:-}" = wrong ]; then echo "garbage"; else echo "$line"; fi
cat >"$stats" <<JSON
{
  "instructions": 1000000000,
  "guestNanos": ${nanos[$(( (count - 1) % 3 + 1 ))]},
  "mips": 0.0,
  "exits": 500,
  "entryFailures": 0,
  "byReason": {"CPUID": 500},
  "reasons": [
    {"reason": 10, "name": "CPUID", "count": 500, "share": 1.0000, "totalNanos": 50000, "minNanos": 1, "avgNanos": 100, "maxNanos": 1000, "swapWaitNanos": 0, "faults": 0, "overBudget": 0, "handler": "fake"}
  ]
}
JSON
exit 1
EOF
chmod +x "$tmp/fake-hotvisor"
export FAKE_DIR="$tmp" FAKE_EXPECTED="$here/../guests/bench/expected.txt" HOTVISOR="$tmp/fake-hotvisor"

# medians, min, max in JSON: guest seconds 3, 1, 2 -> median 2, min 1, max 3
: >"$tmp/calls"
bench_json="$("$bench" --runs 3 --only exits --json)"
status=$?
check "all runs pass: status 0" [ "$status" -eq 0 ]
check "JSON parses" python3 -c 'import json,sys; json.loads(sys.argv[1])' "$bench_json"
field() { python3 -c 'import json,sys; r=json.loads(sys.argv[1])["results"][0]; print(r[sys.argv[2]][sys.argv[3]])' "$bench_json" "$1" "$2"; }
check "median guest seconds" [ "$(field guestS median)" = 2 ]
check "min guest seconds" [ "$(field guestS min)" = 1 ]
check "max guest seconds" [ "$(field guestS max)" = 3 ]
check "median MIPS = 1e9 instructions / 2 s" [ "$(field mips median)" = 500 ]
check "exits" [ "$(field exits median)" = 500 ]
check "handler ns per exit = 50000 / 500" [ "$(field handlerNsPerExit median)" = 100 ]
check "passed 3/3" [ "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["results"][0]["passed"])' "$bench_json")" = 3/3 ]
check "a warm-up run and three measured runs" [ "$(wc -l <"$tmp/calls")" -eq 4 ]

# even number of runs: the mean of the middle two (3, 1 -> 2)
: >"$tmp/calls"
bench_json="$("$bench" --runs 2 --only compute --json)"
check "median of two runs" [ "$(field guestS median)" = 2 ]

# the table
: >"$tmp/calls"
table="$("$bench" --runs 3 --only startup,exits)"
check "table has the exits row with its median guest s" grep -qE '^exits +1000000000 +2\.000 +500\.0 +500 ' <<<"$table"
check "loop ns per exit = (2e9 + 50000) / 500" [ "$(field loopNsPerExit median)" = 4000100 ]
check "table has min and max rows" grep -qE '^  max +3\.000' <<<"$table"

# rounds, not blocks: every image once per round, so all meet the same minutes of the host
: >"$tmp/calls"
"$bench" --runs 2 --only startup,exits >/dev/null 2>&1
check "runs interleave by round: warm-up, startup, exits, startup, exits" \
    [ "$(tr '\n' ' ' <"$tmp/calls")" = "startup startup exits startup exits " ]

# a wrong line fails, and the remaining runs are skipped
: >"$tmp/calls"
out="$(FAKE_MODE=wrong "$bench" --runs 5 --only compute 2>&1)"
status=$?
check "a wrong line: status 1" [ "$status" -eq 1 ]
check "a wrong line is reported" grep -q "FAILED runs" <<<"$out"
check "fail-fast: one warm-up and one measured run" [ "$(wc -l <"$tmp/calls")" -eq 2 ]

# the steady-state exit cost from exitloop and exitloop10m (needs ../shared and nasm, as CI has)
if [ -r "$here/../../shared/bench/exitloop.asm" ] && command -v nasm >/dev/null 2>&1; then
    : >"$tmp/calls"
    out="$("$bench" --runs 1 --only exitloop,exitloop10m 2>&1)"
    check "steady-state line" grep -qE '^  hotvisor +[0-9.]+ ns per exit' <<<"$out"
    steady="$(sed -nE 's/^  hotvisor +([0-9.]+) ns per exit.*/\1/p' <<<"$out")"
    check "steady state = 0.9 s / 18M exits = 50 ns (sleep jitter allowed)" \
        awk -v v="${steady:-0}" 'BEGIN { exit !(v >= 49 && v < 60) }'
    bench_json="$("$bench" --runs 1 --only exitloop,exitloop10m --json)"
    check "steadyNsPerExit in JSON" python3 -c 'import json,sys; v=json.loads(sys.argv[1])["steadyNsPerExit"]["hotvisor"]; sys.exit(not (49 <= v < 60))' "$bench_json"
else
    echo "test-bench: ../shared or nasm missing: steady-state checks skipped" >&2
fi

# usage errors
"$bench" --runs 0 >/dev/null 2>&1
check "--runs 0 is refused with status 2" [ $? -eq 2 ]
"$bench" --only nosuchguest >/dev/null 2>&1
check "an unknown guest is refused with status 2" [ $? -eq 2 ]
"$bench" --engines vmware >/dev/null 2>&1
check "an unknown engine is refused with status 2" [ $? -eq 2 ]
# exitloop10m asked for by name without nasm: refused with the reason (a PATH without nasm)
mkdir "$tmp/bin"
for tool in /usr/bin/* /bin/*; do
    name="$(basename "$tool")"
    [ "$name" = nasm ] || [ -e "$tmp/bin/$name" ] || ln -s "$tool" "$tmp/bin/$name"
done
err="$(PATH="$tmp/bin" "$bench" --only exitloop10m 2>&1 >/dev/null)"
status=$?
check "exitloop10m without nasm is refused with status 2" [ "$status" -eq 2 ]
check "and the error names nasm" grep -q "exitloop10m: nasm not installed" <<<"$err"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
