/* Backend-independent helpers of the env layer: logging, address and path
 * parsing, folder lists. */
#include "env/env.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void weir_fs_list_free(weir_dirlist *list)
{
    for (size_t i = 0; i < list->count; i++) {
        free(list->names[i]);
    }
    free(list->names);
    list->names = NULL;
    list->count = 0;
}

void weir_log(weir_env *env, weir_log_level level, const char *fmt, ...)
{
    if (level > env->log_level) {
        return;
    }
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    env->ops->log_write(env, level, line);
}

int weir_addr_split(const char *addr, char *host_out, size_t host_size, int *port_out)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr) {
        return WEIR_E_INVAL;
    }
    size_t host_len = (size_t)(colon - addr);
    if (host_len + 1 > host_size) {
        return WEIR_E_INVAL;
    }
    const char *p = colon + 1;
    if (*p == '\0') {
        return WEIR_E_INVAL;
    }
    long port = 0;
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9') {
            return WEIR_E_INVAL;
        }
        port = port * 10 + (*p - '0');
        if (port > 65535) {
            return WEIR_E_INVAL;
        }
    }
    memcpy(host_out, addr, host_len);
    host_out[host_len] = '\0';
    *port_out = (int)port;
    return 0;
}

bool weir_path_is_valid(const char *path, bool allow_root)
{
    if (path[0] == '\0') {
        return allow_root;
    }
    if (path[0] == '/') {
        return false;
    }
    const char *seg = path;
    for (;;) {
        const char *end = strchr(seg, '/');
        size_t n = end ? (size_t)(end - seg) : strlen(seg);
        if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.')) {
            return false;
        }
        if (end == NULL) {
            return true;
        }
        seg = end + 1;
    }
}

int weir_fs_mkdirs(weir_env *env, const char *path)
{
    char buf[1024];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) {
        return WEIR_E_INVAL;
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            int err = weir_fs_mkdir(env, buf);
            if (err != 0 && err != WEIR_E_EXIST) {
                return err;
            }
            buf[i] = c;
        }
    }
    return 0;
}
