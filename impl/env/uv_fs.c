/* Real env backend, files: synchronous POSIX calls on paths under the node's
 * root folder. Calls retry on EINTR and loop over short reads and writes.
 * Once the env is dead (crash, world end) its files only read and close:
 * writes, syncs and truncates fail with WEIR_E_IO, as the simulated disk's
 * do, so nothing the node's destroy tries reaches the disk. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env/uv_internal.h"

int weir_uv_err_from_errno(int err)
{
    switch (err) {
    case 0:
        return 0;
    case ENOENT:
        return WEIR_E_NOENT;
    case EEXIST:
        return WEIR_E_EXIST;
    case ENOSPC:
        return WEIR_E_NOSPC;
    case EDQUOT:
        return WEIR_E_NOSPC;
    case ENOTDIR:
        return WEIR_E_NOTDIR;
    case EISDIR:
        return WEIR_E_ISDIR;
    case ENOTEMPTY:
        return WEIR_E_NOTEMPTY;
    case ENOMEM:
        return WEIR_E_NOMEM;
    case ENAMETOOLONG:
        return WEIR_E_INVAL;
    default:
        return WEIR_E_IO;
    }
}

/* Builds "<root>/<rel>" (just "<root>" for "" when allow_root). */
static int ufs_path(const weir_env *env, const char *rel, bool allow_root, char *out, size_t size)
{
    const weir_uv_env *e = env->impl;
    if (rel == NULL || !weir_path_is_valid(rel, allow_root)) {
        return WEIR_E_INVAL;
    }
    int n = rel[0] == '\0' ? snprintf(out, size, "%s", e->root)
                           : snprintf(out, size, "%s/%s", e->root, rel);
    return n < 0 || (size_t)n >= size ? WEIR_E_INVAL : 0;
}

/* Makes a namespace change in the folder holding `full` durable (fsync of the
 * folder), so that, as in the simulator, create, rename, unlink, mkdir and
 * rmdir survive a power loss once they return. */
static int ufs_sync_parent(const char *full)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(full, '/');
    size_t n = slash == NULL ? 1 : (slash == full ? 1 : (size_t)(slash - full));
    if (n >= sizeof dir) {
        return WEIR_E_INVAL;
    }
    if (slash == NULL) {
        dir[0] = '.';
    } else {
        memcpy(dir, full, n);
    }
    dir[n] = '\0';
    int fd;
    do {
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        return weir_uv_err_from_errno(errno);
    }
    int rc = fsync(fd);
    int err = rc == 0 ? 0 : weir_uv_err_from_errno(errno);
    close(fd);
    return err;
}

/* ---- open files ---- */

int weir_uv_file_open(weir_env *env, const char *path, int flags, weir_file **out)
{
    weir_uv_env *e = env->impl;
    char full[PATH_MAX];
    int err = ufs_path(env, path, false, full, sizeof full);
    if (err != 0) {
        return err;
    }
    if ((flags & WEIR_F_RDONLY) && (flags & (WEIR_F_CREATE | WEIR_F_TRUNC))) {
        return WEIR_E_INVAL;
    }
    int oflags = ((flags & WEIR_F_RDONLY) ? O_RDONLY : O_RDWR) | O_CLOEXEC;
    oflags |= (flags & WEIR_F_CREATE) ? O_CREAT : 0;
    oflags |= (flags & WEIR_F_CREATE) && (flags & WEIR_F_EXCL) ? O_EXCL : 0;
    oflags |= (flags & WEIR_F_TRUNC) ? O_TRUNC : 0;
    weir_uv_file *f = calloc(1, sizeof *f);
    if (f == NULL) {
        return WEIR_E_NOMEM;
    }
    /* Whether this open creates the file: then its folder entry is synced. */
    bool created = false;
    if (flags & WEIR_F_CREATE) {
        struct stat st;
        created = stat(full, &st) != 0 && errno == ENOENT;
    }
    int fd;
    do {
        fd = open(full, oflags, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        err = weir_uv_err_from_errno(errno);
        free(f);
        return err;
    }
    if (created && (err = ufs_sync_parent(full)) != 0) {
        close(fd);
        free(f);
        return err;
    }
    f->env = e;
    f->fd = fd;
    f->rdonly = (flags & WEIR_F_RDONLY) != 0;
    f->next = e->files;
    if (e->files != NULL) {
        e->files->prev = f;
    }
    e->files = f;
    *out = (weir_file *)f;
    return 0;
}

int weir_uv_file_pread(weir_file *file, void *buf, size_t len, uint64_t offset, size_t *got_out)
{
    weir_uv_file *f = (weir_uv_file *)file;
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(f->fd, (char *)buf + got, len - got, (off_t)(offset + got));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return weir_uv_err_from_errno(errno);
        }
        if (r == 0) {
            break; /* end of file */
        }
        got += (size_t)r;
    }
    *got_out = got;
    return 0;
}

