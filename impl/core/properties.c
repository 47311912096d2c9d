#include "core/properties.h"

#include <stdio.h>
#include <string.h>

static void trim(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t' || **s == '\r')) {
        (*s)++;
    }
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r')) {
        (*e)--;
    }
}

int weir_properties_parse(const char *text, size_t len, const char *source,
                          weir_properties_set_fn set, void *cfg, weir_properties_warn_fn warn,
                          void *arg, char *why, size_t why_size)
{
    const char *p = text, *end = text + len;
    for (int line = 1; p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *s = p, *e = nl ? nl : end;
        p = nl ? nl + 1 : end;
        trim(&s, &e);
        if (s == e || *s == '#' || *s == '!') {
            continue;
        }
        const char *eq = memchr(s, '=', (size_t)(e - s));
        if (eq == NULL) {
            eq = memchr(s, ':', (size_t)(e - s));
        }
        if (eq == NULL) {
            snprintf(why, why_size, "%s:%d: expected key=value", source, line);
            return WEIR_E_INVAL;
        }
        const char *ks = s, *ke = eq, *vs = eq + 1, *ve = e;
        trim(&ks, &ke);
        trim(&vs, &ve);
        char key[256], value[2048];
        if (ke == ks || (size_t)(ke - ks) >= sizeof key || (size_t)(ve - vs) >= sizeof value) {
            snprintf(why, why_size, "%s:%d: key or value empty or too long", source, line);
            return WEIR_E_INVAL;
        }
        memcpy(key, ks, (size_t)(ke - ks));
        key[ke - ks] = '\0';
        memcpy(value, vs, (size_t)(ve - vs));
        value[ve - vs] = '\0';
        char reason[200];
        int err = set(cfg, key, value, reason, sizeof reason);
        if (err == WEIR_E_NOENT) {
            if (warn != NULL) {
                warn(source, line, key, arg);
            }
            continue;
        }
        if (err != 0) {
            snprintf(why, why_size, "%s:%d: %s", source, line, reason);
            return err;
        }
    }
    return 0;
}
