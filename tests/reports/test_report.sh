#!/usr/bin/env bash
# `weir report`: pages, charts and JUnit XML from a run folder.
#
# Usage: test_report.sh WEIR
# Runs on a copy of tests/reports/fixture (two runs: one PASS, one FAIL with a
# shrunk schedule), and also on real folders written by `weir sim --out` and
# `weir chaos --out` when those options exist. The pages are rendered in
# headless Chromium and their SVG charts measured.
set -u
weir=$1
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
passed=0
failed=0
tmp=$(mktemp -d /tmp/weir_report_test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
check() { # name, command...: passes if the command succeeds
  local name=$1; shift
  if "$@" >/dev/null 2>&1; then ok; else bad "$name"; fi
}
expect() { # name, want_rc, want_text (grep in stdout+stderr), command...
  local name=$1 want_rc=$2 want_text=$3; shift 3
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -eq "$want_rc" ] && grep -q -- "$want_text" <<<"$out"; then
    ok
  else
    bad "$name: rc=$rc (want $want_rc, text '$want_text'), output:"; echo "$out" | head -8
  fi
}

# junit_counts FILE TESTS FAILURES ERRORS: well-formed, with these totals,
# one testcase per run, and one <failure>/<error> element per failed run.
junit_counts() {
  python3 - "$@" <<'EOF'
import sys, xml.dom.minidom
path, tests, failures, errors = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
doc = xml.dom.minidom.parse(path)
root = doc.documentElement
assert root.tagName == "testsuites", root.tagName
got = (int(root.getAttribute("tests")), int(root.getAttribute("failures")), int(root.getAttribute("errors")))
assert got == (tests, failures, errors), (got, (tests, failures, errors))
suites = root.getElementsByTagName("testsuite")
assert sum(int(s.getAttribute("tests")) for s in suites) == tests
assert len(root.getElementsByTagName("testcase")) == tests
assert len(root.getElementsByTagName("failure")) == failures
assert len(root.getElementsByTagName("error")) == errors
for c in root.getElementsByTagName("testcase"):
    assert c.getAttribute("name").startswith("seed ") and c.getAttribute("classname"), c.toxml()[:200]
    out = c.getElementsByTagName("system-out")[0].firstChild.data
    assert "trace hash:" in out and "replay:" in out, out
EOF
}

# index_counts DIR: "RUNS FAILS ERRORS" from DIR/index.tsv's verdict column.
index_counts() {
  awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "verdict") v = i; next }
               /./ { runs++; if ($v == "FAIL") f++; else if ($v != "PASS") e++ }
               END { print runs + 0, f + 0, e + 0 }' "$1/index.tsv"
}

# render PAGE: the page as Chromium renders it, each svg.chart measured:
# prints "KIND:WIDTHxHEIGHT:SHAPES" per chart, SHAPES counting the paths,
# rects, lines and circles whose bounding box is not empty.
render() {
  local page=$1 probe
  probe="$(dirname "$page")/.render-probe.html"
  cat "$page" - >"$probe" <<'EOF'
<script>
(function () {
  var out = [];
  document.querySelectorAll('svg.chart').forEach(function (svg) {
    var r = svg.getBoundingClientRect(), n = 0;
    svg.querySelectorAll('path,rect,line,circle,polygon,polyline').forEach(function (e) {
      var b = e.getBBox();
      if (b.width > 0 || b.height > 0) { n++; }
    });
    out.push(svg.getAttribute('class').replace('chart ', '') + ':' + Math.round(r.width) + 'x' +
             Math.round(r.height) + ':' + n);
  });
  var leo = 0;
  document.querySelectorAll('path.leo').forEach(function (e) {
    if (e.getBBox().width > 0) { leo++; }
  });
  out.push('leo-lines:' + leo);
  var p = document.createElement('pre');
  p.id = 'render-probe';
  p.textContent = out.join(' ');
  document.body.appendChild(p);
})();
</script>
EOF
  timeout 120 chromium --headless --no-sandbox --disable-gpu --dump-dom "file://$probe" 2>/dev/null |
    sed -n 's:.*<pre id="render-probe">\([^<]*\)</pre>.*:\1:p'
  rm -f "$probe"
}

# charts_ok PROBE KIND MIN_COUNT MIN_SHAPES: at least MIN_COUNT charts of KIND,
# each drawn with a non-zero size and at least MIN_SHAPES visible shapes.
charts_ok() {
  local probe=$1 kind=$2 min_count=$3 min_shapes=$4
  tr ' ' '\n' <<<"$probe" | awk -F: -v k="$kind" -v c="$min_count" -v s="$min_shapes" '
    $1 == k { n++; split($2, wh, "x"); if (wh[1] <= 0 || wh[2] <= 0 || $3 < s) bad++ }
    END { exit !(n >= c && bad == 0) }'
}

