/* Test helpers for the readers of YAML files (scenario and flow files): a
 * whole file read into memory, the sorted *.yaml names of a folder, and a
 * text with one string replaced (for "this mistake gives that message"). */
#ifndef WEIR_TEST_YAML_FIXTURE_H
#define WEIR_TEST_YAML_FIXTURE_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The file at path, NUL-terminated (malloc'd); *len its size. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    assert_true(size >= 0);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    char *buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    buf[size] = '\0';
    fclose(f);
    *len = (size_t)size;
    return buf;
}

static int yaml_fixture_by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.yaml files of dir, sorted, as malloc'd names; returns the count. */
static size_t yaml_files(const char *dir, char **names, size_t max)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".yaml") == 0) {
            assert_true(n < max);
            names[n++] = strdup(e->d_name);
        }
    }
    closedir(d);
    qsort(names, n, sizeof names[0], yaml_fixture_by_name);
    return n;
}

/* base with the one occurrence of old replaced by repl (malloc'd). */
static char *with(const char *base, const char *old, const char *repl)
{
    const char *at = strstr(base, old);
    assert_non_null(at);
    assert_null(strstr(at + 1, old));
    size_t head = (size_t)(at - base);
    size_t size = strlen(base) - strlen(old) + strlen(repl) + 1;
    char *out = malloc(size);
    assert_non_null(out);
    snprintf(out, size, "%.*s%s%s", (int)head, base, repl, at + strlen(old));
    return out;
}

#endif
