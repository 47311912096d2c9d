#!/usr/bin/env bash
# `weir report`: the Flows section of a run page, from flows.tsv.
#
# Usage: test_report_flows.sh WEIR
# Runs on a copy of tests/reports/fixture-flows (one viral-spike run: a
# 10,000-object threshold raised to 20,000 at 9 s, sessions of up to 50,000
# FlowFiles, swapping beyond 20,000, a crash of the flow host from 7 s to
# 7.8 s, flow actions), then on damaged copies of its flows.tsv, on generated
# runs past the page's limits (70 connections, 250 marks), and on a generated
# run with 12 connections rendered in headless Chromium.
set -u
weir=$1
here=$(cd "$(dirname "$0")" && pwd)
passed=0
failed=0
tmp=$(mktemp -d /tmp/weir_report_flows.XXXXXX)
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
# figure PAGE CONNECTION CLASS: the text of the table cell CLASS in the
# figure of CONNECTION.
figure() {
  awk -v conn="/ <b>$2</b>" -v cls="class=\"num $3\"" '
    index($0, conn) { inside = 1 }
    inside && index($0, cls) {
      s = substr($0, index($0, cls)); s = substr(s, index(s, ">") + 1)
      print substr(s, 1, index(s, "<") - 1); exit
    }' "$1"
}
has_figure() { # page connection class want
  local got
  got=$(figure "$1" "$2" "$3")
  if [ "$got" = "$4" ]; then ok; else bad "figure $2 $3: got '$got', want '$4'"; fi
}

# ---- 1. the fixture: the section and its figures ----
fx=$tmp/fixture
cp -r "$here/fixture-flows" "$fx"
page=$fx/viral-spike-s1/report.html
expect fixture_report_is_written 0 "report: 1 run (1 pass, 0 fail, 0 error)" "$weir" report "$fx"
check no_warnings_for_a_good_file bash -c "! grep -q warning <<<'$out'"
check page_has_flows_section grep -q '<h2 id="flows">Flows</h2>' "$page"
check page_links_flows_tsv grep -q 'href="flows.tsv"' "$page"
check one_chart_per_connection test "$(grep -c '<svg class="chart flow"' "$page")" -eq 2
check chart_titles_name_the_connection grep -q '<title>viral-spike / spike: FlowFiles queued' "$page"
check chart_draws_threshold grep -q 'class="threshold"' "$page"
check chart_shades_swapped grep -q 'class="swapped"' "$page"
check chart_marks_peak grep -q "peak 69,000</text>" "$page"
# The engine's running maximum (69,000 just after 9.6 s) beats every sample.
has_figure "$page" spike peak-queued "69,000"
has_figure "$page" spike peak-resident "20,000"
has_figure "$page" spike peak-swapped "39,000"
has_figure "$page" spike final-queued "0"
has_figure "$page" spike threshold "10,000 &#8594; 20,000"
# Against the threshold in force: 59,000 - 10,000 and 69,000 - 20,000.
has_figure "$page" spike overshoot "49,000"
has_figure "$page" seed peak-queued "1"
has_figure "$page" seed overshoot "0"
check marks_list_flow_action grep -q '<td class="wrap">viral-spike threshold spike objects 20000, size 1073741824: applied</td>' "$page"
check marks_list_crash_span grep -q '7.000s &#8211; 7.800s</td><td>fault</td><td class="wrap">crash f1' "$page"
check marks_list_unknown_kind grep -q '<td>flow-recovered</td>' "$page"
check chart_draws_crash_span grep -q '<g class="mark fault"><title>3 at 7.000s to 7.800s' "$page"
check chart_draws_flow_action grep -q '<g class="mark action"><title>1 at 4.000s: flow action' "$page"
check events_table_lists_flow_action grep -q '<td>flow-action</td><td class="wrap">viral-spike stop P2 processor: applied' "$page"
check no_problem_box bash -c "! grep -q 'class=\"problems\"' '$page'"

# ---- 2. no flows.tsv: no section ----
rm "$fx/viral-spike-s1/flows.tsv"
expect report_without_flows_is_written 0 "report: 1 run" "$weir" report "$fx"
check no_flows_section bash -c "! grep -q 'id=\"flows\"' '$page'"
cp "$here/fixture-flows/viral-spike-s1/flows.tsv" "$fx/viral-spike-s1/flows.tsv"