/* 0 if f may change: WEIR_E_IO once its env is dead, WEIR_E_INVAL if read-only. */
static int ufs_writable(const weir_uv_file *f)
{
    if (f->env->dead) {
        return WEIR_E_IO;
    }
    return f->rdonly ? WEIR_E_INVAL : 0;
}

int weir_uv_file_pwrite(weir_file *file, const void *buf, size_t len, uint64_t offset)
{
    weir_uv_file *f = (weir_uv_file *)file;
    int err = ufs_writable(f);
    if (err != 0) {
        return err;
    }
    if (offset > (uint64_t)INT64_MAX - len) {
        return WEIR_E_INVAL;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t r = pwrite(f->fd, (const char *)buf + done, len - done, (off_t)(offset + done));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return weir_uv_err_from_errno(errno);
        }
        if (r == 0) {
            return WEIR_E_IO;
        }
        done += (size_t)r;
    }
    return 0;
}

int weir_uv_file_size(weir_file *file, uint64_t *size_out)
{
    weir_uv_file *f = (weir_uv_file *)file;
    struct stat st;
    if (fstat(f->fd, &st) != 0) {
        return weir_uv_err_from_errno(errno);
    }
    *size_out = (uint64_t)st.st_size;
    return 0;
}

/* Writes at the current end (the file is only written through this process,
 * one call at a time, so the size read just before is still the end). */
int weir_uv_file_append(weir_file *file, const void *buf, size_t len)
{
    uint64_t size;
    int err = ufs_writable((weir_uv_file *)file);
    if (err == 0) {
        err = weir_uv_file_size(file, &size);
    }
    return err != 0 ? err : weir_uv_file_pwrite(file, buf, len, size);
}

int weir_uv_file_sync(weir_file *file)
{
    weir_uv_file *f = (weir_uv_file *)file;
    int err = ufs_writable(f);
    if (err != 0) {
        return err;
    }
    int rc;
    do {
        rc = fdatasync(f->fd);
    } while (rc != 0 && errno == EINTR);
    return rc == 0 ? 0 : weir_uv_err_from_errno(errno);
}

int weir_uv_file_truncate(weir_file *file, uint64_t size)
{
    weir_uv_file *f = (weir_uv_file *)file;
    int err = ufs_writable(f);
    if (err != 0) {
        return err;
    }
    if (size > (uint64_t)INT64_MAX) {
        return WEIR_E_INVAL;
    }
    int rc;
    do {
        rc = ftruncate(f->fd, (off_t)size);
    } while (rc != 0 && errno == EINTR);
    return rc == 0 ? 0 : weir_uv_err_from_errno(errno);
}

static void ufs_close(weir_uv_file *f)
{
    weir_uv_env *e = f->env;
    if (f->prev != NULL) {
        f->prev->next = f->next;
    } else {
        e->files = f->next;
    }
    if (f->next != NULL) {
        f->next->prev = f->prev;
    }
    close(f->fd); /* no retry: on Linux the fd is gone even after EINTR */
    free(f);
}

void weir_uv_file_close(weir_file *file)
{
    ufs_close((weir_uv_file *)file);
}

void weir_uv_fs_teardown(weir_uv_env *e)
{
    WEIR_ASSERT(e->dead);
    while (e->files != NULL) {
        ufs_close(e->files);
    }
}

/* ---- paths ---- */

