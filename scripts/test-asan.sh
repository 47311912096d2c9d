#!/usr/bin/env bash
# Builds with AddressSanitizer + UndefinedBehaviorSanitizer and runs every test.
# The simulator uses thread contexts in this build (ASan cannot follow
# SimGrid's own stack switching).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DWEIR_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$(nproc)"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# the scenario sweep runs in the normal suite; here one scenario end to end
ctest --test-dir build-asan --output-on-failure -j2 -E '^scenarios$'
./build-asan/weir sim demo --seed 1 >/dev/null
./build-asan/weir sim scenarios/leader-crash.yaml >/dev/null
echo "sanitizers: clean"
