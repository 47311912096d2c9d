# Shared by scripts/fuzz.sh and scripts/fuzz-proto.sh (sourced, not run):
# installing clang, compiling objects with libFuzzer + ASan + UBSan, seeding,
# replaying saved crash inputs, fuzzing for FUZZ_SECONDS and the summary.
# The caller sets: name (for messages), out (build folder), bin, seeds,
# crashes, and may append to base_flags before compiling.

fuzz_start=$(date +%s)
fuzz_seconds=${FUZZ_SECONDS:-60}

# Installs Debian packages that are missing, without Recommends: clang's pull
# in llvm-14-dev (270 MB) that fuzzing does not need.
fuzz_install_missing() {
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

# clang, llvm (llvm-symbolizer: sanitizer stacks with functions and lines),
# and libFuzzer's runtime (inside clang's packages on older releases, its own
# package on newer ones); then whatever else the caller names.
fuzz_install_tools() {
  fuzz_install_missing clang llvm "$@"
  if [ ! -f "$(clang -print-file-name=libclang_rt.fuzzer-x86_64.a)" ]; then
    fuzz_install_missing libclang-rt-dev
  fi
  fuzz_installed=$(date +%s)
  mkdir -p "$out/obj" "$out/corpus" "$out/artifacts"
}

base_flags=(-std=gnu11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra
            -fsanitize=address,undefined -fno-sanitize-recover=undefined -Iimpl)
objs=()
fuzz_compile() { # fuzz_compile SRC EXTRA_FLAGS...
  local src=$1; shift
  local obj=$out/obj/$(echo "${src%.c}" | tr / _).o
  clang "${base_flags[@]}" "$@" -c "$src" -o "$obj"
  objs+=("$obj")
}

fuzz_link() { # fuzz_link LIBS...
  clang -fsanitize=fuzzer,address,undefined "${objs[@]}" -o "$bin" "$@"
  fuzz_built=$(date +%s)
  # Seeds are committed; the target rewrites them if the folder is empty.
  if [ -z "$(ls -A "$seeds" 2>/dev/null)" ]; then
    mkdir -p "$seeds"
    WEIR_FUZZ_WRITE_SEEDS=$seeds "$bin"
  fi
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
}

fuzz_fail() { # fuzz_fail LOGFILE
  echo "$name: FAILED; the end of $1:" >&2
  tail -n 60 "$1" >&2
  for f in "$out"/artifacts/*; do
    [ -f "$f" ] || continue
    echo "input $f (base64; save it under $crashes/ once understood):" >&2
    base64 -w 76 "$f" | head -n 200 >&2
  done
  exit 1
}

# Every saved crash input must pass (they stay as regression tests once fixed);
# then fuzz for FUZZ_SECONDS with the given libFuzzer options; then the summary.
fuzz_run() { # fuzz_run LIBFUZZER_OPTIONS...
  local replay_failed=0 f replay_log what
  for f in "$crashes"/*; do
    [ -f "$f" ] || continue
    replay_log=$out/replay-$(basename "$f").log
    if "$bin" -runs=1 "$f" >"$replay_log" 2>&1; then
      echo "$name: saved crash input $f passes"
    else
      what=$(grep -m1 -E 'check failed|runtime error|ERROR: AddressSanitizer|ERROR: LeakSanitizer' \
             "$replay_log" || echo "see $replay_log")
      echo "$name: saved crash input $f still fails: $what (log: $replay_log)" >&2
      replay_failed=$((replay_failed + 1))
    fi
  done

  rm -f "$out"/artifacts/*
  local log=$out/fuzz.log
  if ! "$bin" -max_total_time="$fuzz_seconds" -timeout=10 -use_value_profile=1 "$@" \
       -print_final_stats=1 -artifact_prefix="$out/artifacts/" \
       "$out/corpus" "$seeds" >"$log" 2>&1; then
    fuzz_fail "$log"
  fi

  local runs rate final cov corp
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  final=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)
  cov=$(echo "$final" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  corp=$(echo "$final" | sed -n 's/.*corp: \([0-9]*\)\/.*/\1/p')
  echo "$name: ${runs:-?} executions in ${fuzz_seconds} s (${rate:-?}/s), coverage ${cov:-?} edges," \
       "corpus ${corp:-?} inputs, no crashes; install $((fuzz_installed - fuzz_start)) s," \
       "build $((fuzz_built - fuzz_installed)) s, total $(( $(date +%s) - fuzz_start )) s"
  if [ "$replay_failed" -gt 0 ]; then
    echo "$name: FAILED: $replay_failed saved crash input(s) in $crashes/ still fail" >&2
    exit 1
  fi
}
