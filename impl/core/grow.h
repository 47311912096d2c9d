/* Growing a heap array by doubling: the one helper every module with a
 * dynamic array uses. */
#ifndef WEIR_CORE_GROW_H
#define WEIR_CORE_GROW_H

#include <stdint.h>
#include <stdlib.h>

#include "core/err.h"

/* Makes *arr (elements of elem bytes, *cap of them) hold at least need:
 * doubles from 16. 0, or WEIR_E_NOMEM with *arr and *cap unchanged. */
WEIR_MUST_CHECK static inline int weir_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) {
        return 0;
    }
    size_t n = *cap < 16 ? 16 : *cap;
    while (n < need) {
        if (n > SIZE_MAX / 2 / elem) {
            return WEIR_E_NOMEM;
        }
        n *= 2;
    }
    void *p = realloc(*arr, n * elem);
    if (p == NULL) {
        return WEIR_E_NOMEM;
    }
    *arr = p;
    *cap = n;
    return 0;
}

#endif
