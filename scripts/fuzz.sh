#!/usr/bin/env bash
# Fuzzes record-batch decoding and log recovery (tests/fuzz/fuzz_log.c) with
# libFuzzer + ASan + UBSan for FUZZ_SECONDS (default 60), after replaying the
# saved crash inputs in tests/fuzz/crashes/. Installs clang if missing. Builds
# into build-fuzz/; new corpus inputs go to build-fuzz/corpus (the seeds in
# tests/fuzz/corpus are only read), crash inputs to build-fuzz/artifacts/.
# Exits non-zero on any crash, sanitizer report or failed check, and while any
# saved crash input still fails (each stays in tests/fuzz/crashes/ as a
# regression test once its bug is fixed).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
seconds=${FUZZ_SECONDS:-60}
out=build-fuzz
bin=$out/fuzz_log

# ---- tools: installed if missing, as scripts/deps.sh does ----
# Without Recommends: clang's pull in llvm-14-dev (270 MB) that fuzzing does not need.
install_missing() {
  local missing=()
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "weir: installing ${missing[*]}" >&2
    local sudo_cmd=""
    if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
}
# llvm: llvm-symbolizer, so sanitizer stacks show functions and lines.
install_missing clang llvm pkg-config libuv1-dev
# libFuzzer's runtime: inside clang's packages on older releases, its own package on newer ones.
if [ ! -f "$(clang -print-file-name=libclang_rt.fuzzer-x86_64.a)" ]; then
  install_missing libclang-rt-dev
fi
installed=$(date +%s)

# ---- build: log and core code instrumented for coverage, the env backend not ----
mkdir -p "$out/obj" "$out/corpus" "$out/artifacts"
uv_cflags=$(pkg-config --cflags libuv)
uv_libs=$(pkg-config --libs libuv)
base_flags=(-std=gnu11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra
            -fsanitize=address,undefined -fno-sanitize-recover=undefined -Iimpl $uv_cflags)
objs=()
compile() { # compile SRC EXTRA_FLAGS...
  local src=$1; shift
  local obj=$out/obj/$(echo "${src%.c}" | tr / _).o
  clang "${base_flags[@]}" "$@" -c "$src" -o "$obj"
  objs+=("$obj")
}
for src in impl/core/*.c impl/log/*.c; do
  compile "$src" -fsanitize=fuzzer-no-link
done
for src in impl/env/env.c impl/env/timer_heap.c impl/env/uv_*.c; do
  compile "$src"
done
compile tests/fuzz/fuzz_log.c -fsanitize=fuzzer-no-link -Werror
clang -fsanitize=fuzzer,address,undefined "${objs[@]}" -o "$bin" $uv_libs -lm
built=$(date +%s)

# Seeds: committed in tests/fuzz/corpus; rewritten by the target itself if missing.
if [ -z "$(ls -A tests/fuzz/corpus 2>/dev/null)" ]; then
  mkdir -p tests/fuzz/corpus
  WEIR_FUZZ_WRITE_SEEDS=tests/fuzz/corpus "$bin"
fi

# Each run gets its own scratch folder (tmpfs when there is one), removed on exit.
scratch_parent=/tmp
if [ -d /dev/shm ] && [ -w /dev/shm ]; then scratch_parent=/dev/shm; fi
scratch=$(mktemp -d "$scratch_parent/weir-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export WEIR_FUZZ_TMPDIR=$scratch
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

fail() { # fail LOGFILE
  echo "fuzz_log: FAILED; the end of $1:" >&2
  tail -n 60 "$1" >&2
  for f in "$out"/artifacts/*; do
    [ -f "$f" ] || continue
    echo "input $f (base64; save it under tests/fuzz/crashes/ once understood):" >&2
    base64 -w 76 "$f" | head -n 200 >&2
  done
  exit 1
}

# ---- regression: every saved crash input must pass (they stay as tests once fixed) ----
replay_failed=0
for f in tests/fuzz/crashes/*; do
  [ -f "$f" ] || continue
  replay_log=$out/replay-$(basename "$f").log
  if "$bin" -runs=1 "$f" >"$replay_log" 2>&1; then
    echo "fuzz_log: saved crash input $f passes"
  else
    what=$(grep -m1 -E 'check failed|runtime error|ERROR: AddressSanitizer|ERROR: LeakSanitizer' \
           "$replay_log" || echo "see $replay_log")
    echo "fuzz_log: saved crash input $f still fails: $what (log: $replay_log)" >&2
    replay_failed=$((replay_failed + 1))
  fi
done

# ---- fuzz ----
rm -f "$out"/artifacts/*
log=$out/fuzz.log
if ! "$bin" -max_total_time="$seconds" -timeout=10 -max_len=8192 -use_value_profile=1 \
     -print_final_stats=1 -artifact_prefix="$out/artifacts/" \
     "$out/corpus" tests/fuzz/corpus >"$log" 2>&1; then
  fail "$log"
fi

runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
final=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)
cov=$(echo "$final" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
corp=$(echo "$final" | sed -n 's/.*corp: \([0-9]*\)\/.*/\1/p')
echo "fuzz_log: ${runs:-?} executions in ${seconds} s (${rate:-?}/s), coverage ${cov:-?} edges," \
     "corpus ${corp:-?} inputs, no crashes; install $((installed - start)) s," \
     "build $((built - installed)) s, total $(( $(date +%s) - start )) s"
if [ "$replay_failed" -gt 0 ]; then
  echo "fuzz_log: FAILED: $replay_failed saved crash input(s) in tests/fuzz/crashes/ still fail" >&2
  exit 1
fi
