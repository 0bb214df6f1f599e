#!/usr/bin/env bash
# Hotvisor benchmark runner: ./hotvisor bench [options]  (or benchmarks/bench.sh [options])
#
# Runs each benchmark guest N times through `./hotvisor run IMG --format boot --stats-json F`,
# checks the line it must print and its status, and reports the median of the N runs (with
# min and max) of: instructions retired, guest seconds, MIPS, VM exits, ns per exit, wall seconds.
#
# Options:
#   --runs N         runs per image and engine (default 5)
#   --json           print JSON instead of tables
#   --save FILE      also write the JSON to FILE
#   --shared         also the shared yardsticks ../shared/bench/cpuloop.img and exitloop.img,
#                    and exitloop10m: exitloop.asm with 10M rounds (built with nasm), for the
#                    steady-state cost of an exit, (wall 10M - wall 1M) / 18M exits, the way
#                    ../shared/README.md measured Bochs and QEMU
#   --only A,B       only these guests (startup, compute, memcopy, exits, timer, cpuloop,
#                    exitloop, exitloop10m); net ns/exit needs startup, steady ns needs
#                    exitloop and exitloop10m
#   --compare        also run every image under QEMU (TCG) and Bochs (when installed) and
#                    compare the median wall times side by side
#   --engines LIST   engines to run, comma-separated: hotvisor, qemu, bochs
#                    (default hotvisor; --compare means hotvisor,qemu,bochs)
#   --timeout S      per run, seconds (default 300); the first failed run of an image on an
#                    engine ends that image's runs there
#   -h, --help       this text
# Hotvisor runs from a copy of launcher/target/dist taken at the start (a rebuild meanwhile
# cannot mix builds), after one unmeasured warm-up run per engine. The runs go in rounds: round i
# runs every image on every engine, so a host that drifts between fast and slow minutes meets
# all engines and images alike.
# Environment: HOTVISOR (command that runs Hotvisor instead, no copy), QEMU
# (qemu-system-i386), BOCHS (bochs), BXSHARE (Bochs ROMs, default /usr/share/bochs).
# Exit status: 0 when every run printed its line, 1 when some run failed, 2 on bad usage.
set -uo pipefail
{ # the whole script is one group: bash parses it all before running, so editing the file
  # while a benchmark runs cannot change what the running one does

ROOT="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
BENCH_GUESTS="$ROOT/guests/bench"
SHARED_BENCH="$ROOT/../shared/bench"
BOCHSRC="$ROOT/benchmarks/bochsrc"

runs=5
json=0
save=""
shared=0
only=""
engines="hotvisor"
timeout_s=300

usage() { sed -n "2,/^set -uo/{/^set -uo/d;s/^# \\{0,1\\}//;p}" "$0"; }
die() { echo "bench: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --runs) [ $# -ge 2 ] || die "--runs needs a number"; runs="$2"; shift ;;
        --runs=*) runs="${1#*=}" ;;
        --json) json=1 ;;
        --save) [ $# -ge 2 ] || die "--save needs a file"; save="$2"; shift ;;
        --save=*) save="${1#*=}" ;;
        --shared) shared=1 ;;
        --only) [ $# -ge 2 ] || die "--only needs names"; only="$2"; shift ;;
        --only=*) only="${1#*=}" ;;
        --compare) engines="hotvisor,qemu,bochs" ;;
        --engines) [ $# -ge 2 ] || die "--engines needs a list"; engines="$2"; shift ;;
        --engines=*) engines="${1#*=}" ;;
        --timeout) [ $# -ge 2 ] || die "--timeout needs seconds"; timeout_s="$2"; shift ;;
        --timeout=*) timeout_s="${1#*=}" ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
    shift
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive number, not '$runs'"
[[ "$timeout_s" =~ ^[1-9][0-9]*$ ]] || die "--timeout must be a positive number of seconds"

work="$(mktemp -d "${TMPDIR:-/tmp}/hotvisor-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# ---------------------------------------------------------------- the guests
# name, image, expected line, kind (startup: the fixed cost of a run; cpu: compute-bound;
# exit: exit-bound, ns/exit shown)
guest_names=()
declare -A guest_image guest_expected guest_kind

