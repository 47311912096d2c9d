#!/usr/bin/env bash
# Instruction-count gate: runs a fixed set of deterministic workloads under
# valgrind's callgrind and compares each one's total instructions (Ir, summed
# over every process the workload forks) with tests/bench/instructions.tsv.
#
#   ./scripts/gate-instructions.sh [--update] [--tolerance PCT]
#
#   --update          measure and rewrite the baseline file (accepts a change)
#   --tolerance PCT   allowed growth in percent (default 1)
#
# Builds weir and the benchmarks in RelWithDebInfo in build-gate. The
# workloads run at most GATE_JOBS at a time (default: the number of cores).
# WEIR_INSTRUCTIONS_BASELINE overrides the baseline file.
#
# Every workload is deterministic: the simulator's runs replay from their
# seed, and the log benchmark does a fixed amount of work. Repeated runs differ
# by less than 0.001 %; the tolerance is there for changes in code, not noise.
# Counts depend on the compiler, glibc, SimGrid and the CPU's features (glibc
# and CRC-32C pick code by CPU), so the baseline belongs to the CI machine.
#
# Exit 0: every workload within the tolerance (one that got cheaper by more
# than the tolerance passes with a hint to --update). Exit 1: a workload grew
# past the tolerance, failed, or has no baseline. Exit 2: bad usage or setup.
set -euo pipefail

