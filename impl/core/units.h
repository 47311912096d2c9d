/* Parsing of human quantities used by the CLI and scenario files. */
#ifndef WEIR_CORE_UNITS_H
#define WEIR_CORE_UNITS_H

#include <stdint.h>

#include "core/err.h"

/* "250ms", "2s", "1.5s", "100us", "30ns", "2m", "1h"; a bare number is seconds.
 * Returns WEIR_E_INVAL on anything else or a negative value. */
WEIR_MUST_CHECK int weir_parse_duration_ns(const char *text, int64_t *ns_out);

/* A non-negative decimal integer that fits in uint64_t, nothing else. */
WEIR_MUST_CHECK int weir_parse_u64(const char *text, uint64_t *out);

#endif