expected_of() { awk -F'\t' -v g="$1" '$1 == g { print $2 }' "$BENCH_GUESTS/expected.txt"; }

add_guest() {
    guest_names+=("$1")
    guest_image[$1]="$2"
    guest_expected[$1]="$3"
    guest_kind[$1]="$4"
}
add_guest startup "$BENCH_GUESTS/startup.img" "$(expected_of startup)" startup
add_guest compute "$BENCH_GUESTS/compute.img" "$(expected_of compute)" cpu
add_guest memcopy "$BENCH_GUESTS/memcopy.img" "$(expected_of memcopy)" cpu
add_guest exits "$BENCH_GUESTS/exits.img" "$(expected_of exits)" exit
add_guest timer "$BENCH_GUESTS/timer.img" "$(expected_of timer)" exit
if [ "$shared" = 1 ] || [[ ",$only," == *,cpuloop,* || ",$only," == *,exitloop,* ]]; then
    add_guest cpuloop "$SHARED_BENCH/cpuloop.img" "sum=366e6a1b" cpu
    add_guest exitloop "$SHARED_BENCH/exitloop.img" "exits done" exit
fi
if [ "$shared" = 1 ] || [[ ",$only," == *,exitloop10m,* ]]; then
    steady_img="$work/exitloop10m.img"
    steady_missing=""
    if ! command -v nasm >/dev/null 2>&1; then
        steady_missing="nasm not installed (apt-get install nasm)"
    elif nasm -f bin -DROUNDS=10000000 -o "$steady_img" "$SHARED_BENCH/exitloop.asm" 2>"$work/nasm.err"; then
        add_guest exitloop10m "$steady_img" "exits done" exit
    else
        steady_missing="nasm could not build $SHARED_BENCH/exitloop.asm: $(head -n 1 "$work/nasm.err")"
    fi
    if [ -n "$steady_missing" ]; then
        [[ ",$only," == *,exitloop10m,* ]] && die "exitloop10m: $steady_missing"
        echo "bench: no exitloop10m, so no steady-state exit cost: $steady_missing" >&2
    fi
fi
if [ -n "$only" ]; then
    selected=()
    IFS=',' read -r -a wanted <<<"$only"
    for w in "${wanted[@]}"; do
        [ -n "${guest_image[$w]:-}" ] || die "unknown guest '$w'"
        selected+=("$w")
    done
    guest_names=("${selected[@]}")
fi
for g in "${guest_names[@]}"; do
    [ -r "${guest_image[$g]}" ] || die "missing image ${guest_image[$g]} (guests/bench/build.sh builds them)"
    [ -n "${guest_expected[$g]}" ] || die "no expected line for $g in $BENCH_GUESTS/expected.txt"
done

# ---------------------------------------------------------------- the engines
IFS=',' read -r -a engine_list <<<"$engines"
read -r -a hotvisor_cmd <<<"${HOTVISOR:-$ROOT/hotvisor}"
QEMU="${QEMU:-qemu-system-i386}"
BOCHS="${BOCHS:-bochs}"
export BXSHARE="${BXSHARE:-/usr/share/bochs}"
active_engines=()
for e in "${engine_list[@]}"; do
    case "$e" in
        hotvisor)
            if [ -x "${hotvisor_cmd[0]}" ] || command -v "${hotvisor_cmd[0]}" >/dev/null 2>&1; then
                active_engines+=(hotvisor)
            else
                echo "bench: Hotvisor not found at '${hotvisor_cmd[0]}' (set HOTVISOR); skipping it" >&2
            fi ;;
        qemu)
            if command -v "$QEMU" >/dev/null 2>&1; then active_engines+=(qemu)
            else echo "bench: $QEMU not installed (apt-get install qemu-system-x86); skipping QEMU" >&2; fi ;;
        bochs)
            if ! command -v "$BOCHS" >/dev/null 2>&1; then
                echo "bench: $BOCHS not installed (apt-get install bochs bochsbios vgabios); skipping Bochs" >&2
            elif [ ! -r "$BXSHARE/VGABIOS-lgpl-latest" ]; then
                echo "bench: Bochs has no VGA ROM at $BXSHARE/VGABIOS-lgpl-latest (apt-get install vgabios); skipping Bochs" >&2
            else
                active_engines+=(bochs)
            fi ;;
        *) die "unknown engine '$e' (hotvisor, qemu, bochs)" ;;
    esac
