/* `weir report RUN_DIR [--coverage FILE.info] [--coverage-html PATH]`: reads
 * a run folder and writes RUN_DIR/report.html, one RUN_DIR/<run>/report.html
 * per run folder, and RUN_DIR/junit.xml; then prints the paths written and a
 * one-line summary. Exit 0 when written (whatever the verdicts), 1 when a
 * file could not be written, 2 on a bad command or an unreadable RUN_DIR or
 * tracefile.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "report.h"

#define REPORT_LIST_PAGES_MAX 10 /* more run pages are summarised in one line */
#define REPORT_DEFAULT_HTML "reports/out/coverage/index.html"

static const char report_usage[] =
    "usage: weir report RUN_DIR [--coverage FILE.info] [--coverage-html PATH]\n"
    "\n"
    "  RUN_DIR               a run folder written by `weir sim --out` or `weir chaos --out`\n"
    "  --coverage FILE.info  add a coverage section from an lcov tracefile (after\n"
    "                        ./scripts/test.sh: reports/out/coverage/weir.info)\n"
    "  --coverage-html PATH  link the coverage section to this lcov HTML report (default:\n"
    "                        " REPORT_DEFAULT_HTML " or index.html beside FILE.info,\n"
    "                        if it exists)\n"
    "\n"
    "writes RUN_DIR/report.html, RUN_DIR/<run>/report.html for each run and RUN_DIR/junit.xml\n"
    "exit status: 0 written (even if runs failed), 1 a file could not be written,\n"
    "             2 a bad command, an unreadable RUN_DIR or an unreadable tracefile\n";

typedef struct report_opts {
    const char *run_dir;
    const char *coverage;
    const char *coverage_html;
} report_opts;

static int report_parse(int argc, char **argv, report_opts *o)
{
    static const struct option longopts[] = {
        {"coverage", required_argument, NULL, 'c'},
        {"coverage-html", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    opterr = 0;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            o->coverage = optarg;
            break;
        case 'H':
            o->coverage_html = optarg;
            break;
        case 'h':
            fputs(report_usage, stdout);
            return -1;
        case ':':
            return weir_cli_usage_error("report", report_usage, "%s needs a value",
                                        argv[optind - 1]);
        default:
            return weir_cli_usage_error("report", report_usage, "unknown option '%s'",
                                        argv[optind - 1]);
        }
    }
    if (optind != argc - 1) {
        return weir_cli_usage_error("report", report_usage,
                                    optind == argc ? "missing RUN_DIR" : "too many arguments");
    }
    o->run_dir = argv[optind];
    return 0;
}

static bool report_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The link from RUN_DIR to the lcov HTML report, or NULL. */
static char *report_html_link(const report_opts *o)
{
    if (o->coverage_html != NULL) {
        if (strstr(o->coverage_html, "://") != NULL) {
            return weir_report_xstrdup(o->coverage_html);
        }
        char *rel = weir_report_path_relative(o->run_dir, o->coverage_html);
        if (rel == NULL) {
            weir_report_warn("--coverage-html: '%s' not found; no link written", o->coverage_html);
        }
        return rel;
    }
    if (report_exists(REPORT_DEFAULT_HTML)) {
        return weir_report_path_relative(o->run_dir, REPORT_DEFAULT_HTML);
    }
    const char *slash = strrchr(o->coverage, '/');
    size_t dl = slash != NULL ? (size_t)(slash - o->coverage) : 1;
    char *dir = weir_report_xmalloc(dl + 1);
    memcpy(dir, slash != NULL ? o->coverage : ".", dl);
    dir[dl] = '\0';
    char *beside = weir_report_path_join(dl > 0 ? dir : "/", "index.html");
    char *rel = report_exists(beside) ? weir_report_path_relative(o->run_dir, beside) : NULL;
    free(beside);
    free(dir);
    return rel;
}

/* Every run's page; prints their paths (or how many). Returns pages not written. */
static size_t report_run_pages(const weir_report_dir *d, size_t *written_out)
{
    size_t failed = 0, written = 0;
    for (size_t i = 0; i < d->run_count; i++) {
        const weir_report_run *r = &d->runs[i];
        if (!r->has_folder) {
            continue;
        }
        if (weir_report_page_run(d, r) != 0) {
            failed++;
            continue;
        }
        written++;
        if (d->run_count <= REPORT_LIST_PAGES_MAX) {
            char *run_path = weir_report_path_join(d->path, r->name);
            char *page = weir_report_path_join(run_path, "report.html");
            printf("wrote %s\n", page);
            free(page);
            free(run_path);
        }
    }
    if (d->run_count > REPORT_LIST_PAGES_MAX) {
        char *pattern = weir_report_path_join(d->path, "<run>/report.html");
        printf("wrote %zu run pages %s\n", written, pattern);
        free(pattern);
    }
    *written_out = written;
    return failed;
}

static void report_summary(const weir_report_dir *d)
{
    size_t pass = 0, fail = 0, error = 0;
    for (size_t i = 0; i < d->run_count; i++) {
        pass += d->runs[i].verdict == WEIR_REPORT_PASS;
        fail += d->runs[i].verdict == WEIR_REPORT_FAIL;
        error += d->runs[i].verdict != WEIR_REPORT_PASS && d->runs[i].verdict != WEIR_REPORT_FAIL;
    }
    weir_report_group *groups = NULL;
    size_t gn = weir_report_groups(d, &groups);
    weir_report_groups_free(groups, gn);
    long warnings = weir_report_warning_count();
    printf("report: %zu run%s (%zu pass, %zu fail, %zu error) in %zu scenario%s", d->run_count,
           d->run_count == 1 ? "" : "s", pass, fail, error, gn, gn == 1 ? "" : "s");
    if (warnings > 0) {
        printf("; %ld warning%s (see stderr)", warnings, warnings == 1 ? "" : "s");
    }
    printf("\n");
}

int weir_cli_report(int argc, char **argv)
{
    report_opts o;
    int rc = report_parse(argc, argv, &o);
    if (rc != 0) {
        return rc < 0 ? WEIR_EXIT_OK : rc;
    }
    weir_report_cov cov;
    bool have_cov = o.coverage != NULL || o.coverage_html != NULL;
    memset(&cov, 0, sizeof cov);
    if (o.coverage != NULL && weir_report_cov_load(&cov, o.coverage) != 0) {
        weir_report_cov_free(&cov);
        return WEIR_EXIT_USAGE;
    }
    weir_report_dir d;
    if (weir_report_dir_load(&d, o.run_dir) != 0) {
        weir_report_dir_free(&d);
        weir_report_cov_free(&cov);
        return WEIR_EXIT_USAGE;
    }
    if (have_cov) {
        cov.html_link = report_html_link(&o);
    }
    size_t pages = 0;
    size_t failed = report_run_pages(&d, &pages);
    if (weir_report_page_index(&d, have_cov ? &cov : NULL) == 0) {
        char *p = weir_report_path_join(d.path, "report.html");
        printf("wrote %s\n", p);
        free(p);
    } else {
        failed++;
    }
    if (weir_report_junit(&d) == 0) {
        char *p = weir_report_path_join(d.path, "junit.xml");
        printf("wrote %s\n", p);
        free(p);
    } else {
        failed++;
    }
    report_summary(&d);
    weir_report_dir_free(&d);
    weir_report_cov_free(&cov);
    return failed == 0 ? WEIR_EXIT_OK : WEIR_EXIT_FAIL;
}
