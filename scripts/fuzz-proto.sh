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
name=fuzz_proto
out=build-fuzz-proto
bin=$out/fuzz_proto
seeds=tests/fuzz/corpus-proto
crashes=tests/fuzz/crashes-proto
source scripts/fuzz-lib.sh

fuzz_install_tools
# Core and proto instrumented for coverage; no env backend needed.
for src in impl/core/*.c impl/proto/*.c; do
  fuzz_compile "$src" -fsanitize=fuzzer-no-link -Werror
done
fuzz_compile tests/fuzz/fuzz_proto.c -fsanitize=fuzzer-no-link -Werror
fuzz_link -lm

# -malloc_limit_mb: a decoder must never allocate in proportion to a count it
# has not checked against the frame, so a small limit turns that into a crash.
fuzz_run -max_len=4096 -malloc_limit_mb=64