done
[ ${#active_engines[@]} -gt 0 ] || die "no engine to run"

# Hotvisor runs from a copy of the distribution taken now, so that a rebuild while the benchmark
# runs (other people work in the same tree) cannot mix two builds in one table.
dist="$ROOT/launcher/target/dist"
snapshot=""
if [[ " ${active_engines[*]} " == *" hotvisor "* ]] && [ -z "${HOTVISOR:-}" ] \
        && [ -f "$dist/lib/hotvisor-launcher.jar" ] && [ -x "$ROOT/hotvisor" ]; then
    snapshot="$work/snapshot"
    mkdir -p "$snapshot/launcher/target"
    if cp -p "$ROOT/hotvisor" "$snapshot/" && cp -rp "$dist" "$snapshot/launcher/target/"; then
        [ -d "$ROOT/scripts" ] && cp -rp "$ROOT/scripts" "$snapshot/" # in case the script sources them
        hotvisor_cmd=("$snapshot/hotvisor")
    else
        echo "bench: could not copy the distribution; running ./hotvisor directly" >&2
        snapshot=""
    fi
fi

now_ns() { date +%s%N; }

# json_number FILE KEY: the first top-level "KEY": number in the kernel's --stats-json output
json_number() {
    sed -n "s/^[[:space:]]*\"$2\":[[:space:]]*\\([0-9.][0-9.]*\\).*/\\1/p" "$1" | head -n 1
}
# handler_nanos FILE: the sum of the per-reason totalNanos (time spent handling exits)
handler_nanos() {
    grep -o '"totalNanos":[[:space:]]*[0-9]*' "$1" | awk -F: '{ s += $2 } END { printf "%d\n", s }'
}

# One run: sets run_status, run_ok (1/0), run_wall_ns, run_out (stdout file), run_err, run_stats.
run_once() {
    local engine="$1" guest="$2" i="$3" img="${guest_image[$2]}"
    run_out="$work/$engine.$guest.$i.out"
    run_err="$work/$engine.$guest.$i.err"
    run_stats="$work/$engine.$guest.$i.json"
    local start end
    start=$(now_ns)
    case "$engine" in
        hotvisor)
            # Hotvisor's own --timeout ends the guest (status 124); the outer one catches a stuck JVM.
            timeout $((timeout_s + 60)) "${hotvisor_cmd[@]}" run "$img" --format boot --stats-json "$run_stats" \
                --timeout "$timeout_s" </dev/null >"$run_out" 2>"$run_err" ;;
        qemu)
            timeout "$timeout_s" "$QEMU" -display none -nodefaults -serial stdio \
                -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
                -drive if=floppy,format=raw,readonly=on,file="$img" </dev/null >"$run_out" 2>"$run_err" ;;
        bochs)
            # Debian's Bochs has its debugger built in and stops at the first instruction: "c"
            # continues. Bochs ignores isa-debug-exit; the guests stop it through port 0x8900,
            # and its exit status says nothing about the guest. Port 0xE9 output is on stdout.
            printf 'c\n' | timeout "$timeout_s" "$BOCHS" -q -f "$BOCHSRC" \
                "floppya: 1_44=$img, status=inserted" >"$run_out" 2>"$run_err" ;;
    esac
    run_status=$?
    end=$(now_ns)
    run_wall_ns=$((end - start))
    run_ok=0
    if tr -d '\r' <"$run_out" | grep -aqF -- "${guest_expected[$guest]}"; then
        case "$engine" in
            bochs) run_ok=1 ;;
            *) [ "$run_status" -eq 1 ] && run_ok=1 ;; # isa-debug-exit 0 -> (0 << 1) | 1
        esac
    fi
}

# stats VALUES...: "median min max" (median of an even count: the mean of the middle two)
stats() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "- - -"; exit }
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.12g %.12g %.12g\n", m, v[1], v[NR] }'
}

