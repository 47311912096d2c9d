/* Kafka-style properties text: `key=value` (or `key: value`) lines, `#` and
 * `!` comments, blanks trimmed. Each pair goes to a setter; the first bad
 * line stops the parse with "<source>:<line>: <reason>".
 */
#ifndef WEIR_CORE_PROPERTIES_H
#define WEIR_CORE_PROPERTIES_H

#include <stddef.h>

#include "core/err.h"

/* Returns 0, WEIR_E_NOENT for an unknown key (reported through warn and
 * skipped, as Kafka does), or WEIR_E_INVAL with why naming the key. */
typedef int (*weir_properties_set_fn)(void *cfg, const char *key, const char *value, char *why,
                                      size_t why_size);
typedef void (*weir_properties_warn_fn)(const char *source, int line, const char *key, void *arg);

WEIR_MUST_CHECK int weir_properties_parse(const char *text, size_t len, const char *source,
                                          weir_properties_set_fn set, void *cfg,
                                          weir_properties_warn_fn warn, void *warn_arg, char *why,
                                          size_t why_size);

#endif
