/* RUN_DIR/junit.xml for CI systems: one <testsuite> per scenario, one
 * <testcase> per run (classname "scenario" or "scenario/variant", name
 * "seed N", time = wall seconds). A FAIL carries a <failure> with every
 * failure line and the replay commands; an ERROR (or an unrecognised
 * verdict) an <error>. Every text goes through the XML escaper, which also
 * drops bytes XML 1.0 cannot hold, so the file is always well-formed.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define JUNIT_DEDUP_RUNS_MAX 5000

static double junit_time(double s)
{
    return s > 0 ? s : 0;
}

/* The body of <failure>/<error>: failures, then the replay commands. */
static void junit_problem(FILE *f, const weir_report_run *r, const char *tag)
{
    const char *first = r->failure_count > 0                ? r->failures[0]
                        : r->verdict == WEIR_REPORT_UNKNOWN ? "verdict not recorded"
                                                            : "run did not complete";
    fprintf(f, "      <%s message=\"", tag);
    weir_report_put_esc(f, first);
    fprintf(f, "\" type=\"%s\">", weir_report_verdict_name(r->verdict));
    for (size_t i = 0; i < r->failure_count; i++) {
        weir_report_put_esc(f, r->failures[i]);
        fputc('\n', f);
    }
    const char *replay = weir_report_run_meta(r, "replay");
    if (replay != NULL) {
        fputs("replay: ", f);
        weir_report_put_esc(f, replay);
        fputc('\n', f);
    }
    const char *shrunk = weir_report_run_meta(r, "shrunk_replay");
    if (shrunk != NULL) {
        fputs("replay shrunk: ", f);
        weir_report_put_esc(f, shrunk);
        fputc('\n', f);
    }
    fprintf(f, "</%s>\n", tag);
}

static bool junit_same_str(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* True if an earlier run of the group has the same classname and seed (a
 * chaos run and its shrunk replay do): that test case is named after its
 * run too, so CI systems keep them apart. Checked in groups of at most
 * JUNIT_DEDUP_RUNS_MAX runs. */
static bool junit_repeats(const weir_report_dir *d, const weir_report_group *g, size_t j)
{
    const weir_report_run *r = &d->runs[g->runs[j]];
    for (size_t i = 0; i < j && g->run_count <= JUNIT_DEDUP_RUNS_MAX; i++) {
        const weir_report_run *o = &d->runs[g->runs[i]];
        if (junit_same_str(o->variant, r->variant) && junit_same_str(o->seed, r->seed)) {
            return true;
        }
    }
    return false;
}

static void junit_case(FILE *f, const weir_report_run *r, bool repeated)
{
    char *cls = weir_report_run_class(r);
    fputs("    <testcase classname=\"", f);
    weir_report_put_esc(f, cls);
    free(cls);
    fputs("\" name=\"", f);
    if (r->seed != NULL) {
        fputs("seed ", f);
        weir_report_put_esc(f, r->seed);
        if (repeated) {
            fputs(" (", f);
            weir_report_put_esc(f, r->name);
            fputs(")", f);
        }
    } else {
        weir_report_put_esc(f, r->name);
    }
    fprintf(f, "\" time=\"%.3f\">\n", junit_time(r->wall_s));
    if (r->verdict == WEIR_REPORT_FAIL) {
        junit_problem(f, r, "failure");
    } else if (r->verdict != WEIR_REPORT_PASS) {
        junit_problem(f, r, "error");
    }
    fputs("      <system-out>run: ", f);
    weir_report_put_esc(f, r->name);
    fputs("\ntrace hash: ", f);
    weir_report_put_esc(f, r->trace_hash != NULL ? r->trace_hash : "-");
    const char *replay = weir_report_run_meta(r, "replay");
    fputs("\nreplay: ", f);
    weir_report_put_esc(f, replay != NULL ? replay : "-");
    fputs("\n</system-out>\n    </testcase>\n", f);
}

static void junit_body(FILE *f, const weir_report_dir *d)
{
    weir_report_group *groups = NULL;
    size_t gn = weir_report_groups(d, &groups);
    size_t fail = 0, error = 0;
    double time = 0;
    for (size_t i = 0; i < gn; i++) {
        fail += groups[i].fail;
        error += groups[i].error;
        time += groups[i].wall_s;
    }
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<testsuites name=\"weir\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
            "time=\"%.3f\">\n",
            d->run_count, fail, error, time);
    for (size_t i = 0; i < gn; i++) {
        const weir_report_group *g = &groups[i];
        fputs("  <testsuite name=\"", f);
        weir_report_put_esc(f, g->scenario);
        fprintf(f,
                "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"0\" time=\"%.3f\">\n",
                g->run_count, g->fail, g->error, g->wall_s);
        for (size_t j = 0; j < g->run_count; j++) {
            junit_case(f, &d->runs[g->runs[j]], junit_repeats(d, g, j));
        }
        fputs("  </testsuite>\n", f);
    }
    fputs("</testsuites>\n", f);
    weir_report_groups_free(groups, gn);
}

int weir_report_junit(const weir_report_dir *d)
{
    char *tmp;
    FILE *f = weir_report_out_open(d->path, "junit.xml", &tmp);
    if (f != NULL) {
        junit_body(f, d);
    }
    return weir_report_out_commit(f, tmp, d->path, "junit.xml");
}
