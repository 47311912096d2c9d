/* Test helper: an env that fails its n-th mutating file operation (EIO or
 * ENOSPC; a failing write lands half its bytes first, a torn write), for the
 * countdown fault loops of the log tests. One per process: file operations
 * receive no env, so they find it in the_faulty. Header-only: include it in
 * one test file per executable. */
#ifndef WEIR_TEST_FAULTY_ENV_H
#define WEIR_TEST_FAULTY_ENV_H

#include <stdbool.h>
#include <string.h>

#include "env/env.h"

typedef struct faulty {
    weir_env env;            /* a copy of the real env with its own ops table */
    const weir_env_ops *inner;
    weir_env_ops ops;
    long countdown;          /* fail when it reaches 0; <= 0: never */
    int err;                 /* the error injected */
    long ops_done;
    bool fired;
} faulty;

static faulty the_faulty; /* file ops receive no env: they find it here */

static bool fault_now(void)
{
    faulty *f = &the_faulty;
    f->ops_done++;
    if (!f->fired && f->countdown > 0 && --f->countdown == 0) {
        f->fired = true;
        return true;
    }
    return false;
}

static int f_open(weir_env *env, const char *path, int flags, weir_file **out)
{
    if ((flags & (WEIR_F_CREATE | WEIR_F_TRUNC)) && fault_now()) {
        return the_faulty.err;
    }
    return the_faulty.inner->file_open(env, path, flags, out);
}

static int f_pwrite(weir_file *file, const void *buf, size_t len, uint64_t off)
{
    if (fault_now()) {
        weir_ignore(the_faulty.inner->file_pwrite(file, buf, len / 2, off)); /* a torn write */
        return the_faulty.err;
    }
    return the_faulty.inner->file_pwrite(file, buf, len, off);
}

static int f_append(weir_file *file, const void *buf, size_t len)
{
    if (fault_now()) {
        weir_ignore(the_faulty.inner->file_append(file, buf, len / 2));
        return the_faulty.err;
    }
    return the_faulty.inner->file_append(file, buf, len);
}

static int f_sync(weir_file *file)
{
    return fault_now() ? WEIR_E_IO : the_faulty.inner->file_sync(file);
}

static int f_truncate(weir_file *file, uint64_t size)
{
    return fault_now() ? the_faulty.err : the_faulty.inner->file_truncate(file, size);
}

static int f_rename(weir_env *env, const char *from, const char *to)
{
    return fault_now() ? the_faulty.err : the_faulty.inner->fs_rename(env, from, to);
}

static int f_unlink(weir_env *env, const char *path)
{
    return fault_now() ? the_faulty.err : the_faulty.inner->fs_unlink(env, path);
}

static int f_mkdir(weir_env *env, const char *path)
{
    return fault_now() ? the_faulty.err : the_faulty.inner->fs_mkdir(env, path);
}

static weir_env *faulty_wrap(weir_env *real, long countdown, int err)
{
    faulty *f = &the_faulty;
    memset(f, 0, sizeof *f);
    f->env = *real;
    f->inner = real->ops;
    f->ops = *real->ops;
    f->ops.file_open = f_open;
    f->ops.file_pwrite = f_pwrite;
    f->ops.file_append = f_append;
    f->ops.file_sync = f_sync;
    f->ops.file_truncate = f_truncate;
    f->ops.fs_rename = f_rename;
    f->ops.fs_unlink = f_unlink;
    f->ops.fs_mkdir = f_mkdir;
    f->env.ops = &f->ops;
    f->countdown = countdown;
    f->err = err;
    return &f->env;
}

#endif