int weir_uv_fs_rename(weir_env *env, const char *from, const char *to)
{
    char a[PATH_MAX];
    char b[PATH_MAX];
    int err = ufs_path(env, from, false, a, sizeof a);
    if (err == 0) {
        err = ufs_path(env, to, false, b, sizeof b);
    }
    if (err != 0) {
        return err;
    }
    if (rename(a, b) != 0) {
        return weir_uv_err_from_errno(errno);
    }
    err = ufs_sync_parent(b);
    const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
    bool same_dir = sa != NULL && sb != NULL && sa - a == sb - b && memcmp(a, b, (size_t)(sa - a)) == 0;
    if (err == 0 && !same_dir) {
        err = ufs_sync_parent(a);
    }
    return err;
}

int weir_uv_fs_unlink(weir_env *env, const char *path)
{
    char full[PATH_MAX];
    int err = ufs_path(env, path, false, full, sizeof full);
    if (err != 0) {
        return err;
    }
    if (unlink(full) != 0) {
        return weir_uv_err_from_errno(errno);
    }
    return ufs_sync_parent(full);
}

int weir_uv_fs_mkdir(weir_env *env, const char *path)
{
    char full[PATH_MAX];
    int err = ufs_path(env, path, false, full, sizeof full);
    if (err != 0) {
        return err;
    }
    if (mkdir(full, 0755) != 0) {
        return weir_uv_err_from_errno(errno);
    }
    return ufs_sync_parent(full);
}

int weir_uv_fs_rmdir(weir_env *env, const char *path)
{
    char full[PATH_MAX];
    int err = ufs_path(env, path, false, full, sizeof full);
    if (err != 0) {
        return err;
    }
    if (rmdir(full) == 0) {
        return ufs_sync_parent(full);
    }
    return errno == EEXIST ? WEIR_E_NOTEMPTY : weir_uv_err_from_errno(errno);
}

static int ufs_cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds one name to the list, growing it by doubling (cap in *cap). */
static int ufs_list_push(weir_dirlist *list, size_t *cap, const char *name)
{
    if (list->count == *cap) {
        size_t n = *cap ? *cap * 2 : 16;
        char **names = realloc(list->names, n * sizeof *names);
        if (names == NULL) {
            return WEIR_E_NOMEM;
        }
        list->names = names;
        *cap = n;
    }
    char *copy = strdup(name);
    if (copy == NULL) {
        return WEIR_E_NOMEM;
    }
    list->names[list->count++] = copy;
    return 0;
}

int weir_uv_fs_list(weir_env *env, const char *dir, weir_dirlist *out)
{
    char full[PATH_MAX];
    out->names = NULL;
    out->count = 0;
    int err = ufs_path(env, dir, true, full, sizeof full);
    if (err != 0) {
        return err;
    }
    DIR *d = opendir(full);
    if (d == NULL) {
        return weir_uv_err_from_errno(errno);
    }
    size_t cap = 0;
    struct dirent *de;
    errno = 0;
    while (err == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            err = ufs_list_push(out, &cap, de->d_name);
        }
        errno = 0;
    }
    if (err == 0 && errno != 0) {
        err = weir_uv_err_from_errno(errno);
    }
    closedir(d);
    if (err != 0) {
        weir_fs_list_free(out);
        return err;
    }
    if (out->count > 1) {
        qsort(out->names, out->count, sizeof *out->names, ufs_cmp_names);
    }
    return 0;
}

/* Folders report size 0. Either output may be NULL. */
int weir_uv_fs_stat(weir_env *env, const char *path, bool *is_dir_out, uint64_t *size_out)
{
    char full[PATH_MAX];
    int err = ufs_path(env, path, true, full, sizeof full);
    if (err != 0) {
        return err;
    }
    struct stat st;
    if (stat(full, &st) != 0) {
        return weir_uv_err_from_errno(errno);
    }
    bool is_dir = S_ISDIR(st.st_mode);
    if (is_dir_out != NULL) {
        *is_dir_out = is_dir;
    }
    if (size_out != NULL) {
        *size_out = is_dir ? 0 : (uint64_t)st.st_size;
    }
    return 0;
}
