/* The flow engine's management API as pure code: a request (method, path,
 * query, body) in, a status and a JSON body out. `weir flow` serves it over
 * HTTP (env/uv_http.h); tests call it directly. It reads and changes the
 * running flow only through engine.h's and params.h's public calls.
 *
 *   GET  /flow                          name, status, counters, processors, connections
 *   GET  /processors                    every processor
 *   GET  /processors/NAME               one processor
 *   POST /processors/NAME/start         start it (409 when it refuses)
 *   POST /processors/NAME/stop          stop it (FlowFiles stay queued)
 *   GET  /connections                   every connection
 *   GET  /connections/NAME              one connection: queue, thresholds, prioritizers
 *   PUT  /connections/NAME              {"object_threshold": N, "size_threshold": "1 GiB" | N,
 *                                        "prioritizers": ["oldest_first", ...],
 *                                        "expiration": "30 sec"}, any non-empty subset
 *   GET  /parameter-contexts            contexts, what they inherit, their own parameters
 *                                       (sensitive values as "********", as NiFi)
 *   PUT  /parameter-contexts/CTX/parameters/NAME   {"value": "..."}
 *   GET  /provenance?uuid=UUID          the lineage of one FlowFile (409 when provenance is off)
 *
 * Errors are {"error": "..."} naming the field, query key or name at fault:
 * 400 bad body or query, 404 unknown path or name, 405 method not allowed on
 * the path, 409 the engine refused the change, 503 no running flow. A PUT
 * is checked whole before anything changes.
 *
 * Threading: the engine's node; call it from the node's event callbacks.
 */
#ifndef WEIR_FLOW_API_H
#define WEIR_FLOW_API_H

#include <stddef.h>

#include "flow/engine.h"
#include "flow/flow_def.h"

typedef struct weir_flow_api_request {
    const char *method; /* "GET", "POST", "PUT", ... */
    const char *path;   /* decoded, without the query: "/connections/tag-to-route" */
    const char *query;  /* as sent, percent-encoded ("uuid=..."), or NULL */
    const char *body;   /* body_len bytes, no NUL needed; NULL when empty */
    size_t body_len;
} weir_flow_api_request;

typedef struct weir_flow_api_reply {
    int status; /* HTTP status */
    char *body; /* JSON text, NUL-terminated, malloc'd; NULL only when memory ran out */
    size_t body_len;
} weir_flow_api_reply;

/* What the API serves. */
typedef struct weir_flow_api {
    weir_flow_engine *engine; /* NULL: no running flow (503) */
    const char *flow_name;
    /* The flow's definition, or NULL. The views read the running engine
     * (parameters included), so nothing here depends on it. */
    const weir_flow_def *def;
} weir_flow_api;

/* Answers one request into *out (free the body with
 * weir_flow_api_reply_free). */
void weir_flow_api_handle(const weir_flow_api *api, const weir_flow_api_request *req,
                          weir_flow_api_reply *out);

void weir_flow_api_reply_free(weir_flow_api_reply *reply);

#endif