# Results: res[engine,guest,metric] = "median min max"; ok[engine,guest] = "passed/runs"; why[...]
declare -A res ok why
metrics=(instructions guest_s mips exits ns_per_exit net_ns_per_exit loop_ns_per_exit handler_ns_per_exit wall_s)
declare -A startup_wall_ns # per engine: the median wall time of startup.img

progress() { [ -t 2 ] && printf '\r\033[K%s' "$*" >&2; }

for engine in "${active_engines[@]}"; do
    # one unmeasured run first: page cache, the JVM's class-data archive, QEMU's and Bochs's ROMs
    progress "bench: $engine warm-up"
    guest_image[warmup]="${guest_image[startup]:-$BENCH_GUESTS/startup.img}"
    guest_expected[warmup]="startup ok"
    run_once "$engine" warmup 0
done

# Rounds, not blocks: round i runs every image on every engine, one engine after the other, so
# all engines (and exitloop and exitloop10m, whose difference is the steady-state figure) meet a
# host that drifts between fast and slow minutes alike. Per run: "wall_ns ins guest_ns exits
# handler_ns" (the last four "-" without Hotvisor's statistics).
declare -A runs_of passed_of stopped
for ((i = 1; i <= runs; i++)); do
    for guest in "${guest_names[@]}"; do
        for engine in "${active_engines[@]}"; do
            [ -n "${stopped[$engine,$guest]:-}" ] && continue
            progress "bench: round $i/$runs: $guest on $engine"
            run_once "$engine" "$guest" "$i"
            if [ "$run_ok" -ne 1 ]; then
                why[$engine,$guest]="run $i: status $run_status; stdout: $(tr -d '\r' <"$run_out" | tail -c 200 | tr '\n' ' '); stderr: $(tail -n 3 "$run_err" | tr '\n' ' ' | cut -c1-300)"
                [ $i -lt $runs ] && why[$engine,$guest]+=" (the remaining runs were skipped)"
                stopped[$engine,$guest]=1 # a broken guest or engine: repeating it only costs time
                continue
            fi
            passed_of[$engine,$guest]=$((${passed_of[$engine,$guest]:-0} + 1))
            if [ "$engine" = hotvisor ] && [ -s "$run_stats" ]; then
                ins="$(json_number "$run_stats" instructions)"
                gns="$(json_number "$run_stats" guestNanos)"
                exi="$(json_number "$run_stats" exits)"
                runs_of[$engine,$guest]+="$run_wall_ns ${ins:-0} ${gns:-0} ${exi:-0} $(handler_nanos "$run_stats");"
            else
                runs_of[$engine,$guest]+="$run_wall_ns - - - -;"
            fi
        done
    done
done

