#include "core/units.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int weir_parse_u64(const char *text, uint64_t *out)
{
    if (text == NULL || *text == '\0') {
        return WEIR_E_INVAL;
    }
    uint64_t v = 0;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p < '0' || *p > '9') {
            return WEIR_E_INVAL;
        }
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return WEIR_E_INVAL;
        }
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int weir_parse_duration_ns(const char *text, int64_t *ns_out)
{
    static const struct {
        const char *suffix;
        double ns;
    } units[] = {
        {"ns", 1.0}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}, {"", 1e9},
    };
    if (text == NULL || *text == '\0') {
        return WEIR_E_INVAL;
    }
    char *end = NULL;
    double v = strtod(text, &end);
    if (end == text || !isfinite(v) || v < 0) {
        return WEIR_E_INVAL;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            double ns = v * units[i].ns;
            if (ns > 9.2e18) {
                return WEIR_E_INVAL;
            }
            *ns_out = (int64_t)llround(ns);
            return 0;
        }
    }
    return WEIR_E_INVAL;
}
