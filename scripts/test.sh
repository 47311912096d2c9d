#!/usr/bin/env bash
# Builds weir with coverage and runs every test (unit, conformance on both
# backends, determinism), then prints the line-coverage summary.
# The HTML report goes to reports/out/coverage/index.html.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
build=build-cov
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DWEIR_COVERAGE=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
find "$build" -name '*.gcda' -delete
ctest --test-dir "$build" --output-on-failure -j2

out=reports/out/coverage
mkdir -p "$out"
lcov --quiet --capture --directory "$build" --output-file "$out/all.info" --rc lcov_branch_coverage=0 >/dev/null 2>&1
lcov --quiet --extract "$out/all.info" "$PWD/impl/*" "$PWD/sim/*" --output-file "$out/weir.info" >/dev/null 2>&1
genhtml --quiet "$out/weir.info" --output-directory "$out" >/dev/null 2>&1 || true
echo "coverage (impl/ and sim/):"
lcov --summary "$out/weir.info" 2>&1 | grep -E "lines|functions"