# ---- 3. malformed rows: named on the page and on stderr, the rest drawn ----
flows=$fx/viral-spike-s1/flows.tsv
line=$(($(wc -l <"$flows") + 1))
printf '14100\tviral-spike\tspike\tmany\t0\t0\t0\t20000\t69000\n' >>"$flows"
printf '14200\tviral-spike\tspike\t5\n' >>"$flows"
expect malformed_row_is_warned 0 "flows.tsv:$line: queued is not a whole number" "$weir" report "$fx"
check malformed_short_row_is_warned grep -q "flows.tsv:$((line + 1)): expected 9 tab-separated fields, found 4" <<<"$out"
check page_names_malformed_line grep -q "<li class=\"mono\">flows.tsv:$line: queued is not a whole number &gt;= 0 (&#39;many&#39;); row skipped</li>" "$page"
check page_names_second_malformed_line grep -q "<li class=\"mono\">flows.tsv:$((line + 1)): expected 9" "$page"
check page_counts_malformed_lines grep -q 'has 2 malformed lines' "$page"
check page_still_draws_charts test "$(grep -c '<svg class="chart flow"' "$page")" -eq 2
has_figure "$page" spike peak-queued "69,000"

# ---- 4. a header that cannot be read: said, and nothing drawn; no crash ----
printf 't_ms\tflow\tconnection\tqueued\tresident\tswapped\tbytes\tthreshold\tpeak_queued\n1\tf\tc\t1\t1\t0\t0\t0\t1\n' >"$flows"
expect bad_header_is_warned 0 "flows.tsv:1: header has no column 'object_threshold'" "$weir" report "$fx"
check page_names_bad_header grep -q "flows.tsv:1: header has no column &#39;object_threshold&#39;" "$page"
check bad_header_draws_nothing bash -c "! grep -q 'class=\"chart flow\"' '$page'"
: >"$flows"
expect empty_flows_is_not_an_error 0 "report: 1 run" "$weir" report "$fx"
check empty_flows_says_no_samples grep -q "flows.tsv has no connection samples" "$page"
printf 't_ms\tflow\tconnection\tqueued\tresident\tswapped\tbytes\tobject_threshold\tpeak_queued\n' >"$flows"
printf '99999999999999999\tf\tc\t1\t1\t0\t0\t0\t1\n\tf\tc\t1\t1\t0\t0\t0\t1\n1\t\tc\t1\t1\t0\t0\t0\t1\n' >>"$flows"
printf '1\tf\tc\t-1\t1\t0\t0\t0\t1\n1\tf\tc\t1\t1\t0\t0\t0\t1\textra\n\n# comment\n2\tf\tc\t3\t3\t0\t300\t0\t3\n' >>"$flows"
printf '2\tf\tc\t9007199254740993\t0\t0\t0\t0\t1\n' >>"$flows"
printf '3\tf\tc\t<b>&\xff\xfe\t1\t0\t0\t0\t1\n4\tf\tc\t1\x00\t1\t0\t0\t0\t1\n' >>"$flows"
expect hostile_rows_are_skipped 0 "report: 1 run" "$weir" report "$fx"
check hostile_rows_are_named grep -q 'flows.tsv:2: t_ms' "$page"
check huge_count_is_refused grep -q "flows.tsv:10: queued 9007199254740993 is too large" "$page"
check hostile_bytes_are_escaped grep -q "flows.tsv:11: queued is not a whole number &gt;= 0 (&#39;&lt;b&gt;&amp;" "$page"
check nul_byte_line_is_named grep -q 'flows.tsv:12: NUL byte in line' "$page"
check hostile_rows_leave_the_good_one test "$(grep -c '<svg class="chart flow"' "$page")" -eq 1
has_figure "$page" c threshold "none"
has_figure "$page" c overshoot "-"

