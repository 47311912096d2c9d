#!/usr/bin/env bash
# Coverage gate: line coverage of impl/ and sim/ must not fall below the floor
# in .ci/coverage-floor.
#
#   ./scripts/gate-coverage.sh [INFO_FILE]
#
# INFO_FILE is the lcov tracefile ./scripts/test.sh writes
# (reports/out/coverage/weir.info by default). Only source files under impl/
# and sim/ count; a line is covered if any record of its file hit it.
# COVERAGE_FLOOR_FILE overrides the floor file (tests of the gate itself).
#
# Exit 0: at or above the floor (with a hint to raise the floor when coverage
# is more than 1 point above it). Exit 1: below the floor. Exit 2: no
# tracefile, an unreadable floor, or no impl/ or sim/ lines in the tracefile.
set -euo pipefail

usage() {
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
}

case "${1:-}" in
  -h | --help) usage ;;
  -*) echo "gate-coverage: unknown option $1" >&2; usage ;;
esac
[ $# -le 1 ] || usage

# Resolve paths given relative to the caller's folder before moving to the root.
info=${1:-}
if [ -n "$info" ] && [[ "$info" != /* ]]; then
  info="$PWD/$info"
fi
floor_file=${COVERAGE_FLOOR_FILE:-}
if [ -n "$floor_file" ] && [[ "$floor_file" != /* ]]; then
  floor_file="$PWD/$floor_file"
fi
cd "$(dirname "$0")/.."
info=${info:-$PWD/reports/out/coverage/weir.info}
floor_file=${floor_file:-$PWD/.ci/coverage-floor}
repro="./scripts/test.sh && ./scripts/gate-coverage.sh"

if [ ! -s "$info" ]; then
  echo "coverage gate: no coverage tracefile at $info" >&2
  echo "  it is written by the coverage build: $repro" >&2
  exit 2
fi

# The floor: the first line that is not blank or a comment, "NN" or "NN.N".
floor=$(grep -v -E '^[[:space:]]*(#|$)' "$floor_file" 2>/dev/null | head -1 | tr -d '[:space:]' || true)
if ! [[ "$floor" =~ ^[0-9]{1,3}(\.[0-9])?$ ]]; then
  echo "coverage gate: $floor_file must hold one percentage like 86.1 (found '${floor}')" >&2
  exit 2
fi
floor_tenths=$(( 10 * ${floor%.*} + $( [[ "$floor" == *.* ]] && echo "${floor#*.}" || echo 0 ) ))

# Lines found / hit over impl/ and sim/, merging repeated records of a file
# (a tracefile that was not merged by lcov may list a file more than once).
# Paths inside a build folder (generated sources) do not count.
read -r found hit impl_found impl_hit sim_found sim_hit < <(awk '
  /^SF:/ {
    path = substr($0, 4)
    area = ""
    if (path !~ /\/build[^\/]*\//) {
      if (path ~ /(^|\/)impl\//) area = "impl"
      else if (path ~ /(^|\/)sim\//) area = "sim"
    }
    next
  }
  /^DA:/ && area != "" {
    split(substr($0, 4), f, ",")
    key = path SUBSEP f[1]
    if (!(key in seen)) { seen[key] = 1; lines[area]++ }
    if (f[2] + 0 > 0 && !(key in covered)) { covered[key] = 1; hits[area]++ }
    next
  }
  /^end_of_record/ { area = "" }
  END {
    printf "%d %d %d %d %d %d\n", lines["impl"] + lines["sim"], hits["impl"] + hits["sim"],
           lines["impl"], hits["impl"], lines["sim"], hits["sim"]
  }' "$info")

if [ "$found" -eq 0 ]; then
  echo "coverage gate: $info has no line data for impl/ or sim/" >&2
  echo "  regenerate it with: $repro" >&2
  exit 2
fi

# Percentages in tenths, rounded down, so "X% < floor Y%" never shows X = Y.
tenths() { echo $(( $1 * 1000 / $2 )); }
fmt() { printf '%d.%d' $(( $1 / 10 )) $(( $1 % 10 )); }
now_tenths=$(tenths "$hit" "$found")
now=$(fmt "$now_tenths")

echo "coverage (impl/ and sim/): $now% ($hit of $found lines)" \
  "[impl/ $(fmt "$(tenths "$impl_hit" "$(( impl_found > 0 ? impl_found : 1 ))")")%," \
  "sim/ $(fmt "$(tenths "$sim_hit" "$(( sim_found > 0 ? sim_found : 1 ))")")%]; floor $floor%"

if [ "$now_tenths" -lt "$floor_tenths" ]; then
  echo "coverage gate: $now% < floor $floor%"
  echo "  reproduce: $repro"
  echo "  add tests for the new or changed code in impl/ and sim/ (the HTML report is"
  echo "  reports/out/coverage/index.html); lower .ci/coverage-floor only for a deliberate reason"
  exit 1
fi

if [ $(( now_tenths - floor_tenths )) -gt 10 ]; then
  echo "coverage gate: pass; $now% is more than 1 point above the floor:" \
    "raise .ci/coverage-floor to $(fmt $(( now_tenths - 5 )))"
else
  echo "coverage gate: pass"
fi