# A run page rendered: timelines and histograms present and drawn.
run_page_renders() { # name, page, min_timelines
  local name=$1 page=$2 min_tl=$3 probe
  probe=$(render "$page")
  if charts_ok "$probe" timeline "$min_tl" 12 && charts_ok "$probe" histogram 1 3 &&
     grep -q 'leo-lines:[1-9]' <<<"$probe"; then
    ok
  else
    bad "$name: rendered charts: '$probe'"
  fi
}

if ! command -v chromium >/dev/null 2>&1; then
  echo "FAIL chromium not found: run scripts/deps.sh (it installs chromium for this test)"
  exit 1
fi

# ---- 1. the fixture ----
fx=$tmp/fixture
cp -r "$here/fixture" "$fx"
mkdir -p "$tmp/cov" && echo '<html></html>' >"$tmp/cov/index.html"
expect fixture_report_is_written 0 "report: 2 runs (1 pass, 1 fail, 0 error) in 2 scenarios" \
  "$weir" report "$fx" --coverage "$here/coverage.info" --coverage-html "$tmp/cov/index.html"
for f in report.html junit.xml leader-crash-s42/report.html chaos-s7/report.html; do
  check "fixture_writes_$f" test -s "$fx/$f"
done
check fixture_prints_paths_written grep -q "wrote $fx/junit.xml" <<<"$out"
check fixture_junit_counts junit_counts "$fx/junit.xml" 2 1 0
check fixture_junit_failure_has_every_line_and_replays grep -q \
  "&lt;550 missing&gt; &amp; more" "$fx/junit.xml"
check fixture_junit_failure_has_shrunk_replay grep -q "replay shrunk: weir sim shrunk/chaos-s7.yaml" \
  "$fx/junit.xml"
check fixture_junit_classname_has_variant grep -q 'classname="chaos-demo/unclean-on" name="seed 7"' \
  "$fx/junit.xml"
check index_links_run_pages grep -q 'href="chaos-s7/report.html"' "$fx/report.html"
check index_shows_shrunk_replay grep -q "weir sim shrunk/chaos-s7.yaml --seed 7" "$fx/report.html"
check index_coverage_functions grep -q "6 of 9 reached" "$fx/report.html"
check index_coverage_unreached_function grep -q "weir_rm_fence_epoch" "$fx/report.html"
check index_coverage_skips_other_names bash -c "! grep -q rm_queue_fetch '$fx/report.html'"
check index_coverage_per_file grep -q "sim/sim_net.c" "$fx/report.html"
check index_coverage_link_is_relative grep -q 'href="../cov/index.html"' "$fx/report.html"
check run_page_escapes_oracle_text grep -q "&lt;&amp; &quot;quoted&quot;&gt;" "$fx/chaos-s7/report.html"
check run_page_has_replay grep -q "weir sim chaos-s7/scenario.yaml --seed 7 --variant unclean-on" \
  "$fx/chaos-s7/report.html"
check run_page_links_shrunk_file grep -q 'href="../shrunk/chaos-s7.yaml"' "$fx/chaos-s7/report.html"
check run_page_shows_truncation grep -q "2950&#8594;2400" "$fx/chaos-s7/report.html"
check run_page_shows_epochs grep -q ">e2</text>" "$fx/chaos-s7/report.html"
check run_page_has_queue_chart grep -q 'class="chart queues"' "$fx/chaos-s7/report.html"
check run_page_embeds_text_report grep -q "<details><summary>report.txt" "$fx/leader-crash-s42/report.html"

# ---- 2. rendered in Chromium ----
run_page_renders fixture_fail_page_renders "$fx/chaos-s7/report.html" 2
run_page_renders fixture_pass_page_renders "$fx/leader-crash-s42/report.html" 2
probe=$(render "$fx/chaos-s7/report.html")
if charts_ok "$probe" queues 1 3; then ok; else bad "fixture queue chart renders: '$probe'"; fi
dom=$(timeout 120 chromium --headless --no-sandbox --disable-gpu --dump-dom "file://$fx/report.html" 2>/dev/null)
check index_renders_verdicts grep -q 'class="verdict fail">FAIL' <<<"$dom"
check index_renders_coverage_bars grep -q '<svg class="bar"' <<<"$dom"
timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,1800 \
  --screenshot="$tmp/run.png" "file://$fx/chaos-s7/report.html" >/dev/null 2>&1
check screenshot_is_not_blank test "$(stat -c %s "$tmp/run.png" 2>/dev/null || echo 0)" -gt 20000

