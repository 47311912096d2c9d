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
name=fuzz_log
out=build-fuzz
bin=$out/fuzz_log
seeds=tests/fuzz/corpus
crashes=tests/fuzz/crashes
source scripts/fuzz-lib.sh

fuzz_install_tools pkg-config libuv1-dev libmicrohttpd-dev
# Log and core code instrumented for coverage, the env backend not.
base_flags+=($(pkg-config --cflags libuv libmicrohttpd))
for src in impl/core/*.c impl/log/*.c; do
  fuzz_compile "$src" -fsanitize=fuzzer-no-link
done
for src in impl/env/env.c impl/env/timer_heap.c impl/env/uv_*.c; do
  fuzz_compile "$src"
done
fuzz_compile tests/fuzz/fuzz_log.c -fsanitize=fuzzer-no-link -Werror
fuzz_link $(pkg-config --libs libuv libmicrohttpd) -lm

# Each run gets its own scratch folder (tmpfs when there is one), removed on exit.
scratch_parent=/tmp
if [ -d /dev/shm ] && [ -w /dev/shm ]; then scratch_parent=/dev/shm; fi
scratch=$(mktemp -d "$scratch_parent/weir-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export WEIR_FUZZ_TMPDIR=$scratch

fuzz_run -max_len=8192