# ---- 5. past the limits: 70 connections and 250 flow actions ----
lots=$tmp/lots
mkdir -p "$lots/r"
printf 'scenario\tlots\nseed\t4\nverdict\tPASS\nsim_s\t2.000\n' >"$lots/r/meta.tsv"
awk 'BEGIN {
  OFS = "\t"
  print "t_ms", "flow", "connection", "queued", "resident", "swapped", "bytes", "object_threshold", "peak_queued"
  for (t = 0; t <= 2000; t += 100)
    for (c = 1; c <= 70; c++) print t, "f", "c" c, c, c, 0, c, 0, c
}' >"$lots/r/flows.tsv"
awk 'BEGIN { for (i = 0; i < 250; i++) printf "%d\tflow-action\tf\tstop\tp%d\tprocessor: applied\n", i * 8000000, i }' \
  >"$lots/r/events.tsv"
expect many_connections_report 0 "report: 1 run" "$weir" report "$lots"
check at_most_64_charts test "$(grep -c '<svg class="chart flow"' "$lots/r/report.html")" -eq 64
check the_rest_in_a_table grep -q '6 more connections are not drawn' "$lots/r/report.html"
check the_last_connection_has_figures grep -q 'f / <b>c70</b></td><td class="num peak-queued"' "$lots/r/report.html"
check at_most_200_marks grep -q 'only the first 200 are drawn' "$lots/r/report.html"

# ---- 6. twelve connections: small multiples, all drawn and readable ----
many=$tmp/many
mkdir -p "$many/r"
printf 'scenario\tmany-flows\nseed\t3\nverdict\tPASS\nsim_s\t30.000\n' >"$many/r/meta.tsv"
awk 'BEGIN {
  OFS = "\t"
  print "t_ms", "flow", "connection", "queued", "resident", "swapped", "bytes", "object_threshold", "peak_queued"
  for (t = 0; t <= 30000; t += 100)
    for (c = 1; c <= 12; c++) {
      q = int((c * 1000) * (1 + sin(t / 1000.0 + c)))
      if (!(c in peak) || q > peak[c]) peak[c] = q
      r = q < 20000 ? q : 20000
      print t, (c <= 6 ? "ingest" : "publish"), "conn-" c, q, r, q - r, q * 512, 10000, peak[c]
    }
}' >"$many/r/flows.tsv"
printf '15000000000\tflow-action\tingest stop conn-3\n' >"$many/r/events.tsv"
expect twelve_connections_report 0 "report: 1 run" "$weir" report "$many"
check twelve_connections_read_cleanly bash -c "! grep -q 'flows.tsv:' <<<'$out'"
check twelve_charts test "$(grep -c '<svg class="chart flow"' "$many/r/report.html")" -eq 12

if ! command -v chromium >/dev/null 2>&1; then
  echo "FAIL chromium not found: run scripts/deps.sh (it installs chromium for this test)"
  exit 1
fi
# The charts as Chromium lays them out: "WIDTHxHEIGHT:SHAPES@LEFT,TOP" each.
probe="$many/r/.probe.html"
cat "$many/r/report.html" - >"$probe" <<'EOF'
<script>
(function () {
  var out = [];
  document.querySelectorAll('svg.chart.flow').forEach(function (svg) {
    var r = svg.getBoundingClientRect(), n = 0;
    svg.querySelectorAll('path,rect,line,circle').forEach(function (e) {
      var b = e.getBBox();
      if (b.width > 0 || b.height > 0) { n++; }
    });
    out.push(Math.round(r.width) + 'x' + Math.round(r.height) + ':' + n + '@' + Math.round(r.left) +
             ',' + Math.round(r.top));
  });
  var p = document.createElement('pre');
  p.id = 'render-probe';
  p.textContent = out.join(' ');
  document.body.appendChild(p);
})();
</script>
EOF
rendered=$(timeout 120 chromium --headless --no-sandbox --disable-gpu --window-size=1200,1000 \
  --dump-dom "file://$probe" 2>/dev/null | sed -n 's:.*<pre id="render-probe">\([^<]*\)</pre>.*:\1:p')
# Twelve charts, each at least 400 units wide with its axes and series drawn,
# two side by side on a 1200-pixel window.
if tr ' ' '\n' <<<"$rendered" | awk -F'[x:@,]' '
     NF == 5 { n++; if ($1 < 400 || $2 < 150 || $3 < 20) bad++; cols[$4] = 1 }
     END { c = 0; for (k in cols) c++; exit !(n == 12 && bad == 0 && c == 2) }'; then
  ok
else
  bad "twelve charts rendered as small multiples: '$rendered'"
fi

echo "report flows: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