# ---- 3. bad input ----
expect missing_run_dir_exits_2 2 "cannot read run folder '$tmp/nope'" "$weir" report "$tmp/nope"
expect missing_argument_is_a_usage_error 2 "missing RUN_DIR" "$weir" report
expect unknown_option_is_a_usage_error 2 "unknown option '--bogus'" "$weir" report "$fx" --bogus
expect missing_tracefile_exits_2 2 "cannot read coverage file '$tmp/none.info'" \
  "$weir" report "$fx" --coverage "$tmp/none.info"
expect help_prints_usage 0 "usage: weir report RUN_DIR" "$weir" report --help
mkdir -p "$tmp/empty"
expect empty_run_dir_exits_2 2 "no runs in '$tmp/empty'" "$weir" report "$tmp/empty"
line=$(($(wc -l <"$fx/chaos-s7/events.tsv") + 1))
printf 'not-a-time\tleader\tevents\n' >>"$fx/chaos-s7/events.tsv"
printf '1000\tleader\tevents\tx\t1\t2\t3\t0\n' >>"$fx/chaos-s7/events.tsv"
printf 'garbage\n' >>"$fx/leader-crash-s42/replicas.tsv"
rm -f "$fx/chaos-s7/report.html" "$fx/leader-crash-s42/latency.tsv"
expect malformed_event_line_is_named "0" "chaos-s7/events.tsv:$line:" "$weir" report "$fx"
check malformed_second_line_is_named grep -q "chaos-s7/events.tsv:$((line + 1)): leader event" <<<"$out"
check malformed_replica_line_is_named grep -q "leader-crash-s42/replicas.tsv:[0-9]*:" <<<"$out"
check summary_counts_warnings grep -q "3 warnings (see stderr)" <<<"$out"
check page_written_despite_bad_lines test -s "$fx/chaos-s7/report.html"
check missing_file_says_not_recorded grep -q "latency.tsv not recorded" "$fx/leader-crash-s42/report.html"
run_page_renders page_with_bad_lines_renders "$fx/chaos-s7/report.html" 2
mv "$fx/index.tsv" "$fx/index.tsv.away"
expect no_index_uses_run_folders 0 "report: 2 runs" "$weir" report "$fx"

# ---- 4. real run folders, when the commands write them ----
if "$weir" sim --help 2>&1 | grep -q -- "--out DIR"; then
  real=$tmp/real
  "$weir" sim "$repo/scenarios/leader-crash.yaml" --out "$real" >"$tmp/sim.out" 2>&1
  sim_rc=$?
  if [ -s "$real/index.tsv" ]; then
    ok
    read -r runs fails errors < <(index_counts "$real")
    expect real_sim_report_is_written 0 "report: 1 run ($((runs - fails - errors)) pass, $fails fail" \
      "$weir" report "$real"
    check real_sim_junit_counts junit_counts "$real/junit.xml" "$runs" "$fails" "$errors"
    page=$(ls "$real"/*/report.html 2>/dev/null | head -1)
    if [ -n "$page" ]; then
      run_page_renders real_sim_page_renders "$page" 3
    else
      bad "real sim run: no run page written"
    fi
  else
    bad "weir sim --out wrote no $real/index.tsv (rc=$sim_rc):"; head -5 "$tmp/sim.out"
  fi
else
  echo "note: weir sim has no --out yet; real run folder not tested"
fi
if "$weir" chaos --help 2>&1 | grep -q -- "--out DIR"; then
  chaos=$tmp/chaos
  "$weir" chaos "$repo/scenarios/leader-crash.yaml" --seeds 1..2 --out "$chaos" >"$tmp/chaos.out" 2>&1
  if [ -s "$chaos/index.tsv" ]; then
    read -r runs fails errors < <(index_counts "$chaos")
    expect real_chaos_report_is_written 0 "report: $runs runs\? ($((runs - fails - errors)) pass, $fails fail" \
      "$weir" report "$chaos"
    check real_chaos_junit_counts junit_counts "$chaos/junit.xml" "$runs" "$fails" "$errors"
    shrunk_meta=$(grep -l "^shrunk"$'\t' "$chaos"/*/meta.tsv 2>/dev/null | head -1)
    if [ -n "$shrunk_meta" ]; then
      shrunk_page=$(dirname "$shrunk_meta")/report.html
      check real_chaos_page_shows_shrunk_schedule grep -q "Shrunk schedule" "$shrunk_page"
      check real_chaos_index_shows_shrunk_replay grep -q "replay shrunk:" "$chaos/report.html"
      run_page_renders real_chaos_page_renders "$shrunk_page" 1
    fi
  else
    bad "weir chaos --out wrote no $chaos/index.tsv:"; head -5 "$tmp/chaos.out"
  fi
else
  echo "note: weir chaos has no --out yet; chaos run folder not tested"
fi

echo "reports: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