for engine in "${active_engines[@]}"; do
    # startup.img first: its median wall time is what "net ns" subtracts
    ordered=()
    for guest in "${guest_names[@]}"; do [ "${guest_kind[$guest]}" = startup ] && ordered+=("$guest"); done
    for guest in "${guest_names[@]}"; do [ "${guest_kind[$guest]}" = startup ] || ordered+=("$guest"); done
    for guest in "${ordered[@]}"; do
        declare -a v_instructions=() v_guest_s=() v_mips=() v_exits=() v_ns_per_exit=() v_net_ns_per_exit=() \
            v_loop_ns_per_exit=() v_handler_ns_per_exit=() v_wall_s=()
        ok[$engine,$guest]="${passed_of[$engine,$guest]:-0}/$runs"
        why[$engine,$guest]="${why[$engine,$guest]:-}"
        IFS=';' read -r -a one_runs <<<"${runs_of[$engine,$guest]:-}"
        for r in "${one_runs[@]}"; do
            read -r run_wall_ns ins gns exi hns <<<"$r"
            [ -n "${run_wall_ns:-}" ] || continue
            v_wall_s+=("$(awk -v n="$run_wall_ns" 'BEGIN { printf "%.6f", n / 1e9 }')")
            [ "$ins" = "-" ] && continue
            v_instructions+=("$ins")
            v_guest_s+=("$(awk -v n="$gns" 'BEGIN { printf "%.6f", n / 1e9 }')")
            v_mips+=("$(awk -v i="$ins" -v n="$gns" 'BEGIN { printf "%.3f", (n > 0) ? i * 1000 / n : 0 }')")
            v_exits+=("$exi")
            if [ "$exi" -gt 0 ]; then
                v_ns_per_exit+=("$(awk -v w="$run_wall_ns" -v e="$exi" 'BEGIN { printf "%.1f", w / e }')")
                if [ -n "${startup_wall_ns[$engine]:-}" ]; then
                    v_net_ns_per_exit+=("$(awk -v w="$run_wall_ns" -v s="${startup_wall_ns[$engine]}" -v e="$exi" \
                        'BEGIN { printf "%.1f", (w - s) / e }')")
                fi
                v_handler_ns_per_exit+=("$(awk -v h="$hns" -v e="$exi" 'BEGIN { printf "%.1f", h / e }')")
                v_loop_ns_per_exit+=("$(awk -v g="$gns" -v h="$hns" -v e="$exi" 'BEGIN { printf "%.1f", (g + h) / e }')")
            fi
        done
        if [ "${guest_kind[$guest]}" = startup ] && [ ${#v_wall_s[@]} -gt 0 ]; then
            startup_wall_ns[$engine]="$(stats "${v_wall_s[@]}" | awk '{ printf "%.0f", $1 * 1e9 }')"
        fi
        for m in "${metrics[@]}"; do
            declare -n arr="v_$m"
            if [ ${#arr[@]} -gt 0 ]; then res[$engine,$guest,$m]="$(stats "${arr[@]}")"; else res[$engine,$guest,$m]="- - -"; fi
            unset -n arr
        done
    done
done
progress ""

# ---------------------------------------------------------------- output
field() { # field ENGINE GUEST METRIC INDEX(1 median, 2 min, 3 max)
    local v="${res[$1,$2,$3]:-- - -}"
    awk -v i="$4" '{ print $i }' <<<"$v"
}
fmt() { # fmt VALUE DECIMALS: "-" stays "-"
    [ "$1" = "-" ] && { echo "-"; return; }
    awk -v v="$1" -v d="$2" 'BEGIN { printf "%.*f", d, v }'
}
fmt_int() { [ "$1" = "-" ] && { echo "-"; return; }; awk -v v="$1" 'BEGIN { printf "%.0f", v }'; }
# steady ENGINE: ns per exit in steady state, (median wall of exitloop10m - median wall of
# exitloop) / the exits between them (10M - 1M rounds of two exits each); "-" without both
steady() {
    local w10 w1
    w10="$(field "$1" exitloop10m wall_s 1)"
    w1="$(field "$1" exitloop wall_s 1)"
    if [ "$w10" = "-" ] || [ "$w1" = "-" ]; then echo "-"; return; fi
    awk -v a="$w10" -v b="$w1" 'BEGIN { printf "%.1f", (a - b) * 1e9 / 18e6 }'
}

any_failed=0
for k in "${!ok[@]}"; do [ "${ok[$k]%%/*}" = "${ok[$k]##*/}" ] || any_failed=1; done

machine="$(nproc 2>/dev/null || echo ?) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n1)"
load="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
# what was measured: the commit (and whether the tree had changes) and when the CPU bundle was built
build="commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
[ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null | head -n 1)" ] && build+=" + uncommitted changes"
cpu_jar="$ROOT/launcher/target/dist/bundles/hotvisor-vmx-cpu.jar"
[ -n "$snapshot" ] && cpu_jar="$snapshot/launcher/target/dist/bundles/hotvisor-vmx-cpu.jar"
if [ -n "${HOTVISOR:-}" ]; then
    build+=", Hotvisor run as HOTVISOR=$HOTVISOR"
elif [ -f "$cpu_jar" ]; then
    build+=", vmx-cpu bundle built $(date -u -r "$cpu_jar" +%Y-%m-%dT%H:%MZ)"
fi

json_report() {
    num() { [ "$1" = "-" ] && echo null || echo "$1"; }
    jstr() { # a JSON string: control characters dropped, backslash and quote escaped
        local s
        s="$(printf '%s' "$1" | tr -d '\000-\037')"
        s="${s//\\/\\\\}"
        s="${s//\"/\\\"}"
        printf '"%s"' "$s"
    }
    printf '{\n  "date": "%s",\n  "machine": %s,\n  "loadAverage": %s,\n  "build": %s,\n  "runs": %d,\n' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(jstr "$machine")" "$(jstr "$load")" "$(jstr "$build")" "$runs"
    printf '  "definitions": {"steadyNsPerExit": "(median wall time of exitloop10m - median wall time of exitloop) / 18M exits", "nsPerExit": "process wall time / VM exits", "netNsPerExit": "(process wall time - median wall time of startup.img) / VM exits", "loopNsPerExit": "(guestNanos + kernel exit-handling time) / VM exits: the vCPU run loop alone", "handlerNsPerExit": "kernel exit-handling time (sum of per-reason totalNanos) / VM exits", "statistic": "median, min, max over the passing runs"},\n'
    printf '  "results": ['
    sep=""
    for engine in "${active_engines[@]}"; do
        for guest in "${guest_names[@]}"; do
            printf '%s\n    {"engine": "%s", "guest": "%s", "kind": "%s", "expected": %s, "passed": "%s"' \
                "$sep" "$engine" "$guest" "${guest_kind[$guest]}" "$(jstr "${guest_expected[$guest]}")" "${ok[$engine,$guest]}"
            [ -n "${why[$engine,$guest]}" ] && printf ', "lastFailure": %s' "$(jstr "${why[$engine,$guest]}")"
            for m in "${metrics[@]}"; do
                key="$(sed -E 's/_(.)/\U\1/g' <<<"$m")"
                read -r med lo hi <<<"${res[$engine,$guest,$m]}"
                [ "$med" = "-" ] && continue
                printf ', "%s": {"median": %s, "min": %s, "max": %s}' "$key" "$(num "$med")" "$(num "$lo")" "$(num "$hi")"
            done
            printf '}'
            sep=","
        done
    done
    printf '\n  ],\n  "steadyNsPerExit": {'
    sep=""
    for engine in "${active_engines[@]}"; do
        printf '%s"%s": %s' "$sep" "$engine" "$(num "$(steady "$engine")")"
        sep=", "
    done
    printf '}\n}\n'
}
[ -n "$save" ] && json_report >"$save"
if [ "$json" = 1 ]; then
    json_report
    exit "$any_failed"
fi

echo "Benchmarks: $runs run(s) each; median, then min and max, of the passing runs"
echo "machine: $machine; load average at the end: $load; $(date -u +%Y-%m-%dT%H:%MZ)"
echo "build: $build"
echo "guest s = time inside VMLAUNCH/VMRESUME (guestNanos); MIPS = instructions / guest s;"
echo "ns/exit = process wall time / VM exits (exit-bound guests only); net ns = the same less the median"
echo "wall time of startup.img (process start-up, VM set-up, boot, power-off); loop ns = (guest time + kernel"
echo "exit-handling time) / VM exits, the run loop alone; handle ns = kernel exit-handling time / VM exits"

if [[ " ${active_engines[*]} " == *" hotvisor "* ]]; then
    echo
    printf '%-11s %14s %9s %9s %10s %9s %9s %9s %9s %9s  %s\n' guest instructions "guest s" MIPS exits "ns/exit" "net ns" \
        "loop ns" "handle ns" "wall s" runs
    for guest in "${guest_names[@]}"; do
        for row in 1 2 3; do
            label="$guest"; [ $row = 2 ] && label="  min"; [ $row = 3 ] && label="  max"
            [ $row -gt 1 ] && [ "$runs" -eq 1 ] && continue
            nspe="-"; netnspe="-"; loopnspe="-"; hnspe="-"
            if [ "${guest_kind[$guest]}" = exit ]; then
                nspe="$(fmt "$(field hotvisor "$guest" ns_per_exit $row)" 0)"
                netnspe="$(fmt "$(field hotvisor "$guest" net_ns_per_exit $row)" 0)"
                loopnspe="$(fmt "$(field hotvisor "$guest" loop_ns_per_exit $row)" 0)"
                hnspe="$(fmt "$(field hotvisor "$guest" handler_ns_per_exit $row)" 0)"
            fi
            ins=""; exi=""; passed=""
            if [ $row = 1 ]; then
                ins="$(fmt_int "$(field hotvisor "$guest" instructions 1)")"
                exi="$(fmt_int "$(field hotvisor "$guest" exits 1)")"
                passed="${ok[hotvisor,$guest]} ok"
            fi
            printf '%-11s %14s %9s %9s %10s %9s %9s %9s %9s %9s  %s\n' "$label" "$ins" \
                "$(fmt "$(field hotvisor "$guest" guest_s $row)" 3)" "$(fmt "$(field hotvisor "$guest" mips $row)" 1)" \
                "$exi" "$nspe" "$netnspe" "$loopnspe" "$hnspe" "$(fmt "$(field hotvisor "$guest" wall_s $row)" 3)" "$passed"
        done
    done
fi

if [ ${#active_engines[@]} -gt 1 ] || [[ " ${active_engines[*]} " != *" hotvisor "* ]]; then
    echo
    echo "Whole-process wall seconds, median of $runs (min-max); ratio = Hotvisor / engine"
    header=$(printf '%-11s' guest)
    for engine in "${active_engines[@]}"; do header+=$(printf ' %22s' "$engine"); done
    for engine in "${active_engines[@]}"; do
        [ "$engine" = hotvisor ] && continue
        [[ " ${active_engines[*]} " == *" hotvisor "* ]] && header+=$(printf ' %12s' "hv/$engine")
    done
    echo "$header"
    for guest in "${guest_names[@]}"; do
        line=$(printf '%-11s' "$guest")
        for engine in "${active_engines[@]}"; do
            med="$(field "$engine" "$guest" wall_s 1)"
            if [ "$med" = "-" ]; then
                cell="FAILED ${ok[$engine,$guest]}"
            else
                cell="$(fmt "$med" 3) ($(fmt "$(field "$engine" "$guest" wall_s 2)" 2)-$(fmt "$(field "$engine" "$guest" wall_s 3)" 2))"
            fi
            line+=$(printf ' %22s' "$cell")
        done
        hv="$(field hotvisor "$guest" wall_s 1)"
        for engine in "${active_engines[@]}"; do
            [ "$engine" = hotvisor ] && continue
            [[ " ${active_engines[*]} " == *" hotvisor "* ]] || continue
            other="$(field "$engine" "$guest" wall_s 1)"
            if [ "$hv" = "-" ] || [ "$other" = "-" ]; then ratio="-"
            else ratio="$(awk -v a="$hv" -v b="$other" 'BEGIN { printf "%.2fx", a / b }')"; fi
            line+=$(printf ' %12s' "$ratio")
        done
        echo "$line"
    done
fi

if [[ " ${guest_names[*]} " == *" exitloop10m "* && " ${guest_names[*]} " == *" exitloop "* ]]; then
    echo
    echo "Steady-state cost of an exit (CPUID or OUT): (wall exitloop10m - wall exitloop) / 18M exits,"
    echo "medians; ../shared/README.md measured Bochs and QEMU this way (per round = 2 exits)"
    for engine in "${active_engines[@]}"; do
        st="$(steady "$engine")"
        if [ "$st" = "-" ]; then
            printf '  %-9s -\n' "$engine"
        else
            printf '  %-9s %7s ns per exit, %7s ns per round\n' "$engine" "$st" "$(awk -v v="$st" 'BEGIN { printf "%.1f", 2 * v }')"
        fi
    done
fi

if [ "$any_failed" = 1 ]; then
    echo
    echo "FAILED runs (last failure of each):"
    for engine in "${active_engines[@]}"; do
        for guest in "${guest_names[@]}"; do
            [ -n "${why[$engine,$guest]}" ] && echo "  $engine $guest (${ok[$engine,$guest]} ok): ${why[$engine,$guest]}"
        done
    done
fi
exit "$any_failed"
}