baseline_override=${WEIR_INSTRUCTIONS_BASELINE:-}
if [ -n "$baseline_override" ] && [[ "$baseline_override" != /* ]]; then
  baseline_override="$PWD/$baseline_override"
fi
cd "$(dirname "$0")/.."
baseline=${baseline_override:-tests/bench/instructions.tsv}
build="build-gate"

update=0
tolerance=1
usage() {
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --update) update=1 ;;
    --tolerance)
      [ $# -ge 2 ] || usage
      tolerance=$2
      shift
      ;;
    --tolerance=*) tolerance=${1#*=} ;;
    -h | --help) usage ;;
    *) echo "gate-instructions: unknown argument $1" >&2; usage ;;
  esac
  shift
done
if ! [[ "$tolerance" =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
  echo "gate-instructions: --tolerance takes a percentage, not '$tolerance'" >&2
  exit 2
fi

# The workloads: name, then the command run from the repository root. Leading
# VAR=VALUE words are set in the environment. Longest first (they run in
# parallel). Changing a command means running --update.
workloads=(
  "scenario_unclean_off|$build/weir sim scenarios/unclean-election.yaml --variant unclean-off"
  "bench_sim_events|$build/tests/bench_sim_events 5000 1"
  "sim_demo|$build/weir sim demo --duration 4s"
  "bench_log|WEIR_BENCH_LOG_APPEND_MIB=8 WEIR_BENCH_LOG_MIB=16 WEIR_BENCH_LOG_LOOKUPS=20000 WEIR_BENCH_LOG_ROUNDS=1 $build/tests/bench_log"
)

./scripts/deps.sh
for tool in valgrind cmake; do
  if ! command -v "$tool" >/dev/null; then
    echo "gate-instructions: $tool is not installed" >&2
    exit 2
  fi
done

start=$(date +%s)
echo "== building weir and the benchmarks (RelWithDebInfo, $build)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target weir bench_sim_events bench_log >/dev/null
built=$(date +%s)

work=$(mktemp -d "${TMPDIR:-/tmp}/weir-gate-instructions.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Splits a workload command into its environment words and the program line.
env_words() {
  local w
  for w in $1; do
    if [[ "$w" != *=* ]]; then break; fi
    printf '%s ' "$w"
  done
}
prog_words() {
  local w seen=0 out=()
  for w in $1; do
    if [ $seen -eq 0 ] && [[ "$w" == *=* ]]; then continue; fi
    seen=1
    out+=("$w")
  done
  echo "${out[*]}"
}

# The command a person runs to see one workload's profile.
repro_cmd() {
  local envs prog
  envs=$(env_words "$1")
  prog=$(prog_words "$1")
  echo "${envs}valgrind --tool=callgrind --callgrind-out-file=/tmp/callgrind.%p $prog" \
    "&& callgrind_annotate /tmp/callgrind.<pid>"
}

# Runs one workload under callgrind; writes its total Ir to $work/NAME.ir, its
# wall seconds to $work/NAME.s, and its status to $work/NAME.rc.
run_one() {
  local name=$1 cmd=$2 envs prog t0 rc
  envs=$(env_words "$cmd")
  prog=$(prog_words "$cmd")
  mkdir -p "$work/$name"
  t0=$(date +%s)
  rc=0
  # shellcheck disable=SC2086 # the words are meant to split
  env $envs valgrind --tool=callgrind --callgrind-out-file="$work/$name/callgrind.%p" \
    $prog >"$work/$name.out" 2>"$work/$name.err" || rc=$?
  echo $(( $(date +%s) - t0 )) >"$work/$name.s"
  awk '/^totals:/ { s += $2 } END { printf "%.0f\n", s }' "$work/$name"/callgrind.* \
    >"$work/$name.ir" 2>/dev/null || echo 0 >"$work/$name.ir"
  echo "$rc" >"$work/$name.rc"
}

jobs=${GATE_JOBS:-$(nproc)}
echo "== running ${#workloads[@]} workloads under callgrind, $jobs at a time"
for w in "${workloads[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
    wait -n || true
  done
  run_one "${w%%|*}" "${w#*|}" &
done
wait

# A workload whose program failed gives no usable count.
failed=()
for w in "${workloads[@]}"; do
  name=${w%%|*}
  if [ "$(cat "$work/$name.rc")" != 0 ] || [ "$(cat "$work/$name.ir")" = 0 ]; then
    failed+=("$name")
    echo "gate-instructions: $name failed (exit $(cat "$work/$name.rc")); its last output:" >&2
    tail -5 "$work/$name.err" "$work/$name.out" >&2
  fi
done

if [ $update -eq 1 ]; then
  if [ ${#failed[@]} -gt 0 ]; then
    echo "gate-instructions: baseline not updated: ${failed[*]} failed" >&2
    exit 1
  fi
  {
    echo "# Instructions (callgrind Ir, every process summed) per workload, for"
    echo "# ./scripts/gate-instructions.sh; rewritten by ./scripts/gate-instructions.sh --update."
    cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
    echo "# Measured on $(uname -m) with $("${cc:-cc}" --version 2>/dev/null | head -1)," \
      "$(ldd --version 2>/dev/null | head -1 | sed 's/^ldd //'), SimGrid $(pkg-config --modversion simgrid 2>/dev/null || echo '?')," \
      "$(valgrind --version)."
    echo "# name	instructions	command"
    for w in "${workloads[@]}"; do
      printf '%s\t%s\t%s\n' "${w%%|*}" "$(cat "$work/${w%%|*}.ir")" "${w#*|}"
    done
  } >"$baseline"
  echo "== wrote $baseline"
  printf '%-22s %16s %6s\n' workload instructions wall
  for w in "${workloads[@]}"; do
    name=${w%%|*}
    printf '%-22s %16s %5ss\n' "$name" "$(cat "$work/$name.ir")" "$(cat "$work/$name.s")"
  done
  echo "== gate took $(( $(date +%s) - start )) s (build $(( built - start )) s)"
  exit 0
fi

if [ ! -f "$baseline" ]; then
  echo "gate-instructions: no baseline file $baseline; create it with ./scripts/gate-instructions.sh --update" >&2
  exit 1
fi

bad=()
faster=()
printf '%-22s %16s %16s %8s %5s  %s\n' workload baseline now ratio wall verdict
for w in "${workloads[@]}"; do
  name=${w%%|*}
  cmd=${w#*|}
  now=$(cat "$work/$name.ir")
  line=$(awk -F'\t' -v n="$name" '!/^#/ && $1 == n { print; exit }' "$baseline")
  base=$(printf '%s' "$line" | cut -f2)
  base_cmd=$(printf '%s' "$line" | cut -f3)
  ratio="-"
  if [[ " ${failed[*]} " == *" $name "* ]]; then
    verdict="FAIL (workload failed)"
    bad+=("$name")
  elif [ -z "$line" ] || ! [[ "$base" =~ ^[0-9]+$ ]] || [ "$base" -eq 0 ]; then
    verdict="FAIL (no baseline)"
    bad+=("$name")
  elif [ "$base_cmd" != "$cmd" ]; then
    verdict="FAIL (baseline measured with another command)"
    bad+=("$name")
  else
    ratio=$(awk -v a="$now" -v b="$base" 'BEGIN { printf "%.4f", a / b }')
    verdict=$(awk -v r="$ratio" -v t="$tolerance" 'BEGIN {
      if (r > 1 + t / 100) print "FAIL"; else if (r < 1 - t / 100) print "ok (cheaper)"; else print "ok" }')
    [ "$verdict" = FAIL ] && bad+=("$name")
    [ "$verdict" = "ok (cheaper)" ] && faster+=("$name")
  fi
  printf '%-22s %16s %16s %8s %4ss  %s\n' "$name" "${base:--}" "$now" "$ratio" \
    "$(cat "$work/$name.s")" "$verdict"
done
echo "== gate took $(( $(date +%s) - start )) s (build $(( built - start )) s), tolerance $tolerance %"

if [ ${#bad[@]} -gt 0 ]; then
  keep="$build/callgrind"
  rm -rf "$keep"
  mkdir -p "$keep"
  echo
  echo "instruction gate: FAIL: ${bad[*]}"
  for name in "${bad[@]}"; do
    for w in "${workloads[@]}"; do
      [ "${w%%|*}" = "$name" ] || continue
      cp -r "$work/$name" "$keep/$name"
      cp "$work/$name.out" "$work/$name.err" "$keep/$name/" 2>/dev/null || true
      echo "  $name: profiles kept in $keep/$name/ (callgrind_annotate FILE)"
      echo "    reproduce: $(repro_cmd "${w#*|}")"
    done
  done
  echo "  a deliberate change: ./scripts/gate-instructions.sh --update, and commit $baseline"
  exit 1
fi
if [ ${#faster[@]} -gt 0 ]; then
  echo "instruction gate: pass; ${faster[*]} got cheaper by more than $tolerance %:" \
    "lock it in with ./scripts/gate-instructions.sh --update"
else
  echo "instruction gate: pass"
fi
