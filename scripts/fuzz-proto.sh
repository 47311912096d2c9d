#!/usr/bin/env bash
# Fuzzes the Kafka wire codec (tests/fuzz/fuzz_proto.c: request header and
# body decoding for every API/version, re-encoding, response decoding, and
# broker replies built from decoded requests) with libFuzzer + ASan + UBSan
# for FUZZ_SECONDS (default 60), after replaying the saved crash inputs in
# tests/fuzz/crashes-proto/. Installs clang if missing. Builds into
# build-fuzz-proto/; new corpus inputs go to build-fuzz-proto/corpus (the
# seeds in tests/fuzz/corpus-proto are only read; the target rewrites them
# when the folder is empty), crash inputs to build-fuzz-proto/artifacts/.
# Exits non-zero on any crash, sanitizer report or failed check, and while
# any saved crash input still fails.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
seconds=${FUZZ_SECONDS:-60}
out=build-fuzz-proto
bin=$out/fuzz_proto
seeds=tests/fuzz/corpus-proto
crashes=tests/fuzz/crashes-proto

# ---- tools: installed if missing, as scripts/fuzz.sh does ----
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
install_missing clang llvm
if [ ! -f "$(clang -print-file-name=libclang_rt.fuzzer-x86_64.a)" ]; then
  install_missing libclang-rt-dev
fi
installed=$(date +%s)

# ---- build: core and proto instrumented for coverage; no env backend needed ----
mkdir -p "$out/obj" "$out/corpus" "$out/artifacts"
base_flags=(-std=gnu11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra
            -fsanitize=address,undefined -fno-sanitize-recover=undefined -Iimpl)
objs=()
compile() { # compile SRC EXTRA_FLAGS...
  local src=$1; shift
  local obj=$out/obj/$(echo "${src%.c}" | tr / _).o
  clang "${base_flags[@]}" "$@" -c "$src" -o "$obj"
  objs+=("$obj")
}
for src in impl/core/*.c impl/proto/*.c; do
  compile "$src" -fsanitize=fuzzer-no-link -Werror
done
compile tests/fuzz/fuzz_proto.c -fsanitize=fuzzer-no-link -Werror
clang -fsanitize=fuzzer,address,undefined "${objs[@]}" -o "$bin" -lm
built=$(date +%s)

if [ -z "$(ls -A "$seeds" 2>/dev/null)" ]; then
  mkdir -p "$seeds"
  WEIR_FUZZ_WRITE_SEEDS=$seeds "$bin"
fi
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

fail() { # fail LOGFILE
  echo "fuzz_proto: FAILED; the end of $1:" >&2
  tail -n 60 "$1" >&2
  for f in "$out"/artifacts/*; do
    [ -f "$f" ] || continue
    echo "input $f (base64; save it under $crashes/ once understood):" >&2
    base64 -w 76 "$f" | head -n 200 >&2
  done
  exit 1
}

# ---- regression: every saved crash input must pass ----
replay_failed=0
for f in "$crashes"/*; do
  [ -f "$f" ] || continue
  replay_log=$out/replay-$(basename "$f").log
  if "$bin" -runs=1 "$f" >"$replay_log" 2>&1; then
    echo "fuzz_proto: saved crash input $f passes"
  else
    what=$(grep -m1 -E 'check failed|runtime error|ERROR: AddressSanitizer|ERROR: LeakSanitizer' \
           "$replay_log" || echo "see $replay_log")
    echo "fuzz_proto: saved crash input $f still fails: $what (log: $replay_log)" >&2
    replay_failed=$((replay_failed + 1))
  fi
done

# ---- fuzz ----
rm -f "$out"/artifacts/*
log=$out/fuzz.log
# -malloc_limit_mb: a decoder must never allocate in proportion to a count it
# has not checked against the frame, so a small limit turns that into a crash.
if ! "$bin" -max_total_time="$seconds" -timeout=10 -max_len=4096 -use_value_profile=1 \
     -malloc_limit_mb=64 -print_final_stats=1 -artifact_prefix="$out/artifacts/" \
     "$out/corpus" "$seeds" >"$log" 2>&1; then
  fail "$log"
fi

runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
final=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)
cov=$(echo "$final" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
corp=$(echo "$final" | sed -n 's/.*corp: \([0-9]*\)\/.*/\1/p')
echo "fuzz_proto: ${runs:-?} executions in ${seconds} s (${rate:-?}/s), coverage ${cov:-?} edges," \
     "corpus ${corp:-?} inputs, no crashes; install $((installed - start)) s," \
     "build $((built - installed)) s, total $(( $(date +%s) - start )) s"
if [ "$replay_failed" -gt 0 ]; then
  echo "fuzz_proto: FAILED: $replay_failed saved crash input(s) in $crashes/ still fail" >&2
  exit 1
fi
