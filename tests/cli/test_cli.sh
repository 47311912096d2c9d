#!/usr/bin/env bash
# The `weir` command's contract: help, version, exit codes, one-line errors.
set -u
weir=$1
passed=0
failed=0
expect() { # name, want_rc, want_text, command...
  local name=$1 want_rc=$2 want_text=$3; shift 3
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -eq "$want_rc" ] && grep -q -- "$want_text" <<<"$out"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); echo "FAIL $name: rc=$rc (want $want_rc), output:"; echo "$out" | head -5
  fi
}
expect help_lists_commands 0 "sim SCENARIO" "$weir" --help
expect version_prints_version 0 "^weir [0-9]" "$weir" version
expect no_command_is_a_usage_error 2 "missing command" "$weir"
expect unknown_command_is_a_usage_error 2 "unknown command 'bogus'" "$weir" bogus
expect sim_without_scenario_is_a_usage_error 2 "missing SCENARIO" "$weir" sim
expect sim_missing_scenario_file_is_a_usage_error 2 "cannot open 'nope'" "$weir" sim nope
scn_dir=$(cd "$(dirname "$0")/../../scenarios" && pwd)
tmp_scn=$(mktemp /tmp/weir_cli_scn.XXXXXX.yaml)
printf 'name: bad\nduration: 10s\nbrokres: []\n' > "$tmp_scn"
expect sim_bad_scenario_names_file_line_and_key 2 "$tmp_scn:3:1: .*brokres" "$weir" sim "$tmp_scn"
rm -f "$tmp_scn"
expect sim_unknown_variant_is_a_usage_error 2 "no variant named \"nope\"" "$weir" sim "$scn_dir/unclean-election.yaml" --variant nope
expect sim_scenario_passes_with_its_timeline 0 "verdict: PASS" "$weir" sim "$scn_dir/unclean-election.yaml" --variant unclean-off
expect sim_scenario_prints_the_trace_hash 0 "trace: [0-9]* events, hash [0-9a-f]\{16\}" "$weir" sim "$scn_dir/unclean-election.yaml"
expect sim_bad_seed_is_a_usage_error 2 "--seed: 'x1' is not a number" "$weir" sim demo --seed x1
expect sim_bad_duration_is_a_usage_error 2 "--duration: '3days'" "$weir" sim demo --duration 3days
expect sim_unknown_flag_is_a_usage_error 2 "unknown option '--bogus'" "$weir" sim demo --bogus
expect sim_missing_flag_value_is_a_usage_error 2 "needs a value" "$weir" sim demo --seed
expect sim_demo_passes 0 "verdict: PASS" "$weir" sim demo --seed 2
expect sim_demo_stopped_before_restart_fails 1 "verdict: FAIL" "$weir" sim demo --seed 2 --duration 2.5s
tmp=$(mktemp)
expect sim_trace_file_is_written 0 "trace:" "$weir" sim demo --seed 2 --duration 4s --trace "$tmp"
if grep -q " frame size=" "$tmp"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL trace file has no frame events"; fi
rm -f "$tmp"

# weir sim --out: a run folder; recording leaves the trace hash as it was
folder=$(mktemp -d)
plain=$("$weir" sim "$scn_dir/unclean-election.yaml" --variant unclean-off 2>&1 | sed -n 's/^trace: .*hash //p')
expect sim_out_records_a_run_folder 0 "verdict: PASS" "$weir" sim "$scn_dir/unclean-election.yaml" --variant unclean-off --out "$folder"
run_dir="$folder/unclean-election@unclean-off-s11"
for f in scenario.yaml report.txt meta.tsv events.tsv replicas.tsv latency.tsv; do
  if [ -s "$run_dir/$f" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL sim --out wrote no $f"; fi
done
if grep -q "^trace_hash	$plain$" "$run_dir/meta.tsv" && [ "$(wc -l < "$folder/index.tsv")" -eq 2 ]; then
  passed=$((passed + 1))
else
  failed=$((failed + 1)); echo "FAIL sim --out: trace hash $plain not in meta.tsv, or index.tsv is not header + 1 row"
fi
expect sim_replay_command_replays 0 "hash $plain" sh -c "$weir sim $run_dir/scenario.yaml --seed 11 --variant unclean-off"
rm -rf "$folder"
expect sim_bad_log_level_is_a_usage_error 2 "--log: 'loud'" "$weir" sim demo --log loud

# weir chaos: usage errors, then a short sweep
expect chaos_needs_seeds 2 "missing --seeds" "$weir" chaos "$scn_dir/chaos-durable.yaml"
expect chaos_bad_seed_range 2 "--seeds: expected A..B" "$weir" chaos "$scn_dir/chaos-durable.yaml" --seeds 9..3
expect chaos_unknown_fault_kind_lists_the_kinds 2 'unknown fault kind "meteor"; the kinds are all, crash' "$weir" chaos "$scn_dir/chaos-durable.yaml" --seeds 1 --faults crash,meteor
expect chaos_missing_scenario_file 2 "cannot open 'nope.yaml'" "$weir" chaos nope.yaml --seeds 1..2
folder=$(mktemp -d)
expect chaos_sweep_prints_progress_and_a_summary 0 "2 seeds, 2 passed, 0 failed" "$weir" chaos "$scn_dir/chaos-durable.yaml" --seeds 1..2 -j 2 --max-faults 3 --faults crash,pause,partition,clock,fsync_error --out "$folder"
if [ "$(grep -c "	PASS	" "$folder/index.tsv")" -eq 2 ] && grep -q "^  - { at: " "$folder/chaos-durable-s1/scenario.yaml"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1)); echo "FAIL chaos: index.tsv has not two PASS rows, or the run's file has no faults"
fi
rm -rf "$folder"

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
