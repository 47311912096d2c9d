/* Flow files: the YAML reader of flow definitions (flows/README.md is the
 * reference of the format; flow_def.h the result and its invariants).
 *
 * weir_flow_parse checks everything it can without a processor catalog:
 * types and units of every value, unknown keys (with a "did you mean"
 * hint), unique names, connection endpoints and their visibility,
 * relationships, duplicate connections, thresholds, parameter references
 * against the group's context, and cycles in context inheritance (the cycle
 * is named: "a -> b -> a"). The first problem is reported as
 * "FILE:LINE:COLUMN: PATH: what is wrong", PATH as
 * "groups[1].processors[2].properties.Topic". It reads no files and no
 * clock: the caller hands it the file's text.
 */
#ifndef WEIR_FLOW_PARSE_H
#define WEIR_FLOW_PARSE_H

#include <stddef.h>

#include "core/err.h"
#include "flow/flow_def.h"

/* Parses and validates a flow from text (len bytes; no NUL needed), naming
 * file_name in messages. On success *out owns the definition (free it with
 * weir_flow_def_free). On failure *out is left empty (safe to free) and why
 * (why_size bytes, may be 0) holds the reason; returns WEIR_E_INVAL for a bad
 * file and WEIR_E_NOMEM when out of memory. */
WEIR_MUST_CHECK int weir_flow_parse(const char *text, size_t len, const char *file_name,
                                    weir_flow_def *out, char *why, size_t why_size);

#endif
